import { ArrayMaxSize, IsOptional, Max, MaxLength, Min } from "class-validator";
import { Field, Float, InputType, ObjectType } from "type-graphql";
import { ImportJob } from "../entities/import-job.entity";
import { ImportJobError } from "../entities/import-job-error.entity";
import { ConnectionType } from "./connection";
import { ImportMode } from "../domain/enums";
import { DEFAULT_MAX_RESIGN_RATIO, MAX_INLINE_CSV_BYTES, MAX_INLINE_ROWS, type ImportRow } from "../domain/import-rules";

@ObjectType("ImportRowErrorConnection", { description: "A page of import row errors." })
export class ImportRowErrorConnection extends ConnectionType(ImportJobError, "ImportRowError", "row error") {}

@InputType("ImportRowInput", { description: "One member of an import, the same columns as the CSV." })
export class ImportRowInput implements ImportRow {
  @Field({ description: "Employee id (工号); the member is matched by it." })
  employeeId: string;

  @Field({ description: "Full name." })
  name: string;

  @Field({ description: "Department paths separated by `;`, the first the main department, e.g. `Shanghai/Sales;Beijing` (see the README)." })
  department: string;

  @Field(() => String, { nullable: true, description: "Job title." })
  title?: string | null;

  @Field(() => String, { nullable: true, description: "Phone extension." })
  extension?: string | null;

  @Field(() => String, { nullable: true, description: "Mobile number." })
  mobile?: string | null;

  @Field(() => String, { nullable: true, description: "Email address." })
  email?: string | null;
}

@InputType("ImportMembersInput", { description: "A batch import: give exactly one of `csv` and `rows`." })
export class ImportMembersInput {
  @Field(() => String, {
    nullable: true,
    description:
      "The file: header `employeeId,name,department,title,extension,mobile,email`, then one member a line. At most 5 MB; send larger files to `POST /imports`.",
  })
  @IsOptional()
  @MaxLength(MAX_INLINE_CSV_BYTES)
  csv?: string | null;

  @Field(() => [ImportRowInput], { nullable: true, description: "The members as a list (at most 10,000), instead of `csv`." })
  @IsOptional()
  @ArrayMaxSize(MAX_INLINE_ROWS)
  rows?: ImportRowInput[] | null;

  @Field(() => ImportMode, { description: "UPSERT (create or update the listed members) or REPLACE (make the directory equal to the file)." })
  mode: ImportMode;

  @Field(() => Boolean, { nullable: true, description: "Report what would happen and change nothing (default false)." })
  dryRun?: boolean | null;

  @Field(() => Float, {
    nullable: true,
    description: `REPLACE: the largest share (0–1) of the active members in scope the import may resign; default ${DEFAULT_MAX_RESIGN_RATIO}. Above it the job FAILs and changes nothing.`,
  })
  @IsOptional()
  @Min(0)
  @Max(1)
  maxResignRatio?: number | null;
}

@ObjectType("ImportMembersPayload", { description: "Result of `importMembers`: the job, which runs in the background." })
export class ImportMembersPayload {
  @Field(() => ImportJob, { description: "The new job; follow it with `importJob(id)` or `importJobEvents(id)`." })
  job: ImportJob;
}
