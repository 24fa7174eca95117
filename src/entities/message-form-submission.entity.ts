import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";
import { Message } from "./message.entity";

/** A member's submission of a form message: the primary key allows one per member and form. */
@Entity({ name: "message_form_submission" })
@Index("message_form_submission_member_idx", ["memberId"])
export class MessageFormSubmission {
  @PrimaryColumn({ name: "message_id", type: "bigint", primaryKeyConstraintName: "message_form_submission_pkey" })
  messageId: string;

  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "message_form_submission_pkey" })
  memberId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "message_form_submission_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Message, { onDelete: "CASCADE" })
  @JoinColumn({ name: "message_id", foreignKeyConstraintName: "message_form_submission_message_id_fkey" })
  message?: Message;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "message_form_submission_member_id_fkey" })
  member?: Member;

  /** The answers, one per answered field: `{ field, text | number | choices }`. */
  @Column({ type: "jsonb" })
  answers: Array<Record<string, unknown>>;

  @Column({ name: "submitted_at", type: "timestamptz" })
  submittedAt: Date;
}
