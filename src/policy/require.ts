import { editionRequired, forbidden, notFound } from "../errors/domain-error";
import { featureRefusal, hasFeature, type Feature } from "../domain/editions";
import {
  canGrantAdministrator,
  canManageDepartments,
  canSeeMember,
  isAdministratorOrLeader,
  isCorpAdministrator,
  memberWriteRefusal,
  seesWholeCorp,
  type MemberReach,
  type Principal,
} from "./principal";
import { missingScope, missingScopeMessage, type Scope } from "./scopes";

/*
 * The refusals of the rules in `principal.ts`: each throws the error a client gets (FORBIDDEN,
 * NOT_FOUND, EDITION_REQUIRED) when the rule says no. Resolvers declare scopes with
 * `@Authorized(scope)`; the checker behind it (`resolvers/authorized.ts`) and every other check of
 * a scope (REST routes, `node`, a subscription's re-check) call `requireScopes`.
 */

/** Refuses (FORBIDDEN, naming the first missing scope) a principal whose token lacks one of `scopes`. */
export function requireScopes(principal: Principal, scopes: readonly Scope[]): void {
  const missing = missingScope(principal.scopes, scopes);
  if (missing !== undefined) throw forbidden(missingScopeMessage(missing, principal.scopes));
}

/** Refuses members who neither administer the corp nor lead a department; `what` completes "may …". */
export function requireAdministratorOrLeader(principal: Principal, what: string): void {
  if (!isAdministratorOrLeader(principal)) throw forbidden(`Only corp administrators and department leaders may ${what}.`);
}

/** Refuses changes to the department tree to all but apps and corp administrators. */
export function requireTreeWrite(principal: Principal): void {
  if (!canManageDepartments(principal)) throw forbidden("Only corp administrators may change the department tree.");
}

/** Refuses granting or revoking corp administrator rights (see `canGrantAdministrator`). */
export function requireAdministratorGrant(principal: Principal): void {
  if (canGrantAdministrator(principal)) return;
  if (!isCorpAdministrator(principal)) throw forbidden("Only corp administrators may grant or revoke administrator rights.");
  throw forbidden("Only apps whose visibility is the whole corp may grant or revoke administrator rights.");
}

/**
 * The apps API (issue 5): a corp administrator (an app, or a member who administers the corp)
 * through an app that sees the whole corp, since an app limited to some departments could otherwise
 * widen another app beyond its own reach. The scope (`apps:admin`) is declared on the resolvers.
 */
export function requireAppAdministrator(principal: Principal): void {
  if (!isCorpAdministrator(principal)) throw forbidden("Only corp administrators may manage apps.");
  if (!seesWholeCorp(principal)) throw forbidden("Managing apps needs an app that sees the whole corp.");
}

/**
 * Refuses a write to the member (see `memberWriteRefusal`): NOT_FOUND on `field` when the caller
 * cannot see them at all, FORBIDDEN when they are out of its reach.
 */
export function requireMemberWritable(principal: Principal, member: MemberReach, field: string): void {
  if (!canSeeMember(principal, member.departmentPaths)) throw notFound("Member", field);
  switch (memberWriteRefusal(principal, member)) {
    case "departments":
      throw forbidden("The member belongs to departments outside the subtrees you may manage.");
    case "administrator":
      throw forbidden("Only corp administrators may change a corp administrator.");
    case null:
      return;
  }
}

/**
 * Refuses (EDITION_REQUIRED) a feature the principal's corp does not have (PRODUCT.md, "Editions";
 * the catalog is `domain/editions.ts`). `what` is named in the message: the field or route asked
 * for (without it, the message names the feature). GraphQL fields declare their feature with `@RequiresFeature`
 * and are refused before execution (`limits/document-limits.ts`); REST routes declare theirs next
 * to their scopes (`rest/directory-files.ts`). Both end here.
 */
export function requireFeature(principal: Principal, feature: Feature, what?: string): void {
  if (!hasFeature(principal.edition, feature)) throw editionRequired(featureRefusal(what, feature, principal.edition));
}
