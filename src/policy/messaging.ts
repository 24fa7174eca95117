import type { SqlParams } from "../db/sql";
import { forbidden, notFound } from "../errors/domain-error";
import { ConversationRole } from "../domain/enums";
import type { Principal } from "./principal";

/*
 * Who may do what in conversations (issue 14), each rule once, with the SQL form lists use. A
 * member acting through an app takes part in the conversations they belong to; an app acting on
 * its own takes part in those it created (its groups, its APP conversations). Everything else is
 * invisible: NOT_FOUND, never FORBIDDEN, so a caller cannot probe which conversations exist.
 */

/** The caller's own membership of a conversation, when it is a member that belongs to it. */
export interface Membership {
  role: ConversationRole;
}

/** The parts of a conversation the rules read. */
export interface ConversationAccess {
  createdByAppId: string | null;
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

/** Refuses (NOT_FOUND on `field`) a conversation the principal does not take part in. */
export function requireTakesPart(principal: Principal, conversation: ConversationAccess, membership: Membership | null, field: string): void {
  if (!takesPart(principal, conversation, membership)) throw notFound("Conversation", field);
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
