import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";

/** A single-use link (72 h) with which a member sets a password. Only the token's SHA-256 is kept. */
@Entity({ name: "activation_link" })
@Index("activation_link_member_idx", ["memberId"])
export class ActivationLink {
  @PrimaryColumn({ name: "token_hash", type: "varchar", length: 64, primaryKeyConstraintName: "activation_link_pkey" })
  tokenHash: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "activation_link_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "member_id", type: "bigint" })
  memberId: string;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "activation_link_member_id_fkey" })
  member?: Member;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt: Date;

  @Column({ name: "used_at", type: "timestamptz", nullable: true })
  usedAt: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
