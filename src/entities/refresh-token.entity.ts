import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { App } from "./app.entity";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";

/**
 * An opaque refresh token (only its SHA-256 is kept). Each use spends it and issues the next one of
 * the same family; presenting a spent one revokes the whole family (OAuth 2.0 Security BCP §4.14).
 */
@Entity({ name: "refresh_token" })
@Index("refresh_token_family_idx", ["familyId"])
@Index("refresh_token_member_idx", ["corpId", "memberId"])
export class RefreshToken {
  @PrimaryColumn({ name: "token_hash", type: "varchar", length: 64, primaryKeyConstraintName: "refresh_token_pkey" })
  tokenHash: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "refresh_token_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "app_id", type: "bigint" })
  appId: string;

  @ManyToOne(() => App, { onDelete: "CASCADE" })
  @JoinColumn({ name: "app_id", foreignKeyConstraintName: "refresh_token_app_id_fkey" })
  app?: App;

  @Column({ name: "member_id", type: "bigint" })
  memberId: string;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "refresh_token_member_id_fkey" })
  member?: Member;

  @Column({ name: "family_id", type: "uuid" })
  familyId: string;

  @Column({ type: "text", array: true })
  scopes: string[];

  @Column({ name: "auth_time", type: "timestamptz" })
  authTime: Date;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt: Date;

  @Column({ name: "used_at", type: "timestamptz", nullable: true })
  usedAt: Date | null;

  @Column({ name: "revoked_at", type: "timestamptz", nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
