import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";
import { App } from "./app.entity";
import { ConversationKind } from "../domain/enums";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/**
 * A conversation (issue 14, source §2): DIRECT between two members (`directKey` = their ids, lower
 * first, unique in the corp), GROUP (at most 10,000 members, an owner and admins), APP (an app's
 * channel to one member) or CUSTOMER. `lastSeq` is the sequence number of its newest message,
 * allocated under this row's lock, so messages of a conversation are numbered 1, 2, 3… without gaps;
 * a member's unread count is `lastSeq − readSeq` (O(1), no row per message per reader).
 * `memberCount` is kept with the membership rows under the same lock.
 */
@Entity({ name: "conversation" })
@ObjectType("Conversation", {
  implements: Node,
  simpleResolvers: true,
  description: "A conversation: direct (two members), group, an app's channel to a member, or with a customer.",
})
@Index("conversation_corp_direct_key", ["corpId", "directKey"], { unique: true, where: `"direct_key" IS NOT NULL` })
@Index("conversation_corp_app_activity_idx", ["corpId", "createdByAppId", "lastActivityAt", "pk"], { where: `"created_by_app_id" IS NOT NULL` })
@Index("conversation_owner_idx", ["ownerId"])
@Index("conversation_created_by_app_idx", ["createdByAppId"])
@Check("conversation_kind_check", `"kind" IN ('DIRECT', 'GROUP', 'APP', 'CUSTOMER')`)
@Check("conversation_member_count_check", `"member_count" >= 0`)
@Check("conversation_last_seq_check", `"last_seq" >= 0`)
export class Conversation {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "conversation_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("Conversation", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "conversation_corp_id_fkey" })
  corp?: Corp;

  @Field(() => ConversationKind, { description: "DIRECT, GROUP, APP or CUSTOMER." })
  @Column({ type: "varchar", length: 16 })
  kind: ConversationKind;

  @Field(() => String, { nullable: true, description: "A group's name, 1–64 characters; null for other kinds." })
  @Column({ type: "varchar", length: 64, nullable: true })
  name: string | null;

  /** A group's owner (null for other kinds, or once the owner was deleted from the directory). */
  @Column({ name: "owner_id", type: "bigint", nullable: true })
  ownerId: string | null;

  @ManyToOne(() => Member, { onDelete: "SET NULL" })
  @JoinColumn({ name: "owner_id", foreignKeyConstraintName: "conversation_owner_id_fkey" })
  owner?: Member;

  /** The app that created it (a group an app made, an APP conversation); it then takes part in it. */
  @Column({ name: "created_by_app_id", type: "bigint", nullable: true })
  createdByAppId: string | null;

  @ManyToOne(() => App, { onDelete: "SET NULL" })
  @JoinColumn({ name: "created_by_app_id", foreignKeyConstraintName: "conversation_created_by_app_id_fkey" })
  createdByApp?: App;

  /**
   * The get-or-create key, unique in the corp: DIRECT `<lower member id>:<higher member id>`, APP
   * `app:<app id>:<member id>` (one channel per app and member); null for other kinds.
   */
  @Column({ name: "direct_key", type: "varchar", length: 48, nullable: true })
  directKey: string | null;

  @Field(() => Int, { description: "Number of members." })
  @Column({ name: "member_count", type: "integer", default: 0 })
  memberCount: number;

  /** Sequence number of the newest message (0: none yet). */
  @Column({ name: "last_seq", type: "bigint", default: 0 })
  lastSeq: string;

  @Field(() => Date, { nullable: true, description: "When the newest message was sent; null before the first." })
  @Column({ name: "last_message_at", type: "timestamptz", nullable: true })
  lastMessageAt: Date | null;

  /** The highest `seq` the retention job purged (0: none); history starts after it. */
  @Column({ name: "purged_seq", type: "bigint", default: 0 })
  purgedSeq: string;

  /** The retention job's cut-off when it last purged messages of this conversation: older ones are gone (null: none purged). */
  @Column({ name: "history_purged_before", type: "timestamptz", nullable: true })
  historyPurgedBefore: Date | null;

  /** The newest message's time, or the creation time before the first: what `conversations` sorts by. */
  @Column({ name: "last_activity_at", type: "timestamptz" })
  lastActivityAt: Date;

  @Field({ description: "When the conversation was created." })
  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When the conversation's name or membership last changed." })
  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
