import type { Scope } from "./scopes";
import type { Edition } from "../domain/enums";

/**
 * Who is calling. Always an app of one corp; with SSO (issue 5) also a member acting through it.
 * Visibility is a set of department paths whose subtrees the caller may see (`null`: the whole corp).
 */
export interface Principal {
  corpId: string;
  appId: string;
  clientId: string;
  scopes: ReadonlySet<Scope>;
  visibleRoots: readonly string[] | null;
  /** Present when a member acts through the app: their role limits writes (source §1). */
  member: MemberActor | null;
  /** The corp's edition: which features it has and how large its buckets are (`domain/editions.ts`). */
  edition: Edition;
  /** The app's own bucket when `setAppRateLimit` lowered it (null: the edition's). */
  appRateLimit: { capacity: number; restoreRate: number } | null;
}

export interface MemberActor {
  id: string;
  isCorpAdmin: boolean;
  /** Paths of the departments this member leads. */
  ledRoots: readonly string[];
}

/**
 * True when `path` lies in a subtree rooted at one of `roots` (`null` = everything). Paths list
 * department ids (`/1/5/7/`), so "under root `/1/5/`" is "contains the segment `/5/`": unlike a
 * prefix test this still holds when either side predates a move of the subtree (a principal held
 * by a long-lived WebSocket connection, the `scopePaths` of older events).
 */
export function withinRoots(path: string, roots: readonly string[] | null): boolean {
  return roots === null || roots.some((root) => path.includes(root.slice(root.lastIndexOf("/", root.length - 2))));
}

/*
 * The rules of who may do what, each written once (issue 12). Their SQL forms, where lists need
 * them, are in `policy/sql.ts`; `test/policy.test.ts` checks that both forms agree.
 */

/**
 * Does the principal act with a corp administrator's rights? An app acting alone does (its scopes
 * and visibility bound it); a member acting through an app only when they are a corp administrator
 * (source §1: least privilege, members have no admin rights by default).
 */
export function isCorpAdministrator(principal: Principal): boolean {
  return principal.member === null || principal.member.isCorpAdmin;
}

/** Is the principal a member leading at least one department (and so its subtree)? */
export function isLeader(principal: Principal): boolean {
  return principal.member !== null && principal.member.ledRoots.length > 0;
}

/** Does the principal lead a department enclosing the one at `path`? */
export function leads(principal: Principal, path: string): boolean {
  return principal.member !== null && withinRoots(path, principal.member.ledRoots);
}

/** Administrators and leaders: who may import, export and read the directory's health. */
export function isAdministratorOrLeader(principal: Principal): boolean {
  return isCorpAdministrator(principal) || isLeader(principal);
}

/** Does the principal's visibility cover the whole corp (no subtree limit)? */
export function seesWholeCorp(principal: Principal): boolean {
  return principal.visibleRoots === null;
}

/**
 * May the principal change anything in the corp's directory: it sees the whole corp and has a corp
 * administrator's rights (an app limited to subtrees, a leader or a plain member may not).
 */
export function reachesWholeCorp(principal: Principal): boolean {
  return seesWholeCorp(principal) && isCorpAdministrator(principal);
}

/** May the principal see the department at `path`? */
export function canSee(principal: Principal, path: string): boolean {
  return withinRoots(path, principal.visibleRoots);
}

/** May the principal see a member in the departments at `departmentPaths`? When it sees one of them. */
export function canSeeMember(principal: Principal, departmentPaths: readonly string[]): boolean {
  return departmentPaths.some((path) => canSee(principal, path));
}

/**
 * May the principal change members in the department at `path`? The app's visibility bounds every
 * write; a member acting through it also needs to be a corp admin or to lead an enclosing department.
 */
export function canManageMembersIn(principal: Principal, path: string): boolean {
  return canSee(principal, path) && (isCorpAdministrator(principal) || leads(principal, path));
}

/** May the principal change the department tree itself? Apps and corp admins only. */
export function canManageDepartments(principal: Principal): boolean {
  return isCorpAdministrator(principal);
}

/** A member as the write rule sees them: whether they administer the corp, and every department they are in. */
export interface MemberReach {
  isCorpAdmin: boolean;
  departmentPaths: readonly string[];
}

/**
 * Why the principal may not change the member (their profile, status, departments, credentials and
 * sessions), or null when it may: it must manage every one of the member's departments (not only
 * their main department: a leader may not reach into a department they do not lead through a
 * member they share), and only a corp administrator changes another corp administrator.
 */
export function memberWriteRefusal(principal: Principal, member: MemberReach): "departments" | "administrator" | null {
  if (!member.departmentPaths.every((path) => canManageMembersIn(principal, path))) return "departments";
  if (member.isCorpAdmin && !isCorpAdministrator(principal)) return "administrator";
  return null;
}

/** May the principal change the member? See `memberWriteRefusal`; the SQL form is `outOfReachSql`. */
export function canWriteMember(principal: Principal, member: MemberReach): boolean {
  return memberWriteRefusal(principal, member) === null;
}

/**
 * May the principal grant or revoke corp administrator rights? They are corp-wide: only a corp
 * administrator, through an app that sees the whole corp.
 */
export function canGrantAdministrator(principal: Principal): boolean {
  return reachesWholeCorp(principal);
}
