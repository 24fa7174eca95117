import type { RequestContext } from "../context";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { hydrate, selectList } from "../db/scoped-db";
import { badInput } from "../errors/domain-error";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { MemberStatus } from "../domain/enums";
import { memberVisibleSql, requireAdministratorOrLeader, seesWholeCorp, visibleSql } from "../policy";

/** Members UNACTIVATED for longer than this are listed by default (source §1: never activated). */
export const DEFAULT_UNACTIVATED_DAYS = 30;

/**
 * Directory health (issue 4, source §1): departments with no members and no sub-departments
 * (zombies; never the root), and accounts that may be redundant (UNACTIVATED for more than 30
 * days, DISABLED, RESIGNED). The resolver declares `directory:read`; a member acting through an app
 * must be a corp admin or a leader; every list is limited to the caller's visibility. The scans use the existing
 * indexes: members by (corp, status, id), children by (corp, parent), memberships by department.
 */
export class HealthService {
  authorize(ctx: RequestContext): void {
    requireAdministratorOrLeader(ctx.caller, "read the directory's health");
  }

  async zombieDepartments(ctx: RequestContext, window: PageWindow): Promise<Connection<Department>> {
    this.authorize(ctx);
    const params = new SqlParams();
    const where = `d.corp_id = $1 AND d.parent_id IS NOT NULL AND ${visibleSql(ctx.caller, params, "d.path")}
      AND NOT EXISTS (SELECT 1 FROM department c WHERE c.corp_id = $1 AND c.parent_id = d.id)
      AND NOT EXISTS (SELECT 1 FROM member_department md WHERE md.department_id = d.id)`;
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Department, "d"),
      from: "department d",
      where,
      params,
      key: [{ sql: "d.id", cast: "bigint" }],
      keyOf: (d) => [d.pk],
      map: (row) => hydrate(Department, row),
    });
  }

  /** Members in `status` (for UNACTIVATED: created more than `olderThanDays` days ago), by id. */
  async members(ctx: RequestContext, status: MemberStatus, window: PageWindow, olderThanDays?: number): Promise<Connection<Member>> {
    this.authorize(ctx);
    const params = new SqlParams();
    const conditions = ["m.corp_id = $1", `m.status = ${params.add(status)}`];
    if (olderThanDays !== undefined) {
      if (!Number.isInteger(olderThanDays) || olderThanDays < 0 || olderThanDays > 3650) {
        throw badInput("olderThanDays", "olderThanDays must be from 0 to 3650.");
      }
      conditions.push(`m.created_at < now() - make_interval(days => ${params.add(olderThanDays)})`);
    }
    if (!seesWholeCorp(ctx.caller)) conditions.push(memberVisibleSql(ctx.caller, params, "m"));
    const where = conditions.join(" AND ");
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Member, "m"),
      from: "member m",
      where,
      params,
      key: [{ sql: "m.id", cast: "bigint" }],
      keyOf: (m) => [m.pk],
      map: (row) => hydrate(Member, row),
    });
  }
}
