import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Member } from "./member.entity";

/**
 * A member's do-not-disturb window (issue 14 item 6, source §2): every day from `fromMinute` to
 * `toMinute` (minutes of the day, across midnight when from > to) in the IANA `timezone`. While it
 * applies, `messageEvents` still delivers every event, with `notify: false`. No row: none set.
 */
@Entity({ name: "member_do_not_disturb" })
@Check("member_do_not_disturb_minutes_check", `"from_minute" BETWEEN 0 AND 1439 AND "to_minute" BETWEEN 0 AND 1439 AND "from_minute" <> "to_minute"`)
export class MemberDoNotDisturb {
  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "member_do_not_disturb_pkey" })
  memberId: string;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "member_do_not_disturb_member_id_fkey" })
  member?: Member;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "member_do_not_disturb_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "from_minute", type: "smallint" })
  fromMinute: number;

  @Column({ name: "to_minute", type: "smallint" })
  toMinute: number;

  /** An IANA time zone, as `Intl.DateTimeFormat` spells it. */
  @Column({ type: "varchar", length: 64 })
  timezone: string;

  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
