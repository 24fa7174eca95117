import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * A SaaS vendor's app, registered once (`npm run cli -- vendor-app create`), not tied to a corp.
 * A corp administrator installs it (`installApp`), which creates an `app` row of kind VENDOR.
 * Vendors are not reachable through the API: nothing here has a GraphQL type.
 */
@Entity({ name: "vendor_app" })
@Index("vendor_app_client_id_key", ["clientId"], { unique: true })
export class VendorApp {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "vendor_app_pkey" })
  pk: string;

  @Column({ type: "varchar", length: 100 })
  name: string;

  @Column({ name: "client_id", type: "varchar", length: 64 })
  clientId: string;

  @Column({ name: "secret_hash", type: "varchar", length: 128 })
  secretHash: string;

  /** The scopes the vendor asks for; an installation grants these or fewer. */
  @Column({ type: "text", array: true })
  scopes: string[];

  /** Redirect URIs for sign-in, the same for every corp that installs the app. */
  @Column({ name: "redirect_uris", type: "text", array: true, default: () => "'{}'" })
  redirectUris: string[];

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
