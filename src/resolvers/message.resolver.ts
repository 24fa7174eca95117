import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { Message } from "../entities/message.entity";
import { Member } from "../entities/member.entity";
import { pageWindow } from "../db/paging";
import { MessageKind, SenderKind } from "../domain/enums";
import type { FormContentData, TodoContentData, VoteContentData } from "../domain/messaging";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import { ListSize, Paged } from "../schema/cost";
import {
  CastVoteInput,
  CastVotePayload,
  CompleteTodoInput,
  CompleteTodoPayload,
  ConversationMembershipConnection,
  FileContent,
  FormAnswer,
  FormContent,
  FormFieldSummary,
  FormResults,
  FormSubmission,
  FormSubmissionConnection,
  ImageContent,
  LinkCardContent,
  MarkdownContent,
  MessageConnection,
  MessageContent,
  MessageSender,
  ReadReceipt,
  RecallMessageInput,
  RemindUnreadInput,
  RemindUnreadPayload,
  RecallMessagePayload,
  SendMessageInput,
  SendMessagePayload,
  messageContentData,
  SubmitFormInput,
  SubmitFormPayload,
  TextContent,
  TodoAssignee,
  TodoContent,
  VoteContent,
} from "../schema/messaging.types";
import type { FormResultsData, FormSubmissionRow, MessageView, ReadReceiptData } from "../services/message.service";
import { Transactional } from "./transactional";

const make = <T extends object>(type: new () => T, values: Partial<T>): T => Object.assign(new type(), values);

/** A submission's stored answers (`{ field, text | number | choices }`) as GraphQL answers. */
function formAnswers(answers: Array<Record<string, unknown>>): FormAnswer[] {
  return answers.map((a) => ({
    fieldIndex: a.field as number,
    text: (a.text as string | undefined) ?? null,
    number: (a.number as number | undefined) ?? null,
    choices: (a.choices as number[] | undefined) ?? null,
  }));
}

/** The GraphQL content object of a message (null once recalled). */
function contentOf(message: MessageView, now: Date): typeof MessageContent | null {
  if (message.recalledAt) return null;
  const c = message.content;
  switch (message.kind) {
    case MessageKind.TEXT:
      return make(TextContent, { content: c.content as string });
    case MessageKind.MARKDOWN:
      return make(MarkdownContent, { content: c.content as string });
    case MessageKind.IMAGE:
      return make(ImageContent, c as Partial<ImageContent>);
    case MessageKind.FILE:
      return make(FileContent, c as Partial<FileContent>);
    case MessageKind.LINK_CARD:
      return make(LinkCardContent, c as Partial<LinkCardContent>);
    case MessageKind.TODO: {
      const todo = c as unknown as TodoContentData;
      const done = message.state.todo?.doneAt ?? new Map<string, Date>();
      return make(TodoContent, {
        title: todo.title,
        dueAt: todo.dueAt ? new Date(todo.dueAt) : null,
        assignees: todo.assigneeIds.map((pk) =>
          make(TodoAssignee, { memberPk: pk, memberId: toGlobalId("Member", pk), done: done.has(pk), doneAt: done.get(pk) ?? null }),
        ),
        doneCount: todo.assigneeIds.filter((pk) => done.has(pk)).length,
      });
    }
    case MessageKind.VOTE: {
      const vote = c as unknown as VoteContentData;
      const state = message.state.vote;
      return make(VoteContent, {
        question: vote.question,
        options: vote.options.map((text, index) => ({ index, text, votes: state?.tallies[index] ?? 0 })),
        multiple: vote.multiple,
        closesAt: vote.closesAt ? new Date(vote.closesAt) : null,
        closed: vote.closesAt !== null && now.getTime() >= Date.parse(vote.closesAt),
        voterCount: state?.voters ?? 0,
        myChoices: state?.mine ?? null,
      });
    }
    case MessageKind.FORM: {
      const form = c as unknown as FormContentData;
      const state = message.state.form;
      return make(FormContent, {
        title: form.title,
        fields: form.fields.map((f, index) => ({ index, ...f })),
        submissionCount: state?.submissions ?? 0,
        myAnswers: state?.mine ? formAnswers(state.mine) : null,
        message,
      });
    }
  }
}

/** Messages (issue 14): thin; the rules are in `MessageService` and `domain/messaging.ts`. */
@Resolver(() => Message)
export class MessageResolver {
  @Authorized("messages:read")
  @Paged()
  @Query(() => MessageConnection, {
    description:
      "A conversation's messages by `seq`, oldest first: `first`/`after` pages forwards, `last`/`before` backwards (`last: 20` alone: the newest 20). NOT_FOUND when you may not read the conversation (see `conversation`). Messages are kept 90 days: `historyPurgedBefore` says where history starts, and an `after` cursor into the purged part is BAD_USER_INPUT on `after` (never a silent gap).",
  })
  messages(
    @Ctx() ctx: RequestContext,
    @Arg("conversationId", () => ID, { description: "A conversation you may read." }) conversationId: string,
    @Arg("first", () => Int, { nullable: true, description: "Page size when paging forwards, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to page forwards from." }) after?: string,
    @Arg("last", () => Int, { nullable: true, description: "Page size when paging backwards, at most 100." }) last?: number,
    @Arg("before", { nullable: true, description: "Cursor to page backwards from." }) before?: string,
  ) {
    return ctx.services.messages.list(ctx, fromGlobalId(conversationId, "Conversation", "conversationId"), pageWindow({ first, after, last, before }));
  }

  @Authorized("messages:read")
  @Query(() => Message, { nullable: true, description: "A message in a conversation you may read (see `conversation`); null otherwise." })
  async message(@Arg("id", () => ID, { description: "The message's id." }) id: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.messages.find(ctx, fromGlobalId(id, "Message", "id"))) ?? null;
  }

  @FieldResolver(() => Int, { description: "Its position in the conversation: 1, 2, 3… without gaps, in the order the messages were accepted." })
  seq(@Root() message: MessageView): number {
    return Number(message.seq);
  }

  @FieldResolver(() => ID, { description: "The conversation it belongs to." })
  conversationId(@Root() message: MessageView): string {
    return toGlobalId("Conversation", message.conversationId);
  }

  @FieldResolver(() => String, { description: "The sender's key for it (`sendMessage`'s `clientMessageId`)." })
  clientMessageId(@Root() message: MessageView): string {
    return message.clientMessageId;
  }

  @FieldResolver(() => MessageSender, { description: "Who sent it." })
  sender(@Root() message: MessageView): MessageSender {
    return make(MessageSender, {
      kind: message.senderBotId ? SenderKind.BOT : message.senderMemberId ? SenderKind.MEMBER : SenderKind.APP,
      memberPk: message.senderMemberId,
      botPk: message.senderBotId,
      memberId: message.senderMemberId ? toGlobalId("Member", message.senderMemberId) : null,
      appId: message.senderAppId ? toGlobalId("App", message.senderAppId) : null,
    });
  }

  @FieldResolver(() => ReadReceipt, {
    nullable: true,
    description: "Read and unread counts of the other members, and who has not read it; for its sender only (null for anyone else).",
  })
  readReceipt(@Root() message: MessageView, @Ctx() ctx: RequestContext) {
    return ctx.services.messages.readReceipt(ctx, message);
  }

  @FieldResolver(() => MessageContent, { nullable: true, description: "What it carries, of the type its `kind` names; null once recalled." })
  content(@Root() message: MessageView, @Ctx() ctx: RequestContext) {
    return contentOf(message, ctx.services.messages.clock.now());
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => SendMessagePayload, {
    description:
      "Sends a message into a conversation you take part in. Exactly one content field (else BAD_USER_INPUT on `input`); each checked, naming the field. Idempotent on (sender, conversation, clientMessageId): the same content again returns the original message, other content is CONFLICT.",
  })
  @Transactional()
  async sendMessage(@Arg("input", { description: "The conversation, your key and the content." }) input: SendMessageInput, @Ctx() ctx: RequestContext) {
    const message = await ctx.services.messages.send(ctx, {
      conversationPk: fromGlobalId(input.conversationId, "Conversation", "input.conversationId"),
      clientMessageId: input.clientMessageId,
      content: messageContentData(input, "input"),
    });
    return { message };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RecallMessagePayload, {
    description: "Recalls a message you sent (as the member or app that sent it) within 24 hours, else LIMIT_EXCEEDED: it keeps its seq, its content is gone.",
  })
  @Transactional()
  async recallMessage(@Arg("input", { description: "The message." }) input: RecallMessageInput, @Ctx() ctx: RequestContext) {
    return { message: await ctx.services.messages.recall(ctx, fromGlobalId(input.id, "Message", "input.id")) };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => RemindUnreadPayload, {
    description:
      "Reminds the members who have not read a message you sent (a MessageReminded event to each of them); at most once every 10 minutes per message, else LIMIT_EXCEEDED.",
  })
  @Transactional()
  async remindUnread(@Arg("input", { description: "The message." }) input: RemindUnreadInput, @Ctx() ctx: RequestContext) {
    const { message, reminded } = await ctx.services.messages.remindUnread(ctx, fromGlobalId(input.messageId, "Message", "input.messageId"));
    return { message, remindedCount: reminded };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => CastVotePayload, { description: "Your (a member's) ballot on a vote: once per vote (again: CONFLICT), not after it closed (CONFLICT)." })
  @Transactional()
  async castVote(@Arg("input", { description: "The vote and your choice." }) input: CastVoteInput, @Ctx() ctx: RequestContext) {
    return { message: await ctx.services.messages.castVote(ctx, fromGlobalId(input.messageId, "Message", "input.messageId"), input.options) };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => CompleteTodoPayload, { description: "Marks a to-do done for you (an assignee); again changes nothing." })
  @Transactional()
  async completeTodo(@Arg("input", { description: "The to-do." }) input: CompleteTodoInput, @Ctx() ctx: RequestContext) {
    return { message: await ctx.services.messages.completeTodo(ctx, fromGlobalId(input.messageId, "Message", "input.messageId")) };
  }

  @Authorized("messages:send", "messages:read")
  @Mutation(() => SubmitFormPayload, { description: "Your (a member's) submission of a form: once per form (again: CONFLICT)." })
  @Transactional()
  async submitForm(@Arg("input", { description: "The form and your answers." }) input: SubmitFormInput, @Ctx() ctx: RequestContext) {
    return { message: await ctx.services.messages.submitForm(ctx, fromGlobalId(input.messageId, "Message", "input.messageId"), input.answers) };
  }
}

/** The members who have not read a message yet. */
@Resolver(() => ReadReceipt)
export class ReadReceiptResolver {
  @Paged()
  @FieldResolver(() => ConversationMembershipConnection, { description: "The members who have not read it yet (the sender left out), by member id." })
  unreadMembers(
    @Root() receipt: ReadReceiptData,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.messages.unreadMembers(ctx, receipt, pageWindow({ first, after }));
  }
}

/** The sending member's profile, within your visibility. */
@Resolver(() => MessageSender)
export class MessageSenderResolver {
  @FieldResolver(() => Member, { nullable: true, description: "The sending member; null for an app, or when outside your visibility." })
  async member(@Root() sender: MessageSender, @Ctx() ctx: RequestContext) {
    return sender.memberPk ? ((await ctx.services.members.find(ctx, sender.memberPk)) ?? null) : null;
  }
}

/** A to-do assignee's profile, within your visibility. */
@Resolver(() => TodoAssignee)
export class TodoAssigneeResolver {
  @FieldResolver(() => Member, { nullable: true, description: "The assignee; null when outside your visibility." })
  async member(@Root() assignee: TodoAssignee, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.find(ctx, assignee.memberPk)) ?? null;
  }
}

/** The answers to a form, for its sender (`MessageService.formResults`). */
@Resolver(() => FormContent)
export class FormContentResolver {
  @FieldResolver(() => FormResults, {
    nullable: true,
    description:
      "The answers to this form: every submission and a summary per field; for its sender only (the member who sent it, or the app that sent it on its own), null for anyone else, as `Message.readReceipt`.",
  })
  results(@Root() form: FormContent, @Ctx() ctx: RequestContext) {
    return ctx.services.messages.formResults(ctx, form.message as MessageView);
  }
}

/** A form's submissions and their summary. */
@Resolver(() => FormResults)
export class FormResultsResolver {
  @Paged()
  @FieldResolver(() => FormSubmissionConnection, { description: "The submissions, by member id; `totalCount` is how many members submitted." })
  submissions(
    @Root() results: FormResultsData,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.messages.formSubmissions(ctx, results, pageWindow({ first, after }));
  }

  @ListSize(5)
  @FieldResolver(() => [FormFieldSummary], { description: "Every field of the form, in order, with what the submissions answered to it." })
  summary(@Root() results: FormResultsData, @Ctx() ctx: RequestContext) {
    return ctx.services.messages.formSummary(ctx, results);
  }
}

/** A submission's member and answers. */
@Resolver(() => FormSubmission)
export class FormSubmissionResolver {
  @FieldResolver(() => ID, { description: "The submitting member's id." })
  memberId(@Root() submission: FormSubmissionRow): string {
    return toGlobalId("Member", submission.memberPk);
  }

  @ListSize(5)
  @FieldResolver(() => [FormAnswer], { description: "The answers, one per answered field, by field index." })
  answers(@Root() submission: FormSubmissionRow): FormAnswer[] {
    return formAnswers(submission.answers);
  }

  @FieldResolver(() => Member, { nullable: true, description: "The submitting member; null when outside your visibility." })
  async member(@Root() submission: FormSubmissionRow, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.find(ctx, submission.memberPk)) ?? null;
  }
}
