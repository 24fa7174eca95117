import { ArrayMaxSize, ArrayMinSize, IsEmail, IsInt, IsOptional, Length, Matches, Max, MaxLength, Min } from "class-validator";
import { Field, ID, InputType, Int, InterfaceType, ObjectType } from "type-graphql";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { Corp } from "../entities/corp.entity";
import { App } from "../entities/app.entity";
import { ConnectionType } from "./connection";
import { DirectoryEventType, MemberStatus, ViewerRole } from "../domain/enums";

import {
  DEPARTMENT_NAME_MAX,
  EMAIL_MAX,
  EMAIL_MESSAGE,
  EMPLOYEE_ID,
  EMPLOYEE_ID_MESSAGE,
  EXTENSION,
  EXTENSION_MESSAGE,
  MOBILE,
  MOBILE_MESSAGE,
  NAME_MAX,
  TITLE_MAX,
  PlainText,
  TRIMMED,
  TRIMMED_MESSAGE,
} from "../domain/member-rules";
import { ListSize } from "./cost";

const INT32 = 2147483647;

@ObjectType("DepartmentConnection", { description: "A page of departments." })
export class DepartmentConnection extends ConnectionType(Department, "Department", "department") {}

@ObjectType("MemberConnection", { description: "A page of members." })
export class MemberConnection extends ConnectionType(Member, "Member", "member") {}

// ---------------------------------------------------------------------------------------------
// Viewer

/**
 * Who the access token speaks for (issue 5): an `AppViewer` (client-credentials token) or a
 * `MemberViewer` (a member signed in through the app with SSO). `member` stays on the interface,
 * nullable, so that queries written before the split keep working.
 */
@InterfaceType("Viewer", {
  description: "Who the access token speaks for, and what it may do: an AppViewer (an app on its own) or a MemberViewer (a member signed in through an app).",
  resolveType: (value: Viewer) => (value.member ? "MemberViewer" : "AppViewer"),
})
export abstract class Viewer {
  @Field(() => Corp, { description: "The corp the token belongs to." })
  corp: Corp;

  @Field(() => App, { description: "The app the token was issued to." })
  app: App;

  @Field(() => Member, { nullable: true, description: "The member acting through the app (SSO tokens); null for app tokens." })
  member: Member | null;

  @Field(() => ViewerRole, { description: "The role the caller acts with." })
  role: ViewerRole;

  @Field(() => [String], { description: "Scopes the token carries (and the app still holds)." })
  scopes: string[];

  @ListSize(10)
  @Field(() => [Department], {
    nullable: true,
    description: "Departments whose subtrees the caller may see (the app's visibility scope); null means the whole corp.",
  })
  visibleDepartments: Department[] | null;
}

@ObjectType("AppViewer", {
  implements: Viewer,
  description: "An app acting on its own (client-credentials token): its scopes and visibility apply; `role` is APP.",
})
export class AppViewer extends Viewer {}

@ObjectType("MemberViewer", {
  implements: Viewer,
  description:
    "A member signed in through an app (SSO token): the intersection of the app's scopes and visibility with the member's role (ADMIN, LEADER or MEMBER).",
})
export class MemberViewer extends Viewer {
  @Field(() => Member, { description: "The member acting through the app." })
  declare member: Member;
}

// ---------------------------------------------------------------------------------------------
// Filters

@InputType("MemberFilter", { description: "Narrows `members`. All given conditions must hold." })
export class MemberFilterInput {
  @Field(() => ID, { nullable: true, description: "Only members of this department." })
  departmentId?: string | null;

  @Field(() => Boolean, { nullable: true, description: "With `departmentId`: also members of its sub-departments (default false)." })
  includeSubdepartments?: boolean | null;

  @Field(() => MemberStatus, { nullable: true, description: "Only members in this state." })
  status?: MemberStatus | null;

  @Field(() => String, { nullable: true, description: "Case-insensitive substring of name, employee id, email or mobile (at most 64 characters)." })
  @IsOptional()
  @MaxLength(64)
  search?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Department mutations

@InputType("CreateDepartmentInput", { description: "A new department." })
export class CreateDepartmentInput {
  @Field({ description: "Name, 1–64 characters, unique among the parent's sub-departments." })
  @Length(1, DEPARTMENT_NAME_MAX)
  @Matches(TRIMMED, { message: `name ${TRIMMED_MESSAGE}` })
  @PlainText("name")
  name: string;

  @Field(() => ID, { nullable: true, description: "The parent department; default: the root." })
  parentId?: string | null;

  @Field(() => Int, { nullable: true, description: "Sort key among siblings (0 to 2^31-1, default 0)." })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT32)
  order?: number | null;
}

@ObjectType("CreateDepartmentPayload", { description: "Result of `createDepartment`." })
export class CreateDepartmentPayload {
  @Field(() => Department, { description: "The new department." })
  department: Department;
}

@InputType("UpdateDepartmentInput", { description: "Changes to a department; omitted fields stay as they are." })
export class UpdateDepartmentInput {
  @Field(() => ID, { description: "The department to change." })
  id: string;

  @Field(() => String, { nullable: true, description: "New name, 1–64 characters (not for the root, which carries the corp's name)." })
  @IsOptional()
  @Length(1, DEPARTMENT_NAME_MAX)
  @Matches(TRIMMED, { message: `name ${TRIMMED_MESSAGE}` })
  @PlainText("name")
  name?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: "Move under this department. Refused for the root, for a move under itself (a cycle) and beyond 15 levels.",
  })
  parentId?: string | null;

  @Field(() => Int, { nullable: true, description: "New sort key among siblings." })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT32)
  order?: number | null;

  @Field(() => [ID], { nullable: true, description: "Replace the department's leaders; each must be a member of the department." })
  @IsOptional()
  @ArrayMaxSize(20)
  leaderIds?: string[] | null;
}

@ObjectType("UpdateDepartmentPayload", { description: "Result of `updateDepartment`." })
export class UpdateDepartmentPayload {
  @Field(() => Department, { description: "The department after the change." })
  department: Department;
}

@InputType("DeleteDepartmentInput", { description: "The department to delete." })
export class DeleteDepartmentInput {
  @Field(() => ID, { description: "A department with no members and no sub-departments (not the root)." })
  id: string;
}

@ObjectType("DeleteDepartmentPayload", { description: "Result of `deleteDepartment`." })
export class DeleteDepartmentPayload {
  @Field(() => ID, { description: "Id of the deleted department." })
  deletedDepartmentId: string;
}

// ---------------------------------------------------------------------------------------------
// Member mutations

@InputType("CreateMemberInput", { description: "A new member." })
export class CreateMemberInput {
  @Field({ description: "Employee id (工号): 1–64 letters, digits, `.`, `_`, `-`, `@`; unique in the corp." })
  @Matches(EMPLOYEE_ID, { message: EMPLOYEE_ID_MESSAGE })
  employeeId: string;

  @Field({ description: "Full name, 1–64 characters." })
  @Length(1, NAME_MAX)
  @Matches(TRIMMED, { message: `name ${TRIMMED_MESSAGE}` })
  @PlainText("name")
  name: string;

  @Field(() => [ID], { description: "Departments the member belongs to: 1 to 20." })
  @ArrayMinSize(1, { message: "departmentIds needs at least one department" })
  @ArrayMaxSize(20)
  departmentIds: string[];

  @Field(() => ID, { nullable: true, description: "The main department, one of `departmentIds`; default: the first." })
  mainDepartmentId?: string | null;

  @Field(() => String, { nullable: true, description: "Job title, at most 128 characters." })
  @IsOptional()
  @MaxLength(TITLE_MAX)
  @PlainText("title")
  title?: string | null;

  @Field(() => String, { nullable: true, description: "Phone extension: 1–32 digits, `+`, `-`, `*` or `#`." })
  @IsOptional()
  @Matches(EXTENSION, { message: EXTENSION_MESSAGE })
  extension?: string | null;

  @Field(() => String, { nullable: true, description: "Mobile number: optional `+`, then 5–20 digits; unique in the corp." })
  @IsOptional()
  @Matches(MOBILE, { message: MOBILE_MESSAGE })
  mobile?: string | null;

  @Field(() => String, { nullable: true, description: "Email address, unique in the corp; stored lower-case." })
  @IsOptional()
  @MaxLength(EMAIL_MAX)
  @IsEmail({}, { message: EMAIL_MESSAGE })
  email?: string | null;

  @Field(() => MemberStatus, { nullable: true, description: "Initial state; default UNACTIVATED." })
  status?: MemberStatus | null;

  @Field(() => Boolean, { nullable: true, description: "Make the member a corp administrator (administrators only; default false)." })
  isCorpAdmin?: boolean | null;
}

@ObjectType("CreateMemberPayload", { description: "Result of `createMember`." })
export class CreateMemberPayload {
  @Field(() => Member, { description: "The new member." })
  member: Member;
}

@InputType("UpdateMemberInput", {
  description: "Changes to a member. Omitted fields stay as they are; `null` clears an optional field (title, extension, mobile, email).",
})
export class UpdateMemberInput {
  @Field(() => ID, { description: "The member to change." })
  id: string;

  @Field(() => String, { nullable: true, description: "New employee id (same format as on creation)." })
  @IsOptional()
  @Matches(EMPLOYEE_ID, { message: EMPLOYEE_ID_MESSAGE })
  employeeId?: string | null;

  @Field(() => String, { nullable: true, description: "New name, 1–64 characters." })
  @IsOptional()
  @Length(1, NAME_MAX)
  @Matches(TRIMMED, { message: `name ${TRIMMED_MESSAGE}` })
  @PlainText("name")
  name?: string | null;

  @Field(() => [ID], { nullable: true, description: "Replace the member's departments (1 to 20)." })
  @IsOptional()
  @ArrayMinSize(1, { message: "departmentIds needs at least one department" })
  @ArrayMaxSize(20)
  departmentIds?: string[] | null;

  @Field(() => ID, { nullable: true, description: "New main department, one of the member's departments." })
  mainDepartmentId?: string | null;

  @Field(() => String, { nullable: true, description: "Job title, at most 128 characters." })
  @IsOptional()
  @MaxLength(TITLE_MAX)
  @PlainText("title")
  title?: string | null;

  @Field(() => String, { nullable: true, description: "Phone extension." })
  @IsOptional()
  @Matches(EXTENSION, { message: EXTENSION_MESSAGE })
  extension?: string | null;

  @Field(() => String, { nullable: true, description: "Mobile number." })
  @IsOptional()
  @Matches(MOBILE, { message: MOBILE_MESSAGE })
  mobile?: string | null;

  @Field(() => String, { nullable: true, description: "Email address." })
  @IsOptional()
  @MaxLength(EMAIL_MAX)
  @IsEmail({}, { message: EMAIL_MESSAGE })
  email?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Grant or revoke corp administrator rights (administrators only)." })
  isCorpAdmin?: boolean | null;
}

@ObjectType("UpdateMemberPayload", { description: "Result of `updateMember`." })
export class UpdateMemberPayload {
  @Field(() => Member, { description: "The member after the change." })
  member: Member;
}

@InputType("SetMemberStatusInput", { description: "A member's new account state." })
export class SetMemberStatusInput {
  @Field(() => ID, { description: "The member." })
  id: string;

  @Field(() => MemberStatus, { description: "The new state, e.g. DISABLED or RESIGNED." })
  status: MemberStatus;
}

@ObjectType("SetMemberStatusPayload", { description: "Result of `setMemberStatus`." })
export class SetMemberStatusPayload {
  @Field(() => Member, { description: "The member after the change." })
  member: Member;
}

@InputType("DeleteMemberInput", { description: "The member to delete. Prefer `setMemberStatus(RESIGNED)`, which keeps history." })
export class DeleteMemberInput {
  @Field(() => ID, { description: "The member." })
  id: string;
}

@ObjectType("DeleteMemberPayload", { description: "Result of `deleteMember`." })
export class DeleteMemberPayload {
  @Field(() => ID, { description: "Id of the deleted member." })
  deletedMemberId: string;
}

// ---------------------------------------------------------------------------------------------
// Events

@ObjectType("DirectoryEvent", { description: "One change to the directory, from the corp's event log." })
export class DirectoryEvent {
  @Field({ description: "Position in the log; pass as `after` to resume after this event." })
  cursor: string;

  @Field(() => DirectoryEventType, { description: "What changed." })
  type: DirectoryEventType;

  @Field({ description: "When the change was committed." })
  occurredAt: Date;

  @Field(() => ID, { nullable: true, description: "Id of the member concerned (kept after the member is deleted)." })
  memberId: string | null;

  @Field(() => ID, { nullable: true, description: "Id of the department concerned (kept after the department is deleted)." })
  departmentId: string | null;

  @Field(() => Member, { nullable: true, description: "The member as it is now; null when deleted or out of your visibility." })
  member: Member | null;

  @Field(() => Department, { nullable: true, description: "The department as it is now; null when deleted or out of your visibility." })
  department: Department | null;

  @Field(() => [String], { nullable: true, description: "For *_UPDATED events: the fields that changed." })
  changedFields: string[] | null;
}
