import { createHash, randomBytes } from "node:crypto";
import { Client } from "pg";
import { formOf, freePort, pk, TestGateway, type TestCorp, type Untyped } from "./harness";
import { transaction } from "../src/db/transaction";
import { feedKey, STREAMS, type StreamName } from "../src/events/log";
import { migrate } from "../src/db/migrate";
import { MIGRATIONS } from "../migrations";
import { EventStreams1796000000000 } from "../migrations/1796000000000-EventStreams";
import { toGlobalId } from "../src/schema/global-id";

/**
 * Review of issue 12 (the policy / transaction / event-log refactor): regression tests for what the
 * refactor promised to keep, written by the reviewer: each guards a property the review checked
 * (cross-corp grants of a vendor app, the transaction path, the per-stream event log and relay, scopes
 * on field resolvers, the EventStreams migration on existing rows).
 */

const PASSWORD = "Correct-horse-9";
const VENDOR_REDIRECT = "https://crm.example/callback";

describe("issue 12 review", () => {
  let gw: TestGateway;
  let issuer: string;
  let acme: TestCorp;
  let beta: TestCorp;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    gw = await TestGateway.start({ PORT: String(port), PUBLIC_URL: issuer, SIGNIN_IP_LIMIT_PER_MINUTE: "100000", TOKEN_IP_LIMIT_PER_MINUTE: "100000" });
    acme = await gw.createCorp("Acme");
    beta = await gw.createCorp("Beta");
  });
  afterAll(() => gw.stop());

  /** A member of `corp`'s root department with a password set through an activation link (so ACTIVE). */
  async function memberWithPassword(corp: TestCorp, employeeId: string): Promise<string> {
    const id = await gw.createMember(corp.token, { employeeId, name: employeeId, departmentIds: [corp.rootId] });
    const link = (await gw.data(corp.token, `mutation($i: MemberIdInput!) { createActivationLink(input: $i) { url } }`, { i: { memberId: id } }))
      .createActivationLink.url as string;
    const page = await formOf(link.replace(issuer, gw.url));
    expect((await page.post({ password: PASSWORD, password_again: PASSWORD })).status).toBe(200);
    return id;
  }

  describe("cross-corp grants of a vendor app installed in several corps", () => {
    let vendor: { clientId: string; clientSecret: string };
    const vendorBasic = () => ({ id: vendor.clientId, secret: vendor.clientSecret });

    beforeAll(async () => {
      vendor = await gw.deps.services.apps.createVendorApp({ name: "CRM Cloud", scopes: ["directory:read"], redirectUris: [VENDOR_REDIRECT] });
      for (const corp of [acme, beta]) {
        await gw.data(corp.token, `mutation($i: InstallAppInput!) { installApp(input: $i) { installation { id } } }`, {
          i: { clientId: vendor.clientId, scopes: ["directory:read"] },
        });
      }
      await memberWithPassword(acme, "alice");
    });

    /** Signs alice in to the vendor app in Acme; returns the code and its PKCE verifier. */
    async function acmeCode() {
      const verifier = randomBytes(32).toString("base64url");
      const params = new URLSearchParams({
        response_type: "code",
        client_id: vendor.clientId,
        corp_id: acme.corpId,
        redirect_uri: VENDOR_REDIRECT,
        scope: "openid directory:read",
        state: "s",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      });
      const page = await formOf(`${gw.url}/oauth/authorize?${params}`);
      const res = await page.post({ login: "alice", password: PASSWORD });
      expect(res.status).toBe(303);
      const code = new URL(res.headers.get("location")!).searchParams.get("code");
      expect(code).toBeTruthy();
      return { code: code!, verifier };
    }

    it("a code of corp A presented by the same vendor client for corp B is invalid there, and is not spent by the attempt", async () => {
      const { code, verifier } = await acmeCode();
      const wrongCorp = await gw.tokenRequest(
        { grant_type: "authorization_code", code, redirect_uri: VENDOR_REDIRECT, code_verifier: verifier, corp_id: beta.corpId },
        vendorBasic(),
      );
      expect(wrongCorp.status).toBe(400);
      expect(wrongCorp.body.error).toBe("invalid_grant");
      // Nothing of Beta's log or tokens moved; the code still works for the corp it was issued in.
      expect(await gw.sql(`SELECT count(*)::int AS n FROM refresh_token WHERE corp_id = $1`, [beta.corpPk])).toEqual([{ n: 0 }]);
      const right = await gw.tokenRequest({ grant_type: "authorization_code", code, redirect_uri: VENDOR_REDIRECT, code_verifier: verifier }, vendorBasic());
      expect(right.status).toBe(200);
      const viewer = await gw.data(right.body.access_token, `{ viewer { corp { id } member { employeeId } } }`);
      expect(viewer.viewer).toEqual({ corp: { id: acme.corpId }, member: { employeeId: "alice" } });
    });

    it("a refresh token of corp A presented for corp B is invalid and does not revoke its family in A", async () => {
      const { code, verifier } = await acmeCode();
      const tokens = await gw.tokenRequest({ grant_type: "authorization_code", code, redirect_uri: VENDOR_REDIRECT, code_verifier: verifier }, vendorBasic());
      expect(tokens.status).toBe(200);
      const wrongCorp = await gw.tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.body.refresh_token, corp_id: beta.corpId }, vendorBasic());
      expect(wrongCorp.status).toBe(400);
      expect(wrongCorp.body.error).toBe("invalid_grant");
      // Presented twice for B: had it been spent (or counted as reuse) there, A's family would now be revoked.
      await gw.tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.body.refresh_token, corp_id: beta.corpId }, vendorBasic());
      expect((await gw.gql(tokens.body.access_token, `{ viewer { role } }`)).body.data).toEqual({ viewer: { role: "MEMBER" } });
      const refreshed = await gw.tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.body.refresh_token }, vendorBasic());
      expect(refreshed.status).toBe(200);
    });

    it("a vendor client's client-credentials token names the corp it asked for, never the other installation", async () => {
      const forBeta = await gw.tokenRequest({ grant_type: "client_credentials", corp_id: beta.corpId }, vendorBasic());
      expect(forBeta.status).toBe(200);
      const data = await gw.data(forBeta.body.access_token, `{ viewer { corp { id } } members { nodes { employeeId } } }`);
      expect(data.viewer.corp.id).toBe(beta.corpId);
      expect(data.members.nodes.map((n: Untyped) => n.employeeId)).not.toContain("alice");
    });
  });

  describe("the one transaction path (db/transaction.ts) and the event log (events/log.ts)", () => {
    const count = async (sql: string, params: unknown[] = []) => (await gw.sql<{ n: number }>(sql, params))[0].n;

    /** Every `events` notification the bus carries for `key` while `during` runs (plus a short grace). */
    async function notifications(key: string, during: () => Promise<unknown>): Promise<string[]> {
      const seen: string[] = [];
      const it = gw.deps.bus.subscribe("events", key);
      const pump = (async () => {
        for await (const lastId of it) seen.push(String(lastId));
      })();
      try {
        await during().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await it.return?.();
        await pump;
      }
      return seen;
    }

    it("publishes only after COMMIT, with the id of the row it inserted", async () => {
      const seen: string[] = [];
      const it = gw.deps.bus.subscribe("events", feedKey(acme.corpPk, STREAMS.directory));
      const pump = (async () => {
        for await (const lastId of it) seen.push(String(lastId));
      })();
      let seenAtCommit = -1;
      await transaction(gw.deps.pool, acme.corpPk, async (tx) => {
        gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_PROBE", audience: [] });
        tx.beforeCommit(async () => {
          await new Promise((r) => setTimeout(r, 30));
          seenAtCommit = seen.length;
        });
      });
      await new Promise((r) => setTimeout(r, 50));
      await it.return?.();
      await pump;
      expect(seenAtCommit).toBe(0);
      const [row] = await gw.sql(`SELECT id::text AS id, stream FROM event WHERE type = 'REVIEW_PROBE' ORDER BY id DESC LIMIT 1`);
      expect(row.stream).toBe("directory");
      expect(seen).toEqual([row.id]);
    });

    it("a thrown error rolls back the work and the events, publishes nothing, and gives the connection back to the pool", async () => {
      const before = await count(`SELECT count(*)::int AS n FROM event`);
      const seen = await notifications(feedKey(acme.corpPk, STREAMS.directory), async () => {
        // More failing transactions than the pool has connections: a leak would hang the last ones.
        for (let i = 0; i < 15; i++) {
          await expect(
            transaction(gw.deps.pool, acme.corpPk, async (tx) => {
              gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_ROLLED_BACK", audience: [] });
              await tx.db.exec(`UPDATE corp SET name = name || '!' WHERE id = $1`);
              throw new Error("boom");
            }),
          ).rejects.toThrow("boom");
        }
      });
      expect(seen).toEqual([]);
      expect(await count(`SELECT count(*)::int AS n FROM event`)).toBe(before);
      expect(await gw.sql(`SELECT name FROM corp WHERE id = $1`, [acme.corpPk])).toEqual([{ name: "Acme" }]);
      expect(gw.deps.pool.waitingCount).toBe(0);
    });

    it("rollbackOnly() is a dry run: nothing is kept, no event is inserted or published, the result is returned", async () => {
      const before = await count(`SELECT count(*)::int AS n FROM event`);
      let result: string | undefined;
      const seen = await notifications(feedKey(acme.corpPk, STREAMS.directory), async () => {
        result = await transaction(gw.deps.pool, acme.corpPk, async (tx) => {
          gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_DRY_RUN", audience: [] });
          await tx.db.exec(`UPDATE corp SET name = 'Dry' WHERE id = $1`);
          tx.rollbackOnly();
          return "done";
        });
      });
      expect(result).toBe("done");
      expect(seen).toEqual([]);
      expect(await count(`SELECT count(*)::int AS n FROM event`)).toBe(before);
      expect(await gw.sql(`SELECT name FROM corp WHERE id = $1`, [acme.corpPk])).toEqual([{ name: "Acme" }]);
    });

    it("a transaction on a caller's own connection leaves it open (the import's session), and never releases it to a pool", async () => {
      const client = new Client(gw.deps.pool.options);
      await client.connect();
      try {
        await client.query(`CREATE TEMP TABLE review_session (x int)`);
        await transaction(gw.deps.pool, acme.corpPk, async (tx) => void (await tx.db.exec(`INSERT INTO review_session SELECT $1::int * 0`)), {
          connection: client,
        });
        await expect(transaction(gw.deps.pool, acme.corpPk, async () => Promise.reject(new Error("boom")), { connection: client })).rejects.toThrow("boom");
        // Same session: the temp table (and the committed row) are still there.
        expect((await client.query(`SELECT count(*)::int AS n FROM review_session`)).rows).toEqual([{ n: 1 }]);
      } finally {
        await client.end();
      }
    });

    it("orders appends per (corp, stream): the same stream waits for the lock holder, another stream or corp does not", async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const lockTaken = new Promise<void>((r) => (locked = r));
      const first = transaction(gw.deps.pool, acme.corpPk, async (tx) => {
        gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_ORDER_1", audience: [] });
        // Runs after the log's own hook, so the stream's lock is held from here to COMMIT.
        tx.beforeCommit(async () => {
          locked();
          await held;
        });
      });
      await lockTaken;
      const done: string[] = [];
      const append = (corpPk: string, stream: string, type: string) =>
        transaction(gw.deps.pool, corpPk, async (tx) => gw.deps.events.append(tx, stream as StreamName, { type, audience: [] })).then(() => done.push(type));
      const sameStream = append(acme.corpPk, STREAMS.directory, "REVIEW_ORDER_2");
      const otherStream = append(acme.corpPk, "messages", "REVIEW_OTHER_STREAM");
      const otherCorp = append(beta.corpPk, STREAMS.directory, "REVIEW_OTHER_CORP");
      await Promise.all([otherStream, otherCorp]);
      await new Promise((r) => setTimeout(r, 200));
      expect(done.sort()).toEqual(["REVIEW_OTHER_CORP", "REVIEW_OTHER_STREAM"]);
      release();
      await Promise.all([first, sameStream]);
      const rows = await gw.sql(`SELECT type FROM event WHERE type LIKE 'REVIEW_ORDER_%' ORDER BY id`);
      // Ids follow commit order within the stream: the one that waited got the larger id.
      expect(rows.map((r) => r.type)).toEqual(["REVIEW_ORDER_1", "REVIEW_ORDER_2"]);
    });

    it("the relay serves one stream: a directory reader never sees another stream's rows, and its feed is released when it stops", async () => {
      const [{ id: mark }] = await gw.sql(`SELECT coalesce(max(id), 0)::text AS id FROM event`);
      const base = gw.deps.relay.activeCorps;
      const iterator = gw.deps.relay.stream(acme.corpPk, STREAMS.directory, BigInt(mark), () => true);
      await transaction(gw.deps.pool, acme.corpPk, async (tx) => gw.deps.events.append(tx, "messages" as StreamName, { type: "REVIEW_MESSAGE", audience: [] }));
      await transaction(gw.deps.pool, beta.corpPk, async (tx) => gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_BETA", audience: [] }));
      await transaction(gw.deps.pool, acme.corpPk, async (tx) => gw.deps.events.append(tx, STREAMS.directory, { type: "REVIEW_DIRECTORY", audience: [] }));
      const next = await iterator.next();
      expect(next.value.type).toBe("REVIEW_DIRECTORY");
      expect(next.value.stream).toBe("directory");
      expect(gw.deps.relay.activeCorps).toBe(base + 1);
      await iterator.return?.();
      await new Promise((r) => setTimeout(r, 50));
      expect(gw.deps.relay.activeCorps).toBe(base);
    });
  });

  describe("scopes on field resolvers and node(id): what acf9dd3 refused through its services is still refused", () => {
    let sales: string;
    let carol: string;
    beforeAll(async () => {
      sales = await gw.createDepartment(acme.token, { name: "Sales" });
      carol = await gw.createMember(acme.token, { employeeId: "carol", name: "Carol", departmentIds: [sales] });
      await gw.data(acme.token, `mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { id } } }`, {
        i: { id: sales, leaderIds: [carol] },
      });
    });

    it("an apps:admin token reaching departments through the apps API cannot read their members, parent or ancestors (FORBIDDEN, no data)", async () => {
      const appsAdmin = await gw.createApp(acme.corpPk, ["apps:admin"]);
      const restricted = await gw.createApp(acme.corpPk, ["directory:read"], [pk(sales)]);
      const path = `app(id: "${toGlobalId("App", restricted.appPk)}")`;
      for (const field of ["members { nodes { id } }", "parent { id }", "ancestors { id }"]) {
        const res = await gw.gql(appsAdmin.token, `{ ${path} { visibleDepartments { id ${field} } } }`);
        expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
        expect(JSON.stringify(res.body.data)).not.toContain(carol);
      }
      const nodeRes = await gw.gql(appsAdmin.token, `query($id: ID!) { node(id: $id) { id } }`, { id: carol });
      expect(nodeRes.body.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    });

    it("a token of another corp sees nothing of Acme through node, member, department or an event subscription", async () => {
      for (const [query, id] of [
        [`query($id: ID!) { node(id: $id) { id } }`, carol],
        [`query($id: ID!) { member(id: $id) { id } }`, carol],
        [`query($id: ID!) { department(id: $id) { id members { totalCount } } }`, sales],
        [`query($id: ID!) { appsForMember(memberId: $id) { id } }`, carol],
      ] as const) {
        const res = await gw.gql(beta.token, query, { id });
        expect(JSON.stringify(res.body)).not.toContain("Carol");
        if (!res.body.errors) expect(Object.values(res.body.data!)).toEqual([null]);
      }
      const sub = gw.subscribe(gw.wsClient(beta.token), `subscription { directoryEvents(after: "0") { type memberId departmentId } }`);
      await new Promise((r) => setTimeout(r, 300));
      await gw.data(acme.token, `mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { id } } }`, { i: { id: carol, title: "x" } });
      await new Promise((r) => setTimeout(r, 300));
      sub.stop();
      expect(JSON.stringify(sub.results)).not.toContain(carol);
    });

    // createActivationLink and revokeMemberSessions follow the member-write rule (MemberService.writable)
    // and answer with its FORBIDDEN messages, which say why (acf9dd3 had texts of their own; the code is unchanged).
    it("createActivationLink refuses a leader outside the member's departments, and a corp administrator's link, with the member-write messages", async () => {
      const eng = await gw.createDepartment(acme.token, { name: "Eng" });
      const dave = await gw.createMember(acme.token, { employeeId: "dave", name: "Dave", departmentIds: [sales, eng], status: "ACTIVE" });
      const erin = await gw.createMember(acme.token, { employeeId: "erin", name: "Erin", departmentIds: [sales], status: "ACTIVE", isCorpAdmin: true });
      const leader = gw.memberToken(acme.corpPk, { clientId: acme.clientId }, pk(carol));
      await gw.data(acme.token, `mutation($i: SetMemberStatusInput!) { setMemberStatus(input: $i) { member { id } } }`, { i: { id: carol, status: "ACTIVE" } });
      const link = (memberId: string) => gw.gql(leader, `mutation($i: MemberIdInput!) { createActivationLink(input: $i) { url } }`, { i: { memberId } });
      const outside = await link(dave);
      expect(outside.body.errors?.[0]).toMatchObject({
        message: "The member belongs to departments outside the subtrees you may manage.",
        extensions: { code: "FORBIDDEN" },
      });
      const admin = await link(erin);
      expect(admin.body.errors?.[0]).toMatchObject({ message: "Only corp administrators may change a corp administrator.", extensions: { code: "FORBIDDEN" } });
    });
  });

  describe("migration EventStreams on existing rows", () => {
    it("down maps the generic subject back to member_id / department_id and keeps only the directory; up maps old rows forward", async () => {
      const ds = gw.deps.dataSource;
      const member = await gw.createMember(acme.token, { employeeId: "mig", name: "Mig", departmentIds: [acme.rootId] });
      await gw.sql(`DELETE FROM event`);
      await gw.sql(
        `INSERT INTO event (corp_id, stream, type, subject_type, subject_id, audience, data, occurred_at) VALUES
           ($1, 'directory', 'MEMBER_CREATED', 'Member', $2, ARRAY['/x/'], '{}', now()),
           ($1, 'directory', 'DEPARTMENT_CREATED', 'Department', $3, ARRAY['/y/'], '{}', now()),
           ($1, 'messages', 'MESSAGE_SENT', 'Conversation', 7, ARRAY['/z/'], '{}', now())`,
        [acme.corpPk, pk(member), acme.rootPk],
      );
      try {
        // Down to before EventStreams: the later migrations first, newest first.
        const undo = MIGRATIONS.length - MIGRATIONS.indexOf(EventStreams1796000000000);
        for (let i = 0; i < undo; i++) await ds.undoLastMigration({ transaction: "each" });
        expect(await gw.sql(`SELECT type, member_id::text, department_id::text, scope_paths FROM event ORDER BY id`)).toEqual([
          { type: "MEMBER_CREATED", member_id: pk(member), department_id: null, scope_paths: ["/x/"] },
          { type: "DEPARTMENT_CREATED", member_id: null, department_id: acme.rootPk, scope_paths: ["/y/"] },
        ]);
        await gw.sql(
          `INSERT INTO event (corp_id, type, member_id, department_id, scope_paths, data, occurred_at)
           VALUES ($1, 'MEMBER_UPDATED', $2, NULL, ARRAY['/a/'], '{"changedFields":["name"]}', now()),
                  ($1, 'DEPARTMENT_DELETED', NULL, 99, ARRAY['/b/'], '{}', now())`,
          [acme.corpPk, pk(member)],
        );
      } finally {
        await migrate(ds);
      }
      expect(await gw.sql(`SELECT stream, type, subject_type, subject_id::text, audience FROM event ORDER BY id`)).toEqual([
        { stream: "directory", type: "MEMBER_CREATED", subject_type: "Member", subject_id: pk(member), audience: ["/x/"] },
        { stream: "directory", type: "DEPARTMENT_CREATED", subject_type: "Department", subject_id: acme.rootPk, audience: ["/y/"] },
        { stream: "directory", type: "MEMBER_UPDATED", subject_type: "Member", subject_id: pk(member), audience: ["/a/"] },
        { stream: "directory", type: "DEPARTMENT_DELETED", subject_type: "Department", subject_id: "99", audience: ["/b/"] },
      ]);
    });
  });
});
