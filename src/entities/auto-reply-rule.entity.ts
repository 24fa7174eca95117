import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { GroupBot } from "./group-bot.entity";
import { toGlobalId } from "../schema/global-id";

/**
 * A keyword auto-reply rule of a group robot (issue 14, item 7; source §2): a member's message in
 * the robot's group containing `keyword` (compared by `keywordKey`, see `domain/message-text.ts`)
 * gets `reply`, posted by the robot in the same transaction.
 */
@Entity({ name: "auto_reply_rule" })
@ObjectType("AutoReplyRule", { simpleResolvers: true, description: "A keyword auto-reply rule of a group robot." })
@Index("auto_reply_rule_bot_idx", ["corpId", "botId", "pk"])
@Index("auto_reply_rule_bot_keyword_key", ["botId", "keywordKey"], { unique: true })
export class AutoReplyRule {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "auto_reply_rule_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("AutoReplyRule", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "auto_reply_rule_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "bot_id", type: "bigint" })
  botId: string;

  @ManyToOne(() => GroupBot, { onDelete: "CASCADE" })
  @JoinColumn({ name: "bot_id", foreignKeyConstraintName: "auto_reply_rule_bot_id_fkey" })
  bot?: GroupBot;

  @Field({ description: "The keyword (1–32 characters, one line): a member message containing it, ignoring case and full-width forms, is answered." })
  @Column({ type: "varchar", length: 32 })
  keyword: string;

  /** The keyword's comparison key (`matchKey`: NFKC, lower case). */
  @Column({ name: "keyword_key", type: "varchar", length: 128 })
  keywordKey: string;

  @Field({ description: "The text the robot posts in answer (1–4,000 characters)." })
  @Column({ type: "text" })
  reply: string;

  @Field({ description: "When the rule was created." })
  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
