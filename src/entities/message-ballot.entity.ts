import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";
import { Message } from "./message.entity";

/** A member's ballot on a vote message: the primary key allows one per member and vote, so concurrent ballots count once. */
@Entity({ name: "message_ballot" })
@Index("message_ballot_member_idx", ["memberId"])
export class MessageBallot {
  @PrimaryColumn({ name: "message_id", type: "bigint", primaryKeyConstraintName: "message_ballot_pkey" })
  messageId: string;

  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "message_ballot_pkey" })
  memberId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "message_ballot_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Message, { onDelete: "CASCADE" })
  @JoinColumn({ name: "message_id", foreignKeyConstraintName: "message_ballot_message_id_fkey" })
  message?: Message;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "message_ballot_member_id_fkey" })
  member?: Member;

  /** Indexes into the vote's options (one, or several for a multiple-choice vote). */
  @Column({ type: "integer", array: true })
  options: number[];

  @Column({ name: "cast_at", type: "timestamptz" })
  castAt: Date;
}
