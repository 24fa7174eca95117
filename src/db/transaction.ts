import type { ClientBase, DatabaseError, Pool } from "pg";
import { CONSTRAINT_CONFLICTS } from "../domain/constraints";
import { conflict } from "../errors/domain-error";
import { CrossCorpDb } from "./cross-corp";
import { CorpDb, type DbStats } from "./scoped-db";

function mapDatabaseError(e: unknown): unknown {
  const pgError = e as Partial<DatabaseError>;
  const known = pgError?.code === "23505" && pgError.constraint ? CONSTRAINT_CONFLICTS[pgError.constraint] : undefined;
  return known ? conflict(known.message, known.field) : e;
}

/**
 * One open transaction: its connection as a corp-scoped handle (`db`) and, for the few writers that
 * must cross corps (creating a corp), as a labelled one (`crossCorp`); hooks that run just before
 * COMMIT (the event log's append, which holds its lock only from there to COMMIT) and after it
 * (telling subscribers, so none ever sees a change that was rolled back).
 */
export class Tx {
  private readonly before: Array<() => Promise<void>> = [];
  private readonly after: Array<() => void> = [];
  private readonly corpDb: CorpDb | null;
  private discard = false;
  readonly crossCorp: CrossCorpDb;

  constructor(
    private readonly conn: ClientBase,
    corpId: string | null,
    readonly stats: DbStats,
  ) {
    this.corpDb = corpId ? new CorpDb(corpId, conn, stats) : null;
    this.crossCorp = new CrossCorpDb(conn, stats);
  }

  /** The corp-scoped handle on this transaction's connection. */
  get db(): CorpDb {
    if (!this.corpDb) throw new Error("this transaction was opened without a corp: use forCorp()");
    return this.corpDb;
  }

  /** A corp-scoped handle on this connection for a corp created inside the transaction. */
  forCorp(corpId: string): CorpDb {
    return new CorpDb(corpId, this.conn, this.stats);
  }

  /** Runs `hook` after the work, right before COMMIT (in registration order). */
  beforeCommit(hook: () => Promise<void>): void {
    this.before.push(hook);
  }

  /** Runs `hook` once COMMIT succeeded; never after a rollback. */
  afterCommit(hook: () => void): void {
    this.after.push(hook);
  }

  /** Ends the transaction with ROLLBACK instead of COMMIT, hooks skipped (a dry run). */
  rollbackOnly(): void {
    this.discard = true;
  }

  /** @internal the commit sequence of `transaction()`. */
  async finish(): Promise<void> {
    if (this.discard) {
      await this.conn.query("ROLLBACK");
      return;
    }
    for (let i = 0; i < this.before.length; i++) await this.before[i]();
    await this.conn.query("COMMIT");
  }

  /** @internal */
  committed(): void {
    if (!this.discard) for (const hook of this.after) hook();
  }
}

export interface TransactionOptions {
  /** Counts statements (a request's `DbStats`). */
  stats?: DbStats;
  /**
   * Runs on this connection instead of a pooled one (the import job holds its own connection for its
   * session-private staging tables); the caller keeps and closes it.
   */
  connection?: ClientBase;
}

/**
 * The one transaction path. Runs `work` in one transaction on one connection; a thrown error rolls
 * everything back (a unique-constraint race becomes the client's CONFLICT, see
 * `domain/constraints.ts`). With `corpId` the work gets a corp-scoped `tx.db`; with `null` only the
 * labelled cross-corp handle (creating a corp). Used by requests (`runInTransaction` in
 * `context.ts`), by token issuance and sign-in, by the CLI's corp creation and by the import job.
 */
export async function transaction<T>(pool: Pool, corpId: string | null, work: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const own = options.connection;
  const conn = own ?? (await pool.connect());
  const tx = new Tx(conn, corpId, options.stats ?? { statements: 0 });
  let result: T;
  try {
    await conn.query("BEGIN");
    result = await work(tx);
    await tx.finish();
  } catch (e) {
    await conn.query("ROLLBACK").catch(() => undefined);
    throw mapDatabaseError(e);
  } finally {
    if (!own) (conn as { release?: () => void }).release?.();
  }
  tx.committed();
  return result;
}
