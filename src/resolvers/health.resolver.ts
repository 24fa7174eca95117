import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../context";
import { pageWindow } from "../db/paging";
import { DepartmentConnection, MemberConnection } from "../schema/directory.types";
import { MemberStatus } from "../domain/enums";
import { DirectoryHealth } from "../schema/health.types";
import { DEFAULT_UNACTIVATED_DAYS } from "../services/health.service";
import { Paged } from "../schema/cost";

const FIRST = "Page size, at most 100 (default 20).";
const AFTER = "Cursor to page forwards from.";

@Resolver(() => DirectoryHealth)
export class HealthResolver {
  @Authorized("directory:read")
  @Query(() => DirectoryHealth, {
    description:
      "Clean-up candidates: zombie departments and redundant accounts, within your visibility. Members acting through an app must be corp administrators or leaders (else FORBIDDEN).",
  })
  directoryHealth(@Ctx() ctx: RequestContext): DirectoryHealth {
    ctx.services.health.authorize(ctx);
    return new DirectoryHealth();
  }

  @Paged()
  @FieldResolver(() => DepartmentConnection, { description: "Departments with no members and no sub-departments (never the root), oldest first." })
  zombieDepartments(
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER }) after?: string,
  ) {
    return ctx.services.health.zombieDepartments(ctx, pageWindow({ first, after }));
  }

  @Paged()
  @FieldResolver(() => MemberConnection, {
    description: "Members still UNACTIVATED (never signed in) more than `olderThanDays` days after they were added, oldest first.",
  })
  unactivatedMembers(
    @Ctx() ctx: RequestContext,
    @Arg("olderThanDays", () => Int, { defaultValue: DEFAULT_UNACTIVATED_DAYS, description: "Added more than this many days ago (0–3650; default 30)." })
    olderThanDays: number,
    @Arg("first", () => Int, { nullable: true, description: FIRST }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER }) after?: string,
  ) {
    return ctx.services.health.members(ctx, MemberStatus.UNACTIVATED, pageWindow({ first, after }), olderThanDays);
  }

  @Paged()
  @FieldResolver(() => MemberConnection, { description: "DISABLED members (blocked by an administrator), oldest first." })
  disabledMembers(
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER }) after?: string,
  ) {
    return ctx.services.health.members(ctx, MemberStatus.DISABLED, pageWindow({ first, after }));
  }

  @Paged()
  @FieldResolver(() => MemberConnection, { description: "RESIGNED members (kept for handover and audit), oldest first." })
  resignedMembers(
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: FIRST }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER }) after?: string,
  ) {
    return ctx.services.health.members(ctx, MemberStatus.RESIGNED, pageWindow({ first, after }));
  }
}
