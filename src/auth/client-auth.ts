import type { Pool } from "pg";
import { parseGlobalId } from "../schema/global-id";
import { writeAuditNow } from "../services/audit";
import type { ClientLookup } from "./client-lookup";
import { ipAllowed } from "./network";
import { OAuthError, type TokenApp } from "./oauth-types";
import { verifySecret } from "./secrets";

/**
 * Authenticates the clients of the OAuth endpoints (token, revoke, introspect) and holds them to
 * their apps' allowed IP ranges. Refusals are audited in the app's corp.
 */
export class ClientAuthenticator {
  constructor(
    private readonly pool: Pool,
    private readonly lookup: ClientLookup,
  ) {}

  /**
   * Authenticates a client at an OAuth endpoint. A self-built app by its client id; a vendor app by
   * its client id plus `corpId` (the installation in that corp). The previous secret is accepted
   * until its grace period ends. Public clients have no secret: `secret` must be absent and PKCE
   * does the job. A corp that has not installed a vendor app looks exactly like one that does not
   * exist. `ip` (the caller's address) goes into the audit row of a refusal.
   */
  async authenticate(
    clientId: string,
    secret: string | undefined,
    opts: { corpId?: string | (() => Promise<string | undefined>); allowPublic?: boolean; ip?: string } = {},
  ): Promise<TokenApp> {
    const refused = new OAuthError("invalid_client", "Unknown client, wrong secret, or the app is disabled.");
    const own = await this.lookup.ownApp(clientId);
    if (own) {
      const secretOk = secret !== undefined ? this.secretMatches(own, secret) : Boolean(opts.allowPublic && own.public_client);
      if (!own.enabled || !secretOk) {
        const detail = { reason: "client authentication failed" };
        await writeAuditNow(this.pool, own.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: own.id, ip: opts.ip, detail });
        throw refused;
      }
      return own;
    }
    const vendor = await this.lookup.vendorApp(clientId);
    if (!vendor || secret === undefined || !verifySecret(secret, vendor.secret_hash)) throw refused;
    // Only a vendor's client needs the corp: worked out (e.g. from the grant) only now.
    const corpId = typeof opts.corpId === "function" ? await opts.corpId() : opts.corpId;
    if (!corpId) throw new OAuthError("invalid_request", "A vendor app must name the corp: add corp_id (the corp's global id).");
    const notInstalled = new OAuthError("invalid_grant", "The app is not installed in this corp.");
    const corp = parseGlobalId(corpId);
    if (!corp || corp.type !== "Corp") throw notInstalled;
    const installed = await this.lookup.installation(corp.pk, vendor.id);
    if (!installed || !installed.enabled) throw notInstalled;
    return installed;
  }

  private secretMatches(app: TokenApp, secret: string): boolean {
    if (app.secret_hash && verifySecret(secret, app.secret_hash)) return true;
    const previousLive = app.previous_secret_expires_at && app.previous_secret_expires_at.getTime() > Date.now();
    return Boolean(app.previous_secret_hash && previousLive && verifySecret(secret, app.previous_secret_hash));
  }

  /** Refuses (403, audited) a client calling from outside its allowed IP ranges. */
  async checkNetwork(app: TokenApp, ip: string | undefined): Promise<void> {
    if (ipAllowed(ip, app.allowed_ip_ranges)) return;
    const detail = { reason: "IP address outside the allowed ranges" };
    await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, ip, detail });
    throw new OAuthError("access_denied", "The client's IP address is outside the app's allowed IP ranges.", 403);
  }
}
