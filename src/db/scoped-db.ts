import type { ClientBase, Pool, QueryResultRow } from "pg";
import type { DataSource } from "typeorm";

/** A pool, a pooled client or a dedicated connection (the import jobs' own). */
type Queryable = Pool | ClientBase;
type EntityClass<T> = { new (...args: never[]): T; prototype: T };

/** Per-request statistics; tests read `statements` to prove a query plan is N+1 free. */
export interface DbStats {
  statements: number;
}

const selectLists = new Map<Function, (alias: string) => string>();

/**
 * `SELECT` list of an entity's columns aliased to its property names, derived from the TypeORM
 * metadata so that raw SQL and entities cannot drift: `selectList(ds, Member, "m")`.
 */
export function selectList(dataSource: DataSource, entity: Function, alias: string): string {
  let build = selectLists.get(entity);
  if (!build) {
    const columns = dataSource.getMetadata(entity).columns.map((c) => [c.databaseName, c.propertyName] as const);
    build = (a: string) => columns.map(([db, prop]) => `${a}."${db}" AS "${prop}"`).join(", ");
    selectLists.set(entity, build);
  }
  return build(alias);
}

/** Turns a row selected with `selectList` into an entity instance (so getters such as `id` work). */
export function hydrate<T>(entity: EntityClass<T>, row: QueryResultRow): T {
  return Object.assign(Object.create(entity.prototype as object) as object, row) as T;
}

/**
 * The corp-scoped database handle every service uses. Each statement receives the corp id as `$1`
 * and must use it: a statement without `$1` is refused before it reaches PostgreSQL, so a query
 * cannot silently run unscoped. The handle refuses an empty corp. Cross-corp statements (token
 * bootstrap, the event relay) use `UnscopedDb` and say why.
 */
export class CorpDb {
  constructor(
    readonly corpId: string,
    private readonly conn: Queryable,
    readonly stats: DbStats = { statements: 0 },
  ) {
    if (!corpId) throw new Error("CorpDb needs a corp id");
  }

  /** Runs `sql` with `[corpId, ...params]`; returns the rows. */
  async rows<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (!/\$1(?!\d)/.test(sql)) throw new Error(`unscoped statement refused: ${sql.slice(0, 80)}`);
    this.stats.statements++;
    const result = await this.conn.query<R>(sql, [this.corpId, ...params]);
    return result.rows;
  }

  /** Like `rows`, hydrated into entity instances. */
  async entities<T>(entity: EntityClass<T>, sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const rows = await this.rows(sql, params);
    return rows.map((r) => hydrate(entity, r));
  }

  async one<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(sql, params))[0];
  }

  /** Runs a write; returns the affected row count. */
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (!/\$1(?!\d)/.test(sql)) throw new Error(`unscoped statement refused: ${sql.slice(0, 80)}`);
    this.stats.statements++;
    const result = await this.conn.query(sql, [this.corpId, ...params]);
    return result.rowCount ?? 0;
  }
}
