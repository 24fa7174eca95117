import type { Pool } from "pg";
import type { Config } from "../config";
import { CorpDb } from "../db/scoped-db";
import { DomainError } from "../errors/domain-error";
import { isScope } from "../policy/scopes";
import { parseGlobalId } from "../schema/global-id";
import type { ClientLookup } from "./client-lookup";
import { hasControlCharacter } from "./form-input";
import { AUTHORIZE_FORM_PARAMS, AuthorizeError, OIDC_SCOPES, type AuthorizeRequest } from "./sso-types";

/** The parameters of an authorization request that `parse` reads. */
const AUTHORIZE_REQUEST_PARAMS = [...AUTHORIZE_FORM_PARAMS, "response_mode", "prompt"] as const;

/**
 * Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636): validating one, the
 * names its sign-in page shows, and the redirects back to the client.
 */
export class Authorization {
  constructor(
    private readonly pool: Pool,
    private readonly clients: ClientLookup,
    private readonly config: Config,
  ) {}

  /** Validates an authorization request. Errors before the redirect URI is trusted are thrown as DomainError (shown, not redirected). */
  async parse(q: Record<string, string | undefined>): Promise<AuthorizeRequest> {
    const clientId = q.client_id;
    if (!clientId) throw new DomainError("BAD_USER_INPUT", "client_id is required.", { field: "client_id" });
    for (const field of ["client_id", "redirect_uri", "corp_id"] as const) {
      if (hasControlCharacter(q[field])) throw new DomainError("BAD_USER_INPUT", `${field} is malformed (it holds a control character).`, { field });
    }
    let app = await this.clients.ownApp(clientId);
    if (!app) {
      // A vendor app signs members of the corp named by corp_id in, if that corp installed it; a
      // corp that did not looks exactly like an unknown client.
      const vendor = await this.clients.vendorApp(clientId);
      if (vendor && !q.corp_id) {
        throw new DomainError("BAD_USER_INPUT", "A vendor app must name the corp: add corp_id (the corp's global id).", { field: "corp_id" });
      }
      const corp = q.corp_id ? parseGlobalId(q.corp_id) : undefined;
      if (vendor && corp?.type === "Corp") {
        const installed = await this.clients.installation(corp.pk, vendor.id);
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
    const granted = app.scopes;
    request.scopes = [...new Set(asked.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s) || (isScope(s) && granted.includes(s))))];
    if (request.nonce && request.nonce.length > 256) throw new AuthorizeError("invalid_request", "nonce is too long (at most 256 characters).");
    if (q.code_challenge !== undefined && q.code_challenge !== "") {
      if (q.code_challenge_method !== "S256") throw new AuthorizeError("invalid_request", "code_challenge_method must be S256.");
      if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) {
        throw new AuthorizeError("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters).");
      }
      request.codeChallenge = q.code_challenge;
    } else if (app.public_client) {
      throw new AuthorizeError("invalid_request", "A public client must use PKCE: code_challenge with code_challenge_method=S256.");
    }
    return request;
  }

  /** The names the sign-in page shows: the app's and the corp's. */
  async pageNames(request: AuthorizeRequest): Promise<{ appName: string; corpName: string }> {
    const row = await new CorpDb(request.app.corp_id, this.pool).one<{ app_name: string; corp_name: string }>(
      `SELECT a.name AS app_name, c.name AS corp_name FROM corp c JOIN app a ON a.corp_id = c.id AND a.id = $2 WHERE c.id = $1`,
      [request.app.id],
    );
    return { appName: row?.app_name ?? "an app", corpName: row?.corp_name ?? "your corp" };
  }

  /** The client's redirect URI with `params`, `state` and `iss` (RFC 9207). */
  redirectTo(request: Pick<AuthorizeRequest, "redirectUri" | "state">, params: Record<string, string>): string {
    const url = new URL(request.redirectUri);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    if (request.state) url.searchParams.set("state", request.state);
    url.searchParams.set("iss", this.config.publicUrl);
    return url.toString();
  }
}
