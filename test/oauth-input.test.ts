import { pk, TestGateway, type TestCorp } from "./harness";

/**
 * Control characters in OAuth and sign-in form parameters (security review): PostgreSQL refuses
 * U+0000 in text, so a NUL that reached a query answered 500 (in the GraphQL error format, with a
 * logged stack trace). Every such value is refused before any lookup: the OAuth error format on the
 * JSON endpoints, the usual pages on the forms.
 */

const REDIRECT = "http://localhost:3000/callback";
const PASSWORD = "Correct-horse-9";
const NUL = "\u0000";

describe("OAuth and form inputs with control characters", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let portal: { clientId: string; clientSecret: string };
  let alice: string;

  const basic = (id: string, secret: string) => "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form),
      redirect: "manual",
    });
  const auditRows = async () => (await gw.sql(`SELECT count(*)::int AS n FROM audit_log`))[0].n as number;

  /** An OAuth error answer: the status, `{error, error_description}` and no-store. */
  async function expectOAuthError(res: Response, status: number, error: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ error, error_description: expect.stringMatching(/malformed|Malformed/) });
  }

  /** The sign-in page as a browser gets it: its cookie and hidden fields. */
  async function signInPage(query: Record<string, string> = {}) {
    const params = new URLSearchParams({
      response_type: "code",
      client_id: portal.clientId,
      redirect_uri: REDIRECT,
      scope: "openid",
      code_challenge: "x".repeat(43),
      code_challenge_method: "S256",
      ...query,
    });
    const res = await fetch(`${gw.url}/oauth/authorize?${params}`, { redirect: "manual" });
    const html = await res.text();
    const cookie = res.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
    return { res, html, submit: (fields: Record<string, string>) => post("/oauth/authorize", { ...hidden, ...fields }, { cookie }) };
  }

  async function activationPage() {
    const link = (await gw.data(corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url } }`, { input: { memberId: alice } }))
      .createActivationLink;
    const url = link.url.replace(gw.config.publicUrl, gw.url);
    const page = await fetch(url);
    const token = /name="form_token" value="([^"]+)"/.exec(await page.text())![1];
    const cookie = page.headers.getSetCookie()[0].split(";")[0];
    return { url, submit: (fields: Record<string, string>) => post(new URL(url).pathname, { form_token: token, ...fields }, { cookie }) };
  }

  beforeAll(async () => {
    gw = await TestGateway.start({ SIGNIN_IP_LIMIT_PER_MINUTE: "100000", TOKEN_IP_LIMIT_PER_MINUTE: "100000" });
    corp = await gw.createCorp("Acme");
    const created = (
      await gw.data(corp.token, `mutation($input: CreateAppInput!) { createApp(input: $input) { app { clientId } clientSecret } }`, {
        input: { name: "Portal", scopes: ["directory:read"], redirectUris: [REDIRECT] },
      })
    ).createApp;
    portal = { clientId: created.app.clientId, clientSecret: created.clientSecret };
    alice = (
      await gw.data(corp.token, `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`, {
        input: { employeeId: "E0001", name: "Alice", email: "alice@acme.test", departmentIds: [corp.rootId] },
      })
    ).createMember.member.id;
    const activation = await activationPage();
    expect((await activation.submit({ password: PASSWORD, password_again: PASSWORD })).status).toBe(200);
  });
  afterAll(() => gw.stop());

  it("/oauth/token: a NUL in client_id (form or HTTP Basic), the secret or any grant parameter is refused in the OAuth error format", async () => {
    const before = await auditRows();
    await expectOAuthError(
      await post("/oauth/token", { grant_type: "client_credentials", client_id: `wg_${NUL}`, client_secret: "x" }),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await post("/oauth/token", { grant_type: "authorization_code", client_id: `wg_${NUL}`, code: "abc", redirect_uri: REDIRECT }),
      400,
      "invalid_request",
    );
    await expectOAuthError(await post("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(`wg_${NUL}`, "x") }), 401, "invalid_client");
    await expectOAuthError(
      await post("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(corp.clientId, `x${NUL}`) }),
      401,
      "invalid_client",
    );
    await expectOAuthError(
      await post("/oauth/token", { grant_type: "refresh_token", refresh_token: `r${NUL}` }, { authorization: basic(portal.clientId, portal.clientSecret) }),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await post(
        "/oauth/token",
        { grant_type: "client_credentials", scope: `directory:read${NUL}` },
        { authorization: basic(corp.clientId, corp.clientSecret) },
      ),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await post("/oauth/token", { grant_type: "client_credentials", corp_id: `\u0001` }, { authorization: basic(corp.clientId, corp.clientSecret) }),
      400,
      "invalid_request",
    );
    // Refused before any lookup: no audit row.
    expect(await auditRows()).toBe(before);
    // The same requests without the NUL work as before.
    expect(
      (await post("/oauth/token", { grant_type: "client_credentials", scope: "directory:read" }, { authorization: basic(corp.clientId, corp.clientSecret) }))
        .status,
    ).toBe(200);
  });

  it("/oauth/revoke and /oauth/introspect: a NUL in client_id (form or HTTP Basic) or token is refused in the OAuth error format", async () => {
    for (const endpoint of ["/oauth/revoke", "/oauth/introspect"]) {
      await expectOAuthError(await post(endpoint, { client_id: `wg_${NUL}`, client_secret: "x", token: "t" }), 400, "invalid_request");
      await expectOAuthError(await post(endpoint, { token: "t" }, { authorization: basic(`wg_${NUL}`, "x") }), 401, "invalid_client");
      await expectOAuthError(
        await post(endpoint, { token: `t${NUL}` }, { authorization: basic(portal.clientId, portal.clientSecret) }),
        400,
        "invalid_request",
      );
    }
    expect((await post("/oauth/introspect", { token: "t" }, { authorization: basic(portal.clientId, portal.clientSecret) })).status).toBe(200);
  });

  it("GET /oauth/authorize: a NUL in client_id or redirect_uri is the error page (400); in another parameter, invalid_request back to the app", async () => {
    for (const query of [{ client_id: `wg_${NUL}` }, { redirect_uri: `${REDIRECT}${NUL}` }, { corp_id: NUL }] as Record<string, string>[]) {
      const { res, html } = await signInPage(query);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(html).toContain("malformed");
    }
    for (const query of [{ nonce: `n${NUL}` }, { state: `s${NUL}` }, { scope: `openid${NUL}` }] as Record<string, string>[]) {
      const { res } = await signInPage(query);
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get("location")!);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get("error")).toBe("invalid_request");
    }
  });

  it("the sign-in form: a NUL in the login or the password is the generic failure (401), counting no attempt", async () => {
    const { submit } = await signInPage();
    const attempts = async () => (await gw.sql(`SELECT failed_attempts FROM member_credential WHERE member_id = $1`, [pk(alice)]))[0].failed_attempts;
    const before = await attempts();
    for (const [login, password] of [
      [`E00${NUL}01`, PASSWORD],
      [`E0001${NUL}`, PASSWORD],
      [`alice@acme.test\u0007`, PASSWORD],
      ["E0001", `${PASSWORD}${NUL}`],
    ]) {
      const res = await submit({ login, password });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await res.text()).toContain("Sign-in failed: the account or password is wrong");
    }
    expect(await attempts()).toBe(before);
    // A NUL in an authorization parameter of the post: back to the app with invalid_request.
    const nonce = await submit({ login: "E0001", password: PASSWORD, nonce: `n${NUL}` });
    expect(nonce.status).toBe(303);
    expect(new URL(nonce.headers.get("location")!).searchParams.get("error")).toBe("invalid_request");
    // The real login still works.
    const ok = await submit({ login: "E0001", password: PASSWORD });
    expect(ok.status).toBe(303);
    expect(new URL(ok.headers.get("location")!).searchParams.get("code")).toBeTruthy();
  });

  it("the activation form: a password with a control character is refused (400) and the link stays usable", async () => {
    const activation = await activationPage();
    for (const password of [`Another-pass-1${NUL}`, `Another\tpass-1`]) {
      const res = await activation.submit({ password, password_again: password });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("control characters");
    }
    const nulLink = await fetch(`${gw.url}/activate/${encodeURIComponent(NUL)}`);
    expect(nulLink.status).toBe(404);
    expect(
      await gw.sql(`SELECT used_at FROM activation_link WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [activation.url.split("/").pop()]),
    ).toEqual([{ used_at: null }]);
    expect((await activation.submit({ password: "Another-pass-1", password_again: "Another-pass-1" })).status).toBe(200);
  });
});
