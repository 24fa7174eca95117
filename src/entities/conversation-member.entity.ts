import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";
import { Conversation } from "./conversation.entity";
import { ConversationRole } from "../domain/enums";

/**
 * A member of a conversation (issue 14): their role, their read pointer (`readSeq`: they have read
 * every message up to this sequence number) and their own settings (pinned, muted, archived).
 * Leaving or being removed deletes the row.
 */
@Entity({ name: "conversation_member" })
@Index("conversation_member_corp_member_idx", ["corpId", "memberId", "conversationId"])
@Index("conversation_member_member_idx", ["memberId"])
@Index("conversation_member_read_idx", ["conversationId", "readSeq"])
@Check("conversation_member_role_check", `"role" IN ('OWNER', 'ADMIN', 'MEMBER')`)
@Check("conversation_member_read_seq_check", `"read_seq" >= 0`)
export class ConversationMember {
  @PrimaryColumn({ name: "conversation_id", type: "bigint", primaryKeyConstraintName: "conversation_member_pkey" })
  conversationId: string;

  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "conversation_member_pkey" })
  memberId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "conversation_member_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Conversation, { onDelete: "CASCADE" })
  @JoinColumn({ name: "conversation_id", foreignKeyConstraintName: "conversation_member_conversation_id_fkey" })
  conversation?: Conversation;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "conversation_member_member_id_fkey" })
  member?: Member;

  @Column({ type: "varchar", length: 8, default: ConversationRole.MEMBER })
  role: ConversationRole;

  /** The member has read every message with `seq <= readSeq`. */
  @Column({ name: "read_seq", type: "bigint", default: 0 })
  readSeq: string;

  @Column({ type: "boolean", default: false })
  pinned: boolean;

  @Column({ type: "boolean", default: false })
  muted: boolean;

  @Column({ type: "boolean", default: false })
  archived: boolean;

  @Column({ name: "joined_at", type: "timestamptz" })
  joinedAt: Date;
}
