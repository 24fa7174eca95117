import { Arg, Authorized, Ctx, Extensions, FieldResolver, Resolver, Root, Subscription } from "type-graphql";
import type { RequestContext } from "../context";
import { Department } from "../entities/department.entity";
import type { EventRecord } from "../entities/event.entity";
import { Member } from "../entities/member.entity";
import { DirectoryEvent } from "../schema/directory.types";
import { toGlobalId } from "../schema/global-id";
import type { DirectoryEventType } from "../domain/enums";
import { DIRECTORY_EVENTS_SCOPES } from "../services/directory-event.service";
import { FANOUT_EXTENSION } from "../fanout/source";

/** A DirectoryEvent with the pk of its subject, for the field resolvers. */
interface DirectoryEventSource extends DirectoryEvent {
  memberPk: string | null;
  departmentPk: string | null;
}

@Resolver(() => DirectoryEvent)
export class DirectoryEventResolver {
  @Authorized(DIRECTORY_EVENTS_SCOPES)
  // Served by the fan-out over graphql-ws (`fanout/`): its stream is a LiveStream.
  @Extensions({ [FANOUT_EXTENSION]: true })
  @Subscription(() => DirectoryEvent, {
    description:
      "Directory changes as they are committed (graphql-ws; token in `connectionParams.authorization`). With `after`, first every event after that cursor in order, then live: reconnect with the last cursor you saw and nothing is missed or repeated. Without it, live only. Filtered by your visibility.",
    subscribe: ({ args, context }) => (context as RequestContext).services.directoryEvents.stream(context as RequestContext, args.after as string | null),
  })
  directoryEvents(
    @Root() record: EventRecord,
    @Ctx() ctx: RequestContext,
    @Arg("after", () => String, { nullable: true, description: "Cursor of the last event you received." }) _after?: string | null,
  ): DirectoryEventSource {
    // Each event is resolved with fresh loaders: its member and department as they are now (the
    // fan-out gives each execution a fresh context anyway; a stream iterated directly keeps one).
    ctx.resetLoaders();
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

  @FieldResolver(() => Member, { nullable: true, description: "The member as it is now; null when deleted or out of your visibility." })
  async member(@Root() event: DirectoryEventSource, @Ctx() ctx: RequestContext) {
    return event.memberPk ? ((await ctx.services.members.find(ctx, event.memberPk)) ?? null) : null;
  }

  @FieldResolver(() => Department, { nullable: true, description: "The department as it is now; null when deleted or out of your visibility." })
  async department(@Root() event: DirectoryEventSource, @Ctx() ctx: RequestContext) {
    return event.departmentPk ? ((await ctx.services.departments.find(ctx, event.departmentPk)) ?? null) : null;
  }
}
