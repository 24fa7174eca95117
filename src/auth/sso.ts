import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import type { Config } from "../config";
import { CorpDb } from "../db/scoped-db";
import { DomainError } from "../errors/domain-error";
import { parseGlobalId, toGlobalId } from "../schema/global-id";
import { isScope } from "../policy/scopes";
import { writeAudit } from "./audit";
import { hasControlCharacter } from "./form-input";
import { STREAMS, type EventLog } from "../events/log";
import { transaction } from "../db/transaction";
import { DirectoryEventType } from "../domain/enums";
import { appSeesMemberSql } from "../services/access";
import { OAuthError, TOKEN_APP_COLUMNS, type TokenApp, type TokenService } from "./tokens";
import { burnVerification, hashPassword, LOCK_MINUTES, MAX_FAILED_SIGN_INS, PASSWORD_MAX_AGE_DAYS, passwordProblem, verifyPassword } from "./passwords";

/** Authorization codes live 5 minutes (issue 5; RFC 6749 §4.1.2 recommends at most 10). */
export const CODE_TTL_SECONDS = 300;
/** Activation links live 72 hours. */
export const ACTIVATION_TTL_HOURS = 72;
/** Scopes of OpenID Connect itself, next to Workgraph's own. */
export const OIDC_SCOPES = ["openid", "profile", "email"] as const;

/** Domain label of `accessJti`; the SQL in `revokeFamily` derives the same value. */
const ACCESS_JTI_LABEL = "workgraph-access-jti:";
/** The jti of the access token issued together with the refresh token whose hash is `refreshHash` (a UUID-shaped 128-bit digest). */
export function accessJti(refreshHash: string): string {
  const hex = createHash("sha256").update(ACCESS_JTI_LABEL + refreshHash, "utf8").digest("hex").slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const opaque = () => randomBytes(32).toString("base64url");

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636). */
export interface AuthorizeRequest {
  app: TokenApp;
  redirectUri: string;
  scopes: string[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
}

/** An authorization error that goes back to the client's redirect URI. */
export class AuthorizeError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** The parameters of an authorization request that `authorizeRequest` reads. */
const AUTHORIZE_REQUEST_PARAMS = ["response_type", "response_mode", "prompt", "client_id", "corp_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"] as const;

/** What the sign-in form tells the person: always the same words for every failure (issue 5). */
export const SIGN_IN_FAILED = "Sign-in failed: the account or password is wrong, or the account is locked for a while after too many attempts.";

interface MemberRow {
  id: string;
  name: string;
  employee_id: string;
  email: string | null;
  status: string;
  visible: boolean;
}

/**
 * The OpenID Connect provider's rules (issue 5): authorization requests, member sign-in with lock
 * and password rotation, single-use codes, refresh-token families, revocation and introspection.
 * Protocol plumbing (HTTP, HTML) is in `oidc.ts`. Rows are reached through `CorpDb` once the corp
 * is known; lookups by a secret's hash (code, refresh token, activation link) use the pool, since
 * the secret is what names the corp.
 */
export class SsoService {
  constructor(
    private readonly pool: Pool,
    private readonly config: Config,
    private readonly tokens: TokenService,
    private readonly events: EventLog,
  ) {}

  private lastSweep = 0;

  /**
   * Deletes codes, refresh tokens and revoked-token entries past their use (at most once a minute,
   * from sign-ins). Across corps on purpose: these rows are keyed by expiry, not by tenant.
   */
  private sweep(): void {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    void (async () => {
      await this.pool.query(`DELETE FROM oauth_code WHERE expires_at < now() - interval '1 hour'`);
      await this.pool.query(`DELETE FROM revoked_token WHERE expires_at < now() - interval '1 minute'`);
      await this.pool.query(`DELETE FROM refresh_token WHERE expires_at < now() - interval '1 day'`);
    })().catch(() => undefined);
  }

  /** Validates an authorization request. Errors before the redirect URI is trusted are thrown as DomainError (shown, not redirected). */
  async authorizeRequest(q: Record<string, string | undefined>): Promise<AuthorizeRequest> {
    const clientId = q.client_id;
    if (!clientId) throw new DomainError("BAD_USER_INPUT", "client_id is required.", { field: "client_id" });
    for (const field of ["client_id", "redirect_uri", "corp_id"] as const) {
      if (hasControlCharacter(q[field])) throw new DomainError("BAD_USER_INPUT", `${field} is malformed (it holds a control character).`, { field });
    }
    let app = (await this.pool.query<TokenApp>(`SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.client_id = $1 AND a.vendor_app_id IS NULL`, [clientId])).rows[0];
    if (!app) {
      // A vendor app signs members of the corp named by corp_id in, if that corp installed it; a
      // corp that did not looks exactly like an unknown client.
      const vendor = (await this.pool.query<{ id: string; redirect_uris: string[] }>(`SELECT id, redirect_uris FROM vendor_app WHERE client_id = $1`, [clientId])).rows[0];
      if (vendor && !q.corp_id) throw new DomainError("BAD_USER_INPUT", "A vendor app must name the corp: add corp_id (the corp's global id).", { field: "corp_id" });
      const corp = q.corp_id ? parseGlobalId(q.corp_id) : undefined;
      if (vendor && corp?.type === "Corp") {
        const installed = await new CorpDb(corp.pk, this.pool).one<TokenApp>(`SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.corp_id = $1 AND a.vendor_app_id = $2`, [vendor.id]);
        if (installed) app = { ...installed, redirect_uris: vendor.redirect_uris };
      }
    }
    if (!app || !app.enabled) throw new DomainError("BAD_USER_INPUT", "Unknown or disabled client_id.", { field: "client_id" });
    const redirectUri = q.redirect_uri;
    if (!redirectUri || !app.redirect_uris.includes(redirectUri)) {
      throw new DomainError("BAD_USER_INPUT", "redirect_uri is not registered for this app (it must match exactly).", { field: "redirect_uri" });
    }
    const request: AuthorizeRequest = { app, redirectUri, scopes: [], state: q.state || undefined, nonce: q.nonce || undefined };
    const malformed = AUTHORIZE_REQUEST_PARAMS.find((field) => hasControlCharacter(q[field]));
    if (malformed) throw new AuthorizeError("invalid_request", `${malformed} is malformed (it holds a control character).`);
    if (q.response_type !== "code") throw new AuthorizeError("unsupported_response_type", "Only response_type=code is supported.");
    if (q.response_mode !== undefined && q.response_mode !== "query") throw new AuthorizeError("invalid_request", "Only response_mode=query is supported.");
    // There is no sign-in session to reuse: every authorization shows the sign-in page (OIDC Core §3.1.2.6).
    if ((q.prompt ?? "").split(" ").includes("none")) throw new AuthorizeError("login_required", "prompt=none: the member must sign in.");
    const asked = (q.scope ?? "").split(/\s+/).filter(Boolean);
    if (!asked.includes("openid")) throw new AuthorizeError("invalid_scope", "The scope must include openid.");
    // Scopes the app does not hold are left out (RFC 6749 §3.3: the grant may be narrower than asked).
    request.scopes = [...new Set(asked.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s) || (isScope(s) && app.scopes.includes(s))))];
    if (request.nonce && request.nonce.length > 256) throw new AuthorizeError("invalid_request", "nonce is too long (at most 256 characters).");
    if (q.code_challenge !== undefined && q.code_challenge !== "") {
      if (q.code_challenge_method !== "S256") throw new AuthorizeError("invalid_request", "code_challenge_method must be S256.");
      if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) throw new AuthorizeError("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters).");
      request.codeChallenge = q.code_challenge;
    } else if (app.public_client) {
      throw new AuthorizeError("invalid_request", "A public client must use PKCE: code_challenge with code_challenge_method=S256.");
    }
    return request;
  }

  /**
   * Signs a member in to `request.app`: by employee id or email, and password. Every failure says
   * the same (`SIGN_IN_FAILED`); the audit log keeps the reason. Returns the redirect with a code,
   * or `passwordExpired` when the password must be changed first (`newPassword` does that).
   */
  async signIn(
    request: AuthorizeRequest,
    form: { login: string; password: string; newPassword?: string },
    ip: string | undefined,
  ): Promise<{ redirect: string } | { failed: string } | { passwordExpired: string }> {
    this.sweep();
    const db = new CorpDb(request.app.corp_id, this.pool);
    const appPk = request.app.id;
    const login = form.login.trim();
    if (hasControlCharacter(login) || form.password.includes("\0")) {
      // No login holds a control character (and PostgreSQL refuses NUL): the generic failure, no lookup.
      await burnVerification(form.password);
      await this.tokens.audit(request.app.corp_id, { action: "SIGN_IN", success: false, appPk, ip, detail: { reason: "malformed login" } });
      return { failed: SIGN_IN_FAILED };
    }
    // A login names a member by email or by employee id (issue 11, finding 14; security review:
    // the earlier "matches two members, signs neither in" rule let a restricted app block anyone's
    // email sign-in by creating a member whose employee id was that email). Emails are unique in a
    // corp (stored lower case), so a login containing "@" that is some member's email selects that
    // member, whatever employee ids look like; only when no member has that email is it compared
    // with employee ids. An employee id can thus neither take over nor block an address.
    const byEmail = login.includes("@");
    const member = login
      ? await db.one<MemberRow & { password_hash: string | null; password_changed_at: Date | null; failed_attempts: number; locked_until: Date | null }>(
          `SELECT m.id, m.name, m.employee_id, m.email, m.status, c.password_hash, c.password_changed_at, c.failed_attempts, c.locked_until,
                  ${VISIBLE_SQL} AS visible
             FROM member m JOIN app a ON a.corp_id = $1 AND a.id = $3
             LEFT JOIN member_credential c ON c.corp_id = $1 AND c.member_id = m.id
            WHERE m.corp_id = $1 AND (m.employee_id = $2 OR ($4 AND m.email = lower($2)))
            ORDER BY ($4 AND m.email IS NOT DISTINCT FROM lower($2)) DESC
            LIMIT 1`,
          [login, appPk, byEmail],
        )
      : undefined;
    const fail = async (reason: string) => {
      await this.tokens.audit(request.app.corp_id, { action: "SIGN_IN", success: false, appPk, memberPk: member?.id ?? null, ip, detail: { reason } });
      return { failed: SIGN_IN_FAILED };
    };
    if (!member || !member.password_hash) {
      await burnVerification(form.password);
      return fail(member ? "no password set" : "unknown account");
    }
    // The attempt is counted before the password is checked, in one statement with the lock test:
    // concurrent guesses cannot all pass a lock test read before any of them had failed. The fifth
    // attempt in a row locks the account; the counter starts again after the lock.
    const attempt = await db.one<{ locked_now: boolean }>(
      `UPDATE member_credential SET failed_attempts = CASE WHEN failed_attempts + 1 >= $3 THEN 0 ELSE failed_attempts + 1 END,
              locked_until = CASE WHEN failed_attempts + 1 >= $3 THEN now() + make_interval(mins => $4) ELSE locked_until END
        WHERE corp_id = $1 AND member_id = $2 AND (locked_until IS NULL OR locked_until <= now())
       RETURNING locked_until IS NOT NULL AND locked_until > now() AS locked_now`,
      [member.id, MAX_FAILED_SIGN_INS, LOCK_MINUTES],
    );
    if (!attempt) {
      await burnVerification(form.password);
      return fail("locked");
    }
    if (!(await verifyPassword(member.password_hash, form.password))) {
      return fail(attempt.locked_now ? "wrong password; account locked" : "wrong password");
    }
    await db.exec(`UPDATE member_credential SET failed_attempts = 0, locked_until = NULL WHERE corp_id = $1 AND member_id = $2`, [member.id]);
    if (member.status !== "ACTIVE") return fail(`member is ${member.status}`);
    if (!member.visible) {
      await this.tokens.audit(request.app.corp_id, { action: "SIGN_IN", success: false, appPk, memberPk: member.id, ip, detail: { reason: "outside the app's visibility" } });
      throw new AuthorizeError("access_denied", "This app is not available to you: you are outside its visibility scope.");
    }
    const expired = !member.password_changed_at || member.password_changed_at.getTime() < Date.now() - PASSWORD_MAX_AGE_DAYS * 86400_000;
    if (expired) {
      if (!form.newPassword) return { passwordExpired: `Your password is older than ${PASSWORD_MAX_AGE_DAYS} days: choose a new one.` };
      const problem = passwordProblem(form.newPassword) ?? (form.newPassword === form.password ? "The new password must differ from the old one." : undefined);
      if (problem) return { passwordExpired: problem };
      await db.exec(`UPDATE member_credential SET password_hash = $3, password_changed_at = now() WHERE corp_id = $1 AND member_id = $2`, [
        member.id,
        await hashPassword(form.newPassword),
      ]);
      await this.tokens.audit(request.app.corp_id, { action: "PASSWORD_SET", success: true, memberPk: member.id, ip, detail: { via: "expired password" } });
    }
    const code = opaque();
    await db.exec(
      `INSERT INTO oauth_code (code_hash, corp_id, app_id, member_id, redirect_uri, scopes, nonce, code_challenge, auth_time, expires_at)
       VALUES ($2, $1, $3, $4, $5, $6, $7, $8, now(), now() + make_interval(secs => $9))`,
      [sha256(code), appPk, member.id, request.redirectUri, request.scopes, request.nonce ?? null, request.codeChallenge ?? null, CODE_TTL_SECONDS],
    );
    await this.tokens.audit(request.app.corp_id, { action: "SIGN_IN", success: true, appPk, memberPk: member.id, ip });
    return { redirect: this.redirectTo(request, { code }) };
  }

  /**
   * Revokes a refresh-token family: its refresh tokens, and the access tokens issued with them (a
   * reused refresh token or code means one of them leaked: RFC 6749 §4.1.2 and §10.4, RFC 7009
   * §2.1). Each access token's jti is derived from the hash of the refresh token issued with it
   * (`accessJti`), so they are found without storing them; they are refused from the next call on.
   */
  private async revokeFamily(db: CorpDb, familyId: string): Promise<void> {
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

  /** The client's redirect URI with `params`, `state` and `iss` (RFC 9207). */
  redirectTo(request: Pick<AuthorizeRequest, "redirectUri" | "state">, params: Record<string, string>): string {
    const url = new URL(request.redirectUri);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    if (request.state) url.searchParams.set("state", request.state);
    url.searchParams.set("iss", this.config.publicUrl);
    return url.toString();
  }

  /**
   * The corp (global id) a code or refresh token was issued in: a vendor app's client is one per
   * corp, and standard clients do not send corp_id to the token endpoint.
   */
  async corpOfGrant(form: { grant_type?: string; code?: string; refresh_token?: string }): Promise<string | undefined> {
    const [from, value] = form.grant_type === "authorization_code" ? ["oauth_code WHERE code_hash", form.code] : ["refresh_token WHERE token_hash", form.refresh_token];
    if (!value) return undefined;
    // By hash: the secret names the corp.
    const row = (await this.pool.query<{ corp_id: string }>(`SELECT corp_id FROM ${from} = $1`, [sha256(value)])).rows[0];
    return row ? toGlobalId("Corp", row.corp_id) : undefined;
  }

  /** grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). */
  async exchangeCode(app: TokenApp, form: { code?: string; redirect_uri?: string; code_verifier?: string }, ip: string | undefined) {
    if (!form.code) throw new OAuthError("invalid_request", "code is required.");
    const hash = sha256(form.code);
    // By hash: the code is what names the corp.
    const spent = await this.pool.query<{ corp_id: string; app_id: string; member_id: string; redirect_uri: string; scopes: string[]; nonce: string | null; code_challenge: string | null; auth_time: Date; expired: boolean; was_used: boolean; family_id: string | null }>(
      `UPDATE oauth_code c SET used_at = now(), family_id = COALESCE(c.family_id, $2::uuid)
         FROM (SELECT code_hash, used_at IS NOT NULL AS was_used FROM oauth_code WHERE code_hash = $1 AND app_id = $3 FOR UPDATE) old
        WHERE c.code_hash = old.code_hash
       RETURNING c.corp_id, c.app_id, c.member_id, c.redirect_uri, c.scopes, c.nonce, c.code_challenge, c.auth_time,
                 c.expires_at <= now() AS expired, old.was_used, c.family_id`,
      // Only the client the code was issued to spends it: another client's attempt changes nothing.
      [hash, randomUUID(), app.id],
    );
    const code = spent.rows[0];
    const invalid = new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client.");
    if (!code || code.app_id !== app.id) throw invalid;
    if (code.was_used) {
      // A replayed code: revoke what the first exchange issued (RFC 6749 §4.1.2).
      await this.revokeFamily(new CorpDb(code.corp_id, this.pool), code.family_id!);
      await this.tokens.audit(code.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: code.member_id, ip, detail: { reason: "authorization code reused; its tokens were revoked" } });
      throw invalid;
    }
    if (code.expired) throw invalid;
    if (form.redirect_uri !== code.redirect_uri) throw new OAuthError("invalid_grant", "redirect_uri differs from the one of the authorization request.");
    if (code.code_challenge) {
      if (!form.code_verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier)) throw new OAuthError("invalid_grant", "code_verifier is missing or malformed.");
      const challenge = createHash("sha256").update(form.code_verifier, "ascii").digest("base64url");
      if (challenge !== code.code_challenge) throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge.");
    } else if (form.code_verifier) {
      throw new OAuthError("invalid_grant", "code_verifier given, but the authorization request had no code_challenge.");
    }
    return this.issueForMember(app, { memberPk: code.member_id, scopes: code.scopes, nonce: code.nonce, authTime: code.auth_time, familyId: code.family_id! }, ip, "authorization_code");
  }

  /** grant_type=refresh_token: rotates the token; a spent one revokes its family (OAuth 2.0 Security BCP §4.14.2). */
  async refresh(app: TokenApp, form: { refresh_token?: string; scope?: string }, ip: string | undefined) {
    if (!form.refresh_token) throw new OAuthError("invalid_request", "refresh_token is required.");
    const invalid = new OAuthError("invalid_grant", "The refresh token is invalid, expired or revoked.");
    const row = (
      await this.pool.query<{ token_hash: string; corp_id: string; app_id: string; member_id: string; family_id: string; scopes: string[]; auth_time: Date; live: boolean; used: boolean; revoked: boolean }>(
        `UPDATE refresh_token t SET used_at = COALESCE(t.used_at, now())
           FROM (SELECT token_hash, used_at IS NOT NULL AS used FROM refresh_token WHERE token_hash = $1 AND app_id = $2 FOR UPDATE) old
          WHERE t.token_hash = old.token_hash
         RETURNING t.token_hash, t.corp_id, t.app_id, t.member_id, t.family_id, t.scopes, t.auth_time, t.expires_at > now() AS live, old.used, t.revoked_at IS NOT NULL AS revoked`,
        // Only the client the token was issued to spends it (another client's attempt changes nothing).
        [sha256(form.refresh_token), app.id],
      )
    ).rows[0];
    if (!row || row.app_id !== app.id) throw invalid;
    if (row.used && !row.revoked) {
      await this.revokeFamily(new CorpDb(row.corp_id, this.pool), row.family_id);
      await this.tokens.audit(row.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: row.member_id, ip, detail: { reason: "refresh token reused; its family was revoked" } });
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
      `SELECT m.id, m.name, m.employee_id, m.email, m.status, ${VISIBLE_SQL} AS visible,
              ARRAY(SELECT md.department_id::text FROM member_department md WHERE md.corp_id = $1 AND md.member_id = m.id ORDER BY md.department_id) AS departments,
              (SELECT c.sessions_revoked_at FROM member_credential c WHERE c.corp_id = $1 AND c.member_id = m.id) AS sessions_revoked_at
         FROM member m JOIN app a ON a.corp_id = $1 AND a.id = $3
        WHERE m.corp_id = $1 AND m.id = $2`,
      [grant.memberPk, app.id],
    );
    const refusedWhy =
      !member ? "member deleted"
      : member.status !== "ACTIVE" ? `member is ${member.status}`
      : !member.visible ? "member outside the app's visibility"
      : member.sessions_revoked_at && member.sessions_revoked_at >= grant.authTime ? "member's sessions were revoked"
      : undefined;
    if (refusedWhy) {
      await this.revokeFamily(db, grant.familyId);
      await this.tokens.audit(app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, memberPk: grant.memberPk, ip, detail: { grant: grantType, reason: refusedWhy } });
      throw new OAuthError("invalid_grant", "The member may no longer use this app: sign in again.");
    }
    const m = member!;
    const refreshToken = opaque();
    const apiScopes = grant.scopes.filter((s) => isScope(s) && app.scopes.includes(s));
    const { token: accessToken, expiresIn } = this.tokens.issue({ clientId: app.client_id, corpId: app.corp_id, scopes: grant.scopes.filter((s) => !isScope(s) || apiScopes.includes(s)), memberId: m.id, appPk: app.id, jti: accessJti(sha256(refreshToken)) });
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
    const idToken = this.tokens.sign(idClaims, { audience: app.client_id, subject: toGlobalId("Member", m.id), expiresIn });
    await db.exec(
      `INSERT INTO refresh_token (token_hash, corp_id, app_id, member_id, family_id, scopes, auth_time, expires_at)
       VALUES ($2, $1, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
      [sha256(refreshToken), app.id, m.id, grant.familyId, grant.scopes, grant.authTime, this.config.refreshTokenTtlSeconds],
    );
    await this.tokens.audit(app.corp_id, { action: "TOKEN_ISSUED", success: true, appPk: app.id, memberPk: m.id, ip, detail: { grant: grantType, scope: grant.scopes.join(" ") } });
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
      `SELECT m.name, m.employee_id, m.email,
              ARRAY(SELECT md.department_id::text FROM member_department md WHERE md.corp_id = $1 AND md.member_id = m.id ORDER BY md.department_id) AS departments
         FROM member m WHERE m.corp_id = $1 AND m.id = $2`,
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

  /** RFC 7009: revokes a refresh token (its whole family) or an access token (by jti) of `app`. Unknown tokens are ignored. */
  async revoke(app: TokenApp, token: string, ip: string | undefined): Promise<void> {
    const db = new CorpDb(app.corp_id, this.pool);
    const family = await db.one<{ family_id: string; member_id: string }>(
      `SELECT family_id, member_id FROM refresh_token WHERE corp_id = $1 AND token_hash = $2 AND app_id = $3`,
      [sha256(token), app.id],
    );
    if (family) {
      await this.revokeFamily(db, family.family_id);
      await this.tokens.audit(app.corp_id, { action: "TOKEN_REVOKED", success: true, appPk: app.id, memberPk: family.member_id, ip, detail: { type: "refresh_token" } });
      return;
    }
    let claims;
    try {
      claims = await this.tokens.verify(token, { ignoreExpiration: true });
    } catch {
      return;
    }
    if (claims.azp !== app.client_id || claims.corp !== toGlobalId("Corp", app.corp_id) || typeof claims.jti !== "string" || !/^[0-9a-f-]{36}$/i.test(claims.jti)) return;
    await db.exec(`INSERT INTO revoked_token (jti, corp_id, expires_at) VALUES ($2, $1, to_timestamp($3)) ON CONFLICT (jti) DO NOTHING`, [claims.jti, claims.exp]);
    // This instance refuses the token from the next call on; others within their app cache (5 s).
    this.tokens.invalidate(claims.azp, app.corp_id);
    await this.tokens.audit(app.corp_id, { action: "TOKEN_REVOKED", success: true, appPk: app.id, ip, detail: { type: "access_token" } });
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
      return { active: true, token_type: "refresh_token", client_id: app.client_id, scope: refresh.scopes.join(" "), sub: toGlobalId("Member", refresh.member_id), exp: Number(refresh.exp), iat: Number(refresh.iat) };
    }
    try {
      const claims = await this.tokens.verify(token);
      if (claims.azp !== app.client_id || claims.corp !== toGlobalId("Corp", app.corp_id)) return { active: false };
      await this.tokens.authenticate(token);
      return { active: true, token_type: "Bearer", client_id: claims.azp, scope: claims.scope, sub: claims.sub, exp: claims.exp, iat: claims.iat, iss: claims.iss, aud: claims.aud, corp: claims.corp, ...(claims.member ? { member: claims.member } : {}) };
    } catch {
      return { active: false };
    }
  }

  /** The names the sign-in page shows: the app's and the corp's. */
  async pageNames(request: AuthorizeRequest): Promise<{ appName: string; corpName: string }> {
    const row = await new CorpDb(request.app.corp_id, this.pool).one<{ app_name: string; corp_name: string }>(
      `SELECT a.name AS app_name, c.name AS corp_name FROM corp c JOIN app a ON a.corp_id = c.id AND a.id = $2 WHERE c.id = $1`,
      [request.app.id],
    );
    return { appName: row?.app_name ?? "an app", corpName: row?.corp_name ?? "your corp" };
  }

  /** The member an activation link is for, while it is unused and unexpired. */
  async activationTarget(token: string): Promise<{ corpPk: string; memberPk: string; name: string; employeeId: string; corpName: string } | undefined> {
    // By hash: the link is what names the corp.
    const row = (
      await this.pool.query<{ corp_id: string; member_id: string; name: string; employee_id: string; corp_name: string }>(
        `SELECT l.corp_id, l.member_id, m.name, m.employee_id, c.name AS corp_name
           FROM activation_link l JOIN member m ON m.id = l.member_id AND m.corp_id = l.corp_id JOIN corp c ON c.id = l.corp_id
          WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now() AND m.status IN ('ACTIVE', 'UNACTIVATED')`,
        [sha256(token)],
      )
    ).rows[0];
    return row ? { corpPk: row.corp_id, memberPk: row.member_id, name: row.name, employeeId: row.employee_id, corpName: row.corp_name } : undefined;
  }

  /** Sets the password through an activation link (single use); an UNACTIVATED member becomes ACTIVE. */
  async activate(token: string, password: string, ip: string | undefined): Promise<{ error?: string; corpName?: string; employeeId?: string }> {
    const problem = passwordProblem(password);
    if (problem) return { error: problem };
    const target = await this.activationTarget(token);
    if (!target) return { error: "This link is invalid, expired or already used." };
    const hash = await hashPassword(password);
    const used = await transaction(this.pool, target.corpPk, async (tx) => {
      const db = tx.db;
      const spent = await db.exec(`UPDATE activation_link SET used_at = now() WHERE corp_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > now()`, [sha256(token)]);
      if (!spent) return false;
      await db.exec(
        `INSERT INTO member_credential (member_id, corp_id, password_hash, password_changed_at) VALUES ($2, $1, $3, now())
         ON CONFLICT (member_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_changed_at = now(), failed_attempts = 0, locked_until = NULL`,
        [target.memberPk, hash],
      );
      const activated = await db.one<{ paths: string[] }>(
        `WITH up AS (UPDATE member m SET status = 'ACTIVE', updated_at = now() WHERE m.corp_id = $1 AND m.id = $2 AND m.status = 'UNACTIVATED' RETURNING m.id)
         SELECT ARRAY(SELECT d.path FROM member_department md JOIN department d ON d.id = md.department_id WHERE md.corp_id = $1 AND md.member_id = up.id) AS paths FROM up`,
        [target.memberPk],
      );
      if (activated) {
        this.events.append(tx, STREAMS.directory, {
          type: DirectoryEventType.MEMBER_UPDATED,
          subjectType: "Member",
          subjectId: target.memberPk,
          audience: activated.paths,
          data: { changedFields: ["status"] },
        });
      }
      await writeAudit(db, { action: "PASSWORD_SET", success: true, memberPk: target.memberPk, ip, detail: { via: "activation link" } });
      return true;
    });
    if (!used) return { error: "This link is invalid, expired or already used." };
    return { corpName: target.corpName, employeeId: target.employeeId };
  }
}


/** Is member `m` inside app `a`'s visibility (departments' subtrees, or listed by id)? */
const VISIBLE_SQL = appSeesMemberSql("m.id");
