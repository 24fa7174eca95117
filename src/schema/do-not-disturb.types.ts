import { Field, InputType, ObjectType } from "type-graphql";

/* Do not disturb (issue 14 item 6): the GraphQL side; the rules are in `domain/messaging.ts`. */

@ObjectType("DoNotDisturb", {
  simpleResolvers: true,
  description: "Your daily do-not-disturb window: while it applies, `messageEvents` still delivers every event, with `notify: false`.",
})
export class DoNotDisturb {
  @Field({ description: 'Start, "HH:MM" (24-hour), in `timezone`, included.' })
  from: string;

  @Field({ description: 'End, "HH:MM" (24-hour), in `timezone`, excluded; earlier than `from` when the window spans midnight (e.g. 22:00–07:00).' })
  to: string;

  @Field({ description: "The IANA time zone of `from` and `to`, e.g. Asia/Shanghai." })
  timezone: string;

  @Field({ description: "Whether the window applies now." })
  active: boolean;
}

@InputType("SetDoNotDisturbInput", { description: "Your do-not-disturb window; all three null clears it." })
export class SetDoNotDisturbInput {
  @Field(() => String, { nullable: true, description: 'Start, "HH:MM" (00:00–23:59). With `to` and `timezone`, or null with both to clear.' })
  from?: string | null;

  @Field(() => String, { nullable: true, description: 'End, "HH:MM", not equal to `from`; earlier than `from` to span midnight.' })
  to?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "An IANA time zone that `Intl.DateTimeFormat` knows (e.g. Asia/Shanghai, Europe/Berlin, UTC), else BAD_USER_INPUT on `input.timezone`.",
  })
  timezone?: string | null;
}

@ObjectType("SetDoNotDisturbPayload", { description: "Result of `setDoNotDisturb`." })
export class SetDoNotDisturbPayload {
  @Field(() => DoNotDisturb, { nullable: true, description: "Your window after the change; null when cleared." })
  doNotDisturb: DoNotDisturb | null;
}
