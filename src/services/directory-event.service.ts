import { Repeater } from "@repeaterjs/repeater";
import type { RequestContext } from "../context";
import { canSee, requireScopes, seesWholeCorp } from "../policy";
import type { EventRecord } from "../entities/event.entity";
import { badInput } from "../errors/domain-error";
import { STREAMS } from "../events/log";
import type { Scope } from "../policy/scopes";

/**
 * The scopes a directory event stream needs: declared on `directoryEvents` (`@Authorized`, checked when
 * it subscribes) and checked again, by the same policy function, at each re-check of the token.
 */
export const DIRECTORY_EVENTS_SCOPES: readonly Scope[] = ["directory:read"];

/**
 * The directory's event log as a stream: from a cursor (`after`: replay, then live) or live only,
 * filtered by the caller's visibility (an event is visible when one of the departments its subject
 * sat in, before or after the change, is). A subscription outlives its token's checks at connect
 * time, so before delivering, at most every SUBSCRIPTION_RECHECK_SECONDS, the token is checked again: an expired
 * token, a disabled app or member, or a withdrawn scope ends the stream with that error.
 */
export class DirectoryEventService {
  stream(ctx: RequestContext, after: string | null | undefined): AsyncIterableIterator<EventRecord> {
    let from: bigint | null = null;
    if (after != null) {
      if (!/^(0|[1-9][0-9]{0,18})$/.test(after)) throw badInput("after", "after must be a cursor received from directoryEvents.");
      from = BigInt(after);
    }
    const source = ctx.deps.relay.stream(ctx.caller.corpId, STREAMS.directory, from, () => true);
    const recheckMs = ctx.deps.config.subscriptionRecheckSeconds * 1000;
    let checked = Date.now();
    return new Repeater<EventRecord>(async (push, stop) => {
      void stop.then(() => source.return?.());
      try {
        for await (const event of source) {
          if (Date.now() - checked >= recheckMs) {
            await ctx.reauthenticate();
            requireScopes(ctx.caller, DIRECTORY_EVENTS_SCOPES);
            checked = Date.now();
          }
          const principal = ctx.caller;
          if (seesWholeCorp(principal) || event.audience.some((path) => canSee(principal, path))) await push(event);
        }
      } finally {
        await source.return?.();
      }
      stop();
    });
  }
}
