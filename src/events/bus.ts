import { createPubSub, type PubSub } from "@graphql-yoga/subscription";

/**
 * The pub/sub between writers and subscribers; also the `pubSub` type-graphql expects. It carries
 * only "stream X of corp Y has events up to id N" notifications, keyed by `feedKey(corp, stream)`
 * (`events/log.ts`): the events themselves are read from the log, so a notification that is lost
 * or reordered can delay an event but never drop or reorder one. In one process it is in memory;
 * across instances an event target over Redis can replace it.
 */
export type EventBus = PubSub<{ events: [feedKey: string, lastId: string] }>;

export function createEventBus(): EventBus {
  return createPubSub<{ events: [feedKey: string, lastId: string] }>();
}
