import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Field, Int, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { ImportJob } from "./import-job.entity";

/** One problem of one invalid row of an import, one per field: row number (1 = first data row), field, code, message. */
@Entity({ name: "import_job_error" })
@ObjectType("ImportRowError", { description: "Why one row of an import was refused." })
@Index("import_job_error_corp_id_idx", ["corpId"])
export class ImportJobError {
  @PrimaryColumn({ name: "job_id", type: "uuid", primaryKeyConstraintName: "import_job_error_pkey" })
  jobId: string;

  @ManyToOne(() => ImportJob, { onDelete: "CASCADE" })
  @JoinColumn({ name: "job_id", foreignKeyConstraintName: "import_job_error_job_id_fkey" })
  job?: ImportJob;

  @Field(() => Int, { name: "row", description: "The row: 1 is the first data row after the header (in `rows` input, the first element)." })
  @PrimaryColumn({ name: "row_number", type: "integer", primaryKeyConstraintName: "import_job_error_pkey" })
  rowNumber: number;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "import_job_error_corp_id_fkey" })
  corp?: Corp;

  @Field({ description: "The column at fault: employeeId, name, department, title, extension, mobile, email, or `row` for the row as a whole." })
  @PrimaryColumn({ type: "varchar", length: 32, primaryKeyConstraintName: "import_job_error_pkey" })
  field: string;

  @Field({ description: "The error code `createMember` would answer with: BAD_USER_INPUT, CONFLICT, FORBIDDEN, NOT_FOUND or LIMIT_EXCEEDED." })
  @Column({ type: "varchar", length: 32 })
  code: string;

  @Field({ description: "What is wrong, for humans." })
  @Column({ type: "text" })
  message: string;
}
