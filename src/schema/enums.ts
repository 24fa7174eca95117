import { registerEnumType } from "type-graphql";
import { Edition, MemberStatus, DirectoryEventType, ImportMode, ImportJobStatus, AppKind, ViewerRole } from "../domain/enums";

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
