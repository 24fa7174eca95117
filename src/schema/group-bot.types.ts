import { Field, ID, InputType, ObjectType } from "type-graphql";
import { GroupBot } from "../entities/group-bot.entity";
import { AutoReplyRule } from "../entities/auto-reply-rule.entity";
import { ConnectionType } from "./connection";

/*
 * The GraphQL side of group robots (issue 14, item 7). Inputs are checked by `GroupBotService`,
 * which names the offending field (`input.keyword`).
 */

@ObjectType("GroupBotConnection", { description: "A page of a group's robots, by id." })
export class GroupBotConnection extends ConnectionType(GroupBot, "GroupBot", "group robot") {}

@ObjectType("AutoReplyRuleConnection", { description: "A page of a robot's keyword auto-reply rules, by id." })
export class AutoReplyRuleConnection extends ConnectionType(AutoReplyRule, "AutoReplyRule", "auto-reply rule") {}

@InputType("CreateGroupBotInput", { description: "A new robot in a group." })
export class CreateGroupBotInput {
  @Field(() => ID, { description: "A group you manage (its owner or an admin, or the app that created it); at most 10 robots a group." })
  conversationId: string;

  @Field({ description: "Name, 1–64 characters, one line, unique among the group's robots (else CONFLICT)." })
  name: string;
}

@InputType("RotateGroupBotKeyInput", { description: "The robot whose webhook key to replace." })
export class RotateGroupBotKeyInput {
  @Field(() => ID, { description: "A robot of a group you manage." })
  id: string;
}

@InputType("RemoveGroupBotInput", { description: "The robot to remove." })
export class RemoveGroupBotInput {
  @Field(() => ID, { description: "A robot of a group you manage." })
  id: string;
}

@InputType("CreateAutoReplyRuleInput", { description: "A keyword auto-reply rule for a robot." })
export class CreateAutoReplyRuleInput {
  @Field(() => ID, { description: "A robot of a group you manage; at most 100 rules a robot." })
  botId: string;

  @Field({ description: "The keyword, 1–32 characters, one line; unique per robot ignoring case and full-width forms (else CONFLICT)." })
  keyword: string;

  @Field({ description: "The reply the robot posts, as a text message: 1–4,000 characters, line breaks and tabs allowed." })
  reply: string;
}

@InputType("RemoveAutoReplyRuleInput", { description: "The auto-reply rule to remove." })
export class RemoveAutoReplyRuleInput {
  @Field(() => ID, { description: "A rule of a robot of a group you manage." })
  id: string;
}

/** The payload of a mutation that issues a webhook key. */
function IssuedBotPayloadType(name: string, mutation: string) {
  @ObjectType(name, { description: `Result of \`${mutation}\`.` })
  class Payload {
    @Field(() => GroupBot, { description: "The robot." })
    bot: GroupBot;

    @Field({
      description:
        'The robot\'s webhook: `POST` a WeCom group-robot body (`{"msgtype":"text","text":{"content":"…"}}`) to it. It carries the secret key: shown this once (stored as a hash), keep it like a password; `rotateGroupBotKey` replaces it.',
    })
    webhookUrl: string;
  }
  return Payload;
}

export const CreateGroupBotPayload = IssuedBotPayloadType("CreateGroupBotPayload", "createGroupBot");
export const RotateGroupBotKeyPayload = IssuedBotPayloadType("RotateGroupBotKeyPayload", "rotateGroupBotKey");

@ObjectType("RemoveGroupBotPayload", { description: "Result of `removeGroupBot`." })
export class RemoveGroupBotPayload {
  @Field(() => ID, { description: "The robot removed: its key no longer works, its rules are gone, the messages it posted stay." })
  botId: string;
}

@ObjectType("CreateAutoReplyRulePayload", { description: "Result of `createAutoReplyRule`." })
export class CreateAutoReplyRulePayload {
  @Field(() => AutoReplyRule, { description: "The new rule." })
  rule: AutoReplyRule;
}

@ObjectType("RemoveAutoReplyRulePayload", { description: "Result of `removeAutoReplyRule`." })
export class RemoveAutoReplyRulePayload {
  @Field(() => ID, { description: "The rule removed." })
  ruleId: string;

  @Field(() => GroupBot, { description: "Its robot." })
  bot: GroupBot;
}
