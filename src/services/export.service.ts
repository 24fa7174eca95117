import type { Writable } from "node:stream";
import { once } from "node:events";
import type { RequestContext } from "../context";
import { canManageMembersIn, outOfReachSql, requireAdministratorOrLeader } from "../policy";
import { likeEscape, SqlParams } from "../db/sql";
import { forbidden, notFound } from "../errors/domain-error";
import { MemberStatus } from "../domain/enums";
import { MEMBER_SEARCH_SQL, type MemberFilter } from "./member.service";
import { CSV_COLUMNS, csvLine, departmentKeys, escapeName, RELATIVE_MARK } from "./directory-csv";

const EXPORT_TTL_SECONDS = 3600;
const BATCH = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The filter as stored with an export. */
interface StoredFilter {
  departmentPk: string | null;
  includeSubdepartments: boolean;
  status: MemberStatus | null;
  search: string | null;
}

/**
 * The path the export writes for each department. A caller that sees the whole corp gets the
 * import's paths (below the root). A caller that sees only some subtrees never reads the name of a
 * department outside them (finding 7 of issue 11): a path that would name one starts instead at
 * the topmost visible department above it, after `~/` (`~/A-SalesEast/Team 1` for a caller that
 * sees A-SalesEast but not its parent A-Sales), which the import reads back the same way.
 */
export function exportKeys(departments: { id: string; parent_id: string | null; name: string }[], visibleRoots: readonly string[] | null): Map<string, string> {
  const keys = departmentKeys(departments);
  if (visibleRoots === null) return keys;
  const rootIds = new Set(visibleRoots.map((path) => path.split("/").filter(Boolean).pop()!));
  const byId = new Map(departments.map((d) => [d.id, d]));
  const relative = new Map<string, string>();
  for (const d of departments) {
    let top: typeof d | undefined;
    for (let a: typeof d | undefined = d; a; a = a.parent_id === null ? undefined : byId.get(a.parent_id)) {
      if (rootIds.has(a.id)) top = a;
    }
    if (!top) continue;
    // The root or a department right below it: the whole path names only what the caller sees.
    if (top.parent_id === null || byId.get(top.parent_id)?.parent_id === null) {
      relative.set(d.id, keys.get(d.id)!);
      continue;
    }
    const below = keys.get(d.id)!.slice(keys.get(top.id)!.length);
    relative.set(d.id, `${RELATIVE_MARK}/${escapeName(top.name)}${below}`);
  }
  return relative;
}

/**
 * Member exports (issue 4): `exportMembers` records what to export and answers a URL; `GET
 * /exports/:id` streams it as CSV in the import's format, in batches, so an export of any size
 * holds one batch in memory. Administrators (and apps) within their visibility, leaders within the
 * subtrees they lead; the EXPORTS feature (PROFESSIONAL). A file holds only members wholly within the caller's
 * reach (every department of theirs), so that importing it with REPLACE changes nothing: not their
 * departments elsewhere, not the members it leaves out. Paths: `exportKeys`; cells: `writeCell`.
 */
export class ExportService {
  /**
   * Refuses callers who may not export; checks the filter's department is theirs to export. The
   * scope and the edition's feature (EXPORTS) are checked where the request arrives: declared on
   * `exportMembers` and on `GET /exports/:id`.
   */
  private async authorize(ctx: RequestContext, filter: StoredFilter, field: string): Promise<void> {
    requireAdministratorOrLeader(ctx.caller, "export members");
    if (filter.departmentPk) {
      const department = await ctx.services.departments.get(ctx, filter.departmentPk, field);
      if (!canManageMembersIn(ctx.caller, department.path)) {
        throw forbidden("You may export only members of the subtrees you lead.");
      }
    }
  }

  async create(ctx: RequestContext, filter: MemberFilter): Promise<{ url: string; expiresAt: Date }> {
    const stored: StoredFilter = {
      departmentPk: filter.departmentPk ?? null,
      includeSubdepartments: filter.includeSubdepartments ?? false,
      status: filter.status ?? null,
      search: filter.search?.trim() || null,
    };
    await this.authorize(ctx, stored, "input.filter.departmentId");
    const row = await ctx.db.one<{ id: string; expires_at: Date }>(
      `INSERT INTO member_export (corp_id, app_id, filter, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       RETURNING id, expires_at`,
      [ctx.caller.appId, JSON.stringify(stored), EXPORT_TTL_SECONDS],
    );
    return { url: `${ctx.deps.config.publicUrl}/exports/${row!.id}`, expiresAt: row!.expires_at };
  }

  /**
   * Writes the export `id` to `out` as CSV. The caller's permissions are checked again now (the
   * token may have changed since); an export of another app or corp, or an expired one, is NOT_FOUND.
   * Resolves when everything is written.
   */
  async write(ctx: RequestContext, id: string, out: Writable, begin: () => void): Promise<void> {
    const row = UUID.test(id)
      ? await ctx.db.one<{ filter: StoredFilter }>(
          `SELECT filter FROM member_export WHERE corp_id = $1 AND id = $2::uuid AND app_id = $3 AND expires_at > now()`,
          [id, ctx.caller.appId],
        )
      : undefined;
    if (!row) throw notFound("Export");
    const filter = row.filter;
    await this.authorize(ctx, filter, "id");

    const departments = await ctx.db.rows<{ id: string; parent_id: string | null; name: string }>(
      `SELECT id::text, parent_id::text, name FROM department WHERE corp_id = $1 ORDER BY depth, id`,
    );
    const keys = exportKeys(departments, ctx.caller.visibleRoots);
    const params = new SqlParams(3);
    const where = ["m.corp_id = $1", `NOT ${outOfReachSql(ctx.caller, params, "m")}`];
    where.push(filter.status ? `m.status = ${params.add(filter.status)}` : `m.status <> '${MemberStatus.RESIGNED}'`);
    if (filter.search) where.push(`${MEMBER_SEARCH_SQL} LIKE ${params.add(`%${likeEscape(filter.search.toLowerCase())}%`)}`);
    if (filter.departmentPk) {
      const department = (await ctx.services.departments.get(ctx, filter.departmentPk, "id"))!;
      const inDepartment = filter.includeSubdepartments ? `d.path LIKE ${params.add(department.path + "%")}` : `d.id = ${params.add(department.pk)}`;
      where.push(`EXISTS (SELECT 1 FROM member_department md JOIN department d ON d.id = md.department_id
                          WHERE md.corp_id = $1 AND md.member_id = m.id AND ${inDepartment})`);
    }
    const sql = `SELECT m.id::text, m.employee_id, m.name, m.title, m.extension, m.mobile, m.email,
                        ARRAY(SELECT md.department_id::text FROM member_department md WHERE md.corp_id = $1 AND md.member_id = m.id
                               ORDER BY md.department_id = m.main_department_id DESC, md.department_id) AS departments
                   FROM member m WHERE ${where.join(" AND ")} AND m.id > $2 ORDER BY m.id LIMIT ${BATCH}`;

    begin();
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, "drain");
    };
    await write(csvLine(CSV_COLUMNS));
    let last = "0";
    for (;;) {
      const batch = await ctx.db.rows<{
        id: string;
        employee_id: string;
        name: string;
        title: string | null;
        extension: string | null;
        mobile: string | null;
        email: string | null;
        departments: string[];
      }>(sql, [last, ...params.values]);
      let text = "";
      for (const m of batch) {
        const department = m.departments.map((d) => keys.get(d)!).join(";");
        text += csvLine([m.employee_id, m.name, department, m.title, m.extension, m.mobile, m.email]);
      }
      if (text) await write(text);
      if (batch.length < BATCH) break;
      last = batch[batch.length - 1].id;
    }
  }
}
