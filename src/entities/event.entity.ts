import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * A row of the corp's append-only event log (the design is explained in `events/log.ts`). Rows are
 * written in the transaction of the change they record; within one (corp, stream) `id` order is
 * commit order. `audience` says who may see the event (the directory: the department paths its
 * subject sat in, before and after the change).
 */
@Entity({ name: "event" })
@Index("event_stream_idx", ["corpId", "stream", "id"])
export class EventRecord {
  @PrimaryGeneratedColumn("identity", { type: "bigint", primaryKeyConstraintName: "event_pkey" })
  id: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "event_corp_id_fkey" })
  corp?: Corp;

  @Column({ type: "varchar", length: 64 })
  stream: string;

  @Column({ type: "varchar", length: 48 })
  type: string;

  /** What the event is about (`Member`, `Department`, …), with `subjectId`; null for none. */
  @Column({ name: "subject_type", type: "varchar", length: 32, nullable: true })
  subjectType: string | null;

  @Column({ name: "subject_id", type: "bigint", nullable: true })
  subjectId: string | null;

  @Column({ type: "text", array: true })
  audience: string[];

  @Column({ type: "jsonb" })
  data: Record<string, unknown>;

  @CreateDateColumn({ name: "occurred_at", type: "timestamptz" })
  occurredAt: Date;
}
