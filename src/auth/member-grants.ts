import { createHash, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import type { Config } from "../config";
import type { CrossCorpDb } from "../db/cross-corp";
import { CorpDb } from "../db/scoped-db";
import { isScope } from "../policy/scopes";
import { toGlobalId } from "../schema/global-id";
import { writeAuditNow } from "../services/audit";
import { OAuthError, type TokenApp } from "./oauth-types";
import type { SigningKeys } from "./signing-keys";
import { accessJti, VISIBLE_SQL, type MemberRow } from "./sso-types";
import { opaque, sha256 } from "./secrets";
import type { TokenRevocation } from "./token-revocation";

/** The ARRAY of a member's departments (ids as text, ordered), for the ID token and userinfo. */
const DEPARTMENTS_SQL = `ARRAY(SELECT md.department_id::text FROM member_department md
                               WHERE md.corp_id = $1 AND md.member_id = m.id ORDER BY md.department_id) AS departments`;

/**
 * The token endpoint's member grants: exchanging an authorization code (RFC 6749 §4.1.3, RFC 7636
 * §4.6) and rotating a refresh token, each issuing an access token, an ID token and the family's
 * next refresh token; and the userinfo claims of a member's token.
 */
export class MemberGrants {
  constructor(
    private readonly pool: Pool,
    private readonly crossCorp: CrossCorpDb,
    private readonly config: Config,
    private readonly keys: SigningKeys,
    private readonly revocation: TokenRevocation,
  ) {}

  /**
   * The corp (global id) a code or refresh token was issued in: a vendor app's client is one per
   * corp, and standard clients do not send corp_id to the token endpoint.
   */
  async corpOfGrant(form: { grant_type?: string; code?: string; refresh_token?: string }): Promise<string | undefined> {
    const byCode = form.grant_type === "authorization_code";
    const [from, value] = byCode ? ["oauth_code WHERE code_hash", form.code] : ["refresh_token WHERE token_hash", form.refresh_token];
    if (!value) return undefined;
    // By hash, across corps: the secret names the corp.
    const row = await this.crossCorp.one<{ corp_id: string }>(`SELECT corp_id FROM ${from} = $1`, [sha256(value)]);
    return row ? toGlobalId("Corp", row.corp_id) : undefined;
  }

  /** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). */
  async exchangeCode(app: TokenApp, form: { code?: string; redirect_uri?: string; code_verifier?: string }, ip: string | undefined) {
    if (!form.code) throw new OAuthError("invalid_request", "code is required.");
    const db = new CorpDb(app.corp_id, this.pool);
    const code = await db.one<{
      member_id: string;
      redirect_uri: string;
      scopes: string[];
      nonce: string | null;
      code_challenge: string | null;
      auth_time: Date;
      expired: boolean;
      was_used: boolean;
      family_id: string | null;
    }>(
      `UPDATE oauth_code c SET used_at = now(), family_id = COALESCE(c.family_id, $3::uuid)
         FROM (SELECT code_hash, used_at IS NOT NULL AS was_used FROM oauth_code WHERE corp_id = $1 AND code_hash = $2 AND app_id = $4 FOR UPDATE) old
        WHERE c.code_hash = old.code_hash
       RETURNING c.member_id, c.redirect_uri, c.scopes, c.nonce, c.code_challenge, c.auth_time, c.expires_at <= now() AS expired, old.was_used, c.family_id`,
      // Only the client the code was issued to spends it: another client's attempt changes nothing.
      [sha256(form.code), randomUUID(), app.id],
    );
    const invalid = new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client.");
    if (!code) throw invalid;
    if (code.was_used) {
      // A replayed code: revoke what the first exchange issued (RFC 6749 §4.1.2).
      await this.revocation.revokeFamily(db, code.family_id!);
      const detail = { reason: "authorization code reused; its tokens were revoked" };
      await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: code.member_id, ip, detail });
      throw invalid;
    }
    if (code.expired) throw invalid;
    if (form.redirect_uri !== code.redirect_uri) throw new OAuthError("invalid_grant", "redirect_uri differs from the one of the authorization request.");
    if (code.code_challenge) {
      if (!form.code_verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier)) {
        throw new OAuthError("invalid_grant", "code_verifier is missing or malformed.");
      }
      const challenge = createHash("sha256").update(form.code_verifier, "ascii").digest("base64url");
      if (challenge !== code.code_challenge) throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge.");
    } else if (form.code_verifier) {
      throw new OAuthError("invalid_grant", "code_verifier given, but the authorization request had no code_challenge.");
    }
    const grant = { memberPk: code.member_id, scopes: code.scopes, nonce: code.nonce, authTime: code.auth_time, familyId: code.family_id! };
    return this.issueForMember(app, grant, ip, "authorization_code");
  }

  /** grant_type=refresh_token: rotates the token; a spent one revokes its family (OAuth 2.0 Security BCP §4.14.2). */
  async refresh(app: TokenApp, form: { refresh_token?: string; scope?: string }, ip: string | undefined) {
    if (!form.refresh_token) throw new OAuthError("invalid_request", "refresh_token is required.");
    const invalid = new OAuthError("invalid_grant", "The refresh token is invalid, expired or revoked.");
    const db = new CorpDb(app.corp_id, this.pool);
    const row = await db.one<{ member_id: string; family_id: string; scopes: string[]; auth_time: Date; live: boolean; used: boolean; revoked: boolean }>(
      `UPDATE refresh_token t SET used_at = COALESCE(t.used_at, now())
         FROM (SELECT token_hash, used_at IS NOT NULL AS used FROM refresh_token WHERE corp_id = $1 AND token_hash = $2 AND app_id = $3 FOR UPDATE) old
        WHERE t.token_hash = old.token_hash
       RETURNING t.member_id, t.family_id, t.scopes, t.auth_time, t.expires_at > now() AS live, old.used, t.revoked_at IS NOT NULL AS revoked`,
      // Only the client the token was issued to spends it (another client's attempt changes nothing).
      [sha256(form.refresh_token), app.id],
    );
    if (!row) throw invalid;
    if (row.used && !row.revoked) {
      await this.revocation.revokeFamily(db, row.family_id);
      const detail = { reason: "refresh token reused; its family was revoked" };
      await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: row.member_id, ip, detail });
      throw invalid;
    }
    if (row.revoked || !row.live) throw invalid;
    let scopes = row.scopes;
    if (form.scope) {
      const asked = form.scope.split(/\s+/).filter(Boolean);
      if (asked.some((s) => !row.scopes.includes(s))) throw new OAuthError("invalid_scope", "A refresh may only narrow the scopes of the original grant.");
      scopes = asked;
    }
    return this.issueForMember(app, { memberPk: row.member_id, scopes, nonce: null, authTime: row.auth_time, familyId: row.family_id }, ip, "refresh_token");
  }

  /** Access token, ID token and the next refresh token of `familyId`, after re-checking the member. */
  private async issueForMember(
    app: TokenApp,
    grant: { memberPk: string; scopes: string[]; nonce: string | null; authTime: Date; familyId: string },
    ip: string | undefined,
    grantType: string,
  ) {
    const db = new CorpDb(app.corp_id, this.pool);
    const member = await db.one<MemberRow & { departments: string[]; sessions_revoked_at: Date | null }>(
      `SELECT m.id, m.name, m.employee_id, m.email, m.status, ${VISIBLE_SQL} AS visible, ${DEPARTMENTS_SQL},
              (SELECT c.sessions_revoked_at FROM member_credential c WHERE c.corp_id = $1 AND c.member_id = m.id) AS sessions_revoked_at
         FROM member m JOIN app a ON a.corp_id = $1 AND a.id = $3
        WHERE m.corp_id = $1 AND m.id = $2`,
      [grant.memberPk, app.id],
    );
    const refusedWhy = !member
      ? "member deleted"
      : member.status !== "ACTIVE"
        ? `member is ${member.status}`
        : !member.visible
          ? "member outside the app's visibility"
          : member.sessions_revoked_at && member.sessions_revoked_at >= grant.authTime
            ? "member's sessions were revoked"
            : undefined;
    if (refusedWhy) {
      await this.revocation.revokeFamily(db, grant.familyId);
      const detail = { grant: grantType, reason: refusedWhy };
      await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: grant.memberPk, ip, detail });
      throw new OAuthError("invalid_grant", "The member may no longer use this app: sign in again.");
    }
    const m = member!;
    const refreshToken = opaque();
    const apiScopes = grant.scopes.filter((s) => isScope(s) && app.scopes.includes(s));
    const { token: accessToken, expiresIn } = this.keys.issue({
      clientId: app.client_id,
      corpId: app.corp_id,
      scopes: grant.scopes.filter((s) => !isScope(s) || apiScopes.includes(s)),
      memberId: m.id,
      appPk: app.id,
      jti: accessJti(sha256(refreshToken)),
    });
    const idClaims: Record<string, unknown> = {
      azp: app.client_id,
      auth_time: Math.floor(grant.authTime.getTime() / 1000),
      corp: toGlobalId("Corp", app.corp_id),
      departments: m.departments.map((d) => toGlobalId("Department", d)),
      employee_id: m.employee_id,
    };
    idClaims.name = m.name;
    if (grant.scopes.includes("email") && m.email) idClaims.email = m.email;
    if (grant.nonce) idClaims.nonce = grant.nonce;
    const idToken = this.keys.sign(idClaims, { audience: app.client_id, subject: toGlobalId("Member", m.id), expiresIn });
    await db.exec(
      `INSERT INTO refresh_token (token_hash, corp_id, app_id, member_id, family_id, scopes, auth_time, expires_at)
       VALUES ($2, $1, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
      [sha256(refreshToken), app.id, m.id, grant.familyId, grant.scopes, grant.authTime, this.config.refreshTokenTtlSeconds],
    );
    const detail = { grant: grantType, scope: grant.scopes.join(" ") };
    await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_ISSUED", success: true, appPk: app.id, memberPk: m.id, ip, detail });
    return {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: expiresIn,
      refresh_token: refreshToken,
      id_token: idToken,
      scope: grant.scopes.join(" "),
    };
  }

  /** The claims of /oauth/userinfo for a member token (same `sub` as the ID token). */
  async userinfo(corpPk: string, memberPk: string, scopes: readonly string[]) {
    const db = new CorpDb(corpPk, this.pool);
    const m = await db.one<{ name: string; employee_id: string; email: string | null; departments: string[] }>(
      `SELECT m.name, m.employee_id, m.email, ${DEPARTMENTS_SQL} FROM member m WHERE m.corp_id = $1 AND m.id = $2`,
      [memberPk],
    );
    if (!m) return undefined;
    const claims: Record<string, unknown> = {
      sub: toGlobalId("Member", memberPk),
      name: m.name,
      employee_id: m.employee_id,
      corp: toGlobalId("Corp", corpPk),
      departments: m.departments.map((d) => toGlobalId("Department", d)),
    };
    if (scopes.includes("email") && m.email) claims.email = m.email;
    return claims;
  }
}
