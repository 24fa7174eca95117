import type { RequestContext } from "../context";
import type { Message } from "../entities/message.entity";
import { MessageAuditHit } from "../entities/message-audit-hit.entity";
import { hydrate, selectList } from "../db/scoped-db";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { badInput } from "../errors/domain-error";
import { checkSensitiveWords } from "../domain/compliance";
import { matchKey, messageText } from "../domain/message-text";
import { requireMessageAuditor } from "../policy/compliance";
import { auditChange } from "./audit";
import type { Clock } from "./clock";

/** What `messageAuditHits` narrows to; all given conditions hold. Primary keys. */
export interface AuditHitFilter {
  conversationPk?: string | null;
  memberPk?: string | null;
  word?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/**
 * The compliance audit of messages (issue 14, item 8; source §7). Corp administrators keep a list
 * of sensitive words (`setSensitiveWords`); every message sent (by a member, an app or a robot)
 * that contains one, ignoring case and full-width forms (`domain/message-text.ts`), is recorded in
 * `message_audit_hit` in the message's own transaction, one row per word; `hits` reads them.
 * Everything but the recording needs `requireMessageAuditor` (and the scope `messages:audit`, on
 * the resolvers).
 */
export class MessageAuditService {
  constructor(public clock: Clock) {}

  /** The corp's sensitive words, in the order they were set. */
  async words(ctx: RequestContext): Promise<string[]> {
    requireMessageAuditor(ctx.caller);
    const rows = await ctx.db.rows<{ word: string }>(`SELECT word FROM sensitive_word WHERE corp_id = $1 ORDER BY id`);
    return rows.map((r) => r.word);
  }

  /** Replaces the corp's sensitive words (an empty list ends the audit); audited with the words added and removed. */
  async setWords(ctx: RequestContext, words: readonly string[]): Promise<string[]> {
    requireMessageAuditor(ctx.caller);
    const checked = checkSensitiveWords(words, "input.words");
    // One change of a corp's list at a time (the list may be empty: no row to lock).
    await ctx.db.one(`SELECT pg_advisory_xact_lock(hashtextextended('sensitive_word:' || $1::text, 0))`);
    const before = await ctx.db.rows<{ word: string; word_key: string }>(`SELECT word, word_key FROM sensitive_word WHERE corp_id = $1 ORDER BY id`);
    await ctx.db.exec(`DELETE FROM sensitive_word WHERE corp_id = $1`);
    if (checked.length) {
      await ctx.db.exec(
        `INSERT INTO sensitive_word (corp_id, word, word_key, created_at)
         SELECT $1, w.word, w.key, $4 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(word, key, n) ORDER BY w.n`,
        [checked.map((w) => w.word), checked.map((w) => w.key), this.clock.now()],
      );
    }
    const kept = new Set(before.map((w) => w.word_key));
    const now = new Set(checked.map((w) => w.key));
    await auditChange(ctx, "SENSITIVE_WORDS_SET", {
      count: checked.length,
      added: checked.filter((w) => !kept.has(w.key)).map((w) => w.word),
      removed: before.filter((w) => !now.has(w.word_key)).map((w) => w.word),
    });
    return checked.map((w) => w.word);
  }

  /**
   * Records the sensitive words `message` contains (called by `MessageService.send` in its
   * transaction, so the record commits with the message or not at all). See `recordMany`.
   */
  record(ctx: RequestContext, message: Message): Promise<void> {
    return this.recordMany(ctx, [message]);
  }

  /**
   * Records the sensitive words each of `messages` (inserted in the current transaction) contains:
   * one statement whatever the number of messages and words, the words compared in the database
   * with each distinct text's key (messages of one set-based send share theirs), in message order.
   */
  async recordMany(ctx: RequestContext, messages: readonly Message[]): Promise<void> {
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const ids: string[] = [];
    const refs: number[] = [];
    for (const m of messages) {
      const text = matchKey(messageText(m.kind, m.content));
      if (!text) continue;
      let k = keyIndex.get(text);
      if (k === undefined) {
        k = keys.push(text);
        keyIndex.set(text, k);
      }
      ids.push(m.pk);
      refs.push(k);
    }
    if (!ids.length) return;
    await ctx.db.exec(
      `INSERT INTO message_audit_hit (corp_id, message_id, conversation_id, seq, sender_member_id, sender_app_id, sender_bot_id, word, word_key, occurred_at)
       SELECT $1, m.id, m.conversation_id, m.seq, m.sender_member_id, m.sender_app_id, m.sender_bot_id, w.word, w.word_key, m.created_at
         FROM unnest($2::bigint[], $3::int[]) AS x(id, k)
         JOIN message m ON m.corp_id = $1 AND m.id = x.id
         JOIN sensitive_word w ON w.corp_id = $1 AND strpos(($4::text[])[x.k], w.word_key) > 0
        ORDER BY m.id, w.id`,
      [ids, refs, keys],
    );
  }

  /**
   * Records the sensitive words a member's form answers contain (`MessageService.submitForm`, in its
   * transaction): the hit names the form's message and the member who answered, at the time of the
   * submission. Text answers only (numbers and choices are not free text).
   */
  async recordAnswers(ctx: RequestContext, form: Message, memberPk: string, answers: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const text = matchKey(
      answers
        .map((a) => a.text)
        .filter((t): t is string => typeof t === "string")
        .join("\n"),
    );
    if (!text) return;
    await ctx.db.exec(
      `INSERT INTO message_audit_hit (corp_id, message_id, conversation_id, seq, sender_member_id, word, word_key, occurred_at)
       SELECT $1, $2, $3, $4, $5, w.word, w.word_key, $6 FROM sensitive_word w WHERE w.corp_id = $1 AND strpos($7, w.word_key) > 0 ORDER BY w.id`,
      [form.pk, form.conversationId, form.seq, memberPk, this.clock.now(), text],
    );
  }

  /** The hits, oldest first (keyset on id), narrowed by `filter` (an index for each condition). */
  async hits(ctx: RequestContext, filter: AuditHitFilter, window: PageWindow): Promise<Connection<MessageAuditHit>> {
    requireMessageAuditor(ctx.caller);
    if (filter.since && filter.until && filter.since.getTime() >= filter.until.getTime()) {
      throw badInput("filter.until", "filter.until must be after filter.since.");
    }
    const params = new SqlParams();
    const where = ["h.corp_id = $1"];
    if (filter.conversationPk) where.push(`h.conversation_id = ${params.add(filter.conversationPk)}`);
    if (filter.memberPk) where.push(`h.sender_member_id = ${params.add(filter.memberPk)}`);
    if (filter.word != null) where.push(`h.word_key = ${params.add(matchKey(filter.word))}`);
    if (filter.since) where.push(`h.occurred_at >= ${params.add(filter.since)}`);
    if (filter.until) where.push(`h.occurred_at < ${params.add(filter.until)}`);
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, MessageAuditHit, "h"),
      from: "message_audit_hit h",
      where: where.join(" AND "),
      params,
      key: [{ sql: "h.id", cast: "bigint" }],
      keyOf: (h) => [h.pk],
      map: (row) => hydrate(MessageAuditHit, row),
    });
  }
}
