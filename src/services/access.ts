import type { RequestContext } from "../context";
import type { Principal } from "../policy/principal";
import type { Scope } from "../policy/scopes";
import { editionRequired, forbidden } from "../errors/domain-error";
import type { SqlParams } from "../schema/connection";
import { Edition } from "../domain/enums";

/** Refuses a caller whose token lacks `scope` (FORBIDDEN names the scope to request). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) {
    throw forbidden(`This operation needs the scope \`${scope}\`; the token carries: ${[...principal.scopes].join(" ") || "none"}.`);
  }
}

/**
 * SQL predicate limiting `pathExpr` (a department path) to the caller's visibility scope; `TRUE`
 * when the caller sees the whole corp. The one place visibility becomes SQL.
 */
export function visibleSql(principal: Principal, params: SqlParams, pathExpr: string): string {
  if (principal.visibleRoots === null) return "TRUE";
  return `${pathExpr} LIKE ANY(${params.add(principal.visibleRoots.map((root) => `${root}%`))}::text[])`;
}

/** Escapes `%`, `_` and `\` for a LIKE pattern. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Refuses (EDITION_REQUIRED) a feature of the PROFESSIONAL edition to a BASIC corp (PRODUCT.md, "Editions"). */
export async function requireProfessional(ctx: RequestContext, feature: string): Promise<void> {
  const corp = await ctx.db.one<{ edition: Edition }>(`SELECT edition FROM corp WHERE id = $1`);
  if (corp?.edition !== Edition.PROFESSIONAL) {
    throw editionRequired(`${feature} needs the PROFESSIONAL edition; this corp has ${corp?.edition ?? "none"}.`);
  }
}

/**
 * SQL predicate: the department at `pathExpr` is one whose members the caller may change (within
 * the app's visibility and, for a member who is not a corp admin, within the subtrees they lead);
 * the SQL form of `canManageMembersIn`.
 */
export function manageableSql(principal: Principal, params: SqlParams, pathExpr: string): string {
  const visible = visibleSql(principal, params, pathExpr);
  const m = principal.member;
  if (m === null || m.isCorpAdmin) return visible;
  if (!m.ledRoots.length) return "FALSE";
  return `(${visible} AND ${pathExpr} LIKE ANY(${params.add(m.ledRoots.map((root) => `${root}%`))}::text[]))`;
}

/**
 * SQL predicate: the member `alias` is out of the caller's reach for writes (and whole-member
 * exports): one of their departments is not manageable by the caller, or they are a corp admin and
 * the caller a member who is not. `FALSE` for callers who reach the whole corp.
 */
export function outOfReachSql(principal: Principal, params: SqlParams, alias: string): string {
  const m = principal.member;
  if (principal.visibleRoots === null && (m === null || m.isCorpAdmin)) return "FALSE";
  const adminGuard = m && !m.isCorpAdmin ? `${alias}.is_corp_admin OR ` : "";
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
