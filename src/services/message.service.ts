import { createHash } from "node:crypto";
import type { RequestContext } from "../context";
import { STREAMS } from "../events/log";
import { Message } from "../entities/message.entity";
import { hydrate, selectList } from "../db/scoped-db";
import DataLoader from "dataloader";
import { byWindow, keyset, paginate, toConnection, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { badInput, conflict, forbidden, limitExceeded, notFound } from "../errors/domain-error";
import { FormFieldType, MessageEventType, MessageKind } from "../domain/enums";
import {
  CLIENT_MESSAGE_ID,
  RECALL_WINDOW_MS,
  REMIND_INTERVAL_MS,
  checkChoices,
  normaliseAnswers,
  normaliseContent,
  type FormAnswerInput,
  type FormContentData,
  type MessageContentInput,
  type TodoContentData,
  type VoteContentData,
} from "../domain/messaging";
import { isSender, requireMemberCaller } from "../policy/messaging";
import { conversationAudience } from "./conversation.service";
import type { Clock } from "./clock";

/** The answers to an interactive message as the caller sees them (read with the message). */
export interface MessageState {
  /** VOTE: ballots per option (by index), how many voted, the caller's own choice. */
  vote?: { tallies: number[]; voters: number; mine: number[] | null };
  /** TODO: when each assignee who is done completed it, by member id. */
  todo?: { doneAt: Map<string, Date> };
  /** FORM: how many submitted, the caller's own answers. */
  form?: { submissions: number; mine: Array<Record<string, unknown>> | null };
}

/** A message with its interactive state. */
export type MessageView = Message & { state: MessageState };

/** Who has read a message, for its sender: the other members whose read pointer reached it, and those whose did not. */
export interface ReadReceiptData {
  message: Message;
  readCount: number;
  unreadCount: number;
}

/** The results of a form, for its sender: the message and how many submitted it. */
export interface FormResultsData {
  message: MessageView;
  submissionCount: number;
}

/** One submission of a form as its sender reads it. */
export interface FormSubmissionRow {
  memberPk: string;
  /** `{ field, text | number | choices }`, one per answered field, by field. */
  answers: Array<Record<string, unknown>>;
  submittedAt: Date;
}

/** One field of a form summed up over its submissions. */
export interface FormFieldSummaryData {
  fieldIndex: number;
  label: string;
  type: FormFieldType;
  answerCount: number;
  /** Choice fields: submissions per option, by index (empty for others). */
  options: Array<{ index: number; text: string; count: number }>;
  min: number | null;
  max: number | null;
  average: number | null;
}

/** One page of one form's submissions (the submission pages loader's key). */
interface SubmissionPageKey {
  messagePk: string;
  window: PageWindow;
}

export interface SendMessageData {
  conversationPk: string;
  clientMessageId: string;
  content: MessageContentInput;
  /** A group robot posting (issue 14, item 7; `GroupBotService`, which checked the robot and its group): the robot is the sender. */
  botPk?: string;
}

const INTERACTIVE = new Set<string>([MessageKind.VOTE, MessageKind.TODO, MessageKind.FORM]);

/** The digest that tells a repeated send from a different one: SHA-256 of the kind and the normalised content. */
export function digestOf(kind: MessageKind, content: Record<string, unknown>): string {
  return createHash("sha256")
    .update(JSON.stringify([kind, content]))
    .digest("hex");
}

/**
 * Messages (issue 14, source §2): numbered per conversation under the conversation row's lock,
 * idempotent per (sender, conversation, clientMessageId), recalled by their sender within 24 hours,
 * and the one-per-member answers of votes, to-dos and forms (primary keys, so a concurrent repeat
 * counts once). Every write appends its event to the `messages` stream in the same transaction.
 */
export class MessageService {
  constructor(public clock: Clock) {}

  /**
   * A message in a conversation the caller may read (`ConversationService.find`), or undefined.
   * `participant`: the caller's part in the conversation was decided already (a `messageEvents`
   * event delivered to members of it, by its roster as of the event): not checked again.
   */
  async find(ctx: RequestContext, pk: string, participant = false): Promise<MessageView | undefined> {
    const [message] = await ctx.db.entities(
      Message,
      `SELECT ${selectList(ctx.deps.dataSource, Message, "m")} FROM message m WHERE m.corp_id = $1 AND m.id = $2`,
      [pk],
    );
    if (!message || !(participant || (await ctx.services.conversations.find(ctx, message.conversationId)))) return undefined;
    return (await this.withState(ctx, [message]))[0];
  }

  async get(ctx: RequestContext, pk: string, field: string): Promise<MessageView> {
    const message = await this.find(ctx, pk);
    if (!message) throw notFound("Message", field);
    return message;
  }

  /**
   * A conversation's messages by `seq` (keyset on seq: `first`/`after` forwards, `last`/`before`
   * backwards), with where its history starts (`historyPurgedBefore`). An `after` cursor older than
   * the retention job's last purge would skip purged messages: BAD_USER_INPUT on `after` instead.
   */
  async list(ctx: RequestContext, conversationPk: string, window: PageWindow): Promise<Connection<MessageView> & { historyPurgedBefore: Date | null }> {
    const conversation = await ctx.services.conversations.getReadable(ctx, conversationPk, "conversationId");
    if (window.after && BigInt(window.after[0]) < BigInt(conversation.purgedSeq)) {
      throw badInput(
        "after",
        `The history of this conversation before ${conversation.historyPurgedBefore!.toISOString()} was purged (messages are kept 90 days): messages after this cursor up to seq ${conversation.purgedSeq} are gone. Start again without after (the oldest kept message comes first).`,
      );
    }
    const params = new SqlParams();
    const page = await paginate<Record<string, unknown>, MessageView>(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Message, "m"),
      from: "message m",
      where: `m.corp_id = $1 AND m.conversation_id = ${params.add(conversation.pk)}`,
      params,
      key: [{ sql: "m.seq", cast: "bigint" }],
      keyOf: (m) => [m.seq],
      map: (row) => hydrate(Message, row) as MessageView,
    });
    await this.withState(ctx, page.nodes);
    return Object.assign(page, { historyPurgedBefore: conversation.historyPurgedBefore });
  }

  /**
   * Sends a message. A repeat of (sender, conversation, clientMessageId) with the same content
   * returns the original message (nothing new is written); with other content it is CONFLICT.
   */
  async send(ctx: RequestContext, data: SendMessageData): Promise<MessageView> {
    if (typeof data.clientMessageId !== "string" || !CLIENT_MESSAGE_ID.test(data.clientMessageId)) {
      throw badInput("input.clientMessageId", "input.clientMessageId must be 1–64 visible ASCII characters (e.g. a UUID).");
    }
    const now = this.clock.now();
    const { kind, content } = normaliseContent(data.content, now);
    // The conversation row's lock orders sends: the repeat check below and the seq are then safe.
    const conversation = data.botPk
      ? (await ctx.services.conversations.load(ctx, data.conversationPk, true))!
      : await ctx.services.conversations.get(ctx, data.conversationPk, "input.conversationId", true);
    if (kind === MessageKind.TODO) {
      const assignees = (content as unknown as TodoContentData).assigneeIds;
      const found = await ctx.db.one<{ n: number }>(
        `SELECT count(*)::int AS n FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = ANY($3::bigint[])`,
        [conversation.pk, assignees],
      );
      if (found?.n !== assignees.length) throw badInput("input.todo.assigneeIds", "Every assignee must be a member of the conversation.");
    }
    const principal = ctx.caller;
    const senderColumn = data.botPk ? "sender_bot_id" : principal.member ? "sender_member_id" : "sender_app_id";
    const senderPk = data.botPk ?? (principal.member ? principal.member.id : principal.appId);
    const digest = digestOf(kind, content);
    const cols = selectList(ctx.deps.dataSource, Message, "m");
    const [existing] = await ctx.db.entities(
      Message,
      `SELECT ${cols} FROM message m WHERE m.corp_id = $1 AND m.conversation_id = $2 AND m.${senderColumn} = $3 AND m.client_message_id = $4`,
      [conversation.pk, senderPk, data.clientMessageId],
    );
    if (existing) {
      if (existing.contentDigest !== digest) {
        throw conflict("This clientMessageId was already used for a different message in this conversation.", "input.clientMessageId");
      }
      return (await this.withState(ctx, [existing]))[0];
    }
    const seq = await ctx.db.one<{ seq: string }>(
      `UPDATE conversation SET last_seq = last_seq + 1, last_message_at = $3, last_activity_at = $3 WHERE corp_id = $1 AND id = $2 RETURNING last_seq::text AS seq`,
      [conversation.pk, now],
    );
    const [message] = await ctx.db.entities(
      Message,
      `INSERT INTO message AS m (corp_id, conversation_id, seq, ${senderColumn}, client_message_id, kind, content, content_digest, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) RETURNING ${cols}`,
      [conversation.pk, seq!.seq, senderPk, data.clientMessageId, kind, JSON.stringify(content), digest, now],
    );
    if (principal.member) {
      // What you send you have read: your read pointer moves to your message.
      await ctx.db.exec(`UPDATE conversation_member SET read_seq = $4 WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3 AND read_seq < $4`, [
        conversation.pk,
        principal.member.id,
        message.seq,
      ]);
    }
    ctx.emit(STREAMS.messages, {
      type: MessageEventType.MESSAGE_ADDED,
      subjectType: "Message",
      subjectId: message.pk,
      audience: [conversationAudience(conversation.pk)],
      data: { conversationId: conversation.pk, seq: message.seq, kind },
    });
    // The compliance audit's sensitive words (issue 14, item 8), recorded in this transaction.
    await ctx.services.messageAudit.record(ctx, message);
    // Group robots' keyword auto-replies (issue 14, item 7): in this transaction, after this message.
    await ctx.services.groupBots.autoReply(ctx, conversation, message);
    return (await this.withState(ctx, [message]))[0];
  }

  /**
   * The sender (the member, or the app that sent it) recalls a message within 24 hours of sending
   * (else LIMIT_EXCEEDED): it keeps its seq and place, its content is gone for everyone. Recalling
   * it again changes nothing.
   */
  async recall(ctx: RequestContext, pk: string): Promise<MessageView> {
    const message = await this.get(ctx, pk, "input.id");
    if (!isSender(ctx.caller, message)) throw forbidden("Only the sender may recall a message.");
    if (message.recalledAt) return message;
    const now = this.clock.now();
    if (now.getTime() - message.createdAt.getTime() > RECALL_WINDOW_MS) {
      throw limitExceeded(`A message can be recalled within 24 hours of sending; this one was sent at ${message.createdAt.toISOString()}.`, {
        field: "input.id",
      });
    }
    const updated = await ctx.db.exec(`UPDATE message SET content = '{}'::jsonb, recalled_at = $3 WHERE corp_id = $1 AND id = $2 AND recalled_at IS NULL`, [
      message.pk,
      now,
    ]);
    if (updated) {
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.MESSAGE_RECALLED,
        subjectType: "Message",
        subjectId: message.pk,
        audience: [conversationAudience(message.conversationId)],
        data: { conversationId: message.conversationId, seq: message.seq },
      });
    }
    return this.get(ctx, pk, "input.id");
  }

  /**
   * The sender reminds the members who have not read the message yet (source §2: one-click
   * reminders): a MESSAGE_REMINDED event that `messageEvents` delivers to them only. At most once
   * every 10 minutes per message (else LIMIT_EXCEEDED); returns how many members it reminded.
   */
  async remindUnread(ctx: RequestContext, pk: string): Promise<{ message: MessageView; reminded: number }> {
    const message = await this.get(ctx, pk, "input.messageId");
    if (!isSender(ctx.caller, message)) throw forbidden("Only the sender may remind the members who have not read a message.");
    if (message.recalledAt) throw conflict("The message was recalled.", "input.messageId");
    const now = this.clock.now();
    const claimed = await ctx.db.exec(`UPDATE message SET reminded_at = $3 WHERE corp_id = $1 AND id = $2 AND (reminded_at IS NULL OR reminded_at <= $4)`, [
      message.pk,
      now,
      new Date(now.getTime() - REMIND_INTERVAL_MS),
    ]);
    if (!claimed) {
      // A concurrent reminder may have claimed it after this request read the message: read it again.
      const latest = await ctx.db.one<{ reminded_at: Date | null }>(`SELECT reminded_at FROM message WHERE corp_id = $1 AND id = $2`, [message.pk]);
      const last = latest?.reminded_at ?? message.remindedAt ?? now;
      const next = new Date(last.getTime() + REMIND_INTERVAL_MS);
      throw limitExceeded(`A message's unread members are reminded at most once every 10 minutes; the next reminder is possible at ${next.toISOString()}.`, {
        field: "input.messageId",
      });
    }
    const receipt = (await this.readReceipt(ctx, message))!;
    ctx.emit(STREAMS.messages, {
      type: MessageEventType.MESSAGE_REMINDED,
      subjectType: "Message",
      subjectId: message.pk,
      audience: [conversationAudience(message.conversationId)],
      data: { conversationId: message.conversationId, seq: message.seq, senderMemberId: message.senderMemberId },
    });
    return { message, reminded: receipt.unreadCount };
  }

  /** An interactive message of `kind` the caller (a member) may answer: not recalled. */
  private async answerable(ctx: RequestContext, pk: string, kind: MessageKind, what: string): Promise<{ message: MessageView; memberPk: string }> {
    const memberPk = requireMemberCaller(ctx.caller, what);
    const message = await this.get(ctx, pk, "input.messageId");
    if (message.kind !== kind) throw badInput("input.messageId", `This message is not a ${kind} message.`);
    if (message.recalledAt) throw conflict("The message was recalled.", "input.messageId");
    return { message, memberPk };
  }

  /** One ballot per member and vote (a second one, concurrent or not, is CONFLICT); not after the vote closed. */
  async castVote(ctx: RequestContext, pk: string, options: number[]): Promise<MessageView> {
    const { message, memberPk } = await this.answerable(ctx, pk, MessageKind.VOTE, "vote");
    const vote = message.content as unknown as VoteContentData;
    const now = this.clock.now();
    if (vote.closesAt && now.getTime() >= Date.parse(vote.closesAt)) throw conflict(`The vote closed at ${vote.closesAt}.`, "input.messageId");
    if (vote.multiple ? options.length < 1 : options.length !== 1) {
      throw badInput("input.options", vote.multiple ? "Choose at least one option." : "This vote takes exactly one option.");
    }
    checkChoices(options, vote.options.length, "input.options");
    const cast = await ctx.db.exec(
      `INSERT INTO message_ballot (corp_id, message_id, member_id, options, cast_at) VALUES ($1, $2, $3, $4::int[], $5) ON CONFLICT DO NOTHING`,
      [message.pk, memberPk, [...options].sort((a, b) => a - b), now],
    );
    if (!cast) throw conflict("You have already voted on this message.", "input.messageId");
    this.emitAnswer(ctx, message, MessageEventType.VOTE_UPDATED, memberPk);
    return this.get(ctx, pk, "input.messageId");
  }

  /** An assignee marks the to-do done for themselves; doing it again changes nothing. */
  async completeTodo(ctx: RequestContext, pk: string): Promise<MessageView> {
    const { message, memberPk } = await this.answerable(ctx, pk, MessageKind.TODO, "complete a to-do");
    if (!(message.content as unknown as TodoContentData).assigneeIds.includes(memberPk)) throw forbidden("Only the to-do's assignees may complete it.");
    const done = await ctx.db.exec(`INSERT INTO message_todo_done (corp_id, message_id, member_id, done_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      message.pk,
      memberPk,
      this.clock.now(),
    ]);
    if (done) this.emitAnswer(ctx, message, MessageEventType.TODO_UPDATED, memberPk);
    return this.get(ctx, pk, "input.messageId");
  }

  /** One submission per member and form (a second one, concurrent or not, is CONFLICT). */
  async submitForm(ctx: RequestContext, pk: string, answers: FormAnswerInput[]): Promise<MessageView> {
    const { message, memberPk } = await this.answerable(ctx, pk, MessageKind.FORM, "submit a form");
    const normalised = normaliseAnswers(message.content as unknown as FormContentData, answers);
    const submitted = await ctx.db.exec(
      `INSERT INTO message_form_submission (corp_id, message_id, member_id, answers, submitted_at) VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING`,
      [message.pk, memberPk, JSON.stringify(normalised), this.clock.now()],
    );
    if (!submitted) throw conflict("You have already submitted this form.", "input.messageId");
    // The compliance audit reads free-text answers too (issue 14, item 8).
    await ctx.services.messageAudit.recordAnswers(ctx, message, memberPk, normalised);
    this.emitAnswer(ctx, message, MessageEventType.FORM_SUBMITTED, memberPk);
    return this.get(ctx, pk, "input.messageId");
  }

  /**
   * The read receipt of a message, for its sender only (null for anyone else): the other members
   * whose read pointer reached its seq (members who joined after it count as read) and those whose
   * did not. Counted for every message of a page in one statement (`conversation_member_read_idx`).
   */
  async readReceipt(ctx: RequestContext, message: Message): Promise<ReadReceiptData | null> {
    if (!isSender(ctx.caller, message)) return null;
    let loader = this.receipts.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((pks) => this.loadReceipts(ctx, pks));
      this.receipts.set(ctx.loaders, loader);
    }
    return { message, ...(await loader.load(message.pk)) };
  }

  /** The members who have not read the message yet (its sender left out), by member id. */
  unreadMembers(ctx: RequestContext, receipt: ReadReceiptData, window: PageWindow) {
    const { message } = receipt;
    return ctx.services.conversations.unreadMembers(ctx, message.conversationId, { seq: message.seq, exceptMemberPk: message.senderMemberId }, window, () =>
      Promise.resolve(receipt.unreadCount),
    );
  }

  /** Per request (keyed by `ctx.loaders`): read and unread counts by message. */
  private readonly receipts = new WeakMap<object, DataLoader<string, { readCount: number; unreadCount: number }>>();

  private async loadReceipts(ctx: RequestContext, pks: readonly string[]) {
    const rows = await ctx.db.rows<{ id: string; read: number; unread: number }>(
      `SELECT m.id::text AS id,
              (SELECT count(*) FROM conversation_member cm WHERE cm.corp_id = $1 AND cm.conversation_id = m.conversation_id
                  AND cm.read_seq >= m.seq AND cm.member_id IS DISTINCT FROM m.sender_member_id)::int AS read,
              (SELECT count(*) FROM conversation_member cm WHERE cm.corp_id = $1 AND cm.conversation_id = m.conversation_id
                  AND cm.read_seq < m.seq AND cm.member_id IS DISTINCT FROM m.sender_member_id)::int AS unread
         FROM message m WHERE m.corp_id = $1 AND m.id = ANY($2::bigint[])`,
      [pks],
    );
    const byId = new Map(rows.map((r) => [r.id, { readCount: r.read, unreadCount: r.unread }]));
    return pks.map((pk) => byId.get(pk) ?? { readCount: 0, unreadCount: 0 });
  }

  /**
   * The results of a form for its sender only (the member who sent it, or the app that sent it on
   * its own), null for anyone else, as `readReceipt`: the caller may read the message, the results
   * are not theirs. A recalled form has none (its content is gone for everyone, answers included;
   * the submission rows stay, as the compliance audit's hits do).
   */
  formResults(ctx: RequestContext, message: MessageView): FormResultsData | null {
    if (message.kind !== MessageKind.FORM || message.recalledAt || !isSender(ctx.caller, message)) return null;
    return { message, submissionCount: message.state.form?.submissions ?? 0 };
  }

  /**
   * A page of a form's submissions by member id (`message_form_submission_pkey`); the pages asked
   * for several forms of one request come from one statement per window. `totalCount` is the
   * count `withState` read with the message.
   */
  async formSubmissions(ctx: RequestContext, results: FormResultsData, window: PageWindow): Promise<Connection<FormSubmissionRow>> {
    let loader = this.submissionPages.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((keys) => this.loadSubmissionPages(ctx, keys), { cacheKeyFn: (k) => JSON.stringify([k.messagePk, k.window]) });
      this.submissionPages.set(ctx.loaders, loader);
    }
    const rows = await loader.load({ messagePk: results.message.pk, window });
    return toConnection(
      rows,
      window,
      (s) => [s.memberPk],
      () => Promise.resolve(results.submissionCount),
    );
  }

  /** Per request (keyed by `ctx.loaders`): the submission pages loader. */
  private readonly submissionPages = new WeakMap<object, DataLoader<SubmissionPageKey, FormSubmissionRow[], string>>();

  private async loadSubmissionPages(ctx: RequestContext, keys: readonly SubmissionPageKey[]): Promise<FormSubmissionRow[][]> {
    const pages: FormSubmissionRow[][] = keys.map(() => []);
    await Promise.all(
      byWindow(keys).map(async ({ window, slots }) => {
        const params = new SqlParams();
        const source = `unnest(${params.add(slots.map((i) => keys[i].messagePk))}::bigint[], ${params.add(slots.map(String))}::int[]) AS f(pk, slot)`;
        const page = keyset(window, ["s.member_id"], params, ["bigint"]);
        const rows = await ctx.db.rows<FormSubmissionRow & { __slot: number }>(
          `SELECT f.slot AS "__slot", p.* FROM ${source} CROSS JOIN LATERAL (
             SELECT s.member_id::text AS "memberPk", s.answers, s.submitted_at AS "submittedAt" FROM message_form_submission s
              WHERE s.corp_id = $1 AND s.message_id = f.pk AND ${page.where}
              ORDER BY ${page.orderBy} LIMIT ${page.limit}) p`,
          params.values,
        );
        for (const { __slot, ...row } of rows) pages[__slot].push(row);
      }),
    );
    return pages;
  }

  /**
   * Every field of a form summed up over its submissions: how many answered it, per option counts
   * for choice fields, smallest, largest and mean for number fields. The forms of one request are
   * summed up in two statements.
   */
  async formSummary(ctx: RequestContext, results: FormResultsData): Promise<FormFieldSummaryData[]> {
    let loader = this.summaries.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((pks) => this.loadSummaries(ctx, pks));
      this.summaries.set(ctx.loaders, loader);
    }
    const { fields, choices } = await loader.load(results.message.pk);
    const form = results.message.content as unknown as FormContentData;
    return form.fields.map((f, fieldIndex) => {
      const stats = fields.get(fieldIndex);
      const isChoice = f.type === FormFieldType.CHOICE || f.type === FormFieldType.MULTIPLE_CHOICE;
      const isNumber = f.type === FormFieldType.NUMBER && (stats?.n ?? 0) > 0;
      return {
        fieldIndex,
        label: f.label,
        type: f.type,
        answerCount: stats?.n ?? 0,
        options: isChoice ? f.options.map((text, index) => ({ index, text, count: choices.get(`${fieldIndex}:${index}`) ?? 0 })) : [],
        min: isNumber ? stats!.min : null,
        max: isNumber ? stats!.max : null,
        average: isNumber ? stats!.avg : null,
      };
    });
  }

  /** Per request (keyed by `ctx.loaders`): the form summaries loader. */
  private readonly summaries = new WeakMap<
    object,
    DataLoader<string, { fields: Map<number, { n: number; min: number | null; max: number | null; avg: number | null }>; choices: Map<string, number> }>
  >();

  private async loadSummaries(ctx: RequestContext, pks: readonly string[]) {
    const [fieldRows, choiceRows] = await Promise.all([
      ctx.db.rows<{ id: string; field: number; n: number; min: number | null; max: number | null; avg: number | null }>(
        `SELECT s.message_id::text AS id, (a->>'field')::int AS field, count(*)::int AS n,
                min((a->>'number')::float8) AS min, max((a->>'number')::float8) AS max, avg((a->>'number')::float8) AS avg
           FROM message_form_submission s CROSS JOIN LATERAL jsonb_array_elements(s.answers) AS a
          WHERE s.corp_id = $1 AND s.message_id = ANY($2::bigint[]) GROUP BY 1, 2`,
        [pks],
      ),
      ctx.db.rows<{ id: string; field: number; choice: number; n: number }>(
        `SELECT s.message_id::text AS id, (a->>'field')::int AS field, c.choice::int AS choice, count(*)::int AS n
           FROM message_form_submission s CROSS JOIN LATERAL jsonb_array_elements(s.answers) AS a
           CROSS JOIN LATERAL jsonb_array_elements_text(a->'choices') AS c(choice)
          WHERE s.corp_id = $1 AND s.message_id = ANY($2::bigint[]) AND a ? 'choices' GROUP BY 1, 2, 3`,
        [pks],
      ),
    ]);
    return pks.map((pk) => ({
      fields: new Map(fieldRows.filter((r) => r.id === pk).map((r) => [r.field, r])),
      choices: new Map(choiceRows.filter((r) => r.id === pk).map((r) => [`${r.field}:${r.choice}`, r.n])),
    }));
  }

  private emitAnswer(ctx: RequestContext, message: Message, type: MessageEventType, memberPk: string): void {
    ctx.emit(STREAMS.messages, {
      type,
      subjectType: "Message",
      subjectId: message.pk,
      audience: [conversationAudience(message.conversationId)],
      data: { conversationId: message.conversationId, seq: message.seq, memberId: memberPk },
    });
  }

  /**
   * Attaches the interactive state (tallies, completions, submissions, the caller's own answers) to
   * `messages`: one statement per interactive kind present, whatever the number of messages.
   */
  async withState(ctx: RequestContext, messages: Message[]): Promise<MessageView[]> {
    const views = messages as MessageView[];
    for (const m of views) m.state = {};
    const live = views.filter((m) => INTERACTIVE.has(m.kind) && !m.recalledAt);
    const ofKind = (kind: MessageKind) => live.filter((m) => m.kind === kind);
    const memberPk = ctx.caller.member?.id ?? null;
    const votes = ofKind(MessageKind.VOTE);
    if (votes.length) {
      const pks = votes.map((m) => m.pk);
      const tallies = await ctx.db.rows<{ id: string; option: number; n: number }>(
        `SELECT b.message_id::text AS id, o.option, count(*)::int AS n
           FROM message_ballot b CROSS JOIN LATERAL unnest(b.options) AS o(option)
          WHERE b.corp_id = $1 AND b.message_id = ANY($2::bigint[]) GROUP BY b.message_id, o.option`,
        [pks],
      );
      const voters = await ctx.db.rows<{ id: string; voters: number; mine: string | null }>(
        `SELECT message_id::text AS id, count(*)::int AS voters, max(array_to_string(options, ',')) FILTER (WHERE member_id = $3) AS mine
           FROM message_ballot WHERE corp_id = $1 AND message_id = ANY($2::bigint[]) GROUP BY message_id`,
        [pks, memberPk],
      );
      const byId = new Map(voters.map((r) => [r.id, r]));
      for (const m of votes) {
        const counts = (m.content as unknown as VoteContentData).options.map(() => 0);
        for (const t of tallies) if (t.id === m.pk && t.option < counts.length) counts[t.option] = t.n;
        const row = byId.get(m.pk);
        m.state.vote = { tallies: counts, voters: row?.voters ?? 0, mine: row?.mine != null ? row.mine.split(",").map(Number) : null };
      }
    }
    const todos = ofKind(MessageKind.TODO);
    if (todos.length) {
      const rows = await ctx.db.rows<{ id: string; member: string; done_at: Date }>(
        `SELECT message_id::text AS id, member_id::text AS member, done_at FROM message_todo_done WHERE corp_id = $1 AND message_id = ANY($2::bigint[])`,
        [todos.map((m) => m.pk)],
      );
      for (const m of todos) m.state.todo = { doneAt: new Map(rows.filter((r) => r.id === m.pk).map((r) => [r.member, r.done_at])) };
    }
    const forms = ofKind(MessageKind.FORM);
    if (forms.length) {
      const rows = await ctx.db.rows<{ id: string; n: number; mine: Array<Record<string, unknown>> | null }>(
        `SELECT message_id::text AS id, count(*)::int AS n, (array_agg(answers) FILTER (WHERE member_id = $3))[1] AS mine
           FROM message_form_submission WHERE corp_id = $1 AND message_id = ANY($2::bigint[]) GROUP BY message_id`,
        [forms.map((m) => m.pk), memberPk],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const m of forms) m.state.form = { submissions: byId.get(m.pk)?.n ?? 0, mine: byId.get(m.pk)?.mine ?? null };
    }
    return views;
  }
}
