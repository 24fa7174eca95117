import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { VendorApp } from "./vendor-app.entity";
import { AppKind } from "../domain/enums";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/**
 * An app of a corp: a self-built app, or a vendor app's installation (`vendorAppId` set; its
 * `clientId` is the vendor's and its secret lives in `vendor_app`). Secret hashes are never
 * exposed. Visibility: `visibleDepartmentIds` null means the whole corp; `visibleMemberIds` adds
 * single members who may sign in to the app (issue 5).
 */
@Entity({ name: "app" })
@ObjectType("App", { implements: Node, description: "An app of the corp: a self-built app or an installed vendor app; the client tokens are issued to." })
@Index("app_client_id_key", ["clientId"], { unique: true, where: `"vendor_app_id" IS NULL` })
@Index("app_corp_vendor_key", ["corpId", "vendorAppId"], { unique: true, where: `"vendor_app_id" IS NOT NULL` })
@Index("app_corp_id_idx", ["corpId"])
@Check("app_kind_check", `"kind" IN ('SELF_BUILT', 'VENDOR')`)
@Check(
  "app_rate_limit_check",
  `("rate_limit_capacity" IS NULL AND "rate_limit_restore_rate" IS NULL) OR ("rate_limit_capacity" > 0 AND "rate_limit_restore_rate" > 0)`,
)
export class App {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "app_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("App", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "app_corp_id_fkey" })
  corp?: Corp;

  @Field({ description: "Display name, 1–100 characters." })
  @Column({ type: "varchar", length: 100 })
  name: string;

  @Field(() => AppKind, { description: "SELF_BUILT (made by the corp) or VENDOR (an installed vendor app)." })
  @Column({ type: "varchar", length: 16, default: "SELF_BUILT" })
  kind: AppKind;

  @Field({ description: "The OAuth client id (at /oauth/token and /oauth/authorize). A vendor app's installations share the vendor's client id." })
  @Column({ name: "client_id", type: "varchar", length: 64 })
  clientId: string;

  @Column({ name: "secret_hash", type: "varchar", length: 128, nullable: true })
  secretHash: string | null;

  /** The secret before the last rotation, accepted until `previousSecretExpiresAt`. */
  @Column({ name: "previous_secret_hash", type: "varchar", length: 128, nullable: true })
  previousSecretHash: string | null;

  @Field(() => Date, {
    nullable: true,
    description: "After `rotateAppSecret`: until when the previous secret is still accepted (the grace period); null when no previous secret is valid.",
  })
  @Column({ name: "previous_secret_expires_at", type: "timestamptz", nullable: true })
  previousSecretExpiresAt: Date | null;

  @Field(() => [String], { description: "Scopes the app is granted (`resource:action`)." })
  @Column({ type: "text", array: true })
  scopes: string[];

  @Field(() => [String], { description: "Redirect URIs allowed at /oauth/authorize; compared exactly (no wildcards, no prefix match)." })
  @Column({ name: "redirect_uris", type: "text", array: true, default: () => "'{}'" })
  redirectUris: string[];

  @Column({ name: "visible_department_ids", type: "bigint", array: true, nullable: true })
  visibleDepartmentIds: string[] | null;

  @Column({ name: "visible_member_ids", type: "bigint", array: true, default: () => "'{}'" })
  visibleMemberIds: string[];

  @Field(() => [String], { description: "Client IP ranges (CIDR) the app may call from, at /oauth/token and /graphql; empty: anywhere." })
  @Column({ name: "allowed_ip_ranges", type: "cidr", array: true, default: () => "'{}'" })
  allowedIpRanges: string[];

  @Field({ description: "A public client (a browser or mobile app) has no secret and must use PKCE S256." })
  @Column({ name: "public_client", type: "boolean", default: false })
  publicClient: boolean;

  @Column({ name: "vendor_app_id", type: "bigint", nullable: true })
  vendorAppId: string | null;

  @ManyToOne(() => VendorApp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "vendor_app_id", foreignKeyConstraintName: "app_vendor_app_id_fkey" })
  vendorApp?: VendorApp;

  @Field({ description: "False after `disableApp`: its tokens are refused and it gets no new ones." })
  @Column({ type: "boolean", default: true })
  enabled: boolean;

  /** Set by every disable: tokens issued at or before it stay refused after the app is enabled again. */
  @Column({ name: "tokens_valid_after", type: "timestamptz", nullable: true })
  tokensValidAfter: Date | null;

  /** `setAppRateLimit`: the app's bucket size in points, below its edition's (null: the edition's). */
  @Column({ name: "rate_limit_capacity", type: "integer", nullable: true })
  rateLimitCapacity: number | null;

  /** `setAppRateLimit`: points regained per second (null: the edition's). */
  @Column({ name: "rate_limit_restore_rate", type: "integer", nullable: true })
  rateLimitRestoreRate: number | null;

  @Field({ description: "When the app was created (or installed)." })
  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When the app last changed." })
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
