import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * An export requested with `exportMembers`: the filter to apply when `GET /exports/:id` streams
 * it. The caller's permissions are checked again on download, with the bearer token presented then.
 */
@Entity({ name: "member_export" })
@Index("member_export_corp_id_idx", ["corpId", "createdAt"])
export class MemberExport {
  @PrimaryGeneratedColumn("uuid", { primaryKeyConstraintName: "member_export_pkey" })
  id: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "member_export_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "app_id", type: "bigint" })
  appId: string;

  /** The member filter (department, subtree, status, search), as given. */
  @Column({ type: "jsonb" })
  filter: Record<string, unknown>;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt: Date;
}
