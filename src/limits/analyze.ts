import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { DEFAULT_LIST_SIZE, MUTATION_WEIGHT, fieldCostSpec } from "../schema/cost";
import { fieldRequirement, type FieldRequirement } from "../schema/edition";

/**
 * What a document asks of the gateway, computed before anything runs:
 * - `cost`: points by the schema's `@cost` / `@listSize` declarations (see `schema/cost.ts`);
 *   a list multiplies its items' cost by `first` / `last`, or by its assumed size.
 * - `depth`: field levels, fragments flattened (graphql's standard introspection query is 15).
 * - `aliases`: aliased fields, fragments expanded as often as they are spread.
 * - `introspection`: whether `__schema` / `__type` is asked (its own recursion is bounded by
 *   graphql-js's MaxIntrospectionDepthRule, part of validation).
 * - `requirements` (of `analyzeOperation` only): the features the operation's fields declare with
 *   `@RequiresFeature` (`schema/edition.ts`), each field once, in document order; fields left out
 *   by `@skip` / `@include` do not count, fragments on any type do (one of them may run).
 *
 * Each (selection set, type, list size) is computed once, so a document whose fragments double at
 * every level (`F(i) { a { ...F(i-1) } b { ...F(i-1) } }`) is analysed in time linear in its text,
 * and its cost simply comes out astronomically large. Values saturate at `SATURATED`.
 */
export interface DocumentCost {
  cost: number;
  depth: number;
  aliases: number;
  introspection: boolean;
}

/** The analysis with what the operation's fields need of the corp's edition (see above). */
export interface OperationAnalysis extends DocumentCost {
  requirements: readonly FieldRequirement[];
}

export const SATURATED = 1e12;

/** Points of the introspection entry points: a schema is large, but the same for every caller. */
const INTROSPECTION_WEIGHT: Record<string, number> = { __schema: 100, __type: 10 };

interface Part {
  cost: number;
  depth: number;
  aliases: number;
  introspection: boolean;
  requirements: readonly FieldRequirement[];
}

const NONE: readonly FieldRequirement[] = [];
const ZERO: Part = { cost: 0, depth: 0, aliases: 0, introspection: false, requirements: NONE };
const cap = (n: number) => (n > SATURATED ? SATURATED : n);

/**
 * Both lists, each requirement once. At most one entry per declared field of the schema, so a
 * merge costs a constant and the walk stays linear.
 */
function union(a: readonly FieldRequirement[], b: readonly FieldRequirement[]): readonly FieldRequirement[] {
  if (b.length === 0 || a === b) return a;
  if (a.length === 0) return b;
  const extra = b.filter((r) => !a.includes(r));
  return extra.length ? [...a, ...extra] : a;
}

/** Sized children: the connection fields (`edges`, `nodes`) whose items the parent field counts. */
interface Sizing {
  fields: readonly string[];
  size: number;
}

export function analyzeOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  variables: Readonly<Record<string, unknown>>,
): OperationAnalysis {
  const memo = new WeakMap<SelectionSetNode, Map<string, Part>>();
  const visiting = new Set<SelectionSetNode>();
  const root = schema.getRootType(operation.operation);
  if (!root) return { cost: 0, depth: 0, aliases: 0, introspection: false, requirements: NONE };
  const isMutation = operation.operation === "mutation";

  const included = (node: { directives?: readonly unknown[] }): boolean => {
    if (!node.directives?.length) return true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables)?.if === false) return false;
    } catch {
      // Invalid variables: execution refuses them; count the selection.
    }
    return true;
  };

  /** Items a list field is counted as. */
  const listSize = (field: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    const spec = fieldCostSpec(field).listSize;
    if (!spec) return DEFAULT_LIST_SIZE;
    let given: number | undefined;
    if (spec.slicingArguments?.length) {
      try {
        const args = getArgumentValues(field, node, variables);
        for (const name of spec.slicingArguments) {
          const n = args[name];
          if (typeof n === "number" && Number.isFinite(n)) given = Math.max(given ?? 0, n);
        }
      } catch {
        // Invalid arguments fail at execution; count the assumed size meanwhile.
      }
    }
    return Math.max(0, given ?? spec.assumedSize ?? DEFAULT_LIST_SIZE);
  };

  const fieldPart = (parent: GraphQLCompositeType, node: FieldNode, inIntrospection: boolean, sizing: Sizing | undefined, top: boolean): Part => {
    const name = node.name.value;
    const aliases = node.alias && node.alias.value !== name ? 1 : 0;
    if (name === "__typename") return { ...ZERO, depth: 1, aliases };
    if (name === "__schema" || name === "__type") {
      const type = schema.getType(name === "__schema" ? "__Schema" : "__Type") as GraphQLCompositeType;
      const child = node.selectionSet ? selectionPart(node.selectionSet, type, true, undefined) : ZERO;
      return {
        cost: cap(INTROSPECTION_WEIGHT[name] + child.cost),
        depth: 1 + child.depth,
        aliases: cap(aliases + child.aliases),
        introspection: true,
        requirements: NONE,
      };
    }
    if (!isObjectType(parent) && !isInterfaceType(parent)) return { ...ZERO, depth: 1, aliases };
    const field = parent.getFields()[name];
    if (!field) return { ...ZERO, depth: 1, aliases };
    const named = getNamedType(field.type);
    const isList = isListType(getNullableType(field.type));
    const spec = fieldCostSpec(field);

    if (inIntrospection) {
      // Introspection reads the in-memory schema: counted by its entry point.
      const child = node.selectionSet && isCompositeType(named) ? selectionPart(node.selectionSet, named, true, undefined) : ZERO;
      return { cost: child.cost, depth: 1 + child.depth, aliases: cap(aliases + child.aliases), introspection: true, requirements: NONE };
    }

    const weight = spec.weight ?? (top && isMutation ? MUTATION_WEIGHT : isCompositeType(named) ? 1 : 0);
    const sized = spec.listSize?.sizedFields?.length ? { fields: spec.listSize.sizedFields, size: listSize(field, node) } : undefined;
    const child = node.selectionSet && isCompositeType(named) ? selectionPart(node.selectionSet, named, false, sized) : ZERO;
    // A connection's `edges` / `nodes` hold as many items as the connection field's declaration says.
    const items = sizing?.fields.includes(name) ? sizing.size : isList && !sized ? listSize(field, node) : 1;
    const cost = items * (weight + child.cost);
    const requirement = fieldRequirement(parent.name, field);
    return {
      cost: cap(cost),
      depth: 1 + child.depth,
      aliases: cap(aliases + child.aliases),
      introspection: child.introspection,
      requirements: requirement ? union([requirement], child.requirements) : child.requirements,
    };
  };

  /**
   * Fields on the type itself add up; fragments on a narrower type are alternatives (an object is
   * one of them), so each group adds up and the largest group counts.
   */
  const selectionPart = (set: SelectionSetNode, type: GraphQLCompositeType, inIntrospection: boolean, sizing: Sizing | undefined, top = false): Part => {
    const key = `${type.name}|${inIntrospection ? "i" : ""}|${sizing ? `${sizing.size}:${sizing.fields.join(",")}` : ""}|${top ? "t" : ""}`;
    let byKey = memo.get(set);
    const known = byKey?.get(key);
    if (known) return known;
    if (visiting.has(set)) return ZERO; // a fragment cycle: refused by validation anyway
    visiting.add(set);

    const own: Part = { ...ZERO };
    const groups = new Map<string, Part>();
    const add = (into: Part, part: Part) => {
      into.cost = cap(into.cost + part.cost);
      into.depth = Math.max(into.depth, part.depth);
      into.aliases = cap(into.aliases + part.aliases);
      into.introspection ||= part.introspection;
      into.requirements = union(into.requirements, part.requirements);
    };
    const addConditional = (condition: string | undefined, inner: SelectionSetNode) => {
      const target = condition ? (schema.getType(condition) as GraphQLCompositeType | undefined) : type;
      if (!target || !isCompositeType(target)) return;
      const part = selectionPart(inner, target, inIntrospection, sizing, top);
      if (!condition || condition === type.name) return add(own, part);
      const group = groups.get(condition) ?? { ...ZERO };
      add(group, part);
      groups.set(condition, group);
    };
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) add(own, fieldPart(type, selection, inIntrospection, sizing, top));
      else if (selection.kind === Kind.INLINE_FRAGMENT) addConditional(selection.typeCondition?.name.value, selection.selectionSet);
      else {
        const fragment = fragments[selection.name.value];
        if (fragment) addConditional(fragment.typeCondition.name.value, fragment.selectionSet);
      }
    }
    let widest: Part | undefined;
    for (const group of groups.values()) {
      if (!widest || group.cost > widest.cost) widest = group;
      own.depth = Math.max(own.depth, group.depth);
      own.aliases = cap(own.aliases + group.aliases);
      own.introspection ||= group.introspection;
      own.requirements = union(own.requirements, group.requirements);
    }
    if (widest) own.cost = cap(own.cost + widest.cost);

    visiting.delete(set);
    if (!byKey) memo.set(set, (byKey = new Map()));
    byKey.set(key, own);
    return own;
  };

  const result = selectionPart(operation.selectionSet, root, false, undefined, true);
  return { cost: result.cost, depth: result.depth, aliases: result.aliases, introspection: result.introspection, requirements: result.requirements };
}
