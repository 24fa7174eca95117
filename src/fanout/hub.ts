import { execute, type DocumentNode, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import type { RequestContext } from "../context";
import type { Principal } from "../policy/principal";
import type { EventRelay, FeedHandle } from "../events/relay";
import { feedKey } from "../events/log";
import { log } from "../log";
import type { Delivery, LiveStream } from "./source";
import { groupDocument, type GroupDocument } from "./document";

/** A result as it leaves the server (errors formatted), the same for every subscriber of a group. */
export interface SentResult {
  data?: unknown;
  errors?: readonly GraphQLFormattedError[];
  extensions?: Record<string, unknown>;
}

/** Where a subscriber's frames go: its socket (a `ws` WebSocket) and its operation id. */
export interface FanoutTarget {
  socket: { readonly readyState: number; send(data: Buffer, options: { binary: boolean }): void };
  id: string;
  /** Told of each result sent to this subscriber (for `/metrics`). */
  delivered(result: SentResult): void;
}

export interface FanoutOptions {
  relay: Pick<EventRelay, "open">;
  /** SUBSCRIPTION_RECHECK_SECONDS, in ms. */
  recheckMs: number;
  /** A fresh context for one execution for `principal`: its own loaders, list-item budget and statement count. */
  context(principal: Principal): RequestContext;
  /** A result as it leaves the server (the one error formatter). */
  format(result: ExecutionResult, ctx: RequestContext): SentResult;
}

/** What one subscription asked for, as the hub executes it. */
export interface FanoutRequest {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  /** The subscriber's own context: its principal, re-checked by `source.recheck`. */
  contextValue: RequestContext;
}

/**
 * A subscriber's stream as graphql-ws holds it: an async iterator that yields nothing (the hub writes
 * the frames) and has `return` (graphql-ws calls it on the client's complete and on close).
 */
export interface SubscriberHandle extends AsyncIterableIterator<never> {
  return(): Promise<IteratorResult<never, void>>;
  throw(e: unknown): Promise<IteratorResult<never, void>>;
}

/** Counters for tests and benchmarks: executions of a selection and the SQL statements they made, frames written. */
export interface FanoutStats {
  /** Live subscribers asked whether they receive an event (`LiveStream.deliver`). */
  asked: number;
  executions: number;
  statements: number;
  frames: number;
}

/** One execution's output: the result and its serialized payload with the frame's closing brace. */
interface Rendered {
  result: SentResult;
  payload: Buffer;
}

/** What an execution needs: a subscriber's document and principal (one of a group's, or a replaying subscriber's own). */
interface Audience {
  schema: GraphQLSchema;
  doc: GroupDocument;
  operationName: string | null | undefined;
  principal: Principal;
}

const OPEN = 1; // WebSocket.OPEN

/**
 * "Execute once, write many" (issue 14) for subscriptions whose stream is a `LiveStream`: per
 * (corp, stream) and process one `Channel` reads the event log's feed and, for each event, executes
 * the selection once per group of subscribers that would receive the same bytes (same document and
 * variables without the position arguments, same `audience` key) and variant of the event (what
 * `LiveStream.deliver` answers for each subscriber: the root to execute with, e.g. a per-member
 * `notify`), executed as one of the subscribers it goes to, serializes that result once, and
 * writes it to every socket of the group as a graphql-ws `next` frame (its per-subscriber id prefix
 * followed by the shared payload). The database work per event is one execution per group, however
 * many subscribers each group has. A resumed subscriber (`after`) first replays the log on its own
 * (each event executed for it alone, in order), then joins its group at a point where nothing is
 * missed or repeated (see `Channel.admit`). Each subscriber's token is re-checked as before, at most
 * every `recheckMs`, before an event is delivered to it: a failure ends its stream with the error; a
 * changed principal (narrower visibility) moves it to the group of its new audience.
 */
export class FanoutHub {
  private readonly channels = new Map<string, Channel>();
  readonly stats: FanoutStats = { asked: 0, executions: 0, statements: 0, frames: 0 };

  constructor(private readonly options: FanoutOptions) {}

  /**
   * Serves `request` from `source` to `target`; returns what graphql-ws holds as the operation's
   * stream: it yields nothing (the hub writes the frames), ends when the client completes or the
   * socket closes (`return()`), and throws the error that ended the subscriber (a failed re-check).
   */
  subscribe(request: FanoutRequest, source: LiveStream<unknown>, target: FanoutTarget): SubscriberHandle {
    const key = feedKey(source.corpId, source.stream);
    let channel = this.channels.get(key);
    if (!channel) {
      channel = new Channel(this, this.options, source.corpId, source.stream, () => this.channels.delete(key));
      this.channels.set(key, channel);
    }
    const doc = groupDocument(request.document, request.operationName, request.variableValues, source.positionArgs);
    const subscriber = new Subscriber(channel, request, doc, source, target);
    channel.add(subscriber);
    void channel.serve(subscriber, source.after);
    return subscriber.handle();
  }

  /** Executes the selection for an event's `root` (see `LiveStream.deliver`) once and serializes the result once. */
  async render(audience: Audience, root: unknown): Promise<Rendered> {
    const ctx = this.options.context(audience.principal);
    let result: ExecutionResult;
    try {
      result = await execute({
        schema: audience.schema,
        document: audience.doc.document,
        rootValue: root,
        contextValue: ctx,
        variableValues: audience.doc.variables,
        operationName: audience.operationName,
      });
    } catch (e) {
      result = { errors: [e as never] };
    }
    const sent = this.options.format(result, ctx);
    this.stats.executions++;
    this.stats.statements += ctx.stats.statements;
    return { result: sent, payload: Buffer.from(JSON.stringify(sent) + "}") };
  }

  /** Subscribers served now, and the groups their live ones form (tests, benchmarks). */
  get size(): { channels: number; groups: number; subscribers: number; live: number } {
    let groups = 0;
    let subscribers = 0;
    let live = 0;
    for (const channel of this.channels.values()) {
      groups += channel.groups.size;
      subscribers += channel.subscribers.size;
      for (const group of channel.groups.values()) live += group.members.size;
    }
    return { channels: this.channels.size, groups, subscribers, live };
  }
}

/** Subscribers that would receive the same bytes: one execution per event and variant for all of them. */
class Group {
  readonly members = new Set<Subscriber>();

  constructor(
    readonly key: string,
    readonly schema: GraphQLSchema,
    readonly doc: GroupDocument,
    readonly operationName: string | null | undefined,
    readonly source: LiveStream<unknown>,
  ) {}
}

class Subscriber {
  /** The last event id this subscriber has been served up to (delivered or filtered out). */
  pos = 0n;
  /**
   * When its token was last checked. Set back by up to half the re-check interval at the start, so
   * that thousands who subscribed together are re-checked spread over time, not all before one event
   * (the first re-check comes sooner, never later).
   */
  checked: number;
  group: Group | null = null;
  /** The re-check under way, if any. */
  private rechecking: Promise<boolean> | null = null;
  /** Its keys in the channel's index while it is live (`LiveStream.keys`). */
  keys: readonly string[] = [];
  ended = false;
  private readonly prefix: Buffer;
  private readonly done: Promise<IteratorResult<never, void>>;
  private settle!: (error?: unknown) => void;

  constructor(
    readonly channel: Channel,
    readonly request: FanoutRequest,
    readonly doc: GroupDocument,
    readonly source: LiveStream<unknown>,
    private readonly target: FanoutTarget,
  ) {
    this.checked = Date.now() - Math.floor((Math.random() * channel.recheckMs) / 2);
    // Its own memory, not a slice of Node's shared 8 KiB pool: a long-lived slice would keep its whole slab alive.
    const prefix = `{"id":${JSON.stringify(target.id)},"type":"next","payload":`;
    this.prefix = Buffer.allocUnsafeSlow(Buffer.byteLength(prefix));
    this.prefix.write(prefix);
    this.done = new Promise((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve({ done: true, value: undefined }) : reject(error));
    });
    // Rejected only for graphql-ws's pending `next()`; never an unhandled rejection.
    this.done.catch(() => undefined);
  }

  get ctx(): RequestContext {
    return this.request.contextValue;
  }

  /** This subscriber's audience: its document, its principal now. */
  get audience(): Audience {
    return { schema: this.request.schema, doc: this.doc, operationName: this.request.operationName, principal: this.ctx.caller };
  }

  /** Writes one `next` frame: this subscriber's prefix, then the shared payload. */
  write(rendered: Rendered, stats: FanoutStats): void {
    if (this.ended || this.target.socket.readyState !== OPEN) return;
    this.target.socket.send(Buffer.concat([this.prefix, rendered.payload]), { binary: false });
    stats.frames++;
    this.target.delivered(rendered.result);
  }

  /** Re-checks the token when due; false (and the subscriber ended with the error) when it fails. */
  recheckIfDue(): Promise<boolean> {
    if (Date.now() - this.checked < this.channel.recheckMs) return Promise.resolve(true);
    // One re-check at a time (an event's and the channel's sweep may ask together).
    this.rechecking ??= this.source.recheck(this.ctx).then(
      () => {
        this.checked = Date.now();
        this.rechecking = null;
        return true;
      },
      (e: unknown) => {
        this.rechecking = null;
        this.end(e);
        return false;
      },
    );
    return this.rechecking;
  }

  /** Ends the subscriber: graphql-ws's `next()` resolves done, or rejects with `error`. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.channel.remove(this);
    this.settle(error);
  }

  handle(): SubscriberHandle {
    return new Handle(this, this.done);
  }
}

/** What graphql-ws holds of a subscriber (its methods on the prototype: nothing per subscriber but two references). */
class Handle implements SubscriberHandle {
  constructor(
    private readonly subscriber: Subscriber,
    private readonly done: Promise<IteratorResult<never, void>>,
  ) {}

  next(): Promise<IteratorResult<never, void>> {
    return this.done;
  }

  async return(): Promise<IteratorResult<never, void>> {
    this.subscriber.end();
    return { done: true, value: undefined };
  }

  async throw(e: unknown): Promise<IteratorResult<never, void>> {
    this.subscriber.end();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * One (corp, stream) of this process: one reader of the feed, the groups of live subscribers, and
 * the order of delivery. Events are dispatched one at a time in id order (the groups of one event in
 * parallel); subscribers join between two events.
 */
class Channel {
  readonly groups = new Map<string, Group>();
  readonly subscribers = new Set<Subscriber>();
  /** Live subscribers by `LiveStream.keys`, for events that name who may receive them (`LiveStream.route`). */
  private readonly index = new Map<string, Set<Subscriber>>();
  /** Events up to this id have been dispatched to the live subscribers. */
  private cursor = 0n;
  /** The first event dispatched live (`LiveStream.route`'s `floor`). */
  private floor: bigint | null = null;
  private feed: FeedHandle | undefined;
  private readonly opened: Promise<FeedHandle>;
  private joins: Array<{ subscriber: Subscriber; joined: (ok: boolean) => void }> = [];
  private wakeUp: (() => void) | undefined;
  private closed = false;
  /**
   * Re-checks the live subscribers that no event reached for an interval (an event re-checks only
   * those it is routed to): a revoked token ends its subscription, and frees its slot, within about
   * an interval and a half even when nothing is sent to it.
   */
  private readonly sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: FanoutHub,
    private readonly options: FanoutOptions,
    private readonly corpId: string,
    private readonly stream: string,
    private readonly onClose: () => void,
  ) {
    this.opened = options.relay.open(corpId, stream);
    if (options.recheckMs > 0) {
      this.sweep = setInterval(
        () => {
          const now = Date.now();
          for (const group of this.groups.values()) for (const s of group.members) if (now - s.checked >= options.recheckMs) void this.recheck(s);
        },
        Math.max(options.recheckMs / 2, 500),
      );
      this.sweep.unref();
    }
    this.opened.then(
      (feed) => {
        this.feed = feed;
        this.cursor = feed.latest;
        if (this.closed) feed.release();
        else void this.run(feed);
      },
      (e) => this.fail(e),
    );
  }

  get recheckMs(): number {
    return this.options.recheckMs;
  }

  add(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    this.leave(subscriber);
    if (this.subscribers.size === 0) this.close();
  }

  /** Brings `subscriber` to the live groups: from `after` through its own replay, or from the feed's end. */
  async serve(subscriber: Subscriber, after: bigint | null): Promise<void> {
    let feed: FeedHandle;
    try {
      feed = await this.opened;
    } catch {
      return; // `fail` ended every subscriber
    }
    try {
      subscriber.pos = after ?? feed.latest;
      while (!subscriber.ended) {
        const batch = await feed.page(subscriber.pos);
        if (!batch.length) {
          if (await this.join(subscriber)) return;
          continue;
        }
        for (const event of batch) {
          if (subscriber.ended || !(await subscriber.recheckIfDue())) return;
          const delivery = await subscriber.source.deliver(subscriber.ctx.caller, event, null);
          if (delivery) subscriber.write(await this.hub.render(subscriber.audience, delivery.root), this.hub.stats);
          subscriber.pos = BigInt((event as { id: string }).id);
        }
      }
    } catch (e) {
      subscriber.end(e);
    }
  }

  /** Resolves true once `subscriber` is live in its group, false when it must replay further first. */
  private join(subscriber: Subscriber): Promise<boolean> {
    return new Promise((joined) => {
      this.joins.push({ subscriber, joined });
      this.wake();
    });
  }

  /**
   * Between two events: subscribers that have been served up to the channel's cursor (or beyond it,
   * from the feed's ring) join their group; the channel then skips, for each, the events up to its
   * own position. One that is behind the cursor replays further first. So each event reaches each
   * subscriber once, in order.
   */
  private admit(): void {
    const joins = this.joins;
    this.joins = [];
    for (const { subscriber, joined } of joins) {
      if (subscriber.ended || subscriber.pos < this.cursor) {
        joined(subscriber.ended);
        continue;
      }
      this.place(subscriber);
      joined(true);
    }
  }

  private place(subscriber: Subscriber): void {
    const key = `${subscriber.doc.key}\0${subscriber.source.audience(subscriber.ctx.caller)}`;
    let group = this.groups.get(key);
    if (!group) {
      group = new Group(key, subscriber.request.schema, subscriber.doc, subscriber.request.operationName, subscriber.source);
      this.groups.set(key, group);
    }
    group.members.add(subscriber);
    subscriber.group = group;
    subscriber.keys = subscriber.source.keys?.(subscriber.ctx.caller) ?? ["*"];
    for (const key of subscriber.keys) {
      let set = this.index.get(key);
      if (!set) this.index.set(key, (set = new Set()));
      set.add(subscriber);
    }
  }

  private leave(subscriber: Subscriber): void {
    const group = subscriber.group;
    if (!group) return;
    group.members.delete(subscriber);
    subscriber.group = null;
    for (const key of subscriber.keys) {
      const set = this.index.get(key);
      set?.delete(subscriber);
      if (set?.size === 0) this.index.delete(key);
    }
    subscriber.keys = [];
    if (group.members.size === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  private async run(feed: FeedHandle): Promise<void> {
    try {
      while (!this.closed) {
        this.admit();
        const batch = await feed.page(this.cursor);
        // Subscribers that asked to join while the page was read join before its first event.
        this.admit();
        if (!batch.length) {
          await Promise.race([feed.changed(), new Promise<void>((resolve) => (this.wakeUp = resolve))]);
          continue;
        }
        for (const event of batch) {
          if (this.closed) break;
          await this.dispatch(event, BigInt((event as { id: string }).id));
          this.cursor = BigInt((event as { id: string }).id);
          this.admit();
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * One event to the live subscribers who may receive it (all, or those `route` names): due
   * re-checks first, then one execution per group and variant that receives it.
   */
  private async dispatch(event: unknown, id: bigint): Promise<void> {
    this.floor ??= id;
    const router = this.subscribers.values().next().value as Subscriber | undefined;
    const floor = this.floor;
    let keys: readonly string[] | null = null;
    if (router?.source.route) {
      try {
        keys = await router.source.route(event, floor, (key) => (this.index.get(key)?.size ?? 0) > 0);
      } catch (e) {
        // Who may receive it is unknown (the database): every live subscriber is asked.
        log.warn("fan-out route failed; asking every subscriber", { corpId: this.corpId, stream: this.stream, error: String(e) });
      }
    }
    let candidates: Subscriber[];
    if (keys === null) {
      candidates = [];
      for (const group of this.groups.values()) for (const s of group.members) candidates.push(s);
    } else {
      const named = new Set<Subscriber>();
      for (const key of ["*", ...keys]) for (const s of this.index.get(key) ?? []) named.add(s);
      candidates = [...named];
    }
    const due: Subscriber[] = [];
    const now = Date.now();
    for (const s of candidates) if (s.pos < id && now - s.checked >= this.options.recheckMs) due.push(s);
    if (due.length) await Promise.all(due.map((s) => this.recheck(s)));
    // Grouped after the re-checks: one may have moved a subscriber to the group of its new audience.
    const regrouped = new Map<Group, Subscriber[]>();
    for (const s of candidates) {
      if (!s.group) continue;
      const list = regrouped.get(s.group);
      if (list) list.push(s);
      else regrouped.set(s.group, [s]);
    }
    await Promise.all([...regrouped].map(([group, members]) => this.dispatchTo(group, members, event, id)));
  }

  /**
   * One event to members of one group: each that has not had it is asked what it receives (most answer
   * at once; a pending answer, such as a roster being loaded, is awaited), then one execution per
   * variant of the event's root, written to every member that receives it.
   */
  private async dispatchTo(group: Group, members: readonly Subscriber[], event: unknown, id: bigint): Promise<void> {
    const variants = new Map<string, { root: unknown; targets: Subscriber[] }>();
    const add = (s: Subscriber, delivery: Delivery | null) => {
      if (!delivery) return;
      const variant = variants.get(delivery.variant);
      if (variant) variant.targets.push(s);
      else variants.set(delivery.variant, { root: delivery.root, targets: [s] });
    };
    let pending: Array<Promise<void>> | undefined;
    const live = { floor: this.floor! };
    for (const s of members) {
      if (s.pos >= id || s.ended) continue;
      this.hub.stats.asked++;
      let delivery: Delivery | null | Promise<Delivery | null>;
      try {
        delivery = s.source.deliver(s.ctx.caller, event, live);
      } catch (e) {
        s.end(e);
        continue;
      }
      // A failure (the database) ends that subscriber only, with the error; the others are served.
      if (delivery instanceof Promise)
        (pending ??= []).push(
          delivery.then(
            (d) => add(s, d),
            (e) => s.end(e),
          ),
        );
      else add(s, delivery);
    }
    if (pending) await Promise.all(pending);
    await Promise.all(
      [...variants.values()].map(async ({ root, targets }) => {
        // Executed as one of the subscribers it goes to: equal to the others in all the audience and the variant cover.
        const rendered = await this.hub.render(targets[0].audience, root);
        for (const s of targets) s.write(rendered, this.hub.stats);
      }),
    );
  }

  /** A live subscriber's re-check: ended on failure, moved to another group when its audience changed. */
  private async recheck(subscriber: Subscriber): Promise<void> {
    if (!(await subscriber.recheckIfDue()) || subscriber.ended) return;
    const key = `${subscriber.doc.key}\0${subscriber.source.audience(subscriber.ctx.caller)}`;
    if (subscriber.group?.key === key) return;
    this.leave(subscriber);
    this.place(subscriber);
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    this.onClose();
    this.wake();
    this.feed?.release();
  }

  /** The feed failed (the database): every subscriber ends with the error, as a failing stream did. */
  private fail(e: unknown): void {
    log.warn("fan-out channel failed", { corpId: this.corpId, stream: this.stream, error: String(e) });
    for (const s of [...this.subscribers]) s.end(e);
    this.close();
  }
}
