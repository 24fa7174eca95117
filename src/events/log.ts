import type { Tx } from "../db/transaction";
import type { EventBus } from "./bus";

/**
 * The event log: one table (`event`), many streams.
 *
 * Design. Every row names its corp and its stream: `directory` today; the messaging and customer
 * features add their own (e.g. one stream per conversation, `customers`). A reader follows one
 * (corp, stream) by id through the index (corp_id, stream, id), so a directory subscriber never
 * reads through message traffic. Ids come from one sequence, but the promise readers rely on,
 * "resume after id N and nothing is skipped", holds per stream: an append takes a transaction-level
 * advisory lock on (corp, stream) right before its INSERT and holds it until COMMIT, so within a
 * stream ids are allocated in commit order. Different streams never wait for each other: a busy
 * conversation does not queue behind the directory. A reader of several streams (a member's
 * conversations) keeps one position per stream, carried in an opaque composite cursor.
 *
 * Each row carries a generic subject (`subjectType` + `subjectId`: what it is about) and an
 * `audience` (strings the stream's reader matches against the caller; for the directory, the
 * department paths the subject sat in before and after the change).
 *
 * `append` is the only writer of `event` rows for per-row events (through the function
 * `event_log_append`, which takes the lock and inserts in one round trip) and `appendSelect` for
 * set-based writers (the import); both take the lock, insert, and publish after commit. Nothing
 * else touches the lock or the table.
 */

/** The streams of the log. A new feature adds its name here. */
export const STREAMS = { directory: "directory", messages: "messages" } as const;
export type StreamName = (typeof STREAMS)[keyof typeof STREAMS];

/** An event a service records; written when its transaction commits. */
export interface PendingEvent {
  type: string;
  subjectType?: string | null;
  subjectId?: string | null;
  /** Who may see it (see the design above). */
  audience: string[];
  data?: Record<string, unknown>;
}

/** The bus key of one (corp, stream): what the relay's feeds subscribe to. */
export function feedKey(corpId: string, stream: string): string {
  return `${corpId}/${stream}`;
}

/** Columns `appendSelect`'s statement must yield, in this order. */
export const EVENT_SELECT_COLUMNS = "type, subject_type, subject_id, audience, data";

export class EventLog {
  private readonly pending = new WeakMap<Tx, Map<string, PendingEvent[]>>();
  private readonly flushed = new WeakSet<Tx>();

  constructor(private readonly bus: EventBus) {}

  /**
   * Records `events` on `stream` in the transaction `tx`. They are inserted once the work is done,
   * right before COMMIT (so the stream's lock is held only from there to COMMIT), and the stream's
   * readers are told after COMMIT.
   */
  append(tx: Tx, stream: StreamName, ...events: PendingEvent[]): void {
    let byStream = this.pending.get(tx);
    if (!byStream) {
      byStream = new Map();
      this.pending.set(tx, byStream);
      const buffered = byStream;
      tx.beforeCommit(async () => {
        // Streams locked in one order (by name): two transactions writing to the same two streams never wait on each other in a cycle.
        for (const name of [...buffered.keys()].sort()) await this.insert(tx, name, buffered.get(name)!);
        this.flushed.add(tx);
      });
    }
    // A later append (from a before-commit hook registered after this one) would never be inserted.
    if (this.flushed.has(tx)) throw new Error("EventLog.append after the transaction's events were written");
    const list = byStream.get(stream);
    if (list) list.push(...events);
    else byStream.set(stream, [...events]);
  }

  /**
   * Appends the rows of `select` (a statement on `tx.db` yielding `EVENT_SELECT_COLUMNS`) to
   * `stream` now: for set-based writers, which should call it last in their transaction.
   */
  async appendSelect(tx: Tx, stream: StreamName, select: string, params: readonly unknown[] = []): Promise<number> {
    await this.lock(tx, stream);
    const rows = await tx.db.rows<{ id: string }>(
      `INSERT INTO event (corp_id, stream, type, subject_type, subject_id, audience, data, occurred_at)
       SELECT $1, $${params.length + 2}, e.type, e.subject_type, e.subject_id, e.audience, e.data, clock_timestamp() FROM (${select}) AS e
       RETURNING id`,
      [...params, stream],
    );
    if (rows.length) this.publishAfterCommit(tx, stream, rows[rows.length - 1].id);
    return rows.length;
  }

  /**
   * One round trip: `event_log_append` (migration EventLogAppend) takes the stream's lock, then
   * inserts, so the lock is held from here to COMMIT only (every send of a corp's messages queues on it).
   */
  private async insert(tx: Tx, stream: string, events: PendingEvent[]): Promise<void> {
    if (!events.length) return;
    const rows = await tx.db.rows<{ id: string }>(`SELECT id::text FROM event_log_append($1, $2, $3::jsonb)`, [
      stream,
      JSON.stringify(
        events.map((e) => ({
          type: e.type,
          subject_type: e.subjectType ?? null,
          subject_id: e.subjectId ?? null,
          audience: e.audience,
          data: e.data ?? {},
        })),
      ),
    ]);
    this.publishAfterCommit(tx, stream, rows[rows.length - 1].id);
  }

  /** The stream's ordering lock, held to the end of the transaction (see the design above). */
  private async lock(tx: Tx, stream: string): Promise<void> {
    // The key as event_log_append makes it (the corp id as a bigint, printed back): the same lock for both.
    await tx.db.exec("SELECT pg_advisory_xact_lock(hashtextextended('event-log:' || $1::bigint::text || ':' || $2::text, 0))", [stream]);
  }

  private publishAfterCommit(tx: Tx, stream: string, lastId: string): void {
    const key = feedKey(tx.db.corpId, stream);
    tx.afterCommit(() => this.bus.publish("events", key, lastId));
  }
}
