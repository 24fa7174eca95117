import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { GroupBot } from "../entities/group-bot.entity";
import { pageWindow } from "../db/paging";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import { Paged } from "../schema/cost";
import { MessageSender } from "../schema/messaging.types";
import {
  AutoReplyRuleConnection,
  CreateAutoReplyRuleInput,
  CreateAutoReplyRulePayload,
  CreateGroupBotInput,
  CreateGroupBotPayload,
  GroupBotConnection,
  RemoveAutoReplyRuleInput,
  RemoveAutoReplyRulePayload,
  RemoveGroupBotInput,
  RemoveGroupBotPayload,
  RotateGroupBotKeyInput,
  RotateGroupBotKeyPayload,
} from "../schema/group-bot.types";
import { Transactional } from "./transactional";

/** Group robots and their keyword auto-reply rules (issue 14, item 7): thin; the rules are in `GroupBotService`. */
@Resolver(() => GroupBot)
export class GroupBotResolver {
  @Authorized("messages:read")
  @Paged()
  @Query(() => GroupBotConnection, { description: "A group's robots, by id (never their webhook URLs). NOT_FOUND when you do not take part in the group." })
  groupBots(
    @Ctx() ctx: RequestContext,
    @Arg("conversationId", () => ID, { description: "A group you take part in." }) conversationId: string,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.groupBots.list(ctx, fromGlobalId(conversationId, "Conversation", "conversationId"), pageWindow({ first, after }));
  }

  @Authorized("messages:read")
  @Paged()
  @Query(() => AutoReplyRuleConnection, { description: "A robot's keyword auto-reply rules, by id. NOT_FOUND when you do not take part in its group." })
  autoReplyRules(
    @Ctx() ctx: RequestContext,
    @Arg("botId", () => ID, { description: "A robot of a group you take part in." }) botId: string,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.groupBots.rules(ctx, fromGlobalId(botId, "GroupBot", "botId"), pageWindow({ first, after }));
  }

  @FieldResolver(() => ID, { description: "The group it posts into." })
  conversationId(@Root() bot: GroupBot): string {
    return toGlobalId("Conversation", bot.conversationId);
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => CreateGroupBotPayload, {
    description:
      "Adds a robot to a group you manage (owner, admin, or the app that created it; else FORBIDDEN) and returns its webhook URL, shown once. At most 10 robots a group (LIMIT_EXCEEDED); names unique in the group (CONFLICT).",
  })
  @Transactional()
  createGroupBot(@Arg("input", { description: "The group and the robot's name." }) input: CreateGroupBotInput, @Ctx() ctx: RequestContext) {
    return ctx.services.groupBots.create(ctx, { conversationPk: fromGlobalId(input.conversationId, "Conversation", "input.conversationId"), name: input.name });
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RotateGroupBotKeyPayload, {
    description: "Replaces a robot's webhook key (and so its URL), shown once; the previous URL stops working at once (errcode 93000).",
  })
  @Transactional()
  rotateGroupBotKey(@Arg("input", { description: "The robot." }) input: RotateGroupBotKeyInput, @Ctx() ctx: RequestContext) {
    return ctx.services.groupBots.rotateKey(ctx, fromGlobalId(input.id, "GroupBot", "input.id"));
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RemoveGroupBotPayload, { description: "Removes a robot from its group: its webhook stops working, its rules go, its messages stay." })
  @Transactional()
  async removeGroupBot(@Arg("input", { description: "The robot." }) input: RemoveGroupBotInput, @Ctx() ctx: RequestContext) {
    const bot = await ctx.services.groupBots.remove(ctx, fromGlobalId(input.id, "GroupBot", "input.id"));
    return { botId: bot.id };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => CreateAutoReplyRulePayload, {
    description:
      "A keyword rule for a robot of a group you manage: a member's message in the group containing the keyword (ignoring case and full-width forms) gets the reply, posted by the robot right after it. At most 100 rules a robot (LIMIT_EXCEEDED); one per keyword (CONFLICT).",
  })
  @Transactional()
  async createAutoReplyRule(
    @Arg("input", { description: "The robot, the keyword and the reply." }) input: CreateAutoReplyRuleInput,
    @Ctx() ctx: RequestContext,
  ) {
    const rule = await ctx.services.groupBots.createRule(ctx, {
      botPk: fromGlobalId(input.botId, "GroupBot", "input.botId"),
      keyword: input.keyword,
      reply: input.reply,
    });
    return { rule };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RemoveAutoReplyRulePayload, { description: "Removes a keyword rule of a robot of a group you manage." })
  @Transactional()
  async removeAutoReplyRule(@Arg("input", { description: "The rule." }) input: RemoveAutoReplyRuleInput, @Ctx() ctx: RequestContext) {
    const pk = fromGlobalId(input.id, "AutoReplyRule", "input.id");
    const bot = await ctx.services.groupBots.removeRule(ctx, pk);
    return { ruleId: toGlobalId("AutoReplyRule", pk), bot };
  }
}

/** A message's sender when it is a group robot. */
@Resolver(() => MessageSender)
export class MessageSenderBotResolver {
  @FieldResolver(() => ID, { nullable: true, description: "The sending robot's id; null for a member or an app." })
  botId(@Root() sender: MessageSender): string | null {
    return sender.botPk ? toGlobalId("GroupBot", sender.botPk) : null;
  }

  @FieldResolver(() => GroupBot, { nullable: true, description: "The sending group robot (also after it was removed); null for a member or an app." })
  async bot(@Root() sender: MessageSender, @Ctx() ctx: RequestContext) {
    return sender.botPk ? ((await ctx.services.groupBots.sender(ctx, sender.botPk)) ?? null) : null;
  }
}
