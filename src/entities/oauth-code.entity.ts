import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { App } from "./app.entity";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";

/**
 * An authorization code (RFC 6749 §4.1): single use, 5 minutes. Only its SHA-256 is kept. After the
 * exchange `familyId` names the refresh-token family it started, so a replayed code revokes it.
 */
@Entity({ name: "oauth_code" })
@Index("oauth_code_expires_idx", ["expiresAt"])
export class OAuthCode {
  @PrimaryColumn({ name: "code_hash", type: "varchar", length: 64, primaryKeyConstraintName: "oauth_code_pkey" })
  codeHash: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "oauth_code_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "app_id", type: "bigint" })
  appId: string;

  @ManyToOne(() => App, { onDelete: "CASCADE" })
  @JoinColumn({ name: "app_id", foreignKeyConstraintName: "oauth_code_app_id_fkey" })
  app?: App;

  @Column({ name: "member_id", type: "bigint" })
  memberId: string;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "oauth_code_member_id_fkey" })
  member?: Member;

  @Column({ name: "redirect_uri", type: "text" })
  redirectUri: string;

  @Column({ type: "text", array: true })
  scopes: string[];

  @Column({ type: "varchar", length: 256, nullable: true })
  nonce: string | null;

  @Column({ name: "code_challenge", type: "varchar", length: 128, nullable: true })
  codeChallenge: string | null;

  @Column({ name: "auth_time", type: "timestamptz" })
  authTime: Date;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt: Date;

  @Column({ name: "used_at", type: "timestamptz", nullable: true })
  usedAt: Date | null;

  @Column({ name: "family_id", type: "uuid", nullable: true })
  familyId: string | null;
}
