import { registerEnumType } from "type-graphql";

/** How an import treats the directory (issue 4). */
export enum ImportMode {
  UPSERT = "UPSERT",
  REPLACE = "REPLACE",
}
registerEnumType(ImportMode, {
  name: "ImportMode",
  description: "How an import treats members the file does not list.",
  valuesConfig: {
    UPSERT: { description: "Create or update the members of the file (matched by employee id); valid rows land, invalid ones are reported; others are left alone." },
    REPLACE: {
      description:
        "Make the directory equal to the file: members not in it become RESIGNED (never deleted). Any invalid row, or resigning more than `maxResignRatio` of the active members, changes nothing.",
    },
  },
});

/** Where an import job is. */
export enum ImportJobStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  SUCCEEDED = "SUCCEEDED",
  FAILED = "FAILED",
}
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
