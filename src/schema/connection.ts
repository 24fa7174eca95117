import { Field, Int, ObjectType, type ClassType } from "type-graphql";
import { badInput } from "../errors/domain-error";

/** Relay page size limits (PRODUCT.md: at most 100 a page). */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

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
  for (const [field, n] of [["first", first], ["last", last]] as const) {
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
const CURSOR_TEXT = /^[^\u0000]*$/;

/** Collects positional parameters for raw SQL; `$1` is always the corp (see CorpDb). */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly offset = 2) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length + this.offset - 1}`;
  }
}

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

@ObjectType("PageInfo", { simpleResolvers: true, description: "Where this page sits in the list (Relay cursor connections)." })
export class PageInfo {
  @Field({ description: "True when more items follow the last one of this page." })
  hasNextPage: boolean;

  @Field({ description: "True when items precede the first one of this page." })
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true, description: "Cursor of the first item; pass as `before` for the previous page." })
  startCursor: string | null;

  @Field(() => String, { nullable: true, description: "Cursor of the last item; pass as `after` for the next page." })
  endCursor: string | null;
}

/** The value a connection field resolves to; `totalCount` runs only when selected. */
export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  nodes: T[];
  pageInfo: PageInfo;
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

/** Declares the `<Name>Connection` and `<Name>Edge` GraphQL types for a node type. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string, what: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `One ${what} in a page, with its cursor.` })
  class Edge {
    @Field(() => node, { description: `The ${what}.` })
    node: T;

    @Field({ description: "Opaque cursor of this item; pass as `after` or `before`." })
    cursor: string;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true, description: `A page of ${what}s (Relay cursor connection, at most ${MAX_PAGE_SIZE} a page).` })
  class ConnectionClass {
    @Field(() => [Edge], { description: "The items of this page with their cursors." })
    edges: Edge[];

    @Field(() => [node], { description: "The items of this page (the edges' nodes, for brevity)." })
    nodes: T[];

    @Field(() => PageInfo, { description: "Cursors and whether more pages exist." })
    pageInfo: PageInfo;

    @Field(() => Int, { description: "Number of items in the whole list (all pages); costs one extra query." })
    totalCount: number;
  }
  return ConnectionClass;
}
