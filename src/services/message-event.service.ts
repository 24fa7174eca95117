import { Repeater } from "@repeaterjs/repeater";
import type { RequestContext } from "../context";
import type { EventRecord } from "../entities/event.entity";
import { badInput } from "../errors/domain-error";
import { STREAMS } from "../events/log";
import { MessageEventType } from "../domain/enums";
import { requireScopes } from "../policy/require";
import type { Scope } from "../policy/scopes";
import { appAudience, conversationAudience, memberAudience } from "./conversation.service";
import { inDoNotDisturb, type DoNotDisturbWindow } from "../domain/messaging";
import type { Clock } from "./clock";

/**
 * The scopes a messages event stream needs: declared on `messageEvents` (`@Authorized`, checked when
 * it subscribes) and checked again, by the same policy function, at each re-check of the token.
 */
export const MESSAGE_EVENTS_SCOPES: readonly Scope[] = ["messages:read"];

/** A messages event with what the caller's filter decided: the conversation it is about and whether to notify. */
export interface MessageEventDelivery {
  record: EventRecord;
  conversationPk: string;
  notify: boolean;
}

const CONVERSATION_PREFIX = "conversation:";

/** The conversation an event of the messages stream is about (every event names it in its audience or as its subject). */
export function conversationOf(record: EventRecord): string {
  const tagged = record.audience.find((a) => a.startsWith(CONVERSATION_PREFIX));
  if (tagged) return tagged.slice(CONVERSATION_PREFIX.length);
  return String(record.data?.conversationId ?? record.subjectId);
}

/**
 * The `messages` stream of the caller's corp as a subscription (issue 14): from a cursor (`after`:
 * replay, then live) or live only, for one conversation or all of the caller's. An event is
 * delivered when the caller takes part in its conversation now (a member belongs to it, an app
 * created it: `policy/messaging.ts`), or when it is addressed to the caller alone (their settings,
 * their removal from a group). Whether a member takes part, and has muted the conversation
 * (`notify: false`), is read once per conversation and read again after each membership or
 * settings event of that conversation, which the same ordered stream carries. Like
 * `directoryEvents`, the token is checked again at most every SUBSCRIPTION_RECHECK_SECONDS. While
 * the member's do-not-disturb window applies (at `clock`'s now; the window is read when the stream
 * starts and at each re-check), every event is delivered with `notify: false` too.
 */
export class MessageEventService {
  constructor(public clock: Clock) {}

  /** A reminder reaches the members other than the sender whose read pointer is below the message's seq, when it is delivered. */
  private async remindsMe(ctx: RequestContext, conversationPk: string, record: EventRecord): Promise<boolean> {
    const member = ctx.caller.member;
    if (!member || String(record.data?.senderMemberId) === member.id) return false;
    const row = await ctx.db.one(`SELECT 1 FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3 AND read_seq < $4`, [
      conversationPk,
      member.id,
      String(record.data?.seq),
    ]);
    return row !== undefined;
  }

  /** The conversations the member belongs to now. */
  private async memberships(ctx: RequestContext, memberPk: string): Promise<Set<string>> {
    const rows = await ctx.db.rows<{ id: string }>(`SELECT conversation_id::text AS id FROM conversation_member WHERE corp_id = $1 AND member_id = $2`, [
      memberPk,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  async stream(ctx: RequestContext, conversationPk: string | null, after: string | null | undefined): Promise<AsyncIterableIterator<MessageEventDelivery>> {
    let from: bigint | null = null;
    if (after != null) {
      if (!/^(0|[1-9][0-9]{0,18})$/.test(after)) throw badInput("after", "after must be a cursor received from messageEvents.");
      from = BigInt(after);
    }
    if (conversationPk !== null) await ctx.services.conversations.get(ctx, conversationPk, "conversationId");
    const access = new Map<string, { takesPart: boolean; muted: boolean }>();
    const memberPk = ctx.caller.member?.id ?? null;
    let quiet: DoNotDisturbWindow | null = memberPk ? await ctx.services.doNotDisturb.find(ctx, memberPk) : null;
    // A member's conversations, read once (and at each re-check), then kept by the stream's own
    // membership events: an event of a conversation they are not in is skipped without loading it.
    let mine = memberPk ? await this.memberships(ctx, memberPk) : null;
    const accessOf = async (pk: string) => {
      let known = access.get(pk);
      if (!known) {
        // `find`: takes part now (a member belongs to it; an app created it, and reaches an APP conversation's member).
        const view = await ctx.services.conversations.find(ctx, pk);
        known = { takesPart: !!view, muted: view?.viewer?.muted ?? false };
        access.set(pk, known);
      }
      return known;
    };
    const source = ctx.deps.relay.stream(ctx.caller.corpId, STREAMS.messages, from, () => true);
    const recheckMs = ctx.deps.config.subscriptionRecheckSeconds * 1000;
    let checked = Date.now();
    return new Repeater<MessageEventDelivery>(async (push, stop) => {
      void stop.then(() => source.return?.());
      try {
        for await (const record of source) {
          if (Date.now() - checked >= recheckMs) {
            await ctx.reauthenticate();
            requireScopes(ctx.caller, MESSAGE_EVENTS_SCOPES);
            checked = Date.now();
            access.clear();
            quiet = memberPk ? await ctx.services.doNotDisturb.find(ctx, memberPk) : null;
            mine = memberPk ? await this.memberships(ctx, memberPk) : null;
          }
          const pk = conversationOf(record);
          if (conversationPk !== null && pk !== conversationPk) continue;
          // An APP conversation's events name its app and member: a bystander skips them without loading the conversation.
          const app = record.data?.appConversation as { appId: string; memberId: string } | undefined;
          if (app && (ctx.caller.member ? app.memberId !== ctx.caller.member.id : app.appId !== ctx.caller.appId)) continue;
          if (record.type === MessageEventType.MEMBERSHIP_CHANGED || record.type === MessageEventType.SETTINGS_CHANGED) access.delete(pk);
          const member = ctx.caller.member;
          const toMe = member !== null ? record.audience.includes(memberAudience(member.id)) : record.audience.includes(appAudience(ctx.caller.appId));
          if (mine && memberPk) {
            const named = (list: unknown) => Array.isArray(list) && list.map(String).includes(memberPk);
            const data = record.data ?? {};
            const created = record.type === MessageEventType.CONVERSATION_CREATED;
            if ((created && named(data.memberIds)) || (record.type === MessageEventType.MEMBERSHIP_CHANGED && named(data.added))) mine.add(pk);
            // A creation logged without its members (before they were) is checked by loading the conversation.
            if (!mine.has(pk) && !toMe && !(created && data.memberIds === undefined && !app)) continue;
          }
          const known = await accessOf(pk);
          if (record.type === MessageEventType.MESSAGE_REMINDED && !(known.takesPart && (await this.remindsMe(ctx, pk, record)))) continue;
          if (toMe || (known.takesPart && record.audience.includes(conversationAudience(pk)))) {
            await push({ record, conversationPk: pk, notify: !known.muted && !(quiet && inDoNotDisturb(quiet, this.clock.now())) });
          }
        }
      } finally {
        await source.return?.();
      }
      stop();
    });
  }
}
