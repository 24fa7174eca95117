import type { Principal } from "../auth/principal";
import type { Scope } from "../auth/scopes";
import { forbidden } from "../errors/domain-error";
import type { SqlParams } from "../schema/connection";

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
