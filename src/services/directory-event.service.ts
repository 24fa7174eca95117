import { Repeater } from "@repeaterjs/repeater";
import type { RequestContext } from "../context";
import { canSee, requireScopes, seesWholeCorp } from "../policy";
import { createLoaders } from "./loaders";
import type { EventRecord } from "../entities/event.entity";
import { badInput } from "../errors/domain-error";
import { STREAMS } from "../events/log";
import { DirectoryEvent } from "../schema/directory.types";
import type { DirectoryEventType } from "../domain/enums";
import { toGlobalId } from "../schema/global-id";
import type { Scope } from "../policy/scopes";

/**
 * The scopes a directory event stream needs: declared on `directoryEvents` (`@Authorized`, checked when
 * it subscribes) and checked again, by the same policy function, at each re-check of the token.
 */
export const DIRECTORY_EVENTS_SCOPES: readonly Scope[] = ["directory:read"];

/** Pk of the subject behind a DirectoryEvent, for its field resolvers. */
export interface DirectoryEventSource extends DirectoryEvent {
  memberPk: string | null;
  departmentPk: string | null;
}

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

  /** Turns a log row into the API's event; each event is resolved with fresh loaders (current data). */
  toEvent(ctx: RequestContext, record: EventRecord): DirectoryEventSource {
    ctx.loaders = createLoaders(ctx);
    const changed = record.data?.changedFields;
    const memberPk = record.subjectType === "Member" ? record.subjectId : null;
    const departmentPk = record.subjectType === "Department" ? record.subjectId : null;
    return {
      cursor: record.id,
      type: record.type as DirectoryEventType,
      occurredAt: record.occurredAt,
      memberPk,
      departmentPk,
      memberId: memberPk ? toGlobalId("Member", memberPk) : null,
      departmentId: departmentPk ? toGlobalId("Department", departmentPk) : null,
      member: null,
      department: null,
      changedFields: Array.isArray(changed) ? (changed as string[]) : null,
    };
  }
}
