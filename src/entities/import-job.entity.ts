import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { ImportJobStatus, ImportMode } from "../domain/enums";

/**
 * One batch import of members (issue 4): a row per job, so that its state survives the process
 * and is visible to every instance. At most one QUEUED or RUNNING job per corp
 * (`import_job_corp_active_key`): a second import of the same corp is refused with CONFLICT,
 * across instances.
 */
@Entity({ name: "import_job" })
@ObjectType("ImportJob", { description: "A batch import of members (`importMembers`, `POST /imports`): its state, counts and row errors." })
@Index("import_job_corp_active_key", ["corpId"], { unique: true, where: `"status" IN ('QUEUED', 'RUNNING')` })
@Index("import_job_corp_created_idx", ["corpId", "createdAt"])
@Index("import_job_active_idx", ["status"], { where: `"status" IN ('QUEUED', 'RUNNING')` })
@Check("import_job_status_check", `"status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')`)
@Check("import_job_mode_check", `"mode" IN ('UPSERT', 'REPLACE')`)
export class ImportJob {
  @Field(() => ID, { description: "The job id; pass it to `importJob` and `importJobEvents`." })
  @PrimaryGeneratedColumn("uuid", { primaryKeyConstraintName: "import_job_pkey" })
  id: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "import_job_corp_id_fkey" })
  corp?: Corp;

  /** The app the import was made through (no foreign key: the job outlives a deleted app). */
  @Column({ name: "app_id", type: "bigint" })
  appId: string;

  /** The member acting through the app, if any. */
  @Column({ name: "member_id", type: "bigint", nullable: true })
  memberId: string | null;

  @Field(() => ImportJobStatus, { description: "Where the job is." })
  @Column({ type: "varchar", length: 16 })
  status: ImportJobStatus;

  @Field(() => ImportMode, { description: "UPSERT or REPLACE." })
  @Column({ type: "varchar", length: 8 })
  mode: ImportMode;

  @Field({ description: "True: the job reports what it would do and changes nothing." })
  @Column({ name: "dry_run", type: "boolean", default: false })
  dryRun: boolean;

  @Field(() => Float, { description: "REPLACE refuses to resign more than this share of the active members in scope (0–1)." })
  @Column({ name: "max_resign_ratio", type: "double precision" })
  maxResignRatio: number;

  @Field(() => Int, { description: "Data rows read from the file so far (final once the upload is complete)." })
  @Column({ type: "integer", default: 0 })
  total: number;

  @Field(() => Int, { description: "Rows validated and applied (or, for a dry run, evaluated); equals `total` when the job has succeeded." })
  @Column({ type: "integer", default: 0 })
  processed: number;

  @Field(() => Int, { description: "Members created (would be, for a dry run)." })
  @Column({ type: "integer", default: 0 })
  created: number;

  @Field(() => Int, { description: "Existing members whose profile, departments or status changed." })
  @Column({ type: "integer", default: 0 })
  updated: number;

  @Field(() => Int, { description: "Members set to RESIGNED because the file (REPLACE) no longer lists them." })
  @Column({ type: "integer", default: 0 })
  resigned: number;

  @Field(() => Int, { description: "Invalid rows; each is in `errors`." })
  @Column({ type: "integer", default: 0 })
  failed: number;

  @Field(() => Int, { description: "Departments created for paths that did not exist." })
  @Column({ name: "departments_created", type: "integer", default: 0 })
  departmentsCreated: number;

  /** Why the job FAILED, for humans. */
  @Field(() => String, {
    nullable: true,
    description: "Why the job FAILED (invalid rows in a REPLACE, the resign ratio, an interrupted gateway, …); null otherwise.",
  })
  @Column({ type: "text", nullable: true })
  reason: string | null;

  @Field({ description: "When the job was submitted." })
  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When the job last changed." })
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;

  @Field(() => Date, { nullable: true, description: "When the job SUCCEEDED or FAILED." })
  @Column({ name: "finished_at", type: "timestamptz", nullable: true })
  finishedAt: Date | null;
}
