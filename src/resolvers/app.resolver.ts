import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { Transactional } from "./transactional";
import { App } from "../entities/app.entity";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { pageWindow } from "../db/paging";
import { fromGlobalId } from "../schema/global-id";
import {
  ActivationLinkPayload,
  AppConnection,
  AppIdInput,
  AppPayload,
  AppVisibilityInput,
  AuditEntryConnection,
  AuditLogFilter,
  CreateAppInput,
  CreateAppPayload,
  InstallAppInput,
  InstallAppPayload,
  MemberIdInput,
  RevokeMemberSessionsPayload,
  RotateAppSecretPayload,
  SetAppVisibilityInput,
  UninstallAppPayload,
  UpdateAppInput,
} from "../schema/app.types";
import { ListSize, Paged } from "../schema/cost";
import { countedList } from "../limits/list-items";

const visibilityPks = (v: AppVisibilityInput | null | undefined, field: string) => ({
  departmentPks: v?.departmentIds == null ? null : v.departmentIds.map((id) => fromGlobalId(id, "Department", `${field}.departmentIds`)),
  memberPks: (v?.memberIds ?? []).map((id) => fromGlobalId(id, "Member", `${field}.memberIds`)),
});

const ADMIN = "Callers: an app that sees the whole corp, or a corp administrator signed in through one (else FORBIDDEN).";

/** The apps API (issue 5): thin, every rule is in AppApiService and CredentialService. */
@Resolver(() => App)
export class AppResolver {
  @ListSize(10)
  @FieldResolver(() => [Department], { nullable: true, description: "Departments whose subtrees the app sees; null: the whole corp." })
  visibleDepartments(@Root() app: App, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.appApi.visibleDepartments(ctx, app));
  }

  @ListSize(10)
  @FieldResolver(() => [Member], { description: "Single members who may also sign in to the app." })
  visibleMembers(@Root() app: App, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.appApi.visibleMembers(ctx, app));
  }

  @Authorized("apps:admin")
  @Paged()
  @Query(() => AppConnection, { description: `The corp's apps, oldest first. ${ADMIN}` })
  apps(
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to page forwards from." }) after?: string,
  ) {
    return ctx.services.appApi.list(ctx, pageWindow({ first, after }));
  }

  @Authorized("apps:admin")
  @Query(() => App, { nullable: true, description: `An app by id; null when not found. ${ADMIN}` })
  async app(@Arg("id", () => ID, { description: "The app's id." }) id: string, @Ctx() ctx: RequestContext) {
    return (await ctx.services.appApi.find(ctx, fromGlobalId(id, "App", "id"))) ?? null;
  }

  @Authorized("apps:admin")
  @ListSize(10)
  @Query(() => [App], { description: `Enabled apps whose visibility includes the member: the apps they may sign in to (per-department app sets). ${ADMIN}` })
  appsForMember(@Arg("memberId", () => ID, { description: "The member." }) memberId: string, @Ctx() ctx: RequestContext) {
    return countedList(ctx, ctx.services.appApi.forMember(ctx, fromGlobalId(memberId, "Member", "memberId")));
  }

  @Authorized("apps:admin")
  @Paged()
  @Query(() => AuditEntryConnection, { description: `The corp's audit log, newest first: tokens issued, sign-ins, app changes. ${ADMIN}` })
  auditLog(
    @Ctx() ctx: RequestContext,
    @Arg("filter", () => AuditLogFilter, { nullable: true, description: "Conditions the entries must meet." }) filter?: AuditLogFilter,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to page forwards from." }) after?: string,
  ) {
    return ctx.services.credentials.auditLog(
      ctx,
      {
        actions: filter?.actions,
        success: filter?.success,
        since: filter?.since,
        appPk: filter?.appId != null ? fromGlobalId(filter.appId, "App", "filter.appId") : null,
        memberPk: filter?.memberId != null ? fromGlobalId(filter.memberId, "Member", "filter.memberId") : null,
      },
      pageWindow({ first, after }),
    );
  }

  @Authorized("apps:admin")
  @Mutation(() => CreateAppPayload, { description: `Creates a self-built app; the secret is returned once. ${ADMIN}` })
  @Transactional()
  createApp(@Arg("input", { description: "The new app." }) input: CreateAppInput, @Ctx() ctx: RequestContext) {
    return ctx.services.appApi.create(ctx, {
      name: input.name,
      scopes: input.scopes,
      redirectUris: input.redirectUris ?? [],
      allowedIpRanges: input.allowedIpRanges ?? [],
      publicClient: input.publicClient ?? false,
      visibility: visibilityPks(input.visibility, "input.visibility"),
    });
  }

  @Authorized("apps:admin")
  @Mutation(() => AppPayload, { description: `Changes an app (name, scopes, redirect URIs, IP ranges, enabled). ${ADMIN}` })
  @Transactional()
  async updateApp(@Arg("input", { description: "The changes." }) input: UpdateAppInput, @Ctx() ctx: RequestContext) {
    const app = await ctx.services.appApi.update(ctx, fromGlobalId(input.id, "App", "input.id"), {
      name: input.name ?? undefined,
      scopes: input.scopes ?? undefined,
      redirectUris: input.redirectUris ?? undefined,
      allowedIpRanges: input.allowedIpRanges ?? undefined,
      enabled: input.enabled ?? undefined,
    });
    return { app };
  }

  @Authorized("apps:admin")
  @Mutation(() => RotateAppSecretPayload, {
    description: `Issues a new client secret (shown once). The previous secret keeps working for the grace period (APP_SECRET_GRACE_SECONDS, default 24 h). ${ADMIN}`,
  })
  @Transactional()
  rotateAppSecret(@Arg("input", { description: "The app." }) input: AppIdInput, @Ctx() ctx: RequestContext) {
    return ctx.services.appApi.rotateSecret(ctx, fromGlobalId(input.id, "App", "input.id"));
  }

  @Authorized("apps:admin")
  @Mutation(() => AppPayload, { description: `Replaces who the app serves and sees. ${ADMIN}` })
  @Transactional()
  async setAppVisibility(@Arg("input", { description: "The app and its visibility." }) input: SetAppVisibilityInput, @Ctx() ctx: RequestContext) {
    const app = await ctx.services.appApi.setVisibility(ctx, fromGlobalId(input.id, "App", "input.id"), visibilityPks(input.visibility, "input.visibility"));
    return { app };
  }

  @Authorized("apps:admin")
  @Mutation(() => AppPayload, { description: `Disables an app: its tokens are refused from the next call on. ${ADMIN}` })
  @Transactional()
  async disableApp(@Arg("input", { description: "The app." }) input: AppIdInput, @Ctx() ctx: RequestContext) {
    return { app: await ctx.services.appApi.disable(ctx, fromGlobalId(input.id, "App", "input.id")) };
  }

  @Authorized("apps:admin")
  @Mutation(() => InstallAppPayload, { description: `Installs a vendor app, granting some or all of the scopes it asks for. ${ADMIN}` })
  @Transactional()
  async installApp(@Arg("input", { description: "The vendor app and what to grant." }) input: InstallAppInput, @Ctx() ctx: RequestContext) {
    const installation = await ctx.services.appApi.install(ctx, {
      clientId: input.clientId,
      scopes: input.scopes,
      visibility: visibilityPks(input.visibility, "input.visibility"),
    });
    return { installation };
  }

  @Authorized("apps:admin")
  @Mutation(() => UninstallAppPayload, { description: `Uninstalls a vendor app: every token issued to it is refused at once. ${ADMIN}` })
  @Transactional()
  async uninstallApp(@Arg("input", { description: "The installation (an app of kind VENDOR)." }) input: AppIdInput, @Ctx() ctx: RequestContext) {
    return { uninstalledAppId: await ctx.services.appApi.uninstall(ctx, fromGlobalId(input.id, "App", "input.id")) };
  }

  @Authorized("directory:write")
  @Mutation(() => ActivationLinkPayload, {
    description: "A single-use link (72 h) to a page where the member sets a password (argon2id; ≥ 10 characters of 3 classes). Leaders for their subtrees.",
  })
  @Transactional()
  createActivationLink(@Arg("input", { description: "The member." }) input: MemberIdInput, @Ctx() ctx: RequestContext) {
    return ctx.services.credentials.createActivationLink(ctx, fromGlobalId(input.memberId, "Member", "input.memberId"));
  }

  @Authorized("directory:write")
  @Mutation(() => RevokeMemberSessionsPayload, {
    description: "Remote sign-out: the member's refresh tokens are revoked and every access token issued to them so far is refused from its next call.",
  })
  @Transactional()
  async revokeMemberSessions(@Arg("input", { description: "The member." }) input: MemberIdInput, @Ctx() ctx: RequestContext) {
    return { revokedCount: await ctx.services.credentials.revokeSessions(ctx, fromGlobalId(input.memberId, "Member", "input.memberId")) };
  }
}
