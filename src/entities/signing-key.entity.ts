import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

/**
 * An RS256 key pair for tokens. The private key is AES-256-GCM encrypted when
 * WORKGRAPH_SECRET_KEY is set (`encrypted`). Never exposed through GraphQL.
 */
@Entity({ name: "signing_key" })
export class SigningKey {
  @PrimaryColumn({ type: "varchar", length: 64, primaryKeyConstraintName: "signing_key_pkey" })
  kid: string;

  @Column({ name: "public_key", type: "text" })
  publicKey: string;

  @Column({ name: "private_key", type: "text" })
  privateKey: string;

  @Column({ type: "boolean" })
  encrypted: boolean;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  /** Set by `keys rotate`: no longer signs; still published until every token it signed expired. */
  @Column({ name: "retired_at", type: "timestamptz", nullable: true })
  retiredAt: Date | null;
}
