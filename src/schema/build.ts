import { buildSchema } from "type-graphql";
import { GraphQLDateTime } from "graphql-scalars";
import type { GraphQLSchema } from "graphql";
import { RESOLVERS } from "../resolvers";
import type { EventBus } from "../events/bus";
import { createEventBus } from "../events/bus";

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
  });
  // type-graphql has no decorator for the root types' descriptions.
  schema.getQueryType()!.description = "Reads. Every field needs a bearer token and is scoped to its corp, scopes and visibility.";
  schema.getMutationType()!.description = "Changes. Each takes one `input`, runs in one transaction and returns a payload.";
  schema.getSubscriptionType()!.description = "Live streams over graphql-ws at `ws://<host>/graphql`, resumable with `after`.";
  return schema;
}
