import { Field, ID, Int, InterfaceType, ObjectType } from "type-graphql";
import { Conversation } from "../entities/conversation.entity";
import { Message } from "../entities/message.entity";
import { MessageEventType } from "../domain/enums";

/**
 * The events of `messageEvents` (issue 14): one interface, one object type per kind of change, each
 * with what a client needs to update its view. `message` and `conversation` are read when the event
 * is delivered: as they are then (a recalled message has no content).
 */
@InterfaceType("MessageEvent", {
  description: "A change in one of your conversations, as committed. Resume after `cursor` to miss nothing.",
  resolveType: (value: { constructor: { name: string } }) => value.constructor.name,
})
export abstract class MessageEvent {
  @Field({ description: "Opaque cursor of this event: pass it as `after` to resume after it." })
  cursor: string;

  @Field(() => MessageEventType, { description: "What happened." })
  type: MessageEventType;

  @Field(() => ID, { description: "The conversation it happened in." })
  conversationId: string;

  @Field({ description: "When it was committed." })
  occurredAt: Date;

  @Field({ description: "False when you muted the conversation: deliver quietly (the event is delivered all the same)." })
  notify: boolean;
}

@ObjectType("MessageAdded", { implements: MessageEvent, simpleResolvers: true, description: "A message was sent." })
export class MessageAdded extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The message as it is now." })
  message: Message | null;
}

@ObjectType("MessageRecalled", {
  implements: MessageEvent,
  simpleResolvers: true,
  description: "A message was recalled: it keeps its seq, its content is gone.",
})
export class MessageRecalled extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The recalled message (content null)." })
  message: Message | null;
}

@ObjectType("MessageReminded", {
  implements: MessageEvent,
  simpleResolvers: true,
  description: "The sender reminds you of a message you have not read yet (delivered to those members only).",
})
export class MessageReminded extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The message as it is now." })
  message: Message | null;
}

@ObjectType("MessageRead", { implements: MessageEvent, simpleResolvers: true, description: "A member moved their read pointer." })
export class MessageRead extends MessageEvent {
  @Field(() => ID, { description: "The member who read." })
  memberId: string;

  @Field(() => Int, { description: "They have read every message up to this seq." })
  upToSeq: number;
}

@ObjectType("VoteUpdated", { implements: MessageEvent, simpleResolvers: true, description: "A ballot was cast on a vote." })
export class VoteUpdated extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The vote with its tallies now." })
  message: Message | null;
}

@ObjectType("TodoUpdated", { implements: MessageEvent, simpleResolvers: true, description: "An assignee completed a to-do." })
export class TodoUpdated extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The to-do with its assignees' states now." })
  message: Message | null;
}

@ObjectType("FormSubmitted", { implements: MessageEvent, simpleResolvers: true, description: "A member submitted a form." })
export class FormSubmitted extends MessageEvent {
  @Field(() => Message, { nullable: true, description: "The form with its submission count now." })
  message: Message | null;
}

@ObjectType("ConversationCreated", { implements: MessageEvent, simpleResolvers: true, description: "A conversation you take part in was created." })
export class ConversationCreated extends MessageEvent {
  @Field(() => Conversation, { nullable: true, description: "The conversation as it is now." })
  conversation: Conversation | null;
}

@ObjectType("ConversationUpdated", {
  implements: MessageEvent,
  simpleResolvers: true,
  description: "A group's name, owner or admins changed (type CONVERSATION_UPDATED), or your own settings of it (SETTINGS_CHANGED).",
})
export class ConversationUpdated extends MessageEvent {
  @Field(() => Conversation, { nullable: true, description: "The conversation as it is now." })
  conversation: Conversation | null;

  @Field(() => [String], { description: "What changed: `name`, `owner`, `admins`, `settings`." })
  changedFields: string[];
}

@ObjectType("MembershipChanged", {
  implements: MessageEvent,
  simpleResolvers: true,
  description: "Members were added to or removed from a group (a removed member receives this one, then nothing more of it).",
})
export class MembershipChanged extends MessageEvent {
  @Field(() => Conversation, { nullable: true, description: "The conversation as it is now; null when you are no longer in it." })
  conversation: Conversation | null;

  @Field(() => [ID], { description: "Members added." })
  addedMemberIds: string[];

  @Field(() => [ID], { description: "Members removed (or who left)." })
  removedMemberIds: string[];
}
