// Signs a member in with the real openid-client (v6, ESM only, hence a separate Node process that
// test/sso.test.ts runs): discovery, authorization URL with PKCE S256 + state + nonce, the sign-in
// form posted over HTTP like a browser would, callback, code exchange, ID token signature checked
// against the JWKS (enableNonRepudiationChecks), userinfo, refresh, revocation. Prints one JSON line.
import * as client from "openid-client";

const cfg = JSON.parse(process.argv[2]);
const config = await client.discovery(new URL(cfg.issuer), cfg.clientId, cfg.clientSecret, undefined, {
  execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
});

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: cfg.redirectUri,
  scope: cfg.scope,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  state,
  nonce,
});

// The browser part: GET the sign-in page, submit its form with the member's credentials.
// The page sets a form cookie that the post must bring back with the page's hidden form token.
const page = await fetch(authorizationUrl);
const html = await page.text();
const cookie = page.headers
  .getSetCookie()
  .map((c) => c.split(";")[0])
  .join("; ");
const hidden = Object.fromEntries(
  [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
    m[1],
    m[2]
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&"),
  ]),
);
const action = new URL(/<form method="post" action="([^"]+)"/.exec(html)[1], cfg.issuer);
const posted = await fetch(action, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", cookie },
  body: new URLSearchParams({ ...hidden, login: cfg.login, password: cfg.password }),
  redirect: "manual",
});
const callback = new URL(posted.headers.get("location"));

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const idClaims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
await client.tokenRevocation(config, refreshed.access_token, { token_type_hint: "access_token" });

process.stdout.write(
  JSON.stringify({
    pageStatus: page.status,
    postStatus: posted.status,
    callback: { origin: callback.origin + callback.pathname, state: callback.searchParams.get("state") === state, iss: callback.searchParams.get("iss") },
    idClaims,
    idToken: tokens.id_token,
    tokenType: tokens.token_type,
    scope: tokens.scope,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    userinfo,
    refreshed: { accessToken: refreshed.access_token, refreshToken: refreshed.refresh_token, idClaims: refreshed.claims() },
  }) + "\n",
);
