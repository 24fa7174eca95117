import express, { type Request, type Response, type Router } from "express";
import type { Config } from "../config";
import { DomainError } from "../errors/domain-error";
import { activationPage, errorPage, PAGE_HEADERS, signInPage } from "./pages";
import { SCOPES } from "./scopes";
import { AuthorizeError, OIDC_SCOPES, type AuthorizeRequest, type SsoService } from "./sso";
import { bearerToken, OAuthError, type TokenApp, type TokenService } from "./tokens";

/** The authorization request parameters the sign-in form carries through its POST. */
const AUTHORIZE_PARAMS = ["response_type", "client_id", "corp_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"] as const;

type Form = Record<string, string | undefined>;

function fields(source: unknown): Form {
  const out: Form = {};
  if (source && typeof source === "object") for (const [k, v] of Object.entries(source)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1, form-urlencoded parts) or the form body. */
function clientCredentials(req: Request, form: Form): { clientId?: string; clientSecret?: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!basic) return { clientId: form.client_id, clientSecret: form.client_secret };
  const decoded = Buffer.from(basic[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new OAuthError("invalid_client", "Malformed HTTP Basic credentials.");
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  } catch {
    throw new OAuthError("invalid_client", "Malformed HTTP Basic credentials.");
  }
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
export function oauthRouter(config: Config, tokens: TokenService, sso: SsoService): Router {
  const router = express.Router();
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
      return await sso.authorizeRequest(params);
    } catch (e) {
      Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
      if (e instanceof DomainError) return void res.status(400).type("html").send(errorPage(e.message));
      if (e instanceof AuthorizeError && params.redirect_uri) {
        request = { redirectUri: params.redirect_uri, state: params.state } as AuthorizeRequest;
        return void res.redirect(303, sso.redirectTo(request, { error: e.error, error_description: e.description }));
      }
      throw e;
    }
  }

  const hiddenFields = (params: Form) => Object.fromEntries(AUTHORIZE_PARAMS.filter((k) => params[k] !== undefined).map((k) => [k, params[k]!]));
  const appName = async (request: AuthorizeRequest) => (await tokens.appName(request.app.corp_id, request.app.id)) ?? "an app";

  router.get("/oauth/authorize", async (req, res) => {
    const params = fields(req.query);
    const request = await authorizeRequest(params, res);
    if (!request) return;
    Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
    res.type("html").send(signInPage({ appName: await appName(request), hidden: hiddenFields(params) }));
  });

  /**
   * The sign-in and activation forms are accepted only from our own pages: a browser sends `Origin`
   * (and `Sec-Fetch-Site`) with every POST, so another site cannot make its visitors' browsers post
   * sign-in attempts (login CSRF, or locking an account through strangers' browsers). Clients that
   * are not browsers send neither.
   */
  const ownOrigin = new URL(config.publicUrl).origin;
  const fromOwnPages = (req: Request, res: Response, next: () => void) => {
    const origin = req.headers.origin;
    const site = req.headers["sec-fetch-site"];
    const originOk = origin === undefined || origin === ownOrigin || origin === `${req.protocol}://${req.headers.host}`;
    const siteOk = site === undefined || site === "same-origin" || site === "none";
    if (originOk && siteOk) return next();
    Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
    res.status(403).type("html").send(errorPage("This form can only be sent from its own page. Open the sign-in link again."));
  };

  router.post("/oauth/authorize", fromOwnPages, form, async (req, res) => {
    const params = fields(req.body);
    const request = await authorizeRequest(params, res);
    if (!request) return;
    Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
    try {
      const result = await sso.signIn(request, { login: params.login ?? "", password: params.password ?? "", newPassword: params.new_password || undefined }, req.ip);
      if ("redirect" in result) return void res.redirect(303, result.redirect);
      const name = await appName(request);
      if ("failed" in result) {
        return void res.status(401).type("html").send(signInPage({ appName: name, hidden: hiddenFields(params), login: params.login, error: result.failed }));
      }
      res.status(200).type("html").send(signInPage({ appName: name, hidden: hiddenFields(params), login: params.login, passwordExpired: result.passwordExpired }));
    } catch (e) {
      if (!(e instanceof AuthorizeError)) throw e;
      res.redirect(303, sso.redirectTo(request, { error: e.error, error_description: e.description }));
    }
  });

  router.post("/oauth/token", form, async (req, res) => {
    noStore(res);
    const body = fields(req.body);
    try {
      const { clientId, clientSecret } = clientCredentials(req, body);
      const grantType = body.grant_type;
      if (!grantType) throw new OAuthError("invalid_request", "grant_type is required.");
      if (grantType === "client_credentials") {
        if (!clientId || !clientSecret) throw new OAuthError("invalid_client", "Client authentication is required (HTTP Basic or client_id and client_secret).");
        return void res.json(await tokens.clientCredentials(clientId, clientSecret, body.scope, { corpId: body.corp_id, ip: req.ip }));
      }
      if (grantType !== "authorization_code" && grantType !== "refresh_token") throw new OAuthError("unsupported_grant_type", `grant_type ${grantType} is not supported.`);
      if (!clientId) throw new OAuthError("invalid_client", "Client authentication is required (HTTP Basic, client_secret_post, or client_id for a public client).");
      const app = await tokens.authenticateClient(clientId, clientSecret, { allowPublic: true, corpId: body.corp_id ?? (() => sso.corpOfGrant(body)) });
      await tokens.checkNetwork(app, req.ip);
      res.json(grantType === "authorization_code" ? await sso.exchangeCode(app, body, req.ip) : await sso.refresh(app, body, req.ip));
    } catch (e) {
      sendOAuthError(res, e);
    }
  });

  /** Authenticates the client of /oauth/revoke and /oauth/introspect. */
  async function endpointClient(req: Request, body: Form, allowPublic: boolean): Promise<TokenApp> {
    const { clientId, clientSecret } = clientCredentials(req, body);
    if (!clientId) throw new OAuthError("invalid_client", "Client authentication is required.");
    const app = await tokens.authenticateClient(clientId, clientSecret, { allowPublic, corpId: body.corp_id });
    await tokens.checkNetwork(app, req.ip);
    return app;
  }

  router.post("/oauth/revoke", form, async (req, res) => {
    noStore(res);
    const body = fields(req.body);
    try {
      const app = await endpointClient(req, body, true);
      if (!body.token) throw new OAuthError("invalid_request", "token is required.");
      await sso.revoke(app, body.token, req.ip);
      res.status(200).end();
    } catch (e) {
      sendOAuthError(res, e);
    }
  });

  router.post("/oauth/introspect", form, async (req, res) => {
    noStore(res);
    const body = fields(req.body);
    try {
      const app = await endpointClient(req, body, false);
      if (!body.token) throw new OAuthError("invalid_request", "token is required.");
      res.json(await sso.introspect(app, body.token));
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
      const info = await sso.userinfo(principal.corpId, principal.member.id, scopes);
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

  router.get("/activate/:token", async (req, res) => {
    Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
    const target = await sso.activationTarget(String(req.params.token));
    res.status(target ? 200 : 404).type("html").send(activationPage({ name: target?.name }));
  });

  router.post("/activate/:token", fromOwnPages, form, async (req, res) => {
    Object.entries(PAGE_HEADERS).forEach(([k, v]) => res.setHeader(k, v));
    const token = String(req.params.token);
    const result = await sso.activate(token, fields(req.body).password ?? "", req.ip);
    if (!result.error) return void res.type("html").send(activationPage({ done: true }));
    const target = await sso.activationTarget(token);
    res.status(target ? 400 : 404).type("html").send(activationPage({ name: target?.name, error: result.error }));
  });

  return router;
}
