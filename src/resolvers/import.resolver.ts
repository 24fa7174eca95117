import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { RequestContext } from "../context";
import { ImportJob } from "../entities/import-job.entity";
import { pageWindow } from "../db/paging";
import { ImportMembersInput, ImportMembersPayload, ImportRowErrorConnection } from "../schema/import.types";
import { Paged } from "../schema/cost";
import { RequiresFeature } from "../schema/edition";
import { Feature } from "../domain/editions";

@Resolver(() => ImportJob)
export class ImportResolver {
  @Authorized("directory:write", "directory:read")
  @RequiresFeature(Feature.BULK_IMPORT)
  @Mutation(() => ImportMembersPayload, {
    description:
      "Starts a batch import of members and answers the job at once (it runs in the background). Leaders only within the subtrees they lead. CONFLICT while another import of the corp is queued or running. Files over 5 MB: `POST /imports`.",
  })
  async importMembers(@Arg("input", { description: "The file or rows, and how to apply them." }) input: ImportMembersInput, @Ctx() ctx: RequestContext) {
    const job = await ctx.services.imports.importInline(ctx, input);
    return { job };
  }

  @Authorized("directory:read")
  @RequiresFeature(Feature.BULK_IMPORT)
  @Query(() => ImportJob, {
    nullable: true,
    description:
      "An import job by id; null when it does not exist or is not yours (jobs are seen by the app and member that started them, and by whole-corp administrators).",
  })
  async importJob(@Arg("id", () => ID, { description: "The job id from `importMembers` or `POST /imports`." }) id: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.imports.find(ctx, id)) ?? null;
  }

  @Authorized("directory:read")
  @RequiresFeature(Feature.BULK_IMPORT)
  @Subscription(() => ImportJob, {
    description:
      "The job's progress over graphql-ws: its state now, then each change, until it SUCCEEDED or FAILED (then the stream completes). NOT_FOUND for a job you may not see.",
    subscribe: ({ args, context }) => (context as RequestContext).services.imports.events(context as RequestContext, args.id as string),
  })
  importJobEvents(@Root() job: ImportJob, @Arg("id", () => ID, { description: "The job id." }) _id: string): ImportJob {
    return job;
  }

  @Paged()
  @FieldResolver(() => ImportRowErrorConnection, { description: "The invalid rows' problems, by row number: every problem of a row, one per field." })
  errors(
    @Root() job: ImportJob,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", () => String, { nullable: true, description: "Cursor to page forwards from." }) after?: string,
  ) {
    return ctx.services.imports.errors(ctx, job, pageWindow({ first, after }));
  }
}
