import { Repeater } from "@repeaterjs/repeater";
import type { RequestContext } from "../context";
import type { EventRecord } from "../entities/event.entity";
import { badInput } from "../errors/domain-error";
import { STREAMS } from "../events/log";
import { MessageEventType } from "../domain/enums";
import { requireScopes } from "../policy/require";
import type { Principal } from "../policy/principal";
import type { Scope } from "../policy/scopes";
import { liveStream, type Delivery, type LiveStream } from "../fanout/source";
import { directoryAudience } from "./directory-event.service";
import { appAudience, conversationAudience, memberAudience } from "./conversation.service";
import { inDoNotDisturb, type DoNotDisturbWindow } from "../domain/messaging";
import type { Clock } from "./clock";

/**
 * The scopes a messages event stream needs: declared on `messageEvents` (`@Authorized`, checked when
 * it subscribes) and checked again, by the same policy function, at each re-check of the token.
 */
export const MESSAGE_EVENTS_SCOPES: readonly Scope[] = ["messages:read"];

/**
 * Fields reachable from `MessageEvent` whose value depends on who asks, beyond the scopes and
 * visibility every subscriber of a group shares (the caller's own read pointer, settings, role,
 * ballot, answers; a sender's read receipt and form results). A subscription selecting any field of
 * these names is executed per subscriber; one selecting none is executed once per group of
 * subscribers with the same scopes and visibility (`fanout/`). By name, wherever it is selected: a
 * false "yes" only costs executions. `test/message-fanout.test.ts` checks that every field
 * reachable from `MessageEvent` is either one of these or known to be the same for every viewer.
 */
export const VIEWER_DEPENDENT_FIELDS: ReadonlySet<string> = new Set([
  "readReceipt",
  "formResults",
  "results",
  "myChoices",
  "myAnswers",
  "unreadCount",
  "readSeq",
  "myRole",
  "settings",
]);

/** A messages event with what the caller's filter decided: the conversation it is about and whether to notify. */
export interface MessageEventDelivery {
  record: EventRecord;
  conversationPk: string;
  notify: boolean;
  /**
   * Delivered to a member of the conversation (by its roster as of the event): its message and
   * conversation are resolved without checking the executing subscriber's membership again.
   */
  participant: boolean;
}

const CONVERSATION_PREFIX = "conversation:";

/** The conversation an event of the messages stream is about (every event names it in its audience or as its subject). */
export function conversationOf(record: EventRecord): string {
  const tagged = record.audience.find((a) => a.startsWith(CONVERSATION_PREFIX));
  if (tagged) return tagged.slice(CONVERSATION_PREFIX.length);
  return String(record.data?.conversationId ?? record.subjectId);
}

/** Events after which who belongs to a conversation, or who muted it, may have changed. */
function changesRoster(record: EventRecord): boolean {
  switch (record.type) {
    case MessageEventType.CONVERSATION_CREATED:
    case MessageEventType.MEMBERSHIP_CHANGED:
      return true;
    case MessageEventType.SETTINGS_CHANGED:
      // Pinning or archiving changes nothing a roster holds.
      return record.data?.muted != null;
    default:
      return false;
  }
}

/** A conversation's members now: member pk → muted. */
type Roster = ReadonlyMap<string, boolean>;

const MEMBER_PREFIX = memberAudience("");
/** The fan-out key of a member subscriber following all their conversations (no `conversationId`). */
const ALL_CONVERSATIONS = conversationAudience("*");
const keysOfRoster = new WeakMap<Roster, readonly string[]>();

/** A roster's members as fan-out keys (`member:<pk>`), made once per roster. */
function rosterKeys(roster: Roster): readonly string[] {
  let keys = keysOfRoster.get(roster);
  if (!keys) keysOfRoster.set(roster, (keys = [...roster.keys()].map(memberAudience)));
  return keys;
}

interface RosterEntry {
  roster: Roster | Promise<Roster>;
  /** Membership and settings events up to this id are reflected (it was read after they were committed). */
  upTo: bigint;
  size: number;
}

/** A reminder's members who had not read the message, kept current by the reads the stream carries. */
interface UnreadEntry {
  conversationPk: string;
  seq: number;
  members: Promise<Set<string>>;
}

/** An app's access to a conversation (`ConversationService.find`), shared by its subscriptions. */
interface AccessEntry {
  value: boolean | Promise<boolean>;
  /** When it was read (ms): it is read again after the re-check interval (its visibility may have changed). */
  at: number;
  upTo: bigint;
}

/** A bounded map whose reads make an entry the most recent (least recently read first out). */
function touch<V>(map: Map<string, V>, key: string): V | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

/**
 * Who belongs to each conversation, and who muted it, read once for every subscriber of this
 * process (one statement for a 10,000-member group, instead of one per subscriber) and read again
 * after a membership event (or a change of `muted`) of that conversation newer than what was read.
 * The event log is delivered in id order, every earlier event committed, so a roster read while
 * event R was processed reflects every change up to R: the first to see a newer change drops it
 * (`saw`: the channel's `route` for every live event, each subscriber before its own filters), and
 * a subscriber uses a roster only if it was read at or after the first event it, or its channel
 * when it is live, was given (`get`'s `floor`). Bounded: the least recently read are forgotten past
 * `maxMembers` members in all. Also kept here, by the same events: a reminder's unread members
 * (`unreadOf`) and apps' access to conversations (`appAccess`).
 */
export class Rosters {
  private readonly entries = new Map<string, RosterEntry>();
  private members = 0;
  /** The newest change seen per conversation (bounded): an app's access read before it is read again. */
  private readonly changes = new Map<string, bigint>();
  private readonly unread = new Map<string, UnreadEntry>();
  private readonly access = new Map<string, AccessEntry>();
  /** The reads (event ids) already applied to `unread` (the most recent 1,000). */
  private readonly readsApplied = new Set<string>();
  /** The roster key `get` served last (not moved to the end again for each of a group's subscribers). */
  private lastKey: string | null = null;

  constructor(private readonly maxMembers = 200_000) {}

  /**
   * An event of `pk` was seen: a membership change drops a roster read before it was committed (one
   * read while an event at or after it was processed already reflects it); a read removes the reader
   * from the unread members of the reminders it covers.
   */
  saw(corpId: string, pk: string, record: EventRecord): void {
    const key = `${corpId}:${pk}`;
    if (record.type === MessageEventType.MESSAGE_READ) {
      // Every subscriber (and the channel's route) tells of each event: a read is applied once.
      if (this.unread.size === 0 || this.readsApplied.has(record.id)) return;
      this.readsApplied.add(record.id);
      if (this.readsApplied.size > 1000) this.readsApplied.delete(this.readsApplied.values().next().value!);
      const reader = String(record.data?.memberId);
      const upTo = Number(record.data?.upToSeq);
      for (const entry of this.unread.values()) {
        if (entry.conversationPk === pk && entry.seq <= upTo)
          void entry.members.then(
            (set) => set.delete(reader),
            () => undefined,
          );
      }
      return;
    }
    if (!changesRoster(record) && record.type !== MessageEventType.CONVERSATION_UPDATED) return;
    const id = BigInt(record.id);
    if ((this.changes.get(key) ?? -1n) < id) {
      this.changes.delete(key);
      this.changes.set(key, id);
      if (this.changes.size > 10_000) this.changes.delete(this.changes.keys().next().value!);
    }
    if (!changesRoster(record)) return;
    const entry = this.entries.get(key);
    if (entry && id > entry.upTo) this.drop(key, entry);
  }

  /**
   * The roster of `pk` for a subscriber at `record` whose stream (or channel) began with event
   * `floor`: a cached one read while an event at or after `floor` was processed (so it reflects every
   * change before; those after, `saw` drops), else one read now (a promise, shared with every
   * subscriber asking meanwhile).
   */
  get(ctx: RequestContext, pk: string, record: EventRecord, floor: bigint): Roster | Promise<Roster> {
    const key = `${ctx.caller.corpId}:${pk}`;
    const entry = this.entries.get(key);
    if (entry && entry.upTo >= floor) {
      // The most recently read last (eviction takes the first); not moved when it is already last.
      if (this.lastKey !== key) {
        this.entries.delete(key);
        this.entries.set(key, entry);
        this.lastKey = key;
      }
      return entry.roster;
    }
    if (entry) this.drop(key, entry);
    const loading = this.load(ctx, pk);
    const fresh: RosterEntry = { roster: loading, upTo: BigInt(record.id), size: 0 };
    this.entries.set(key, fresh);
    this.lastKey = key;
    loading.then(
      (roster) => {
        if (this.entries.get(key) !== fresh) return;
        fresh.roster = roster;
        fresh.size = roster.size;
        this.members += roster.size;
        this.evict();
      },
      () => this.entries.get(key) === fresh && this.entries.delete(key),
    );
    return loading;
  }

  /**
   * The members who have not read up to the reminded message (`record`, a reminder): read once when
   * the first subscriber is told of it, then kept current by the reads the stream carries (`saw`),
   * so a member who read it before resuming is not reminded on replay.
   */
  async unreadOf(ctx: RequestContext, pk: string, record: EventRecord): Promise<ReadonlySet<string>> {
    const key = `${ctx.caller.corpId}:${record.id}`;
    let entry = touch(this.unread, key);
    if (!entry) {
      const seq = Number(record.data?.seq);
      const members = ctx.db
        .rows<{ id: string }>(`SELECT member_id::text AS id FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND read_seq < $3`, [
          pk,
          String(seq),
        ])
        .then((rows) => new Set(rows.map((r) => r.id)));
      entry = { conversationPk: pk, seq, members };
      this.unread.set(key, entry);
      members.catch(() => this.unread.delete(key));
      // Reminders are rare (one per message per 10 minutes): the 100 most recently used are kept.
      if (this.unread.size > 100) this.unread.delete(this.unread.keys().next().value!);
    }
    return entry.members;
  }

  /**
   * Whether an app acting on its own reads `pk` (`ConversationService.find`), shared by its
   * subscriptions with the same scopes and visibility: read again after `ttlMs` (its visibility or a
   * member's department may have changed, which the messages stream does not carry) and after a
   * membership change or update of the conversation.
   */
  appAccess(ctx: RequestContext, pk: string, record: EventRecord, ttlMs: number): boolean | Promise<boolean> {
    const key = `${ctx.caller.corpId}:${ctx.caller.appId}:${directoryAudience(ctx.caller)}:${pk}`;
    const now = Date.now();
    const entry = touch(this.access, key);
    if (entry && now - entry.at < ttlMs && (this.changes.get(`${ctx.caller.corpId}:${pk}`) ?? -1n) <= entry.upTo) return entry.value;
    ctx.resetLoaders();
    const value = ctx.services.conversations.find(ctx, pk).then((view) => {
      if (this.access.get(key) === fresh) fresh.value = !!view;
      return !!view;
    });
    const fresh: AccessEntry = { value, at: now, upTo: BigInt(record.id) };
    this.access.set(key, fresh);
    value.catch(() => this.access.get(key) === fresh && this.access.delete(key));
    if (this.access.size > 10_000) this.access.delete(this.access.keys().next().value!);
    return value;
  }

  private async load(ctx: RequestContext, pk: string): Promise<Roster> {
    const rows = await ctx.db.rows<{ id: string; muted: boolean }>(
      `SELECT member_id::text AS id, muted FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2`,
      [pk],
    );
    return new Map(rows.map((r) => [r.id, r.muted]));
  }

  private drop(key: string, entry: RosterEntry): void {
    this.entries.delete(key);
    this.members -= entry.size;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.members <= this.maxMembers || this.entries.size <= 1) return;
      this.drop(key, entry);
    }
  }
}

/**
 * The `messages` stream of the caller's corp as a subscription (issue 14): from a cursor (`after`:
 * replay, then live) or live only, for one conversation or all of the caller's. An event is
 * delivered when the caller takes part in its conversation now (a member belongs to it, an app
 * created it or reads it through its visibility: `ConversationService.find`), or when it is
 * addressed to the caller alone (their settings, their removal from a group). A member's
 * membership, and whether they muted the conversation (`notify: false`), come from the process's
 * `Rosters`, kept current by the membership and settings events the same ordered stream carries;
 * an app's access is read once per conversation (and again after such events, and at each
 * re-check). Like `directoryEvents`, the token is checked again at most every
 * SUBSCRIPTION_RECHECK_SECONDS. While the member's do-not-disturb window applies (at `clock`'s now;
 * the window is read when the stream starts and at each re-check), every event is delivered with
 * `notify: false` too.
 *
 * The stream is a `LiveStream`: over graphql-ws the fan-out serves it, executing the selection once
 * per event for every group of subscribers with the same document, scopes and visibility (and the
 * same subscriber, when the selection reads a field in `VIEWER_DEPENDENT_FIELDS`), per value of
 * `notify`. Iterated directly, it is this subscriber's own, with the same filter.
 */
export class MessageEventService {
  readonly rosters = new Rosters();

  constructor(public clock: Clock) {}

  /**
   * `selected`: every field name the subscription's document selects (`documentFieldNames`), to
   * know whether its result depends on who the subscriber is.
   */
  async stream(
    ctx: RequestContext,
    conversationPk: string | null,
    after: string | null | undefined,
    selected: ReadonlySet<string>,
  ): Promise<AsyncIterableIterator<MessageEventDelivery>> {
    let from: bigint | null = null;
    if (after != null) {
      if (!/^(0|[1-9][0-9]{0,18})$/.test(after)) throw badInput("after", "after must be a cursor received from messageEvents.");
      from = BigInt(after);
    }
    if (conversationPk !== null) await ctx.services.conversations.getReadable(ctx, conversationPk, "conversationId");
    const corpId = ctx.caller.corpId;
    const memberPk = ctx.caller.member?.id ?? null;
    const toMe = memberPk !== null ? memberAudience(memberPk) : appAudience(ctx.caller.appId);
    const perViewer = [...selected].some((name) => VIEWER_DEPENDENT_FIELDS.has(name));
    const clock = this.clock;
    const rosters = this.rosters;
    const recheckMs = ctx.deps.config.subscriptionRecheckSeconds * 1000;

    let quiet: DoNotDisturbWindow | null = memberPk ? await ctx.services.doNotDisturb.findForStream(ctx, memberPk) : null;
    // Whether the window applies, worked out once a minute (it is in whole minutes).
    let quietAt = -1;
    let quietNow = false;
    const isQuiet = () => {
      if (!quiet) return false;
      const minute = Math.floor(clock.now().getTime() / 60_000);
      if (minute !== quietAt) {
        quietAt = minute;
        quietNow = inDoNotDisturb(quiet, clock.now());
      }
      return quietNow;
    };
    // Subscribers who take part in the conversation and those told only of their own part in it (a
    // removal, their settings) see its conversation and messages differently: two variants, as are
    // `notify` true and false. Each is executed as one of its subscribers (`fanout/hub.ts`); a
    // member's part, decided here from the roster as of the event, travels in the root
    // (`participant`), so the execution does not depend on that subscriber's membership by then.
    const deliveryOf = (record: EventRecord, pk: string, participant: boolean, notify: boolean): Delivery => ({
      root: { record, conversationPk: pk, notify, participant } satisfies MessageEventDelivery,
      variant: `${participant ? "in" : "out"}:${notify ? "notify" : "quiet"}`,
    });

    // The first event this stream is given (see `Rosters.get`).
    let floor: bigint | null = null;
    const deliver = (principal: Principal, record: EventRecord, live: { floor: bigint } | null): Delivery | null | Promise<Delivery | null> => {
      const pk = conversationOf(record);
      floor ??= BigInt(record.id);
      rosters.saw(corpId, pk, record);
      if (conversationPk !== null && pk !== conversationPk) return null;
      // An APP conversation's events name its app and member: a bystander skips them without loading the conversation.
      const app = record.data?.appConversation as { appId: string; memberId: string } | undefined;
      if (app && (memberPk !== null ? app.memberId !== memberPk : app.appId !== principal.appId)) return null;
      const mine = record.audience.includes(toMe);
      const toConversation = record.audience.includes(conversationAudience(pk));
      if (!mine && !toConversation) return null;
      if (memberPk === null) {
        // An app's subscribers are grouped per app (`audience`); its access is checked again when executed.
        if (mine) return deliveryOf(record, pk, false, true);
        if (record.type === MessageEventType.MESSAGE_REMINDED) return null;
        const reads = rosters.appAccess(ctx, pk, record, recheckMs);
        const decide = (yes: boolean) => (yes ? deliveryOf(record, pk, false, true) : null);
        return reads instanceof Promise ? reads.then(decide) : decide(reads);
      }
      const decide = (roster: Roster): Delivery | null | Promise<Delivery | null> => {
        const muted = roster.get(memberPk);
        const takesPart = muted !== undefined;
        if (!mine && !takesPart) return null;
        const delivery = deliveryOf(record, pk, takesPart, !muted && !isQuiet());
        if (record.type !== MessageEventType.MESSAGE_REMINDED) return delivery;
        // A reminder reaches the members other than the sender whose read pointer is below the message's seq.
        if (!takesPart || String(record.data?.senderMemberId) === memberPk) return null;
        return rosters.unreadOf(ctx, pk, record).then((unread) => (unread.has(memberPk) ? delivery : null));
      };
      // Live, the channel's floor (its route has seen every event since); replaying, this stream's own.
      const roster = rosters.get(ctx, pk, record, live ? live.floor : floor);
      return roster instanceof Promise ? roster.then(decide) : decide(roster);
    };

    const recheck = async (c: RequestContext) => {
      // Asked before the first await: the windows of every subscriber re-checked at one event are read in one statement.
      const window = memberPk ? c.services.doNotDisturb.findForStream(c, memberPk) : Promise.resolve(null);
      window.catch(() => undefined); // awaited below unless the token check fails first
      await c.reauthenticate();
      requireScopes(c.caller, MESSAGE_EVENTS_SCOPES);
      quiet = await window;
      quietAt = -1;
    };

    const own = new Repeater<MessageEventDelivery>(async (push, stop) => {
      const source = ctx.deps.relay.stream(corpId, STREAMS.messages, from, () => true);
      let checked = Date.now();
      void stop.then(() => source.return?.());
      try {
        for await (const record of source) {
          if (Date.now() - checked >= recheckMs) {
            await recheck(ctx);
            checked = Date.now();
          }
          const delivery = await deliver(ctx.caller, record, null);
          if (delivery) await push(delivery.root as MessageEventDelivery);
        }
      } finally {
        await source.return?.();
      }
      stop();
    });
    const live: LiveStream<EventRecord> = {
      corpId,
      stream: STREAMS.messages,
      after: from,
      deliver,
      // The conversation filter is an argument, so it is in the group's document key already. An
      // app's subscribers are grouped per app: its access is its own (another app of the same scopes
      // and visibility may have lost a conversation it reads).
      audience: (principal) => {
        const shared = directoryAudience(principal);
        if (!principal.member) return `${shared}\0app:${principal.appId}`;
        return perViewer ? `${shared}\0member:${principal.member.id}` : shared;
      },
      // Who may receive an event: the members of its conversation (its roster) when a live member
      // subscriber follows it (or all conversations), those it names, every app subscriber ("*").
      route: (record, since, held) => {
        const pk = conversationOf(record);
        rosters.saw(corpId, pk, record);
        const named = record.audience.filter((a) => a.startsWith(MEMBER_PREFIX));
        const app = record.data?.appConversation as { memberId: string } | undefined;
        if (app) return [memberAudience(String(app.memberId)), ...named];
        if (!record.audience.includes(conversationAudience(pk))) return named;
        if (!held(ALL_CONVERSATIONS) && !held(conversationAudience(pk))) return named;
        const roster = rosters.get(ctx, pk, record, since);
        const keysOf = (r: Roster) => (named.length ? [...named, ...rosterKeys(r)] : rosterKeys(r));
        return roster instanceof Promise ? roster.then(keysOf) : keysOf(roster);
      },
      keys: (principal) =>
        principal.member ? [memberAudience(principal.member.id), conversationPk !== null ? conversationAudience(conversationPk) : ALL_CONVERSATIONS] : ["*"],
      recheck,
      positionArgs: ["after"],
    };
    return liveStream(own, live);
  }
}
