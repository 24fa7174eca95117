import { ObjectType } from "type-graphql";

/** The answer of `directoryHealth`: its lists are field resolvers (see `HealthResolver`). */
@ObjectType("DirectoryHealth", {
  description:
    "Clean-up candidates in the directory (source §1): zombie departments and redundant accounts, each a connection with `totalCount`, limited to your visibility.",
})
export class DirectoryHealth {}
