import type { SqlParams } from "../db/sql";
import { isCorpAdministrator, reachesWholeCorp, seesWholeCorp, type Principal } from "./principal";

/*
 * The SQL forms of the rules in `principal.ts`, for lists and bulk statements (exports, imports),
 * where testing each row in memory would mean reading every row. Each names the rule it mirrors;
 * `test/policy.test.ts` checks on a real tree that both forms agree. They test paths by prefix (a
 * prefix LIKE can use `department_corp_path_idx`, a segment test cannot), which agrees with
 * `withinRoots` for a principal whose roots are current; one held across a move of its subtree (a
 * long-lived subscription) is read right only in memory, which is why the loaders
 * (`services/loaders.ts`) test visibility there.
 */

/**
 * SQL predicate limiting `pathExpr` (a department path) to the caller's visibility scope; `TRUE`
 * when the caller sees the whole corp. The SQL form of `canSee`.
 */
export function visibleSql(principal: Principal, params: SqlParams, pathExpr: string): string {
  if (seesWholeCorp(principal)) return "TRUE";
  return `${pathExpr} LIKE ANY(${params.add(principal.visibleRoots!.map((root) => `${root}%`))}::text[])`;
}

/**
 * SQL predicate: the member `alias` (a `member` row) is in at least one department the caller may
 * see; `TRUE` when the caller sees the whole corp. The SQL form of `canSeeMember`.
 */
export function memberVisibleSql(principal: Principal, params: SqlParams, alias: string): string {
  if (seesWholeCorp(principal)) return "TRUE";
  return `EXISTS (SELECT 1 FROM member_department md_v JOIN department d_v ON d_v.id = md_v.department_id
                   WHERE md_v.corp_id = $1 AND md_v.member_id = ${alias}.id AND ${visibleSql(principal, params, "d_v.path")})`;
}

/**
 * SQL predicate: the department at `pathExpr` is one whose members the caller may change (within
 * the app's visibility and, for a member who is not a corp admin, within the subtrees they lead);
 * the SQL form of `canManageMembersIn`.
 */
export function manageableSql(principal: Principal, params: SqlParams, pathExpr: string): string {
  const visible = visibleSql(principal, params, pathExpr);
  if (isCorpAdministrator(principal)) return visible;
  const led = principal.member!.ledRoots;
  if (!led.length) return "FALSE";
  return `(${visible} AND ${pathExpr} LIKE ANY(${params.add(led.map((root) => `${root}%`))}::text[]))`;
}

/**
 * SQL predicate: the member `alias` is out of the caller's reach for writes (and whole-member
 * exports): one of their departments is not manageable by the caller, or they are a corp admin and
 * the caller is not. `FALSE` for callers who reach the whole corp. The SQL form of `NOT canWriteMember`.
 */
export function outOfReachSql(principal: Principal, params: SqlParams, alias: string): string {
  if (reachesWholeCorp(principal)) return "FALSE";
  const adminGuard = isCorpAdministrator(principal) ? "" : `${alias}.is_corp_admin OR `;
  return `(${adminGuard}EXISTS (SELECT 1 FROM member_department md_r JOIN department d_r ON d_r.id = md_r.department_id
            WHERE md_r.corp_id = $1 AND md_r.member_id = ${alias}.id AND NOT ${manageableSql(principal, params, "d_r.path")}))`;
}

/**
 * SQL: the app `a` has the member `member` (a column or a parameter) in its visibility: the whole
 * corp, the member named singly, or one of the member's departments within a visible subtree. Who
 * may sign in to an app, and `appsForMember`.
 */
export function appSeesMemberSql(member: string): string {
  return `(a.visible_department_ids IS NULL OR ${member} = ANY(a.visible_member_ids) OR EXISTS (
    SELECT 1 FROM member_department md JOIN department d ON d.id = md.department_id
      JOIN department v ON v.corp_id = $1 AND v.id = ANY(a.visible_department_ids)
     WHERE md.corp_id = $1 AND md.member_id = ${member} AND d.path LIKE v.path || '%'))`;
}
