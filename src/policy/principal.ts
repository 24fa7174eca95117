import type { Scope } from "./scopes";

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

/** May the principal see the department at `path`? */
export function canSee(principal: Principal, path: string): boolean {
  return withinRoots(path, principal.visibleRoots);
}

/**
 * May the principal change members in the department at `path`? The app's visibility bounds every
 * write; a member acting through it also needs to be a corp admin or to lead an enclosing department.
 */
export function canManageMembersIn(principal: Principal, path: string): boolean {
  if (!canSee(principal, path)) return false;
  const m = principal.member;
  return m === null || m.isCorpAdmin || withinRoots(path, m.ledRoots);
}

/** May the principal change the department tree itself? Apps and corp admins only. */
export function canManageDepartments(principal: Principal): boolean {
  return principal.member === null || principal.member.isCorpAdmin;
}
