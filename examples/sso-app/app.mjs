// A minimal "Sign in with Workgraph" web app: OpenID Connect authorization code flow with PKCE,
// using the standard openid-client library unchanged. Run it next to a gateway:
//
//   CLIENT_ID=wg_… CLIENT_SECRET=… node examples/sso-app/app.mjs
//
// then open http://localhost:3000 and sign in. The app must be registered with the redirect URI
// http://localhost:3000/callback (createApp / updateApp `redirectUris`).
import { randomBytes } from "node:crypto";
import http from "node:http";
import * as client from "openid-client";

const ISSUER = process.env.WORKGRAPH_ISSUER ?? "http://localhost:4000";
const PORT = Number(process.env.PORT ?? 3000);
const REDIRECT_URI = process.env.REDIRECT_URI ?? `http://localhost:${PORT}/callback`;
const SCOPE = process.env.SCOPE ?? "openid profile directory:read";

const config = await client.discovery(new URL(ISSUER), process.env.CLIENT_ID, process.env.CLIENT_SECRET, undefined, {
  // Plain http is refused by default; allow it only for a local gateway.
  execute: ISSUER.startsWith("http://") ? [client.allowInsecureRequests] : [],
});

/** Sessions in memory, by cookie: the pending sign-in (PKCE verifier, state, nonce), then the tokens. */
const sessions = new Map();
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://localhost:${PORT}`);
  const sid = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? "")?.[1];
  const session = sid ? sessions.get(sid) : undefined;
  try {
    if (url.pathname === "/login") {
      const id = randomBytes(16).toString("base64url");
      const pending = { verifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce() };
      sessions.set(id, { pending });
      const target = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: "S256",
        state: pending.state,
        nonce: pending.nonce,
      });
      res.writeHead(302, { location: target.href, "set-cookie": `sid=${id}; HttpOnly; SameSite=Lax; Path=/` }).end();
    } else if (url.pathname === "/callback") {
      if (!session?.pending) return void res.writeHead(400).end("No sign-in in progress.");
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: session.pending.verifier,
        expectedState: session.pending.state,
        expectedNonce: session.pending.nonce,
      });
      sessions.set(sid, { tokens, claims: tokens.claims() });
      res.writeHead(302, { location: "/" }).end();
    } else if (url.pathname === "/") {
      res.setHeader("content-type", "text/html; charset=utf-8");
      if (!session?.tokens) return void res.end(`<p><a href="/login">Sign in with Workgraph</a></p>`);
      // Call the API as the member, with the access token.
      const api = await fetch(new URL("/graphql", ISSUER), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${session.tokens.access_token}` },
        body: JSON.stringify({ query: "{ viewer { role member { name employeeId } corp { name } } }" }),
      });
      const { data } = await api.json();
      res.end(
        `<h1>Hello, ${escape(session.claims.name)}</h1><p>Employee id ${escape(session.claims.employee_id)}, ` +
          `${escape(data.viewer.role)} of ${escape(data.viewer.corp.name)}.</p><pre>${escape(JSON.stringify(session.claims, null, 2))}</pre>`,
      );
    } else {
      res.writeHead(404).end();
    }
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain" }).end(`Sign-in failed: ${e.message}`);
  }
});
server.listen(PORT, () => console.log(`listening on http://localhost:${PORT}`));
