import type { RequestContext } from "../context";
import { STREAMS } from "../events/log";
import { canManageMembersIn, requireAdministratorGrant, requireMemberWritable, seesWholeCorp, visibleSql } from "../policy";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { hydrate, selectList } from "../db/scoped-db";
import { MEMBER_DEPARTMENT_ORDER, type MemberPageKey } from "./loaders";
import { badInput, forbidden, notFound } from "../errors/domain-error";
import { paginate, toConnection, type Connection, type PageWindow } from "../db/paging";
import { SqlParams, likeEscape } from "../db/sql";
import { DirectoryEventType, MemberStatus } from "../domain/enums";

/** The searchable text of a member; the trigram index `member_search_trgm_idx` is on this expression. */
export const MEMBER_SEARCH_SQL = `lower(m."name"::text || ' ' || m."employee_id"::text || ' ' || coalesce(m."email", '') || ' ' || coalesce(m."mobile", ''))`;

/** At most this many departments per member. */
export const MAX_MEMBER_DEPARTMENTS = 20;

export interface MemberFilter {
  departmentPk?: string | null;
  includeSubdepartments?: boolean | null;
  status?: MemberStatus | null;
  search?: string | null;
}

export interface MemberProfile {
  name: string;
  title: string | null;
  extension: string | null;
  mobile: string | null;
  email: string | null;
}

export interface CreateMemberData extends Partial<MemberProfile> {
  employeeId: string;
  name: string;
  departmentPks: string[];
  mainDepartmentPk?: string | null;
  status?: MemberStatus | null;
  isCorpAdmin?: boolean | null;
}

/** `undefined`: leave unchanged; `null` (nullable fields): clear. */
export interface UpdateMemberData {
  employeeId?: string;
  name?: string;
  title?: string | null;
  extension?: string | null;
  mobile?: string | null;
  email?: string | null;
  departmentPks?: string[];
  mainDepartmentPk?: string;
  isCorpAdmin?: boolean;
}

const PROFILE_FIELDS = ["employeeId", "name", "title", "extension", "mobile", "email", "isCorpAdmin"] as const;
const COLUMN: Record<(typeof PROFILE_FIELDS)[number], string> = {
  employeeId: "employee_id",
  name: "name",
  title: "title",
  extension: "extension",
  mobile: "mobile",
  email: "email",
  isCorpAdmin: "is_corp_admin",
};

/**
 * Members (source §1): each in 1–20 departments with one main department, employee id unique in
 * the corp. Scopes are declared on the resolvers; a member acting through an app must be a corp
 * admin or lead a department enclosing every department the member is in, before and after the
 * change (`policy`: `memberWriteRefusal`). Reads apply visibility through the loaders.
 */
export class MemberService {
  /** A member the caller may see (in at least one visible department), or undefined. */
  find(ctx: RequestContext, pk: string): Promise<Member | undefined> {
    return ctx.loaders.member.load(pk);
  }

  async get(ctx: RequestContext, pk: string, field = "id"): Promise<Member> {
    const member = await this.find(ctx, pk);
    if (!member) throw notFound("Member", field);
    return member;
  }

  async findByEmployeeId(ctx: RequestContext, employeeId: string): Promise<Member | undefined> {
    const row = await ctx.db.one<{ id: string }>(`SELECT id FROM member WHERE corp_id = $1 AND employee_id = $2`, [employeeId]);
    return row ? this.find(ctx, row.id) : undefined;
  }

  /** Members matching `filter` within the caller's visibility, by creation (id) order. */
  async list(ctx: RequestContext, filter: MemberFilter, window: PageWindow): Promise<Connection<Member>> {
    const params = new SqlParams();
    const where = ["m.corp_id = $1"];
    if (filter.status) where.push(`m.status = ${params.add(filter.status)}`);
    if (filter.search != null && filter.search.trim() !== "") {
      where.push(`${MEMBER_SEARCH_SQL} LIKE ${params.add(`%${likeEscape(filter.search.trim().toLowerCase())}%`)}`);
    }
    const inDepartment: string[] = [];
    if (filter.departmentPk != null) {
      const department = await ctx.services.departments.get(ctx, filter.departmentPk, "filter.departmentId");
      inDepartment.push(filter.includeSubdepartments ? `d.path LIKE ${params.add(department.path + "%")}` : `d.id = ${params.add(department.pk)}`);
    }
    if (!seesWholeCorp(ctx.caller)) inDepartment.push(visibleSql(ctx.caller, params, "d.path"));
    if (inDepartment.length) {
      where.push(`EXISTS (SELECT 1 FROM member_department md JOIN department d ON d.id = md.department_id
                          WHERE md.corp_id = $1 AND md.member_id = m.id AND ${inDepartment.join(" AND ")})`);
    }
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Member, "m"),
      from: "member m",
      where: where.join(" AND "),
      params,
      key: [{ sql: "m.id", cast: "bigint" }],
      keyOf: (m) => [m.pk],
      map: (row) => hydrate(Member, row),
    });
  }

  /**
   * Members of one department (optionally its subtree), one page; batched across departments.
   * `prefetch`: whether the caller will ask for the members' departments (fetched in the same
   * statement), and which optional columns it reads (see `MemberPageKey`).
   */
  async ofDepartment(
    ctx: RequestContext,
    department: Department,
    includeSubdepartments: boolean,
    window: PageWindow,
    prefetch: Pick<MemberPageKey, "withDepartments" | "columns"> = {},
  ): Promise<Connection<Member>> {
    const rows = await ctx.loaders.departmentMembers.load({ departmentPk: department.pk, includeSubdepartments, window, ...prefetch });
    return toConnection(
      [...rows],
      window,
      (m) => [m.pk],
      () => this.countIn(ctx, department, includeSubdepartments),
    );
  }

  countIn(ctx: RequestContext, department: Department, includeSubdepartments: boolean): Promise<number> {
    return ctx.loaders.memberCount.load(includeSubdepartments ? `${department.pk}+` : department.pk);
  }

  /**
   * The member's departments the caller may see, main department first. Synchronous when the
   * request already read them (a members page fetched with them): no promise per member.
   */
  departments(ctx: RequestContext, member: Member): Department[] | Promise<Department[]> {
    return ctx.loaders.memberDepartmentsIfLoaded(member.pk) ?? ctx.loaders.memberDepartments.load(member.pk);
  }

  /** The main department, when the caller may see it. */
  async mainDepartment(ctx: RequestContext, member: Member): Promise<Department | undefined> {
    const departments = await ctx.loaders.memberDepartments.load(member.pk);
    return departments.find((d) => d.pk === member.mainDepartmentId);
  }

  /** Departments the member leads that the caller may see. */
  leaderOf(ctx: RequestContext, member: Member): Promise<Department[]> {
    return ctx.loaders.leaderOf.load(member.pk);
  }

  async create(ctx: RequestContext, data: CreateMemberData): Promise<Member> {
    const departments = await this.writableDepartments(ctx, data.departmentPks);
    const mainPk = this.mainOf(data.departmentPks, data.mainDepartmentPk);
    if (data.isCorpAdmin) requireAdministratorGrant(ctx.caller);
    const [member] = await ctx.db.entities(
      Member,
      `INSERT INTO member AS m (corp_id, employee_id, name, title, extension, mobile, email, status, is_corp_admin, main_department_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${selectList(ctx.deps.dataSource, Member, "m")}`,
      [
        data.employeeId,
        data.name,
        data.title ?? null,
        data.extension ?? null,
        data.mobile ?? null,
        data.email?.toLowerCase() ?? null,
        data.status ?? MemberStatus.UNACTIVATED,
        data.isCorpAdmin ?? false,
        mainPk,
      ],
    );
    await this.setDepartments(ctx, member.pk, data.departmentPks);
    ctx.emit(STREAMS.directory, {
      type: DirectoryEventType.MEMBER_CREATED,
      subjectType: "Member",
      subjectId: member.pk,
      audience: departments.map((d) => d.path),
    });
    return member;
  }

  async update(ctx: RequestContext, pk: string, data: UpdateMemberData): Promise<Member> {
    const { member, departments: before } = await this.writable(ctx, pk, "input.id");
    const changed: string[] = [];
    const sets: string[] = [];
    const params: unknown[] = [pk];
    for (const field of PROFILE_FIELDS) {
      const value = field === "email" ? (data.email?.toLowerCase() ?? data.email) : data[field];
      if (value === undefined || value === member[field]) continue;
      if (field === "isCorpAdmin") requireAdministratorGrant(ctx.caller);
      params.push(value);
      sets.push(`${COLUMN[field]} = $${params.length + 1}`);
      changed.push(field);
    }
    let after = before;
    const departmentPks = data.departmentPks ?? before.map((d) => d.pk);
    if (data.departmentPks !== undefined) {
      after = await this.writableDepartments(ctx, data.departmentPks);
      const same = after.length === before.length && after.every((d) => before.some((b) => b.pk === d.pk));
      if (!same) changed.push("departments");
    }
    if (data.departmentPks !== undefined || data.mainDepartmentPk !== undefined) {
      const mainPk =
        data.mainDepartmentPk !== undefined || !departmentPks.includes(member.mainDepartmentId)
          ? this.mainOf(departmentPks, data.mainDepartmentPk)
          : member.mainDepartmentId;
      if (mainPk !== member.mainDepartmentId) {
        params.push(mainPk);
        sets.push(`main_department_id = $${params.length + 1}`);
        changed.push("mainDepartment");
      }
    }
    if (!changed.length) return member;
    const [updated] = await ctx.db.entities(
      Member,
      `UPDATE member AS m SET ${[...sets, "updated_at = now()"].join(", ")} WHERE m.corp_id = $1 AND m.id = $2
       RETURNING ${selectList(ctx.deps.dataSource, Member, "m")}`,
      params,
    );
    if (changed.includes("departments")) await this.setDepartments(ctx, pk, departmentPks);
    const scopePaths = [...new Set([...before, ...after].map((d) => d.path))];
    ctx.emit(STREAMS.directory, {
      type: DirectoryEventType.MEMBER_UPDATED,
      subjectType: "Member",
      subjectId: pk,
      audience: scopePaths,
      data: { changedFields: changed },
    });
    return updated;
  }

  async setStatus(ctx: RequestContext, pk: string, status: MemberStatus): Promise<Member> {
    const { member, departments } = await this.writable(ctx, pk, "input.id");
    if (member.status === status) return member;
    const [updated] = await ctx.db.entities(
      Member,
      `UPDATE member AS m SET status = $3, updated_at = now() WHERE m.corp_id = $1 AND m.id = $2
       RETURNING ${selectList(ctx.deps.dataSource, Member, "m")}`,
      [pk, status],
    );
    ctx.emit(STREAMS.directory, {
      type: DirectoryEventType.MEMBER_STATUS_CHANGED,
      subjectType: "Member",
      subjectId: pk,
      audience: departments.map((d) => d.path),
      data: { from: member.status, to: status },
    });
    return updated;
  }

  async delete(ctx: RequestContext, pk: string): Promise<Member> {
    const { member, departments } = await this.writable(ctx, pk, "input.id");
    await ctx.db.exec(`DELETE FROM member WHERE corp_id = $1 AND id = $2`, [pk]);
    ctx.emit(STREAMS.directory, {
      type: DirectoryEventType.MEMBER_DELETED,
      subjectType: "Member",
      subjectId: pk,
      audience: departments.map((d) => d.path),
      data: { employeeId: member.employeeId, name: member.name },
    });
    return member;
  }

  /**
   * The member and every one of their departments (those the caller cannot see too: the rule needs
   * them all), if the caller may change the member (`requireMemberWritable`); else NOT_FOUND on
   * `field` or FORBIDDEN. Member writes, activation links and remote sign-out share it.
   */
  async writable(ctx: RequestContext, pk: string, field: string): Promise<{ member: Member; departments: Department[] }> {
    const ds = ctx.deps.dataSource;
    const [member] = await ctx.db.entities(Member, `SELECT ${selectList(ds, Member, "m")} FROM member m WHERE m.corp_id = $1 AND m.id = $2`, [pk]);
    if (!member) throw notFound("Member", field);
    const departments = await ctx.db.entities(
      Department,
      `SELECT ${selectList(ds, Department, "d")} FROM member_department md JOIN department d ON d.id = md.department_id JOIN member m ON m.id = md.member_id
        WHERE md.corp_id = $1 AND md.member_id = $2 ORDER BY ${MEMBER_DEPARTMENT_ORDER}`,
      [pk],
    );
    requireMemberWritable(ctx.caller, { isCorpAdmin: member.isCorpAdmin, departmentPaths: departments.map((d) => d.path) }, field);
    return { member, departments };
  }

  /** Departments a member may be put in by the caller, in input order. */
  private async writableDepartments(ctx: RequestContext, pks: string[]): Promise<Department[]> {
    if (pks.length === 0) throw badInput("input.departmentIds", "A member needs at least one department.");
    if (pks.length > MAX_MEMBER_DEPARTMENTS) {
      throw badInput("input.departmentIds", `A member can be in at most ${MAX_MEMBER_DEPARTMENTS} departments.`);
    }
    if (new Set(pks).size !== pks.length) throw badInput("input.departmentIds", "A department is listed twice.");
    const found = await ctx.services.departments.findMany(ctx, pks);
    if (found.length !== pks.length) throw notFound("A department of input.departmentIds", "input.departmentIds");
    if (!found.every((d) => canManageMembersIn(ctx.caller, d.path))) {
      throw forbidden("You may only place members in departments of the subtrees you lead.");
    }
    return pks.map((pk) => found.find((d) => d.pk === pk)!);
  }

  private mainOf(departmentPks: string[], mainPk: string | null | undefined): string {
    if (mainPk == null) return departmentPks[0];
    if (!departmentPks.includes(mainPk)) {
      throw badInput("input.mainDepartmentId", "The main department must be one of the member's departments.");
    }
    return mainPk;
  }

  private async setDepartments(ctx: RequestContext, memberPk: string, departmentPks: string[]): Promise<void> {
    await ctx.db.exec(`DELETE FROM member_department WHERE corp_id = $1 AND member_id = $2 AND NOT (department_id = ANY($3::bigint[]))`, [
      memberPk,
      departmentPks,
    ]);
    await ctx.db.exec(`INSERT INTO member_department (corp_id, member_id, department_id) SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING`, [
      memberPk,
      departmentPks,
    ]);
    // A member leads only departments they belong to.
    await ctx.db.exec(`DELETE FROM department_leader WHERE corp_id = $1 AND member_id = $2 AND NOT (department_id = ANY($3::bigint[]))`, [
      memberPk,
      departmentPks,
    ]);
  }
}
