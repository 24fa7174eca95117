import { DepartmentResolver } from "./department.resolver";
import { DirectoryEventResolver } from "./directory-event.resolver";
import { MemberResolver } from "./member.resolver";
import { QueryResolver } from "./query.resolver";
import { CorpResolver } from "./corp.resolver";
import { AppResolver } from "./app.resolver";
import { ImportResolver } from "./import.resolver";
import { ExportResolver } from "./export.resolver";
import { HealthResolver } from "./health.resolver";
import { AuditEntryResolver } from "./audit-entry.resolver";
import { ConversationMembershipResolver, ConversationResolver } from "./conversation.resolver";
import {
  FormContentResolver,
  FormResultsResolver,
  FormSubmissionResolver,
  MessageResolver,
  MessageSenderResolver,
  ReadReceiptResolver,
  TodoAssigneeResolver,
} from "./message.resolver";
import { MessageEventResolver } from "./message-event.resolver";
import { AppMessageResolver } from "./app-message.resolver";
import { DoNotDisturbResolver } from "./do-not-disturb.resolver";
import { RateLimitResolver } from "./rate-limit.resolver";
import { GroupBotResolver, MessageSenderBotResolver } from "./group-bot.resolver";
import { MessageAuditResolver } from "./message-audit.resolver";

/** Every resolver class of the schema. */
export const RESOLVERS = [
  QueryResolver,
  CorpResolver,
  DepartmentResolver,
  MemberResolver,
  DirectoryEventResolver,
  ImportResolver,
  AppResolver,
  AuditEntryResolver,
  ExportResolver,
  HealthResolver,
  ConversationResolver,
  ConversationMembershipResolver,
  MessageResolver,
  MessageSenderResolver,
  TodoAssigneeResolver,
  ReadReceiptResolver,
  FormContentResolver,
  FormResultsResolver,
  FormSubmissionResolver,
  MessageEventResolver,
  AppMessageResolver,
  DoNotDisturbResolver,
  RateLimitResolver,
  GroupBotResolver,
  MessageSenderBotResolver,
  MessageAuditResolver,
] as const;
