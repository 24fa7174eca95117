import { App } from "./app.entity";
import { Corp } from "./corp.entity";
import { Department } from "./department.entity";
import { DepartmentLeader } from "./department-leader.entity";
import { EventRecord } from "./event.entity";
import { Member } from "./member.entity";
import { MemberDepartment } from "./member-department.entity";
import { SigningKey } from "./signing-key.entity";
import { VendorApp } from "./vendor-app.entity";
import { AuditLog } from "./audit-log.entity";
import { MemberCredential } from "./member-credential.entity";
import { ActivationLink } from "./activation-link.entity";
import { OAuthCode } from "./oauth-code.entity";
import { RefreshToken } from "./refresh-token.entity";
import { RevokedToken } from "./revoked-token.entity";
import { ImportJob } from "./import-job.entity";
import { ImportJobError } from "./import-job-error.entity";
import { MemberExport } from "./member-export.entity";
import { Conversation } from "./conversation.entity";
import { ConversationMember } from "./conversation-member.entity";
import { Message } from "./message.entity";
import { MessageBallot } from "./message-ballot.entity";
import { MessageTodoDone } from "./message-todo-done.entity";
import { MessageFormSubmission } from "./message-form-submission.entity";
import { Deployment } from "./deployment.entity";
import { MemberDoNotDisturb } from "./member-do-not-disturb.entity";
import { GroupBot } from "./group-bot.entity";
import { AutoReplyRule } from "./auto-reply-rule.entity";
import { SensitiveWord } from "./sensitive-word.entity";
import { MessageAuditHit } from "./message-audit-hit.entity";

/** Every entity, for the DataSource. */
export const ENTITIES = [
  Corp,
  App,
  SigningKey,
  Department,
  Member,
  MemberDepartment,
  DepartmentLeader,
  EventRecord,
  VendorApp,
  AuditLog,
  MemberCredential,
  ActivationLink,
  OAuthCode,
  RefreshToken,
  RevokedToken,
  ImportJob,
  ImportJobError,
  MemberExport,
  Conversation,
  ConversationMember,
  Message,
  MessageBallot,
  MessageTodoDone,
  MessageFormSubmission,
  Deployment,
  MemberDoNotDisturb,
  GroupBot,
  AutoReplyRule,
  SensitiveWord,
  MessageAuditHit,
];
