/**
 * The domain's enumerations (plain TypeScript: entities, services and the database use them); their
 * GraphQL names and descriptions are registered in `schema/enums.ts`.
 */

/** The corp's subscription tier; limits and API access depend on it (PRODUCT.md, "Editions"). */
export enum Edition {
  BASIC = "BASIC",
  PROFESSIONAL = "PROFESSIONAL",
}

/** Account state of a member (source §1). */
export enum MemberStatus {
  ACTIVE = "ACTIVE",
  DISABLED = "DISABLED",
  UNACTIVATED = "UNACTIVATED",
  RESIGNED = "RESIGNED",
}

/** What changed, in a directory event. */
export enum DirectoryEventType {
  DEPARTMENT_CREATED = "DEPARTMENT_CREATED",
  DEPARTMENT_UPDATED = "DEPARTMENT_UPDATED",
  DEPARTMENT_DELETED = "DEPARTMENT_DELETED",
  MEMBER_CREATED = "MEMBER_CREATED",
  MEMBER_UPDATED = "MEMBER_UPDATED",
  MEMBER_STATUS_CHANGED = "MEMBER_STATUS_CHANGED",
  MEMBER_DELETED = "MEMBER_DELETED",
}

/** How an import treats the directory (issue 4). */
export enum ImportMode {
  UPSERT = "UPSERT",
  REPLACE = "REPLACE",
}

/** Where an import job is. */
export enum ImportJobStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  SUCCEEDED = "SUCCEEDED",
  FAILED = "FAILED",
}

/** Who made an app (issue 5). */
export enum AppKind {
  SELF_BUILT = "SELF_BUILT",
  VENDOR = "VENDOR",
}

/** How the caller acts: as an app, or as a member with that member's role. */
export enum ViewerRole {
  APP = "APP",
  ADMIN = "ADMIN",
  LEADER = "LEADER",
  MEMBER = "MEMBER",
}

/** What a conversation is (issue 14; source §2). */
export enum ConversationKind {
  DIRECT = "DIRECT",
  GROUP = "GROUP",
  APP = "APP",
  CUSTOMER = "CUSTOMER",
}

/** A member's role in a conversation: owners and admins manage a group. */
export enum ConversationRole {
  OWNER = "OWNER",
  ADMIN = "ADMIN",
  MEMBER = "MEMBER",
}

/** What a message carries (issue 14; source §2). */
export enum MessageKind {
  TEXT = "TEXT",
  MARKDOWN = "MARKDOWN",
  IMAGE = "IMAGE",
  FILE = "FILE",
  LINK_CARD = "LINK_CARD",
  TODO = "TODO",
  VOTE = "VOTE",
  FORM = "FORM",
}

/** The type of a form message's field. */
export enum FormFieldType {
  TEXT = "TEXT",
  NUMBER = "NUMBER",
  CHOICE = "CHOICE",
  MULTIPLE_CHOICE = "MULTIPLE_CHOICE",
}

/** Who sent a message: a member, or an app on its own. */
export enum SenderKind {
  MEMBER = "MEMBER",
  APP = "APP",
  /** A group robot (issue 14, item 7): its webhook or its keyword auto-reply. */
  BOT = "BOT",
}

/** What changed, in a messages event (issue 14). */
export enum MessageEventType {
  CONVERSATION_CREATED = "CONVERSATION_CREATED",
  CONVERSATION_UPDATED = "CONVERSATION_UPDATED",
  MEMBERSHIP_CHANGED = "MEMBERSHIP_CHANGED",
  MESSAGE_ADDED = "MESSAGE_ADDED",
  MESSAGE_RECALLED = "MESSAGE_RECALLED",
  MESSAGE_READ = "MESSAGE_READ",
  MESSAGE_REMINDED = "MESSAGE_REMINDED",
  SETTINGS_CHANGED = "SETTINGS_CHANGED",
  VOTE_UPDATED = "VOTE_UPDATED",
  TODO_UPDATED = "TODO_UPDATED",
  FORM_SUBMITTED = "FORM_SUBMITTED",
}
