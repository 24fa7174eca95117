import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, ID, Info, Int, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../context";
import { Corp } from "../entities/corp.entity";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { pageWindow } from "../db/paging";
import { DepartmentConnection, MemberConnection, MemberFilterInput, Viewer } from "../schema/directory.types";
import { fromGlobalId, parseGlobalId } from "../schema/global-id";
import { Node } from "../schema/node";
import { selectedMemberPage } from "./department.resolver";
import { Paged } from "../schema/cost";
import { requireScopes } from "../policy/require";
import type { Scope } from "../policy/scopes";

/** The scope `node(id:)` needs for each type of object it returns (other types need none). */
const NODE_SCOPES: Partial<Record<string, Scope>> = {
  Department: "directory:read",
  Member: "directory:read",
  App: "apps:admin",
  Conversation: "messages:read",
  Message: "messages:read",
};

const NODE_SCOPE_SENTENCE = `Needs the scope of the object's type (else FORBIDDEN): ${Object.entries(NODE_SCOPES)
  .map(([type, scope]) => `\`${scope}\` for ${type}`)
  .join(", ")}.`;

/** The query root: the caller, the corp and the directory. Thin: every rule lives in a service. */
@Resolver()
export class QueryResolver {
  @Query(() => Viewer, { description: "Who the access token speaks for: corp, app, member (SSO), role, scopes and visibility." })
  viewer(@Ctx() ctx: RequestContext): Promise<Viewer> {
    return ctx.services.viewer.describe(ctx);
  }

  @Query(() => Corp, { description: "The caller's corp." })
  corp(@Ctx() ctx: RequestContext): Promise<Corp> {
    return ctx.services.corps.current(ctx);
  }

  @Query(() => Node, {
    nullable: true,
    description: `Any object by its global id; null when it does not exist or is out of your visibility. ${NODE_SCOPE_SENTENCE}`,
  })
  async node(@Arg("id", () => ID, { description: "A global id." }) id: string, @Ctx() ctx: RequestContext): Promise<Node | null> {
    const parsed = parseGlobalId(id);
    const scope = parsed && NODE_SCOPES[parsed.type];
    if (scope) requireScopes(ctx.caller, [scope]);
    switch (parsed?.type) {
      case "Department":
        return ((await ctx.services.departments.find(ctx, parsed.pk)) ?? null) as Node | null;
      case "Member":
        return ((await ctx.services.members.find(ctx, parsed.pk)) ?? null) as Node | null;
      case "App":
        return ((await ctx.services.appApi.find(ctx, parsed.pk)) ?? null) as Node | null;
      case "Conversation":
        return ((await ctx.services.conversations.find(ctx, parsed.pk)) ?? null) as Node | null;
      case "Message":
        return ((await ctx.services.messages.find(ctx, parsed.pk)) ?? null) as Node | null;
      case "Corp": {
        const corp = await ctx.services.corps.current(ctx);
        return (corp.pk === parsed.pk ? corp : null) as Node | null;
      }
      default:
        return null;
    }
  }

  @Authorized("directory:read")
  @Query(() => Department, { nullable: true, description: "A department by id; null when it does not exist or is out of your visibility." })
  async department(@Arg("id", () => ID, { description: "The department's id." }) id: string, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo) {
    // With its `members` selected, the department and that page come in one statement.
    return (await ctx.services.departments.find(ctx, fromGlobalId(id, "Department", "id"), selectedMemberPage(info))) ?? null;
  }

  @Authorized("directory:read")
  @Paged()
  @Query(() => DepartmentConnection, {
    description:
      "Sub-departments of `parentId`, in sibling order. Without `parentId`: the top of what you may see (the root, or your visibility scope's departments).",
  })
  departments(
    @Ctx() ctx: RequestContext,
    @Arg("parentId", () => ID, { nullable: true, description: "The parent department." }) parentId?: string,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor of the item to start after." }) after?: string,
  ) {
    const parentPk = parentId != null ? fromGlobalId(parentId, "Department", "parentId") : null;
    return ctx.services.departments.list(ctx, parentPk, pageWindow({ first, after }, 2));
  }

  @Authorized("directory:read")
  @Query(() => Member, { nullable: true, description: "A member by id; null when they do not exist or are out of your visibility." })
  async member(@Arg("id", () => ID, { description: "The member's id." }) id: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.find(ctx, fromGlobalId(id, "Member", "id"))) ?? null;
  }

  @Authorized("directory:read")
  @Query(() => Member, { nullable: true, description: "A member by employee id (工号); null when not found or out of your visibility." })
  async memberByEmployeeId(@Arg("employeeId", { description: "The employee id." }) employeeId: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.findByEmployeeId(ctx, employeeId)) ?? null;
  }

  @Authorized("directory:read")
  @Paged()
  @Query(() => MemberConnection, { description: "Members within your visibility, oldest first, optionally filtered." })
  members(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => MemberFilterInput, { nullable: true, description: "Conditions the members must meet." }) filter?: MemberFilterInput,
    @Arg("first", () => Int, { nullable: true, description: "Page size when paging forwards, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to page forwards from." }) after?: string,
    @Arg("last", () => Int, { nullable: true, description: "Page size when paging backwards, at most 100." }) last?: number,
    @Arg("before", { nullable: true, description: "Cursor to page backwards from." }) before?: string,
  ) {
    const departmentPk = filter?.departmentId != null ? fromGlobalId(filter.departmentId, "Department", "filter.departmentId") : null;
    return ctx.services.members.list(
      ctx,
      { departmentPk, includeSubdepartments: filter?.includeSubdepartments, status: filter?.status, search: filter?.search },
      pageWindow({ first, after, last, before }),
    );
  }
}
