import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { Conversation } from "../entities/conversation.entity";
import { Member } from "../entities/member.entity";
import { pageWindow } from "../db/paging";
import { ConversationRole } from "../domain/enums";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import { Paged } from "../schema/cost";
import { Transactional } from "./transactional";
import {
  AddGroupMembersInput,
  AddGroupMembersPayload,
  ConversationConnection,
  ConversationFilterInput,
  ConversationMembership,
  ConversationMembershipConnection,
  ConversationSettings,
  CreateGroupInput,
  CreateGroupPayload,
  LeaveGroupInput,
  LeaveGroupPayload,
  MarkReadInput,
  MarkReadPayload,
  OpenDirectConversationInput,
  OpenDirectConversationPayload,
  RemoveGroupMembersInput,
  RemoveGroupMembersPayload,
  SetConversationSettingsInput,
  SetConversationSettingsPayload,
  UpdateGroupInput,
  UpdateGroupPayload,
} from "../schema/messaging.types";
import type { ConversationMemberRow, ConversationView } from "../services/conversation.service";

const memberPks = (ids: readonly string[], field: string) => ids.map((id) => fromGlobalId(id, "Member", field));

/** Conversations (issue 14): thin; the rules are in `ConversationService` and `policy/messaging.ts`. */
@Resolver(() => Conversation)
export class ConversationResolver {
  @Authorized("messages:read")
  @Query(() => Conversation, {
    nullable: true,
    description:
      "A conversation you may read: one you take part in, or (an app acting on its own with `messages:read`) a group or direct conversation whose members are all within your visibility; null otherwise.",
  })
  async conversation(@Arg("id", () => ID, { description: "The conversation's id." }) id: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.conversations.find(ctx, fromGlobalId(id, "Conversation", "id"))) ?? null;
  }

  @Authorized("messages:read")
  @Paged()
  @Query(() => ConversationConnection, {
    description:
      "The conversations you may read: a member's own (pinned first); an app's those it created and, with `messages:read`, the groups and direct conversations whose members are all within its visibility (not other apps' APP conversations); then by last activity, newest first. Each carries your unread count.",
  })
  conversations(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => ConversationFilterInput, { nullable: true, description: "Conditions the conversations must meet." }) filter?: ConversationFilterInput,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.conversations.list(ctx, { kind: filter?.kind, archived: filter?.archived }, pageWindow({ first, after }, 3));
  }

  @FieldResolver(() => Member, { nullable: true, description: "A group's owner; null for other kinds or when outside your visibility." })
  async owner(@Root() conversation: ConversationView, @Ctx() ctx: RequestContext) {
    return conversation.ownerId ? ((await ctx.services.members.find(ctx, conversation.ownerId)) ?? null) : null;
  }

  @FieldResolver(() => Int, { description: "The `seq` of the newest message (0 before the first)." })
  lastSeq(@Root() conversation: ConversationView): number {
    return Number(conversation.lastSeq);
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      "Messages after your read pointer that are still kept (`lastSeq - max(readSeq, the last seq the 90-day retention purged)`); null for an app, which has no read pointer.",
  })
  unreadCount(@Root() conversation: ConversationView): number | null {
    return conversation.viewer ? Number(conversation.lastSeq) - Math.max(Number(conversation.viewer.readSeq), Number(conversation.purgedSeq)) : null;
  }

  @FieldResolver(() => Int, { nullable: true, description: "Your read pointer: you have read every message up to this `seq`; null for an app." })
  readSeq(@Root() conversation: ConversationView): number | null {
    return conversation.viewer ? Number(conversation.viewer.readSeq) : null;
  }

  @FieldResolver(() => ConversationRole, { nullable: true, description: "Your role in it; null for an app." })
  myRole(@Root() conversation: ConversationView): ConversationRole | null {
    return conversation.viewer?.role ?? null;
  }

  @FieldResolver(() => ConversationSettings, { nullable: true, description: "Your settings of it (pinned, muted, archived); null for an app." })
  settings(@Root() conversation: ConversationView): ConversationSettings | null {
    const v = conversation.viewer;
    return v ? { pinned: v.pinned, muted: v.muted, archived: v.archived } : null;
  }

  @Paged()
  @FieldResolver(() => ConversationMembershipConnection, { description: "Its members with their roles, by member id." })
  members(
    @Root() conversation: ConversationView,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.conversations.members(ctx, conversation, pageWindow({ first, after }));
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => CreateGroupPayload, {
    description: "Creates a group (at most 10,000 members). A member owns the groups they create; an app names the owner and takes part in the group.",
  })
  @Transactional()
  async createGroup(@Arg("input", { description: "The new group." }) input: CreateGroupInput, @Ctx() ctx: RequestContext) {
    const conversation = await ctx.services.conversations.createGroup(ctx, {
      name: input.name,
      ownerPk: input.ownerId != null ? fromGlobalId(input.ownerId, "Member", "input.ownerId") : null,
      memberPks: memberPks(input.memberIds, "input.memberIds"),
    });
    return { conversation };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => UpdateGroupPayload, { description: "Renames a group, hands it to another owner, or replaces its admins." })
  @Transactional()
  async updateGroup(@Arg("input", { description: "The changes." }) input: UpdateGroupInput, @Ctx() ctx: RequestContext) {
    const conversation = await ctx.services.conversations.updateGroup(ctx, fromGlobalId(input.id, "Conversation", "input.id"), {
      name: input.name,
      ownerPk: input.ownerId != null ? fromGlobalId(input.ownerId, "Member", "input.ownerId") : null,
      adminPks: input.adminIds != null ? memberPks(input.adminIds, "input.adminIds") : null,
    });
    return { conversation };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => AddGroupMembersPayload, {
    description: "Adds members to a group (owner, admins, or the creating app); the 10,001st member is LIMIT_EXCEEDED.",
  })
  @Transactional()
  async addGroupMembers(@Arg("input", { description: "The group and the members." }) input: AddGroupMembersInput, @Ctx() ctx: RequestContext) {
    const { conversation, added } = await ctx.services.conversations.addMembers(
      ctx,
      fromGlobalId(input.id, "Conversation", "input.id"),
      memberPks(input.memberIds, "input.memberIds"),
    );
    return { conversation, addedCount: added };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RemoveGroupMembersPayload, { description: "Removes members from a group (not its owner; admins only by the owner or the creating app)." })
  @Transactional()
  async removeGroupMembers(@Arg("input", { description: "The group and the members." }) input: RemoveGroupMembersInput, @Ctx() ctx: RequestContext) {
    const { conversation, removed } = await ctx.services.conversations.removeMembers(
      ctx,
      fromGlobalId(input.id, "Conversation", "input.id"),
      memberPks(input.memberIds, "input.memberIds"),
    );
    return { conversation, removedCount: removed };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => LeaveGroupPayload, { description: "You (a member) leave a group; its owner hands it over first." })
  @Transactional()
  async leaveGroup(@Arg("input", { description: "The group." }) input: LeaveGroupInput, @Ctx() ctx: RequestContext) {
    const group = await ctx.services.conversations.leave(ctx, fromGlobalId(input.id, "Conversation", "input.id"));
    return { conversationId: group.id };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => OpenDirectConversationPayload, { description: "Your (a member's) direct conversation with another member, created on first use." })
  @Transactional()
  async openDirectConversation(@Arg("input", { description: "The other member." }) input: OpenDirectConversationInput, @Ctx() ctx: RequestContext) {
    const conversation = await ctx.services.conversations.openDirect(ctx, fromGlobalId(input.memberId, "Member", "input.memberId"));
    return { conversation };
  }

  @Authorized("messages:read")
  @Mutation(() => MarkReadPayload, { description: "Moves your (a member's) read pointer forward; `unreadCount` follows." })
  @Transactional()
  async markRead(@Arg("input", { description: "The conversation and the last seq read." }) input: MarkReadInput, @Ctx() ctx: RequestContext) {
    const conversation = await ctx.services.conversations.markRead(
      ctx,
      fromGlobalId(input.conversationId, "Conversation", "input.conversationId"),
      input.upToSeq,
    );
    return { conversation };
  }

  @Authorized("messages:read")
  @Mutation(() => SetConversationSettingsPayload, { description: "Pins, mutes or archives a conversation for you (a member)." })
  @Transactional()
  async setConversationSettings(@Arg("input", { description: "The settings to change." }) input: SetConversationSettingsInput, @Ctx() ctx: RequestContext) {
    const conversation = await ctx.services.conversations.setSettings(ctx, fromGlobalId(input.conversationId, "Conversation", "input.conversationId"), {
      pinned: input.pinned,
      muted: input.muted,
      archived: input.archived,
    });
    return { conversation };
  }
}

/** A conversation's member: their id and, within your visibility, their profile. */
@Resolver(() => ConversationMembership)
export class ConversationMembershipResolver {
  @FieldResolver(() => ID, { description: "The member's id (also when they are outside your visibility and `member` is null)." })
  memberId(@Root() row: ConversationMemberRow): string {
    return toGlobalId("Member", row.memberPk);
  }

  @FieldResolver(() => Member, { nullable: true, description: "The member; null when outside your visibility." })
  async member(@Root() row: ConversationMemberRow, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.find(ctx, row.memberPk)) ?? null;
  }
}
