import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";
import { Message } from "./message.entity";

/** An assignee's completion of a to-do message: the primary key allows one per assignee and to-do. */
@Entity({ name: "message_todo_done" })
@Index("message_todo_done_member_idx", ["memberId"])
export class MessageTodoDone {
  @PrimaryColumn({ name: "message_id", type: "bigint", primaryKeyConstraintName: "message_todo_done_pkey" })
  messageId: string;

  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "message_todo_done_pkey" })
  memberId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "message_todo_done_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Message, { onDelete: "CASCADE" })
  @JoinColumn({ name: "message_id", foreignKeyConstraintName: "message_todo_done_message_id_fkey" })
  message?: Message;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "message_todo_done_member_id_fkey" })
  member?: Member;

  @Column({ name: "done_at", type: "timestamptz" })
  doneAt: Date;
}
