import type { Pool } from "pg";
import { CrossCorpDb } from "../db/cross-corp";
import { MESSAGE_RETENTION_MS, RETENTION_BATCH, RETENTION_INTERVAL_MS } from "../domain/messaging";
import { log } from "../log";
import type { Clock } from "./clock";

/**
 * The retention job (issue 14 item 2; source §2: messages are kept in the cloud for 90 days): every
 * gateway instance runs it at start and every hour; it deletes the messages sent more than 90 days
 * before its clock's now, in batches of RETENTION_BATCH, each batch one transaction that also
 * records on each conversation touched where its history now starts (`purged_seq`, the highest
 * seq purged; `history_purged_before`, the cut-off), so `messages(after:)` refuses a cursor into
 * the purged part instead of skipping it. Several instances: a batch runs only under a
 * transaction-level advisory lock (another instance already purging makes this run stop at
 * once), and rows a request holds locked are skipped until the next run. Reads across corps
 * (`CrossCorpDb`): it is the gateway's housekeeping, not a caller's request. Their votes, to-do
 * completions and form submissions go with the messages (ON DELETE CASCADE); the event log is
 * kept, so a replayed MessageAdded of a purged message carries `message: null`.
 */
export class MessageRetentionService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;

  constructor(
    private readonly pool: Pool,
    public clock: Clock,
  ) {}

  /** Purges what is due now; returns how many messages it deleted (0 when another instance holds the job's lock). */
  async purge(batch = RETENTION_BATCH): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - MESSAGE_RETENTION_MS);
    let total = 0;
    for (;;) {
      const deleted = await this.purgeBatch(cutoff, batch);
      if (deleted === null) break;
      total += deleted;
      if (deleted < batch) break;
    }
    if (total) log.info("messages purged (retention)", { count: total, before: cutoff.toISOString() });
    return total;
  }

  /** One batch in one transaction; null when another instance holds the lock. */
  private async purgeBatch(cutoff: Date, batch: number): Promise<number | null> {
    const client = await this.pool.connect();
    const db = new CrossCorpDb(client);
    try {
      await db.exec("BEGIN");
      const locked = await db.one<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtextextended('message-retention', 0)) AS locked`);
      if (!locked?.locked) {
        await db.exec("ROLLBACK");
        return null;
      }
      const row = await db.one<{ n: number }>(
        `WITH doomed AS (
           SELECT id FROM message WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         gone AS (
           DELETE FROM message m USING doomed WHERE m.id = doomed.id RETURNING m.conversation_id, m.seq),
         marked AS (
           UPDATE conversation c SET purged_seq = GREATEST(c.purged_seq, p.seq), history_purged_before = GREATEST(c.history_purged_before, $1)
             FROM (SELECT conversation_id, max(seq) AS seq FROM gone GROUP BY conversation_id) p
            WHERE c.id = p.conversation_id RETURNING c.id)
         SELECT (SELECT count(*) FROM gone)::int AS n, (SELECT count(*) FROM marked)::int AS conversations`,
        [cutoff, batch],
      );
      await db.exec("COMMIT");
      return row?.n ?? 0;
    } catch (e) {
      await db.exec("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Starts the job: at once, then every RETENTION_INTERVAL_MS (an hour); runs never overlap within the process. */
  start(): void {
    const run = () => {
      if (this.running) return;
      this.running = this.purge()
        .catch((e: unknown) => {
          log.error("message retention failed", { error: String(e) });
          return 0;
        })
        .finally(() => {
          this.running = null;
        });
    };
    run();
    this.timer = setInterval(run, RETENTION_INTERVAL_MS);
    this.timer.unref();
  }

  /** Gateway shutdown: no further run; waits for one in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
