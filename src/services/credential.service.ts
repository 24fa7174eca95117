import { randomBytes } from "node:crypto";
import type { RequestContext } from "../context";
import { requireAppAdministrator } from "../policy";
import { writeAudit } from "./audit";
import { sha256 } from "../auth/secrets";
import { ACTIVATION_TTL_HOURS } from "../domain/credentials";
import { forbidden } from "../errors/domain-error";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { hydrate, selectList } from "../db/scoped-db";
import { AuditLog } from "../entities/audit-log.entity";
import type { AuditAction } from "../domain/audit";

/**
 * Members' credentials and sessions (issue 5): activation links, remote sign-out, and the audit
 * log. Activation and sign-out are member management (the resolvers declare `directory:write`):
 * a member acting through an app must administer the corp or lead a department enclosing every
 * department of the member, the rule of every member write (`MemberService.writable`).
 */
export class CredentialService {
  /** The member, if the caller may change them (a link resets the password, sign-out ends the sessions). */
  private async manageable(ctx: RequestContext, memberPk: string): Promise<{ status: string }> {
    return (await ctx.services.members.writable(ctx, memberPk, "input.memberId")).member;
  }

  /** A single-use link (72 h) to a page where the member sets a password. Earlier unused links stop working. */
  async createActivationLink(ctx: RequestContext, memberPk: string): Promise<{ url: string; expiresAt: Date }> {
    const member = await this.manageable(ctx, memberPk);
    if (member.status === "DISABLED" || member.status === "RESIGNED") throw forbidden(`The member is ${member.status}: enable them first.`);
    const token = randomBytes(32).toString("base64url");
    await ctx.db.exec(`UPDATE activation_link SET used_at = now() WHERE corp_id = $1 AND member_id = $2 AND used_at IS NULL`, [memberPk]);
    const row = await ctx.db.one<{ expires_at: Date }>(
      `INSERT INTO activation_link (token_hash, corp_id, member_id, expires_at) VALUES ($2, $1, $3, now() + make_interval(hours => $4)) RETURNING expires_at`,
      [sha256(token), memberPk, ACTIVATION_TTL_HOURS],
    );
    await writeAudit(ctx.db, { action: "ACTIVATION_LINK_CREATED", success: true, memberPk, appPk: ctx.caller.appId });
    return { url: `${ctx.deps.config.publicUrl}/activate/${token}`, expiresAt: row!.expires_at };
  }

  /** Remote sign-out: revokes the member's refresh tokens and refuses their access tokens issued until now. */
  async revokeSessions(ctx: RequestContext, memberPk: string): Promise<number> {
    await this.manageable(ctx, memberPk);
    await ctx.db.exec(
      `INSERT INTO member_credential (member_id, corp_id, sessions_revoked_at) VALUES ($2, $1, clock_timestamp())
       ON CONFLICT (member_id) DO UPDATE SET sessions_revoked_at = clock_timestamp()`,
      [memberPk],
    );
    const revoked = await ctx.db.exec(
      `UPDATE refresh_token SET revoked_at = now() WHERE corp_id = $1 AND member_id = $2 AND revoked_at IS NULL AND used_at IS NULL`,
      [memberPk],
    );
    await writeAudit(ctx.db, {
      action: "MEMBER_SESSIONS_REVOKED",
      success: true,
      memberPk,
      appPk: ctx.caller.appId,
      detail: { revokedRefreshTokens: revoked },
    });
    return revoked;
  }

  /** The corp's audit log, newest first. */
  async auditLog(
    ctx: RequestContext,
    filter: { actions?: AuditAction[] | null; success?: boolean | null; appPk?: string | null; memberPk?: string | null; since?: Date | null },
    window: PageWindow,
  ): Promise<Connection<AuditLog>> {
    requireAppAdministrator(ctx.caller);
    const params = new SqlParams();
    const where = ["l.corp_id = $1"];
    if (filter.actions?.length) where.push(`l.action = ANY(${params.add(filter.actions)}::text[])`);
    if (filter.success != null) where.push(`l.outcome = ${params.add(filter.success ? "SUCCESS" : "FAILURE")}`);
    if (filter.appPk) where.push(`l.app_id = ${params.add(filter.appPk)}`);
    if (filter.memberPk) where.push(`l.member_id = ${params.add(filter.memberPk)}`);
    if (filter.since) where.push(`l.occurred_at >= ${params.add(filter.since)}`);
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, AuditLog, "l"),
      from: "audit_log l",
      where: where.join(" AND "),
      params,
      // Newest first: the keyset runs on -id so the shared ascending helper applies.
      key: [{ sql: "(-l.id)", cast: "bigint" }],
      keyOf: (e) => [String(-Number(e.pk))],
      map: (row) => hydrate(AuditLog, row),
    });
  }
}
