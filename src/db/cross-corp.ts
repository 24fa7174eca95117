import type { ClientBase, Pool, QueryResultRow } from "pg";
import type { DbStats } from "./scoped-db";

/**
 * The one handle for statements that must cross corps: finding a token's or client's app before
 * the corp is known, sign-in by a corp-independent code or token hash, creating a corp, the
 * maintenance sweeps. Its name is the label: every call site reads `crossCorp.…`, so a reviewer
 * can list them with one grep. Everything that knows its corp uses `CorpDb`, which refuses an
 * unscoped statement.
 */
export class CrossCorpDb {
  constructor(
    private readonly conn: Pool | ClientBase,
    readonly stats: DbStats = { statements: 0 },
  ) {}

  async rows<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    this.stats.statements++;
    return (await this.conn.query<R>(sql, params as unknown[])).rows;
  }

  async one<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(sql, params))[0];
  }

  /** Runs a write; returns the affected row count. */
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    this.stats.statements++;
    return (await this.conn.query(sql, params as unknown[])).rowCount ?? 0;
  }
}
