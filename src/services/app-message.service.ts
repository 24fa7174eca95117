import { createHash, randomUUID } from "node:crypto";
import type { RequestContext } from "../context";
import { STREAMS } from "../events/log";
import { Message } from "../entities/message.entity";
import { hydrate, selectList } from "../db/scoped-db";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { badInput, limitExceeded } from "../errors/domain-error";
import { ConversationKind, MessageEventType } from "../domain/enums";
import {
  MAX_APP_MESSAGE_DEPARTMENT_IDS,
  MAX_APP_MESSAGE_MEMBER_IDS,
  MAX_APP_MESSAGE_RECIPIENTS,
  MAX_DEDUPE_SECONDS,
  normaliseContent,
  type MessageContentInput,
} from "../domain/messaging";
import { requireAppCaller } from "../policy/messaging";
import { memberVisibleSql, visibleSql } from "../policy/sql";
import { conversationAudience } from "./conversation.service";
import { digestOf, type MessageView } from "./message.service";
import type { Clock } from "./clock";

/** Whom an app message goes to: members, departments (with their sub-departments), or every member the app sees. */
export interface AppMessageAudience {
  memberPks: string[];
  departmentPks: string[];
  all: boolean;
}

export interface SendAppMessageData {
  to: AppMessageAudience;
  content: MessageContentInput;
  dedupeSeconds: number;
}

/**
 * One `sendAppMessage` call as its payload shows it. Its messages share the sender (the app), the
 * `clientMessageId` (`sendAppMessage <uuid>`: a space, which a client's key cannot hold) and the
 * digest of (app, audience, content), and are listed through them.
 */
export interface AppMessageSend {
  appPk: string;
  clientMessageId: string;
  digest: string;
  messageCount: number;
  deduplicated: boolean;
  invalidMemberPks: string[];
  invalidDepartmentPks: string[];
}

/** The get-or-create key of the APP conversation of (app, member), kept in `conversation.direct_key` (unique per corp). */
export const appConversationKey = (appPk: string, memberPk: string) => `app:${appPk}:${memberPk}`;

const byNumber = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
const distinctSorted = (pks: readonly string[]) => [...new Set(pks)].sort(byNumber);

/**
 * App messages (issue 14 item 3; WeCom's message/send): an app delivers one message into the APP
 * conversation of each recipient (one per (app, member), created on first use; the app is its
 * sender). Recipients are members named singly, members of the departments named (with their
 * sub-departments) or every member (`all`), ACTIVE and within the app's visibility; ids that name
 * no such member or department are reported back, not a failure. The whole send is one
 * transaction of a constant number of statements, whatever the number of recipients (set-based
 * SQL). A repeat of the same content to the same audience within `dedupeSeconds` returns the
 * original send: the digest of (app, audience, content) is locked (a transaction-level advisory
 * lock) before it is looked up, so concurrent repeats are serialised and only the first one sends.
 */
export class AppMessageService {
  constructor(public clock: Clock) {}

  async send(ctx: RequestContext, data: SendAppMessageData): Promise<AppMessageSend> {
    const appPk = requireAppCaller(ctx.caller, "send app messages (sendAppMessage)");
    const dedupeSeconds = data.dedupeSeconds;
    if (!Number.isInteger(dedupeSeconds) || dedupeSeconds < 0 || dedupeSeconds > MAX_DEDUPE_SECONDS) {
      throw badInput(
        "input.dedupeSeconds",
        `input.dedupeSeconds must be a whole number of seconds from 0 to ${MAX_DEDUPE_SECONDS.toLocaleString("en-US")} (4 hours).`,
      );
    }
    if (data.to.memberPks.length > MAX_APP_MESSAGE_MEMBER_IDS) {
      throw limitExceeded(
        `Name at most ${MAX_APP_MESSAGE_MEMBER_IDS.toLocaleString("en-US")} members per call; this one names ${data.to.memberPks.length.toLocaleString("en-US")}.`,
        {
          field: "input.to.memberIds",
          maximum: MAX_APP_MESSAGE_MEMBER_IDS,
        },
      );
    }
    if (data.to.departmentPks.length > MAX_APP_MESSAGE_DEPARTMENT_IDS) {
      throw limitExceeded(`Name at most ${MAX_APP_MESSAGE_DEPARTMENT_IDS} departments per call; this one names ${data.to.departmentPks.length}.`, {
        field: "input.to.departmentIds",
        maximum: MAX_APP_MESSAGE_DEPARTMENT_IDS,
      });
    }
    const audience = { all: data.to.all, memberPks: distinctSorted(data.to.memberPks), departmentPks: distinctSorted(data.to.departmentPks) };
    if (!audience.all && !audience.memberPks.length && !audience.departmentPks.length) {
      throw badInput("input.to", "Name at least one recipient: memberIds, departmentIds, or all: true.");
    }
    const todo = data.content.todo;
    if (todo && todo.assigneePks.length) {
      throw badInput(
        "input.message.todo.assigneeIds",
        "An app message's to-do is assigned to each recipient in their own conversation: leave assigneeIds empty.",
      );
    }
    const now = this.clock.now();
    // A to-do is checked with a stand-in assignee; each recipient's copy names the recipient.
    const { kind, content } = normaliseContent(todo ? { ...data.content, todo: { ...todo, assigneePks: ["0"] } } : data.content, now, "input.message");
    const digest = createHash("sha256")
      .update(JSON.stringify(["sendAppMessage", appPk, audience, kind, content]))
      .digest("hex");

    await ctx.db.exec(`SELECT pg_advisory_xact_lock(hashtextextended('app-message:' || $1::text || ':' || $2::text, 0))`, [digest]);
    if (dedupeSeconds > 0) {
      const original = await ctx.db.one<{ client_message_id: string; n: number }>(
        `SELECT client_message_id, count(*) OVER ()::int AS n FROM message
          WHERE corp_id = $1 AND sender_app_id = $2 AND app_send_digest = $3 AND created_at > $4
            AND client_message_id = (SELECT client_message_id FROM message WHERE corp_id = $1 AND sender_app_id = $2 AND app_send_digest = $3 AND created_at > $4
                                      ORDER BY created_at DESC, id DESC LIMIT 1)
          LIMIT 1`,
        [appPk, digest, new Date(now.getTime() - dedupeSeconds * 1000)],
      );
      if (original) {
        const { invalidMemberPks, invalidDepartmentPks } = await this.recipients(ctx, audience);
        return {
          appPk,
          clientMessageId: original.client_message_id,
          digest,
          messageCount: original.n,
          deduplicated: true,
          invalidMemberPks,
          invalidDepartmentPks,
        };
      }
    }

    const { recipients, invalidMemberPks, invalidDepartmentPks } = await this.recipients(ctx, audience);
    const clientMessageId = `sendAppMessage ${randomUUID()}`;
    const send: AppMessageSend = {
      appPk,
      clientMessageId,
      digest,
      messageCount: recipients.length,
      deduplicated: false,
      invalidMemberPks,
      invalidDepartmentPks,
    };
    if (!recipients.length) return send;

    const keys = recipients.map((memberPk) => appConversationKey(appPk, memberPk));
    // Get or create each recipient's APP conversation (the unique direct_key), with its one member.
    const created = await ctx.db.rows<{ conversation_id: string }>(
      `WITH created AS (
         INSERT INTO conversation (corp_id, kind, created_by_app_id, direct_key, member_count, last_activity_at, created_at, updated_at)
         SELECT $1, 'APP', $2::bigint, k, 1, $4, $4, $4 FROM unnest($3::text[]) AS k ORDER BY k
         ON CONFLICT (corp_id, direct_key) WHERE direct_key IS NOT NULL DO NOTHING
         RETURNING id, direct_key)
       INSERT INTO conversation_member (corp_id, conversation_id, member_id, role, read_seq, joined_at)
       SELECT $1, c.id, split_part(c.direct_key, ':', 3)::bigint, 'MEMBER', 0, $4 FROM created c
       RETURNING conversation_id::text`,
      [appPk, keys, now],
    );
    // Lock the conversations in id order (so concurrent sends cannot deadlock), number the messages, insert them.
    const messages = await ctx.db.rows<{ id: string; conversation_id: string; seq: string; member_id: string }>(
      `WITH locked AS (
         SELECT c.id FROM conversation c WHERE c.corp_id = $1 AND c.direct_key = ANY($2::text[]) ORDER BY c.id FOR UPDATE),
       bumped AS (
         UPDATE conversation c SET last_seq = c.last_seq + 1, last_message_at = $3, last_activity_at = $3
           FROM locked WHERE c.id = locked.id RETURNING c.id, c.last_seq, c.direct_key)
       INSERT INTO message (corp_id, conversation_id, seq, sender_app_id, client_message_id, kind, content, content_digest, app_send_digest, created_at)
       SELECT $1, b.id, b.last_seq, $4, $5, $6::text,
              CASE WHEN $6::text = 'TODO' THEN jsonb_set($7::jsonb, '{assigneeIds}', jsonb_build_array(split_part(b.direct_key, ':', 3))) ELSE $7::jsonb END,
              $8, $9, $3
         FROM bumped b ORDER BY b.id
       RETURNING id::text, conversation_id::text, seq::text, split_part((SELECT b.direct_key FROM bumped b WHERE b.id = conversation_id), ':', 3) AS member_id`,
      [keys, now, appPk, clientMessageId, kind, JSON.stringify(content), digestOf(kind, content), digest],
    );
    // The compliance audit's sensitive words (issue 14 item 8): every copy in one statement, in this transaction.
    await ctx.services.messageAudit.recordMany(
      ctx,
      messages.map((m) => Object.assign(new Message(), { pk: m.id, kind, content })),
    );
    const recipientOf = new Map(messages.map((m) => [m.conversation_id, m.member_id]));
    const memberOf = (conversationPk: string) => recipientOf.get(conversationPk)!;
    for (const { conversation_id } of created) {
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.CONVERSATION_CREATED,
        subjectType: "Conversation",
        subjectId: conversation_id,
        audience: [conversationAudience(conversation_id)],
        data: { kind: ConversationKind.APP, memberCount: 1, appConversation: { appId: appPk, memberId: memberOf(conversation_id) } },
      });
    }
    for (const m of messages) {
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.MESSAGE_ADDED,
        subjectType: "Message",
        subjectId: m.id,
        audience: [conversationAudience(m.conversation_id)],
        data: { conversationId: m.conversation_id, seq: m.seq, kind, appConversation: { appId: appPk, memberId: memberOf(m.conversation_id) } },
      });
    }
    return send;
  }

  /**
   * The members an audience reaches (ACTIVE, within the caller's visibility; departments with their
   * sub-departments), in id order, and the ids named that reach nothing: members that do not exist
   * in the corp, are not ACTIVE or are outside the visibility; departments that do not exist or are
   * outside it. One statement. Past MAX_APP_MESSAGE_RECIPIENTS members: LIMIT_EXCEEDED on `input.to`.
   */
  private async recipients(ctx: RequestContext, audience: AppMessageAudience) {
    const params = new SqlParams();
    const members = params.add(audience.memberPks);
    const departments = params.add(audience.departmentPks);
    const all = params.add(audience.all);
    const row = await ctx.db.one<{ recipients: string[]; members: string[]; departments: string[] }>(
      `WITH ok_m AS (
         SELECT m.id FROM member m WHERE m.corp_id = $1 AND m.id = ANY(${members}::bigint[]) AND m.status = 'ACTIVE' AND ${memberVisibleSql(ctx.caller, params, "m")}),
       ok_d AS (
         SELECT d.id, d.path FROM department d WHERE d.corp_id = $1 AND d.id = ANY(${departments}::bigint[]) AND ${visibleSql(ctx.caller, params, "d.path")}),
       recipients AS (
         SELECT id FROM ok_m
         UNION
         SELECT md.member_id FROM ok_d JOIN department s ON s.corp_id = $1 AND s.path LIKE ok_d.path || '%'
           JOIN member_department md ON md.corp_id = $1 AND md.department_id = s.id
           JOIN member m ON m.id = md.member_id AND m.status = 'ACTIVE'
         UNION
         SELECT m.id FROM member m WHERE ${all}::boolean AND m.corp_id = $1 AND m.status = 'ACTIVE' AND ${memberVisibleSql(ctx.caller, params, "m")})
       SELECT ARRAY(SELECT id::text FROM recipients ORDER BY id LIMIT ${MAX_APP_MESSAGE_RECIPIENTS + 1}) AS recipients,
              ARRAY(SELECT id::text FROM ok_m) AS members, ARRAY(SELECT id::text FROM ok_d) AS departments`,
      params.values,
    );
    const { recipients, members: okMembers, departments: okDepartments } = row!;
    if (recipients.length > MAX_APP_MESSAGE_RECIPIENTS) {
      throw limitExceeded(
        `An app message reaches at most ${MAX_APP_MESSAGE_RECIPIENTS.toLocaleString("en-US")} members per call; this audience holds more. Split it (departments, or pages of memberIds).`,
        { field: "input.to", maximum: MAX_APP_MESSAGE_RECIPIENTS },
      );
    }
    const okM = new Set(okMembers);
    const okD = new Set(okDepartments);
    return {
      recipients,
      invalidMemberPks: audience.memberPks.filter((pk) => !okM.has(pk)),
      invalidDepartmentPks: audience.departmentPks.filter((pk) => !okD.has(pk)),
    };
  }

  /** The messages of a send (its sender, key and digest), by id: one per recipient. */
  async messages(ctx: RequestContext, send: AppMessageSend, window: PageWindow): Promise<Connection<MessageView>> {
    const params = new SqlParams();
    const page = await paginate<Record<string, unknown>, MessageView>(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Message, "m"),
      from: "message m",
      where: `m.corp_id = $1 AND m.sender_app_id = ${params.add(send.appPk)} AND m.app_send_digest = ${params.add(send.digest)} AND m.client_message_id = ${params.add(send.clientMessageId)}`,
      params,
      key: [{ sql: "m.id", cast: "bigint" }],
      keyOf: (m) => [m.pk],
      map: (row) => hydrate(Message, row) as MessageView,
    });
    await ctx.services.messages.withState(ctx, page.nodes);
    return page;
  }
}
