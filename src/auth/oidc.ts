import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Config } from "../config";
import { DomainError } from "../errors/domain-error";
import type Redis from "ioredis";
import { IpThrottle } from "../ratelimit/ip-throttle";
import { hasControlCharacter } from "./form-input";
import { activationPage, errorPage, FORM_TOKEN_FIELD, PAGE_HEADERS, signInPage, throttledPage } from "./pages";
import { SCOPES } from "../policy/scopes";
import { bearerToken, OAuthError, type TokenApp } from "./oauth-types";
import type { SsoService } from "./sso";
import { AUTHORIZE_FORM_PARAMS, AuthorizeError, OIDC_SCOPES, type AuthorizeRequest } from "./sso-types";
import type { TokenService } from "./tokens";

type Form = Record<string, string | undefined>;

function fields(source: unknown): Form {
  const out: Form = {};
  if (source && typeof source === "object") for (const [k, v] of Object.entries(source)) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The form of an OAuth endpoint that authenticates a client (token, revoke, introspect). A control
 * character in any parameter is `invalid_request` before anything is looked up (see
 * `hasControlCharacter`).
 */
function oauthForm(source: unknown): Form {
  const form = fields(source);
  const malformed = Object.keys(form).find((k) => hasControlCharacter(form[k]));
  if (malformed !== undefined)
    throw new OAuthError("invalid_request", `${hasControlCharacter(malformed) ? "A parameter" : malformed} is malformed (it holds a control character).`);
  return form;
}

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1, form-urlencoded parts) or the form body. */
function clientCredentials(req: Request, form: Form): { clientId?: string; clientSecret?: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!basic) return { clientId: form.client_id, clientSecret: form.client_secret };
  const decoded = Buffer.from(basic[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const malformed = new OAuthError("invalid_client", "Malformed HTTP Basic credentials.");
  if (colon < 0) throw malformed;
  let credentials: { clientId: string; clientSecret: string };
  try {
    credentials = {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  } catch {
    throw malformed;
  }
  if (hasControlCharacter(credentials.clientId) || hasControlCharacter(credentials.clientSecret)) throw malformed;
  return credentials;
}

function sendOAuthError(res: Response, e: unknown): void {
  if (!(e instanceof OAuthError)) throw e;
  if (e.status === 401) res.setHeader("www-authenticate", 'Basic realm="workgraph"');
  res.status(e.status).json({ error: e.error, error_description: e.description });
}

/**
 * The OAuth 2.0 / OpenID Connect endpoints (issue 5): discovery, authorize (with the sign-in page),
 * token (client credentials, authorization code, refresh token), userinfo, revoke (RFC 7009),
 * introspect (RFC 7662), and the activation page. Mounted by `server.ts` on the API's port.
 */
export function oauthRouter(config: Config, tokens: TokenService, sso: SsoService, redis?: Redis): Router {
  const router = express.Router();
  const pageHeaders = (res: Response) => Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));

  // Per-IP throttles (issue 11, finding 8): the per-account lockout does not stop one address
  // spraying a password over many accounts. Shared through Redis (the gateway's `throttleRedis`
  // connection, which the gateway closes) when REDIS_URL is set.
  const formThrottle = new IpThrottle("sign-in-forms", config.signinIpLimitPerMinute, redis);
  const tokenThrottle = new IpThrottle("token", config.tokenIpLimitPerMinute, redis);
  const throttleForms = async (req: Request, res: Response, next: NextFunction) => {
    const verdict = await formThrottle.consume(req.ip);
    if (verdict.allowed) return next();
    pageHeaders(res);
    res.setHeader("retry-after", String(verdict.retryAfterSeconds));
    res.status(429).type("html").send(throttledPage(verdict.retryAfterSeconds));
  };
  /**
   * The per-IP throttle of every endpoint that authenticates a client (token, revoke, introspect:
   * one budget), before the body is read or a secret checked: `429` `slow_down` with Retry-After.
   */
  const throttleClients = async (req: Request, res: Response, next: NextFunction) => {
    const verdict = await tokenThrottle.consume(req.ip);
    if (verdict.allowed) return next();
    noStore(res);
    res.setHeader("retry-after", String(verdict.retryAfterSeconds));
    res.status(429).json({ error: "slow_down", error_description: `Too many token requests from this address: retry in ${verdict.retryAfterSeconds} s.` });
  };
  const form = express.urlencoded({ extended: false, limit: "16kb" });
  const issuer = config.publicUrl;
  const noStore = (res: Response) => {
    res.setHeader("cache-control", "no-store");
    res.setHeader("pragma", "no-cache");
  };

  router.get("/.well-known/openid-configuration", (_req, res) => {
    res.setHeader("cache-control", "public, max-age=300");
    res.json({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: [...OIDC_SCOPES, ...Object.keys(SCOPES)],
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "name", "employee_id", "corp", "departments", "email"],
      authorization_response_iss_parameter_supported: true,
      claims_parameter_supported: false,
      request_parameter_supported: false,
    });
  });

  /** Validates the request; answers errors itself (page or redirect) and returns undefined then. */
  async function authorizeRequest(params: Form, res: Response): Promise<AuthorizeRequest | undefined> {
    let request: AuthorizeRequest | undefined;
    try {
      return await sso.authorization.parse(params);
    } catch (e) {
      pageHeaders(res);
      if (e instanceof DomainError) return void res.status(400).type("html").send(errorPage(e.message));
      if (e instanceof AuthorizeError && params.redirect_uri) {
        request = { redirectUri: params.redirect_uri, state: params.state } as AuthorizeRequest;
        return void res.redirect(303, sso.authorization.redirectTo(request, { error: e.error, error_description: e.description }));
      }
      throw e;
    }
  }

  const hiddenFields = (params: Form) => Object.fromEntries(AUTHORIZE_FORM_PARAMS.filter((k) => params[k] !== undefined).map((k) => [k, params[k]!]));

  /**
   * Login CSRF (issue 10; issue 11, finding 11). The sign-in and activation forms are accepted only
   * when posted from the pages this server rendered, so no other site can make its visitors'
   * browsers post sign-in attempts (signing them in as the attacker, or locking accounts through
   * strangers' browsers). Three signals, each enough to refuse:
   *
   * 1. A form token bound to a cookie. Rendering a form sets a random 256-bit cookie (HttpOnly,
   *    SameSite=Lax, Path=/; `Secure` and the `__Host-` prefix when PUBLIC_URL is https, so
   *    neither another site nor a sibling subdomain can set it; plain on http://localhost) unless
   *    the browser already sent one, and puts HMAC-SHA256(cookie, purpose) in a hidden field. The
   *    POST must bring both, matching. Another site can neither read the cookie nor our page
   *    (same-origin policy), so it cannot forge the field; a SameSite=Lax cookie is not even sent
   *    with its cross-site post. Lax, not Strict (security review): an app sends the browser to
   *    /oauth/authorize by a cross-site navigation, which carries no Strict cookie, so the page
   *    would set a new one and a sign-in tab opened earlier would then post a stale token (403);
   *    a Lax cookie comes with that top-level GET and is kept. Nothing is stored on the server, so
   *    any instance checks any form.
   * 2. `Sec-Fetch-Site`, when the browser sends it: only `same-origin` (or `none`) passes;
   *    `cross-site` and `same-site` (another port or subdomain) are refused.
   * 3. `Origin`, when present and not `null`: it must be PUBLIC_URL's origin. Never the request's
   *    `Host` (a DNS-rebinding site controls that). `Origin: null` is left to the token: Chromium
   *    sends it for same-origin posts under `Referrer-Policy: no-referrer` (our pages now send
   *    `same-origin`, but a proxy or an older page may not).
   *
   * The check runs before the throttle and before any account is looked up, so a refused post
   * counts no attempt, writes no audit row and spends no password hashing.
   */
  const ownOrigin = new URL(config.publicUrl).origin;
  const secureCookie = config.publicUrl.startsWith("https:");
  const COOKIE = secureCookie ? "__Host-wg_form" : "wg_form";
  const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
  const cookieOf = (req: Request): string | undefined => {
    for (const part of (req.headers.cookie ?? "").split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
        const value = part.slice(eq + 1).trim();
        return COOKIE_VALUE.test(value) ? value : undefined;
      }
    }
    return undefined;
  };
  const tokenFor = (secret: string, purpose: string) => createHmac("sha256", secret).update(`workgraph-form:${purpose}`).digest("base64url");
  /** The hidden form-token field for a page, setting the cookie when the browser has none yet. */
  const formToken = (req: Request, res: Response, purpose: string): Record<string, string> => {
    let secret = cookieOf(req);
    if (!secret) {
      secret = randomBytes(32).toString("base64url");
      res.append("set-cookie", `${COOKIE}=${secret}; Path=/; HttpOnly; SameSite=Lax${secureCookie ? "; Secure" : ""}`);
    }
    return { [FORM_TOKEN_FIELD]: tokenFor(secret, purpose) };
  };
  const fromOwnPages = (purpose: string) => (req: Request, res: Response, next: NextFunction) => {
    const site = req.headers["sec-fetch-site"];
    const origin = req.headers.origin;
    const secret = cookieOf(req);
    const sent = fields(req.body)[FORM_TOKEN_FIELD] ?? "";
    const expected = secret ? Buffer.from(tokenFor(secret, purpose)) : undefined;
    const tokenOk = expected !== undefined && Buffer.byteLength(sent) === expected.length && timingSafeEqual(Buffer.from(sent), expected);
    const siteOk = site === undefined || site === "same-origin" || site === "none";
    const originOk = origin === undefined || origin === "null" || origin === ownOrigin;
    if (tokenOk && siteOk && originOk) return next();
    pageHeaders(res);
    res
      .status(403)
      .type("html")
      .send(errorPage("This form can only be sent from its own page. Open the sign-in link again (your browser must accept this site's cookies)."));
  };

  type SignInExtra = { login?: string; error?: string; passwordExpired?: string };
  const signIn = async (req: Request, res: Response, status: number, request: AuthorizeRequest, params: Form, extra: SignInExtra = {}) => {
    const names = await sso.authorization.pageNames(request);
    res
      .status(status)
      .type("html")
      .send(signInPage({ ...names, hidden: { ...hiddenFields(params), ...formToken(req, res, "sign-in") }, ...extra }));
  };

  router.get("/oauth/authorize", async (req, res) => {
    const params = fields(req.query);
    const request = await authorizeRequest(params, res);
    if (!request) return;
    pageHeaders(res);
    await signIn(req, res, 200, request, params);
  });

  router.post("/oauth/authorize", form, fromOwnPages("sign-in"), throttleForms, async (req, res) => {
    const params = fields(req.body);
    const request = await authorizeRequest(params, res);
    if (!request) return;
    pageHeaders(res);
    try {
      const result = await sso.signIn.attempt(
        request,
        { login: params.login ?? "", password: params.password ?? "", newPassword: params.new_password || undefined },
        req.ip,
      );
      if ("redirect" in result) return void res.redirect(303, result.redirect);
      if ("failed" in result) return void (await signIn(req, res, 401, request, params, { login: params.login, error: result.failed }));
      await signIn(req, res, 200, request, params, { login: params.login, passwordExpired: result.passwordExpired });
    } catch (e) {
      if (!(e instanceof AuthorizeError)) throw e;
      res.redirect(303, sso.authorization.redirectTo(request, { error: e.error, error_description: e.description }));
    }
  });

  router.post("/oauth/token", throttleClients, form, async (req, res) => {
    noStore(res);
    try {
      const body = oauthForm(req.body);
      const { clientId, clientSecret } = clientCredentials(req, body);
      const grantType = body.grant_type;
      if (!grantType) throw new OAuthError("invalid_request", "grant_type is required.");
      if (grantType === "client_credentials") {
        if (!clientId || !clientSecret)
          throw new OAuthError("invalid_client", "Client authentication is required (HTTP Basic or client_id and client_secret).");
        return void res.json(await tokens.clientCredentials.grant(clientId, clientSecret, body.scope, { corpId: body.corp_id, ip: req.ip }));
      }
      if (grantType !== "authorization_code" && grantType !== "refresh_token")
        throw new OAuthError("unsupported_grant_type", `grant_type ${grantType} is not supported.`);
      if (!clientId)
        throw new OAuthError("invalid_client", "Client authentication is required (HTTP Basic, client_secret_post, or client_id for a public client).");
      const corpId = body.corp_id ?? (() => sso.grants.corpOfGrant(body));
      const app = await tokens.clients.authenticate(clientId, clientSecret, { allowPublic: true, corpId, ip: req.ip });
      await tokens.clients.checkNetwork(app, req.ip);
      res.json(grantType === "authorization_code" ? await sso.grants.exchangeCode(app, body, req.ip) : await sso.grants.refresh(app, body, req.ip));
    } catch (e) {
      sendOAuthError(res, e);
    }
  });

  /** Authenticates the client of /oauth/revoke and /oauth/introspect. */
  async function endpointClient(req: Request, body: Form, allowPublic: boolean): Promise<TokenApp> {
    const { clientId, clientSecret } = clientCredentials(req, body);
    if (!clientId) throw new OAuthError("invalid_client", "Client authentication is required.");
    const app = await tokens.clients.authenticate(clientId, clientSecret, { allowPublic, corpId: body.corp_id, ip: req.ip });
    await tokens.clients.checkNetwork(app, req.ip);
    return app;
  }

  router.post("/oauth/revoke", throttleClients, form, async (req, res) => {
    noStore(res);
    try {
      const body = oauthForm(req.body);
      const app = await endpointClient(req, body, true);
      if (!body.token) throw new OAuthError("invalid_request", "token is required.");
      await sso.revocation.revoke(app, body.token, req.ip);
      res.status(200).end();
    } catch (e) {
      sendOAuthError(res, e);
    }
  });

  router.post("/oauth/introspect", throttleClients, form, async (req, res) => {
    noStore(res);
    try {
      const body = oauthForm(req.body);
      const app = await endpointClient(req, body, false);
      if (!body.token) throw new OAuthError("invalid_request", "token is required.");
      res.json(await sso.revocation.introspect(app, body.token));
    } catch (e) {
      sendOAuthError(res, e);
    }
  });

  const userinfo = async (req: Request, res: Response) => {
    noStore(res);
    const token = bearerToken(req.headers.authorization);
    const refuse = (status: number, error: string, description: string) => {
      res.setHeader("www-authenticate", `Bearer error="${error}", error_description="${description}"`);
      res.status(status).json({ error, error_description: description });
    };
    if (!token) return refuse(401, "invalid_token", "A member's access token is required.");
    try {
      const principal = await tokens.authenticate(token, req.ip);
      const claims = await tokens.verify(token);
      const scopes = claims.scope.split(" ");
      if (!principal.member) return refuse(403, "insufficient_scope", "userinfo needs a member's token (from sign-in), not an app token.");
      if (!scopes.includes("openid")) return refuse(403, "insufficient_scope", "The token lacks the openid scope.");
      const info = await sso.grants.userinfo(principal.corpId, principal.member.id, scopes);
      if (!info) return refuse(401, "invalid_token", "The member no longer exists.");
      res.json(info);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (e.code === "FORBIDDEN") return refuse(403, "insufficient_scope", e.message);
      refuse(401, "invalid_token", e.message);
    }
  };
  router.get("/oauth/userinfo", userinfo);
  router.post("/oauth/userinfo", form, userinfo);

  const activation = async (req: Request, res: Response, status: number, token: string, error?: string) => {
    const target = await sso.activation.target(token);
    res
      .status(target ? status : 404)
      .type("html")
      .send(activationPage(target ? { name: target.name, corpName: target.corpName, hidden: formToken(req, res, "activate"), error } : { error }));
  };

  router.get("/activate/:token", async (req, res) => {
    pageHeaders(res);
    await activation(req, res, 200, String(req.params.token));
  });

  router.post("/activate/:token", form, fromOwnPages("activate"), throttleForms, async (req, res) => {
    pageHeaders(res);
    const token = String(req.params.token);
    const body = fields(req.body);
    const password = body.password ?? "";
    // Typed twice: a mismatch stores nothing and spends nothing of the link.
    if (body.password_again !== password)
      return void (await activation(req, res, 400, token, "The two passwords differ: type the same new password in both fields."));
    const result = await sso.activation.activate(token, password, req.ip);
    if (!result.error) return void res.type("html").send(activationPage({ done: true, corpName: result.corpName, employeeId: result.employeeId }));
    await activation(req, res, 400, token, result.error);
  });

  return router;
}
