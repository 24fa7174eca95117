import type { Pool } from "pg";
import type { CrossCorpDb } from "../db/cross-corp";
import { CorpDb } from "../db/scoped-db";
import { transaction } from "../db/transaction";
import type { MemberCredentialService } from "../services/member-credential.service";
import { writeAudit, writeAuditNow } from "../services/audit";
import type { Authorization } from "./authorization";
import { hasControlCharacter } from "./form-input";
import { burnVerification, hashPassword, PASSWORD_MAX_AGE_DAYS, passwordProblem, verifyPassword } from "./passwords";
import { AuthorizeError, CODE_TTL_SECONDS, SIGN_IN_FAILED, VISIBLE_SQL, type AuthorizeRequest, type MemberRow } from "./sso-types";
import { opaque, sha256 } from "./secrets";

type SignInMember = MemberRow & { password_hash: string | null; password_changed_at: Date | null };

/**
 * Member sign-in at the authorization endpoint (issue 5): by employee id or email and password,
 * with the lock after repeated failures and the rotation of expired passwords; a success issues a
 * single-use authorization code. Every failure says the same (`SIGN_IN_FAILED`); the audit log
 * keeps the reason.
 */
export class SignIn {
  private lastSweep = 0;

  constructor(
    private readonly pool: Pool,
    private readonly crossCorp: CrossCorpDb,
    private readonly authorization: Authorization,
    private readonly credentials: MemberCredentialService,
  ) {}

  /**
   * Deletes codes, refresh tokens and revoked-token entries past their use (at most once a minute,
   * from sign-ins). Across corps on purpose: these rows are keyed by expiry, not by tenant.
   */
  private sweep(): void {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    void (async () => {
      await this.crossCorp.exec(`DELETE FROM oauth_code WHERE expires_at < now() - interval '1 hour'`);
      await this.crossCorp.exec(`DELETE FROM revoked_token WHERE expires_at < now() - interval '1 minute'`);
      await this.crossCorp.exec(`DELETE FROM refresh_token WHERE expires_at < now() - interval '1 day'`);
    })().catch(() => undefined);
  }

  /**
   * Signs a member in to `request.app`. Returns the redirect with a code, the generic failure, or
   * `passwordExpired` when the password must be changed first (`newPassword` does that). A member
   * outside the app's visibility gets an `AuthorizeError` (access_denied, back to the client).
   */
  async attempt(
    request: AuthorizeRequest,
    form: { login: string; password: string; newPassword?: string },
    ip: string | undefined,
  ): Promise<{ redirect: string } | { failed: string } | { passwordExpired: string }> {
    this.sweep();
    const corpPk = request.app.corp_id;
    const db = new CorpDb(corpPk, this.pool);
    const appPk = request.app.id;
    const login = form.login.trim();
    if (hasControlCharacter(login) || form.password.includes("\0")) {
      // No login holds a control character (and PostgreSQL refuses NUL): the generic failure, no lookup.
      await burnVerification(form.password);
      await writeAuditNow(this.pool, corpPk, { action: "SIGN_IN", success: false, appPk, ip, detail: { reason: "malformed login" } });
      return { failed: SIGN_IN_FAILED };
    }
    const member = login ? await this.findMember(db, login, appPk) : undefined;
    const fail = async (reason: string) => {
      await writeAuditNow(this.pool, corpPk, { action: "SIGN_IN", success: false, appPk, memberPk: member?.id ?? null, ip, detail: { reason } });
      return { failed: SIGN_IN_FAILED };
    };
    if (!member || !member.password_hash) {
      await burnVerification(form.password);
      return fail(member ? "no password set" : "unknown account");
    }
    const attempt = await this.credentials.countSignInAttempt(db, member.id);
    if (!attempt) {
      await burnVerification(form.password);
      return fail("locked");
    }
    if (!(await verifyPassword(member.password_hash, form.password))) {
      return fail(attempt.lockedNow ? "wrong password; account locked" : "wrong password");
    }
    // The password is right: what is left is decided first, then written in one transaction.
    const refusal = member.status !== "ACTIVE" ? `member is ${member.status}` : !member.visible ? "outside the app's visibility" : undefined;
    const expired = !member.password_changed_at || member.password_changed_at.getTime() < Date.now() - PASSWORD_MAX_AGE_DAYS * 86400_000;
    let renewal: { answer?: string; hash?: string } = {};
    if (!refusal && expired) renewal = await this.renewal(form);
    const code = refusal || renewal.answer ? undefined : opaque();
    await transaction(this.pool, corpPk, async (tx) => {
      await this.credentials.clearFailedSignIns(tx.db, member.id);
      if (refusal) await writeAudit(tx.db, { action: "SIGN_IN", success: false, appPk, memberPk: member.id, ip, detail: { reason: refusal } });
      if (renewal.hash) {
        await this.credentials.changePassword(tx.db, member.id, renewal.hash);
        await writeAudit(tx.db, { action: "PASSWORD_SET", success: true, memberPk: member.id, ip, detail: { via: "expired password" } });
      }
      if (!code) return;
      await tx.db.exec(
        `INSERT INTO oauth_code (code_hash, corp_id, app_id, member_id, redirect_uri, scopes, nonce, code_challenge, auth_time, expires_at)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, now(), now() + make_interval(secs => $9))`,
        [sha256(code), appPk, member.id, request.redirectUri, request.scopes, request.nonce ?? null, request.codeChallenge ?? null, CODE_TTL_SECONDS],
      );
      await writeAudit(tx.db, { action: "SIGN_IN", success: true, appPk, memberPk: member.id, ip });
    });
    if (member.status === "ACTIVE" && refusal) {
      throw new AuthorizeError("access_denied", "This app is not available to you: you are outside its visibility scope.");
    }
    if (refusal) return { failed: SIGN_IN_FAILED };
    if (renewal.answer) return { passwordExpired: renewal.answer };
    return { redirect: this.authorization.redirectTo(request, { code: code! }) };
  }

  /**
   * A login names a member by email or by employee id (issue 11, finding 14; security review:
   * the earlier "matches two members, signs neither in" rule let a restricted app block anyone's
   * email sign-in by creating a member whose employee id was that email). Emails are unique in a
   * corp (stored lower case), so a login containing "@" that is some member's email selects that
   * member, whatever employee ids look like; only when no member has that email is it compared
   * with employee ids. An employee id can thus neither take over nor block an address.
   */
  private findMember(db: CorpDb, login: string, appPk: string): Promise<SignInMember | undefined> {
    return db.one<SignInMember>(
      `SELECT m.id, m.name, m.employee_id, m.email, m.status, c.password_hash, c.password_changed_at, ${VISIBLE_SQL} AS visible
         FROM member m JOIN app a ON a.corp_id = $1 AND a.id = $3
         LEFT JOIN member_credential c ON c.corp_id = $1 AND c.member_id = m.id
        WHERE m.corp_id = $1 AND (m.employee_id = $2 OR ($4 AND m.email = lower($2)))
        ORDER BY ($4 AND m.email IS NOT DISTINCT FROM lower($2)) DESC
        LIMIT 1`,
      [login, appPk, login.includes("@")],
    );
  }

  /** For an expired password: the page's answer (asking for a new one, or why it is refused), or the new one's hash. */
  private async renewal(form: { password: string; newPassword?: string }): Promise<{ answer?: string; hash?: string }> {
    if (!form.newPassword) return { answer: `Your password is older than ${PASSWORD_MAX_AGE_DAYS} days: choose a new one.` };
    const problem = passwordProblem(form.newPassword) ?? (form.newPassword === form.password ? "The new password must differ from the old one." : undefined);
    return problem ? { answer: problem } : { hash: await hashPassword(form.newPassword) };
  }
}
