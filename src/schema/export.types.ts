import { Field, InputType, ObjectType } from "type-graphql";
import { MemberFilterInput } from "./directory.types";

@InputType("ExportMembersInput", { description: "Which members to export." })
export class ExportMembersInput {
  @Field(() => MemberFilterInput, {
    nullable: true,
    description:
      "Narrows the export like `members(filter)`. Without `status`, RESIGNED members are left out (as a REPLACE import of the file would resign them anyway).",
  })
  filter?: MemberFilterInput | null;
}

@ObjectType("ExportMembersPayload", { description: "Result of `exportMembers`: where to download the file." })
export class ExportMembersPayload {
  @Field({ description: "GET it with the same bearer token: `text/csv` in the import format, streamed. Valid until `expiresAt`." })
  url: string;

  @Field({ description: "After this the URL answers 404." })
  expiresAt: Date;
}
