import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { toGlobalId } from "../schema/global-id";

/**
 * A message that contained one of the corp's sensitive words (issue 14, item 8; source §7): who
 * sent it, where, which word, when; written in the message's own transaction, one row per word.
 * Append-only. Message, conversation and sender are plain ids (like the audit log), so the record
 * outlives a recall, the history's retention and the deletion of its sender.
 */
@Entity({ name: "message_audit_hit" })
@ObjectType("MessageAuditHit", {
  simpleResolvers: true,
  description: "A message that contained a sensitive word (compliance audit): who, where, which word, when.",
})
@Index("message_audit_hit_corp_idx", ["corpId", "pk"])
@Index("message_audit_hit_conversation_idx", ["corpId", "conversationId", "pk"])
@Index("message_audit_hit_member_idx", ["corpId", "senderMemberId", "pk"], { where: `"sender_member_id" IS NOT NULL` })
@Index("message_audit_hit_word_idx", ["corpId", "wordKey", "pk"])
@Index("message_audit_hit_occurred_idx", ["corpId", "occurredAt", "pk"])
@Check("message_audit_hit_sender_check", `num_nonnulls("sender_member_id", "sender_app_id", "sender_bot_id") = 1`)
export class MessageAuditHit {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "message_audit_hit_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id (later hits have larger ids)." })
  get id(): string {
    return toGlobalId("MessageAuditHit", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "message_audit_hit_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "message_id", type: "bigint" })
  messageId: string;

  @Column({ name: "conversation_id", type: "bigint" })
  conversationId: string;

  @Column({ type: "bigint" })
  seq: string;

  @Column({ name: "sender_member_id", type: "bigint", nullable: true })
  senderMemberId: string | null;

  @Column({ name: "sender_app_id", type: "bigint", nullable: true })
  senderAppId: string | null;

  @Column({ name: "sender_bot_id", type: "bigint", nullable: true })
  senderBotId: string | null;

  @Field({ description: "The sensitive word the message contained, as it was on the list then." })
  @Column({ type: "varchar", length: 64 })
  word: string;

  /** The word's comparison key (`matchKey`), what the `word` filter compares. */
  @Column({ name: "word_key", type: "varchar", length: 256 })
  wordKey: string;

  @Field({ description: "When the message was sent." })
  @Column({ name: "occurred_at", type: "timestamptz" })
  occurredAt: Date;
}
