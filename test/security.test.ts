import WebSocket from "ws";
import { getIntrospectionQuery } from "graphql";
import type { Client as WsClient } from "graphql-ws";
import { TestGateway, type TestCorp } from "./harness";
import { parseGlobalId, toGlobalId } from "../src/schema/global-id";

/**
 * The outside review of issue 11, replayed finding by finding as it was found: every hostile
 * document and socket is refused with a coded error before any resolver or SQL runs, and nothing is
 * written. How long each refusal took is printed at the end (a measurement, not an assertion).
 */

const CREATE_DEPARTMENT = `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id name } } }`;
const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;

/** `{ department(id) { ...F<n> } }` where each fragment spreads the previous one twice (children and parent). */
function fragmentBomb(root: string, depth: number): string {
  const fragments = ["fragment F0 on Department { id }"];
  for (let i = 1; i <= depth; i++) fragments.push(`fragment F${i} on Department { children { ...F${i - 1} } parent { ...F${i - 1} } }`);
  return `{ department(id: "${root}") { ...F${depth} } } ${fragments.join(" ")}`;
}

/** 8,000 aliases of a deep `__schema` selection (1.7 MB). */
function introspectionAliasBomb(count = 8000): string {
  const deep =
    "__schema { types { name kind description fields { name description isDeprecated args { name description type { name kind } } type { name kind ofType { name kind ofType { name kind } } } } } }";
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${deep}`).join(" ")} }`;
}

/** The 282-byte nested-lists query of the review: 100 members × their departments × 100 members × … */
const NESTED_LISTS = `{ members(first: 100) { nodes { departments { members(first: 100, includeSubdepartments: true) { nodes { departments { members(first: 100, includeSubdepartments: true) { nodes { departments { members(first: 100) { nodes { id name } } } } } } } } } } } }`;

describe("safe to open to third parties (issue 11, replayed)", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let rootId: string;
  const timings: string[] = [];
  const clients: WsClient[] = [];

  /** Times a request; the figure goes to the log, never into an assertion. */
  async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    const result = await work();
    timings.push(`${label}: ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`);
    return result;
  }

  const countRows = async () =>
    (
      await gw.sql<{ d: string; m: string; e: string }>(
        `SELECT (SELECT count(*) FROM department)::text AS d, (SELECT count(*) FROM member)::text AS m, (SELECT count(*) FROM event)::text AS e`,
      )
    )[0];

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Target Corp");
    rootId = corp.rootId;
    // A small tree, so an executed bomb would have something to multiply.
    let parent = rootId;
    for (let level = 0; level < 4; level++) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await gw.data(corp.token, CREATE_DEPARTMENT, { input: { name: `L${level}-${i}`, parentId: parent } })).createDepartment.department.id);
      }
      parent = ids[0];
    }
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(async () => {
    // eslint-disable-next-line no-console -- the measured refusal times are this suite's report (issue 11)
    console.log(`Refusal times (issue 11 replay):\n  ${timings.join("\n  ")}`);
    await gw.stop();
  });

  describe("documents are judged before they run", () => {
    it("the fragment bomb of depth 29 is refused on depth (LIMIT_EXCEEDED, no SQL)", async () => {
      const before = await countRows();
      const query = fragmentBomb(rootId, 29);
      const res = await timed(`fragment bomb, depth 29 (${query.length} bytes)`, () => gw.gql(corp.token, query, undefined, { debugSql: true }));
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "depth", maximum: 15, actual: 31 });
      expect(res.body.errors![0].message).toBe("The document is 31 fields deep; the deepest allowed is 15.");
      expect(res.body.extensions?.diagnostics?.sqlStatements ?? 0).toBe(0);
      expect(await countRows()).toEqual(before);
    });

    it("the same bomb at depth 12 (within the depth cap) is refused on cost", async () => {
      const res = await timed("fragment bomb, depth 12", () => gw.gql(corp.token, fragmentBomb(rootId, 12), undefined, { debugSql: true }));
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions).toMatchObject({ code: "LIMIT_EXCEEDED", limit: "cost", maximum: 1000 });
      expect(res.body.errors![0].extensions!.actual).toBeGreaterThan(1_000_000);
      expect(res.body.extensions?.diagnostics?.sqlStatements ?? 0).toBe(0);
    });

    it("the introspection alias bomb (8,000 aliases, 1.7 MB) is refused on size, with and without a token", async () => {
      const query = introspectionAliasBomb();
      expect(query.length).toBeGreaterThan(1_500_000);
      // Without a token the body is refused before it is parsed (64 KB); with one, the document (32 KB).
      const anonymous = await timed("introspection alias bomb, without token", () => gw.gql(null, query));
      expect(anonymous.status).toBe(413);
      expect(anonymous.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "body", maximum: 65536 });
      const withToken = await timed("introspection alias bomb, with token", () => gw.gql(corp.token, query));
      expect(withToken.status).toBe(400);
      expect(withToken.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "size", maximum: 32768, actual: Buffer.byteLength(query) });
    });

    it("aliases within the size cap: over 30 are refused; 30 aliased __schema cost 3,000 points", async () => {
      const aliases = (n: number, sel: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${sel}`).join(" ")} }`;
      const many = await timed("31 aliases", () => gw.gql(corp.token, aliases(31, "__typename")));
      expect(many.status).toBe(400);
      expect(many.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "aliases", maximum: 30, actual: 31 });
      const schemas = await timed("30 aliased __schema", () => gw.gql(corp.token, aliases(30, "__schema { types { name } }")));
      expect(schemas.status).toBe(400);
      expect(schemas.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "cost", maximum: 1000, actual: 3000 });
      const thirty = await gw.gql(corp.token, aliases(30, "__typename"));
      expect(thirty.status).toBe(200);
      expect(Object.keys(thirty.body.data!)).toHaveLength(30);
    });

    it("a document over 3,000 tokens is refused while it is read", async () => {
      const query = `{ viewer { ${"role ".repeat(3000)} } }`;
      expect(query.length).toBeLessThan(32768);
      const res = await timed("3,000+ tokens", () => gw.gql(corp.token, query));
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "tokens", maximum: 3000 });
    });

    it("introspection needs a token; __typename does not", async () => {
      const anonymous = await gw.gql(null, `{ __schema { queryType { name } } }`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      const type = await gw.gql(null, `{ __type(name: "Query") { name } }`);
      expect(type.status).toBe(401);
      expect((await gw.gql(null, `{ __typename }`)).body).toEqual({ data: { __typename: "Query" } });
    });

    it("the playground's own introspection query (GraphiQL, every option) passes with a token", async () => {
      const query = getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
      });
      const res = await gw.gql(corp.token, query);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.__schema.types.length).toBeGreaterThan(50);
      // A recursive introspection (fields of the types of fields of …) is refused.
      const recursive = await gw.gql(corp.token, `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`);
      expect(recursive.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "introspection", maximum: 3 });
    });

    it("the nested-lists query (282 bytes) is refused on cost; the tour's documents and q1 pass", async () => {
      const res = await timed("nested lists", () => gw.gql(corp.token, NESTED_LISTS, undefined, { debugSql: true }));
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions).toMatchObject({ code: "LIMIT_EXCEEDED", limit: "cost", maximum: 1000 });
      expect(res.body.extensions?.diagnostics?.sqlStatements ?? 0).toBe(0);
      // README tour step 3, and the benchmark's q1 (a department, 50 members, their departments).
      const tour = await gw.gql(corp.token, `{ viewer { role corp { name edition } } departments { nodes { id name children { id name memberCount } } } }`);
      expect(tour.status).toBe(200);
      expect(tour.body.errors).toBeUndefined();
      const q1 = await gw.gql(
        corp.token,
        `query($id: ID!) { department(id: $id) { id name members(first: 50) { nodes { id name departments { id name } } } } }`,
        { id: rootId },
      );
      expect(q1.body.errors).toBeUndefined();
    });

    it("cost is computed from the declarations: a worked example at the cap", async () => {
      // members(first: 100): 1 + 100 × (member 1 + departments 3 × 1) = 401; twice (aliases) = 802.
      const ok = await gw.gql(
        corp.token,
        `{ a: members(first: 100) { nodes { departments { id } } } b: members(first: 100) { nodes { departments { id } } } }`,
      );
      expect(ok.body.errors).toBeUndefined();
      // A third one: 1,203 > 1,000.
      const over = await gw.gql(
        corp.token,
        `{ a: members(first: 100) { nodes { departments { id } } } b: members(first: 100) { nodes { departments { id } } } c: members(first: 100) { nodes { departments { id } } } }`,
      );
      expect(over.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "cost", maximum: 1000, actual: 1203 });
      // Variables count like literals.
      const vars = await gw.gql(corp.token, `query($n: Int) { members(first: $n) { nodes { departments { leaders { leaderOf { id } } } } } }`, { n: 100 });
      expect(vars.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "cost", maximum: 1000, actual: 1 + 100 * (1 + 3 * (1 + 3 * (1 + 3))) });
    });

    it("a variable's default counts like a value the client sent (HTTP and WebSocket)", async () => {
      const query = `query($n: Int = 100) { members(first: $n) { nodes { departments { leaders { leaderOf { id } } } } } }`;
      const omitted = await gw.gql(corp.token, query);
      expect(omitted.body.errors![0].extensions).toEqual({
        code: "LIMIT_EXCEEDED",
        limit: "cost",
        maximum: 1000,
        actual: 1 + 100 * (1 + 3 * (1 + 3 * (1 + 3))),
      });
      const c = gw.wsClient(corp.token);
      clients.push(c);
      const overWs = gw.subscribe(c, query);
      await overWs.waitFor(1);
      expect((overWs.error as Array<{ extensions: Record<string, unknown> }>)[0].extensions).toMatchObject({ code: "LIMIT_EXCEEDED", limit: "cost" });
      // A NUL in a default value is refused like one in a value sent.
      const nul = await gw.gql(corp.token, `query($s: String! = "a\\u0000b") { memberByEmployeeId(employeeId: $s) { id } }`);
      expect(nul.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "s" });
    });

    it("lists longer than their declared size draw on a per-request item budget (MAX_LIST_ITEMS)", async () => {
      // 120 sub-departments, counted as 10: children { parent { children } } costs 121 points but
      // would return 14,520 departments; the budget (10,000) stops it.
      const wide = (await gw.data(corp.token, CREATE_DEPARTMENT, { input: { name: "Wide" } })).createDepartment.department.id;
      for (let i = 0; i < 120; i += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => gw.data(corp.token, CREATE_DEPARTMENT, { input: { name: `W${i + j}`, parentId: wide } })));
      }
      const query = `query($id: ID!) { department(id: $id) { children { parent { children { id name } } } } }`;
      const res = await timed("120 × 120 children", () => gw.gql(corp.token, query, { id: wide }, { debugSql: true }));
      expect(res.status).toBe(200);
      const errors = res.body.errors!;
      expect(errors.length).toBeGreaterThan(0);
      expect(new Set(errors.map((e) => JSON.stringify(e.extensions)))).toEqual(
        new Set([JSON.stringify({ code: "LIMIT_EXCEEDED", limit: "items", maximum: 10000 })]),
      );
      // What did come back stayed within the budget.
      const returned = JSON.stringify(res.body.data ?? {}).match(/"name"/g)?.length ?? 0;
      expect(returned).toBeLessThanOrEqual(10000);
      // One level is fine: 120 children.
      const one = await gw.gql(corp.token, `query($id: ID!) { department(id: $id) { children { id } } }`, { id: wide });
      expect(one.body.errors).toBeUndefined();
      expect(one.body.data.department.children).toHaveLength(120);
    });

    it("without a token a document is held to 2 KB (validating a large one would cost CPU nobody pays for)", async () => {
      const query = `{ ${"__typename ".repeat(250)} }`;
      const anonymous = await gw.gql(null, query);
      expect(anonymous.status).toBe(400);
      expect(anonymous.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "size", maximum: 2048, actual: Buffer.byteLength(query) });
      expect((await gw.gql(corp.token, query)).status).toBe(200);
    });

    it("a subscription's selection runs per event: its own cap of 100 points", async () => {
      const c = gw.wsClient(corp.token);
      clients.push(c);
      const heavy = gw.subscribe(
        c,
        `subscription { directoryEvents(after: "0") { cursor member { departments { leaders { leaderOf { children { id } } } } } } }`,
      );
      await heavy.waitFor(1);
      expect((heavy.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({
        code: "LIMIT_EXCEEDED",
        limit: "cost",
        maximum: 100,
        actual: 1 + 1 + 3 * (1 + 3 * (1 + 3 * (1 + 10))),
      });
    });

    it("over WebSocket the same caps apply per operation, and the socket stays usable", async () => {
      const c = gw.wsClient(corp.token);
      clients.push(c);
      const bomb = gw.subscribe(c, fragmentBomb(rootId, 29));
      await bomb.waitFor(1);
      expect((bomb.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "depth", maximum: 15, actual: 31 });
      const nested = gw.subscribe(c, NESTED_LISTS);
      await nested.waitFor(1);
      expect((nested.error as Array<{ extensions: Record<string, unknown> }>)[0].extensions).toMatchObject({ code: "LIMIT_EXCEEDED", limit: "cost" });
      const fine = gw.subscribe(c, `{ viewer { role } }`);
      await fine.waitFor(1);
      expect(fine.results[0]).toEqual({ data: { viewer: { role: "APP" } } });
    });
  });

  describe("WebSocket frames and connections", () => {
    /** A raw graphql-transport-ws socket: resolves with the close code. */
    function rawSocket(onOpen: (ws: WebSocket) => void): Promise<number> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(gw.wsUrl, "graphql-transport-ws");
        ws.on("open", () => onOpen(ws));
        ws.on("close", (code) => resolve(code));
        ws.on("error", (e) => (String(e).includes("ECONNRESET") ? undefined : reject(e)));
      });
    }

    it("a 50 MB frame closes the socket (1009) without being read", async () => {
      const code = await timed("50 MB WebSocket frame", () =>
        rawSocket((ws) => {
          ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${corp.token}` } }));
          ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ viewer { role } }`, variables: { pad: "x".repeat(50 * 1024 * 1024) } } }));
        }),
      );
      expect(code).toBe(1009);
    });

    it("a refused operation gets one error message, then the socket closes (4403)", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"]);
      const messages: Array<{ id?: string; type: string }> = [];
      const code = await rawSocket((ws) => {
        ws.on("message", async (data) => {
          const message = JSON.parse(String(data)) as { id?: string; type: string };
          messages.push(message);
          if (message.type === "connection_ack") ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ viewer { role } }" } }));
          if (message.type === "complete" && message.id === "1") {
            await gw.sql(`UPDATE app SET enabled = false, tokens_valid_after = now() WHERE id = $1`, [app.appPk]);
            gw.deps.tokens.invalidate();
            ws.send(JSON.stringify({ id: "2", type: "subscribe", payload: { query: CREATE_DEPARTMENT, variables: { input: { name: "After disable" } } } }));
          }
        });
        ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${app.token}` } }));
      });
      expect(code).toBe(4403);
      expect(messages.filter((m) => m.id === "2")).toEqual([
        { id: "2", type: "error", payload: [{ message: expect.any(String), extensions: { code: "UNAUTHENTICATED" } }] },
      ]);
      expect(await gw.sql(`SELECT 1 FROM department WHERE name = 'After disable'`)).toEqual([]);
    });

    it("at most 100 operations run at once on one connection", async () => {
      const c = gw.wsClient(corp.token, { lazy: false });
      clients.push(c);
      const subs = Array.from({ length: 100 }, () => gw.subscribe(c, `subscription { directoryEvents { cursor } }`));
      const extra = gw.subscribe(c, `subscription { directoryEvents { cursor } }`);
      await extra.waitFor(1);
      expect((extra.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "LIMIT_EXCEEDED", limit: "operations", maximum: 100 });
      expect(subs.every((sub) => !sub.completed)).toBe(true);
      subs[0].stop();
      await new Promise((r) => setTimeout(r, 100));
      const again = gw.subscribe(c, `{ viewer { role } }`);
      await again.waitFor(1);
      expect(again.results[0]).toEqual({ data: { viewer: { role: "APP" } } });
      subs.forEach((sub) => sub.stop());
    });

    it("anonymous connection_init is refused at once (4403): 50 sockets, none left open", async () => {
      const codes = await timed("50 anonymous connection_init", () =>
        Promise.all(Array.from({ length: 50 }, () => rawSocket((ws) => ws.send(JSON.stringify({ type: "connection_init" }))))),
      );
      expect(new Set(codes)).toEqual(new Set([4403]));
    });
  });

  describe("operations on an open socket are authorised again", () => {
    /** Opens a socket, proves it works, then `spoil`s its token and tries a mutation over it. */
    async function afterSpoiling(token: string, spoil: () => Promise<void>, label: string) {
      // Not lazy: a lazy client would close the idle socket and reconnect (then refused at connect).
      const c = gw.wsClient(token, { lazy: false });
      clients.push(c);
      const first = gw.subscribe(c, `{ viewer { role } }`);
      await first.waitFor(1);
      expect(first.results[0].data.viewer.role).toBeDefined();
      let closedWith: number | undefined;
      c.on("closed", (event) => void (closedWith = (event as { code: number }).code));
      await spoil();
      const before = await countRows();
      const name = `Via socket ${label}`;
      const write = gw.subscribe(c, CREATE_DEPARTMENT, { input: { name } });
      await write.waitFor(1);
      expect((write.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      for (let i = 0; i < 50 && closedWith === undefined; i++) await new Promise((r) => setTimeout(r, 20));
      expect(closedWith).toBe(4403);
      expect(await countRows()).toEqual(before);
      expect(await gw.sql(`SELECT 1 FROM department WHERE name = $1`, [name])).toEqual([]);
    }

    it("revoked with /oauth/revoke", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"]);
      await afterSpoiling(
        app.token,
        async () => {
          const res = await fetch(`${gw.url}/oauth/revoke`, {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              authorization: "Basic " + Buffer.from(`${app.clientId}:${app.clientSecret}`).toString("base64"),
            },
            body: new URLSearchParams({ token: app.token }).toString(),
          });
          expect(res.status).toBe(200);
        },
        "revoked",
      );
    });

    it("expired while the socket is open", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"]);
      // Valid for about one more second within the 30 s clock-skew allowance.
      const token = gw.deps.tokens.sign(
        { azp: app.clientId, corp: corp.corpId, scope: "directory:read directory:write" },
        { audience: gw.config.tokenAudience, subject: app.clientId, expiresIn: -29 },
      );
      await afterSpoiling(token, () => new Promise((r) => setTimeout(r, 2100)), "expired");
    });

    it("the app disabled", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"]);
      await afterSpoiling(
        app.token,
        async () => {
          await gw.data(corp.token, `mutation($id: ID!) { disableApp(input: { id: $id }) { app { enabled } } }`, { id: toGlobalId("App", app.appPk) });
        },
        "app disabled",
      );
    });

    it("the member disabled and their sessions revoked", async () => {
      const home = (await gw.data(corp.token, CREATE_DEPARTMENT, { input: { name: "Member home" } })).createDepartment.department.id;
      const id = (
        await gw.data(corp.token, CREATE_MEMBER, {
          input: { employeeId: "SOCK-1", name: "Sock Et", departmentIds: [home], status: "ACTIVE", isCorpAdmin: true },
        })
      ).createMember.member.id;
      const token = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, parseGlobalId(id)!.pk);
      await afterSpoiling(
        token,
        async () => {
          await gw.data(corp.token, `mutation($id: ID!) { setMemberStatus(input: { id: $id, status: DISABLED }) { member { status } } }`, { id });
          await gw.data(corp.token, `mutation($id: ID!) { revokeMemberSessions(input: { memberId: $id }) { revokedCount } }`, { id });
        },
        "member disabled",
      );
    });
  });

  describe("the other findings", () => {
    it("5: tokens issued before a disable stay refused after the app is enabled again", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read"]);
      const id = toGlobalId("App", app.appPk);
      await gw.data(corp.token, `mutation($id: ID!) { disableApp(input: { id: $id }) { app { enabled } } }`, { id });
      await gw.data(corp.token, `mutation($id: ID!) { updateApp(input: { id: $id, enabled: true }) { app { enabled } } }`, { id });
      const old = await gw.gql(app.token, `{ viewer { role } }`);
      expect(old.status).toBe(401);
      expect(old.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      // A token issued after re-enabling works (tokens carry second-precision iat: wait past the disable's second).
      await new Promise((r) => setTimeout(r, 1100));
      const fresh = await gw.token(app.clientId, app.clientSecret);
      expect((await gw.gql(fresh, `{ viewer { role } }`)).body).toEqual({ data: { viewer: { role: "APP" } } });
    });

    it("10: a NUL character in any text input is BAD_USER_INPUT naming the field, and writes nothing", async () => {
      const before = await countRows();
      const cases: Array<[string, Record<string, unknown> | undefined, string]> = [
        [CREATE_DEPARTMENT, { input: { name: "Nul\u0000Dept" } }, "input.name"],
        [`mutation { createDepartment(input: { name: "Nul\\u0000Dept" }) { department { id } } }`, undefined, "input.name"],
        [`query($s: String) { members(filter: { search: $s }) { totalCount } }`, { s: "a\u0000" }, "s"],
        [`{ members(filter: { search: "a\\u0000" }) { totalCount } }`, undefined, "filter.search"],
        [`query($e: String!) { memberByEmployeeId(employeeId: $e) { id } }`, { e: "E\u00001" }, "e"],
      ];
      for (const [query, variables, field] of cases) {
        const res = await gw.gql(corp.token, query, variables);
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT", field });
      }
      expect(await countRows()).toEqual(before);
    });

    it("10: a cursor that is not one of the list's answers BAD_USER_INPUT on every connection", async () => {
      const bad = [
        Buffer.from(JSON.stringify(["abc"])).toString("base64url"),
        Buffer.from(JSON.stringify(["99999999999999999999"])).toString("base64url"),
        Buffer.from(JSON.stringify(["1", "x"])).toString("base64url"),
      ];
      const lists = [
        `query($c: String) { members(after: $c) { nodes { id } } }`,
        `query($c: String) { members(last: 5, before: $c) { nodes { id } } }`,
        `query($c: String) { departments(after: $c) { nodes { id } } }`,
        `query($c: String) { auditLog(after: $c) { nodes { action } } }`,
        `query($c: String) { apps(after: $c) { nodes { id } } }`,
        `query($c: String) { directoryHealth { zombieDepartments(after: $c) { nodes { id } } } }`,
        `query($c: String) { directoryHealth { disabledMembers(after: $c) { nodes { id } } } }`,
        `query($c: String, $id: ID!) { department(id: $id) { members(after: $c) { nodes { id } } } }`,
      ];
      for (const query of lists) {
        for (const c of bad) {
          const res = await gw.gql(corp.token, query, { c, id: rootId });
          expect({ query, c, errors: res.body.errors?.map((e) => e.extensions) }).toEqual({
            query,
            c,
            errors: [{ code: "BAD_USER_INPUT", field: query.includes("before") ? "before" : "after" }],
          });
        }
      }
    });

    it("13: names with bidirectional overrides, zero-width or control characters are refused; nothing is written", async () => {
      const before = await countRows();
      const home = rootId;
      for (const name of [
        "Admin\u202Egnp.exe",
        "a\r\nb\u0007c",
        "Zero\u200Bwidth",
        "Bom\uFEFF",
        "Iso\u2066late",
        "a\u061Cb",
        "a\u2028b",
        "soft\u00ADhy",
        "Filler\u3164",
        "x\u180Ey",
        "x\uFFF9y",
      ]) {
        const dep = await gw.gql(corp.token, CREATE_DEPARTMENT, { input: { name, parentId: home } });
        expect(dep.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.name" });
        expect(dep.body.errors![0].message).toBe("input.name: name must not contain control, zero-width or bidirectional-formatting characters");
        const member = await gw.gql(corp.token, CREATE_MEMBER, { input: { employeeId: "BIDI-1", name, departmentIds: [home] } });
        expect(member.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.name" });
      }
      const title = await gw.gql(corp.token, CREATE_MEMBER, { input: { employeeId: "BIDI-2", name: "Fine Name", title: "Boss\u202E", departmentIds: [home] } });
      expect(title.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.title" });
      // Ordinary names in any script pass.
      const ok = await gw.gql(corp.token, CREATE_DEPARTMENT, { input: { name: "研发部 – R&D (Ünïcode)", parentId: home } });
      expect(ok.body.errors).toBeUndefined();
      const after = await countRows();
      expect(Number(after.d)).toBe(Number(before.d) + 1);
      expect(after.m).toBe(before.m);
    });
  });
});
