import { DirectiveLocation, GraphQLDirective, GraphQLNonNull, Kind, isEnumType, type GraphQLField, type GraphQLSchema } from "graphql";
import { Directive } from "type-graphql";
import { Edition } from "../domain/enums";
import { FEATURES, Feature } from "../domain/editions";

/**
 * Editions declared in the schema code (issue 13): a field that needs a feature some editions lack
 * says so with `@RequiresFeature(Feature.X)`, which applies `@requiresEdition(edition:, feature:)`
 * to its definition. From that one declaration:
 * - `schema.graphql` and introspection-based tools show the directive (`printWorkgraphSchema`);
 * - the field's description ends with "Needs the PROFESSIONAL edition (else EDITION_REQUIRED)."
 *   (`build.ts`), so the playground's docs say it;
 * - the document analysis collects the features of every selected field and `checkOperation`
 *   refuses the whole operation with EDITION_REQUIRED before anything runs, over HTTP and WebSocket.
 * The edition written is always the catalog's (`domain/editions.ts`): `fieldRequirement` refuses a
 * hand-written declaration that disagrees with it, which fails the schema's build.
 */
export const REQUIRES_EDITION = "requiresEdition";

/**
 * The directive's definition. Its arguments are the schema's own `Edition` and `Feature` enums, which
 * type-graphql builds with the schema, so the definition is made from the built schema (`build.ts`).
 */
export function requiresEditionDirective(schema: GraphQLSchema): GraphQLDirective {
  const edition = schema.getType("Edition");
  const feature = schema.getType("Feature");
  if (!isEnumType(edition) || !isEnumType(feature)) throw new Error("@requiresEdition needs the Edition and Feature enums in the schema.");
  return new GraphQLDirective({
    name: REQUIRES_EDITION,
    description:
      "The field needs a feature that only some editions have: a corp on a lower edition gets EDITION_REQUIRED for the whole operation, before any of it runs. `corp { features }` lists what the caller's corp has.",
    locations: [DirectiveLocation.FIELD_DEFINITION],
    args: {
      edition: { type: new GraphQLNonNull(edition), description: "The lowest edition that has the feature." },
      feature: { type: new GraphQLNonNull(feature), description: "The feature, a key of `corp { features }`." },
    },
  });
}

/** Declares that the field needs `feature`: the edition comes from the catalog (`domain/editions.ts`). */
export function RequiresFeature(feature: Feature) {
  return Directive(`@${REQUIRES_EDITION}(edition: ${FEATURES[feature].edition}, feature: ${feature})`);
}

/** What a field declares with `@RequiresFeature`, by the name it has in a document. */
export interface FieldRequirement {
  /** `Mutation.importMembers` */
  coordinate: string;
  field: string;
  edition: Edition;
  feature: Feature;
}

const requirements = new WeakMap<GraphQLField<unknown, unknown>, FieldRequirement | null>();

/**
 * The feature a field needs, read once from its definition's `@requiresEdition` (null: none).
 * Throws on a declaration that names an unknown feature or an edition other than the catalog's.
 */
export function fieldRequirement(parent: string, field: GraphQLField<unknown, unknown>): FieldRequirement | null {
  let requirement = requirements.get(field);
  if (requirement === undefined) {
    requirement = null;
    const node = field.astNode?.directives?.find((d) => d.name.value === REQUIRES_EDITION);
    if (node) {
      const arg = (name: string) => {
        const value = node.arguments?.find((a) => a.name.value === name)?.value;
        return value?.kind === Kind.ENUM ? value.value : undefined;
      };
      const feature = arg("feature") as Feature | undefined;
      const edition = arg("edition") as Edition | undefined;
      if (feature === undefined || !(feature in FEATURES) || edition !== FEATURES[feature].edition) {
        throw new Error(`@${REQUIRES_EDITION} on ${parent}.${field.name} must name a feature of domain/editions.ts and its edition: use @RequiresFeature.`);
      }
      requirement = { coordinate: `${parent}.${field.name}`, field: field.name, edition, feature };
    }
    requirements.set(field, requirement);
  }
  return requirement;
}

/** The sentence a declared field's description ends with (the playground shows it). */
export function editionSentence(requirement: FieldRequirement | null): string {
  return requirement ? `Needs the ${requirement.edition} edition (else EDITION_REQUIRED).` : "";
}
