import type { Principal } from "../policy/principal";
import type { RequestContext } from "../context";

/**
 * What a subscription's event stream is, for the fan-out (`fanout/hub.ts`) to deliver it itself:
 * which feed of the event log, from where, who may receive an event, and which attributes of the
 * principal an event's result depends on. A service returns its per-subscriber stream tagged with
 * one of these (`liveStream`); the stream stays usable as it is (plain graphql-js execution), and
 * the hub, which recognises the tag, drops the stream unstarted and serves the subscriber from one
 * shared reader and one execution per group of subscribers that would receive the same bytes.
 */
/** What a subscriber receives of an event: the root to execute the selection with, and which of the event's roots it is. */
export interface Delivery {
  root: unknown;
  variant: string;
}

export interface LiveStream<E> {
  corpId: string;
  /** The event log's stream (`STREAMS` in `events/log.ts`). */
  stream: string;
  /** Deliver the events after this id (a resumed stream: replayed in order, then live); null: live only. */
  after: bigint | null;
  /**
   * What `principal` receives of `event`: nothing (null), or the root value the subscription's
   * selection is executed with and its `variant`, a string naming that root among the roots of this
   * event (subscribers of one group whose variants are equal receive the same bytes: one execution
   * per group and variant). Asked for each subscriber and event, so it may depend on who the
   * subscriber is (visibility, membership, a per-member flag such as `notify`). It should answer
   * synchronously from what it holds; a promise (a cache being filled) is awaited. `live`: the
   * subscriber is live in its channel, whose `route` has seen every event since `live.floor`; null
   * while it replays on its own. A rejection ends this subscriber only.
   */
  deliver(principal: Principal, event: E, live: { floor: bigint } | null): Delivery | null | Promise<Delivery | null>;
  /**
   * Which subscribers may receive `event`, as keys (`keys`): null when any may, and then every live
   * subscriber is asked `deliver`; otherwise only those holding one of these keys or "*" are. Asked
   * once per event for all the live subscribers of a channel (through one of them, `floor` being the
   * first event the channel delivered live), so an event for one member of a 10,000-member corp
   * costs one `deliver`, not 10,000. It must return a superset of those `deliver` accepts. A
   * rejection asks everyone.
   */
  route?(event: E, floor: bigint, held: (key: string) => boolean): readonly string[] | null | Promise<readonly string[] | null>;
  /**
   * This subscriber's keys for `route` (e.g. `member:42`); "*" when it is asked of every event. Read
   * when it joins its group. Keys no route returns may tell `route` what the live subscribers want
   * (`held(key)`: does a live subscriber of the channel hold it?).
   */
  keys?(principal: Principal): readonly string[];
  /**
   * The attributes of `principal` that the result of executing the subscription's selection for an
   * event may depend on, as a string: subscribers of the same document and variables whose keys are
   * equal receive the same bytes, so one execution serves them all. It must cover everything any
   * field reachable from the subscription's type reads of the principal (scopes, visibility, role,
   * the member's id where a field is per member); when in doubt, include more.
   */
  audience(principal: Principal): string;
  /**
   * Re-validates the subscriber's token (at most every SUBSCRIPTION_RECHECK_SECONDS, before a
   * delivery): updates `ctx.principal` or throws UNAUTHENTICATED / FORBIDDEN, which ends the stream.
   */
  recheck(ctx: RequestContext): Promise<void>;
  /**
   * The subscription field's arguments that choose where the stream starts, not what an event looks
   * like (`after`): left out of the grouping, so resumed subscribers share their group once live.
   */
  positionArgs: readonly string[];
}

/**
 * The schema extension (`@Extensions({ [FANOUT_EXTENSION]: true })`) of a subscription field whose
 * `subscribe` returns a `liveStream`: the transport hands such operations to the fan-out.
 */
export const FANOUT_EXTENSION = "workgraphFanout";

const TAG = Symbol("workgraph.liveStream");

/** `iterable`, tagged with `source` for the fan-out. */
export function liveStream<T extends object, E>(iterable: T, source: LiveStream<E>): T {
  Object.defineProperty(iterable, TAG, { value: source });
  return iterable;
}

/** The tag `liveStream` put on `value`, if any. */
export function liveStreamOf(value: unknown): LiveStream<unknown> | undefined {
  return typeof value === "object" && value !== null ? ((value as { [TAG]?: LiveStream<unknown> })[TAG] ?? undefined) : undefined;
}
