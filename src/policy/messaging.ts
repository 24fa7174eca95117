import type { SqlParams } from "../db/sql";
import { forbidden, notFound } from "../errors/domain-error";
import { ConversationKind, ConversationRole } from "../domain/enums";
import { seesWholeCorp, type Principal } from "./principal";
import { visibleSql } from "./sql";

/*
 * Who may do what in conversations (issue 14), each rule once, with the SQL form lists use. A
 * member acting through an app takes part in the conversations they belong to; an app acting on
 * its own takes part in those it created (its groups, its APP conversations). An app acting on its
 * own with `messages:read` also reads, without taking part, the groups and direct conversations
 * whose members are all within its visibility (`mayRead`). Everything else is invisible:
 * NOT_FOUND, never FORBIDDEN, so a caller cannot probe which conversations exist; what a caller
 * may read but not do is FORBIDDEN.
 */

/** The caller's own membership of a conversation, when it is a member that belongs to it. */
export interface Membership {
  role: ConversationRole;
}

/** The parts of a conversation the rules read. */
export interface ConversationAccess {
  createdByAppId: string | null;
}

/** The parts of a conversation the read rule adds: its kind. */
export interface ReadAccess extends ConversationAccess {
  kind: ConversationKind;
}

/** Does the principal take part in the conversation (see it, read it, send into it)? */
export function takesPart(principal: Principal, conversation: ConversationAccess, membership: Membership | null): boolean {
  return principal.member ? membership !== null : conversation.createdByAppId === principal.appId;
}

/**
 * May the principal manage the group (rename it, add and remove members, name admins)? Its owner
 * and admins, and the app that created it.
 */
export function canManageGroup(principal: Principal, conversation: ConversationAccess, membership: Membership | null): boolean {
  if (!principal.member) return conversation.createdByAppId === principal.appId;
  return membership?.role === ConversationRole.OWNER || membership?.role === ConversationRole.ADMIN;
}

/** May the principal change who owns the group and who administers it? Its owner and the app that created it. */
export function canGovernGroup(principal: Principal, conversation: ConversationAccess, membership: Membership | null): boolean {
  if (!principal.member) return conversation.createdByAppId === principal.appId;
  return membership?.role === ConversationRole.OWNER;
}

/** The sending side of a message: a member, or an app on its own. */
export interface Sent {
  senderMemberId: string | null;
  senderAppId: string | null;
}

/** Is the principal the message's sender (the member who sent it, or the app that sent it on its own)? */
export function isSender(principal: Principal, message: Sent): boolean {
  return principal.member ? message.senderMemberId === principal.member.id : message.senderMemberId === null && message.senderAppId === principal.appId;
}

/** The kinds an app reads through its visibility: members' own conversations, never another app's channel. */
const READ_THROUGH_VISIBILITY = new Set<string>([ConversationKind.GROUP, ConversationKind.DIRECT]);

/** Does the principal read conversations it does not take part in? An app acting on its own whose token carries `messages:read`. */
function readsThroughVisibility(principal: Principal): boolean {
  return !principal.member && principal.scopes.has("messages:read");
}

/**
 * May the principal read the conversation (open it, list it, read its members and history, receive
 * its events)? Whoever takes part in it; and an app acting on its own with `messages:read`, a GROUP
 * or DIRECT conversation whose members are all within the app's visibility (issue 14, item 9).
 * `everyMemberVisible` is asked only when the answer depends on it (the SQL form: `mayReadSql`).
 * Reading is not taking part: sending, managing, marking read stay with `takesPart`. A member
 * acting through an app reads what they belong to, whatever the app may read.
 */
export async function mayRead(
  principal: Principal,
  conversation: ReadAccess,
  membership: Membership | null,
  everyMemberVisible: () => Promise<boolean>,
): Promise<boolean> {
  if (takesPart(principal, conversation, membership)) return true;
  if (!readsThroughVisibility(principal) || !READ_THROUGH_VISIBILITY.has(conversation.kind)) return false;
  return seesWholeCorp(principal) || everyMemberVisible();
}

/** Refuses (NOT_FOUND on `field`) a conversation the principal does not take part in. */
export function requireTakesPart(principal: Principal, conversation: ConversationAccess, membership: Membership | null, field: string): void {
  if (!takesPart(principal, conversation, membership)) throw notFound("Conversation", field);
}

/**
 * Refuses a conversation the principal does not take part in: FORBIDDEN when it may read it (it
 * knows the conversation exists), NOT_FOUND on `field` otherwise.
 */
export function refuseNotTakingPart(readable: boolean, field: string): never {
  if (readable) {
    throw forbidden(
      "You read this conversation (messages:read, every member within your visibility) but do not take part in it: an app acting on its own sends into and manages only the conversations it created.",
    );
  }
  throw notFound("Conversation", field);
}

/** Refuses (FORBIDDEN) a group change by someone who takes part but does not manage the group. */
export function requireGroupManager(principal: Principal, conversation: ConversationAccess, membership: Membership | null): void {
  if (!canManageGroup(principal, conversation, membership)) throw forbidden("Only the group's owner and admins (or the app that created it) may manage it.");
}

/** Refuses (FORBIDDEN) an ownership or admin change by anyone but the owner or the creating app. */
export function requireGroupGovernor(principal: Principal, conversation: ConversationAccess, membership: Membership | null): void {
  if (!canGovernGroup(principal, conversation, membership)) {
    throw forbidden("Only the group's owner (or the app that created it) may change its owner or admins.");
  }
}

/** Refuses (FORBIDDEN) what only a member has (a read pointer, settings, a ballot): apps acting alone have none. */
export function requireMemberCaller(principal: Principal, what: string): string {
  if (!principal.member) throw forbidden(`Only a member (a member token) may ${what}; an app acting on its own has no membership.`);
  return principal.member.id;
}

/**
 * Refuses (FORBIDDEN) a member token where only an app acting on its own may call: `sendAppMessage`
 * is the app's channel to members (WeCom's message/send), not a member's way to reach the whole
 * visibility of the app they signed in through.
 */
export function requireAppCaller(principal: Principal, what: string): string {
  if (principal.member) throw forbidden(`Only an app acting on its own (a client-credentials token) may ${what}; a member token may not.`);
  return principal.appId;
}

/**
 * SQL predicate: the conversation `alias` is one the principal takes part in (the SQL form of
 * `takesPart`, for lists). Member callers list through their membership rows instead (see
 * `ConversationService.list`), which is the same rule.
 */
export function takesPartSql(principal: Principal, params: SqlParams, alias: string): string {
  if (principal.member) {
    return `EXISTS (SELECT 1 FROM conversation_member cm_p WHERE cm_p.corp_id = $1 AND cm_p.conversation_id = ${alias}.id AND cm_p.member_id = ${params.add(principal.member.id)})`;
  }
  return `${alias}.created_by_app_id = ${params.add(principal.appId)}`;
}

/**
 * SQL predicate: the `conversation_member` row `cm` is a member outside the principal's visibility
 * (none of their departments is one it may see: `canSeeMember`, the path test `visibleSql`). The
 * visible departments are found once per statement (`department_corp_path_idx`), each member is
 * one index probe (`member_department_department_member_idx`). Only for a principal limited to
 * subtrees.
 */
function memberOutsideSql(principal: Principal, params: SqlParams, cm: string): string {
  return `NOT EXISTS (SELECT 1 FROM member_department md_r
                       WHERE md_r.member_id = ${cm}.member_id
                         AND md_r.department_id = ANY(ARRAY(SELECT d_r.id FROM department d_r
                                                            WHERE d_r.corp_id = $1 AND ${visibleSql(principal, params, "d_r.path")})))`;
}

/**
 * SQL predicate: every member of the one conversation `alias` is within the principal's visibility;
 * `TRUE` when it sees the whole corp. An anti-join over the conversation's members
 * (`conversation_member_corp_member_idx`) that stops at the first one outside: about 15 ms for
 * 10,000 members all inside, measured in `test/messaging-app-read.test.ts` (a join through `member`
 * and each department's path, as `memberVisibleSql` does for one member, took 80 ms).
 */
export function everyMemberVisibleSql(principal: Principal, params: SqlParams, alias: string): string {
  if (seesWholeCorp(principal)) return "TRUE";
  return `NOT EXISTS (SELECT 1 FROM conversation_member cm_r
                       WHERE cm_r.corp_id = $1 AND cm_r.conversation_id = ${alias}.id AND ${memberOutsideSql(principal, params, "cm_r")})`;
}

/**
 * SQL predicate: the principal may read the conversation `alias` (the SQL form of `mayRead`, for
 * lists): it takes part in it (`takesPartSql`), or it is an app acting on its own with
 * `messages:read` and the conversation a GROUP or DIRECT one none of whose members is outside its
 * visibility. A list tests every conversation of the corp (its order, by last activity, has no
 * index), so the members outside are found once, as a set (one hashed subplan over the corp's
 * memberships), not per conversation: the correlated form's estimate made PostgreSQL compile the
 * statement with JIT, 0.6 s of a 0.7 s page among 20,000 direct conversations; the set form runs in
 * about 20 ms.
 */
export function mayReadSql(principal: Principal, params: SqlParams, alias: string): string {
  const takes = takesPartSql(principal, params, alias);
  if (!readsThroughVisibility(principal)) return takes;
  const kinds = [...READ_THROUGH_VISIBILITY].map((k) => `'${k}'`).join(", ");
  const visible = seesWholeCorp(principal)
    ? "TRUE"
    : `${alias}.id NOT IN (SELECT cm_o.conversation_id FROM conversation_member cm_o WHERE cm_o.corp_id = $1 AND ${memberOutsideSql(principal, params, "cm_o")})`;
  return `(${takes} OR (${alias}.kind IN (${kinds}) AND ${visible}))`;
}
