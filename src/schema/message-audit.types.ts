import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { MessageAuditHit } from "../entities/message-audit-hit.entity";
import { ConnectionType } from "./connection";

/* The GraphQL side of the compliance audit of messages (issue 14, item 8). Inputs are checked by `MessageAuditService`. */

@ObjectType("MessageAuditHitConnection", { description: "A page of compliance audit hits, oldest first." })
export class MessageAuditHitConnection extends ConnectionType(MessageAuditHit, "MessageAuditHit", "audit hit") {}

@InputType("SetSensitiveWordsInput", { description: "The corp's whole list of sensitive words, replacing the previous one." })
export class SetSensitiveWordsInput {
  @Field(() => [String], {
    description:
      "At most 1,000 words, each 1–64 characters on one line (no control characters), none twice ignoring case and full-width forms; BAD_USER_INPUT names the word (`input.words.3`). An empty list ends the audit.",
  })
  words: string[];
}

@ObjectType("SetSensitiveWordsPayload", { description: "Result of `setSensitiveWords`." })
export class SetSensitiveWordsPayload {
  @Field(() => [String], { description: "The corp's sensitive words now, in the order given." })
  words: string[];

  @Field(() => Int, { description: "How many there are." })
  count: number;
}

@InputType("MessageAuditHitFilter", { description: "Narrows `messageAuditHits`; all given conditions must hold." })
export class MessageAuditHitFilter {
  @Field(() => ID, { nullable: true, description: "Only hits in this conversation." })
  conversationId?: string | null;

  @Field(() => ID, { nullable: true, description: "Only messages this member sent." })
  memberId?: string | null;

  @Field(() => String, { nullable: true, description: "Only hits of this word (ignoring case and full-width forms)." })
  word?: string | null;

  @Field(() => Date, { nullable: true, description: "Only messages sent at or after this time." })
  since?: Date | null;

  @Field(() => Date, { nullable: true, description: "Only messages sent before this time (after `since`)." })
  until?: Date | null;
}
