import type { Pool } from "pg";
import type { Config } from "../config";
import { CorpDb } from "../db/scoped-db";
import { toGlobalId } from "../schema/global-id";
import { writeAuditNow } from "../services/audit";
import type { TokenApp } from "./oauth-types";
import type { SigningKeys } from "./signing-keys";
import { ACCESS_JTI_LABEL } from "./sso-types";
import { sha256 } from "./secrets";
import type { TokenPrincipals } from "./token-principal";

/**
 * Ending and inspecting a member's tokens: revocation (RFC 7009) of a refresh-token family or an
 * access token, and introspection (RFC 7662) for the app's own backend.
 */
export class TokenRevocation {
  constructor(
    private readonly pool: Pool,
    private readonly config: Config,
    private readonly keys: SigningKeys,
    private readonly principals: TokenPrincipals,
  ) {}

  /**
   * Revokes a refresh-token family: its refresh tokens, and the access tokens issued with them (a
   * reused refresh token or code means one of them leaked: RFC 6749 §4.1.2 and §10.4, RFC 7009
   * §2.1). Each access token's jti is derived from the hash of the refresh token issued with it
   * (`accessJti`), so they are found without storing them; they are refused from the next call on.
   */
  async revokeFamily(db: CorpDb, familyId: string): Promise<void> {
    await db.exec(
      `WITH revoked AS (UPDATE refresh_token SET revoked_at = now() WHERE corp_id = $1 AND family_id = $2 AND revoked_at IS NULL RETURNING 1)
       INSERT INTO revoked_token (jti, corp_id, expires_at)
       SELECT encode(substring(sha256(convert_to('${ACCESS_JTI_LABEL}' || t.token_hash, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid, $1,
              t.created_at + make_interval(secs => $3) + interval '1 minute'
         FROM refresh_token t
        WHERE t.corp_id = $1 AND t.family_id = $2 AND t.created_at > now() - make_interval(secs => $3) - interval '1 minute'
       ON CONFLICT (jti) DO NOTHING`,
      [familyId, this.config.tokenTtlSeconds],
    );
  }

  /** RFC 7009: revokes a refresh token (its whole family) or an access token (by jti) of `app`. Unknown tokens are ignored. */
  async revoke(app: TokenApp, token: string, ip: string | undefined): Promise<void> {
    const db = new CorpDb(app.corp_id, this.pool);
    const family = await db.one<{ family_id: string; member_id: string }>(
      `SELECT family_id, member_id FROM refresh_token WHERE corp_id = $1 AND token_hash = $2 AND app_id = $3`,
      [sha256(token), app.id],
    );
    if (family) {
      await this.revokeFamily(db, family.family_id);
      const detail = { type: "refresh_token" };
      await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REVOKED", success: true, appPk: app.id, memberPk: family.member_id, ip, detail });
      return;
    }
    let claims;
    try {
      claims = await this.keys.verify(token, { ignoreExpiration: true });
    } catch {
      return;
    }
    const ours = claims.azp === app.client_id && claims.corp === toGlobalId("Corp", app.corp_id);
    if (!ours || typeof claims.jti !== "string" || !/^[0-9a-f-]{36}$/i.test(claims.jti)) return;
    await db.exec(`INSERT INTO revoked_token (jti, corp_id, expires_at) VALUES ($2, $1, to_timestamp($3)) ON CONFLICT (jti) DO NOTHING`, [
      claims.jti,
      claims.exp,
    ]);
    // This instance refuses the token from the next call on; others within their app cache (5 s).
    this.principals.invalidate(claims.azp, app.corp_id);
    await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REVOKED", success: true, appPk: app.id, ip, detail: { type: "access_token" } });
  }

  /** RFC 7662 for the app's own backend: only tokens of that app are ever reported active. */
  async introspect(app: TokenApp, token: string): Promise<Record<string, unknown>> {
    const db = new CorpDb(app.corp_id, this.pool);
    const refresh = await db.one<{ scopes: string[]; member_id: string; exp: number; iat: number }>(
      `SELECT scopes, member_id, extract(epoch FROM expires_at)::bigint AS exp, extract(epoch FROM created_at)::bigint AS iat
         FROM refresh_token WHERE corp_id = $1 AND token_hash = $2 AND app_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
      [sha256(token), app.id],
    );
    if (refresh) {
      const sub = toGlobalId("Member", refresh.member_id);
      const scope = refresh.scopes.join(" ");
      return { active: true, token_type: "refresh_token", client_id: app.client_id, scope, sub, exp: Number(refresh.exp), iat: Number(refresh.iat) };
    }
    try {
      const claims = await this.keys.verify(token);
      if (claims.azp !== app.client_id || claims.corp !== toGlobalId("Corp", app.corp_id)) return { active: false };
      await this.principals.authenticate(token);
      const { scope, sub, exp, iat, iss, aud, corp } = claims;
      const member = claims.member ? { member: claims.member } : {};
      return { active: true, token_type: "Bearer", client_id: claims.azp, scope, sub, exp, iat, iss, aud, corp, ...member };
    } catch {
      return { active: false };
    }
  }
}
