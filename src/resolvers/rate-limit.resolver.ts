import type { GraphQLResolveInfo } from "graphql";
import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Authorized, Ctx, FieldResolver, Info, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { App } from "../entities/app.entity";
import { fromGlobalId } from "../schema/global-id";
import { Cost } from "../schema/cost";
import { AppRateLimit, RateLimit, SetAppRateLimitInput, SetAppRateLimitPayload } from "../schema/rate-limit.types";
import { Transactional } from "./transactional";

/** Rate limits (issue 13): the free `rateLimit` query, an app's bucket, `setAppRateLimit`. Rules in the services. */
@Resolver(() => App)
export class RateLimitResolver {
  @Cost(0)
  @Query(() => RateLimit, {
    description:
      "Your bucket and edition, free of charge; with `dryRun`, what that document would cost, computed as the gateway computes it before running one, without running it. Needs any valid token.",
  })
  rateLimit(
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Arg("dryRun", () => String, { nullable: true, description: "A GraphQL document to price (one dry run per request)." })
    dryRun?: string | null,
    @Arg("variables", () => GraphQLJSONObject, { nullable: true, validate: false, description: "The variables the `dryRun` document would run with." })
    variables?: Record<string, unknown> | null,
    @Arg("operationName", () => String, { nullable: true, description: "The operation of the `dryRun` document to price, when it holds several." })
    operationName?: string | null,
  ) {
    return ctx.services.rateLimits.view(ctx, info.schema, dryRun, variables, operationName);
  }

  @FieldResolver(() => AppRateLimit, { name: "rateLimit", description: "The bucket the app's tokens (and each of its members') are charged to." })
  appRateLimit(@Root() app: App, @Ctx() ctx: RequestContext): AppRateLimit {
    return ctx.services.appApi.rateLimit(ctx, app);
  }

  @Authorized("apps:admin")
  @Mutation(() => SetAppRateLimitPayload, {
    description:
      "Lowers an app's bucket (and each of its members' buckets) within the edition's ceiling, or returns it to the edition's with both values null. Callers: an app that sees the whole corp, or a corp administrator signed in through one (else FORBIDDEN).",
  })
  @Transactional()
  async setAppRateLimit(@Arg("input", { description: "The app and its bucket." }) input: SetAppRateLimitInput, @Ctx() ctx: RequestContext) {
    const pk = fromGlobalId(input.appId, "App", "input.appId");
    return { app: await ctx.services.appApi.setRateLimit(ctx, pk, input.capacity ?? null, input.restoreRate ?? null) };
  }
}
