import { TestGateway, expectOneError, expectUnchanged, pk, type TestCorp } from "./harness";
import { toGlobalId } from "../src/schema/global-id";
import { ALL_SCOPES } from "../src/policy/scopes";

/**
 * The apps API (issue 5): self-built apps, secret rotation, visibility and per-member app sets,
 * disabling, vendor apps (install, corp-bound client credentials, uninstall), IP ranges, and the
 * audit log; with the refusals for leaders, restricted apps and a second corp.
 */

const APP_FIELDS = `id name kind clientId scopes redirectUris allowedIpRanges publicClient enabled previousSecretExpiresAt visibleDepartments { name } visibleMembers { employeeId }`;
const CREATE_APP = `mutation($input: CreateAppInput!) { createApp(input: $input) { app { ${APP_FIELDS} } clientSecret } }`;
const UPDATE_APP = `mutation($input: UpdateAppInput!) { updateApp(input: $input) { app { ${APP_FIELDS} } } }`;
const ROTATE = `mutation($input: AppIdInput!) { rotateAppSecret(input: $input) { app { id previousSecretExpiresAt } clientSecret } }`;
const VISIBILITY = `mutation($input: SetAppVisibilityInput!) { setAppVisibility(input: $input) { app { ${APP_FIELDS} } } }`;
const DISABLE = `mutation($input: AppIdInput!) { disableApp(input: $input) { app { id enabled } } }`;
const INSTALL = `mutation($input: InstallAppInput!) { installApp(input: $input) { installation { ${APP_FIELDS} } } }`;
const UNINSTALL = `mutation($input: AppIdInput!) { uninstallApp(input: $input) { uninstalledAppId } }`;
const AUDIT = `query($filter: AuditLogFilter, $first: Int, $after: String) { auditLog(filter: $filter, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { action success appId memberId detail } } }`;

describe("apps", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let sales: string;
  let eng: string;
  let m: { admin: string; leader: string; plain: string; salesRep: string };
  let t: { admin: string; leader: string; plain: string };

  const createMember = (employeeId: string, departmentId: string, extra: Record<string, unknown> = {}) =>
    gw.createMember(corp.token, { employeeId, name: employeeId, departmentIds: [departmentId], status: "ACTIVE", ...extra });

  /** The call fails with exactly one error of `code` (and `field`), leaving `app` and `audit_log` as they were. */
  async function expectRefused(token: string, query: string, variables: Record<string, unknown>, code: string, field?: string) {
    const rows = async () => ({ app: await gw.sql(`SELECT * FROM app ORDER BY id`), audit: await gw.sql(`SELECT count(*)::int AS n FROM audit_log`) });
    const res = await expectUnchanged(rows, () => gw.gql(token, query, variables));
    expectOneError(res, code, field, /stack|\bat .*\.ts:\d+|secret_hash|sha256\$/i);
    return res;
  }

  beforeAll(async () => {
    gw = await TestGateway.start({ TRUST_PROXY: "loopback", APP_SECRET_GRACE_SECONDS: "3600" });
    corp = await gw.createCorp("Acme");
    beta = await gw.createCorp("Beta");
    const dept = (name: string) => gw.createDepartment(corp.token, { name });
    sales = await dept("Sales");
    eng = await dept("Engineering");
    m = {
      admin: await createMember("admin", eng, { isCorpAdmin: true }),
      leader: await createMember("leader", sales),
      plain: await createMember("plain", eng),
      salesRep: await createMember("rep", sales),
    };
    await gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
      input: { id: sales, leaderIds: [m.leader] },
    });
    t = {
      admin: gw.memberToken(corp.corpPk, corp, pk(m.admin)),
      leader: gw.memberToken(corp.corpPk, corp, pk(m.leader)),
      plain: gw.memberToken(corp.corpPk, corp, pk(m.plain)),
    };
  });
  afterAll(() => gw.stop());

  describe("createApp", () => {
    it("creates a self-built app, shows the secret once, stores only its hash, and audits it", async () => {
      const res = await gw.data(corp.token, CREATE_APP, {
        input: {
          name: "Expenses",
          scopes: ["directory:read"],
          redirectUris: ["https://expenses.example/callback"],
          visibility: { departmentIds: [sales], memberIds: [m.plain] },
          allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"],
        },
      });
      const app = res.createApp.app;
      expect(app).toEqual({
        id: expect.any(String),
        name: "Expenses",
        kind: "SELF_BUILT",
        clientId: expect.stringMatching(/^wg_/),
        scopes: ["directory:read"],
        redirectUris: ["https://expenses.example/callback"],
        allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"],
        publicClient: false,
        enabled: true,
        previousSecretExpiresAt: null,
        visibleDepartments: [{ name: "Sales" }],
        visibleMembers: [{ employeeId: "plain" }],
      });
      expect(res.createApp.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const [row] = await gw.sql(`SELECT secret_hash, corp_id FROM app WHERE id = $1`, [pk(app.id)]);
      expect(row.secret_hash).toMatch(/^sha256\$/);
      expect(row.secret_hash).not.toContain(res.createApp.clientSecret);
      expect(row.corp_id).toBe(corp.corpPk);
      expect(
        await gw.sql(`SELECT action, outcome, app_id, detail->>'name' AS name FROM audit_log WHERE action = 'APP_CREATED' AND app_id = $1`, [pk(app.id)]),
      ).toEqual([{ action: "APP_CREATED", outcome: "SUCCESS", app_id: pk(app.id), name: "Expenses" }]);
      // node(id:) and app(id:) find it.
      expect(await gw.data(corp.token, `query($id: ID!) { node(id: $id) { id ... on App { name } } app(id: $id) { name } }`, { id: app.id })).toEqual({
        node: { id: app.id, name: "Expenses" },
        app: { name: "Expenses" },
      });
    });

    it("creates a public client without a secret", async () => {
      const res = await gw.data(corp.token, CREATE_APP, {
        input: { name: "Mobile", scopes: [], redirectUris: ["http://localhost:3000/cb"], publicClient: true },
      });
      expect(res.createApp.clientSecret).toBeNull();
      expect(res.createApp.app.publicClient).toBe(true);
      expect(await gw.sql(`SELECT secret_hash FROM app WHERE id = $1`, [pk(res.createApp.app.id)])).toEqual([{ secret_hash: null }]);
    });

    it.each([
      [{ name: "" }, "input.name"],
      [{ scopes: ["directory:read", "root"] }, "input.scopes"],
      [{ redirectUris: ["not a url"] }, "input.redirectUris"],
      [{ redirectUris: ["http://evil.example/cb"] }, "input.redirectUris"],
      [{ redirectUris: ["https://x.example/cb#frag"] }, "input.redirectUris"],
      [{ allowedIpRanges: ["10.0.0.0/33"] }, "input.allowedIpRanges"],
      [{ allowedIpRanges: ["example.com"] }, "input.allowedIpRanges"],
      [{ visibility: { departmentIds: ["nope"] } }, "input.visibility.departmentIds"],
      [{ publicClient: true }, "input.redirectUris"],
    ])("refuses invalid input %j with BAD_USER_INPUT naming the field", async (bad, field) => {
      await expectRefused(corp.token, CREATE_APP, { input: { name: "Bad", scopes: ["directory:read"], ...bad } }, "BAD_USER_INPUT", field);
    });

    it("refuses a department of another corp as NOT_FOUND", async () => {
      await expectRefused(
        corp.token,
        CREATE_APP,
        { input: { name: "X", scopes: [], visibility: { departmentIds: [beta.rootId] } } },
        "NOT_FOUND",
        "input.visibility.departmentIds",
      );
    });
  });

  describe("who may manage apps", () => {
    it("a corp administrator acting through the app may", async () => {
      const res = await gw.data(t.admin, CREATE_APP, { input: { name: "By admin", scopes: [] } });
      expect(res.createApp.app.name).toBe("By admin");
      const [row] = await gw.sql(`SELECT detail FROM audit_log WHERE action = 'APP_CREATED' AND app_id = $1`, [pk(res.createApp.app.id)]);
      expect(row.detail.by).toEqual({ app: corp.clientId, member: pk(m.admin) });
    });

    it("a leader or a plain member may not (FORBIDDEN), and sees no apps", async () => {
      await expectRefused(t.leader, CREATE_APP, { input: { name: "By leader", scopes: [] } }, "FORBIDDEN");
      await expectRefused(t.plain, CREATE_APP, { input: { name: "By member", scopes: [] } }, "FORBIDDEN");
      await expectRefused(t.leader, `{ apps { totalCount } }`, {}, "FORBIDDEN");
      await expectRefused(t.leader, AUDIT, {}, "FORBIDDEN");
    });

    it("an app without apps:admin may not, nor one limited to some departments", async () => {
      const reader = await gw.createApp(corp.corpPk, ["directory:read"]);
      await expectRefused(reader.token, CREATE_APP, { input: { name: "X", scopes: [] } }, "FORBIDDEN");
      const salesAdmin = await gw.createApp(corp.corpPk, ALL_SCOPES, [pk(sales)]);
      await expectRefused(salesAdmin.token, CREATE_APP, { input: { name: "X", scopes: [] } }, "FORBIDDEN");
      await expectRefused(salesAdmin.token, `{ apps { totalCount } }`, {}, "FORBIDDEN");
    });

    it("a second corp sees none of the first corp's apps", async () => {
      const mine = await gw.data(corp.token, `{ apps(first: 100) { nodes { id } } }`);
      const theirs = await gw.data(beta.token, `{ apps(first: 100) { totalCount nodes { id name } } }`);
      expect(theirs.apps).toEqual({ totalCount: 1, nodes: [{ id: toGlobalId("App", beta.appPk), name: "Beta administrator" }] });
      const foreign = mine.apps.nodes[0].id;
      expect(await gw.data(beta.token, `query($id: ID!) { app(id: $id) { id } node(id: $id) { id } }`, { id: foreign })).toEqual({ app: null, node: null });
      await expectRefused(beta.token, DISABLE, { input: { id: foreign } }, "NOT_FOUND", "input.id");
      const audit = await gw.data(beta.token, AUDIT, { first: 100 });
      expect(audit.auditLog.nodes.every((n: { appId: string | null }) => n.appId === null || n.appId === toGlobalId("App", beta.appPk))).toBe(true);
    });
  });

  describe("secrets, visibility, disabling", () => {
    it("rotateAppSecret: the new secret works at once, the old one during the grace period only", async () => {
      const created = (await gw.data(corp.token, CREATE_APP, { input: { name: "Rotating", scopes: ["directory:read"] } })).createApp;
      const oldSecret = created.clientSecret;
      const rotated = (await gw.data(corp.token, ROTATE, { input: { id: created.app.id } })).rotateAppSecret;
      expect(rotated.clientSecret).not.toBe(oldSecret);
      const until = new Date(rotated.app.previousSecretExpiresAt).getTime();
      expect(until - Date.now()).toBeGreaterThan(3590_000);
      expect(until - Date.now()).toBeLessThanOrEqual(3600_000);
      await gw.token(created.app.clientId, rotated.clientSecret);
      await gw.token(created.app.clientId, oldSecret);
      // Past the grace period, the old secret is refused.
      await gw.sql(`UPDATE app SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [pk(created.app.id)]);
      const res = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: created.app.clientId, secret: oldSecret });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe("invalid_client");
      const refused = await gw.sql(`SELECT outcome FROM audit_log WHERE action = 'TOKEN_REFUSED' AND app_id = $1`, [pk(created.app.id)]);
      expect(refused).toEqual([{ outcome: "FAILURE" }]);
    });

    it("setAppVisibility and appsForMember: the member's app set follows departments and single members", async () => {
      const app = (await gw.data(corp.token, CREATE_APP, { input: { name: "Sales tool", scopes: ["directory:read"], visibility: { departmentIds: [sales] } } }))
        .createApp;
      const forRep = async (member: string) =>
        (await gw.data(corp.token, `query($m: ID!) { appsForMember(memberId: $m) { name } }`, { m: member })).appsForMember.map(
          (a: { name: string }) => a.name,
        );
      expect(await forRep(m.salesRep)).toContain("Sales tool");
      expect(await forRep(m.plain)).not.toContain("Sales tool");
      const updated = (await gw.data(corp.token, VISIBILITY, { input: { id: app.app.id, visibility: { departmentIds: [], memberIds: [m.plain] } } }))
        .setAppVisibility.app;
      expect(updated.visibleDepartments).toEqual([]);
      expect(updated.visibleMembers).toEqual([{ employeeId: "plain" }]);
      expect(await forRep(m.salesRep)).not.toContain("Sales tool");
      expect(await forRep(m.plain)).toContain("Sales tool");
      // The app's token now sees no department at once (the grant cache was invalidated).
      const token = await gw.token(app.app.clientId, app.clientSecret);
      expect((await gw.data(token, `{ departments { totalCount } }`)).departments.totalCount).toBe(0);
      await expectRefused(
        corp.token,
        `query($m: ID!) { appsForMember(memberId: $m) { name } }`,
        { m: toGlobalId("Member", "999999") },
        "NOT_FOUND",
        "memberId",
      );
    });

    it("disableApp refuses its tokens from the next call on, and updateApp can enable it again", async () => {
      const app = (await gw.data(corp.token, CREATE_APP, { input: { name: "Disposable", scopes: ["directory:read"] } })).createApp;
      const token = await gw.token(app.app.clientId, app.clientSecret);
      expect((await gw.gql(token, `{ corp { name } }`)).status).toBe(200);
      expect((await gw.data(corp.token, DISABLE, { input: { id: app.app.id } })).disableApp.app.enabled).toBe(false);
      const refused = await gw.gql(token, `{ corp { name } }`);
      expect(refused.status).toBe(401);
      expect(refused.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect((await gw.tokenRequest({ grant_type: "client_credentials" }, { id: app.app.clientId, secret: app.clientSecret })).status).toBe(401);
      const enabled = (
        await gw.data(corp.token, UPDATE_APP, { input: { id: app.app.id, enabled: true, name: "Back", scopes: ["directory:read", "messages:read"] } })
      ).updateApp.app;
      expect(enabled).toMatchObject({ enabled: true, name: "Back", scopes: ["directory:read", "messages:read"] });
      // Tokens issued before the disable stay refused (a leaked token does not come back, issue 11);
      // a new one works (iat has second precision: the disable's own second is refused too).
      expect((await gw.gql(token, `{ corp { name } }`)).status).toBe(401);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await gw.gql(await gw.token(app.app.clientId, app.clientSecret), `{ corp { name } }`)).status).toBe(200);
      await expectRefused(corp.token, DISABLE, { input: { id: toGlobalId("App", corp.appPk) } }, "BAD_USER_INPUT", "input.id");
      await expectRefused(corp.token, UPDATE_APP, { input: { id: toGlobalId("App", corp.appPk), enabled: false } }, "BAD_USER_INPUT", "input.enabled");
      expect((await gw.sql(`SELECT enabled FROM app WHERE id = $1`, [corp.appPk]))[0].enabled).toBe(true);
    });
  });

  describe("vendor apps", () => {
    let vendor: { clientId: string; clientSecret: string };
    beforeAll(async () => {
      vendor = await gw.deps.services.apps.createVendorApp({ name: "CRM Cloud", scopes: ["directory:read", "customers:read", "customers:write"] });
    });

    const vendorToken = (corpId: string, extra: Record<string, string> = {}) =>
      gw.tokenRequest({ grant_type: "client_credentials", corp_id: corpId, ...extra }, { id: vendor.clientId, secret: vendor.clientSecret });

    it("a vendor gets no token for a corp that has not installed it, nor one that does not exist (same answer)", async () => {
      const notInstalled = await vendorToken(corp.corpId);
      const noCorp = await vendorToken(toGlobalId("Corp", "999999"));
      expect(notInstalled).toMatchObject({ status: 400, body: { error: "invalid_grant", error_description: "The app is not installed in this corp." } });
      expect(noCorp.body).toEqual(notInstalled.body);
      const noCorpId = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: vendor.clientId, secret: vendor.clientSecret });
      expect(noCorpId.body.error).toBe("invalid_request");
      const wrongSecret = await gw.tokenRequest({ grant_type: "client_credentials", corp_id: corp.corpId }, { id: vendor.clientId, secret: "wrong" });
      expect(wrongSecret.status).toBe(401);
    });

    it("installApp grants fewer scopes than asked; the vendor's token is bound to that corp; uninstall revokes it at once", async () => {
      await expectRefused(corp.token, INSTALL, { input: { clientId: vendor.clientId, scopes: ["apps:admin"] } }, "BAD_USER_INPUT", "input.scopes");
      await expectRefused(corp.token, INSTALL, { input: { clientId: "wg_nope", scopes: [] } }, "NOT_FOUND", "input.clientId");
      const installation = (
        await gw.data(corp.token, INSTALL, { input: { clientId: vendor.clientId, scopes: ["directory:read"], visibility: { departmentIds: [sales] } } })
      ).installApp.installation;
      expect(installation).toMatchObject({
        kind: "VENDOR",
        name: "CRM Cloud",
        clientId: vendor.clientId,
        scopes: ["directory:read"],
        visibleDepartments: [{ name: "Sales" }],
      });
      await expectRefused(corp.token, INSTALL, { input: { clientId: vendor.clientId, scopes: [] } }, "CONFLICT", "input.clientId");

      const res = await vendorToken(corp.corpId);
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe("directory:read");
      const token = res.body.access_token;
      const me = await gw.data(token, `{ viewer { corp { name } app { kind clientId } scopes } departments { nodes { name } } }`);
      expect(me).toEqual({
        viewer: { corp: { name: "Acme" }, app: { kind: "VENDOR", clientId: vendor.clientId }, scopes: ["directory:read"] },
        departments: { nodes: [{ name: "Sales" }] },
      });
      // Still nothing for the second corp.
      expect((await vendorToken(beta.corpId)).status).toBe(400);
      // A token of corp A presented with corp B's id in it is refused (the installation is per corp).
      expect(await gw.sql(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'TOKEN_ISSUED' AND app_id = $1`, [pk(installation.id)])).toEqual([{ n: 1 }]);

      const uninstalled = await gw.data(corp.token, UNINSTALL, { input: { id: installation.id } });
      expect(uninstalled.uninstallApp.uninstalledAppId).toBe(installation.id);
      const after = await gw.gql(token, `{ corp { name } }`);
      expect(after.status).toBe(401);
      expect(after.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect((await vendorToken(corp.corpId)).body.error).toBe("invalid_grant");
      // Installed again: the old token stays refused (it names the old installation).
      await gw.data(corp.token, INSTALL, { input: { clientId: vendor.clientId, scopes: ["directory:read"] } });
      expect((await gw.gql(token, `{ corp { name } }`)).status).toBe(401);
      expect((await vendorToken(corp.corpId)).status).toBe(200);
      expect(await gw.sql(`SELECT action FROM audit_log WHERE action IN ('APP_INSTALLED', 'APP_UNINSTALLED') ORDER BY id`)).toEqual([
        { action: "APP_INSTALLED" },
        { action: "APP_UNINSTALLED" },
        { action: "APP_INSTALLED" },
      ]);
      await expectRefused(corp.token, UNINSTALL, { input: { id: toGlobalId("App", corp.appPk) } }, "BAD_USER_INPUT", "input.id");
    });
  });

  describe("network rules", () => {
    it("refuses /oauth/token and /graphql from outside the allowed ranges with FORBIDDEN; X-Forwarded-For only from a trusted proxy", async () => {
      const app = (await gw.data(corp.token, CREATE_APP, { input: { name: "Office only", scopes: ["directory:read"], allowedIpRanges: ["198.51.100.0/24"] } }))
        .createApp;
      const basic = { id: app.app.clientId, secret: app.clientSecret };
      // The test talks from 127.0.0.1, a trusted proxy here (TRUST_PROXY=loopback): the header names the client.
      const post = (xff: string) =>
        fetch(`${gw.url}/oauth/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "x-forwarded-for": xff,
            authorization: "Basic " + Buffer.from(`${basic.id}:${basic.secret}`).toString("base64"),
          },
          body: "grant_type=client_credentials",
        });
      const outside = await post("203.0.113.9");
      expect(outside.status).toBe(403);
      expect(await outside.json()).toEqual({ error: "access_denied", error_description: "The client's IP address is outside the app's allowed IP ranges." });
      const inside = await post("198.51.100.7");
      expect(inside.status).toBe(200);
      const token = ((await inside.json()) as { access_token: string }).access_token;
      const fromOffice = await gw.gql(token, `{ corp { name } }`, undefined, { headers: { "x-forwarded-for": "198.51.100.7" } });
      expect(fromOffice.body).toEqual({ data: { corp: { name: "Acme" } } });
      const fromElsewhere = await gw.gql(token, `{ corp { name } }`, undefined, { headers: { "x-forwarded-for": "203.0.113.9" } });
      expect(fromElsewhere.status).toBe(403);
      expect(fromElsewhere.body.errors![0].extensions).toEqual({ code: "FORBIDDEN" });
      // No header: the peer itself (127.0.0.1) is the client, outside the range.
      expect((await gw.gql(token, `{ corp { name } }`)).status).toBe(403);
      // graphql-ws: the upgrade request's address decides; outside the ranges the connection is refused (4403).
      const ws = gw.wsClient(token);
      try {
        const sub = gw.subscribe(ws, `subscription { directoryEvents { cursor } }`);
        await sub.waitFor(1);
        expect(sub.results).toEqual([]);
        expect((sub.error as { code: number }).code).toBe(4403);
      } finally {
        await ws.dispose();
      }
      // The directory's file endpoints apply the same rule (a token used from elsewhere is refused there too).
      for (const [method, path] of [
        ["GET", "/exports/not-an-id"],
        ["POST", "/imports?mode=UPSERT"],
      ] as const) {
        const file = await fetch(`${gw.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "x-forwarded-for": "203.0.113.9", "content-type": "text/csv" },
          ...(method === "POST" ? { body: "employeeId,name,department\n" } : {}),
        });
        expect(file.status).toBe(403);
        expect(((await file.json()) as { errors: { extensions: unknown }[] }).errors[0].extensions).toEqual({ code: "FORBIDDEN" });
      }
      const audit = await gw.sql(
        `SELECT outcome, ip, detail->>'reason' AS reason FROM audit_log WHERE app_id = $1 AND action IN ('TOKEN_ISSUED', 'TOKEN_REFUSED') ORDER BY id`,
        [pk(app.app.id)],
      );
      expect(audit).toEqual([
        { outcome: "FAILURE", ip: "203.0.113.9", reason: "IP address outside the allowed ranges" },
        { outcome: "SUCCESS", ip: "198.51.100.7", reason: null },
      ]);
    });

    it("without TRUST_PROXY the header is ignored", async () => {
      const plain = await TestGateway.start();
      try {
        const c = await plain.createCorp("Solo");
        const app = (await plain.data(c.token, CREATE_APP, { input: { name: "Office", scopes: [], allowedIpRanges: ["198.51.100.0/24"] } })).createApp;
        const res = await fetch(`${plain.url}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.7" },
          body: `grant_type=client_credentials&client_id=${app.app.clientId}&client_secret=${app.clientSecret}`,
        });
        expect(res.status).toBe(403);
        const local = (await plain.data(c.token, CREATE_APP, { input: { name: "Local", scopes: [], allowedIpRanges: ["127.0.0.0/8", "::1/128"] } })).createApp;
        await plain.token(local.app.clientId, local.clientSecret);
      } finally {
        await plain.stop();
      }
    });
  });

  describe("auditLog", () => {
    it("lists newest first, filters, and pages", async () => {
      const all = await gw.data(corp.token, AUDIT, { first: 100 });
      expect(all.auditLog.totalCount).toBeGreaterThan(10);
      const page1 = await gw.data(corp.token, AUDIT, { filter: { actions: ["APP_CREATED"] }, first: 2 });
      expect(page1.auditLog.nodes.map((n: { action: string }) => n.action)).toEqual(["APP_CREATED", "APP_CREATED"]);
      expect(page1.auditLog.pageInfo.hasNextPage).toBe(true);
      const page2 = await gw.data(corp.token, AUDIT, { filter: { actions: ["APP_CREATED"] }, first: 100, after: page1.auditLog.pageInfo.endCursor });
      const ids = await gw.sql(`SELECT app_id FROM audit_log WHERE corp_id = $1 AND action = 'APP_CREATED' ORDER BY id DESC`, [corp.corpPk]);
      expect([...page1.auditLog.nodes, ...page2.auditLog.nodes].map((n: { appId: string }) => n.appId)).toEqual(ids.map((r) => toGlobalId("App", r.app_id)));
      const failures = await gw.data(corp.token, AUDIT, { filter: { success: false }, first: 100 });
      expect(failures.auditLog.nodes.every((n: { success: boolean }) => !n.success)).toBe(true);
      expect(failures.auditLog.totalCount).toBeGreaterThan(0);
      await expectRefused(corp.token, AUDIT, { filter: { appId: "bad" } }, "BAD_USER_INPUT", "filter.appId");
    });
  });
});
