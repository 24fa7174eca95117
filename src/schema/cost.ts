import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  getDirectiveValues,
  type GraphQLField,
} from "graphql";
import { Directive } from "type-graphql";
import { DEFAULT_PAGE_SIZE } from "../domain/paging";

/**
 * The cost vocabulary of the schema, in the terms of the IBM GraphQL cost directive specification
 * (as Apollo Router's demand control, Cosmo and Hive use it): `@cost(weight:)` on a field, and
 * `@listSize(slicingArguments:, assumedSize:, sizedFields:)` on a field that returns a list or a
 * connection. `src/limits/cost.ts` computes a document's cost from these declarations alone, and
 * `schema.graphql` prints them, so a client can compute a cost exactly as the gateway does.
 *
 * Defaults when a field declares nothing: an object (or interface, union) 1 point, a scalar or enum
 * 0, a root mutation field `MUTATION_WEIGHT`, a list `DEFAULT_LIST_SIZE` items.
 */
export const MUTATION_WEIGHT = 10;
export const DEFAULT_LIST_SIZE = 10;

export const costDirective = new GraphQLDirective({
  name: "cost",
  description: "The points this field costs on its own, replacing the default (object 1, scalar and enum 0, mutation 10).",
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: { weight: { type: new GraphQLNonNull(GraphQLInt), description: "Points for this field (per item, for a list)." } },
});

export const listSizeDirective = new GraphQLDirective({
  name: "listSize",
  description:
    "How many items a list (or connection) field is counted as: the value of a slicing argument (`first`, `last`) when given, else `assumedSize`. With `sizedFields`, the field is a connection and the size applies to those of its fields (`edges`, `nodes`).",
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    assumedSize: { type: GraphQLInt, description: "Items counted when no slicing argument is given." },
    slicingArguments: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: "Arguments whose value is the number of items." },
    sizedFields: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: "Fields of the returned connection that hold the items." },
    requireOneSlicingArgument: {
      type: GraphQLBoolean,
      defaultValue: true,
      description: "Whether a slicing argument must be given (false here: lists have a default page size).",
    },
  },
});

export const COST_DIRECTIVES = [costDirective, listSizeDirective];

const sdlList = (items: readonly string[]) => `[${items.map((s) => JSON.stringify(s)).join(", ")}]`;

/** `@cost(weight:)`: this field's own points, replacing the default. */
export function Cost(weight: number) {
  return Directive(`@cost(weight: ${weight})`);
}

/** A list field counted as `assumedSize` items (the typical size, not the rule's maximum). */
export function ListSize(assumedSize: number) {
  return Directive(`@listSize(assumedSize: ${assumedSize})`);
}

/**
 * A Relay connection field: `first` / `last` items (default `DEFAULT_PAGE_SIZE`) in `edges` and
 * `nodes`; `pageInfo` and `totalCount` are counted once.
 */
export function Paged() {
  return Directive(
    `@listSize(assumedSize: ${DEFAULT_PAGE_SIZE}, slicingArguments: ${sdlList(["first", "last"])}, sizedFields: ${sdlList(["edges", "nodes"])}, requireOneSlicingArgument: false)`,
  );
}

export interface FieldCostSpec {
  weight?: number;
  listSize?: { assumedSize?: number; slicingArguments?: string[]; sizedFields?: string[] };
}

const specs = new WeakMap<GraphQLField<unknown, unknown>, FieldCostSpec>();

/** The cost declarations of a field, read once from its definition's directives. */
export function fieldCostSpec(field: GraphQLField<unknown, unknown>): FieldCostSpec {
  let spec = specs.get(field);
  if (!spec) {
    spec = {};
    const node = field.astNode;
    if (node?.directives?.length) {
      const cost = getDirectiveValues(costDirective, node) as { weight: number } | undefined;
      if (cost) spec.weight = cost.weight;
      const size = getDirectiveValues(listSizeDirective, node) as FieldCostSpec["listSize"] | undefined;
      if (size) spec.listSize = size;
    }
    specs.set(field, spec);
  }
  return spec;
}

/** The sentence the schema's description of a field gets for its cost declarations (the playground shows it). */
export function costSentence(spec: FieldCostSpec, isMutation: boolean): string | undefined {
  const parts: string[] = [];
  if (spec.weight !== undefined) parts.push(`${spec.weight} points`);
  else if (isMutation) parts.push(`${MUTATION_WEIGHT} points plus its payload's fields`);
  const size = spec.listSize;
  if (size?.slicingArguments?.length) {
    const args = size.slicingArguments.map((a) => `\`${a}\``).join(" or ");
    const what = size.sizedFields?.length ? `each item of ${size.sizedFields.map((f) => `\`${f}\``).join(" and ")}` : "each item";
    parts.push(`1 + ${args} (default ${size.assumedSize ?? DEFAULT_LIST_SIZE}) × the fields selected on ${what}`);
  } else if (size?.assumedSize !== undefined) {
    parts.push(`counted as ${size.assumedSize} items × the fields selected on each`);
  }
  return parts.length ? `Cost: ${parts.join("; ")} (see "Security" in the README).` : undefined;
}
