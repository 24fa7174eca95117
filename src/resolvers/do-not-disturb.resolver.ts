import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../context";
import { inDoNotDisturb, timeOfDay, type DoNotDisturbWindow } from "../domain/messaging";
import { DoNotDisturb, SetDoNotDisturbInput, SetDoNotDisturbPayload } from "../schema/do-not-disturb.types";
import { Transactional } from "./transactional";

/** The GraphQL view of a window, `active` at the messaging clock's now. */
function view(ctx: RequestContext, window: DoNotDisturbWindow | null): DoNotDisturb | null {
  if (!window) return null;
  const active = inDoNotDisturb(window, ctx.services.messageEvents.clock.now());
  return Object.assign(new DoNotDisturb(), { from: timeOfDay(window.fromMinute), to: timeOfDay(window.toMinute), timezone: window.timezone, active });
}

/** Do not disturb (issue 14 item 6): thin; the rules are in `DoNotDisturbService` and `domain/messaging.ts`. */
@Resolver()
export class DoNotDisturbResolver {
  @Authorized("messages:read")
  @Query(() => DoNotDisturb, { nullable: true, description: "Your (a member's) do-not-disturb window; null when none is set, or for an app." })
  async doNotDisturb(@Ctx() ctx: RequestContext) {
    return view(ctx, await ctx.services.doNotDisturb.mine(ctx));
  }

  @Authorized("messages:read")
  @Mutation(() => SetDoNotDisturbPayload, {
    description:
      "Sets your (a member's) daily do-not-disturb window, or clears it with all three fields null: while it applies, `messageEvents` still delivers every event, with `notify: false` (an open subscription picks a change up at its next token re-check). An app acting on its own: FORBIDDEN.",
  })
  @Transactional()
  async setDoNotDisturb(@Arg("input", { description: "The window, or nulls to clear it." }) input: SetDoNotDisturbInput, @Ctx() ctx: RequestContext) {
    return { doNotDisturb: view(ctx, await ctx.services.doNotDisturb.set(ctx, input)) };
  }
}
