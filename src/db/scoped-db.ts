import { types as pgTypes, type ClientBase, type Pool, type QueryResultRow } from "pg";
import type { DataSource } from "typeorm";

/** A pool, a pooled client or a dedicated connection (the import jobs' own). */
type Queryable = Pool | ClientBase;
type EntityClass<T> = { new (...args: never[]): T; prototype: T };
/** Any entity class (a map key, a metadata lookup). */
type AnyEntity = abstract new (...args: never[]) => unknown;

/** Per-request statistics; tests read `statements` to prove a query plan is N+1 free. */
export interface DbStats {
  statements: number;
}

const selectLists = new Map<AnyEntity, (alias: string, only?: ReadonlySet<string>) => string>();

/**
 * Names of prepared statements by SQL text. PostgreSQL parses and plans a named statement once per
 * connection (pg remembers which connections prepared which name), so hot statements skip the
 * parse on every later call. Statement texts come from the code (values are always parameters),
 * so there are few; past the caps (count, or a long generated text), statements simply run unnamed.
 */
const statementNames = new Map<string, string>();
const MAX_PREPARED = 1000;
const MAX_PREPARED_TEXT = 10_000;

const TIMESTAMPTZ_OID = 1184;
const defaultTimestamptz = pgTypes.getTypeParser(TIMESTAMPTZ_OID, "text") as (text: string) => unknown;
const digits2 = (s: string, i: number) => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;

/**
 * pg's timestamptz parser (postgres-date) runs several regular expressions per value; this one reads
 * the form a UTC session sends (`2026-11-25 11:14:55.452123+00`) directly, with the same arithmetic
 * (so the same Date), and hands every other form (other zones, BC, infinity, years < 100) to it.
 */
function parseTimestamptz(text: string): unknown {
  const n = text.length;
  if (n < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32 || !text.endsWith("+00") || (n > 22 && text.charCodeAt(19) !== 46)) {
    return defaultTimestamptz(text);
  }
  const year = digits2(text, 0) * 100 + digits2(text, 2);
  if (!(year >= 100)) return defaultTimestamptz(text);
  const ms = n > 22 ? 1000 * parseFloat(text.slice(19, n - 3)) : 0;
  return new Date(Date.UTC(year, digits2(text, 5) - 1, digits2(text, 8), digits2(text, 11), digits2(text, 14), digits2(text, 17), ms));
}

const queryTypes = {
  getTypeParser: (oid: number, format?: string) =>
    oid === TIMESTAMPTZ_OID && format !== "binary" ? parseTimestamptz : pgTypes.getTypeParser(oid, format as "text"),
};

function query(sql: string, values: unknown[]) {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_PREPARED && sql.length <= MAX_PREPARED_TEXT) {
    name = `wg${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values, types: queryTypes };
}

/**
 * `SELECT` list of an entity's columns aliased to its property names, derived from the TypeORM
 * metadata so that raw SQL and entities cannot drift: `selectList(ds, Member, "m")`; with `only`,
 * just those properties.
 */
export function selectList(dataSource: DataSource, entity: AnyEntity, alias: string, only?: ReadonlySet<string>): string {
  let build = selectLists.get(entity);
  if (!build) {
    const columns = dataSource.getMetadata(entity).columns.map((c) => [c.databaseName, c.propertyName] as const);
    build = (a: string, keep?: ReadonlySet<string>) =>
      columns
        .filter(([, prop]) => !keep || keep.has(prop))
        .map(([db, prop]) => `${a}."${db}" AS "${prop}"`)
        .join(", ");
    selectLists.set(entity, build);
  }
  return build(alias, only);
}

const jsonRows = new Map<string, { sql: (alias: string) => string; hydrate: (values: unknown[]) => object }>();
const entityKeys = new Map<AnyEntity, number>();

/**
 * An entity's columns (all, or those in `only`) as one JSON array expression (for `json_agg` of
 * nested rows) and the function that turns such an array back into the same entity instance
 * `selectList` + `hydrate` give: bigints as strings, timestamps as Dates (sent as epoch
 * milliseconds, the sub-millisecond digits dropped as pg's own parser drops them), everything else
 * as JSON gives it.
 */
export function jsonRow<T>(
  dataSource: DataSource,
  entity: EntityClass<T>,
  alias: string,
  only?: ReadonlySet<string>,
): { sql: string; hydrate: (values: unknown[]) => T } {
  if (!entityKeys.has(entity)) entityKeys.set(entity, entityKeys.size);
  const key = `${entityKeys.get(entity)}|${only ? [...only].sort().join(",") : "*"}`;
  let built = jsonRows.get(key);
  if (!built) {
    const columns = dataSource
      .getMetadata(entity)
      .columns.filter((c) => !only || only.has(c.propertyName))
      .map((c) => {
        const type = typeof c.type === "string" ? c.type : "";
        const kind = type === "bigint" ? "bigint" : type.startsWith("timestamp") ? "timestamp" : "plain";
        return { db: c.databaseName, prop: c.propertyName, kind };
      });
    const expr = (a: string) =>
      `json_build_array(${columns
        .map(({ db, kind }) =>
          kind === "bigint"
            ? `${a}."${db}"::text`
            : kind === "timestamp"
              ? `extract(epoch from date_trunc('milliseconds', ${a}."${db}")) * 1000`
              : `${a}."${db}"`,
        )
        .join(", ")})`;
    const hydrateValues = (values: unknown[]) => {
      const target = Object.create(entity.prototype as object) as Record<string, unknown>;
      for (let i = 0; i < columns.length; i++) {
        const v = values[i];
        target[columns[i].prop] = columns[i].kind === "timestamp" && v !== null ? new Date(v as number) : v;
      }
      return target;
    };
    built = { sql: expr, hydrate: hydrateValues };
    jsonRows.set(key, built);
  }
  return { sql: built.sql(alias), hydrate: built.hydrate as (values: unknown[]) => T };
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
    const result = await this.conn.query<R>(query(sql, [this.corpId, ...params]));
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
    const result = await this.conn.query(query(sql, [this.corpId, ...params]));
    return result.rowCount ?? 0;
  }
}
