import { registerEnumType } from "type-graphql";
import { Edition, MemberStatus, DirectoryEventType, ImportMode, ImportJobStatus, AppKind, ViewerRole } from "../domain/enums";
import { ConversationKind, ConversationRole, FormFieldType, MessageEventType, MessageKind, SenderKind } from "../domain/enums";

/** The GraphQL side of `domain/enums.ts`: names and descriptions shown in the schema. */

registerEnumType(Edition, {
  name: "Edition",
  description: "The corp's subscription tier. Limits (customers per employee, broadcasts, rate-limit bucket) depend on it.",
  valuesConfig: {
    BASIC: { description: "Directory, customers and tags, messaging; bucket 1,000 points, refill 50/s." },
    PROFESSIONAL: { description: "The whole API incl. bulk import and exports; bucket 10,000 points, refill 500/s." },
  },
});

registerEnumType(MemberStatus, {
  name: "MemberStatus",
  description: "Account state of a member.",
  valuesConfig: {
    ACTIVE: { description: "Signed in at least once and may use the platform." },
    DISABLED: { description: "Blocked by an administrator; keeps their data." },
    UNACTIVATED: { description: "Invited but has never signed in. New members start here unless `status` is given." },
    RESIGNED: { description: "Left the organisation; kept for handover and audit." },
  },
});

registerEnumType(DirectoryEventType, {
  name: "DirectoryEventType",
  description: "The kind of change a directory event records.",
  valuesConfig: {
    DEPARTMENT_CREATED: { description: "A department was created." },
    DEPARTMENT_UPDATED: { description: "A department was renamed, reordered, moved, or its leaders changed." },
    DEPARTMENT_DELETED: { description: "A department was deleted; `department` is null, `departmentId` stays." },
    MEMBER_CREATED: { description: "A member was added." },
    MEMBER_UPDATED: { description: "A member's profile or departments changed; `changedFields` says which." },
    MEMBER_STATUS_CHANGED: { description: "A member's status changed (e.g. to RESIGNED)." },
    MEMBER_DELETED: { description: "A member was deleted; `member` is null, `memberId` stays." },
  },
});

registerEnumType(ImportMode, {
  name: "ImportMode",
  description: "How an import treats members the file does not list.",
  valuesConfig: {
    UPSERT: {
      description: "Create or update the members of the file (matched by employee id); valid rows land, invalid ones are reported; others are left alone.",
    },
    REPLACE: {
      description:
        "Make the directory equal to the file: members not in it become RESIGNED (never deleted). Any invalid row, or resigning more than `maxResignRatio` of the active members, changes nothing.",
    },
  },
});

registerEnumType(ImportJobStatus, {
  name: "ImportJobStatus",
  description: "The state of an import job.",
  valuesConfig: {
    QUEUED: { description: "Accepted, not started yet." },
    RUNNING: { description: "Reading, validating or applying the rows." },
    SUCCEEDED: { description: "Done: valid rows applied (or, for a dry run, evaluated); see the counts and `errors`." },
    FAILED: { description: "Nothing was applied; `reason` says why (and `errors` lists invalid rows)." },
  },
});

registerEnumType(AppKind, {
  name: "AppKind",
  description: "Who made an app.",
  valuesConfig: {
    SELF_BUILT: { description: "Built by the corp itself (createApp)." },
    VENDOR: { description: "A SaaS vendor's app, registered once and installed into many corps (installApp)." },
  },
});

registerEnumType(ViewerRole, {
  name: "ViewerRole",
  description: "How the caller acts: as an app, or as a member (through an app) with that member's role.",
  valuesConfig: {
    APP: { description: "An app acting on its own (client-credentials token): its scopes and visibility apply." },
    ADMIN: { description: "A corp administrator acting through an app: may do everything the app's scopes allow." },
    LEADER: { description: "A department leader: may manage members within the subtrees they lead." },
    MEMBER: { description: "A member: may read within the app's visibility and change nothing." },
  },
});

registerEnumType(ConversationKind, {
  name: "ConversationKind",
  description: "What a conversation is (source §2).",
  valuesConfig: {
    DIRECT: { description: "Between two members; one per pair (`openDirectConversation`)." },
    GROUP: { description: "A group of at most 10,000 members with an owner and admins (`createGroup`)." },
    APP: { description: "An app's channel to one member." },
    CUSTOMER: { description: "Members with an external contact (the customers feature)." },
  },
});

registerEnumType(ConversationRole, {
  name: "ConversationRole",
  description: "A member's role in a conversation.",
  valuesConfig: {
    OWNER: { description: "Owns the group: manages it, names its admins, hands it over." },
    ADMIN: { description: "Manages the group: renames it, adds and removes members (not admins)." },
    MEMBER: { description: "Reads and sends." },
  },
});

registerEnumType(MessageKind, {
  name: "MessageKind",
  description: "What a message carries; its `content` is the matching type.",
  valuesConfig: {
    TEXT: { description: "Plain text (TextContent)." },
    MARKDOWN: { description: "Markdown (MarkdownContent)." },
    IMAGE: { description: "An image by URL (ImageContent)." },
    FILE: { description: "A file by URL and metadata (FileContent)." },
    LINK_CARD: { description: "A link card (LinkCardContent)." },
    TODO: { description: "A to-do with assignees (TodoContent)." },
    VOTE: { description: "A vote (VoteContent)." },
    FORM: { description: "A form (FormContent)." },
  },
});

registerEnumType(FormFieldType, {
  name: "FormFieldType",
  description: "What an answer to a form field gives.",
  valuesConfig: {
    TEXT: { description: "A text (`text`)." },
    NUMBER: { description: "A number (`number`)." },
    CHOICE: { description: "Exactly one of the field's options (`choices`)." },
    MULTIPLE_CHOICE: { description: "One or more of the field's options (`choices`)." },
  },
});

registerEnumType(SenderKind, {
  name: "SenderKind",
  description: "Who sent a message.",
  valuesConfig: {
    MEMBER: { description: "A member (a member token)." },
    APP: { description: "An app acting on its own (its client-credentials token)." },
    BOT: { description: "A group robot: a post to its webhook, or its keyword auto-reply." },
  },
});

registerEnumType(MessageEventType, {
  name: "MessageEventType",
  description: "What changed, in a messages event.",
  valuesConfig: {
    CONVERSATION_CREATED: { description: "A conversation was created (ConversationCreated)." },
    CONVERSATION_UPDATED: { description: "A group's name, owner or admins changed (ConversationUpdated)." },
    MEMBERSHIP_CHANGED: { description: "Members were added or removed (MembershipChanged)." },
    MESSAGE_ADDED: { description: "A message was sent (MessageAdded)." },
    MESSAGE_RECALLED: { description: "A message was recalled (MessageRecalled)." },
    MESSAGE_READ: { description: "A member moved their read pointer (MessageRead)." },
    MESSAGE_REMINDED: { description: "The sender reminded the members who have not read a message (MessageReminded, to those members only)." },
    SETTINGS_CHANGED: { description: "Your own settings of the conversation changed (ConversationUpdated)." },
    VOTE_UPDATED: { description: "A ballot was cast (VoteUpdated)." },
    TODO_UPDATED: { description: "An assignee completed a to-do (TodoUpdated)." },
    FORM_SUBMITTED: { description: "A member submitted a form (FormSubmitted)." },
  },
});
