import { execFile, spawn } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import path from "node:path";
import jwt, { type JwtPayload } from "jsonwebtoken";
import { formOf, freePort, pk, TestGateway, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";

/**
 * Sign in with Workgraph (issue 5): the OpenID Connect provider end to end with the real
 * openid-client, then every refusal of the issue's "Done when" list, over HTTP.
 */

const REDIRECT = "http://localhost:3000/callback";
const PASSWORD = "Correct-horse-9";
const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");

function runClient(args: object): Promise<Untyped> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, "sso-client.mjs"), JSON.stringify(args)], { timeout: 20000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`sso-client failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout));
    });
  });
}

describe("sign in with Workgraph (OpenID Connect)", () => {
  let gw: TestGateway;
  let issuer: string;
  let corp: TestCorp;
  let beta: TestCorp;
  let sales: string;
  let eng: string;
  let m: Record<"alice" | "bob" | "carol" | "dave" | "erin" | "frank", string>;
  let portal: { id: string; clientId: string; clientSecret: string };
  let mobile: { clientId: string };
  let serverKey: KeyObject;
  let kid: string;

  const gql = (token: string, query: string, variables?: Record<string, unknown>) => gw.gql(token, query, variables);

  async function setPassword(memberId: string, password = PASSWORD) {
    const link = (
      await gw.data(corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url expiresAt } }`, { input: { memberId } })
    ).createActivationLink;
    const url = link.url.replace(issuer, gw.url);
    const form = await formOf(url);
    const res = await form.post({ password, password_again: password });
    expect(res.status).toBe(200);
    return link;
  }

  /** The sign-in form's form token and cookie, from one rendering of the page (valid for every later post of the same browser). */
  let signInForm: { cookie: string; token: string } | undefined;
  async function signInFormToken() {
    if (!signInForm) {
      const page = await formOf(
        `${gw.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: portal.clientId, redirect_uri: REDIRECT, scope: "openid" })}`,
      );
      signInForm = { cookie: page.cookie, token: page.hidden.form_token };
    }
    return signInForm;
  }

  /** Posts the sign-in form (what a browser does: with the page's cookie and form token) and returns the response without following the redirect. */
  async function postSignIn(params: Record<string, string>, login: string, password: string, extra: Record<string, string> = {}) {
    const { cookie, token } = await signInFormToken();
    return fetch(`${gw.url}/oauth/authorize`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({
        response_type: "code",
        redirect_uri: REDIRECT,
        scope: "openid profile directory:read",
        form_token: token,
        ...params,
        login,
        password,
        ...extra,
      }),
      redirect: "manual",
    });
  }

  /** Signs `login` in to the portal with PKCE; returns the code and its verifier. */
  async function codeFor(login: string, password = PASSWORD, clientId = portal.clientId) {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const res = await postSignIn({ client_id: clientId, state: "s1", nonce: "n1", code_challenge: challenge, code_challenge_method: "S256" }, login, password);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get("location")!);
    const code = location.searchParams.get("code");
    if (!code) throw new Error(`no code: ${location}`);
    return { code, verifier };
  }

  const tokenRequest = (form: Record<string, string>, auth: { id: string; secret: string } | null = { id: portal.clientId, secret: portal.clientSecret }) =>
    gw.tokenRequest(form, auth ?? undefined);

  async function exchange(code: string, verifier: string) {
    return tokenRequest({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier });
  }

  async function memberTokens(login: string) {
    const { code, verifier } = await codeFor(login);
    const res = await exchange(code, verifier);
    expect(res.status).toBe(200);
    return res.body as { access_token: string; refresh_token: string; id_token: string };
  }

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    // This file posts sign-in forms far faster than a person: the per-IP throttle is tested in ip-throttle.test.ts.
    gw = await TestGateway.start({ PORT: String(port), PUBLIC_URL: issuer, SIGNIN_IP_LIMIT_PER_MINUTE: "100000", TOKEN_IP_LIMIT_PER_MINUTE: "100000" });
    corp = await gw.createCorp("Acme");
    beta = await gw.createCorp("Beta");
    const dept = (name: string) => gw.createDepartment(corp.token, { name });
    sales = await dept("Sales");
    eng = await dept("Engineering");
    const member = (employeeId: string, departmentId: string, extra: Record<string, unknown> = {}) =>
      gw.createMember(corp.token, {
        employeeId,
        name: `${employeeId[0].toUpperCase()}${employeeId.slice(1)} Example`,
        departmentIds: [departmentId],
        ...extra,
      });
    m = {
      alice: await member("alice", sales, { email: "alice@acme.test" }),
      bob: await member("bob", eng),
      carol: await member("carol", sales),
      dave: await member("dave", sales),
      erin: await member("erin", sales),
      frank: await member("frank", sales),
    };
    for (const id of Object.values(m)) await setPassword(id);
    const created = (
      await gw.data(corp.token, `mutation($input: CreateAppInput!) { createApp(input: $input) { app { id clientId } clientSecret } }`, {
        input: { name: "Portal", scopes: ["directory:read", "directory:write"], redirectUris: [REDIRECT], visibility: { departmentIds: [sales] } },
      })
    ).createApp;
    portal = { id: created.app.id, clientId: created.app.clientId, clientSecret: created.clientSecret };
    mobile = (
      await gw.data(corp.token, `mutation($input: CreateAppInput!) { createApp(input: $input) { app { clientId } } }`, {
        input: { name: "Mobile", scopes: ["directory:read"], redirectUris: [REDIRECT], publicClient: true },
      })
    ).createApp.app;
    const [row] = await gw.sql(`SELECT kid, private_key FROM signing_key`);
    kid = row.kid;
    serverKey = createPrivateKey(row.private_key);
  });
  afterAll(() => gw.stop());

  it("publishes the discovery document with the configured issuer", async () => {
    const res = await fetch(`${gw.url}/.well-known/openid-configuration`);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
  });

  it("activation: a single-use page sets a password, typed twice, that meets the policy (argon2id), then says where to sign in", async () => {
    const link = (
      await gw.data(corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url expiresAt } }`, { input: { memberId: m.frank } })
    ).createActivationLink;
    expect(new Date(link.expiresAt).getTime() - Date.now()).toBeGreaterThan(71.9 * 3600_000);
    const url = link.url.replace(issuer, gw.url);
    const page = await formOf(url);
    expect(page.status).toBe(200);
    expect(page.html).toContain("<h1>Welcome, Frank Example</h1>");
    expect(page.html).toContain("Acme");
    expect(page.html).toContain('<form method="post">');
    expect(page.html).toContain('name="password"');
    expect(page.html).toContain('name="password_again"');
    expect(page.html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3)/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.setCookie).toEqual([expect.stringMatching(/^wg_form=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)]);
    const hashBefore = (await gw.sql(`SELECT password_hash FROM member_credential WHERE member_id = $1`, [pk(m.frank)]))[0].password_hash;
    const weak = await page.post({ password: "short", password_again: "short" });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain("at least 10 characters");
    const twoClasses = await page.post({ password: "alllowercase123", password_again: "alllowercase123" });
    expect(await twoClasses.text()).toContain("at least 3 of");
    // Typed differently: nothing stored, the link not spent.
    const mismatch = await page.post({ password: PASSWORD, password_again: `${PASSWORD}x` });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain("The two passwords differ");
    const once = await page.post({ password: PASSWORD });
    expect(once.status).toBe(400);
    expect(await once.text()).toContain("The two passwords differ");
    expect((await gw.sql(`SELECT password_hash FROM member_credential WHERE member_id = $1`, [pk(m.frank)]))[0].password_hash).toBe(hashBefore);
    expect(await gw.sql(`SELECT used_at FROM activation_link WHERE member_id = $1 ORDER BY created_at DESC LIMIT 1`, [pk(m.frank)])).toEqual([
      { used_at: null },
    ]);
    const ok = await page.post({ password: PASSWORD, password_again: PASSWORD });
    expect(ok.status).toBe(200);
    const done = await ok.text();
    expect(done).toContain("Your password is set");
    expect(done).toContain("Sign in with Workgraph");
    expect(done).toContain("<b>frank</b>");
    const again = await page.post({ password: PASSWORD, password_again: PASSWORD });
    expect(again.status).toBe(404);
    const [cred] = await gw.sql(`SELECT password_hash FROM member_credential WHERE member_id = $1`, [pk(m.frank)]);
    expect(cred.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(cred.password_hash).not.toBe(hashBefore);
    expect(await gw.sql(`SELECT status FROM member WHERE id = $1`, [pk(m.frank)])).toEqual([{ status: "ACTIVE" }]);
  });

  it("activation: a post without the page's form token, or from another site, is refused (403) and changes nothing", async () => {
    const link = (
      await gw.data(corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url } }`, { input: { memberId: m.frank } })
    ).createActivationLink;
    const url = link.url.replace(issuer, gw.url);
    const page = await formOf(url);
    const hashBefore = (await gw.sql(`SELECT password_hash FROM member_credential WHERE member_id = $1`, [pk(m.frank)]))[0].password_hash;
    const fields = { password: "Attacker-chosen-1", password_again: "Attacker-chosen-1" };
    const refusals = [
      // No cookie (another site's form cannot send ours).
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...page.hidden, ...fields }),
      }),
      // The cookie without the field, a forged field, the sign-in page's field.
      await page.post({ ...fields, form_token: "" }),
      await page.post({ ...fields, form_token: "A".repeat(43) }),
      await page.post({ ...fields, form_token: (await signInFormToken()).token }, { cookie: (await signInFormToken()).cookie }),
      await page.post(fields, { "sec-fetch-site": "cross-site" }),
      await page.post(fields, { origin: "https://evil.example" }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("only be sent from its own page");
    }
    expect((await gw.sql(`SELECT password_hash FROM member_credential WHERE member_id = $1`, [pk(m.frank)]))[0].password_hash).toBe(hashBefore);
    expect(await gw.sql(`SELECT used_at FROM activation_link WHERE member_id = $1 ORDER BY created_at DESC LIMIT 1`, [pk(m.frank)])).toEqual([
      { used_at: null },
    ]);
  });

  it("signs a member in with openid-client: discovery, authorize, form, callback, PKCE exchange, ID token, userinfo, refresh, revoke; the token then acts as the member", async () => {
    const result = await runClient({
      issuer,
      clientId: portal.clientId,
      clientSecret: portal.clientSecret,
      redirectUri: REDIRECT,
      scope: "openid profile directory:read",
      login: "alice@acme.test",
      password: PASSWORD,
    });
    expect(result.pageStatus).toBe(200);
    expect(result.postStatus).toBe(303);
    expect(result.callback).toEqual({ origin: REDIRECT, state: true, iss: issuer });
    expect(result.idClaims).toEqual({
      iss: issuer,
      aud: portal.clientId,
      azp: portal.clientId,
      sub: m.alice,
      name: "Alice Example",
      employee_id: "alice",
      corp: corp.corpId,
      departments: [sales],
      nonce: expect.any(String),
      auth_time: expect.any(Number),
      iat: expect.any(Number),
      nbf: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
    });
    // The ID token verifies against the published JWKS, RS256 only.
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    const header = jwt.decode(result.idToken, { complete: true })!.header;
    const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
    expect(
      jwt.verify(result.idToken, createPublicKey({ key: jwk as Untyped, format: "jwk" }), { algorithms: ["RS256"], issuer, audience: portal.clientId }),
    ).toMatchObject({ sub: m.alice });
    expect(result.userinfo).toEqual({ sub: m.alice, name: "Alice Example", employee_id: "alice", corp: corp.corpId, departments: [sales] });
    expect(result.scope).toBe("openid profile directory:read");
    expect(result.refreshed.idClaims.sub).toBe(m.alice);
    expect(result.refreshed.refreshToken).not.toBe(result.refreshToken);

    // The first access token acts as Alice through the portal: a plain member, read only.
    const me = await gql(result.accessToken, `{ viewer { role member { employeeId } app { name } scopes } }`);
    expect(me.body).toEqual({ data: { viewer: { role: "MEMBER", member: { employeeId: "alice" }, app: { name: "Portal" }, scopes: ["directory:read"] } } });
    const typed = await gql(result.accessToken, `{ viewer { __typename ... on MemberViewer { member { employeeId } } } }`);
    expect(typed.body).toEqual({ data: { viewer: { __typename: "MemberViewer", member: { employeeId: "alice" } } } });
    expect((await gql(corp.token, `{ viewer { __typename role } }`)).body).toEqual({ data: { viewer: { __typename: "AppViewer", role: "APP" } } });
    const write = await gql(result.accessToken, `mutation { createDepartment(input: { name: "X" }) { department { id } } }`);
    expect(write.body.errors![0].extensions).toEqual({ code: "FORBIDDEN" });
    // The portal sees only Sales.
    expect((await gql(result.accessToken, `{ departments { nodes { name } } }`)).body.data.departments.nodes).toEqual([{ name: "Sales" }]);
    // The refreshed access token was revoked by openid-client: refused from the next call on.
    const revoked = await gql(result.refreshed.accessToken, `{ viewer { role } }`);
    expect(revoked.status).toBe(401);
    expect(revoked.body.errors![0]).toMatchObject({ message: "The access token was revoked.", extensions: { code: "UNAUTHENTICATED" } });
    // The rotated-out refresh token is spent: using it again revokes the family (the newest one too).
    expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: result.refreshToken })).body.error).toBe("invalid_grant");
    expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: result.refreshed.refreshToken })).body.error).toBe("invalid_grant");
    // ... and the access tokens issued from the family (issue 11, finding 9).
    expect((await gql(result.accessToken, `{ viewer { role } }`)).status).toBe(401);
    const audit = await gw.sql(`SELECT action, outcome FROM audit_log WHERE member_id = $1 AND app_id = $2 ORDER BY id`, [pk(m.alice), pk(portal.id)]);
    expect(audit).toEqual([
      { action: "SIGN_IN", outcome: "SUCCESS" },
      { action: "TOKEN_ISSUED", outcome: "SUCCESS" },
      { action: "TOKEN_ISSUED", outcome: "SUCCESS" },
      { action: "TOKEN_REFUSED", outcome: "FAILURE" },
    ]);
  });

  it("the README's example app (examples/sso-app) signs a member in and greets them", async () => {
    const port = await freePort();
    const redirect = `http://localhost:${port}/callback`;
    const app = (
      await gw.data(corp.token, `mutation($input: CreateAppInput!) { createApp(input: $input) { app { clientId } clientSecret } }`, {
        input: { name: "Example", scopes: ["directory:read"], redirectUris: [redirect] },
      })
    ).createApp;
    const child = spawn(process.execPath, [path.join(__dirname, "..", "examples", "sso-app", "app.mjs")], {
      env: { ...process.env, WORKGRAPH_ISSUER: issuer, CLIENT_ID: app.app.clientId, CLIENT_SECRET: app.clientSecret, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => String(d).includes("listening") && resolve());
        child.on("exit", (code) => reject(new Error(`example exited with ${code}`)));
      });
      const login = await fetch(`http://localhost:${port}/login`, { redirect: "manual" });
      const cookie = login.headers.get("set-cookie")!.split(";")[0];
      const page = await formOf(login.headers.get("location")!);
      expect(page.html).toContain("Sign in to Example");
      expect(page.html).toContain("with your Acme account");
      const posted = await page.post({ login: "alice", password: PASSWORD });
      const callback = await fetch(posted.headers.get("location")!, { headers: { cookie }, redirect: "manual" });
      expect(callback.status).toBe(302);
      const home = await (await fetch(`http://localhost:${port}/`, { headers: { cookie } })).text();
      expect(home).toContain("<h1>Hello, Alice Example</h1>");
      expect(home).toContain("MEMBER of Acme");
    } finally {
      child.kill();
    }
  });

  it("createActivationLink and revokeMemberSessions: leaders within their subtree, nobody across corps or outside an app's visibility; audited", async () => {
    const LINK = `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url } }`;
    // Alice leads Sales (through the administrator app, as a member).
    await gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
      input: { id: sales, leaderIds: [m.alice] },
    });
    const leader = gw.memberToken(corp.corpPk, corp, pk(m.alice));
    const before = (await gw.sql(`SELECT count(*)::int AS n FROM activation_link`))[0].n;
    expect((await gw.gql(leader, LINK, { input: { memberId: m.dave } })).body.data.createActivationLink.url).toMatch(
      new RegExp(`^${issuer}/activate/[A-Za-z0-9_-]{43}$`),
    );
    expect((await gw.gql(leader, LINK, { input: { memberId: m.bob } })).body.errors![0].extensions).toEqual({ code: "FORBIDDEN" });
    // A leader may not take over a corp administrator in their subtree (a link resets the password),
    // nor a member who also belongs to a department the leader does not lead (as for updateMember).
    const UPDATE = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`;
    await gw.data(corp.token, UPDATE, { input: { id: m.carol, isCorpAdmin: true } });
    await gw.data(corp.token, UPDATE, { input: { id: m.erin, departmentIds: [sales, eng], mainDepartmentId: sales } });
    try {
      for (const target of [m.carol, m.erin]) {
        expect((await gw.gql(leader, LINK, { input: { memberId: target } })).body.errors![0].extensions).toEqual({ code: "FORBIDDEN" });
        expect(
          (await gw.gql(leader, `mutation($input: MemberIdInput!) { revokeMemberSessions(input: $input) { revokedCount } }`, { input: { memberId: target } }))
            .body.errors![0].extensions,
        ).toEqual({ code: "FORBIDDEN" });
      }
    } finally {
      await gw.data(corp.token, UPDATE, { input: { id: m.carol, isCorpAdmin: false } });
      await gw.data(corp.token, UPDATE, { input: { id: m.erin, departmentIds: [sales] } });
    }
    const salesApp = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [pk(sales)]);
    expect((await gw.gql(salesApp.token, LINK, { input: { memberId: m.bob } })).body.errors![0].extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.memberId",
    });
    expect((await gw.gql(beta.token, LINK, { input: { memberId: m.bob } })).body.errors![0].extensions).toEqual({ code: "NOT_FOUND", field: "input.memberId" });
    const reader = await gw.createApp(corp.corpPk, ["directory:read"]);
    expect((await gw.gql(reader.token, LINK, { input: { memberId: m.bob } })).body.errors![0].extensions).toEqual({ code: "FORBIDDEN" });
    expect((await gw.gql(corp.token, LINK, { input: { memberId: "nope" } })).body.errors![0].extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.memberId",
    });
    expect((await gw.sql(`SELECT count(*)::int AS n FROM activation_link`))[0].n).toBe(before + 1);
    const [audit] = await gw.sql(`SELECT action, member_id, app_id FROM audit_log WHERE action = 'ACTIVATION_LINK_CREATED' ORDER BY id DESC LIMIT 1`);
    expect(audit).toEqual({ action: "ACTIVATION_LINK_CREATED", member_id: pk(m.dave), app_id: corp.appPk });
    await gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
      input: { id: sales, leaderIds: [] },
    });
  });

  it("a vendor app signs members in to the corps that installed it (corp_id), with a standard token request", async () => {
    const vendorRedirect = "https://crm.example/callback";
    const vendor = await gw.deps.services.apps.createVendorApp({
      name: "CRM Cloud",
      scopes: ["directory:read", "customers:read"],
      redirectUris: [vendorRedirect],
    });
    const authorize = (corpId: string) => {
      const verifier = randomBytes(32).toString("base64url");
      const params = {
        response_type: "code",
        client_id: vendor.clientId,
        corp_id: corpId,
        redirect_uri: vendorRedirect,
        scope: "openid directory:read customers:read",
        state: "v",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      };
      return { verifier, params };
    };
    // Not installed: the page says exactly what it says for an unknown client.
    const before = authorize(corp.corpId);
    const notInstalled = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams(before.params)}`, { redirect: "manual" });
    const unknown = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...before.params, client_id: "wg_unknown" })}`, { redirect: "manual" });
    expect(notInstalled.status).toBe(400);
    expect(await notInstalled.text()).toBe(await unknown.text());
    const noCorp = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...before.params, corp_id: "" })}`, { redirect: "manual" });
    expect(await noCorp.text()).toContain("corp_id");

    await gw.data(corp.token, `mutation($input: InstallAppInput!) { installApp(input: $input) { installation { id } } }`, {
      input: { clientId: vendor.clientId, scopes: ["directory:read"], visibility: { departmentIds: [sales] } },
    });
    const { verifier, params } = authorize(corp.corpId);
    const page = await formOf(`${gw.url}/oauth/authorize?${new URLSearchParams(params)}`);
    expect(page.html).toContain("Sign in to CRM Cloud");
    expect(page.html).toContain("with your Acme account");
    const posted = await page.post({ login: "alice", password: PASSWORD });
    const location = new URL(posted.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(vendorRedirect);
    // The vendor's token request names no corp: the code does.
    const res = await gw.tokenRequest(
      { grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: vendorRedirect, code_verifier: verifier },
      { id: vendor.clientId, secret: vendor.clientSecret },
    );
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe("openid directory:read");
    expect(jwt.decode(res.body.id_token)).toMatchObject({ aud: vendor.clientId, sub: m.alice, corp: corp.corpId });
    const me = await gql(res.body.access_token, `{ viewer { __typename app { kind name } member { employeeId } } }`);
    expect(me.body.data.viewer).toEqual({ __typename: "MemberViewer", app: { kind: "VENDOR", name: "CRM Cloud" }, member: { employeeId: "alice" } });
    const refreshed = await gw.tokenRequest(
      { grant_type: "refresh_token", refresh_token: res.body.refresh_token },
      { id: vendor.clientId, secret: vendor.clientSecret },
    );
    expect(refreshed.status).toBe(200);
    // Bob (Engineering) is outside the installation's visibility.
    const bob = await (
      await formOf(`${gw.url}/oauth/authorize?${new URLSearchParams(authorize(corp.corpId).params)}`)
    ).post({ login: "bob", password: PASSWORD });
    expect(new URL(bob.headers.get("location")!).searchParams.get("error")).toBe("access_denied");
    // Corp B never installed it: nothing there.
    const beta = authorize(toGlobalId("Corp", "999999"));
    expect((await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams(beta.params)}`, { redirect: "manual" })).status).toBe(400);
  });

  describe("the sign-in page", () => {
    it("is server-rendered with no external assets", async () => {
      const res = await fetch(
        `${gw.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: portal.clientId, redirect_uri: REDIRECT, scope: "openid", state: "<x>" })}`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const html = await res.text();
      expect(html).toContain("Sign in to Portal");
      expect(html).toContain('value="&lt;x&gt;"');
      expect(html).not.toMatch(/<script|<link|<img|url\(/);
    });

    it("accepts the form only with its page's cookie-bound form token, and never from another site: refused (403) before any attempt is counted", async () => {
      const verifier = randomBytes(32).toString("base64url");
      const authorize = {
        response_type: "code",
        client_id: portal.clientId,
        redirect_uri: REDIRECT,
        scope: "openid",
        state: "s",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      };
      const page = await formOf(`${gw.url}/oauth/authorize?${new URLSearchParams(authorize)}`);
      expect(page.setCookie).toEqual([expect.stringMatching(/^wg_form=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)]);
      expect(page.hidden.form_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(page.headers.get("referrer-policy")).toBe("same-origin");
      // A browser that already has the cookie keeps it (several tabs, a re-rendered page).
      const again = await formOf(`${gw.url}/oauth/authorize?${new URLSearchParams(authorize)}`, page.cookie);
      expect(again.setCookie).toEqual([]);
      expect(again.hidden.form_token).toBe(page.hidden.form_token);

      const state = async () => ({
        attempts: (await gw.sql(`SELECT failed_attempts FROM member_credential WHERE member_id = $1`, [pk(m.alice)]))[0].failed_attempts,
        audit: (await gw.sql(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'SIGN_IN'`))[0].n,
        codes: (await gw.sql(`SELECT count(*)::int AS n FROM oauth_code WHERE member_id = $1`, [pk(m.alice)]))[0].n,
      });
      const before = await state();
      const bare = (headers: Record<string, string>, fields: Record<string, string>) =>
        fetch(`${gw.url}/oauth/authorize`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams({ ...authorize, ...fields }),
          redirect: "manual",
        });
      const other = await formOf(`${gw.url}/oauth/authorize?${new URLSearchParams(authorize)}`);
      for (const password of [PASSWORD, "Wrong-password-1"]) {
        const refusals = [
          // What another site's auto-submitting form sends: no cookie (SameSite=Lax: none on a cross-site post), no token.
          await bare({ origin: "https://evil.example", "sec-fetch-site": "cross-site" }, { login: "alice", password }),
          // Without Origin and Sec-Fetch-Site (an old browser, a script): still no token.
          await bare({}, { login: "alice", password }),
          await bare({ cookie: page.cookie }, { login: "alice", password }),
          await bare({}, { login: "alice", password, form_token: page.hidden.form_token }),
          // Another browser's cookie with this one's token; the activation page's purpose.
          await bare({ cookie: other.cookie }, { login: "alice", password, form_token: page.hidden.form_token }),
          // A right token, but the browser says the post came from elsewhere.
          await page.post({ login: "alice", password }, { "sec-fetch-site": "cross-site" }),
          await page.post({ login: "alice", password }, { "sec-fetch-site": "same-site" }),
          await page.post({ login: "alice", password }, { origin: "https://evil.example" }),
          // DNS rebinding: the attacker's name resolves to the gateway, so Origin equals the Host header.
          await page.post({ login: "alice", password }, { origin: "http://rebound.example", host: "rebound.example" }),
        ];
        for (const refused of refusals) {
          expect(refused.status).toBe(403);
          expect(refused.headers.get("location")).toBeNull();
          expect(await refused.text()).toContain("only be sent from its own page");
        }
      }
      // Nothing was counted: no failed attempt, no audit row, no code.
      expect(await state()).toEqual(before);

      // What Chromium sends from the sign-in page under `Referrer-Policy: no-referrer`: Origin null,
      // with the page's cookie and token. Accepted.
      const chromium = await page.post({ login: "alice", password: PASSWORD }, { origin: "null", "sec-fetch-site": "same-origin" });
      expect(chromium.status).toBe(303);
      expect(new URL(chromium.headers.get("location")!).searchParams.get("code")).toBeTruthy();
      // And with the real origin (what browsers send under `same-origin`).
      const own = await page.post({ login: "alice", password: PASSWORD }, { origin: issuer, "sec-fetch-site": "same-origin" });
      expect(own.status).toBe(303);
      expect((await state()).audit).toBe(before.audit + 2);
    });

    it("names the app and the corp, and says what to do about a forgotten password", async () => {
      const page = await formOf(
        `${gw.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: portal.clientId, redirect_uri: REDIRECT, scope: "openid" })}`,
      );
      expect(page.html).toContain("<h1>Sign in to Portal</h1>");
      expect(page.html).toContain("with your Acme account");
      expect(page.html).toMatch(/Forgot your password\?<\/b> Ask your Acme administrator \(or your department leader\) for a new activation link/);
    });

    it("never tells whether the account exists", async () => {
      const params = { client_id: portal.clientId, state: "s", code_challenge: "x".repeat(43), code_challenge_method: "S256" };
      const unknown = await postSignIn(params, "nobody@acme.test", PASSWORD);
      const wrong = await postSignIn(params, "erin", "Wrong-password-1");
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      const strip = (html: string) => html.replace(/value="[^"]*"/g, "");
      expect(strip(await unknown.text())).toBe(strip(await wrong.text()));
      await gw.sql(`UPDATE member_credential SET failed_attempts = 0 WHERE member_id = $1`, [pk(m.erin)]);
    });

    it("an expired password (90 days) must be changed at sign-in", async () => {
      await gw.sql(`UPDATE member_credential SET password_changed_at = now() - interval '91 days' WHERE member_id = $1`, [pk(m.erin)]);
      const params = { client_id: portal.clientId, state: "s", code_challenge: "x".repeat(43), code_challenge_method: "S256" };
      const first = await postSignIn(params, "erin", PASSWORD);
      expect(first.status).toBe(200);
      expect(await first.text()).toContain("older than 90 days");
      const weak = await postSignIn(params, "erin", PASSWORD, { new_password: "weak" });
      expect(await weak.text()).toContain("at least 10 characters");
      const changed = await postSignIn(params, "erin", PASSWORD, { new_password: "Fresh-password-2" });
      expect(changed.status).toBe(303);
      expect(new URL(changed.headers.get("location")!).searchParams.get("code")).toBeTruthy();
      expect((await codeFor("erin", "Fresh-password-2")).code).toBeTruthy();
    });
  });

  describe("refusals", () => {
    it("a re-used code (and it revokes what the first exchange issued)", async () => {
      const { code, verifier } = await codeFor("alice");
      const first = await exchange(code, verifier);
      expect(first.status).toBe(200);
      expect(Object.keys(first.body).sort()).toEqual(["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]);
      const again = await exchange(code, verifier);
      expect(again).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: first.body.refresh_token })).body.error).toBe("invalid_grant");
    });

    it("a reused refresh token revokes its family's refresh tokens and the access tokens issued from them; other sign-ins keep working", async () => {
      const first = await memberTokens("alice");
      const other = await memberTokens("alice");
      const second = await tokenRequest({ grant_type: "refresh_token", refresh_token: first.refresh_token });
      expect(second.status).toBe(200);
      for (const token of [first.access_token, second.body.access_token, other.access_token])
        expect((await gql(token, `{ viewer { role } }`)).status).toBe(200);
      const revokedBefore = (await gw.sql(`SELECT count(*)::int AS n FROM revoked_token`))[0].n;
      const reuse = await tokenRequest({ grant_type: "refresh_token", refresh_token: first.refresh_token });
      expect(reuse).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      for (const token of [first.access_token, second.body.access_token]) {
        const res = await gql(token, `{ viewer { role } }`);
        expect(res.status).toBe(401);
        expect(res.body.errors![0]).toMatchObject({ message: "The access token was revoked.", extensions: { code: "UNAUTHENTICATED" } });
      }
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: second.body.refresh_token })).body.error).toBe("invalid_grant");
      // Exactly the family's two access tokens were revoked, by their jti, until they expire.
      const jtis = [first.access_token, second.body.access_token].map((t) => (jwt.decode(t) as JwtPayload).jti);
      const rows = await gw.sql(
        `SELECT jti::text, extract(epoch FROM expires_at)::int - $2::int AS slack FROM revoked_token WHERE jti = ANY($1::uuid[]) ORDER BY jti`,
        [jtis, (jwt.decode(first.access_token) as JwtPayload).exp],
      );
      expect(rows.map((r) => r.jti).sort()).toEqual([...jtis].sort());
      expect((await gw.sql(`SELECT count(*)::int AS n FROM revoked_token`))[0].n).toBe(revokedBefore + 2);
      // Another sign-in of the same member is another family: untouched.
      expect((await gql(other.access_token, `{ viewer { role } }`)).status).toBe(200);
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: other.refresh_token })).status).toBe(200);
    });

    it("a code or refresh token presented by another client: refused, and still good for its own client", async () => {
      const { code, verifier } = await codeFor("alice");
      const stolen = await tokenRequest(
        { grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: mobile.clientId },
        null,
      );
      expect(stolen).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      const own = await exchange(code, verifier);
      expect(own.status).toBe(200);
      const stolenRefresh = await tokenRequest({ grant_type: "refresh_token", refresh_token: own.body.refresh_token, client_id: mobile.clientId }, null);
      expect(stolenRefresh).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      const refreshed = await tokenRequest({ grant_type: "refresh_token", refresh_token: own.body.refresh_token });
      expect(refreshed.status).toBe(200);
    });

    it("a wrong PKCE verifier, or none", async () => {
      const { code } = await codeFor("alice");
      const wrong = await exchange(code, randomBytes(32).toString("base64url"));
      expect(wrong).toMatchObject({ status: 400, body: { error: "invalid_grant", error_description: "code_verifier does not match the code_challenge." } });
      const { code: code2 } = await codeFor("alice");
      const none = await tokenRequest({ grant_type: "authorization_code", code: code2, redirect_uri: REDIRECT });
      expect(none.body.error).toBe("invalid_grant");
    });

    it("a redirect URI that is not registered: an error page, no redirect", async () => {
      for (const uri of ["http://localhost:3000/callback/", "http://localhost:3000/callback?x=1", "https://evil.example/callback"]) {
        const res = await fetch(
          `${gw.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: portal.clientId, redirect_uri: uri, scope: "openid" })}`,
          { redirect: "manual" },
        );
        expect(res.status).toBe(400);
        expect(res.headers.get("location")).toBeNull();
        expect(await res.text()).toContain("redirect_uri is not registered");
      }
      // At the token endpoint, a redirect_uri other than the authorization request's.
      const { code, verifier } = await codeFor("alice");
      const res = await tokenRequest({ grant_type: "authorization_code", code, redirect_uri: "http://localhost:3000/other", code_verifier: verifier });
      expect(res.body.error).toBe("invalid_grant");
    });

    it("an expired code (5 minutes)", async () => {
      const { code, verifier } = await codeFor("alice");
      const [row] = await gw.sql(`SELECT extract(epoch FROM expires_at - auth_time)::int AS ttl FROM oauth_code WHERE code_hash = $1`, [
        createHash("sha256").update(code).digest("hex"),
      ]);
      expect(row.ttl).toBe(300);
      await gw.sql(`UPDATE oauth_code SET expires_at = now() - interval '1 second' WHERE code_hash = $1`, [createHash("sha256").update(code).digest("hex")]);
      expect((await exchange(code, verifier)).body.error).toBe("invalid_grant");
    });

    it("prompt=none (no sign-in session to reuse) and other response modes", async () => {
      const base = { response_type: "code", client_id: portal.clientId, redirect_uri: REDIRECT, scope: "openid", state: "p" };
      const silent = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, prompt: "none" })}`, { redirect: "manual" });
      expect(Object.fromEntries(new URL(silent.headers.get("location")!).searchParams)).toMatchObject({ error: "login_required", state: "p" });
      const formPost = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, response_mode: "form_post" })}`, { redirect: "manual" });
      expect(new URL(formPost.headers.get("location")!).searchParams.get("error")).toBe("invalid_request");
      const implicit = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, response_type: "token" })}`, { redirect: "manual" });
      expect(new URL(implicit.headers.get("location")!).searchParams.get("error")).toBe("unsupported_response_type");
      const noOpenid = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, scope: "directory:read" })}`, { redirect: "manual" });
      expect(new URL(noOpenid.headers.get("location")!).searchParams.get("error")).toBe("invalid_scope");
      const unknownClient = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, client_id: "wg_nobody" })}`, { redirect: "manual" });
      expect(unknownClient.status).toBe(400);
      expect(unknownClient.headers.get("location")).toBeNull();
    });

    it("a public client without PKCE, or with the plain method", async () => {
      const base = { response_type: "code", client_id: mobile.clientId, redirect_uri: REDIRECT, scope: "openid", state: "st" };
      const none = await fetch(`${gw.url}/oauth/authorize?${new URLSearchParams(base)}`, { redirect: "manual" });
      expect(none.status).toBe(303);
      const location = new URL(none.headers.get("location")!);
      expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: "invalid_request", state: "st", iss: issuer });
      const plain = await fetch(
        `${gw.url}/oauth/authorize?${new URLSearchParams({ ...base, code_challenge: "x".repeat(43), code_challenge_method: "plain" })}`,
        { redirect: "manual" },
      );
      expect(new URL(plain.headers.get("location")!).searchParams.get("error")).toBe("invalid_request");
      // With PKCE the public client signs in and exchanges the code with its client_id only.
      const { code, verifier } = await codeFor("alice", PASSWORD, mobile.clientId);
      const res = await tokenRequest(
        { grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: mobile.clientId },
        null,
      );
      expect(res.status).toBe(200);
    });

    it("a tampered token, an alg:none token, an HS256 token made with the public key", async () => {
      const { access_token } = await memberTokens("alice");
      const [h, p, s] = access_token.split(".");
      const payload = JSON.parse(Buffer.from(p, "base64url").toString());
      const tampered = `${h}.${b64url({ ...payload, member: toGlobalId("Member", pk(m.carol)) })}.${s}`;
      const none = `${b64url({ alg: "none", typ: "JWT", kid })}.${p}.`;
      const publicPem = (await gw.sql(`SELECT public_key FROM signing_key WHERE kid = $1`, [kid]))[0].public_key;
      const hs = jwt.sign(payload, publicPem, { algorithm: "HS256", keyid: kid } as jwt.SignOptions);
      for (const token of [tampered, none, hs]) {
        const res = await gql(token, `{ viewer { role } }`);
        expect(res.status).toBe(401);
        expect(res.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      }
    });

    it("an expired token (30 s of clock skew at most), a token not yet valid", async () => {
      const now = Math.floor(Date.now() / 1000);
      const mint = (claims: Record<string, unknown>) =>
        jwt.sign({ azp: portal.clientId, corp: corp.corpId, scope: "directory:read", member: m.alice, iat: now - 600, ...claims }, serverKey, {
          algorithm: "RS256",
          keyid: kid,
          issuer,
          audience: "workgraph",
          subject: m.alice,
          jwtid: "5e0a0b4e-8f8e-4a57-9d4e-6f1f0f5b6c7d",
        });
      expect((await gql(mint({ exp: now - 45 }), `{ viewer { role } }`)).status).toBe(401);
      expect((await gql(mint({ exp: now - 10 }), `{ viewer { role } }`)).status).toBe(200);
      expect((await gql(mint({ exp: now + 600, nbf: now + 120 }), `{ viewer { role } }`)).status).toBe(401);
      expect((await gql(mint({ exp: now + 600, nbf: now + 10 }), `{ viewer { role } }`)).status).toBe(200);
    });

    it("a token of corp A presented as corp B's", async () => {
      const forged = jwt.sign({ azp: portal.clientId, corp: beta.corpId, scope: "directory:read", member: m.alice }, serverKey, {
        algorithm: "RS256",
        keyid: kid,
        issuer,
        audience: "workgraph",
        subject: m.alice,
        expiresIn: 600,
      });
      const res = await gql(forged, `{ viewer { corp { name } } }`);
      expect(res.status).toBe(401);
      // And a member of corp A is nobody in corp B, even through corp B's own app.
      const cross = gw.memberToken(beta.corpPk, beta, pk(m.alice));
      expect((await gql(cross, `{ viewer { role } }`)).status).toBe(401);
    });

    it("a member outside the app's visibility cannot sign in to it", async () => {
      const res = await postSignIn(
        { client_id: portal.clientId, state: "vis", code_challenge: "x".repeat(43), code_challenge_method: "S256" },
        "bob",
        PASSWORD,
      );
      expect(res.status).toBe(303);
      expect(Object.fromEntries(new URL(res.headers.get("location")!).searchParams)).toMatchObject({ error: "access_denied", state: "vis" });
      expect(await gw.sql(`SELECT count(*)::int AS n FROM oauth_code WHERE member_id = $1`, [pk(m.bob)])).toEqual([{ n: 0 }]);
      const apps = (await gw.data(corp.token, `query($m: ID!) { appsForMember(memberId: $m) { name } }`, { m: m.bob })).appsForMember.map(
        (a: { name: string }) => a.name,
      );
      expect(apps).not.toContain("Portal");
    });

    it("a resigned member is refused on the next call, and cannot refresh or sign in", async () => {
      const tokens = await memberTokens("carol");
      expect((await gql(tokens.access_token, `{ viewer { role } }`)).status).toBe(200);
      await gw.data(corp.token, `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { status } } }`, {
        input: { id: m.carol, status: "RESIGNED" },
      });
      const next = await gql(tokens.access_token, `{ viewer { role } }`);
      expect(next.status).toBe(401);
      expect(next.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })).body.error).toBe("invalid_grant");
      expect((await postSignIn({ client_id: portal.clientId, code_challenge: "x".repeat(43), code_challenge_method: "S256" }, "carol", PASSWORD)).status).toBe(
        401,
      );
    });

    it("a disabled member is refused on the next call; enabled again, they sign in anew", async () => {
      const tokens = await memberTokens("frank");
      const setStatus = (status: string) =>
        gw.data(corp.token, `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { status } } }`, {
          input: { id: m.frank, status },
        });
      await setStatus("DISABLED");
      expect((await gql(tokens.access_token, `{ viewer { role } }`)).status).toBe(401);
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })).body.error).toBe("invalid_grant");
      await setStatus("ACTIVE");
      expect((await memberTokens("frank")).access_token).toBeTruthy();
    });

    it("revokeMemberSessions signs a member out everywhere at once", async () => {
      const tokens = await memberTokens("dave");
      await new Promise((r) => setTimeout(r, 1100));
      const res = await gw.data(corp.token, `mutation($input: MemberIdInput!) { revokeMemberSessions(input: $input) { revokedCount } }`, {
        input: { memberId: m.dave },
      });
      expect(res.revokeMemberSessions.revokedCount).toBe(1);
      expect((await gql(tokens.access_token, `{ viewer { role } }`)).status).toBe(401);
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })).body.error).toBe("invalid_grant");
      await new Promise((r) => setTimeout(r, 1100));
      const fresh = await memberTokens("dave");
      expect((await gql(fresh.access_token, `{ viewer { role } }`)).status).toBe(200);
      // A second corp's administrator cannot sign out corp A's members.
      const cross = await gw.gql(beta.token, `mutation($input: MemberIdInput!) { revokeMemberSessions(input: $input) { revokedCount } }`, {
        input: { memberId: m.dave },
      });
      expect(cross.body.errors![0].extensions).toEqual({ code: "NOT_FOUND", field: "input.memberId" });
    });

    it("a login that is one member's email selects that member, whatever another member's employee id is: no takeover, no blocking", async () => {
      const params = { client_id: portal.clientId, code_challenge: "x".repeat(43), code_challenge_method: "S256" };
      const createMember = async (employeeId: string, name: string) =>
        (
          await gw.data(corp.token, `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`, {
            input: { employeeId, name, departmentIds: [sales] },
          })
        ).createMember.member.id as string;
      // What a restricted app can do: a member whose employee id is Alice's email.
      const impostor = await createMember("alice@acme.test", "Mallory");
      // An employee id that looks like an address nobody has.
      const plain = await createMember("grace@elsewhere.test", "Grace");
      try {
        await setPassword(impostor, "Impostor-pass-1");
        await setPassword(plain, "Grace-pass-12");
        const before = (await gw.sql(`SELECT coalesce(max(id), 0) AS id FROM audit_log`))[0].id;
        // The impostor's password on Alice's address: Alice's account, a wrong password.
        const hijack = await postSignIn(params, "alice@acme.test", "Impostor-pass-1");
        expect(hijack.status).toBe(401);
        expect(await hijack.text()).toContain("Sign-in failed: the account or password is wrong");
        // Alice signs in with her email (any case), as before the impostor existed.
        for (const login of ["alice@acme.test", "ALICE@Acme.test"]) {
          const res = await postSignIn(params, login, PASSWORD);
          expect(res.status).toBe(303);
          expect(new URL(res.headers.get("location")!).searchParams.get("code")).toBeTruthy();
        }
        // No member has Grace's address: the login is her employee id.
        expect((await codeFor("grace@elsewhere.test", "Grace-pass-12")).code).toBeTruthy();
        expect(
          await gw.sql(`SELECT outcome, member_id::text, detail->>'reason' AS reason FROM audit_log WHERE id > $1 AND action = 'SIGN_IN' ORDER BY id`, [
            before,
          ]),
        ).toEqual([
          { outcome: "FAILURE", member_id: pk(m.alice), reason: "wrong password" },
          { outcome: "SUCCESS", member_id: pk(m.alice), reason: null },
          { outcome: "SUCCESS", member_id: pk(m.alice), reason: null },
          { outcome: "SUCCESS", member_id: pk(plain), reason: null },
        ]);
        expect(await gw.sql(`SELECT count(*)::int AS n FROM oauth_code WHERE member_id = $1`, [pk(impostor)])).toEqual([{ n: 0 }]);
        // Alice still signs in with her employee id.
        expect((await codeFor("alice")).code).toBeTruthy();
      } finally {
        for (const [id, employeeId] of [
          [impostor, "mallory"],
          [plain, "grace"],
        ]) {
          await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, { input: { id, employeeId } });
        }
      }
    });

    it("the sixth wrong password: five failures lock the account for 15 minutes", async () => {
      const params = { client_id: portal.clientId, code_challenge: "x".repeat(43), code_challenge_method: "S256" };
      for (let i = 0; i < 5; i++) expect((await postSignIn(params, "dave", `Wrong-password-${i}`)).status).toBe(401);
      const [cred] = await gw.sql(`SELECT extract(epoch FROM locked_until - now()) AS left FROM member_credential WHERE member_id = $1`, [pk(m.dave)]);
      expect(Number(cred.left)).toBeGreaterThan(14 * 60);
      expect(Number(cred.left)).toBeLessThanOrEqual(15 * 60);
      const sixth = await postSignIn(params, "dave", PASSWORD);
      expect(sixth.status).toBe(401);
      expect(await sixth.text()).toContain("Sign-in failed");
      const audit = await gw.sql(
        `SELECT detail->>'reason' AS reason FROM audit_log WHERE action = 'SIGN_IN' AND member_id = $1 AND outcome = 'FAILURE' ORDER BY id DESC LIMIT 2`,
        [pk(m.dave)],
      );
      expect(audit).toEqual([{ reason: "locked" }, { reason: "wrong password; account locked" }]);
      await gw.sql(`UPDATE member_credential SET locked_until = now() - interval '1 second' WHERE member_id = $1`, [pk(m.dave)]);
      expect((await codeFor("dave")).code).toBeTruthy();
    });

    it("concurrent wrong passwords: at most five are checked before the lock holds", async () => {
      const params = { client_id: portal.clientId, code_challenge: "x".repeat(43), code_challenge_method: "S256" };
      const before = (await gw.sql(`SELECT coalesce(max(id), 0) AS id FROM audit_log`))[0].id;
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postSignIn(params, "frank", `Wrong-password-${i}`)));
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(401));
      const reasons = await gw.sql(`SELECT detail->>'reason' AS reason FROM audit_log WHERE id > $1 AND action = 'SIGN_IN' AND member_id = $2`, [
        before,
        pk(m.frank),
      ]);
      expect(reasons).toHaveLength(20);
      expect(reasons.filter((r) => r.reason !== "locked")).toHaveLength(5);
      await gw.sql(`UPDATE member_credential SET locked_until = NULL, failed_attempts = 0 WHERE member_id = $1`, [pk(m.frank)]);
    });
  });

  describe("security headers (issue 11, finding 12)", () => {
    it("every response: nosniff and no framing; pages: a CSP with frame-ancestors 'none'", async () => {
      const responses = {
        healthz: await fetch(`${gw.url}/healthz`),
        graphql: await fetch(`${gw.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${corp.token}` },
          body: JSON.stringify({ query: "{ viewer { role } }" }),
        }),
        graphqlRefused: await fetch(`${gw.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer nope" },
          body: "{}",
        }),
        token: await fetch(`${gw.url}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=password",
        }),
        jwks: await fetch(`${gw.url}/.well-known/jwks.json`),
        missing: await fetch(`${gw.url}/nowhere`),
        errorPage: await fetch(`${gw.url}/oauth/authorize?client_id=nobody`),
        signIn: await fetch(
          `${gw.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: portal.clientId, redirect_uri: REDIRECT, scope: "openid" })}`,
        ),
        activation: await fetch(`${gw.url}/activate/not-a-link`),
        playground: await fetch(`${gw.url}/graphql`, { headers: { accept: "text/html" } }),
        playgroundScript: await fetch(`${gw.url}/playground/playground.js`),
      };
      for (const [name, res] of Object.entries(responses)) {
        expect([name, res.headers.get("x-content-type-options"), res.headers.get("x-frame-options")]).toEqual([name, "nosniff", "DENY"]);
        expect([name, res.headers.get("content-security-policy")]).toEqual([name, expect.stringContaining("frame-ancestors 'none'")]);
      }
      expect(responses.graphql.status).toBe(200);
      expect(responses.graphql.headers.get("content-security-policy")).toContain("default-src 'none'");
      for (const page of [responses.errorPage, responses.signIn, responses.activation]) {
        expect(page.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
      }
      const csp = responses.playground.headers.get("content-security-policy")!;
      expect(responses.playground.headers.get("content-type")).toMatch(/^text\/html/);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain("unsafe-eval");
      expect(await responses.playground.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    });
  });

  describe("introspection and revocation", () => {
    it("reports the app's own tokens (RFC 7662) and revokes refresh and access tokens (RFC 7009)", async () => {
      const tokens = await memberTokens("alice");
      const intro = await fetch(`${gw.url}/oauth/introspect`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${portal.clientId}:${portal.clientSecret}`).toString("base64"),
        },
        body: new URLSearchParams({ token: tokens.access_token }),
      });
      expect(await intro.json()).toMatchObject({
        active: true,
        client_id: portal.clientId,
        sub: m.alice,
        member: m.alice,
        scope: "openid profile directory:read",
      });
      // Another app of the corp learns nothing about it.
      const other = await fetch(`${gw.url}/oauth/introspect`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${corp.clientId}:${corp.clientSecret}`).toString("base64"),
        },
        body: new URLSearchParams({ token: tokens.access_token }),
      });
      expect(await other.json()).toEqual({ active: false });
      const revoke = (token: string) =>
        fetch(`${gw.url}/oauth/revoke`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: "Basic " + Buffer.from(`${portal.clientId}:${portal.clientSecret}`).toString("base64"),
          },
          body: new URLSearchParams({ token }),
        });
      expect((await revoke(tokens.refresh_token)).status).toBe(200);
      expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token })).body.error).toBe("invalid_grant");
      expect((await revoke(tokens.access_token)).status).toBe(200);
      expect((await gql(tokens.access_token, `{ viewer { role } }`)).status).toBe(401);
      expect((await revoke("not-a-token")).status).toBe(200);
      const userinfo = await fetch(`${gw.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).toBe(401);
      const appToken = await fetch(`${gw.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${corp.token}` } });
      expect(appToken.status).toBe(403);
      // An app's own client-credentials token, revoked by the app: refused from the next call on.
      const own = await gw.token(corp.clientId, corp.clientSecret);
      expect((await gql(own, `{ corp { name } }`)).status).toBe(200);
      const revokedOwn = await fetch(`${gw.url}/oauth/revoke`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${corp.clientId}:${corp.clientSecret}`).toString("base64"),
        },
        body: new URLSearchParams({ token: own, token_type_hint: "access_token" }),
      });
      expect(revokedOwn.status).toBe(200);
      const refused = await gql(own, `{ corp { name } }`);
      expect(refused.status).toBe(401);
      expect(refused.body.errors![0].message).toBe("The access token was revoked.");
      expect((await gql(corp.token, `{ corp { name } }`)).status).toBe(200);
      // Another app cannot revoke it.
      const kept = await gw.token(corp.clientId, corp.clientSecret);
      await fetch(`${gw.url}/oauth/revoke`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${portal.clientId}:${portal.clientSecret}`).toString("base64"),
        },
        body: new URLSearchParams({ token: kept }),
      });
      expect((await gql(kept, `{ corp { name } }`)).status).toBe(200);
    });
  });

  describe("keys", () => {
    it("rotate: the new key signs, the retired one stays in the JWKS and its tokens keep working", async () => {
      const before = await memberTokens("alice");
      const rotated = await gw.deps.tokens.rotateKeys();
      expect(rotated.retired).toEqual([kid]);
      const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; alg: string }> };
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kid, rotated.kid].sort());
      expect(jwks.keys.every((k) => k.alg === "RS256")).toBe(true);
      expect((await gql(before.access_token, `{ viewer { role } }`)).status).toBe(200);
      const after = await memberTokens("alice");
      expect(jwt.decode(after.access_token, { complete: true })!.header.kid).toBe(rotated.kid);
      expect((jwt.decode(after.id_token) as JwtPayload).sub).toBe(m.alice);
      // Once every token of the retired key has expired, it leaves the JWKS.
      await gw.sql(`UPDATE signing_key SET retired_at = now() - interval '3 hours' WHERE kid = $1`, [kid]);
      await gw.deps.tokens.rotateKeys();
      const later = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      expect(later.keys.map((k) => k.kid)).not.toContain(kid);
    });
  });
});
