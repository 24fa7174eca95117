import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { MessageContentInput } from "./messaging.types";
import { ListSize } from "./cost";

/*
 * The GraphQL side of app messages (`sendAppMessage`, issue 14 item 3): WeCom's message/send as one
 * mutation. The limits are in `domain/messaging.ts`, the rules in `services/app-message.service.ts`.
 */

@InputType("AppMessageRecipientsInput", {
  description:
    "Whom an app message goes to: the members named, the members of the departments named (with their sub-departments), or with `all` every member the app sees. Only ACTIVE members within the app's visibility receive it; the others are reported in the payload.",
})
export class AppMessageRecipientsInput {
  @Field(() => [ID], { defaultValue: [], description: "Members, at most 1,000 per call (else LIMIT_EXCEEDED on `input.to.memberIds`)." })
  memberIds: string[];

  @Field(() => [ID], {
    defaultValue: [],
    description: "Departments, with their sub-departments, at most 100 per call (else LIMIT_EXCEEDED on `input.to.departmentIds`).",
  })
  departmentIds: string[];

  @Field({ defaultValue: false, description: "Every ACTIVE member within the app's visibility." })
  all: boolean;
}

@InputType("SendAppMessageInput", {
  description:
    "An app message: one message into each recipient's APP conversation (the app's channel to that member, created on first use), the app its sender. At least one recipient; at most 10,000 members in all after departments are expanded (else LIMIT_EXCEEDED on `input.to`).",
})
export class SendAppMessageInput {
  @Field(() => AppMessageRecipientsInput, { description: "The recipients." })
  to: AppMessageRecipientsInput;

  @Field(() => MessageContentInput, {
    description:
      "The content: exactly one field, checked as `sendMessage` checks it (fields named `input.message.…`). A to-do is assigned to each recipient in their own conversation: leave `todo.assigneeIds` empty.",
  })
  message: MessageContentInput;

  @Field(() => Int, {
    defaultValue: 0,
    description:
      "Seconds, 0–14,400 (4 hours): when the app sent the same content to the same recipients (the same ids, in any order) within this time, nothing is sent again and the payload shows that earlier send with `deduplicated: true`. 0: no check.",
  })
  dedupeSeconds: number;
}

@ObjectType("SendAppMessagePayload", { description: "Result of `sendAppMessage`." })
export class SendAppMessagePayload {
  @Field({ description: "True when this call repeated an earlier one within `dedupeSeconds`: nothing was sent, `messages` are the earlier send's." })
  deduplicated: boolean;

  @Field(() => Int, { description: "How many members the message was delivered to: one message each." })
  messageCount: number;

  @ListSize(10)
  @Field(() => [ID], {
    description: "The `to.memberIds` that received nothing: no such member in the corp, not ACTIVE, or outside the app's visibility (as of this call).",
  })
  invalidMemberIds: string[];

  @ListSize(10)
  @Field(() => [ID], { description: "The `to.departmentIds` that name no department within the app's visibility (as of this call)." })
  invalidDepartmentIds: string[];
}
