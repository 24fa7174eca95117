import { registerEnumType } from "type-graphql";

/** The corp's subscription tier; limits and API access depend on it (PRODUCT.md, "Editions"). */
export enum Edition {
  BASIC = "BASIC",
  PROFESSIONAL = "PROFESSIONAL",
}
registerEnumType(Edition, {
  name: "Edition",
  description: "The corp's subscription tier. Limits (customers per employee, broadcasts, rate-limit bucket) depend on it.",
  valuesConfig: {
    BASIC: { description: "Directory, customers and tags, messaging; bucket 1,000 points, refill 50/s." },
    PROFESSIONAL: { description: "The whole API incl. bulk import and exports; bucket 10,000 points, refill 500/s." },
  },
});

/** Account state of a member (source §1). */
export enum MemberStatus {
  ACTIVE = "ACTIVE",
  DISABLED = "DISABLED",
  UNACTIVATED = "UNACTIVATED",
  RESIGNED = "RESIGNED",
}
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
