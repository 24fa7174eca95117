import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { MessageAuditHit } from "../entities/message-audit-hit.entity";
import { pageWindow } from "../db/paging";
import { SenderKind } from "../domain/enums";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import { Paged } from "../schema/cost";
import { MessageSender } from "../schema/messaging.types";
import { MessageAuditHitConnection, MessageAuditHitFilter, SetSensitiveWordsInput, SetSensitiveWordsPayload } from "../schema/message-audit.types";
import { Transactional } from "./transactional";

/** The compliance audit of messages (issue 14, item 8): thin; the rules are in `MessageAuditService` and `policy/compliance.ts`. */
@Resolver(() => MessageAuditHit)
export class MessageAuditResolver {
  @Authorized("messages:audit")
  @Query(() => [String], {
    description: "The corp's sensitive words, in the order they were set. Corp administrators through a whole-corp app only (else FORBIDDEN).",
  })
  sensitiveWords(@Ctx() ctx: RequestContext) {
    return ctx.services.messageAudit.words(ctx);
  }

  @Authorized("messages:audit")
  @Mutation(() => SetSensitiveWordsPayload, {
    description:
      "Replaces the corp's sensitive words: from now on every message sent containing one (ignoring case and full-width forms; text, markdown, link card title and description, to-do, vote and form texts) is recorded in `messageAuditHits`. Corp administrators through a whole-corp app only (else FORBIDDEN).",
  })
  @Transactional()
  async setSensitiveWords(@Arg("input", { description: "The whole list." }) input: SetSensitiveWordsInput, @Ctx() ctx: RequestContext) {
    const words = await ctx.services.messageAudit.setWords(ctx, input.words);
    return { words, count: words.length };
  }

  @Authorized("messages:audit")
  @Paged()
  @Query(() => MessageAuditHitConnection, {
    description:
      "The messages that contained a sensitive word, one hit per word, oldest first: who sent it, where, which word, when; across every conversation of the corp. Corp administrators through a whole-corp app only (else FORBIDDEN).",
  })
  messageAuditHits(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => MessageAuditHitFilter, { nullable: true, description: "Conditions the hits must meet." }) filter?: MessageAuditHitFilter,
    @Arg("first", () => Int, { nullable: true, description: "Page size when paging forwards, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to page forwards from." }) after?: string,
    @Arg("last", () => Int, { nullable: true, description: "Page size when paging backwards, at most 100 (`last: 20` alone: the newest 20)." }) last?: number,
    @Arg("before", { nullable: true, description: "Cursor to page backwards from." }) before?: string,
  ) {
    return ctx.services.messageAudit.hits(
      ctx,
      {
        conversationPk: filter?.conversationId != null ? fromGlobalId(filter.conversationId, "Conversation", "filter.conversationId") : null,
        memberPk: filter?.memberId != null ? fromGlobalId(filter.memberId, "Member", "filter.memberId") : null,
        word: filter?.word,
        since: filter?.since,
        until: filter?.until,
      },
      pageWindow({ first, after, last, before }),
    );
  }

  @FieldResolver(() => ID, { description: "The message (its content may since have been recalled)." })
  messageId(@Root() hit: MessageAuditHit): string {
    return toGlobalId("Message", hit.messageId);
  }

  @FieldResolver(() => ID, { description: "The conversation it was sent in." })
  conversationId(@Root() hit: MessageAuditHit): string {
    return toGlobalId("Conversation", hit.conversationId);
  }

  @FieldResolver(() => Int, { description: "The message's `seq` in its conversation." })
  seq(@Root() hit: MessageAuditHit): number {
    return Number(hit.seq);
  }

  @FieldResolver(() => MessageSender, { description: "Who sent it: a member, an app or a group robot." })
  sender(@Root() hit: MessageAuditHit): MessageSender {
    return Object.assign(new MessageSender(), {
      kind: hit.senderBotId ? SenderKind.BOT : hit.senderMemberId ? SenderKind.MEMBER : SenderKind.APP,
      memberPk: hit.senderMemberId,
      botPk: hit.senderBotId,
      memberId: hit.senderMemberId ? toGlobalId("Member", hit.senderMemberId) : null,
      appId: hit.senderAppId ? toGlobalId("App", hit.senderAppId) : null,
    });
  }
}
