import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * One security-relevant fact of a corp (issue 5): a token issued, a sign-in (success or failure),
 * a change to an app or to a member's credentials. Append-only; read with `auditLog`. App and
 * member ids are kept as plain numbers so the trail survives their deletion.
 */
@Entity({ name: "audit_log" })
@Index("audit_log_corp_id_idx", ["corpId", "pk"])
@Check("audit_log_outcome_check", `"outcome" IN ('SUCCESS', 'FAILURE')`)
export class AuditLog {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "audit_log_pkey" })
  pk: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "audit_log_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "occurred_at", type: "timestamptz", default: () => "now()" })
  occurredAt: Date;

  @Column({ type: "varchar", length: 48 })
  action: string;

  @Column({ type: "varchar", length: 16 })
  outcome: string;

  /** The app that acted or was acted on. */
  @Column({ name: "app_id", type: "bigint", nullable: true })
  appId: string | null;

  /** The member who acted or was acted on. */
  @Column({ name: "member_id", type: "bigint", nullable: true })
  memberId: string | null;

  @Column({ type: "varchar", length: 64, nullable: true })
  ip: string | null;

  @Column({ type: "jsonb", default: () => "'{}'" })
  detail: Record<string, unknown>;
}
