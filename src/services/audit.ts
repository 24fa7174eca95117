import type { Pool } from "pg";
import { CorpDb } from "../db/scoped-db";
import type { AuditAction } from "../domain/audit";
import type { RequestContext } from "../context";

export interface AuditEntry {
  action: AuditAction;
  success: boolean;
  appPk?: string | null;
  memberPk?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * Appends one audit row through `db` (so inside a mutation it commits or rolls back with it).
 * Secrets never go into `detail`.
 */
export async function writeAudit(db: CorpDb, entry: AuditEntry): Promise<void> {
  await db.exec(
    `INSERT INTO audit_log (corp_id, occurred_at, action, outcome, app_id, member_id, ip, detail)
     VALUES ($1, clock_timestamp(), $2, $3, $4, $5, $6, $7::jsonb)`,
    [
      entry.action,
      entry.success ? "SUCCESS" : "FAILURE",
      entry.appPk ?? null,
      entry.memberPk ?? null,
      entry.ip?.slice(0, 64) ?? null,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/**
 * Appends one audit row of corp `corpPk` in a statement of its own, outside any transaction: the
 * OAuth endpoints' refusals must stay recorded although the request that caused them fails.
 */
export async function writeAuditNow(pool: Pool, corpPk: string, entry: AuditEntry): Promise<void> {
  await writeAudit(new CorpDb(corpPk, pool), entry);
}

/** Who made a change, for an audit entry's detail: the app's client id, and the member acting through it. */
export function actor(ctx: RequestContext): Record<string, string> {
  return ctx.caller.member ? { app: ctx.caller.clientId, member: ctx.caller.member.id } : { app: ctx.caller.clientId };
}

/** A successful change made by the caller, in the request's transaction: its app, member and address, and `detail`. */
export function auditChange(ctx: RequestContext, action: AuditAction, detail: Record<string, unknown>): Promise<void> {
  return writeAudit(ctx.db, { action, success: true, appPk: ctx.caller.appId, memberPk: ctx.caller.member?.id ?? null, ip: ctx.clientIp, detail });
}
