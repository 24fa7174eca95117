import { ArrayMaxSize, IsOptional, Length, Matches } from "class-validator";
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { App } from "../entities/app.entity";
import { AUDIT_ACTIONS, type AuditAction } from "../domain/audit";
import { ConnectionType } from "./connection";
import { PlainText } from "../domain/member-rules";

const TRIMMED = /^\S(?:[\s\S]*\S)?$/;

@ObjectType("AppConnection", { description: "A page of apps." })
export class AppConnection extends ConnectionType(App, "App", "app") {}

@InputType("AppVisibilityInput", {
  description: "Who an app serves: the subtrees of `departmentIds` plus the single members `memberIds`. `departmentIds` null or omitted: the whole corp.",
})
export class AppVisibilityInput {
  @Field(() => [ID], {
    nullable: true,
    description: "Departments whose subtrees the app sees (at most 100); null or omitted: the whole corp; []: no department.",
  })
  @IsOptional()
  @ArrayMaxSize(100)
  departmentIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "Single members who may also sign in to the app (at most 1,000)." })
  @IsOptional()
  @ArrayMaxSize(1000)
  memberIds?: string[] | null;
}

@InputType("CreateAppInput", { description: "A new self-built app." })
export class CreateAppInput {
  @Field({ description: "Display name, 1–100 characters." })
  @Length(1, 100)
  @Matches(TRIMMED, { message: "name must not be blank or start or end with spaces" })
  @PlainText("name")
  name: string;

  @Field(() => [String], { description: "Scopes to grant (`resource:action`, see `apps:admin` etc.)." })
  @ArrayMaxSize(20)
  scopes: string[];

  @Field(() => [String], { nullable: true, description: "Redirect URIs for sign-in (at most 10): absolute https URLs (http only for localhost), no fragment." })
  @IsOptional()
  @ArrayMaxSize(10)
  redirectUris?: string[] | null;

  @Field(() => AppVisibilityInput, { nullable: true, description: "Visibility; default: the whole corp." })
  visibility?: AppVisibilityInput | null;

  @Field(() => [String], { nullable: true, description: "Allowed client IP ranges as CIDRs (at most 50); default: anywhere." })
  @IsOptional()
  @ArrayMaxSize(50)
  allowedIpRanges?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "A public client (browser or mobile app): no secret, PKCE S256 required. Default false." })
  publicClient?: boolean | null;
}

@ObjectType("CreateAppPayload", { description: "Result of `createApp`." })
export class CreateAppPayload {
  @Field(() => App, { description: "The new app." })
  app: App;

  @Field(() => String, { nullable: true, description: "The client secret, shown only this once (null for a public client). Store it safely." })
  clientSecret: string | null;
}

@InputType("UpdateAppInput", { description: "Changes to an app; omitted fields stay as they are." })
export class UpdateAppInput {
  @Field(() => ID, { description: "The app." })
  id: string;

  @Field(() => String, { nullable: true, description: "New name, 1–100 characters." })
  @IsOptional()
  @Length(1, 100)
  @Matches(TRIMMED, { message: "name must not be blank or start or end with spaces" })
  @PlainText("name")
  name?: string | null;

  @Field(() => [String], { nullable: true, description: "Replace the granted scopes (for an installed vendor app: at most what the vendor asked for)." })
  @IsOptional()
  @ArrayMaxSize(20)
  scopes?: string[] | null;

  @Field(() => [String], { nullable: true, description: "Replace the redirect URIs (self-built apps)." })
  @IsOptional()
  @ArrayMaxSize(10)
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: "Replace the allowed IP ranges ([]: anywhere)." })
  @IsOptional()
  @ArrayMaxSize(50)
  allowedIpRanges?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "Enable (true) a disabled app again." })
  enabled?: boolean | null;
}

@ObjectType("AppPayload", { description: "An app after a change." })
export class AppPayload {
  @Field(() => App, { description: "The app after the change." })
  app: App;
}

@InputType("AppIdInput", { description: "Names one app." })
export class AppIdInput {
  @Field(() => ID, { description: "The app." })
  id: string;
}

@ObjectType("RotateAppSecretPayload", { description: "Result of `rotateAppSecret`." })
export class RotateAppSecretPayload {
  @Field(() => App, { description: "The app; `previousSecretExpiresAt` says until when the old secret still works." })
  app: App;

  @Field({ description: "The new client secret, shown only this once." })
  clientSecret: string;
}

@InputType("SetAppVisibilityInput", { description: "An app's new visibility." })
export class SetAppVisibilityInput {
  @Field(() => ID, { description: "The app." })
  id: string;

  @Field(() => AppVisibilityInput, { description: "The new visibility (replaces the old one)." })
  visibility: AppVisibilityInput;
}

@InputType("InstallAppInput", { description: "Installs a vendor app into the caller's corp." })
export class InstallAppInput {
  @Field({ description: "The vendor app's client id (the vendor tells you)." })
  @Length(1, 64)
  clientId: string;

  @Field(() => [String], { description: "Scopes to grant: any subset of what the vendor asks for." })
  @ArrayMaxSize(20)
  scopes: string[];

  @Field(() => AppVisibilityInput, { nullable: true, description: "Visibility; default: the whole corp." })
  visibility?: AppVisibilityInput | null;
}

@ObjectType("InstallAppPayload", { description: "Result of `installApp`." })
export class InstallAppPayload {
  @Field(() => App, { description: "The installation: an app of kind VENDOR in your corp." })
  installation: App;
}

@ObjectType("UninstallAppPayload", { description: "Result of `uninstallApp`." })
export class UninstallAppPayload {
  @Field(() => ID, { description: "Id of the removed installation; every token issued to it is refused from now on." })
  uninstalledAppId: string;
}

@InputType("MemberIdInput", { description: "Names one member." })
export class MemberIdInput {
  @Field(() => ID, { description: "The member." })
  memberId: string;
}

@ObjectType("ActivationLink", { description: "A single-use link with which a member sets their password." })
export class ActivationLinkPayload {
  @Field({ description: "Open in a browser: a page with a form to set the password. Single use." })
  url: string;

  @Field({ description: "When the link stops working (72 hours after creation)." })
  expiresAt: Date;
}

@ObjectType("RevokeMemberSessionsPayload", { description: "Result of `revokeMemberSessions`." })
export class RevokeMemberSessionsPayload {
  @Field(() => Int, { description: "Number of live refresh tokens revoked. Every access token of the member issued before now is refused from its next call." })
  revokedCount: number;
}

/** The audit actions of `domain/audit.ts` as the enum object type-graphql registers. */
const AuditActionEnum = Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, a])) as { [A in AuditAction]: A };
const AUDIT_DESCRIPTIONS: Record<AuditAction, string> = {
  TOKEN_ISSUED: "An access token was issued (client credentials, code exchange or refresh).",
  TOKEN_REFUSED: "A token request was refused (client authentication, network, reused code or refresh token, member no longer allowed).",
  TOKEN_REVOKED: "A token was revoked at /oauth/revoke.",
  SIGN_IN: "A member's sign-in attempt on the sign-in page (outcome says whether it worked).",
  PASSWORD_SET: "A member set a password (activation link or expired password).",
  APP_CREATED: "createApp.",
  APP_UPDATED: "updateApp.",
  APP_SECRET_ROTATED: "rotateAppSecret.",
  APP_VISIBILITY_SET: "setAppVisibility.",
  APP_DISABLED: "disableApp.",
  APP_RATE_LIMIT_SET: "setAppRateLimit.",
  APP_INSTALLED: "installApp.",
  APP_UNINSTALLED: "uninstallApp.",
  ACTIVATION_LINK_CREATED: "createActivationLink.",
  MEMBER_SESSIONS_REVOKED: "revokeMemberSessions.",
  GROUP_BOT_CREATED: "createGroupBot (a robot and its webhook key).",
  GROUP_BOT_KEY_ROTATED: "rotateGroupBotKey (the previous webhook key stops working).",
  GROUP_BOT_REMOVED: "removeGroupBot.",
  AUTO_REPLY_RULE_CREATED: "createAutoReplyRule.",
  AUTO_REPLY_RULE_REMOVED: "removeAutoReplyRule.",
  SENSITIVE_WORDS_SET: "setSensitiveWords (the compliance audit's word list; detail: the words added and removed).",
};
registerEnumType(AuditActionEnum, {
  name: "AuditAction",
  description: "What an audit entry records.",
  valuesConfig: Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, { description: AUDIT_DESCRIPTIONS[a] }])),
});

@ObjectType("AuditEntry", { description: "One entry of the corp's audit log." })
export class AuditEntry {
  pk: string;

  @Field(() => ID, { description: "Id of the entry (ordered: later entries have larger ids)." })
  id: string;

  @Field({ description: "When it happened." })
  occurredAt: Date;

  @Field(() => AuditActionEnum, { description: "What happened." })
  action: AuditAction;

  @Field({ description: "True for a success, false for a refusal or failure." })
  success: boolean;

  @Field(() => ID, { nullable: true, description: "Global id of the app involved (kept after the app is deleted)." })
  appId: string | null;

  @Field(() => ID, { nullable: true, description: "Global id of the member involved (kept after the member is deleted)." })
  memberId: string | null;

  @Field(() => String, { nullable: true, description: "Client IP address, when known." })
  ip: string | null;

  @Field(() => String, { description: "Details as a JSON object (never secrets), e.g. the reason of a refusal or the changed fields." })
  detail: string;
}

@ObjectType("AuditEntryConnection", { description: "A page of audit entries." })
export class AuditEntryConnection extends ConnectionType(AuditEntry, "AuditEntry", "audit entry") {}

@InputType("AuditLogFilter", { description: "Narrows `auditLog`; all given conditions must hold." })
export class AuditLogFilter {
  @Field(() => [AuditActionEnum], { nullable: true, description: "Only these actions." })
  actions?: AuditAction[] | null;

  @Field(() => Boolean, { nullable: true, description: "Only successes (true) or only failures (false)." })
  success?: boolean | null;

  @Field(() => ID, { nullable: true, description: "Only entries about this app." })
  appId?: string | null;

  @Field(() => ID, { nullable: true, description: "Only entries about this member." })
  memberId?: string | null;

  @Field(() => Date, { nullable: true, description: "Only entries at or after this time." })
  since?: Date | null;
}
