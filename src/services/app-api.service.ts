import type { RequestContext } from "../context";
import { hydrate, selectList } from "../db/scoped-db";
import { hashSecret, newClientId, newSecret } from "../auth/secrets";
import { actor, writeAudit } from "./audit";
import { App } from "../entities/app.entity";
import { Department } from "../entities/department.entity";
import { Member } from "../entities/member.entity";
import { badInput, conflict, forbidden, limitExceeded, notFound } from "../errors/domain-error";
import { appBucket, editionBucket } from "../domain/editions";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { appSeesMemberSql, requireAppAdministrator } from "../policy";
import { validRanges, validRedirectUris, validScopes } from "./app-input";

/** The app's whole row, for GraphQL. */
const appCols = (ctx: RequestContext) => selectList(ctx.deps.dataSource, App, "a");

export interface AppChanges {
  name?: string;
  scopes?: string[];
  redirectUris?: string[];
  allowedIpRanges?: string[];
  enabled?: boolean;
}

export interface VisibilityPks {
  departmentPks: string[] | null;
  memberPks: string[];
}

/**
 * The apps API for corp administrators (issue 5). The resolvers declare `apps:admin`; every method
 * needs a corp administrator through an app that sees the whole corp (`requireAppAdministrator`).
 * Every change is audited in the same transaction.
 */
export class AppApiService {
  async get(ctx: RequestContext, pk: string, field = "id"): Promise<App> {
    requireAppAdministrator(ctx.caller);
    const [app] = await ctx.db.entities(App, `SELECT ${appCols(ctx)} FROM app a WHERE a.corp_id = $1 AND a.id = $2`, [pk]);
    if (!app) throw notFound("App", field);
    return app;
  }

  async find(ctx: RequestContext, pk: string): Promise<App | undefined> {
    requireAppAdministrator(ctx.caller);
    const [app] = await ctx.db.entities(App, `SELECT ${appCols(ctx)} FROM app a WHERE a.corp_id = $1 AND a.id = $2`, [pk]);
    return app;
  }

  async list(ctx: RequestContext, window: PageWindow): Promise<Connection<App>> {
    requireAppAdministrator(ctx.caller);
    return paginate(ctx.db, window, {
      select: appCols(ctx),
      from: "app a",
      where: "a.corp_id = $1",
      params: new SqlParams(),
      key: [{ sql: "a.id", cast: "bigint" }],
      keyOf: (a) => [a.pk],
      map: (row) => hydrate(App, row),
    });
  }

  /** Enabled apps whose visibility includes the member (the member's app set, source §6). */
  async forMember(ctx: RequestContext, memberPk: string): Promise<App[]> {
    requireAppAdministrator(ctx.caller);
    const member = await ctx.db.one(`SELECT 1 FROM member WHERE corp_id = $1 AND id = $2`, [memberPk]);
    if (!member) throw notFound("Member", "memberId");
    return ctx.db.entities(App, `SELECT ${appCols(ctx)} FROM app a WHERE a.corp_id = $1 AND a.enabled AND ${appSeesMemberSql("$2::bigint")} ORDER BY a.id`, [
      memberPk,
    ]);
  }

  private async checkVisibility(ctx: RequestContext, v: VisibilityPks): Promise<void> {
    if (v.departmentPks?.length) {
      const n = await ctx.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1 AND id = ANY($2::bigint[])`, [v.departmentPks]);
      if (n!.n !== new Set(v.departmentPks).size) throw notFound("A department of visibility.departmentIds", "input.visibility.departmentIds");
    }
    if (v.memberPks.length) {
      const n = await ctx.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM member WHERE corp_id = $1 AND id = ANY($2::bigint[])`, [v.memberPks]);
      if (n!.n !== new Set(v.memberPks).size) throw notFound("A member of visibility.memberIds", "input.visibility.memberIds");
    }
  }

  async create(
    ctx: RequestContext,
    input: { name: string; scopes: string[]; redirectUris: string[]; allowedIpRanges: string[]; publicClient: boolean; visibility: VisibilityPks },
  ) {
    requireAppAdministrator(ctx.caller);
    const scopes = validScopes(input.scopes, "input.scopes");
    const redirectUris = validRedirectUris(input.redirectUris, "input.redirectUris");
    const ranges = validRanges(input.allowedIpRanges, "input.allowedIpRanges");
    if (input.publicClient && redirectUris.length === 0)
      throw badInput("input.redirectUris", "A public client signs members in: give at least one redirect URI.");
    await this.checkVisibility(ctx, input.visibility);
    const clientId = newClientId();
    const secret = input.publicClient ? null : newSecret();
    const row = await ctx.db.one<{ id: string }>(
      `INSERT INTO app (corp_id, name, kind, client_id, secret_hash, scopes, redirect_uris, visible_department_ids, visible_member_ids, allowed_ip_ranges, public_client)
       VALUES ($1, $2, 'SELF_BUILT', $3, $4, $5, $6, $7, $8, $9::cidr[], $10) RETURNING id`,
      [
        input.name,
        clientId,
        secret ? hashSecret(secret) : null,
        scopes,
        redirectUris,
        input.visibility.departmentPks,
        input.visibility.memberPks,
        ranges,
        input.publicClient,
      ],
    );
    await writeAudit(ctx.db, { action: "APP_CREATED", success: true, appPk: row!.id, detail: { by: actor(ctx), name: input.name, scopes } });
    return { app: await this.get(ctx, row!.id), clientSecret: secret };
  }

  async update(ctx: RequestContext, pk: string, changes: AppChanges): Promise<App> {
    const app = await this.get(ctx, pk, "input.id");
    const sets: string[] = [];
    const params: unknown[] = [pk];
    const set = (column: string, value: unknown, cast = "") => {
      params.push(value);
      sets.push(`${column} = $${params.length + 1}${cast}`);
    };
    if (changes.name !== undefined) set("name", changes.name);
    if (changes.scopes !== undefined) {
      let within: string[] | undefined;
      if (app.vendorAppId)
        within = (await ctx.db.one<{ scopes: string[] }>(
          `SELECT v.scopes FROM vendor_app v JOIN app a ON a.vendor_app_id = v.id WHERE a.corp_id = $1 AND a.id = $2`,
          [pk],
        ))!.scopes;
      set("scopes", validScopes(changes.scopes, "input.scopes", within));
    }
    if (changes.redirectUris !== undefined) {
      if (app.vendorAppId) throw badInput("input.redirectUris", "A vendor app's redirect URIs are the vendor's.");
      set("redirect_uris", validRedirectUris(changes.redirectUris, "input.redirectUris"));
    }
    if (changes.allowedIpRanges !== undefined) set("allowed_ip_ranges", validRanges(changes.allowedIpRanges, "input.allowedIpRanges"), "::cidr[]");
    if (changes.enabled !== undefined) {
      if (changes.enabled === false && ctx.caller.appId === pk) throw badInput("input.enabled", "An app cannot disable itself.");
      set("enabled", changes.enabled);
      // Tokens issued before a disable stay refused once the app is enabled again (issue 11).
      if (changes.enabled === false) sets.push("tokens_valid_after = now()");
    }
    if (sets.length) {
      await ctx.db.exec(`UPDATE app SET ${sets.join(", ")}, updated_at = now() WHERE corp_id = $1 AND id = $2`, params);
      ctx.deps.tokens.invalidate(app.clientId, app.corpId);
    }
    await writeAudit(ctx.db, {
      action: "APP_UPDATED",
      success: true,
      appPk: pk,
      detail: { by: actor(ctx), changed: Object.keys(changes).filter((k) => changes[k as keyof AppChanges] !== undefined) },
    });
    return this.get(ctx, pk);
  }

  /** A new secret; the previous one keeps working for APP_SECRET_GRACE_SECONDS (default 24 h). */
  async rotateSecret(ctx: RequestContext, pk: string) {
    const app = await this.get(ctx, pk, "input.id");
    if (app.vendorAppId) throw badInput("input.id", "A vendor app's secret belongs to the vendor.");
    if (app.publicClient) throw badInput("input.id", "A public client has no secret.");
    const secret = newSecret();
    await ctx.db.exec(
      `UPDATE app SET previous_secret_hash = secret_hash, previous_secret_expires_at = now() + make_interval(secs => $3),
              secret_hash = $4, updated_at = now() WHERE corp_id = $1 AND id = $2`,
      [pk, ctx.deps.config.appSecretGraceSeconds, hashSecret(secret)],
    );
    await writeAudit(ctx.db, {
      action: "APP_SECRET_ROTATED",
      success: true,
      appPk: pk,
      detail: { by: actor(ctx), graceSeconds: ctx.deps.config.appSecretGraceSeconds },
    });
    return { app: await this.get(ctx, pk), clientSecret: secret };
  }

  async setVisibility(ctx: RequestContext, pk: string, visibility: VisibilityPks): Promise<App> {
    const app = await this.get(ctx, pk, "input.id");
    await this.checkVisibility(ctx, visibility);
    await ctx.db.exec(`UPDATE app SET visible_department_ids = $3, visible_member_ids = $4, updated_at = now() WHERE corp_id = $1 AND id = $2`, [
      pk,
      visibility.departmentPks,
      visibility.memberPks,
    ]);
    ctx.deps.tokens.invalidate(app.clientId, app.corpId);
    await writeAudit(ctx.db, {
      action: "APP_VISIBILITY_SET",
      success: true,
      appPk: pk,
      detail: { by: actor(ctx), departments: visibility.departmentPks, members: visibility.memberPks },
    });
    return this.get(ctx, pk);
  }

  async disable(ctx: RequestContext, pk: string): Promise<App> {
    const app = await this.get(ctx, pk, "input.id");
    if (ctx.caller.appId === pk) throw badInput("input.id", "An app cannot disable itself.");
    await ctx.db.exec(`UPDATE app SET enabled = false, tokens_valid_after = now(), updated_at = now() WHERE corp_id = $1 AND id = $2`, [pk]);
    ctx.deps.tokens.invalidate(app.clientId, app.corpId);
    await writeAudit(ctx.db, { action: "APP_DISABLED", success: true, appPk: pk, detail: { by: actor(ctx) } });
    return this.get(ctx, pk);
  }

  /**
   * Lowers the app's bucket (and each of its members' buckets) below its edition's, or with both
   * null returns it to the edition's (issue 13). Above the edition's ceiling: LIMIT_EXCEEDED naming
   * the field. Applies at once on this instance, on others within the token cache's 5 s.
   */
  async setRateLimit(ctx: RequestContext, pk: string, capacity: number | null, restoreRate: number | null): Promise<App> {
    const app = await this.get(ctx, pk, "input.appId");
    // A lowered app holding apps:admin could otherwise raise itself back (as disableApp refuses itself).
    if (ctx.caller.appId === pk) throw forbidden("An app cannot change its own rate limit: use another administrator app.");
    if ((capacity === null) !== (restoreRate === null)) {
      throw badInput(capacity === null ? "input.capacity" : "input.restoreRate", "Give both capacity and restoreRate, or neither (the edition's).");
    }
    const ceiling = editionBucket(ctx.caller.edition, ctx.deps.config.rateLimitScale);
    const check = (field: string, value: number | null, maximum: number) => {
      if (value === null) return;
      if (!Number.isInteger(value) || value < 1) throw badInput(field, `${field} must be a whole number of points of at least 1.`);
      if (value > maximum) {
        throw limitExceeded(`${field} may be at most ${maximum} in the ${ctx.caller.edition} edition; an app's bucket can be lowered, not raised.`, {
          field,
          maximum,
          actual: value,
        });
      }
    };
    check("input.capacity", capacity, ceiling.capacity);
    check("input.restoreRate", restoreRate, ceiling.restoreRate);
    await ctx.db.exec(`UPDATE app SET rate_limit_capacity = $3, rate_limit_restore_rate = $4, updated_at = now() WHERE corp_id = $1 AND id = $2`, [
      pk,
      capacity,
      restoreRate,
    ]);
    ctx.deps.tokens.invalidate(app.clientId, app.corpId);
    await writeAudit(ctx.db, { action: "APP_RATE_LIMIT_SET", success: true, appPk: pk, detail: { by: actor(ctx), capacity, restoreRate } });
    return this.get(ctx, pk);
  }

  /** The bucket the app's tokens are charged to now: the edition's, or lower. */
  rateLimit(ctx: RequestContext, app: App): { capacity: number; restoreRate: number; lowered: boolean } {
    const own =
      app.rateLimitCapacity !== null && app.rateLimitRestoreRate !== null ? { capacity: app.rateLimitCapacity, restoreRate: app.rateLimitRestoreRate } : null;
    return appBucket(ctx.caller.edition, own, ctx.deps.config.rateLimitScale);
  }

  /** Installs a vendor app; the corp grants a subset of what the vendor asks for. */
  async install(ctx: RequestContext, input: { clientId: string; scopes: string[]; visibility: VisibilityPks }): Promise<App> {
    requireAppAdministrator(ctx.caller);
    // Vendor apps are global (not a corp's): looked up by client id on purpose.
    const vendor = await ctx.deps.crossCorp.one<{ id: string; name: string; scopes: string[] }>(
      `SELECT id, name, scopes FROM vendor_app WHERE client_id = $1`,
      [input.clientId],
    );
    if (!vendor) throw notFound("A vendor app with this client id", "input.clientId");
    const scopes = validScopes(input.scopes, "input.scopes", vendor.scopes);
    await this.checkVisibility(ctx, input.visibility);
    const existing = await ctx.db.one(`SELECT 1 FROM app WHERE corp_id = $1 AND vendor_app_id = $2`, [vendor.id]);
    if (existing) throw conflict("This vendor app is already installed in the corp.", "input.clientId");
    const row = await ctx.db.one<{ id: string }>(
      `INSERT INTO app (corp_id, name, kind, client_id, secret_hash, scopes, visible_department_ids, visible_member_ids, vendor_app_id)
       VALUES ($1, $2, 'VENDOR', $3, NULL, $4, $5, $6, $7) RETURNING id`,
      [vendor.name, input.clientId, scopes, input.visibility.departmentPks, input.visibility.memberPks, vendor.id],
    );
    ctx.deps.tokens.invalidate(input.clientId, ctx.caller.corpId);
    await writeAudit(ctx.db, { action: "APP_INSTALLED", success: true, appPk: row!.id, detail: { by: actor(ctx), clientId: input.clientId, scopes } });
    return this.get(ctx, row!.id);
  }

  /**
   * Removes an installation. Its tokens carry the installation's id, so they are refused at once in
   * this process; other instances refuse them within their 5 s app cache.
   */
  async uninstall(ctx: RequestContext, pk: string): Promise<string> {
    const app = await this.get(ctx, pk, "input.id");
    if (!app.vendorAppId) throw badInput("input.id", "Only vendor apps are uninstalled; use disableApp for a self-built app.");
    await ctx.db.exec(`DELETE FROM app WHERE corp_id = $1 AND id = $2`, [pk]);
    ctx.deps.tokens.invalidate(app.clientId, app.corpId);
    await writeAudit(ctx.db, { action: "APP_UNINSTALLED", success: true, appPk: pk, detail: { by: actor(ctx), clientId: app.clientId } });
    return app.id;
  }

  /** Departments of an app's visibility (null: the whole corp). */
  async visibleDepartments(ctx: RequestContext, app: App): Promise<Department[] | null> {
    if (app.visibleDepartmentIds === null) return null;
    const found = await ctx.loaders.department.loadMany(app.visibleDepartmentIds);
    return found.filter((d): d is Department => d instanceof Department);
  }

  async visibleMembers(ctx: RequestContext, app: App): Promise<Member[]> {
    const found = await ctx.loaders.member.loadMany(app.visibleMemberIds ?? []);
    return found.filter((m): m is Member => m instanceof Member);
  }
}
