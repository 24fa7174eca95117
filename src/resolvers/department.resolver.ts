import { getArgumentValues, type GraphQLObjectType, type GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, FieldResolver, Info, Int, Mutation, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { Transactional } from "./transactional";
import { ScopedField } from "./authorized";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { pageWindow } from "../db/paging";
import {
  CreateDepartmentInput,
  CreateDepartmentPayload,
  DeleteDepartmentInput,
  DeleteDepartmentPayload,
  MemberConnection,
  UpdateDepartmentInput,
  UpdateDepartmentPayload,
} from "../schema/directory.types";
import { fromGlobalId } from "../schema/global-id";
import { documentFieldNames, selects, selectsBelow, subField } from "../schema/selection";
import { leanColumns, type MemberPageKey } from "../services/loaders";
import { ListSize, Paged } from "../schema/cost";
import { countedList } from "../limits/list-items";

/** Where a member page's nodes ask for the members' departments. */
const MEMBER_DEPARTMENT_PATHS = [
  ["nodes", "departments"],
  ["nodes", "mainDepartment"],
  ["edges", "node", "departments"],
  ["edges", "node", "mainDepartment"],
];

/**
 * The page of members the query asks of the department the current field returns (its `members`
 * selection, arguments resolved as `members` itself resolves them), so that a resolver can fetch
 * the department and that page in one statement; undefined when there is none, or when its
 * arguments are invalid (`members` then reports the error itself).
 */
export function selectedMemberPage(info: GraphQLResolveInfo): Omit<MemberPageKey, "departmentPk"> | undefined {
  const node = subField(info, "members");
  const field = (info.schema.getType("Department") as GraphQLObjectType | undefined)?.getFields().members;
  if (!node || !field) return undefined;
  try {
    const args = getArgumentValues(field, node, info.variableValues) as { first?: number; after?: string; includeSubdepartments?: boolean };
    return {
      includeSubdepartments: args.includeSubdepartments ?? false,
      window: pageWindow({ first: args.first, after: args.after }),
      withDepartments: selectsBelow(info, node, ...MEMBER_DEPARTMENT_PATHS),
      columns: leanColumns(documentFieldNames(info)),
    };
  } catch {
    return undefined;
  }
}

@Resolver(() => Department)
export class DepartmentResolver {
  @ScopedField("directory:read")
  @FieldResolver(() => Department, { nullable: true, description: "The parent department; null for the root or when out of your visibility." })
  async parent(@Root() department: Department, @Ctx() ctx: RequestContext) {
    return (await ctx.services.departments.parent(ctx, department)) ?? null;
  }

  @ListSize(10)
  @FieldResolver(() => [Department], { description: "Direct sub-departments you may see, in sibling order." })
  children(@Root() department: Department, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.departments.children(ctx, department));
  }

  @ScopedField("directory:read")
  @ListSize(5)
  @FieldResolver(() => [Department], { description: "Ancestors you may see, from the root down (excluding this department)." })
  ancestors(@Root() department: Department, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.departments.ancestors(ctx, department));
  }

  @ListSize(3)
  @FieldResolver(() => [Member], { description: "The department's leaders (部门负责人)." })
  async leaders(@Root() department: Department, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.departments.leaders(ctx, department));
  }

  @ScopedField("directory:read")
  @Paged()
  @FieldResolver(() => MemberConnection, { description: "Members of the department, oldest first." })
  members(
    @Root() department: Department,
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
    @Arg("includeSubdepartments", { defaultValue: false, description: "Also members of all sub-departments (each once)." })
    includeSubdepartments?: boolean,
  ) {
    // Members' departments selected: the page's statement fetches them too.
    const withDepartments = selects(info, ...MEMBER_DEPARTMENT_PATHS);
    return ctx.services.members.ofDepartment(ctx, department, includeSubdepartments ?? false, pageWindow({ first, after }), {
      withDepartments,
      columns: leanColumns(documentFieldNames(info)),
    });
  }

  @FieldResolver(() => Int, { description: "Number of members of the department." })
  memberCount(
    @Root() department: Department,
    @Ctx() ctx: RequestContext,
    @Arg("includeSubdepartments", { defaultValue: false, description: "Count members of sub-departments too (each once)." })
    includeSubdepartments?: boolean,
  ) {
    return ctx.services.members.countIn(ctx, department, includeSubdepartments ?? false);
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => CreateDepartmentPayload, { description: "Creates a department (under the root when `parentId` is omitted); administrators only." })
  @Transactional()
  async createDepartment(@Arg("input", { description: "The new department." }) input: CreateDepartmentInput, @Ctx() ctx: RequestContext) {
    const parentPk = input.parentId != null ? fromGlobalId(input.parentId, "Department", "input.parentId") : null;
    const department = await ctx.services.departments.create(ctx, { name: input.name, parentPk, order: input.order });
    return { department };
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => UpdateDepartmentPayload, { description: "Renames, reorders or moves a department, or replaces its leaders." })
  @Transactional()
  async updateDepartment(@Arg("input", { description: "The changes." }) input: UpdateDepartmentInput, @Ctx() ctx: RequestContext) {
    const department = await ctx.services.departments.update(ctx, fromGlobalId(input.id, "Department", "input.id"), {
      name: input.name,
      order: input.order,
      parentPk: input.parentId != null ? fromGlobalId(input.parentId, "Department", "input.parentId") : null,
      leaderPks: input.leaderIds?.map((id) => fromGlobalId(id, "Member", "input.leaderIds")),
    });
    return { department };
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => DeleteDepartmentPayload, { description: "Deletes an empty department (no members, no sub-departments); else CONFLICT." })
  @Transactional()
  async deleteDepartment(@Arg("input", { description: "The department." }) input: DeleteDepartmentInput, @Ctx() ctx: RequestContext) {
    const department = await ctx.services.departments.delete(ctx, fromGlobalId(input.id, "Department", "input.id"));
    return { deletedDepartmentId: department.id };
  }
}
