import { Field, Float, ID, InputType, Int, ObjectType, createUnionType } from "type-graphql";
import { Conversation } from "../entities/conversation.entity";
import { Message } from "../entities/message.entity";
import { ConnectionType } from "./connection";
import { ListSize } from "./cost";
import { ConversationKind, ConversationRole, FormFieldType, SenderKind } from "../domain/enums";
import type { MessageContentInput as MessageContentData } from "../domain/messaging";
import { fromGlobalId } from "./global-id";

/*
 * The GraphQL side of messaging (issue 14, first slice). Content inputs are checked by the service
 * (`domain/messaging.ts`), which names the offending field (`input.vote.options`), so they carry no
 * validation decorators here.
 */

@ObjectType("ConversationConnection", { description: "A page of conversations." })
export class ConversationConnection extends ConnectionType(Conversation, "Conversation", "conversation") {}

@ObjectType("MessageConnection", { description: "A page of messages, by `seq`." })
export class MessageConnection extends ConnectionType(Message, "Message", "message") {
  @Field(() => Date, {
    nullable: true,
    description:
      "Where the conversation's history starts: messages sent before this time were purged (they are kept 90 days); null when none was. A cursor (`after`) into the purged part is refused with BAD_USER_INPUT on `after`.",
  })
  historyPurgedBefore?: Date | null;
}

@ObjectType("ConversationSettings", { simpleResolvers: true, description: "The caller's own settings of a conversation (source §2)." })
export class ConversationSettings {
  @Field({ description: "Pinned: listed first by `conversations`." })
  pinned: boolean;

  @Field({ description: "Muted (do not disturb): events are still delivered." })
  muted: boolean;

  @Field({ description: "Archived: left out of `conversations(filter: {archived: false})`." })
  archived: boolean;
}

@ObjectType("ConversationMembership", { simpleResolvers: true, description: "A member of a conversation, with their role." })
export class ConversationMembership {
  memberPk: string;

  @Field(() => ConversationRole, { description: "OWNER, ADMIN or MEMBER." })
  role: ConversationRole;

  @Field({ description: "When they joined the conversation." })
  joinedAt: Date;
}

@ObjectType("ConversationMembershipConnection", { description: "A page of a conversation's members, by member id." })
export class ConversationMembershipConnection extends ConnectionType(ConversationMembership, "ConversationMembership", "conversation member") {}

@ObjectType("MessageSender", { simpleResolvers: true, description: "Who sent a message: a member, an app on its own, or a group robot." })
export class MessageSender {
  memberPk: string | null;
  /** The group robot that posted it (issue 14, item 7; its `bot` field is in `resolvers/group-bot.resolver.ts`). */
  botPk: string | null;

  @Field(() => SenderKind, { description: "MEMBER, APP or BOT." })
  kind: SenderKind;

  @Field(() => ID, { nullable: true, description: "The sending member's id; null for an app." })
  memberId: string | null;

  @Field(() => ID, { nullable: true, description: "The sending app's id; null for a member." })
  appId: string | null;
}

@ObjectType("ReadReceipt", {
  simpleResolvers: true,
  description: "Who has read a message (source §2: read receipts), shown to its sender only.",
})
export class ReadReceipt {
  @Field(() => Int, { description: "The other members whose read pointer reached this message (members who joined after it count as read)." })
  readCount: number;

  @Field(() => Int, { description: "The other members who have not read it yet." })
  unreadCount: number;
}

// ---------------------------------------------------------------------------------------------
// Content (output)

@ObjectType("TextContent", { simpleResolvers: true, description: "A plain-text message." })
export class TextContent {
  @Field({ description: "The text, 1–4,000 characters (line breaks and tabs kept)." })
  content: string;
}

@ObjectType("MarkdownContent", { simpleResolvers: true, description: "A Markdown message." })
export class MarkdownContent {
  @Field({ description: "The Markdown source, 1–4,000 characters." })
  content: string;
}

@ObjectType("ImageContent", { simpleResolvers: true, description: "An image, by https URL." })
export class ImageContent {
  @Field({ description: "https URL of the image." })
  url: string;

  @Field(() => String, { nullable: true, description: "File name." })
  name: string | null;

  @Field(() => Int, { nullable: true, description: "Width in pixels." })
  width: number | null;

  @Field(() => Int, { nullable: true, description: "Height in pixels." })
  height: number | null;

  @Field(() => Float, { nullable: true, description: "Size in bytes." })
  sizeBytes: number | null;
}

@ObjectType("FileContent", { simpleResolvers: true, description: "A file, by https URL and metadata." })
export class FileContent {
  @Field({ description: "https URL of the file." })
  url: string;

  @Field(() => String, { nullable: true, description: "File name, 1–255 characters (always set for files)." })
  name: string | null;

  @Field(() => Float, { nullable: true, description: "Size in bytes." })
  sizeBytes: number | null;

  @Field(() => String, { nullable: true, description: "Media type, lower-case (e.g. `application/pdf`)." })
  mimeType: string | null;
}

@ObjectType("LinkCardContent", { simpleResolvers: true, description: "A link card: title, description and image for an https link." })
export class LinkCardContent {
  @Field({ description: "The https link." })
  url: string;

  @Field({ description: "Title, 1–256 characters." })
  title: string;

  @Field(() => String, { nullable: true, description: "Description, at most 512 characters." })
  description: string | null;

  @Field(() => String, { nullable: true, description: "https URL of the card's image." })
  imageUrl: string | null;
}

@ObjectType("TodoAssignee", { simpleResolvers: true, description: "An assignee of a to-do and whether they are done." })
export class TodoAssignee {
  memberPk: string;

  @Field(() => ID, { description: "The assignee's member id." })
  memberId: string;

  @Field({ description: "Whether they completed it (`completeTodo`)." })
  done: boolean;

  @Field(() => Date, { nullable: true, description: "When they completed it." })
  doneAt: Date | null;
}

@ObjectType("TodoContent", { simpleResolvers: true, description: "A to-do with assignees, each with their own done state." })
export class TodoContent {
  @Field({ description: "What to do, 1–256 characters." })
  title: string;

  @Field(() => Date, { nullable: true, description: "When it is due." })
  dueAt: Date | null;

  @ListSize(10)
  @Field(() => [TodoAssignee], { description: "The assignees (1–100), in the order given." })
  assignees: TodoAssignee[];

  @Field(() => Int, { description: "How many assignees are done." })
  doneCount: number;
}

@ObjectType("VoteOption", { simpleResolvers: true, description: "An option of a vote with its live tally." })
export class VoteOption {
  @Field(() => Int, { description: "Its index (what `castVote` takes), from 0." })
  index: number;

  @Field({ description: "The option, 1–64 characters." })
  text: string;

  @Field(() => Int, { description: "Ballots that chose it." })
  votes: number;
}

@ObjectType("VoteContent", { simpleResolvers: true, description: "A vote: one ballot per member, single or multiple choice, optionally closing." })
export class VoteContent {
  @Field({ description: "The question, 1–256 characters." })
  question: string;

  @ListSize(5)
  @Field(() => [VoteOption], { description: "The options (2–20) with their tallies." })
  options: VoteOption[];

  @Field({ description: "Whether a ballot may choose several options." })
  multiple: boolean;

  @Field(() => Date, { nullable: true, description: "When the vote closes; null: it stays open." })
  closesAt: Date | null;

  @Field({ description: "Whether the vote has closed." })
  closed: boolean;

  @Field(() => Int, { description: "How many members voted." })
  voterCount: number;

  @Field(() => [Int], { nullable: true, description: "The options the caller chose; null when they have not voted (or are an app)." })
  myChoices: number[] | null;
}

@ObjectType("FormField", { simpleResolvers: true, description: "A field of a form message." })
export class FormField {
  @Field(() => Int, { description: "Its index (what answers name), from 0." })
  index: number;

  @Field({ description: "The label, 1–64 characters, unique in the form." })
  label: string;

  @Field(() => FormFieldType, { description: "What an answer gives: TEXT, NUMBER, CHOICE or MULTIPLE_CHOICE." })
  type: FormFieldType;

  @Field({ description: "Whether every submission must answer it." })
  required: boolean;

  @Field(() => [String], { description: "The options of a CHOICE or MULTIPLE_CHOICE field (empty for others)." })
  options: string[];
}

@ObjectType("FormAnswer", { simpleResolvers: true, description: "One answer of a form submission." })
export class FormAnswer {
  @Field(() => Int, { description: "The field it answers." })
  fieldIndex: number;

  @Field(() => String, { nullable: true, description: "A TEXT field's answer." })
  text: string | null;

  @Field(() => Float, { nullable: true, description: "A NUMBER field's answer." })
  number: number | null;

  @Field(() => [Int], { nullable: true, description: "A choice field's chosen option indexes." })
  choices: number[] | null;
}

@ObjectType("FormContent", { simpleResolvers: true, description: "A form: typed fields, one submission per member." })
export class FormContent {
  @Field({ description: "The form's title, 1–256 characters." })
  title: string;

  @ListSize(5)
  @Field(() => [FormField], { description: "The fields (1–20)." })
  fields: FormField[];

  @Field(() => Int, { description: "How many members submitted it." })
  submissionCount: number;

  @ListSize(5)
  @Field(() => [FormAnswer], { nullable: true, description: "The caller's own submission; null when they have not submitted (or are an app)." })
  myAnswers: FormAnswer[] | null;

  /** The form message itself: `results` (in `resolvers/message.resolver.ts`) reads its submissions. */
  message: Message;
}

@ObjectType("FormOptionCount", { simpleResolvers: true, description: "How many submissions chose one option of a choice field." })
export class FormOptionCount {
  @Field(() => Int, { description: "The option's index, from 0." })
  index: number;

  @Field({ description: "The option." })
  text: string;

  @Field(() => Int, { description: "Submissions that chose it." })
  count: number;
}

@ObjectType("FormFieldSummary", { simpleResolvers: true, description: "What the submissions answered to one field of a form, summed up." })
export class FormFieldSummary {
  @Field(() => Int, { description: "The field's index, from 0." })
  fieldIndex: number;

  @Field({ description: "The field's label." })
  label: string;

  @Field(() => FormFieldType, { description: "The field's type." })
  type: FormFieldType;

  @Field(() => Int, { description: "Submissions that answered it (an optional field may be left out)." })
  answerCount: number;

  @ListSize(5)
  @Field(() => [FormOptionCount], {
    description:
      "CHOICE and MULTIPLE_CHOICE fields: every option with how many submissions chose it (a MULTIPLE_CHOICE submission counts once for each option it chose); empty for other types.",
  })
  options: FormOptionCount[];

  @Field(() => Float, { nullable: true, description: "NUMBER fields: the smallest answer; null for other types or without answers." })
  min: number | null;

  @Field(() => Float, { nullable: true, description: "NUMBER fields: the largest answer; null for other types or without answers." })
  max: number | null;

  @Field(() => Float, { nullable: true, description: "NUMBER fields: the mean of the answers; null for other types or without answers." })
  average: number | null;
}

@ObjectType("FormSubmission", { simpleResolvers: true, description: "One member's submission of a form (`submitForm`), as its sender reads it." })
export class FormSubmission {
  // `memberId`, `answers` and `member` are resolved in `resolvers/message.resolver.ts` from the stored row.
  @Field({ description: "When it was submitted." })
  submittedAt: Date;
}

@ObjectType("FormSubmissionConnection", { description: "A page of a form's submissions, by member id." })
export class FormSubmissionConnection extends ConnectionType(FormSubmission, "FormSubmission", "form submission") {}

@ObjectType("FormResults", {
  simpleResolvers: true,
  description:
    "The answers to a form (source §2: results for the sender), shown to its sender only: the member who sent it, or the app that sent it on its own. Gone with the form's content once it is recalled.",
})
export class FormResults {
  @Field(() => Int, { description: "How many members submitted it." })
  submissionCount: number;
}

export const MessageContent = createUnionType({
  name: "MessageContent",
  description: "What a message carries, one type per `MessageKind`.",
  types: () => [TextContent, MarkdownContent, ImageContent, FileContent, LinkCardContent, TodoContent, VoteContent, FormContent] as const,
});

// ---------------------------------------------------------------------------------------------
// Filters and inputs

@InputType("ConversationFilter", { description: "Narrows `conversations`. All given conditions must hold." })
export class ConversationFilterInput {
  @Field(() => ConversationKind, { nullable: true, description: "Only conversations of this kind." })
  kind?: ConversationKind | null;

  @Field(() => Boolean, { nullable: true, description: "Only archived (true) or only not archived (false) conversations; default both." })
  archived?: boolean | null;
}

@InputType("TextMessageInput", { description: "A plain-text message." })
export class TextMessageInput {
  @Field({ description: "1–4,000 characters; line breaks and tabs allowed, other control characters refused." })
  content: string;
}

@InputType("MarkdownMessageInput", { description: "A Markdown message." })
export class MarkdownMessageInput {
  @Field({ description: "Markdown source, 1–4,000 characters." })
  content: string;
}

@InputType("ImageMessageInput", { description: "An image by URL." })
export class ImageMessageInput {
  @Field({ description: "https URL, at most 2,048 characters, without credentials." })
  url: string;

  @Field(() => String, { nullable: true, description: "File name, 1–255 characters." })
  name?: string | null;

  @Field(() => Int, { nullable: true, description: "Width in pixels, 1–100,000." })
  width?: number | null;

  @Field(() => Int, { nullable: true, description: "Height in pixels, 1–100,000." })
  height?: number | null;

  @Field(() => Float, { nullable: true, description: "Size in bytes (a whole number, at most 20 GiB)." })
  sizeBytes?: number | null;
}

@InputType("FileMessageInput", { description: "A file by URL and metadata." })
export class FileMessageInput {
  @Field({ description: "https URL, at most 2,048 characters, without credentials." })
  url: string;

  @Field({ description: "File name, 1–255 characters." })
  name: string;

  @Field(() => Float, { nullable: true, description: "Size in bytes (a whole number, at most 20 GiB)." })
  sizeBytes?: number | null;

  @Field(() => String, { nullable: true, description: "Media type, e.g. `application/pdf`." })
  mimeType?: string | null;
}

@InputType("LinkCardMessageInput", { description: "A link card." })
export class LinkCardMessageInput {
  @Field({ description: "The https link." })
  url: string;

  @Field({ description: "Title, 1–256 characters." })
  title: string;

  @Field(() => String, { nullable: true, description: "Description, at most 512 characters." })
  description?: string | null;

  @Field(() => String, { nullable: true, description: "https URL of an image." })
  imageUrl?: string | null;
}

@InputType("TodoMessageInput", { description: "A to-do for some members of the conversation." })
export class TodoMessageInput {
  @Field({ description: "What to do, 1–256 characters." })
  title: string;

  @Field(() => [ID], { description: "Assignees: 1–100 members of the conversation, each once." })
  assigneeIds: string[];

  @Field(() => Date, { nullable: true, description: "When it is due." })
  dueAt?: Date | null;
}

@InputType("VoteMessageInput", { description: "A vote." })
export class VoteMessageInput {
  @Field({ description: "The question, 1–256 characters." })
  question: string;

  @Field(() => [String], { description: "2–20 distinct options, 1–64 characters each." })
  options: string[];

  @Field(() => Boolean, { nullable: true, description: "Whether a ballot may choose several options (default false)." })
  multiple?: boolean | null;

  @Field(() => Date, { nullable: true, description: "When the vote closes (in the future); default: never." })
  closesAt?: Date | null;
}

@InputType("FormFieldInput", { description: "A field of a form." })
export class FormFieldInput {
  @Field({ description: "Label, 1–64 characters, unique in the form." })
  label: string;

  @Field(() => FormFieldType, { description: "What an answer gives." })
  type: FormFieldType;

  @Field(() => Boolean, { nullable: true, description: "Whether every submission must answer it (default false)." })
  required?: boolean | null;

  @Field(() => [String], { nullable: true, description: "2–20 distinct options for CHOICE and MULTIPLE_CHOICE fields; none for others." })
  options?: string[] | null;
}

@InputType("FormMessageInput", { description: "A form." })
export class FormMessageInput {
  @Field({ description: "Title, 1–256 characters." })
  title: string;

  @Field(() => [FormFieldInput], { description: "1–20 fields." })
  fields: FormFieldInput[];
}

@InputType("MessageContentInput", {
  description: "What a message carries: exactly one of these fields (none or two: BAD_USER_INPUT on the input holding them), each checked, naming the field.",
})
export class MessageContentInput {
  @Field(() => TextMessageInput, { nullable: true, description: "A plain-text message." })
  text?: TextMessageInput | null;

  @Field(() => MarkdownMessageInput, { nullable: true, description: "A Markdown message." })
  markdown?: MarkdownMessageInput | null;

  @Field(() => ImageMessageInput, { nullable: true, description: "An image." })
  image?: ImageMessageInput | null;

  @Field(() => FileMessageInput, { nullable: true, description: "A file." })
  file?: FileMessageInput | null;

  @Field(() => LinkCardMessageInput, { nullable: true, description: "A link card." })
  linkCard?: LinkCardMessageInput | null;

  @Field(() => TodoMessageInput, { nullable: true, description: "A to-do." })
  todo?: TodoMessageInput | null;

  @Field(() => VoteMessageInput, { nullable: true, description: "A vote." })
  vote?: VoteMessageInput | null;

  @Field(() => FormMessageInput, { nullable: true, description: "A form." })
  form?: FormMessageInput | null;
}

/** The content fields of `input` as the services take them (to-do assignees as primary keys, their ids checked against `prefix`.todo.assigneeIds). */
export function messageContentData(input: MessageContentInput, prefix: string): MessageContentData {
  return {
    text: input.text,
    markdown: input.markdown,
    image: input.image,
    file: input.file,
    linkCard: input.linkCard,
    todo: input.todo && {
      title: input.todo.title,
      dueAt: input.todo.dueAt,
      assigneePks: input.todo.assigneeIds.map((id) => fromGlobalId(id, "Member", `${prefix}.todo.assigneeIds`)),
    },
    vote: input.vote,
    form: input.form,
  };
}

@InputType("SendMessageInput", {
  description: "A message: exactly one content field (none or two: BAD_USER_INPUT on `input`). Idempotent on (sender, conversation, clientMessageId).",
})
export class SendMessageInput extends MessageContentInput {
  @Field(() => ID, { description: "A conversation you take part in." })
  conversationId: string;

  @Field({
    description:
      "Your key for this message, 1–64 visible ASCII characters (e.g. a UUID): sending again with the same key and content returns the original message; with other content, CONFLICT.",
  })
  clientMessageId: string;
}

@InputType("CreateGroupInput", { description: "A new group." })
export class CreateGroupInput {
  @Field({ description: "Name, 1–64 characters." })
  name: string;

  @Field(() => ID, { nullable: true, description: "The owner: required when an app creates the group; a member creates groups they own (leave it out)." })
  ownerId?: string | null;

  @Field(() => [ID], { defaultValue: [], description: "Other members (at most 1,000 per call, each within your visibility); the group holds at most 10,000." })
  memberIds: string[];
}

@InputType("UpdateGroupInput", { description: "Changes to a group; omitted fields stay." })
export class UpdateGroupInput {
  @Field(() => ID, { description: "The group." })
  id: string;

  @Field(() => String, { nullable: true, description: "New name, 1–64 characters (owner, admins, or the creating app)." })
  name?: string | null;

  @Field(() => ID, { nullable: true, description: "Hand the group to this member of it; the previous owner becomes an admin (owner or creating app only)." })
  ownerId?: string | null;

  @Field(() => [ID], { nullable: true, description: "Replace the admins with these members of the group (owner or creating app only)." })
  adminIds?: string[] | null;
}

@InputType("AddGroupMembersInput", { description: "Members to add to a group." })
export class AddGroupMembersInput {
  @Field(() => ID, { description: "The group." })
  id: string;

  @Field(() => [ID], { description: "Members within your visibility, at most 1,000 per call; the group holds at most 10,000 (else LIMIT_EXCEEDED)." })
  memberIds: string[];
}

@InputType("RemoveGroupMembersInput", { description: "Members to remove from a group." })
export class RemoveGroupMembersInput {
  @Field(() => ID, { description: "The group." })
  id: string;

  @Field(() => [ID], { description: "Members within your visibility, at most 1,000 per call; not the owner." })
  memberIds: string[];
}

@InputType("LeaveGroupInput", { description: "The group to leave." })
export class LeaveGroupInput {
  @Field(() => ID, { description: "A group you belong to (not as its owner)." })
  id: string;
}

@InputType("OpenDirectConversationInput", { description: "The other member of a direct conversation." })
export class OpenDirectConversationInput {
  @Field(() => ID, { description: "A member within your visibility, not yourself." })
  memberId: string;
}

@InputType("MarkReadInput", { description: "Moves your read pointer forward." })
export class MarkReadInput {
  @Field(() => ID, { description: "A conversation you belong to." })
  conversationId: string;

  @Field(() => Int, {
    description: "You have read every message up to this `seq` (at most the conversation's `lastSeq`); a lower value than your current one changes nothing.",
  })
  upToSeq: number;
}

@InputType("SetConversationSettingsInput", { description: "Your own settings of a conversation; omitted ones stay." })
export class SetConversationSettingsInput {
  @Field(() => ID, { description: "A conversation you belong to." })
  conversationId: string;

  @Field(() => Boolean, { nullable: true, description: "Pin it (listed first)." })
  pinned?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Mute it (do not disturb)." })
  muted?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Archive it." })
  archived?: boolean | null;
}

@InputType("RecallMessageInput", { description: "The message to recall." })
export class RecallMessageInput {
  @Field(() => ID, { description: "A message you sent less than 24 hours ago." })
  id: string;
}

@InputType("RemindUnreadInput", { description: "The message whose unread members to remind." })
export class RemindUnreadInput {
  @Field(() => ID, { description: "A message you sent (not recalled)." })
  messageId: string;
}

@InputType("CastVoteInput", { description: "Your ballot." })
export class CastVoteInput {
  @Field(() => ID, { description: "A VOTE message in a conversation you belong to." })
  messageId: string;

  @Field(() => [Int], { description: "Option indexes: exactly one, or one or more for a multiple-choice vote." })
  options: number[];
}

@InputType("CompleteTodoInput", { description: "A to-do you are assigned." })
export class CompleteTodoInput {
  @Field(() => ID, { description: "A TODO message naming you among its assignees." })
  messageId: string;
}

@InputType("FormAnswerInput", { description: "One answer: the field's index and exactly one value of its type." })
export class FormAnswerInputType {
  @Field(() => Int, { description: "The field's index, from 0." })
  fieldIndex: number;

  @Field(() => String, { nullable: true, description: "For a TEXT field: 1–2,000 characters." })
  text?: string | null;

  @Field(() => Float, { nullable: true, description: "For a NUMBER field." })
  number?: number | null;

  @Field(() => [Int], { nullable: true, description: "For a CHOICE field one option index, for MULTIPLE_CHOICE one or more." })
  choices?: number[] | null;
}

@InputType("SubmitFormInput", { description: "Your submission of a form." })
export class SubmitFormInput {
  @Field(() => ID, { description: "A FORM message in a conversation you belong to." })
  messageId: string;

  @Field(() => [FormAnswerInputType], { description: "Answers, each field at most once; every required field answered." })
  answers: FormAnswerInputType[];
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** A mutation's payload holding the conversation after the change. */
function ConversationPayloadType(name: string, mutation: string) {
  @ObjectType(name, { description: `Result of \`${mutation}\`.` })
  class Payload {
    @Field(() => Conversation, { description: "The conversation after the change." })
    conversation: Conversation;
  }
  return Payload;
}

/** A mutation's payload holding the message after the change. */
function MessagePayloadType(name: string, mutation: string) {
  @ObjectType(name, { description: `Result of \`${mutation}\`.` })
  class Payload {
    @Field(() => Message, { description: "The message after the change." })
    message: Message;
  }
  return Payload;
}

export const CreateGroupPayload = ConversationPayloadType("CreateGroupPayload", "createGroup");
export const UpdateGroupPayload = ConversationPayloadType("UpdateGroupPayload", "updateGroup");
export const OpenDirectConversationPayload = ConversationPayloadType("OpenDirectConversationPayload", "openDirectConversation");
export const MarkReadPayload = ConversationPayloadType("MarkReadPayload", "markRead");
export const SetConversationSettingsPayload = ConversationPayloadType("SetConversationSettingsPayload", "setConversationSettings");

@ObjectType("AddGroupMembersPayload", { description: "Result of `addGroupMembers`." })
export class AddGroupMembersPayload {
  @Field(() => Conversation, { description: "The group after the change." })
  conversation: Conversation;

  @Field(() => Int, { description: "How many members were added (those already in the group are not counted)." })
  addedCount: number;
}

@ObjectType("RemoveGroupMembersPayload", { description: "Result of `removeGroupMembers`." })
export class RemoveGroupMembersPayload {
  @Field(() => Conversation, { description: "The group after the change." })
  conversation: Conversation;

  @Field(() => Int, { description: "How many members were removed (those not in the group are not counted)." })
  removedCount: number;
}

@ObjectType("LeaveGroupPayload", { description: "Result of `leaveGroup`." })
export class LeaveGroupPayload {
  @Field(() => ID, { description: "The group you left." })
  conversationId: string;
}

export const SendMessagePayload = MessagePayloadType("SendMessagePayload", "sendMessage");
export const RecallMessagePayload = MessagePayloadType("RecallMessagePayload", "recallMessage");

@ObjectType("RemindUnreadPayload", { description: "Result of `remindUnread`." })
export class RemindUnreadPayload {
  @Field(() => Message, { description: "The message." })
  message: Message;

  @Field(() => Int, { description: "How many members were reminded (those who had not read it)." })
  remindedCount: number;
}
export const CastVotePayload = MessagePayloadType("CastVotePayload", "castVote");
export const CompleteTodoPayload = MessagePayloadType("CompleteTodoPayload", "completeTodo");
export const SubmitFormPayload = MessagePayloadType("SubmitFormPayload", "submitForm");
