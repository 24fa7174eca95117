import DataLoader from "dataloader";
import type { Pool } from "pg";
import { CorpDb } from "../db/scoped-db";
import { forbidden, unauthenticated } from "../errors/domain-error";
import type { Principal } from "../policy/principal";
import { isScope, type Scope } from "../policy/scopes";
import { parseGlobalId, toGlobalId } from "../schema/global-id";
import { ipAllowed } from "./network";
import type { SigningKeys } from "./signing-keys";
import type { Edition } from "../domain/enums";

interface AppGrant {
  pk: string;
  corpId: string;
  clientId: string;
  scopes: Scope[];
  visibleRoots: string[] | null;
  enabled: boolean;
  /** Epoch ms of the app's last disable: tokens issued at or before it are refused (0: never disabled). */
  tokensValidAfter: number;
  allowedIpRanges: string[];
  /** The corp's revoked, unexpired access-token ids (RFC 7009), as of the cache entry. */
  revokedJtis: ReadonlySet<string>;
  edition: Edition;
  rateLimit: { capacity: number; restoreRate: number } | null;
}

/** A member token's member as `authenticate` checks it. */
interface MemberState {
  is_corp_admin: boolean;
  status: string;
  led: string[];
  sessions_revoked_at: Date | null;
  jti_revoked: boolean;
}

interface MemberKey {
  memberPk: string;
  jti: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const APP_CACHE_MS = 5000;

/**
 * Turns a bearer token into the `Principal` it speaks for, with the app's current scopes,
 * visibility and IP ranges (cached per app for APP_CACHE_MS) and, for a member's token, the
 * member's current role. The token names its corp, so every statement is corp-scoped.
 */
export class TokenPrincipals {
  private appCache = new Map<string, { until: number; grant: AppGrant }>();
  /** Per corp, the member-token checks of one tick (`memberState`). */
  private readonly memberReads = new Map<string, DataLoader<MemberKey, MemberState | undefined>>();

  constructor(
    private readonly pool: Pool,
    private readonly keys: SigningKeys,
  ) {}

  /** Verifies a bearer token and resolves who it speaks for, with current scopes and visibility. */
  async authenticate(token: string, ip?: string): Promise<Principal> {
    const claims = await this.keys.verify(token);
    const corp = parseGlobalId(claims.corp);
    if (!corp || corp.type !== "Corp") throw unauthenticated("The access token is invalid.");
    const app = await this.appGrant(corp.pk, claims.azp);
    if (!app || !app.enabled) throw unauthenticated("The app of this token is disabled or no longer exists.");
    // iat has second precision: a token issued in the same second as the disable is refused too.
    if (claims.iat * 1000 <= app.tokensValidAfter) throw unauthenticated("The app of this token was disabled after the token was issued: request a new one.");
    if (claims.app !== undefined && claims.app !== toGlobalId("App", app.pk)) {
      throw unauthenticated("The app of this token was uninstalled or no longer exists.");
    }
    // A caller with no known address (an in-process call) is not network-checked.
    if (ip !== undefined && !ipAllowed(ip, app.allowedIpRanges)) throw forbidden("Your IP address is outside the app's allowed IP ranges.");
    const jti = typeof claims.jti === "string" && UUID.test(claims.jti) ? claims.jti : null;
    const granted = new Set(app.scopes);
    const scopes = new Set(claims.scope.split(" ").filter((s): s is Scope => isScope(s) && granted.has(s)));
    const principal: Principal = {
      corpId: app.corpId,
      appId: app.pk,
      clientId: app.clientId,
      scopes,
      visibleRoots: app.visibleRoots,
      member: null,
      edition: app.edition,
      appRateLimit: app.rateLimit,
    };
    if (claims.member) {
      const member = parseGlobalId(claims.member);
      if (!member || member.type !== "Member") throw unauthenticated("The access token is invalid.");
      const row = await this.memberState(app.corpId, member.pk, jti);
      if (!row || row.status !== "ACTIVE") throw unauthenticated("The member of this token is not active.");
      if (row.jti_revoked) throw unauthenticated("The access token was revoked.");
      // iat has second precision: a token issued in the same second as the revocation is refused too.
      if (row.sessions_revoked_at && claims.iat * 1000 <= row.sessions_revoked_at.getTime()) {
        throw unauthenticated("The member's sessions were revoked: sign in again.");
      }
      principal.member = { id: member.pk, isCorpAdmin: row.is_corp_admin, ledRoots: row.led };
    } else if (jti && app.revokedJtis.has(jti)) {
      // App tokens: the corp's revoked jtis come with the cached app grant (no statement per call).
      throw unauthenticated("The access token was revoked.");
    }
    return principal;
  }

  /**
   * A member token's member (status, role, departments led, sessions revoked) and whether its jti
   * was revoked, read now (never cached: a revocation or a resignation applies at the next check).
   * The checks asked for in one tick (the re-checks of a crowd of subscribers due before one event,
   * concurrent requests) of one corp are read in one statement.
   */
  private memberState(corpId: string, memberPk: string, jti: string | null): Promise<MemberState | undefined> {
    let reads = this.memberReads.get(corpId);
    if (!reads) {
      const db = new CorpDb(corpId, this.pool);
      reads = new DataLoader<MemberKey, MemberState | undefined>(
        async (keys) => {
          const jtis = [...new Set(keys.flatMap((k) => (k.jti ? [k.jti.toLowerCase()] : [])))];
          const rows = await db.rows<MemberState & { id: string; revoked: string[] }>(
            `SELECT m.id::text AS id, m.is_corp_admin, m.status,
                    COALESCE(array_agg(d.path) FILTER (WHERE d.id IS NOT NULL), '{}') AS led,
                    (SELECT c.sessions_revoked_at FROM member_credential c WHERE c.corp_id = $1 AND c.member_id = m.id) AS sessions_revoked_at,
                    ARRAY(SELECT r.jti::text FROM revoked_token r WHERE r.corp_id = $1 AND r.jti = ANY($3::uuid[])) AS revoked
               FROM member m
               LEFT JOIN department_leader l ON l.member_id = m.id AND l.corp_id = $1
               LEFT JOIN department d ON d.id = l.department_id
              WHERE m.corp_id = $1 AND m.id = ANY($2::bigint[])
              GROUP BY m.id`,
            [[...new Set(keys.map((k) => k.memberPk))], jtis],
          );
          const byId = new Map(rows.map((r) => [r.id, r]));
          const revoked = new Set(rows[0]?.revoked ?? []);
          return keys.map((k) => {
            const row = byId.get(k.memberPk);
            return row && { ...row, jti_revoked: k.jti !== null && revoked.has(k.jti.toLowerCase()) };
          });
        },
        { cache: false, maxBatchSize: 500 },
      );
      this.memberReads.set(corpId, reads);
      if (this.memberReads.size > 1000) this.memberReads.delete(this.memberReads.keys().next().value!);
    }
    return reads.load({ memberPk, jti });
  }

  /** The app behind a token, cached for a few seconds (scope or visibility changes apply within that). */
  private async appGrant(corpId: string, clientId: string): Promise<AppGrant | undefined> {
    const cached = this.appCache.get(`${corpId}:${clientId}`);
    if (cached && cached.until > Date.now()) return cached.grant;
    const db = new CorpDb(corpId, this.pool);
    type AppRow = {
      id: string;
      scopes: string[];
      enabled: boolean;
      valid_after: Date | null;
      roots: string[] | null;
      ranges: string[];
      revoked: string[];
      edition: Edition;
      capacity: number | null;
      restore_rate: number | null;
    };
    const row = await db.one<AppRow>(
      `SELECT a.id, a.scopes, a.enabled, a.tokens_valid_after AS valid_after, a.allowed_ip_ranges::text[] AS ranges,
              (SELECT c.edition FROM corp c WHERE c.id = $1) AS edition,
              a.rate_limit_capacity AS capacity, a.rate_limit_restore_rate AS restore_rate,
              ARRAY(SELECT r.jti::text FROM revoked_token r WHERE r.corp_id = $1 AND r.expires_at > now() - interval '1 minute') AS revoked,
              CASE WHEN a.visible_department_ids IS NULL THEN NULL
                   ELSE COALESCE((SELECT array_agg(d.path) FROM department d
                                   WHERE d.corp_id = $1 AND d.id = ANY(a.visible_department_ids)), '{}') END AS roots
         FROM app a WHERE a.corp_id = $1 AND a.client_id = $2`,
      [clientId],
    );
    if (!row) return undefined;
    const grant: AppGrant = {
      pk: row.id,
      corpId,
      clientId,
      scopes: row.scopes.filter(isScope),
      visibleRoots: row.roots,
      enabled: row.enabled,
      tokensValidAfter: row.valid_after?.getTime() ?? 0,
      allowedIpRanges: row.ranges,
      revokedJtis: new Set(row.revoked),
      edition: row.edition,
      rateLimit: row.capacity !== null && row.restore_rate !== null ? { capacity: row.capacity, restoreRate: row.restore_rate } : null,
    };
    this.appCache.set(`${corpId}:${clientId}`, { until: Date.now() + APP_CACHE_MS, grant });
    return grant;
  }

  /**
   * Forgets cached app grants after an app changes (disabled, uninstalled, scopes, visibility, IP
   * ranges). Only this process's cache: other instances pick the change up within APP_CACHE_MS (5 s).
   */
  invalidate(clientId?: string, corpId?: string): void {
    if (clientId && corpId) this.appCache.delete(`${corpId}:${clientId}`);
    else if (clientId) {
      for (const key of [...this.appCache.keys()]) if (key.endsWith(`:${clientId}`)) this.appCache.delete(key);
    } else this.appCache.clear();
  }
}
