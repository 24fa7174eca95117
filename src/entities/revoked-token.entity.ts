import { Column, Entity, Index, PrimaryColumn } from "typeorm";

/**
 * Access tokens revoked before their expiry (RFC 7009 on an access token), by `jti`; checked at
 * every authentication. Rows past `expiresAt` are useless (the token is expired anyway).
 */
@Entity({ name: "revoked_token" })
@Index("revoked_token_expires_idx", ["expiresAt"])
export class RevokedToken {
  @PrimaryColumn({ type: "uuid", primaryKeyConstraintName: "revoked_token_pkey" })
  jti: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt: Date;
}
