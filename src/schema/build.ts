import { buildSchema, getMetadataStorage, type PubSub } from "type-graphql";
import { createPubSub } from "@graphql-yoga/subscription";
import { GraphQLDateTime } from "graphql-scalars";
import { GraphQLSchema, isObjectType, specifiedDirectives } from "graphql";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { RESOLVERS } from "../resolvers";
import { COST_DIRECTIVES, costSentence, fieldCostSpec } from "./cost";
import { editionSentence, fieldRequirement, requiresEditionDirective } from "./edition";
import { scopeAuthChecker, scopedFieldScopes } from "../resolvers/authorized";
import { isScope, type Scope } from "../policy/scopes";
// Registers the domain enums' GraphQL names and descriptions before the schema is built.
import "./enums";

/**
 * Builds the executable schema from the resolver classes. Inputs are validated with
 * class-validator (`validate: true`); dates are the `DateTime` scalar (RFC 3339). Every
 * subscription names its own `subscribe` (the event log's relay, the import job), so `pubSub` is
 * type-graphql's requirement only (the gateway passes its event bus; printing needs none).
 */
export async function buildWorkgraphSchema(pubSub: PubSub = createPubSub()): Promise<GraphQLSchema> {
  const built = await buildSchema({
    resolvers: RESOLVERS,
    pubSub,
    validate: { forbidUnknownValues: false },
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    directives: [...specifiedDirectives, ...COST_DIRECTIVES],
    authChecker: scopeAuthChecker,
  });
  // `@requiresEdition`'s arguments are the built schema's own Edition and Feature enums (see `edition.ts`).
  const schema = new GraphQLSchema({ ...built.toConfig(), directives: [...built.getDirectives(), requiresEditionDirective(built)] });
  // Each field's scope, edition and cost declarations, in words, end its description (the playground's
  // docs show them); reading every field's edition declaration here also refuses a malformed one.
  const scopes = declaredScopes(schema);
  const mutation = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const sentences = [
        scopeSentence(scopes.get(`${type.name}.${field.name}`)),
        editionSentence(fieldRequirement(type.name, field)),
        costSentence(fieldCostSpec(field), type === mutation),
      ].filter(Boolean);
      if (sentences.length) field.description = [field.description, ...sentences].filter(Boolean).join(" ");
    }
  }
  // type-graphql has no decorator for the root types' descriptions.
  schema.getQueryType()!.description = "Reads. Every field needs a bearer token and is scoped to its corp, scopes and visibility.";
  schema.getMutationType()!.description = "Changes. Each takes one `input`, runs in one transaction and returns a payload.";
  schema.getSubscriptionType()!.description = "Live streams over graphql-ws at `ws://<host>/graphql`, resumable with `after`.";
  return schema;
}

/**
 * The scopes each field declares with `@Authorized(...)`, by `Type.field`, read from type-graphql's
 * metadata (the declaration the authChecker enforces). A role that is not a scope of
 * `policy/scopes.ts` fails the build: a typo must not become a field nobody may call.
 */
function declaredScopes(schema: GraphQLSchema): Map<string, readonly Scope[]> {
  const storage = getMetadataStorage();
  const declared = new Map<string, readonly Scope[]>();
  const add = (type: string | undefined, field: string, roles: unknown[] | undefined) => {
    if (!type || !roles?.length) return;
    const unknown = roles.filter((role) => typeof role !== "string" || !isScope(role));
    if (unknown.length) throw new Error(`@Authorized on ${type}.${field} names ${unknown.join(", ")}, not a scope of policy/scopes.ts.`);
    declared.set(`${type}.${field}`, roles as Scope[]);
  };
  for (const q of storage.queries) add(schema.getQueryType()?.name, q.schemaName, q.roles);
  for (const m of storage.mutations) add(schema.getMutationType()?.name, m.schemaName, m.roles);
  for (const s of storage.subscriptions) add(schema.getSubscriptionType()?.name, s.schemaName, s.roles);
  for (const type of storage.objectTypes) for (const field of type.fields ?? []) add(type.name, field.schemaName, field.roles);
  for (const resolver of storage.fieldResolvers) {
    const scopes = scopedFieldScopes(resolver.target, resolver.methodName);
    const objectType = resolver.getObjectType?.();
    const typeName = storage.objectTypes.find((t) => t.target === objectType)?.name;
    if (scopes) add(typeName, resolver.schemaName, [...scopes]);
  }
  return declared;
}

/** A field's scopes in words: "Needs the scope `directory:read`." */
function scopeSentence(scopes: readonly Scope[] | undefined): string {
  if (!scopes?.length) return "";
  const names = scopes.map((s) => `\`${s}\``);
  return scopes.length === 1
    ? `Needs the scope ${names[0]} (else FORBIDDEN).`
    : `Needs the scopes ${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} (else FORBIDDEN).`;
}

/**
 * The SDL with the applied cost directives (`@cost`, `@listSize`) and edition declarations
 * (`@requiresEdition`): graphql's `printSchema` drops applied directives, and so would hide the
 * declarations a client computes a query's cost from and learns which edition a field needs from.
 */
export function printWorkgraphSchema(schema: GraphQLSchema): string {
  return printSchemaWithDirectives(schema) + "\n";
}
