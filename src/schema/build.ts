import { buildSchema } from "type-graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { isObjectType, specifiedDirectives, type GraphQLSchema } from "graphql";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { RESOLVERS } from "../resolvers";
import type { EventBus } from "../events/bus";
import { createEventBus } from "../events/bus";
import { COST_DIRECTIVES, costSentence, fieldCostSpec } from "./cost";
// Registers the domain enums' GraphQL names and descriptions before the schema is built.
import "./enums";

/**
 * Builds the executable schema from the resolver classes. Inputs are validated with
 * class-validator (`validate: true`); dates are the `DateTime` scalar (RFC 3339).
 */
export async function buildWorkgraphSchema(bus: EventBus = createEventBus()): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    pubSub: bus,
    validate: { forbidUnknownValues: false },
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    directives: [...specifiedDirectives, ...COST_DIRECTIVES],
  });
  // Each field's cost declaration, in words, ends its description (the playground's docs show it).
  const mutation = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const sentence = costSentence(fieldCostSpec(field), type === mutation);
      if (sentence) field.description = field.description ? `${field.description} ${sentence}` : sentence;
    }
  }
  // type-graphql has no decorator for the root types' descriptions.
  schema.getQueryType()!.description = "Reads. Every field needs a bearer token and is scoped to its corp, scopes and visibility.";
  schema.getMutationType()!.description = "Changes. Each takes one `input`, runs in one transaction and returns a payload.";
  schema.getSubscriptionType()!.description = "Live streams over graphql-ws at `ws://<host>/graphql`, resumable with `after`.";
  return schema;
}

/**
 * The SDL with the applied cost directives (`@cost`, `@listSize`): graphql's `printSchema` drops
 * applied directives, and so would hide the declarations a client computes a query's cost from.
 */
export function printWorkgraphSchema(schema: GraphQLSchema): string {
  return printSchemaWithDirectives(schema) + "\n";
}
