import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { Conversation } from "./conversation.entity";
import { MessageKind } from "../domain/enums";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/**
 * A message (issue 14): numbered `seq` within its conversation (1, 2, 3… without gaps), sent by a
 * member or by an app (kept as plain ids, like the audit log, so a message outlives its sender's
 * deletion). `clientMessageId` makes a send idempotent per (sender, conversation); `contentDigest`
 * (SHA-256 of the kind and normalised content) tells a repeat from a different message and survives
 * a recall, which empties `content` but keeps the row, its place and its seq.
 */
@Entity({ name: "message" })
@ObjectType("Message", { implements: Node, simpleResolvers: true, description: "A message in a conversation, numbered by `seq`." })
@Index("message_conversation_seq_key", ["conversationId", "seq"], { unique: true })
@Index("message_member_client_id_key", ["conversationId", "senderMemberId", "clientMessageId"], { unique: true, where: `"sender_member_id" IS NOT NULL` })
@Index("message_app_client_id_key", ["conversationId", "senderAppId", "clientMessageId"], { unique: true, where: `"sender_app_id" IS NOT NULL` })
@Index("message_bot_client_id_key", ["conversationId", "senderBotId", "clientMessageId"], { unique: true, where: `"sender_bot_id" IS NOT NULL` })
@Check("message_kind_check", `"kind" IN ('TEXT', 'MARKDOWN', 'IMAGE', 'FILE', 'LINK_CARD', 'TODO', 'VOTE', 'FORM')`)
@Check("message_sender_check", `num_nonnulls("sender_member_id", "sender_app_id", "sender_bot_id") = 1`)
@Check("message_seq_check", `"seq" > 0`)
@Index("message_created_at_idx", ["createdAt"])
@Index("message_app_send_idx", ["corpId", "senderAppId", "appSendDigest", "createdAt"], { where: `"app_send_digest" IS NOT NULL` })
export class Message {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "message_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("Message", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "message_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "conversation_id", type: "bigint" })
  conversationId: string;

  @ManyToOne(() => Conversation, { onDelete: "CASCADE" })
  @JoinColumn({ name: "conversation_id", foreignKeyConstraintName: "message_conversation_id_fkey" })
  conversation?: Conversation;

  /** Position in the conversation, from 1. */
  @Column({ type: "bigint" })
  seq: string;

  @Column({ name: "sender_member_id", type: "bigint", nullable: true })
  senderMemberId: string | null;

  @Column({ name: "sender_app_id", type: "bigint", nullable: true })
  senderAppId: string | null;

  /** A group robot that posted it (issue 14, item 7: its webhook or an auto-reply); exactly one sender column is set. */
  @Column({ name: "sender_bot_id", type: "bigint", nullable: true })
  senderBotId: string | null;

  @Column({ name: "client_message_id", type: "varchar", length: 64 })
  clientMessageId: string;

  @Field(() => MessageKind, { description: "What the message carries; `content` is of the matching type." })
  @Column({ type: "varchar", length: 16 })
  kind: MessageKind;

  /** The normalised content of its kind (`services/message-content.ts`); `{}` once recalled. */
  @Column({ type: "jsonb" })
  content: Record<string, unknown>;

  @Column({ name: "content_digest", type: "varchar", length: 64 })
  contentDigest: string;

  /**
   * Set on the messages of one `sendAppMessage` call: SHA-256 of (app, audience, content), what a
   * repeat within its `dedupeSeconds` is recognised by (`services/app-message.service.ts`).
   */
  @Column({ name: "app_send_digest", type: "varchar", length: 64, nullable: true })
  appSendDigest: string | null;

  @Field({ description: "When the message was sent." })
  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  /** When its sender last reminded its unread members (`remindUnread`: at most every 10 minutes). */
  @Column({ name: "reminded_at", type: "timestamptz", nullable: true })
  remindedAt: Date | null;

  @Field(() => Date, { nullable: true, description: "When the sender recalled it (its content is then null for everyone); null otherwise." })
  @Column({ name: "recalled_at", type: "timestamptz", nullable: true })
  recalledAt: Date | null;
}
