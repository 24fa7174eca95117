import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { Conversation } from "./conversation.entity";
import { toGlobalId } from "../schema/global-id";

/**
 * A group robot (issue 14, item 7; source §2): posts into its group through `POST /hooks/bots/:key`
 * and answers keyword auto-reply rules. Its webhook key is a 256-bit random string stored as its
 * SHA-256 hash (`keyHash`, like app secrets), unique across corps because the webhook finds the
 * robot by it before the corp is known. Removing a robot keeps the row (its messages still name it)
 * and drops the key: `removedAt` set, `keyHash` null.
 */
@Entity({ name: "group_bot" })
@ObjectType("GroupBot", {
  simpleResolvers: true,
  description: "A group robot: posts into its group through its webhook URL, and answers keyword auto-reply rules.",
})
@Index("group_bot_key_hash_key", ["keyHash"], { unique: true, where: `"key_hash" IS NOT NULL` })
@Index("group_bot_conversation_idx", ["corpId", "conversationId", "pk"])
@Index("group_bot_conversation_name_key", ["conversationId", "name"], { unique: true, where: `"removed_at" IS NULL` })
export class GroupBot {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "group_bot_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("GroupBot", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "group_bot_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "conversation_id", type: "bigint" })
  conversationId: string;

  @ManyToOne(() => Conversation, { onDelete: "CASCADE" })
  @JoinColumn({ name: "conversation_id", foreignKeyConstraintName: "group_bot_conversation_id_fkey" })
  conversation?: Conversation;

  @Field({ description: "Its name in the group (1–64 characters, unique among the group's robots); shown as the sender of what it posts." })
  @Column({ type: "varchar", length: 64 })
  name: string;

  /** `sha256$<hex>` of the webhook key (never shown; null once removed). */
  @Column({ name: "key_hash", type: "varchar", length: 80, nullable: true })
  keyHash: string | null;

  /** Who created it: the member (acting through an app), or the app on its own (plain ids, kept after a deletion). */
  @Column({ name: "created_by_member_id", type: "bigint", nullable: true })
  createdByMemberId: string | null;

  @Column({ name: "created_by_app_id", type: "bigint" })
  createdByAppId: string;

  @Field({ description: "When it was created." })
  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When its webhook key was last issued (created or rotated); keys issued before stopped working." })
  @Column({ name: "key_issued_at", type: "timestamptz" })
  keyIssuedAt: Date;

  /** When it was removed (its key no longer works; its messages keep naming it). */
  @Column({ name: "removed_at", type: "timestamptz", nullable: true })
  removedAt: Date | null;
}
