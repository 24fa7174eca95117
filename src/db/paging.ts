import type { QueryResultRow } from "pg";
import { badInput } from "../errors/domain-error";
import type { CorpDb } from "./scoped-db";
import { SqlParams } from "./sql";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../domain/paging";

/**
 * Keyset (cursor) paging, the one way every list of the API is paged: `pageWindow` validates the
 * Relay arguments, `keyset` builds the boundary, order and limit of a statement, `toConnection`
 * turns the fetched rows into a connection, and `paginate` does all three for the common case of one
 * statement plus a lazy count. The GraphQL types (`PageInfo`, `…Connection`) are in
 * `schema/connection.ts`.
 */

/** Relay pagination arguments as every list field takes them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** A validated page request: a keyset boundary and a direction. */
export interface PageWindow {
  limit: number;
  backward: boolean;
  after?: readonly string[];
  before?: readonly string[];
}

type Key = readonly string[];

function encodeCursor(key: Key): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

function decodeCursor(cursor: string, field: string, arity: number): Key {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(key) && key.length === arity && key.every((k) => typeof k === "string")) return key as string[];
  } catch {
    // fall through
  }
  throw badInput(field, `${field} is not a cursor of this list.`);
}

/** Validates `first/after/last/before` for a list ordered by `arity` key columns. */
export function pageWindow(args: PageArgs, arity = 1): PageWindow {
  const { first, last } = args;
  if (first != null && last != null) throw badInput("last", "Give either first or last, not both.");
  for (const [field, n] of [
    ["first", first],
    ["last", last],
  ] as const) {
    if (n != null && (!Number.isInteger(n) || n < 0 || n > MAX_PAGE_SIZE)) {
      throw badInput(field, `${field} must be from 0 to ${MAX_PAGE_SIZE}.`);
    }
  }
  const backward = last != null || (first == null && args.before != null);
  return {
    limit: (backward ? last : first) ?? DEFAULT_PAGE_SIZE,
    backward,
    after: args.after != null ? decodeCursor(args.after, "after", arity) : undefined,
    before: args.before != null ? decodeCursor(args.before, "before", arity) : undefined,
  };
}

/** What a cursor's value may be for each SQL type it is cast to (within the type's range). */
const CURSOR_VALUE: Record<string, RegExp> = { bigint: /^-?[0-9]{1,18}$/, int: /^-?[0-9]{1,9}$/ };
/** Any other key is text: anything PostgreSQL can store (no NUL). */
// eslint-disable-next-line no-control-regex -- NUL is the one character a cursor may not hold
const CURSOR_TEXT = /^[^\u0000]*$/;

/**
 * The keyset part of a paginated statement for ascending `columns` (each a SQL expression, cast as
 * needed, e.g. `m.id`): the boundary predicates, the ORDER BY (reversed when paging backwards) and
 * the LIMIT (one extra row tells whether there is another page).
 */
export function keyset(window: PageWindow, columns: readonly string[], params: SqlParams, casts: readonly string[]) {
  const tuple = `(${columns.join(", ")})`;
  const bound = (key: Key, field: string) => {
    // A cursor is opaque to clients but decoded here: a value its column cannot hold is the
    // client's mistake (BAD_USER_INPUT), not a failed cast in the database.
    if (key.some((k, i) => !(CURSOR_VALUE[casts[i]] ?? CURSOR_TEXT).test(k))) throw badInput(field, `${field} is not a cursor of this list.`);
    return `(${key.map((k, i) => `${params.add(k)}::${casts[i]}`).join(", ")})`;
  };
  const where: string[] = [];
  if (window.after) where.push(`${tuple} > ${bound(window.after, "after")}`);
  if (window.before) where.push(`${tuple} < ${bound(window.before, "before")}`);
  const dir = window.backward ? "DESC" : "ASC";
  return {
    where: where.length ? where.join(" AND ") : "TRUE",
    orderBy: columns.map((c) => `${c} ${dir}`).join(", "),
    limit: window.limit + 1,
  };
}

/** Where a page sits in its list (the GraphQL `PageInfo`). */
export interface PageInfoData {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** The value a connection field resolves to; `totalCount` runs only when selected. */
export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  nodes: T[];
  pageInfo: PageInfoData;
  /** A getter: the count query runs only when a client selects `totalCount`. */
  readonly totalCount: Promise<number>;
}

/**
 * Builds a connection from rows fetched with `keyset(...)` (up to `limit + 1`, in query order).
 * `keyOf` gives each row's sort key as strings, matching the key columns.
 */
export function toConnection<T>(rows: T[], window: PageWindow, keyOf: (row: T) => Key, totalCount: () => Promise<number>): Connection<T> {
  const more = rows.length > window.limit;
  const page = more ? rows.slice(0, window.limit) : rows;
  if (window.backward) page.reverse();
  // Cursors are encoded when read: a query that asks for `nodes` only never pays for them.
  const edges = page.map((node) => ({
    node,
    get cursor() {
      return encodeCursor(keyOf(node));
    },
  }));
  return {
    edges,
    nodes: page,
    pageInfo: {
      hasNextPage: window.backward ? window.before !== undefined : more,
      hasPreviousPage: window.backward ? more : window.after !== undefined,
      get startCursor() {
        return edges.length ? edges[0].cursor : null;
      },
      get endCursor() {
        return edges.length ? edges[edges.length - 1].cursor : null;
      },
    },
    get totalCount() {
      return totalCount();
    },
  };
}

/** One column of a list's sort key: its SQL expression and the type a cursor value is cast to. */
export interface KeyColumn {
  sql: string;
  cast: "bigint" | "int" | "text";
}

/** A list statement for `paginate`. */
export interface ListQuery<R, T> {
  /** The SELECT list. */
  select: string;
  /** The FROM clause (without `FROM`), e.g. `member m`. */
  from: string;
  /** The filter (without `WHERE`); its values are in `params`. */
  where: string;
  params: SqlParams;
  /** The sort key, ascending; ties are impossible (the last column is unique). */
  key: readonly KeyColumn[];
  /** A node's sort key as strings (what its cursor encodes), matching `key`. */
  keyOf: (node: T) => readonly string[];
  /** Turns a row into the node (hydrating an entity, mapping columns). */
  map: (row: R) => T;
}

/**
 * One page of a list: runs the statement with the window's keyset, and the count (`totalCount`)
 * only when a client selects it, with the same filter.
 */
export async function paginate<R extends QueryResultRow, T>(db: CorpDb, window: PageWindow, query: ListQuery<R, T>): Promise<Connection<T>> {
  const countParams = [...query.params.values];
  const page = keyset(
    window,
    query.key.map((k) => k.sql),
    query.params,
    query.key.map((k) => k.cast),
  );
  const rows = await db.rows<R>(
    `SELECT ${query.select} FROM ${query.from} WHERE ${query.where} AND ${page.where} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
    query.params.values,
  );
  return toConnection(rows.map(query.map), window, query.keyOf, async () => {
    const row = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${query.from} WHERE ${query.where}`, countParams);
    return row?.n ?? 0;
  });
}

/**
 * The keys of a batched page loader (one page per parent, as a DataLoader asks) grouped by their
 * window: one statement per distinct window serves every parent asking with it. `slots` are the
 * keys' positions, so each page goes back to the key that asked.
 */
export function byWindow<K extends { window: PageWindow }>(keys: readonly K[]): Array<{ window: PageWindow; slots: number[] }> {
  const groups = new Map<string, { window: PageWindow; slots: number[] }>();
  keys.forEach((key, slot) => {
    const id = JSON.stringify(key.window);
    const group = groups.get(id) ?? { window: key.window, slots: [] };
    group.slots.push(slot);
    groups.set(id, group);
  });
  return [...groups.values()];
}
