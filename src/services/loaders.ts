import DataLoader from "dataloader";
import type { RequestContext } from "../context";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { keyset, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { jsonRow, selectList } from "../db/scoped-db";
import { canSee, canSeeMember, seesWholeCorp } from "../policy";

/** A page of one department's members, as the batched loader returns it. */
export interface MemberPageKey {
  departmentPk: string;
  includeSubdepartments: boolean;
  window: PageWindow;
  /**
   * Also fetch each member's departments in the same statement and prime `memberDepartments`
   * with them (set when the query selects the members' departments): one round trip less.
   */
  withDepartments?: boolean;
  /**
   * Set by `leanColumns`: the optional columns (of `OPTIONAL_COLUMNS`) the request reads, comma
   * separated; the others are left out of the statement. Unset: every column.
   */
  columns?: string;
}

/**
 * Columns a page statement leaves out when no field of the query has their name (so no resolver of
 * the request reads them): fewer values for PostgreSQL to send and for us to parse. The rest are
 * always read (ids, names, and what visibility and the resolvers need: status, paths, depth, …).
 */
const OPTIONAL_COLUMNS = {
  member: ["title", "extension", "mobile", "email", "createdAt", "updatedAt"],
  department: ["order", "createdAt", "updatedAt"],
} as const;

/** The `columns` of a `MemberPageKey` for a query that selects the fields in `names`. */
export function leanColumns(names: ReadonlySet<string>): string {
  return [...new Set([...OPTIONAL_COLUMNS.member, ...OPTIONAL_COLUMNS.department])].filter((c) => names.has(c)).join(",");
}

/** The SQL ordering of a member's departments: main department first, then by depth, order, id. */
export const MEMBER_DEPARTMENT_ORDER = `(d.id = m.main_department_id) DESC, d.depth, d."order", d.id`;

/**
 * Per-request DataLoaders: every nested list of a page costs one statement per field, whatever the
 * page size. Each loader reads through `ctx.db`, so it is corp-scoped, and each returns results in
 * key order. Each applies the caller's visibility itself (issue 12: a resolver cannot bypass it): a
 * department or member the caller may not see is left out of a list and loads as undefined; counts
 * and pages of an invisible department are empty. Visibility is tested in memory, with the rules of
 * `policy/principal.ts` (`withinRoots` reads the paths of a principal held across a move of its
 * subtree right, where the prefix test of `visibleSql` would not); for a caller that sees the whole
 * corp the page and member statements read nothing more and no list is filtered.
 */
export function createLoaders(ctx: RequestContext) {
  const ds = ctx.deps.dataSource;
  const deptCols = selectList(ds, Department, "d");
  const memberCols = selectList(ds, Member, "m");
  const deptJson = jsonRow(ds, Department, "d");
  const deptProps = ds.getMetadata(Department).columns.map((c) => [c.databaseName, c.propertyName] as const);
  const memberProps = ds.getMetadata(Member).columns.map((c) => c.propertyName);
  const departmentProps = deptProps.map(([, prop]) => prop);
  /** The member columns, the departments' JSON and the department's own columns of a page statement (all, or the lean set). */
  const pageColumns = (columns: string | undefined) => {
    if (columns === undefined) return { memberCols, deptJson, departmentOwn: deptProps };
    const wanted = new Set(columns.split(","));
    const keep = (props: string[], optional: readonly string[]) => new Set(props.filter((p) => !optional.includes(p) || wanted.has(p)));
    const departments = keep(departmentProps, OPTIONAL_COLUMNS.department);
    return {
      memberCols: selectList(ds, Member, "m", keep(memberProps, OPTIONAL_COLUMNS.member)),
      deptJson: jsonRow(ds, Department, "d", departments),
      departmentOwn: deptProps.filter(([, prop]) => departments.has(prop)),
    };
  };

  /** Groups rows by a key column and returns lists in `keys` order. */
  const groupBy = <T>(keys: readonly string[], rows: Array<T & { __key: string }>) => {
    const map = new Map<string, T[]>(keys.map((k) => [k, []]));
    for (const row of rows) {
      const { __key, ...rest } = row;
      map.get(String(__key))?.push(rest as unknown as T);
    }
    return keys.map((k) => map.get(k)!);
  };

  const hydrateAll = <T>(entity: { prototype: T }, lists: object[][]): T[][] =>
    lists.map((list) => list.map((row) => Object.assign(Object.create(entity.prototype as object) as object, row) as T));

  /** The departments of `list` the caller may see (the list itself for a whole-corp caller). */
  const visible = (list: Department[]): Department[] => {
    const principal = ctx.caller;
    return seesWholeCorp(principal) ? list : list.filter((d) => canSee(principal, d.path));
  };
  const visibleLists = (lists: Department[][]): Department[][] => (seesWholeCorp(ctx.caller) ? lists : lists.map(visible));

  /**
   * Members are tested in memory too (`canSeeMember` on their departments' paths, selected with
   * them), not with the prefix test of `visibleSql`: a principal held by a long-lived subscription
   * keeps the paths of before a move, which only `withinRoots` still reads right. Nothing is added
   * for a caller that sees the whole corp.
   */
  const memberPathsColumn = (alias: string) =>
    seesWholeCorp(ctx.caller)
      ? ""
      : `, ARRAY(SELECT d_v.path FROM member_department md_v JOIN department d_v ON d_v.id = md_v.department_id
                  WHERE md_v.corp_id = $1 AND md_v.member_id = ${alias}.id) AS "__paths"`;
  const visibleMembers = <T extends object>(rows: T[]): T[] => {
    const principal = ctx.caller;
    if (seesWholeCorp(principal)) return rows;
    return rows
      .filter((row) => canSeeMember(principal, (row as { __paths?: string[] }).__paths ?? []))
      .map((row) => {
        delete (row as { __paths?: string[] }).__paths;
        return row;
      });
  };

  /** Departments of members that a page statement delivered (those the caller sees), readable without a promise. */
  const primedMemberDepartments = new Map<string, Department[]>();

  /** Departments of each member the caller may see (main department first). */
  const memberDepartments = new DataLoader<string, Department[]>(async (pks) => {
    const rows = await ctx.db.rows<Department & { __key: string }>(
      `SELECT md.member_id AS "__key", ${deptCols}
         FROM member_department md JOIN department d ON d.id = md.department_id JOIN member m ON m.id = md.member_id
        WHERE md.corp_id = $1 AND md.member_id = ANY($2::bigint[])
        ORDER BY md.member_id, ${MEMBER_DEPARTMENT_ORDER}`,
      [pks],
    );
    return visibleLists(hydrateAll(Department, groupBy(pks, rows)));
  });

  /**
   * The statement of a page of members for the departments in `pksParam` (an array parameter):
   * one LATERAL page per department. For a caller limited to subtrees each row also carries the
   * department's path (`__p_path`), and the loaders drop the rows of a department it may not see.
   * Members of a visible department, or of its subtree, are visible. With `withDepartment`, a LEFT join that also returns the
   * department's own columns (as `__d_<column>`), so a department without members still has a row,
   * and `pksParam` is one id: a scalar parameter lets PostgreSQL keep one generic plan for the
   * prepared statement (with an array it plans anew at every execution, about as long as running it).
   */
  const memberPageSql = (key: Omit<MemberPageKey, "departmentPk">, params: SqlParams, pksParam: string, withDepartment = false) => {
    const { window, includeSubdepartments, withDepartments } = key;
    const { memberCols, deptJson, departmentOwn } = pageColumns(key.columns);
    const page = keyset(window, ["md.member_id"], params, ["bigint"]);
    const inDepartment = includeSubdepartments
      ? `SELECT DISTINCT md.member_id FROM member_department md JOIN department d ON d.id = md.department_id
          WHERE md.corp_id = $1 AND d.corp_id = $1 AND d.path LIKE p.path || '%' AND ${page.where}`
      : `SELECT md.member_id FROM member_department md WHERE md.corp_id = $1 AND md.department_id = p.id AND ${page.where}`;
    const departmentsOfMember = withDepartments
      ? `, (SELECT json_agg(${deptJson.sql} ORDER BY ${MEMBER_DEPARTMENT_ORDER})
             FROM member_department x JOIN department d ON d.id = x.department_id
            WHERE x.corp_id = $1 AND x.member_id = m.id) AS "__departments"`
      : "";
    const departmentCols = withDepartment ? departmentOwn.map(([db]) => `, p."${db}" AS "__d_${db}"`).join("") : "";
    const departmentPath = seesWholeCorp(ctx.caller) ? "" : `, p.path AS "__p_path"`;
    const join = withDepartment ? "LEFT JOIN LATERAL" : "CROSS JOIN LATERAL";
    return `SELECT p.id AS "__key", ${memberCols}${departmentsOfMember}${departmentCols}${departmentPath}
              FROM department p
              ${join} (${inDepartment} ORDER BY ${page.orderBy} LIMIT ${page.limit}) md ${withDepartment ? "ON TRUE" : ""}
              ${withDepartment ? "LEFT " : ""}JOIN member m ON m.id = md.member_id
             WHERE p.corp_id = $1 AND ${withDepartment ? `p.id = ${pksParam}::bigint` : `p.id = ANY(${pksParam}::bigint[])`}
             ORDER BY p.id, ${page.orderBy}`;
  };

  /** May the caller see the department of a page row (see `memberPageSql`)? */
  const rowDepartmentVisible = (row: { __p_path?: string }) => row.__p_path === undefined || canSee(ctx.caller, row.__p_path);

  /** Turns page rows into members, priming `memberDepartments` when the rows carry them. */
  const pageRows = (key: Omit<MemberPageKey, "departmentPk">, rows: Array<Member & { __key: string; __departments?: unknown[][] }>): Member[] => {
    if (key.withDepartments) {
      const hydrateDepartment = pageColumns(key.columns).deptJson.hydrate;
      for (const row of rows) {
        const departments = visible((row.__departments ?? []).map(hydrateDepartment));
        // The newest read wins (prime alone keeps the first), so the loader and the sync view agree.
        memberDepartments.clear(String(row.pk)).prime(String(row.pk), departments);
        primedMemberDepartments.set(String(row.pk), departments);
      }
    }
    return rows.map((row) => {
      const member = Object.create(Member.prototype) as Record<string, unknown>;
      for (const prop of memberProps) member[prop] = (row as unknown as Record<string, unknown>)[prop];
      return member as unknown as Member;
    });
  };

  const departmentMembers = new DataLoader<MemberPageKey, Member[], string>(
    async (keys) => {
      const groups = new Map<string, MemberPageKey[]>();
      for (const k of keys) {
        const g = `${k.includeSubdepartments}|${k.withDepartments === true}|${k.columns ?? "*"}|${JSON.stringify(k.window)}`;
        groups.set(g, [...(groups.get(g) ?? []), k]);
      }
      const results = new Map<MemberPageKey, Member[]>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const params = new SqlParams();
          const pks = params.add(group.map((k) => k.departmentPk));
          const sql = memberPageSql(group[0], params, pks);
          const rows = await ctx.db.rows<Member & { __key: string; __departments?: unknown[][]; __p_path?: string }>(sql, params.values);
          const byDepartment = new Map<string, typeof rows>(group.map((k) => [k.departmentPk, []]));
          for (const row of rows) if (rowDepartmentVisible(row)) byDepartment.get(String(row.__key))?.push(row);
          for (const k of group) results.set(k, pageRows(k, byDepartment.get(k.departmentPk)!));
        }),
      );
      return keys.map((k) => results.get(k)!);
    },
    { cacheKeyFn: (k) => `${k.departmentPk}|${k.includeSubdepartments}|${k.withDepartments === true}|${k.columns ?? "*"}|${JSON.stringify(k.window)}` },
  );

  const loaders = {
    /**
     * A member's departments if this request's page statements already delivered them (no
     * promise, so a field that reads them resolves synchronously), else undefined: use
     * `memberDepartments`.
     */
    memberDepartmentsIfLoaded: (memberPk: string): Department[] | undefined => primedMemberDepartments.get(memberPk),

    /** A department by id; undefined when it does not exist or the caller may not see it. */
    department: new DataLoader<string, Department | undefined>(async (pks) => {
      const rows = visible(await ctx.db.entities(Department, `SELECT ${deptCols} FROM department d WHERE d.corp_id = $1 AND d.id = ANY($2::bigint[])`, [pks]));
      const byPk = new Map(rows.map((d) => [d.pk, d]));
      return pks.map((pk) => byPk.get(pk));
    }),

    /** A member by id; undefined when they do not exist or are in no department the caller sees. */
    member: new DataLoader<string, Member | undefined>(async (pks) => {
      const rows = visibleMembers(
        await ctx.db.entities(Member, `SELECT ${memberCols}${memberPathsColumn("m")} FROM member m WHERE m.corp_id = $1 AND m.id = ANY($2::bigint[])`, [pks]),
      );
      const byPk = new Map(rows.map((m) => [m.pk, m]));
      return pks.map((pk) => byPk.get(pk));
    }),

    /** Sub-departments of each department that the caller may see, in sibling order. */
    children: new DataLoader<string, Department[]>(async (pks) => {
      const rows = await ctx.db.rows<Department & { __key: string }>(
        `SELECT d.parent_id AS "__key", ${deptCols} FROM department d
          WHERE d.corp_id = $1 AND d.parent_id = ANY($2::bigint[]) ORDER BY d.parent_id, d."order", d.id`,
        [pks],
      );
      return visibleLists(hydrateAll(Department, groupBy(pks, rows)));
    }),

    /**
     * Leaders of each department that the caller may see, by member id. Writers keep leaders within
     * the department's members (so within what sees the department), but the loader does not rely on it.
     */
    leaders: new DataLoader<string, Member[]>(async (pks) => {
      const rows = await ctx.db.rows<Member & { __key: string }>(
        `SELECT l.department_id AS "__key", ${memberCols}${memberPathsColumn("m")} FROM department_leader l JOIN member m ON m.id = l.member_id
          WHERE l.corp_id = $1 AND l.department_id = ANY($2::bigint[]) ORDER BY l.department_id, m.id`,
        [pks],
      );
      return hydrateAll(Member, groupBy(pks, visibleMembers(rows)));
    }),

    /** Departments of each member that the caller may see (main department first). */
    memberDepartments,

    /** Departments each member leads, those the caller may see. */
    leaderOf: new DataLoader<string, Department[]>(async (pks) => {
      const rows = await ctx.db.rows<Department & { __key: string }>(
        `SELECT l.member_id AS "__key", ${deptCols} FROM department_leader l JOIN department d ON d.id = l.department_id
          WHERE l.corp_id = $1 AND l.member_id = ANY($2::bigint[]) ORDER BY l.member_id, d.depth, d."order", d.id`,
        [pks],
      );
      return visibleLists(hydrateAll(Department, groupBy(pks, rows)));
    }),

    /**
     * Number of members of each department; keys are `pk` or `pk+` (with sub-departments). 0 for a
     * department the caller may not see.
     */
    memberCount: new DataLoader<string, number>(async (keys) => {
      const rows = await ctx.db.rows<{ key: string; n: string; path: string }>(
        `SELECT k.key, p.path, (SELECT count(DISTINCT md.member_id) FROM member_department md JOIN department d ON d.id = md.department_id
                         WHERE md.corp_id = $1 AND d.corp_id = $1
                           AND (CASE WHEN right(k.key, 1) = '+' THEN d.path LIKE p.path || '%' ELSE d.id = p.id END)) AS n
           FROM unnest($2::text[]) AS k(key)
           JOIN department p ON p.corp_id = $1 AND p.id = rtrim(k.key, '+')::bigint`,
        [keys],
      );
      const principal = ctx.caller;
      const byKey = new Map(rows.filter((r) => canSee(principal, r.path)).map((r) => [r.key, Number(r.n)]));
      return keys.map((k) => byKey.get(k) ?? 0);
    }),

    /**
     * One page of members for each of several departments in one statement (a LATERAL join per
     * department), ordered by member id. Keys asking for the same window share the statement.
     */
    departmentMembers,

    /**
     * A department and one page of its members in one statement (the root `department` field when
     * the query selects its `members`): primes `department` and `departmentMembers` with what it
     * read, so the fields that follow cost no statement.
     */
    departmentWithMembers: async (pk: string, page: Omit<MemberPageKey, "departmentPk">): Promise<Department | undefined> => {
      const params = new SqlParams();
      const sql = memberPageSql(page, params, params.add(pk), true);
      const rows = await ctx.db.rows<Member & { __key: string; __departments?: unknown[][]; __p_path?: string } & Record<string, unknown>>(sql, params.values);
      if (rows.length === 0 || !rowDepartmentVisible(rows[0])) return undefined;
      const department = Object.create(Department.prototype) as Department & Record<string, unknown>;
      for (const [db, prop] of deptProps) department[prop] = rows[0][`__d_${db}`];
      const members = rows.filter((row) => row.pk !== null);
      loaders.department.prime(pk, department);
      loaders.departmentMembers.prime({ departmentPk: pk, ...page }, pageRows(page, members));
      return department;
    },
  };
  return loaders;
}

export type Loaders = ReturnType<typeof createLoaders>;
