import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { Transactional } from "./transactional";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import {
  CreateMemberInput,
  CreateMemberPayload,
  DeleteMemberInput,
  DeleteMemberPayload,
  SetMemberStatusInput,
  SetMemberStatusPayload,
  UpdateMemberInput,
  UpdateMemberPayload,
} from "../schema/directory.types";
import { fromGlobalId } from "../schema/global-id";
import { ListSize } from "../schema/cost";
import { countedList } from "../limits/list-items";

const departmentPks = (ids: string[], field: string) => ids.map((id) => fromGlobalId(id, "Department", field));

@Resolver(() => Member)
export class MemberResolver {
  @ListSize(3)
  @FieldResolver(() => [Department], { description: "The member's departments you may see, main department first." })
  departments(@Root() member: Member, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.members.departments(ctx, member));
  }

  @FieldResolver(() => Department, { nullable: true, description: "The main department; null when it is out of your visibility." })
  async mainDepartment(@Root() member: Member, @Ctx() ctx: RequestContext) {
    return (await ctx.services.members.mainDepartment(ctx, member)) ?? null;
  }

  @ListSize(3)
  @FieldResolver(() => [Department], { description: "Departments this member leads (that you may see)." })
  leaderOf(@Root() member: Member, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.members.leaderOf(ctx, member));
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => CreateMemberPayload, { description: "Adds a member; leaders only within the subtrees they lead." })
  @Transactional()
  async createMember(@Arg("input", { description: "The new member." }) input: CreateMemberInput, @Ctx() ctx: RequestContext) {
    const member = await ctx.services.members.create(ctx, {
      ...input,
      departmentPks: departmentPks(input.departmentIds, "input.departmentIds"),
      mainDepartmentPk: input.mainDepartmentId != null ? fromGlobalId(input.mainDepartmentId, "Department", "input.mainDepartmentId") : null,
    });
    return { member };
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => UpdateMemberPayload, { description: "Changes a member's profile or departments." })
  @Transactional()
  async updateMember(@Arg("input", { description: "The changes." }) input: UpdateMemberInput, @Ctx() ctx: RequestContext) {
    const member = await ctx.services.members.update(ctx, fromGlobalId(input.id, "Member", "input.id"), {
      employeeId: input.employeeId ?? undefined,
      name: input.name ?? undefined,
      title: input.title,
      extension: input.extension,
      mobile: input.mobile,
      email: input.email,
      isCorpAdmin: input.isCorpAdmin ?? undefined,
      departmentPks: input.departmentIds != null ? departmentPks(input.departmentIds, "input.departmentIds") : undefined,
      mainDepartmentPk: input.mainDepartmentId != null ? fromGlobalId(input.mainDepartmentId, "Department", "input.mainDepartmentId") : undefined,
    });
    return { member };
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => SetMemberStatusPayload, { description: "Activates, disables or resigns a member." })
  @Transactional()
  async setMemberStatus(@Arg("input", { description: "The member and the new state." }) input: SetMemberStatusInput, @Ctx() ctx: RequestContext) {
    const member = await ctx.services.members.setStatus(ctx, fromGlobalId(input.id, "Member", "input.id"), input.status);
    return { member };
  }

  @Authorized("directory:write", "directory:read")
  @Mutation(() => DeleteMemberPayload, { description: "Deletes a member for good (prefer RESIGNED, which keeps history)." })
  @Transactional()
  async deleteMember(@Arg("input", { description: "The member." }) input: DeleteMemberInput, @Ctx() ctx: RequestContext) {
    const member = await ctx.services.members.delete(ctx, fromGlobalId(input.id, "Member", "input.id"));
    return { deletedMemberId: member.id };
  }
}
