import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import type { AppDeps, RequestContext } from "../context";
import { GroupBot } from "../entities/group-bot.entity";
import { AutoReplyRule } from "../entities/auto-reply-rule.entity";
import type { Message } from "../entities/message.entity";
import { hydrate, selectList } from "../db/scoped-db";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { hashSecret, newSecret } from "../auth/secrets";
import { DomainError, badInput, conflict, limitExceeded, notFound } from "../errors/domain-error";
import { ConversationKind, type Edition } from "../domain/enums";
import { freeText, lineText, MESSAGE_TEXT_MAX } from "../domain/messaging";
import {
  BOT_BUCKET,
  BOT_NAME_MAX,
  BOT_POST_POINTS,
  BotHookError,
  KEYWORD_MAX,
  MAX_BOTS_PER_GROUP,
  MAX_RULES_PER_BOT,
  botBucketKey,
  type BotPost,
} from "../domain/group-bots";
import { matchKey, messageText } from "../domain/message-text";
import { requireGroupManager } from "../policy/messaging";
import type { Principal } from "../policy/principal";
import { actor, auditChange } from "./audit";
import type { ConversationView } from "./conversation.service";
import type { MessageView } from "./message.service";
import type { Clock } from "./clock";

/** A robot found by its webhook key (before its corp is known): what the webhook needs to act as it. */
export interface KeyedBot {
  botPk: string;
  corpPk: string;
  conversationPk: string;
  createdByAppPk: string;
  edition: Edition;
  keyHash: string;
}

/** A robot with the URL of its webhook, which carries its key: shown once, when the key is issued. */
export interface IssuedBot {
  bot: GroupBot;
  webhookUrl: string;
}

/**
 * Group robots (issue 14, item 7; source §2). A group's owner and admins, or the app that created
 * it (`policy/messaging.ts`, `requireGroupManager`), create robots, rotate their keys, remove them
 * and keep their keyword auto-reply rules; everyone who takes part in the group sees its robots and
 * rules. A robot posts through `POST /hooks/bots/:key` (`rest/group-bot-hooks.ts`) and through its
 * auto-replies, both by `MessageService.send` with the robot as the sender: the same validation,
 * `seq`, event on the `messages` stream and compliance audit as any message. Every change is
 * audited in its transaction; keys are stored as SHA-256 hashes (`auth/secrets.ts`).
 */
export class GroupBotService {
  constructor(public clock: Clock) {}

  /** `PUBLIC_URL/hooks/bots/<key>`: the URL that carries the key (`rest/group-bot-hooks.ts`). */
  private webhookUrl(ctx: RequestContext, key: string): string {
    return `${ctx.deps.config.publicUrl}/hooks/bots/${key}`;
  }

  /** A group the caller manages, locked (FOR UPDATE) with `lock`; NOT_FOUND when the caller does not take part, BAD_USER_INPUT for another kind. */
  private async managedGroup(ctx: RequestContext, conversationPk: string, field: string, lock: boolean): Promise<ConversationView> {
    const conversation = await ctx.services.conversations.get(ctx, conversationPk, field, lock);
    if (conversation.kind !== ConversationKind.GROUP) throw badInput(field, "Robots belong to groups; this conversation is not a group.");
    requireGroupManager(ctx.caller, conversation, conversation.viewer);
    return conversation;
  }

  /** A robot (not removed) of a group the caller manages; NOT_FOUND on `field` when the caller does not take part in its group. */
  private async managedBot(ctx: RequestContext, botPk: string, field: string, lockBot = false): Promise<GroupBot> {
    const [bot] = await ctx.db.entities(
      GroupBot,
      `SELECT ${selectList(ctx.deps.dataSource, GroupBot, "b")} FROM group_bot b WHERE b.corp_id = $1 AND b.id = $2 AND b.removed_at IS NULL${lockBot ? " FOR UPDATE" : ""}`,
      [botPk],
    );
    const conversation = bot && (await ctx.services.conversations.find(ctx, bot.conversationId));
    if (!bot || !conversation) throw notFound("GroupBot", field);
    requireGroupManager(ctx.caller, conversation, conversation.viewer);
    return bot;
  }

  /** Creates a robot in a group: at most 10 a group, names unique among them. The webhook URL (with the key) is returned once. */
  async create(ctx: RequestContext, input: { conversationPk: string; name: string }): Promise<IssuedBot> {
    const name = lineText(input.name, "input.name", BOT_NAME_MAX);
    // The group's row lock orders robot creations: the count and the name check hold.
    const conversation = await this.managedGroup(ctx, input.conversationPk, "input.conversationId", true);
    const taken = await ctx.db.rows<{ name: string }>(`SELECT name FROM group_bot WHERE corp_id = $1 AND conversation_id = $2 AND removed_at IS NULL`, [
      conversation.pk,
    ]);
    if (taken.length >= MAX_BOTS_PER_GROUP) {
      throw limitExceeded(`A group has at most ${MAX_BOTS_PER_GROUP} robots; remove one first.`, {
        field: "input.conversationId",
        maximum: MAX_BOTS_PER_GROUP,
      });
    }
    if (taken.some((b) => b.name === name)) throw conflict("The group already has a robot of this name.", "input.name");
    const key = newSecret();
    const now = this.clock.now();
    const [bot] = await ctx.db.entities(
      GroupBot,
      `INSERT INTO group_bot AS b (corp_id, conversation_id, name, key_hash, created_by_member_id, created_by_app_id, created_at, key_issued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${selectList(ctx.deps.dataSource, GroupBot, "b")}`,
      [conversation.pk, name, hashSecret(key), ctx.caller.member?.id ?? null, ctx.caller.appId, now],
    );
    await auditChange(ctx, "GROUP_BOT_CREATED", { by: actor(ctx), botId: bot.pk, conversationId: conversation.pk, name });
    return { bot, webhookUrl: this.webhookUrl(ctx, key) };
  }

  /** A new webhook key, shown once; the previous one stops working at once (93000). */
  async rotateKey(ctx: RequestContext, botPk: string): Promise<IssuedBot> {
    await this.managedBot(ctx, botPk, "input.id");
    const key = newSecret();
    const [bot] = await ctx.db.entities(
      GroupBot,
      `UPDATE group_bot AS b SET key_hash = $3, key_issued_at = $4 WHERE b.corp_id = $1 AND b.id = $2 AND b.removed_at IS NULL
       RETURNING ${selectList(ctx.deps.dataSource, GroupBot, "b")}`,
      [botPk, hashSecret(key), this.clock.now()],
    );
    if (!bot) throw notFound("GroupBot", "input.id");
    await auditChange(ctx, "GROUP_BOT_KEY_ROTATED", { by: actor(ctx), botId: bot.pk, conversationId: bot.conversationId });
    return { bot, webhookUrl: this.webhookUrl(ctx, key) };
  }

  /** Removes a robot: its key stops working, its rules go; the messages it posted stay and keep naming it. */
  async remove(ctx: RequestContext, botPk: string): Promise<GroupBot> {
    const bot = await this.managedBot(ctx, botPk, "input.id");
    const removed = await ctx.db.exec(`UPDATE group_bot SET removed_at = $3, key_hash = NULL WHERE corp_id = $1 AND id = $2 AND removed_at IS NULL`, [
      botPk,
      this.clock.now(),
    ]);
    if (!removed) throw notFound("GroupBot", "input.id");
    await ctx.db.exec(`DELETE FROM auto_reply_rule WHERE corp_id = $1 AND bot_id = $2`, [botPk]);
    await auditChange(ctx, "GROUP_BOT_REMOVED", { by: actor(ctx), botId: bot.pk, conversationId: bot.conversationId, name: bot.name });
    return bot;
  }

  /** A group's robots (not removed), by id; NOT_FOUND when the caller does not take part in it. */
  async list(ctx: RequestContext, conversationPk: string, window: PageWindow): Promise<Connection<GroupBot>> {
    const conversation = await ctx.services.conversations.get(ctx, conversationPk, "conversationId");
    const params = new SqlParams();
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, GroupBot, "b"),
      from: "group_bot b",
      where: `b.corp_id = $1 AND b.conversation_id = ${params.add(conversation.pk)} AND b.removed_at IS NULL`,
      params,
      key: [{ sql: "b.id", cast: "bigint" }],
      keyOf: (b) => [b.pk],
      map: (row) => hydrate(GroupBot, row),
    });
  }

  /** Per request (keyed by `ctx.loaders`): robots by id, for messages' senders. */
  private readonly senderLoaders = new WeakMap<object, DataLoader<string, GroupBot | undefined>>();

  /**
   * A robot as a message's sender shows it, removed ones included (their messages stay), within the
   * caller's corp; batched per request (one statement for a page of messages).
   */
  sender(ctx: RequestContext, pk: string): Promise<GroupBot | undefined> {
    let loader = this.senderLoaders.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((pks) => this.senders(ctx, pks));
      this.senderLoaders.set(ctx.loaders, loader);
    }
    return loader.load(pk);
  }

  private async senders(ctx: RequestContext, pks: readonly string[]): Promise<Array<GroupBot | undefined>> {
    const rows = await ctx.db.entities(
      GroupBot,
      `SELECT ${selectList(ctx.deps.dataSource, GroupBot, "b")} FROM group_bot b WHERE b.corp_id = $1 AND b.id = ANY($2::bigint[])`,
      [[...pks]],
    );
    const byPk = new Map(rows.map((b) => [b.pk, b]));
    return pks.map((pk) => byPk.get(pk));
  }

  /** A keyword rule for a robot: at most 100 a robot, keywords unique per robot (ignoring case and full-width forms). */
  async createRule(ctx: RequestContext, input: { botPk: string; keyword: string; reply: string }): Promise<AutoReplyRule> {
    const keyword = lineText(input.keyword, "input.keyword", KEYWORD_MAX);
    const reply = freeText(input.reply, "input.reply", MESSAGE_TEXT_MAX);
    // The robot's row lock orders rule creations: the count and the keyword check hold.
    const bot = await this.managedBot(ctx, input.botPk, "input.botId", true);
    const key = matchKey(keyword);
    const rules = await ctx.db.rows<{ keyword_key: string }>(`SELECT keyword_key FROM auto_reply_rule WHERE corp_id = $1 AND bot_id = $2`, [bot.pk]);
    if (rules.length >= MAX_RULES_PER_BOT) {
      throw limitExceeded(`A robot has at most ${MAX_RULES_PER_BOT} auto-reply rules; remove one first.`, { field: "input.botId", maximum: MAX_RULES_PER_BOT });
    }
    if (rules.some((r) => r.keyword_key === key)) throw conflict("The robot already has a rule for this keyword.", "input.keyword");
    const [rule] = await ctx.db.entities(
      AutoReplyRule,
      `INSERT INTO auto_reply_rule AS r (corp_id, bot_id, keyword, keyword_key, reply, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${selectList(ctx.deps.dataSource, AutoReplyRule, "r")}`,
      [bot.pk, keyword, key, reply, this.clock.now()],
    );
    await auditChange(ctx, "AUTO_REPLY_RULE_CREATED", { by: actor(ctx), botId: bot.pk, ruleId: rule.pk, keyword });
    return rule;
  }

  /** Removes a keyword rule of a robot the caller manages; returns its robot. */
  async removeRule(ctx: RequestContext, rulePk: string): Promise<GroupBot> {
    const found = await ctx.db.one<{ bot_id: string; keyword: string }>(`SELECT bot_id::text, keyword FROM auto_reply_rule WHERE corp_id = $1 AND id = $2`, [
      rulePk,
    ]);
    if (!found) throw notFound("AutoReplyRule", "input.id");
    const bot = await this.managedBot(ctx, found.bot_id, "input.id").catch((e: unknown) => {
      throw e instanceof DomainError && e.code === "NOT_FOUND" ? notFound("AutoReplyRule", "input.id") : e;
    });
    const removed = await ctx.db.exec(`DELETE FROM auto_reply_rule WHERE corp_id = $1 AND id = $2`, [rulePk]);
    if (!removed) throw notFound("AutoReplyRule", "input.id");
    await auditChange(ctx, "AUTO_REPLY_RULE_REMOVED", { by: actor(ctx), botId: bot.pk, ruleId: rulePk, keyword: found.keyword });
    return bot;
  }

  /** A robot's keyword rules, by id; NOT_FOUND when the caller does not take part in its group. */
  async rules(ctx: RequestContext, botPk: string, window: PageWindow): Promise<Connection<AutoReplyRule>> {
    const [bot] = await ctx.db.rows<{ conversation_id: string }>(
      `SELECT conversation_id::text FROM group_bot WHERE corp_id = $1 AND id = $2 AND removed_at IS NULL`,
      [botPk],
    );
    if (!bot || !(await ctx.services.conversations.find(ctx, bot.conversation_id))) throw notFound("GroupBot", "botId");
    const params = new SqlParams();
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, AutoReplyRule, "r"),
      from: "auto_reply_rule r",
      where: `r.corp_id = $1 AND r.bot_id = ${params.add(botPk)}`,
      params,
      key: [{ sql: "r.id", cast: "bigint" }],
      keyOf: (r) => [r.pk],
      map: (row) => hydrate(AutoReplyRule, row),
    });
  }

  /**
   * Keyword auto-replies to a member's message in a group (called by `MessageService.send`, in its
   * transaction, under the conversation's lock): each robot of the group with a rule whose keyword
   * the message contains posts the reply of its first such rule (by rule id), once, through `send`
   * with the robot as the sender. In the same transaction, so the reply commits (and is delivered)
   * with the message or not at all, right after it in `seq`, with no job to lose it in between; its
   * key (`auto-reply:<message id>`) makes it idempotent; it counts against the robot's 20 posts a
   * minute (the webhook's bucket), past which the robot stays silent. Only members' messages are answered: a
   * robot's own posts (and apps') never trigger a rule, so robots cannot answer each other in a loop.
   */
  async autoReply(ctx: RequestContext, conversation: ConversationView, message: Message): Promise<void> {
    if (conversation.kind !== ConversationKind.GROUP || !message.senderMemberId) return;
    const text = matchKey(messageText(message.kind, message.content));
    if (!text) return;
    const replies = await ctx.db.rows<{ bot_id: string; reply: string }>(
      `SELECT DISTINCT ON (b.id) b.id::text AS bot_id, r.reply
         FROM group_bot b JOIN auto_reply_rule r ON r.corp_id = $1 AND r.bot_id = b.id
        WHERE b.corp_id = $1 AND b.conversation_id = $2 AND b.removed_at IS NULL AND strpos($3, r.keyword_key) > 0
        ORDER BY b.id, r.id`,
      [conversation.pk, text],
    );
    for (const { bot_id, reply } of replies) {
      // A reply is one of the robot's 20 posts a minute, as its webhook's are; past them the robot
      // stays silent (the member's message is never refused for it). Points taken for a message
      // that then rolls back stay taken: the limit errs on the quiet side.
      const taken = await ctx.deps.rateLimiter.store.take(botBucketKey(ctx.caller.corpId, bot_id), BOT_BUCKET, BOT_POST_POINTS);
      if (!taken.allowed) continue;
      // One after the other: each takes the next seq of the conversation (at most 10 robots a group).
      await ctx.services.messages.send(ctx, {
        conversationPk: conversation.pk,
        clientMessageId: `auto-reply:${message.pk}`,
        content: { text: { content: reply } },
        botPk: bot_id,
      });
    }
  }

  /**
   * The robot a webhook key belongs to, across corps (the corp is not known before): found by the
   * key's hash (`group_bot_key_hash_key`), so a removed robot or a rotated key finds nothing.
   */
  async findByKey(deps: AppDeps, key: string): Promise<KeyedBot | undefined> {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) return undefined;
    const keyHash = hashSecret(key);
    const row = await deps.crossCorp.one<{ id: string; corp_id: string; conversation_id: string; created_by_app_id: string; edition: Edition }>(
      `SELECT b.id::text, b.corp_id::text, b.conversation_id::text, b.created_by_app_id::text, c.edition
         FROM group_bot b JOIN corp c ON c.id = b.corp_id WHERE b.key_hash = $1`,
      [keyHash],
    );
    return (
      row && { botPk: row.id, corpPk: row.corp_id, conversationPk: row.conversation_id, createdByAppPk: row.created_by_app_id, edition: row.edition, keyHash }
    );
  }

  /**
   * The principal a robot's webhook acts as: in its corp, not a member, with no scope and no
   * visibility, so nothing but the post this service makes for it (`post`) can use it. `appId` is
   * the app that created the robot (the principal type needs one; nothing here reads it).
   */
  principalOf(bot: KeyedBot): Principal {
    return {
      corpId: bot.corpPk,
      appId: bot.createdByAppPk,
      clientId: `group-bot:${bot.botPk}`,
      scopes: new Set(),
      visibleRoots: [],
      member: null,
      edition: bot.edition,
      appRateLimit: null,
    };
  }

  /**
   * Posts a webhook message as the robot, in the caller's transaction: the robot's row is locked
   * (FOR SHARE) with the key it was found by, so a key rotated or a robot removed meanwhile posts
   * nothing (93000); then `MessageService.send` with the robot as the sender.
   */
  async post(ctx: RequestContext, bot: KeyedBot, post: BotPost): Promise<MessageView> {
    const still = await ctx.db.one(`SELECT 1 FROM group_bot WHERE corp_id = $1 AND id = $2 AND key_hash = $3 AND removed_at IS NULL FOR SHARE`, [
      bot.botPk,
      bot.keyHash,
    ]);
    if (!still) throw new BotHookError("INVALID_WEBHOOK", "invalid webhook url: no robot has this key (it may have been rotated or the robot removed)");
    return ctx.services.messages.send(ctx, {
      conversationPk: bot.conversationPk,
      clientMessageId: randomUUID(),
      content: post.msgtype === "text" ? { text: { content: post.content } } : { markdown: { content: post.content } },
      botPk: bot.botPk,
    });
  }
}
