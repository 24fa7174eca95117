import { Repeater } from "@repeaterjs/repeater";
import type { RequestContext } from "../context";
import { canSee, requireScopes, seesWholeCorp } from "../policy";
import type { Principal } from "../policy/principal";
import type { EventRecord } from "../entities/event.entity";
import { badInput } from "../errors/domain-error";
import { STREAMS } from "../events/log";
import type { Scope } from "../policy/scopes";
import { liveStream, type LiveStream } from "../fanout/source";

/**
 * The scopes a directory event stream needs: declared on `directoryEvents` (`@Authorized`, checked when
 * it subscribes) and checked again, by the same policy function, at each re-check of the token.
 */
export const DIRECTORY_EVENTS_SCOPES: readonly Scope[] = ["directory:read"];

/** May `principal` receive `event`: it sees the whole corp, or one of the departments the subject sat in, before or after the change. */
function visible(principal: Principal, event: EventRecord): boolean {
  return seesWholeCorp(principal) || event.audience.some((path) => canSee(principal, path));
}

/**
 * What a directory event's fields read of the principal: its scopes (`@ScopedField`), its visibility
 * (the loaders filter by it), and, to be safe, its edition and role; never who the member is. So
 * every subscriber of one app with the same document shares one execution per event (`fanout/`).
 */
export function directoryAudience(principal: Principal): string {
  const { edition, scopes, visibleRoots, member } = principal;
  const roots = visibleRoots === null ? null : [...visibleRoots].sort();
  return JSON.stringify([edition, [...scopes].sort(), roots, member ? [member.isCorpAdmin, [...member.ledRoots].sort()] : null]);
}

/** The re-check of a subscriber's token: still valid, and still holding the stream's scopes. */
async function recheck(ctx: RequestContext): Promise<void> {
  await ctx.reauthenticate();
  requireScopes(ctx.caller, DIRECTORY_EVENTS_SCOPES);
}

/**
 * The directory's event log as a stream: from a cursor (`after`: replay, then live) or live only,
 * filtered by the caller's visibility (an event is visible when one of the departments its subject
 * sat in, before or after the change, is). A subscription outlives its token's checks at connect
 * time, so before delivering, at most every SUBSCRIPTION_RECHECK_SECONDS, the token is checked again: an expired
 * token, a disabled app or member, or a withdrawn scope ends the stream with that error. The stream is
 * tagged as a `LiveStream`: over graphql-ws the fan-out serves it (one execution per event and group
 * of subscribers that see the same); iterated directly, it is this subscriber's own.
 */
export class DirectoryEventService {
  stream(ctx: RequestContext, after: string | null | undefined): AsyncIterableIterator<EventRecord> {
    let from: bigint | null = null;
    if (after != null) {
      if (!/^(0|[1-9][0-9]{0,18})$/.test(after)) throw badInput("after", "after must be a cursor received from directoryEvents.");
      from = BigInt(after);
    }
    const corpId = ctx.caller.corpId;
    const recheckMs = ctx.deps.config.subscriptionRecheckSeconds * 1000;
    const own = new Repeater<EventRecord>(async (push, stop) => {
      const source = ctx.deps.relay.stream(corpId, STREAMS.directory, from, () => true);
      let checked = Date.now();
      void stop.then(() => source.return?.());
      try {
        for await (const event of source) {
          if (Date.now() - checked >= recheckMs) {
            await recheck(ctx);
            checked = Date.now();
          }
          if (visible(ctx.caller, event)) await push(event);
        }
      } finally {
        await source.return?.();
      }
      stop();
    });
    const live: LiveStream<EventRecord> = {
      corpId,
      stream: STREAMS.directory,
      after: from,
      deliver: (principal, event) => (visible(principal, event) ? { root: event, variant: "" } : null),
      audience: directoryAudience,
      recheck,
      positionArgs: ["after"],
    };
    return liveStream(own, live);
  }
}
