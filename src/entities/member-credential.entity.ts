import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";

/**
 * A member's sign-in state (issue 5): the argon2id password hash, when it was set (rotation after
 * 90 days), failed attempts and the lock, and when their sessions were last revoked (tokens issued
 * before that are refused). Kept apart from `member` so directory reads never carry it.
 */
@Entity({ name: "member_credential" })
@Index("member_credential_corp_id_idx", ["corpId"])
export class MemberCredential {
  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "member_credential_pkey" })
  memberId: string;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "member_credential_member_id_fkey" })
  member?: Member;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "member_credential_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "password_hash", type: "varchar", length: 256, nullable: true })
  passwordHash: string | null;

  @Column({ name: "password_changed_at", type: "timestamptz", nullable: true })
  passwordChangedAt: Date | null;

  @Column({ name: "failed_attempts", type: "int", default: 0 })
  failedAttempts: number;

  @Column({ name: "locked_until", type: "timestamptz", nullable: true })
  lockedUntil: Date | null;

  @Column({ name: "sessions_revoked_at", type: "timestamptz", nullable: true })
  sessionsRevokedAt: Date | null;
}
