import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * The corp's append-only event log. Rows are written in the transaction of the change they
 * record, under a per-corp advisory lock, so within a corp `id` order is commit order and a reader
 * resuming "after id N" never skips a row. `scopePaths` are the department paths the subject sat in
 * when it happened: the visibility filter for subscribers.
 */
@Entity({ name: "event" })
@Index("event_corp_id_idx", ["corpId", "id"])
export class EventRecord {
  @PrimaryGeneratedColumn("identity", { type: "bigint", primaryKeyConstraintName: "event_pkey" })
  id: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "event_corp_id_fkey" })
  corp?: Corp;

  @Column({ type: "varchar", length: 48 })
  type: string;

  @Column({ name: "member_id", type: "bigint", nullable: true })
  memberId: string | null;

  @Column({ name: "department_id", type: "bigint", nullable: true })
  departmentId: string | null;

  @Column({ name: "scope_paths", type: "text", array: true })
  scopePaths: string[];

  @Column({ type: "jsonb" })
  data: Record<string, unknown>;

  @CreateDateColumn({ name: "occurred_at", type: "timestamptz" })
  occurredAt: Date;
}
