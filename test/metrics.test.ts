import http from "node:http";
import os from "node:os";
import { TestGateway, type TestCorp, type Untyped } from "./harness";
import { Metrics, OPERATION_NAME_LIMIT } from "../src/metrics/metrics";
import { WsOperationMetrics } from "../src/metrics/ws-operations";
import type { RateLimitCharge } from "../src/ratelimit/types";
import { loadConfig } from "../src/config";

/**
 * `GET /metrics` (issue 13): the Prometheus text format, with the series a scrape must show after
 * real traffic, and who may read it (loopback, configured networks, the metrics token; 403 else).
 */

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

/** The value of the one sample named `name` whose labels are exactly `labels` (0 when there is none: a counter not yet counted). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

/** A non-loopback address of this machine, to call the gateway from it: a real outside caller as the socket sees it. */
function outsideAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

/** GET over a plain socket (fetch cannot choose its source address). */
function get(url: string, opts: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: opts.headers, localAddress: opts.localAddress }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
  });
}

const FORBIDDEN_BODY = {
  errors: [
    {
      message: "GET /metrics answers loopback callers, the networks in METRICS_ALLOW_NETWORKS and the bearer token METRICS_TOKEN.",
      extensions: { code: "FORBIDDEN" },
    },
  ],
};

describe("GET /metrics", () => {
  let gw: TestGateway;
  let corp: TestCorp;

  const scrape = async (): Promise<Sample[]> => {
    const res = await get(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toBe(PROMETHEUS_TEXT);
    return parse(res.body);
  };

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Metrics Corp");
  });
  afterAll(() => gw.stop());

  it("counts operations by name and outcome, errors by code, and the cost charged to the app", async () => {
    const before = await scrape();
    const ok = await gw.gql(corp.token, "query MetricsOk { viewer { corp { name } } }");
    expect(ok.body.errors).toBeUndefined();
    const bad = await gw.gql(corp.token, `mutation MetricsBad { createDepartment(input: { name: "" }) { department { id } } }`);
    expect(bad.body.errors!.map((e) => e.extensions!.code)).toEqual(["BAD_USER_INPUT"]);
    const unparsed = await gw.gql(corp.token, "query MetricsUnparsed {");
    // A syntax error reaches the client as BAD_USER_INPUT (the closed codes of errors/codes.ts).
    expect(unparsed.body.errors!.map((e) => e.extensions!.code)).toEqual(["BAD_USER_INPUT"]);
    // A document that fails validation never ran: the name its client sent is not admitted to the label.
    const invalid = await fetch(`${gw.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${corp.token}` },
      body: JSON.stringify({ query: "query MetricsInvalid { nope }", operationName: "MetricsInvalid" }),
    });
    expect(((await invalid.json()) as Untyped).errors.map((e: Untyped) => e.extensions.code)).toEqual(["BAD_USER_INPUT"]);
    await gw.gql(null, "{ __typename }");
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    const ops = "workgraph_graphql_operations_total";
    expect(delta(ops, { transport: "http", operation: "MetricsOk", type: "query", outcome: "ok" })).toBe(1);
    expect(delta(ops, { transport: "http", operation: "MetricsBad", type: "mutation", outcome: "error" })).toBe(1);
    expect(delta(ops, { transport: "http", operation: "anonymous", type: "unknown", outcome: "refused" })).toBe(1);
    expect(delta(ops, { transport: "http", operation: "other", type: "unknown", outcome: "refused" })).toBe(1);
    expect(delta(ops, { transport: "http", operation: "anonymous", type: "query", outcome: "ok" })).toBe(1);
    expect(after.some((s) => s.labels.operation === "MetricsInvalid" || s.labels.operation === "MetricsUnparsed")).toBe(false);
    expect(delta("workgraph_graphql_operation_duration_seconds_count", { transport: "http", operation: "MetricsOk", type: "query", outcome: "ok" })).toBe(1);
    expect(
      valueOf(after, "workgraph_graphql_operation_duration_seconds_sum", { transport: "http", operation: "MetricsOk", type: "query", outcome: "ok" }),
    ).toBeGreaterThan(0);
    expect(delta("workgraph_graphql_errors_total", { code: "BAD_USER_INPUT" })).toBe(3);
    expect(after.filter((s) => s.name === "workgraph_graphql_errors_total").map((s) => s.labels.code)).toEqual(["BAD_USER_INPUT"]);
    // The points the app's bucket paid are what the responses said they cost.
    const cost = (res: typeof ok) => res.cost?.actualQueryCost ?? 0;
    expect(cost(ok)).toBeGreaterThan(0);
    expect(delta("workgraph_ratelimit_cost_points_total", { app: corp.appPk })).toBe(cost(ok) + cost(bad) + cost(unparsed));
  });

  it("counts throttled calls by app, and anonymous callers' points as `anonymous`", async () => {
    // What the transports pass on from `RequestContext.rateLimit`: a throttled charge takes no points.
    const before = await scrape();
    gw.deps.metrics.recordCharge({
      bucket: "app",
      appId: corp.appPk,
      requested: 50,
      actual: 0,
      throttled: true,
      status: { maximumAvailable: 100, currentlyAvailable: 10, restoreRate: 5 },
    });
    gw.deps.metrics.recordCharge({
      bucket: "ip",
      appId: null,
      requested: 1,
      actual: 1,
      throttled: false,
      status: { maximumAvailable: 100, currentlyAvailable: 99, restoreRate: 2 },
    });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta("workgraph_ratelimit_throttled_total", { app: corp.appPk })).toBe(1);
    expect(delta("workgraph_ratelimit_cost_points_total", { app: corp.appPk })).toBe(0);
    expect(delta("workgraph_ratelimit_cost_points_total", { app: "anonymous" })).toBe(1);
  });

  it("counts WebSocket operations end to end: a query with its charge, a subscription while it runs and when it ends", async () => {
    const before = await scrape();
    const client = gw.wsClient(corp.token);
    try {
      const once = (query: string) =>
        new Promise<Untyped>((resolve) => {
          let value: Untyped;
          client.subscribe({ query }, { next: (v) => (value = v), error: (e) => resolve({ errors: e }), complete: () => resolve(value) });
        });
      const ok = await once("query WsOk { corp { id } }");
      expect(ok.extensions.cost.actualQueryCost).toBe(1);
      const sub = gw.subscribe(client, "subscription WsLive { directoryEvents { cursor } }");
      const deadline = Date.now() + 5000;
      while (valueOf(await scrape(), "workgraph_websocket_subscriptions") < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(valueOf(await scrape(), "workgraph_websocket_subscriptions")).toBe(1);
      sub.stop();
      while (valueOf(await scrape(), "workgraph_websocket_subscriptions") > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
      const ops = "workgraph_graphql_operations_total";
      expect(delta(ops, { transport: "ws", operation: "WsOk", type: "query", outcome: "ok" })).toBe(1);
      expect(delta(ops, { transport: "ws", operation: "WsLive", type: "subscription", outcome: "ok" })).toBe(1);
      expect(valueOf(after, "workgraph_websocket_subscriptions")).toBe(0);
      // The query's point and the subscription's start (its selection's cost) were charged to the app.
      expect(delta("workgraph_ratelimit_cost_points_total", { app: corp.appPk })).toBeGreaterThanOrEqual(2);
    } finally {
      await client.dispose();
    }
  });

  it("shows the open WebSockets, the database pool, import jobs and the process", async () => {
    const client = gw.wsClient(corp.token, { lazy: false });
    await new Promise<void>((resolve) => client.on("connected", () => resolve()));
    try {
      const samples = await scrape();
      expect(valueOf(samples, "workgraph_websocket_connections")).toBe(1);
      expect(valueOf(samples, "workgraph_websocket_subscriptions")).toBe(0);
      expect(valueOf(samples, "workgraph_db_pool_max_connections")).toBe(10);
      expect(valueOf(samples, "workgraph_db_pool_connections")).toBeGreaterThanOrEqual(1);
      expect(valueOf(samples, "workgraph_db_pool_connections")).toBeLessThanOrEqual(10);
      expect(samples.some((s) => s.name === "workgraph_db_pool_idle_connections")).toBe(true);
      expect(valueOf(samples, "workgraph_db_pool_waiting_requests")).toBe(0);
      expect(valueOf(samples, "workgraph_import_jobs", { status: "QUEUED" })).toBe(0);
      expect(valueOf(samples, "workgraph_import_jobs", { status: "RUNNING" })).toBe(0);
      expect(valueOf(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
    } finally {
      await client.dispose();
    }
    const deadline = Date.now() + 5000;
    while (valueOf(await scrape(), "workgraph_websocket_connections") !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(valueOf(await scrape(), "workgraph_websocket_connections")).toBe(0);
  });

  it("reads a saturated pool without waiting for a connection (import jobs are left out then)", async () => {
    const pool = gw.deps.pool;
    const held = await Promise.all(Array.from({ length: 10 }, () => pool.connect()));
    const queued = pool.query("SELECT 1");
    try {
      const samples = await scrape();
      expect(valueOf(samples, "workgraph_db_pool_connections")).toBe(10);
      expect(valueOf(samples, "workgraph_db_pool_idle_connections")).toBe(0);
      expect(valueOf(samples, "workgraph_db_pool_waiting_requests")).toBeGreaterThanOrEqual(1);
      expect(samples.some((s) => s.name === "workgraph_import_jobs")).toBe(false);
    } finally {
      held.forEach((client) => client.release());
      await queued;
    }
    expect(valueOf(await scrape(), "workgraph_import_jobs", { status: "QUEUED" })).toBe(0);
  });

  it("counts a running import job", async () => {
    await gw.sql(`INSERT INTO import_job (corp_id, app_id, status, mode, max_resign_ratio) VALUES ($1, $2, 'RUNNING', 'UPSERT', 0.1)`, [
      corp.corpPk,
      corp.appPk,
    ]);
    try {
      expect(valueOf(await scrape(), "workgraph_import_jobs", { status: "RUNNING" })).toBe(1);
    } finally {
      await gw.sql(`DELETE FROM import_job WHERE corp_id = $1`, [corp.corpPk]);
    }
  });

  it("measures the event relay's lag: commit to the live feed reading the event", async () => {
    const before = valueOf(await scrape(), "workgraph_event_relay_lag_seconds_count");
    const client = gw.wsClient(corp.token);
    try {
      const sub = gw.subscribe(client, "subscription { directoryEvents { type } }");
      // The feed exists once the subscription is set up: wait for the relay to follow this corp.
      const deadline = Date.now() + 5000;
      while (gw.deps.relay.activeCorps === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await gw.createDepartment(corp.token, { name: "Lag" });
      await sub.waitFor(1);
      const samples = await scrape();
      expect(valueOf(samples, "workgraph_event_relay_feeds")).toBe(1);
      expect(valueOf(samples, "workgraph_event_relay_lag_seconds_count") - before).toBe(1);
      const sum = valueOf(samples, "workgraph_event_relay_lag_seconds_sum");
      expect(sum).toBeGreaterThanOrEqual(0);
      expect(sum).toBeLessThan(5);
    } finally {
      await client.dispose();
    }
  });

  it("bounds the operation-name label: the first names, then `other`", async () => {
    const names = (samples: Sample[]) => new Set(samples.filter((s) => s.name === "workgraph_graphql_operations_total").map((s) => s.labels.operation));
    const known = [...names(await scrape())].filter((n) => n !== "other" && n !== "anonymous");
    const room = OPERATION_NAME_LIMIT - known.length;
    const otherBefore = valueOf(await scrape(), "workgraph_graphql_operations_total", { transport: "http", operation: "other", type: "query", outcome: "ok" });
    for (let i = 0; i < 300; i++) {
      const res = await gw.gql(corp.token, `query Op${i} { __typename }`);
      expect(res.body.data).toEqual({ __typename: "Query" });
    }
    // Not a GraphQL name of at most 64 characters: never a label of its own.
    await gw.gql(corp.token, `query ${"L".repeat(65)} { __typename }`);
    const samples = await scrape();
    const after = [...names(samples)].filter((n) => n !== "other" && n !== "anonymous");
    expect(after).toHaveLength(OPERATION_NAME_LIMIT);
    for (let i = 0; i < 300; i++) {
      expect(valueOf(samples, "workgraph_graphql_operations_total", { transport: "http", operation: `Op${i}`, type: "query", outcome: "ok" })).toBe(
        i < room ? 1 : 0,
      );
    }
    expect(valueOf(samples, "workgraph_graphql_operations_total", { transport: "http", operation: "other", type: "query", outcome: "ok" }) - otherBefore).toBe(
      300 - room + 1,
    );
  });
});

describe("WebSocket operations (WsOperationMetrics, fed by graphql-ws's hooks)", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const charge = (actual: number, throttled = false): RateLimitCharge => ({
    bucket: "app",
    appId: "42",
    requested: Math.max(actual, 1),
    actual,
    throttled,
    status: { maximumAvailable: 1000, currentlyAvailable: 900, restoreRate: 50 },
  });

  it("counts each operation once, when it ends: queries with their result, refusals, subscriptions with their stream", async () => {
    const metrics = new Metrics({ pool: gw.deps.pool, crossCorp: gw.deps.crossCorp });
    const ws = new WsOperationMetrics(metrics);
    const socket = {};
    // A query: onSubscribe, onNext, onComplete.
    ws.start(socket, "1", "WsQuery");
    ws.prepared(socket, "1", "query", { rateLimit: charge(3) });
    ws.next(socket, "1", { data: { viewer: null } });
    ws.complete(socket, "1");
    // Refused in onSubscribe (no context yet): onError only. Its name is not admitted.
    ws.start(socket, "2", "WsDenied");
    ws.error(socket, "2", [{ extensions: { code: "FORBIDDEN" } }]);
    // Throttled: the rate limiter set the context's charge, then refused.
    ws.start(socket, "3", "WsQuery");
    ws.prepared(socket, "3", "query", { rateLimit: charge(0, true) });
    ws.error(socket, "3", [{ extensions: { code: "THROTTLED", retryAfter: 2 } }]);
    // A subscription: two events, then the client completes it.
    ws.start(socket, "4", "WsEvents");
    ws.prepared(socket, "4", "subscription", { rateLimit: charge(2) });
    ws.next(socket, "4", { data: { directoryEvents: {} } });
    ws.next(socket, "4", { data: { directoryEvents: {} } });
    ws.complete(socket, "4");
    // A subscription whose stream fails (its token re-check), then completes.
    ws.start(socket, "5", "WsEvents");
    ws.prepared(socket, "5", "subscription", { rateLimit: charge(2) });
    ws.next(socket, "5", { data: { directoryEvents: {} } });
    ws.error(socket, "5", [{ extensions: { code: "UNAUTHENTICATED" } }]);
    ws.complete(socket, "5");

    const samples = parse(await metrics.text());
    const ops = samples.filter((s) => s.name === "workgraph_graphql_operations_total").map((s) => [s.labels, s.value]);
    expect(ops).toEqual(
      expect.arrayContaining([
        [{ transport: "ws", operation: "WsQuery", type: "query", outcome: "ok" }, 1],
        [{ transport: "ws", operation: "other", type: "unknown", outcome: "refused" }, 1],
        [{ transport: "ws", operation: "WsQuery", type: "query", outcome: "throttled" }, 1],
        [{ transport: "ws", operation: "WsEvents", type: "subscription", outcome: "ok" }, 1],
        [{ transport: "ws", operation: "WsEvents", type: "subscription", outcome: "error" }, 1],
      ]),
    );
    expect(ops).toHaveLength(5);
    expect(valueOf(samples, "workgraph_graphql_errors_total", { code: "FORBIDDEN" })).toBe(1);
    expect(valueOf(samples, "workgraph_graphql_errors_total", { code: "THROTTLED" })).toBe(1);
    expect(valueOf(samples, "workgraph_graphql_errors_total", { code: "UNAUTHENTICATED" })).toBe(1);
    expect(valueOf(samples, "workgraph_ratelimit_cost_points_total", { app: "42" })).toBe(3 + 2 + 2);
    expect(valueOf(samples, "workgraph_ratelimit_throttled_total", { app: "42" })).toBe(1);
  });
});

describe("GET /metrics: who may read it", () => {
  const outside = outsideAddress();
  let direct: TestGateway;
  let proxied: TestGateway;

  beforeAll(async () => {
    // No proxy trusted, no networks, no token: loopback only.
    direct = await TestGateway.start();
    // Behind a proxy on this machine, with a monitoring network and a token.
    proxied = await TestGateway.start({ TRUST_PROXY: "loopback", METRICS_ALLOW_NETWORKS: "203.0.113.0/24", METRICS_TOKEN });
  });
  afterAll(async () => {
    await direct.stop();
    await proxied.stop();
  });

  const expectForbidden = (res: { status: number; type: string; body: string }) => {
    expect(res.status).toBe(403);
    expect(res.type).toBe("application/json; charset=utf-8");
    expect(JSON.parse(res.body)).toEqual(FORBIDDEN_BODY);
  };

  it("answers a loopback caller", async () => {
    const res = await get(`${direct.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toBe(PROMETHEUS_TEXT);
    expect(res.body).toContain("# TYPE workgraph_graphql_operations_total counter");
  });

  it("refuses what a proxy forwarded for an outsider, whatever TRUST_PROXY says", async () => {
    for (const gw of [direct, proxied]) {
      expectForbidden(await get(`${gw.url}/metrics`, { headers: { "x-forwarded-for": "198.51.100.1" } }));
      expectForbidden(await get(`${gw.url}/metrics`, { headers: { "x-forwarded-for": "127.0.0.1, 198.51.100.1" } }));
      expectForbidden(await get(`${gw.url}/metrics`, { headers: { "x-real-ip": "198.51.100.1" } }));
      expectForbidden(await get(`${gw.url}/metrics`, { headers: { forwarded: 'for="[2001:db8::1]:4711"' } }));
      expectForbidden(await get(`${gw.url}/metrics`, { headers: { forwarded: "for=unknown" } }));
    }
    // Forwarded by a proxy on this machine for a caller on this machine: still loopback.
    expect((await get(`${direct.url}/metrics`, { headers: { "x-forwarded-for": "127.0.0.1", forwarded: "for=127.0.0.1:5000" } })).status).toBe(200);
    expect((await get(`${proxied.url}/metrics`, { headers: { "x-forwarded-for": "::1" } })).status).toBe(200);
  });

  (outside ? it : it.skip)(`refuses a caller whose socket is not loopback (from ${outside ?? "no outside address"}), even claiming loopback`, async () => {
    expectForbidden(await get(`${direct.url}/metrics`, { localAddress: outside }));
    expectForbidden(await get(`${direct.url}/metrics`, { localAddress: outside, headers: { "x-forwarded-for": "127.0.0.1" } }));
    // TRUST_PROXY trusts loopback proxies only: this socket's claim of a monitoring address is ignored.
    expectForbidden(await get(`${proxied.url}/metrics`, { localAddress: outside, headers: { "x-forwarded-for": "203.0.113.7" } }));
    expect((await get(`${proxied.url}/metrics`, { localAddress: outside, headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it("answers the configured networks, through a trusted proxy", async () => {
    const res = await get(`${proxied.url}/metrics`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(res.status).toBe(200);
    expect(res.type).toBe(PROMETHEUS_TEXT);
    expectForbidden(await get(`${direct.url}/metrics`, { headers: { "x-forwarded-for": "203.0.113.7" } }));
  });

  it("answers the metrics token from anywhere, and refuses any other token, even from loopback", async () => {
    const outsider = { "x-forwarded-for": "198.51.100.1" };
    const ok = await get(`${proxied.url}/metrics`, { headers: { ...outsider, authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.type).toBe(PROMETHEUS_TEXT);
    expectForbidden(await get(`${proxied.url}/metrics`, { headers: { ...outsider, authorization: `Bearer ${METRICS_TOKEN}x` } }));
    expectForbidden(await get(`${proxied.url}/metrics`, { headers: { ...outsider, authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` } }));
    expectForbidden(await get(`${proxied.url}/metrics`, { headers: { authorization: "Bearer wrong-token-wrong-token" } }));
    expectForbidden(await get(`${proxied.url}/metrics`, { headers: { authorization: METRICS_TOKEN } }));
    // Without METRICS_TOKEN no token opens it.
    expectForbidden(await get(`${direct.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }));
  });

  it("keeps each gateway's series apart (one registry per gateway)", async () => {
    const c = await proxied.createCorp("Apart");
    await proxied.gql(c.token, "query OnlyOnProxied { __typename }");
    expect((await get(`${proxied.url}/metrics`)).body).toContain('operation="OnlyOnProxied"');
    expect((await get(`${direct.url}/metrics`)).body).not.toContain("OnlyOnProxied");
  });

  it("refuses an invalid METRICS_ALLOW_NETWORKS or METRICS_TOKEN at start", () => {
    expect(() => loadConfig({ METRICS_ALLOW_NETWORKS: "10.0.0.0/8, nonsense" })).toThrow(
      'METRICS_ALLOW_NETWORKS must be comma-separated CIDRs or addresses, got "nonsense"',
    );
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow("METRICS_TOKEN must be at least 16 printable characters without spaces");
    expect(loadConfig({ METRICS_ALLOW_NETWORKS: "10.1.0.0/16,fd00::/8, 192.0.2.1" }).metricsAllowNetworks).toEqual(["10.1.0.0/16", "fd00::/8", "192.0.2.1/32"]);
  });
});
