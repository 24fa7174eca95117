import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * One of a corp's sensitive words (issue 14, item 8; source §7: compliance keyword audit): a
 * message containing it is recorded in `message_audit_hit`. Compared by `wordKey` (`matchKey`:
 * NFKC, lower case), unique in the corp.
 */
@Entity({ name: "sensitive_word" })
@Index("sensitive_word_corp_word_key", ["corpId", "wordKey"], { unique: true })
export class SensitiveWord {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "sensitive_word_pkey" })
  pk: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "sensitive_word_corp_id_fkey" })
  corp?: Corp;

  /** As the administrator wrote it (1–64 characters, one line). */
  @Column({ type: "varchar", length: 64 })
  word: string;

  @Column({ name: "word_key", type: "varchar", length: 256 })
  wordKey: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
