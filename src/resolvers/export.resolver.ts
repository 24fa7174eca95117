import { Arg, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import type { RequestContext } from "../context";
import { ExportMembersInput, ExportMembersPayload } from "../schema/export.types";
import { fromGlobalId } from "../schema/global-id";
import { RequiresFeature } from "../schema/edition";
import { Feature } from "../domain/editions";

@Resolver()
export class ExportResolver {
  @Authorized("directory:read")
  @RequiresFeature(Feature.EXPORTS)
  @Mutation(() => ExportMembersPayload, {
    description:
      "Prepares a CSV export of members in the import format (header `employeeId,name,department,title,extension,mobile,email`) and answers its URL under `GET /exports/:id`, to fetch with the same bearer token within an hour. Holds only members wholly within your reach, so importing it with REPLACE changes nothing. Corp administrators and apps within their visibility, leaders within the subtrees they lead (else FORBIDDEN).",
  })
  async exportMembers(
    @Arg("input", () => ExportMembersInput, { description: "Which members to export." }) input: ExportMembersInput,
    @Ctx() ctx: RequestContext,
  ): Promise<ExportMembersPayload> {
    const filter = input.filter ?? {};
    return ctx.services.exports.create(ctx, {
      departmentPk: filter.departmentId != null ? fromGlobalId(filter.departmentId, "Department", "input.filter.departmentId") : null,
      includeSubdepartments: filter.includeSubdepartments,
      status: filter.status,
      search: filter.search,
    });
  }
}
