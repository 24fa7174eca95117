import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Edition } from "../domain/enums";
import { App } from "../entities/app.entity";
import { Cost } from "./cost";

/** Whose bucket pays (the values are the rate limiter's bucket kinds). */
export const RateLimitBucket = { APP: "app", MEMBER: "member" } as const;
registerEnumType(RateLimitBucket, {
  name: "RateLimitBucket",
  description: "Which bucket a token's operations are charged to.",
  valuesConfig: {
    APP: { description: "The app's own bucket, shared by every token the app holds for itself." },
    MEMBER: { description: "The member's own bucket through this app (of the app's size): other members and the app are not charged." },
  },
});

@ObjectType("ThrottleStatus", { description: "A bucket's state (Shopify's `throttleStatus`), as every response's `extensions.cost` also reports it." })
export class ThrottleStatus {
  @Field(() => Int, { description: "Points the bucket holds when full." })
  maximumAvailable: number;

  @Field(() => Int, { description: "Points available now." })
  currentlyAvailable: number;

  @Field(() => Int, { description: "Points regained per second, continuously." })
  restoreRate: number;
}

@ObjectType("DryRunCost", { description: "What a document would cost, computed without running it." })
export class DryRunCost {
  @Field(() => Int, { description: "Points taken from the bucket before it runs (items asked for × fields selected; see the schema's `@cost` / `@listSize`)." })
  requestedQueryCost: number;

  @Field({ description: "True when the bucket holds enough points to run it now." })
  affordableNow: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      "Why it would be refused whatever the bucket holds (invalid, over a cap, a feature the edition lacks), with the error code first; null when it would run.",
  })
  refusal: string | null;
}

@ObjectType("RateLimit", { description: "The caller's rate limit: its bucket, its edition, and optionally a document's cost. Free: costs no points." })
export class RateLimit {
  @Field(() => Edition, { description: "The corp's edition, which sizes the bucket." })
  edition: Edition;

  @Field(() => RateLimitBucket, { description: "Which bucket the caller's operations are charged to." })
  bucket: (typeof RateLimitBucket)[keyof typeof RateLimitBucket];

  @Cost(0)
  @Field(() => ThrottleStatus, { description: "The bucket now." })
  throttleStatus: ThrottleStatus;

  @Field(() => Int, { description: "Most concurrent subscriptions the caller's tokens may hold (app tokens together, or each member's)." })
  maxSubscriptions: number;

  @Cost(0)
  @Field(() => DryRunCost, { nullable: true, description: "The cost of the `dryRun` document; null without one." })
  dryRun: DryRunCost | null;
}

@ObjectType("AppRateLimit", { description: "An app's bucket: its edition's size, or lower after `setAppRateLimit`." })
export class AppRateLimit {
  @Field(() => Int, { description: "Points the bucket holds when full (each member's bucket through the app is the same size)." })
  capacity: number;

  @Field(() => Int, { description: "Points regained per second." })
  restoreRate: number;

  @Field({ description: "True when `setAppRateLimit` lowered it below the edition's size." })
  lowered: boolean;
}

@InputType("SetAppRateLimitInput", { description: "An app's bucket size; both null to return to the edition's." })
export class SetAppRateLimitInput {
  @Field(() => ID, { description: "The app." })
  appId: string;

  @Field(() => Int, {
    nullable: true,
    description: "Points the bucket holds, 1 to the edition's (BASIC 1,000, PROFESSIONAL 10,000); null with `restoreRate` null: the edition's.",
  })
  capacity?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "Points regained per second, 1 to the edition's (BASIC 50, PROFESSIONAL 500); null with `capacity` null: the edition's.",
  })
  restoreRate?: number | null;
}

@ObjectType("SetAppRateLimitPayload", { description: "Result of `setAppRateLimit`." })
export class SetAppRateLimitPayload {
  @Field(() => App, { description: "The app, with its `rateLimit` as it applies now (other instances within 5 seconds)." })
  app: App;
}
