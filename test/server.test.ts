import { Client } from "pg";
import { TestGateway, type TestCorp, type Untyped } from "./harness";

/** The HTTP server around GraphQL: health checks, request ids, the offline playground, shutdown. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("server", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  describe("health", () => {
    it("GET /healthz answers 200", async () => {
      const res = await fetch(`${gw.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await res.json()).toEqual({ status: "ok" });
    });

    it("GET /readyz answers 200 while the database answers", async () => {
      const res = await fetch(`${gw.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ready", database: "ok", redis: "disabled" });
    });

    it("every response carries a fresh x-request-id", async () => {
      const ids = [];
      for (const path of ["/healthz", "/readyz", "/.well-known/jwks.json", "/nope"]) {
        const res = await fetch(`${gw.url}${path}`);
        await res.arrayBuffer();
        ids.push(res.headers.get("x-request-id"));
      }
      const gql = await gw.gql(null, "{ __typename }");
      expect(gql.body).toEqual({ data: { __typename: "Query" } });
      ids.push(gql.headers.get("x-request-id"));
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(ids.length);
      // Express does not announce itself, nor hash API answers into ETags (they are no-store).
      expect(gql.headers.get("x-powered-by")).toBeNull();
      expect(gql.headers.get("etag")).toBeNull();
    });
  });

  describe("playground", () => {
    let html: string;

    beforeAll(async () => {
      const res = await fetch(`${gw.url}/graphql`, { headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      html = await res.text();
    });

    it("GET /graphql from a browser serves GraphiQL with a token input", () => {
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain("<title>Workgraph playground</title>");
      expect(html).toContain("graphiql");
      expect(html).toContain('<input id="token"');
      expect(html).toContain('<label for="token">Bearer token</label>');
      expect(html).toContain('data-endpoint="/graphql"');
      // Offline: nothing is loaded from another origin.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\/(?!graphql\.org)/);
      expect(html).not.toMatch(/from\s+"https?:/);
      expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs/);
    });

    it("serves every asset the page references, and the modules those import", async () => {
      const refs = [...html.matchAll(/(?:src|href)="(\/playground\/[^"]+)"/g), ...html.matchAll(/from\s+"(\/playground\/[^"]+)"/g)].map((m) => m[1]);
      expect(refs.sort()).toEqual([
        "/playground/graphiql.min.css",
        "/playground/graphiql.min.js",
        "/playground/playground.js",
        "/playground/react-dom.production.min.js",
        "/playground/react.production.min.js",
      ]);
      const seen = new Map<string, { type: string | null; length: number }>();
      const queue = [...refs];
      while (queue.length) {
        const path = queue.shift()!;
        if (seen.has(path)) continue;
        const res = await fetch(`${gw.url}${path}`);
        const body = await res.text();
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(body.length).toBeGreaterThan(100);
        seen.set(path, { type: res.headers.get("content-type"), length: body.length });
        if (path.endsWith(".js")) {
          // ES module imports (static and re-exports) must resolve on this server too.
          for (const m of body.matchAll(/^\s*(?:import|export)\b[^;'"]*?from\s*['"]([^'"]+)['"]/gm)) {
            const spec = m[1];
            expect({ path, spec, relative: spec.startsWith("./") || spec.startsWith("/playground/") }).toEqual({ path, spec, relative: true });
            queue.push(new URL(spec, `http://x${path}`).pathname);
          }
        }
      }
      const paths = [...seen.keys()];
      expect(paths.filter((p) => /^\/playground\/graphql-ws\/common-[A-Za-z0-9_-]+\.js$/.test(p))).toHaveLength(1);
      // The five the page names, and graphql-ws's client with its shared chunk (imported by playground.js).
      expect(paths).toContain("/playground/graphql-ws/client.js");
      expect(paths).toHaveLength(7);
      for (const [path, { type }] of seen) {
        // Browsers run module scripts only with a JavaScript MIME type.
        expect({ path, type }).toEqual({
          path,
          type: path.endsWith(".css") ? "text/css; charset=utf-8" : expect.stringMatching(/^(text|application)\/javascript; charset=utf-8$/),
        });
      }
    });

    it("an API client's GET /graphql is GraphQL, not the page", async () => {
      const res = await fetch(`${gw.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, {
        headers: { accept: "application/graphql-response+json", "apollo-require-preflight": "true" },
      });
      expect(res.status).toBe(200);
      // An anonymous call is charged to its address's bucket: one point (issue 13).
      expect(await res.json()).toEqual({
        data: { __typename: "Query" },
        extensions: {
          cost: {
            requestedQueryCost: 1,
            actualQueryCost: 1,
            throttleStatus: { maximumAvailable: 100, currentlyAvailable: expect.any(Number), restoreRate: 2 },
          },
        },
      });
    });
  });

  describe("with PLAYGROUND=false, and graceful shutdown", () => {
    let other: TestGateway;
    let corp: TestCorp;

    beforeAll(async () => {
      other = await TestGateway.start({ PLAYGROUND: "false" });
      corp = await other.createCorp("Shutdown Corp");
    });
    afterAll(() => other.stop());

    it("serves no playground", async () => {
      const page = await fetch(`${other.url}/graphql`, { headers: { accept: "text/html" } });
      // Apollo answers instead (its own landing page is disabled): a browser GET is refused as CSRF.
      expect(page.status).toBe(400);
      expect(page.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = (await page.json()) as Untyped;
      expect(body.errors[0].extensions).toEqual({ code: "BAD_USER_INPUT" });
      expect(JSON.stringify(body)).not.toContain("graphiql");
      const asset = await fetch(`${other.url}/playground/graphiql.min.js`);
      expect(asset.status).toBe(404);
      expect(await asset.json()).toEqual({ errors: [{ message: "No such endpoint. The API is at POST /graphql.", extensions: { code: "NOT_FOUND" } }] });
    });

    it("stop() finishes in-flight requests, closes subscriptions and refuses new connections", async () => {
      await other.data(corp.token, `mutation { createDepartment(input: { name: "Ops" }) { department { id } } }`);
      const client = other.wsClient(corp.token);
      const sub = other.subscribe(client, `subscription { directoryEvents(after: "0") { type department { name } } }`);
      expect((await sub.waitFor(1))[0]).toEqual({ data: { directoryEvents: { type: "DEPARTMENT_CREATED", department: { name: "Ops" } } } });

      // Hold a lock on `member` so that a members query is in flight when stop() is called.
      const locker = new Client({ connectionString: other.config.databaseUrl });
      await locker.connect();
      let stopped = false;
      try {
        await locker.query("BEGIN");
        await locker.query("LOCK TABLE member IN ACCESS EXCLUSIVE MODE");
        const inflight = other.gql(corp.token, "{ members { totalCount } }");
        for (let i = 0; ; i++) {
          const [{ n }] = (
            await locker.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
          ).rows;
          if (n === 1) break;
          if (i > 100) throw new Error("the members query never reached PostgreSQL");
          await new Promise((r) => setTimeout(r, 20));
        }

        const stopping = other.gateway.stop().then(() => void (stopped = true));
        await new Promise((r) => setTimeout(r, 300));
        // Draining: the request is still running, the subscription is closed, new connections are refused.
        expect(stopped).toBe(false);
        await sub.waitFor(2, 2000);
        expect(sub.completed).toBe(true);
        expect(sub.error).toMatchObject({ code: 1001, reason: "Going away" });
        await expect(fetch(`${other.url}/healthz`)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });

        await locker.query("COMMIT");
        const res = await inflight;
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ data: { members: { totalCount: 0 } } });
        await stopping;
        expect(stopped).toBe(true);
        expect(other.deps.dataSource.isInitialized).toBe(false);
        await expect(fetch(`${other.url}/healthz`)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
      } finally {
        await locker.end();
        await client.dispose();
      }
    });
  });
});
