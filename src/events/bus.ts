import { randomUUID } from "node:crypto";
import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import Redis from "ioredis";
import { log } from "../log";

/**
 * The pub/sub between writers and subscribers; also the `pubSub` type-graphql expects. It carries
 * only "stream X of corp Y has events up to id N" notifications, keyed by `feedKey(corp, stream)`
 * (`events/log.ts`): the events themselves are read from the log, so a notification that is lost
 * or reordered can delay an event but never drop or reorder one (the relay also polls the log).
 */
export type EventBus = PubSub<{ events: [feedKey: string, lastId: string] }>;

/** Redis for notifications across instances: `publisher` for PUBLISH, `subscriber` (subscriber mode) for the channel. */
export interface BusRedis {
  publisher: Redis;
  subscriber: Redis;
  /** One channel per database: instances of other deployments (or parallel test runs) on the same Redis stay apart. */
  channel: string;
}

/**
 * In memory, or with `redis` across instances (issue 14): a notification is delivered in this
 * process at once and published on the Redis channel; each instance hands what others published to
 * its own subscribers (dropping its own, which it already delivered). So a subscriber on one
 * instance learns of a commit on another within a Redis round trip instead of at the relay's next
 * poll, and while Redis is down every instance still serves its own writes at once and the others'
 * at the next poll (2 s): degraded, never lost. Written here rather than with
 * `@graphql-yoga/redis-event-target`, which routes even a process's own notifications through Redis
 * (an outage would then silence local subscribers until the poll).
 */
export function createEventBus(redis?: BusRedis): EventBus {
  const local = createPubSub<{ events: [feedKey: string, lastId: string] }>();
  if (!redis) return local;
  const instance = randomUUID();
  let failing = false;
  const failed = (e: unknown) => {
    if (failing) return;
    failing = true;
    log.warn("event bus: cannot publish to Redis; other instances see this one's events at their next poll", { error: String(e) });
  };
  redis.subscriber.on("message", (channel: string, message: string) => {
    if (channel !== redis.channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === "string")) return;
    const [from, key, lastId] = parsed as [string, string, string];
    if (from !== instance) local.publish("events", key, lastId);
  });
  void redis.subscriber
    .subscribe(redis.channel)
    .catch((e: unknown) => log.warn("event bus: cannot subscribe to Redis yet (it resubscribes on reconnection)", { error: String(e) }));
  return {
    subscribe: local.subscribe,
    publish: (topic, key, lastId) => {
      local.publish(topic, key, lastId);
      redis.publisher.publish(redis.channel, JSON.stringify([instance, key, lastId])).then(() => {
        if (failing) log.info("event bus: publishing to Redis again");
        failing = false;
      }, failed);
    },
  };
}

/**
 * The bus's subscriber connection: it waits for Redis (the SUBSCRIBE is queued until connected and
 * made again after each reconnection), its socket never keeps the process alive, and an outage is
 * logged once. `disconnect()` it when the gateway stops.
 */
export function busSubscriber(url: string): Redis {
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: 2000, disconnectTimeout: 300 });
  subscriber.on("connect", () => (subscriber as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
  let down = false;
  subscriber.on("error", (e: Error) => {
    if (down) return;
    down = true;
    log.warn("event bus: Redis subscriber unavailable; events of other instances arrive at the relay's poll until it is back", { error: e.message });
  });
  subscriber.on("ready", () => {
    if (down) log.info("event bus: Redis subscriber is back");
    down = false;
  });
  return subscriber;
}
