import { Arg, Authorized, Ctx, Extensions, ID, Resolver, Root, Subscription } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import type { RequestContext } from "../context";
import { MessageEventType } from "../domain/enums";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import {
  ConversationCreated,
  ConversationUpdated,
  FormSubmitted,
  MembershipChanged,
  MessageAdded,
  MessageEvent,
  MessageRead,
  MessageRecalled,
  MessageReminded,
  TodoUpdated,
  VoteUpdated,
} from "../schema/message-event.types";
import { MESSAGE_EVENTS_SCOPES, type MessageEventDelivery } from "../services/message-event.service";
import { FANOUT_EXTENSION } from "../fanout/source";
import { documentFieldNames } from "../schema/selection";

const MESSAGE_EVENT_TYPES = {
  [MessageEventType.MESSAGE_ADDED]: MessageAdded,
  [MessageEventType.MESSAGE_RECALLED]: MessageRecalled,
  [MessageEventType.MESSAGE_REMINDED]: MessageReminded,
  [MessageEventType.VOTE_UPDATED]: VoteUpdated,
  [MessageEventType.TODO_UPDATED]: TodoUpdated,
  [MessageEventType.FORM_SUBMITTED]: FormSubmitted,
} as const;

const ids = (value: unknown) => (Array.isArray(value) ? value.map((pk) => toGlobalId("Member", String(pk))) : []);

@Resolver(() => MessageEvent)
export class MessageEventResolver {
  @Authorized(MESSAGE_EVENTS_SCOPES)
  // Served by the fan-out over graphql-ws (`fanout/`): its stream is a LiveStream.
  @Extensions({ [FANOUT_EXTENSION]: true })
  @Subscription(() => MessageEvent, {
    description:
      "Changes in your conversations as they are committed (graphql-ws; token in `connectionParams.authorization`): messages sent and recalled, reads, ballots, to-dos, forms, conversations created and changed, membership. With `conversationId`, that conversation only (NOT_FOUND when you do not take part in it). With `after`, first every event after that cursor in order, then live: reconnect with the last cursor you saw and nothing is missed or repeated. A member receives the conversations they belong to now, an app those it created.",
    subscribe: ({ args, context, info }) => {
      const ctx = context as RequestContext;
      const conversationId = args.conversationId as string | null | undefined;
      const pk = conversationId != null ? fromGlobalId(conversationId, "Conversation", "conversationId") : null;
      return ctx.services.messageEvents.stream(ctx, pk, args.after as string | null | undefined, documentFieldNames(info as GraphQLResolveInfo));
    },
  })
  async messageEvents(
    @Root() delivery: MessageEventDelivery,
    @Ctx() ctx: RequestContext,
    @Arg("conversationId", () => ID, { nullable: true, description: "Only this conversation (one you take part in)." }) _conversationId?: string | null,
    @Arg("after", () => String, { nullable: true, description: "Cursor of the last event you received." }) _after?: string | null,
  ): Promise<MessageEvent> {
    // Each event is resolved with fresh loaders: its message and conversation as they are now.
    ctx.resetLoaders();
    const { record, conversationPk, notify, participant } = delivery;
    const type = record.type as MessageEventType;
    const base = { cursor: record.id, type, conversationId: toGlobalId("Conversation", conversationPk), occurredAt: record.occurredAt, notify };
    const data = record.data ?? {};
    // Delivered to members of the conversation (`participant`): resolved whoever of them executes it.
    const conversations = ctx.services.conversations;
    const conversation = async () => (await (participant ? conversations.load(ctx, conversationPk) : conversations.find(ctx, conversationPk))) ?? null;
    switch (type) {
      case MessageEventType.MESSAGE_ADDED:
      case MessageEventType.MESSAGE_RECALLED:
      case MessageEventType.MESSAGE_REMINDED:
      case MessageEventType.VOTE_UPDATED:
      case MessageEventType.TODO_UPDATED:
      case MessageEventType.FORM_SUBMITTED: {
        const message = (await ctx.services.messages.find(ctx, String(record.subjectId), participant)) ?? null;
        return Object.assign(new MESSAGE_EVENT_TYPES[type](), base, { message });
      }
      case MessageEventType.MESSAGE_READ:
        return Object.assign(new MessageRead(), base, { memberId: toGlobalId("Member", String(data.memberId)), upToSeq: Number(data.upToSeq) });
      case MessageEventType.CONVERSATION_CREATED:
        return Object.assign(new ConversationCreated(), base, { conversation: await conversation() });
      case MessageEventType.CONVERSATION_UPDATED:
      case MessageEventType.SETTINGS_CHANGED: {
        const changedFields = type === MessageEventType.SETTINGS_CHANGED ? ["settings"] : ((data.changedFields as string[] | undefined) ?? []);
        return Object.assign(new ConversationUpdated(), base, { conversation: await conversation(), changedFields });
      }
      case MessageEventType.MEMBERSHIP_CHANGED:
        return Object.assign(new MembershipChanged(), base, {
          conversation: await conversation(),
          addedMemberIds: ids(data.added),
          removedMemberIds: ids(data.removed),
        });
    }
  }
}
