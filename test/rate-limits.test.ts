import Redis from "ioredis";
import type { Client as WsClient } from "graphql-ws";
import { REDIS_SERVER, TestGateway, TestRedis, expectOneError, withCost, pk, type GqlResponse, type TestCorp, type Untyped } from "./harness";
import { MemoryBuckets, RedisBuckets } from "../src/ratelimit/bucket";
import { getOperationAST, parse } from "graphql";
import { actualCost } from "../src/limits/actual-cost";
import { buildWorkgraphSchema } from "../src/schema/build";
import { Edition } from "../src/domain/enums";
import { toGlobalId } from "../src/schema/global-id";

const toAppId = (appPk: string) => toGlobalId("App", appPk);

/**
 * Issue 13: query-cost buckets per (corp, app), per (corp, app, member) and per anonymous IP, sized
 * by edition and lowered by `setAppRateLimit`; the requested cost taken before execution and the
 * unused part given back; `extensions.cost` and the RateLimit headers on every charged response;
 * 429 + Retry-After + THROTTLED; subscription slots; Redis shared by instances, memory when it is down.
 */

const REDIS_URL = process.env.REDIS_URL;

const SET_LIMIT = `mutation($input: SetAppRateLimitInput!) { setAppRateLimit(input: $input) { app { id rateLimit { capacity restoreRate lowered } } } }`;
const STATUS = `{ rateLimit { edition bucket maxSubscriptions throttleStatus { maximumAvailable currentlyAvailable restoreRate } } }`;
const DRY_RUN = `query($doc: String!) { rateLimit(dryRun: $doc) { dryRun { requestedQueryCost affordableNow refusal } } }`;
const CHEAP = `{ corp { id } }`; // 1 point
const DEPARTMENTS = `{ departments(first: 100) { nodes { id name } } }`;

describe("token buckets (in memory, injected clock)", () => {
  const spec = { capacity: 100, restoreRate: 10 };

  it("takes all or nothing, refills continuously, never beyond capacity", async () => {
    let now = 1_000_000;
    const buckets = new MemoryBuckets(() => now);
    expect(await buckets.take("k", spec, 60)).toEqual({ allowed: true, available: 40, retryAfterMs: 0 });
    expect(await buckets.take("k", spec, 50)).toEqual({ allowed: false, available: 40, retryAfterMs: 1000 });
    now += 250; // 2.5 points back
    expect(await buckets.peek("k", spec)).toBe(42.5);
    expect(await buckets.take("k", spec, 42)).toEqual({ allowed: true, available: 0.5, retryAfterMs: 0 });
    expect(await buckets.take("k", spec, 1)).toEqual({ allowed: false, available: 0.5, retryAfterMs: 50 });
    now += 3_600_000;
    expect(await buckets.peek("k", spec)).toBe(100);
    // A full bucket is the same as none: memory follows the active callers.
    expect(buckets.size).toBe(1);
    expect(await buckets.refund("k", spec, 5)).toBe(100);
    expect(buckets.size).toBe(0);
  });

  it("forgets buckets that have refilled: memory follows recent callers, not every address ever seen", async () => {
    let now = 0;
    const buckets = new MemoryBuckets(() => now);
    for (let i = 0; i < 1000; i++) await buckets.take(`ip:${i}`, spec, 10); // each full again after 1 s
    expect(buckets.size).toBe(1000);
    now += 11_000;
    await buckets.take("late", spec, 1);
    expect(buckets.size).toBe(1);
  });

  it("gives back unused points up to capacity, and keeps keys apart", async () => {
    let now = 0;
    const buckets = new MemoryBuckets(() => now);
    await buckets.take("a", spec, 90);
    expect(await buckets.refund("a", spec, 30)).toBe(40);
    expect(await buckets.peek("b", spec)).toBe(100);
    now += 10_000;
    expect(await buckets.refund("a", spec, 30)).toBe(100);
  });
});

describe("actual cost", () => {
  it("is the same through the planned walk (plain fields) and the general one (fragments)", async () => {
    const schema = await buildWorkgraphSchema();
    const data = {
      departments: {
        nodes: [
          {
            id: "a",
            members: {
              totalCount: 2,
              nodes: [
                { id: "m1", departments: [{ name: "x" }, { name: "y" }] },
                { id: "m2", departments: [] },
              ],
            },
          },
          { id: "b", members: { totalCount: 0, nodes: [] } },
        ],
      },
      corp: null,
    };
    const plain = `{ departments(first: 10) { nodes { id members(first: 5) { totalCount nodes { id departments { name } } } } } corp { id } }`;
    const viaFragments = `{ ...Q } fragment Q on Query { departments(first: 10) { nodes { ...D } } corp { id } }
      fragment D on Department { id members(first: 5) { totalCount nodes { ... on Member { id departments { name } } } } }`;
    const cost = (text: string) => {
      const document = parse(text);
      return actualCost(schema, document, getOperationAST(document)!, {}, data);
    };
    // 1 (departments) + 2 × (1 + 1 (members) + items: m1 1 + 2, m2 1) + 1 (corp, null)
    expect(cost(plain)).toBe(1 + (1 + 1 + 1 + 2 + 1) + (1 + 1) + 1);
    expect(cost(viaFragments)).toBe(cost(plain));
  });
});

(REDIS_URL ? describe : describe.skip)("token buckets in Redis (one Lua call each)", () => {
  let redis: Redis;
  const prefix = `workgraph:test:${Date.now()}:${Math.random()}:`;
  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it("admits exactly the bucket's worth of 200 concurrent takes, and refunds", async () => {
    const buckets = new RedisBuckets(redis, prefix);
    const spec = { capacity: 50, restoreRate: 1 };
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, () => buckets.take("c", spec, 1)));
    const elapsed = (Date.now() - started) / 1000;
    const admitted = results.filter((r) => r.allowed).length;
    expect(admitted).toBeGreaterThanOrEqual(50);
    expect(admitted).toBeLessThanOrEqual(50 + Math.floor(elapsed * spec.restoreRate));
    const refused = results.find((r) => !r.allowed)!;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    const available = await buckets.peek("c", spec);
    expect(await buckets.refund("c", spec, 10)).toBeCloseTo(available + 10, 0);
    expect(await redis.pttl(`${prefix}c`)).toBeGreaterThan(0);
  });
});

describe("rate limits over HTTP and WebSocket", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Buckets Corp");
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => gw.stop());

  /** A new app with every scope, its bucket set to `capacity` points refilling `restoreRate` a second. */
  async function appWithBucket(capacity: number, restoreRate: number) {
    const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write", "apps:admin"]);
    await gw.data(corp.token, SET_LIMIT, { input: { appId: toAppId(app.appPk), capacity, restoreRate } });
    gw.deps.tokens.invalidate();
    return app;
  }

  it("charges the requested cost, gives back what lists did not return, and says so in extensions.cost and the headers", async () => {
    const app = await appWithBucket(500, 1);
    const priced = await gw.data(app.token, DRY_RUN, { doc: DEPARTMENTS });
    const requested = priced.rateLimit.dryRun.requestedQueryCost;
    expect(requested).toBe(101); // the connection 1 + 100 nodes × 1
    expect(priced.rateLimit.dryRun).toEqual({ requestedQueryCost: 101, affordableNow: true, refusal: null });

    const res = await gw.gql(app.token, DEPARTMENTS);
    expect(res.status).toBe(200);
    expect(res.body.data.departments.nodes).toHaveLength(1); // the root only
    expect(res.cost).toEqual({
      requestedQueryCost: 101,
      actualQueryCost: 2,
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 498, restoreRate: 1 },
    });
    expect(res.headers.get("ratelimit-policy")).toBe(`"app";q=500;w=500`);
    expect(res.headers.get("ratelimit")).toBe(`"app";r=498;t=2`);
  });

  it("the README's worked example: 3 sub-departments of 100 asked for cost 4 of the 101 taken", async () => {
    const own = await gw.createCorp("Worked Example");
    for (const name of ["Sales", "Support", "Engineering"]) await gw.createDepartment(own.token, { name });
    const res = await gw.gql(own.token, `query($root: ID!) { departments(parentId: $root, first: 100) { nodes { id name } } }`, { root: own.rootId });
    expect(res.body.data.departments.nodes).toHaveLength(3);
    expect(res.cost).toMatchObject({ requestedQueryCost: 101, actualQueryCost: 4 });
    // The raw body carries it (the harness moves it to `res.cost`).
    const raw = (await (
      await fetch(`${gw.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${own.token}` },
        body: JSON.stringify({ query: `{ rateLimit { edition } }` }),
      })
    ).json()) as Untyped;
    expect(raw.extensions.cost).toEqual({
      requestedQueryCost: 0,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 10000, currentlyAvailable: expect.any(Number), restoreRate: 500 },
    });
  });

  it("a document refused before it runs costs nothing, and the response still says where the bucket stands", async () => {
    const app = await appWithBucket(300, 2);
    for (const doc of ["{ nope }", `{ departments(first: 100) { nodes { members(first: 100) { nodes { id } } } } }`]) {
      const res = await gw.gql(app.token, doc);
      expect(res.body.data).toBeUndefined();
      expect(res.cost).toEqual({
        requestedQueryCost: 0,
        actualQueryCost: 0,
        throttleStatus: { maximumAvailable: 300, currentlyAvailable: 300, restoreRate: 2 },
      });
      expect(res.headers.get("ratelimit")).toBe(`"app";r=300;t=0`);
    }
  });

  it("is free to ask: rateLimit costs nothing and reports the bucket", async () => {
    const app = await appWithBucket(300, 2);
    const first = await gw.gql(app.token, STATUS);
    const second = await gw.gql(app.token, STATUS);
    expect(second.body.data.rateLimit).toEqual({
      edition: "PROFESSIONAL",
      bucket: "APP",
      maxSubscriptions: 1000,
      throttleStatus: { maximumAvailable: 300, currentlyAvailable: 300, restoreRate: 2 },
    });
    expect(first.cost.requestedQueryCost).toBe(0);
    expect(second.cost.throttleStatus.currentlyAvailable).toBe(300);
  });

  it("prices a dry run exactly like the real run, and says why a document would be refused", async () => {
    const doc = `{ departments(first: 7) { nodes { id members(first: 3) { nodes { id } } } } }`;
    const dry = (await gw.data(corp.token, DRY_RUN, { doc })).rateLimit.dryRun;
    const real = await gw.gql(corp.token, doc);
    expect(dry.requestedQueryCost).toBe(real.cost.requestedQueryCost);
    expect(dry.requestedQueryCost).toBe(1 + 7 * (1 + 1 + 3));

    // The README's example: variables as a literal object.
    const readme = await gw.data(
      corp.token,
      `{ rateLimit(dryRun: "query($n: Int!) { departments(first: $n) { nodes { id } } }", variables: {n: 100}) { dryRun { requestedQueryCost affordableNow refusal } } }`,
    );
    expect(readme.rateLimit.dryRun).toEqual({ requestedQueryCost: 101, affordableNow: true, refusal: null });
    const invalid = (await gw.data(corp.token, DRY_RUN, { doc: "{ nope }" })).rateLimit.dryRun;
    expect(invalid).toEqual({ requestedQueryCost: 0, affordableNow: false, refusal: expect.stringMatching(/^BAD_USER_INPUT: Cannot query field "nope"/) });
    const huge = (await gw.data(corp.token, DRY_RUN, { doc: `{ departments(first: 100) { nodes { members(first: 100) { nodes { id } } } } }` })).rateLimit
      .dryRun;
    expect(huge.refusal).toMatch(/^LIMIT_EXCEEDED: The query costs 10,201 points/);
    expect(huge.requestedQueryCost).toBe(1 + 100 * (1 + 1 + 100));
  });

  it("admits at least N and at most N + refill × elapsed of 200 concurrent calls, refusing the rest with 429, Retry-After and THROTTLED", async () => {
    const app = await appWithBucket(50, 1);
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 200 }, () => gw.gql(app.token, CHEAP)));
    const elapsed = (Date.now() - started) / 1000;
    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    expect(admitted.length).toBeGreaterThanOrEqual(50);
    expect(admitted.length).toBeLessThanOrEqual(50 + Math.floor(elapsed * 1));
    expect(new Set(refused.map((r) => r.status))).toEqual(new Set([429]));
    for (const r of refused) {
      const retryAfter = Number(r.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expectOneError(r, "THROTTLED", undefined, undefined, { retryAfter });
      expect(r.body.data).toBeUndefined();
      expect(r.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: null, throttleStatus: { maximumAvailable: 50 } });
      expect(r.headers.get("ratelimit")).toMatch(/^"app";r=0;t=\d+$/);
    }
    // The refusal is exact: after Retry-After seconds the call goes through.
    const wait = Number(refused[refused.length - 1].headers.get("retry-after"));
    await new Promise((r) => setTimeout(r, wait * 1000 + 50));
    expect((await gw.gql(app.token, CHEAP)).status).toBe(200);
  });

  it("charges each member's tokens to their own bucket, never the app's or another member's", async () => {
    const app = await appWithBucket(40, 1);
    const dept = await gw.createDepartment(corp.token, { name: `Bucket team ${Date.now()}` });
    const members = await Promise.all(
      ["A", "B"].map((n) =>
        gw.createMember(corp.token, { employeeId: `bucket-${n}-${Date.now()}`, name: `Bucket ${n}`, departmentIds: [dept], status: "ACTIVE" }),
      ),
    );
    const [ta, tb] = members.map((id) => gw.memberToken(corp.corpPk, app, pk(id)));
    const started = Date.now();
    const burst = await Promise.all(Array.from({ length: 45 }, () => gw.gql(ta, CHEAP)));
    const refilled = Math.floor((Date.now() - started) / 1000);
    expect(burst.filter((r) => r.status === 200).length).toBeLessThanOrEqual(40 + refilled);
    const a = (await gw.data(ta, STATUS)).rateLimit;
    expect(a.bucket).toBe("MEMBER");
    expect(a.maxSubscriptions).toBe(10);
    expect(a.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(2);
    expect((await gw.data(tb, STATUS)).rateLimit.throttleStatus.currentlyAvailable).toBe(40);
    expect((await gw.data(app.token, STATUS)).rateLimit.throttleStatus.currentlyAvailable).toBe(40);
  });

  it("refuses a document costing more than the whole bucket with LIMIT_EXCEEDED, not a wait", async () => {
    const app = await appWithBucket(50, 1);
    const res = await gw.gql(app.token, DEPARTMENTS);
    expectOneError(res, "LIMIT_EXCEEDED", undefined, undefined, { limit: "cost", maximum: 50, actual: 101 });
    expect(res.headers.get("retry-after")).toBeNull();
  });

  it("setAppRateLimit: validated, within the edition's ceiling, audited, and reset with nulls", async () => {
    const app = await gw.createApp(corp.corpPk, ["directory:read"]);
    const appId = toAppId(app.appPk);
    const over = await gw.gql(corp.token, SET_LIMIT, { input: { appId, capacity: 10001, restoreRate: 10 } });
    expect(over.body.errors![0].extensions).toEqual({ code: "LIMIT_EXCEEDED", field: "input.capacity", maximum: 10000, actual: 10001 });
    const half = await gw.gql(corp.token, SET_LIMIT, { input: { appId, capacity: 100 } });
    expectOneError(half, "BAD_USER_INPUT", "input.restoreRate");
    const zero = await gw.gql(corp.token, SET_LIMIT, { input: { appId, capacity: 0, restoreRate: 1 } });
    expectOneError(zero, "BAD_USER_INPUT", "input.capacity");
    const rate = await gw.gql(corp.token, SET_LIMIT, { input: { appId, capacity: 10, restoreRate: 501 } });
    expectOneError(rate, "LIMIT_EXCEEDED", "input.restoreRate", undefined, { maximum: 500, actual: 501 });
    expect(await gw.sql(`SELECT rate_limit_capacity, rate_limit_restore_rate FROM app WHERE id = $1`, [app.appPk])).toEqual([
      { rate_limit_capacity: null, rate_limit_restore_rate: null },
    ]);
    // Only an apps:admin caller: the app itself (directory:read) may not raise or lower anything.
    expectOneError(await gw.gql(app.token, SET_LIMIT, { input: { appId, capacity: 10, restoreRate: 1 } }), "FORBIDDEN");
    // Nor may an administrator app change its own (lowered, it could raise itself back).
    const self = await gw.gql(corp.token, SET_LIMIT, { input: { appId: toAppId(corp.appPk), capacity: 10, restoreRate: 1 } });
    expectOneError(self, "FORBIDDEN");
    expect(self.body.errors![0].message).toBe("An app cannot change its own rate limit: use another administrator app.");

    const set = await gw.data(corp.token, SET_LIMIT, { input: { appId, capacity: 200, restoreRate: 5 } });
    expect(set.setAppRateLimit.app.rateLimit).toEqual({ capacity: 200, restoreRate: 5, lowered: true });
    expect((await gw.data(app.token, STATUS)).rateLimit.throttleStatus).toEqual({ maximumAvailable: 200, currentlyAvailable: 200, restoreRate: 5 });
    const audit = await gw.sql(`SELECT action, detail FROM audit_log WHERE app_id = $1 AND action = 'APP_RATE_LIMIT_SET'`, [app.appPk]);
    expect(audit).toEqual([{ action: "APP_RATE_LIMIT_SET", detail: expect.objectContaining({ capacity: 200, restoreRate: 5 }) }]);

    const reset = await gw.data(corp.token, SET_LIMIT, { input: { appId, capacity: null, restoreRate: null } });
    expect(reset.setAppRateLimit.app.rateLimit).toEqual({ capacity: 10000, restoreRate: 500, lowered: false });
  });

  it("setAppRateLimit: another corp's app is NOT_FOUND and stays as it was", async () => {
    const other = await gw.createCorp("Other Buckets Corp");
    const res = await gw.gql(corp.token, SET_LIMIT, { input: { appId: toAppId(other.appPk), capacity: 1, restoreRate: 1 } });
    expectOneError(res, "NOT_FOUND", "input.appId");
    expect(await gw.sql(`SELECT rate_limit_capacity FROM app WHERE id = $1`, [other.appPk])).toEqual([{ rate_limit_capacity: null }]);
    // And its bucket is its own: the first corp's calls never reach it.
    expect((await gw.data(other.token, STATUS)).rateLimit.throttleStatus.currentlyAvailable).toBe(10000);
  });

  it("BASIC corps get BASIC buckets", async () => {
    const basic = await gw.createCorp("Basic Buckets", Edition.BASIC);
    expect((await gw.data(basic.token, STATUS)).rateLimit).toEqual({
      edition: "BASIC",
      bucket: "APP",
      maxSubscriptions: 100,
      throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 1000, restoreRate: 50 },
    });
  });

  it("charges an anonymous caller's IP one point a request", async () => {
    const res = await gw.gql(null, `{ __typename }`);
    expect(res.status).toBe(200);
    expect(res.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1, throttleStatus: { maximumAvailable: 100, restoreRate: 2 } });
    expect(res.headers.get("ratelimit-policy")).toBe(`"ip";q=100;w=50`);
  });

  it("charges operations over WebSocket like HTTP ones, with extensions.cost", async () => {
    const app = await appWithBucket(500, 1);
    const client = gw.wsClient(app.token);
    clients.push(client);
    const result = await new Promise<Untyped>((resolve, reject) => {
      let value: Untyped;
      client.subscribe({ query: DEPARTMENTS }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
    });
    expect(result.extensions.cost).toEqual({
      requestedQueryCost: 101,
      actualQueryCost: 2,
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 498, restoreRate: 1 },
    });
    expect((await gw.data(app.token, STATUS)).rateLimit.throttleStatus.currentlyAvailable).toBe(498);
  });

  it("limits a member's tokens to 10 concurrent subscriptions, charges the start, and never charges delivered events", async () => {
    const app = await appWithBucket(500, 1);
    const dept = await gw.createDepartment(corp.token, { name: `Subscribers ${Date.now()}` });
    const member = await gw.createMember(corp.token, { employeeId: `sub-${Date.now()}`, name: "Sub Scriber", departmentIds: [dept], status: "ACTIVE" });
    const token = gw.memberToken(corp.corpPk, app, pk(member));
    const EVENTS = `subscription { directoryEvents { cursor type } }`;
    // Two sockets (two tokens of the same member would share the slots just the same).
    const [c1, c2] = [gw.wsClient(token), gw.wsClient(token)];
    clients.push(c1, c2);
    const subs = [...Array.from({ length: 6 }, () => gw.subscribe(c1, EVENTS)), ...Array.from({ length: 4 }, () => gw.subscribe(c2, EVENTS))];
    await waitUntil(() => gw.gateway.deps.rateLimiter.subscriptions.count >= 10);
    const eleventh = gw.subscribe(c2, EVENTS);
    await eleventh.waitFor(1).catch(() => undefined);
    await waitUntil(() => eleventh.error !== undefined);
    expect((eleventh.error as Untyped[])[0].extensions).toMatchObject({ code: "THROTTLED", limit: "subscriptions", maximum: 10 });

    const before = (await gw.data(token, STATUS)).rateLimit.throttleStatus.currentlyAvailable;
    for (let i = 0; i < 3; i++) await gw.createDepartment(corp.token, { name: `Event ${i} ${Date.now()}`, parentId: dept });
    await Promise.all(subs.map((s) => s.waitFor(3)));
    const after = (await gw.data(token, STATUS)).rateLimit.throttleStatus.currentlyAvailable;
    expect(after).toBe(before); // 30 deliveries, 0 points (the refill is 1/s, floors alike within the second)

    // Completing one frees its slot.
    subs[0].stop();
    await waitUntil(() => gw.gateway.deps.rateLimiter.subscriptions.count === 9);
    const again = gw.subscribe(c2, EVENTS);
    await gw.createDepartment(corp.token, { name: `After ${Date.now()}`, parentId: dept });
    await again.waitFor(1);
    expect(again.error).toBeUndefined();
  });

  it("counts an app's own tokens together: a BASIC app holds at most 100 subscriptions", async () => {
    const basic = await gw.createCorp("Basic Subscriptions", Edition.BASIC);
    const EVENTS = `subscription { directoryEvents { cursor } }`;
    const sockets = Array.from({ length: 3 }, () => gw.wsClient(basic.token));
    clients.push(...sockets);
    const start = gw.gateway.deps.rateLimiter.subscriptions.count;
    for (let i = 0; i < 100; i++) gw.subscribe(sockets[i % 2], EVENTS);
    await waitUntil(() => gw.gateway.deps.rateLimiter.subscriptions.count >= start + 100);
    const refused = gw.subscribe(sockets[2], EVENTS);
    await waitUntil(() => refused.error !== undefined);
    expect((refused.error as Untyped[])[0].extensions).toMatchObject({ code: "THROTTLED", limit: "subscriptions", maximum: 100 });
    // Closing a socket releases its subscriptions' slots.
    await sockets[0].dispose();
    await waitUntil(() => gw.gateway.deps.rateLimiter.subscriptions.count === start + 50);
  });
});

describe("RATE_LIMIT_SCALE", () => {
  it("multiplies every edition's bucket and refill, and the ceiling of setAppRateLimit", async () => {
    const gw = await TestGateway.start({ RATE_LIMIT_SCALE: "3" });
    try {
      const basic = await gw.createCorp("Scaled", Edition.BASIC);
      expect((await gw.data(basic.token, STATUS)).rateLimit.throttleStatus).toEqual({ maximumAvailable: 3000, currentlyAvailable: 3000, restoreRate: 150 });
      const app = await gw.createApp(basic.corpPk, ["directory:read"]);
      const over = await gw.gql(basic.token, SET_LIMIT, { input: { appId: toAppId(app.appPk), capacity: 3001, restoreRate: 1 } });
      expectOneError(over, "LIMIT_EXCEEDED", "input.capacity", undefined, { maximum: 3000, actual: 3001 });
      const set = await gw.data(basic.token, SET_LIMIT, { input: { appId: toAppId(app.appPk), capacity: 2500, restoreRate: 150 } });
      expect(set.setAppRateLimit.app.rateLimit).toEqual({ capacity: 2500, restoreRate: 150, lowered: true });
    } finally {
      await gw.stop();
    }
  });
});

(REDIS_URL ? describe : describe.skip)("two instances sharing Redis", () => {
  let gw: TestGateway;
  let second: { url: string; stop: () => Promise<void> };
  let corp: TestCorp;
  beforeAll(async () => {
    gw = await TestGateway.start({ REDIS_URL: REDIS_URL! });
    second = await gw.sibling({ REDIS_URL: REDIS_URL! });
    corp = await gw.createCorp("Shared Buckets");
  });
  afterAll(async () => {
    await second.stop();
    await gw.stop();
  });

  it("never admit more than one bucket's worth of 200 concurrent calls between them", async () => {
    const app = await gw.createApp(corp.corpPk, ["directory:read"]);
    await gw.data(corp.token, SET_LIMIT, { input: { appId: toAppId(app.appPk), capacity: 50, restoreRate: 1 } });
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => post(i % 2 ? second.url : gw.url, app.token, CHEAP)));
    const elapsed = (Date.now() - started) / 1000;
    const admitted = responses.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(50);
    expect(admitted).toBeLessThanOrEqual(50 + Math.floor(elapsed));
    expect(responses.filter((r) => r.status !== 200).every((r) => r.status === 429)).toBe(true);
  });
});

(REDIS_SERVER ? describe : describe.skip)("a Redis that goes away mid-test", () => {
  let redis: TestRedis;
  let gw: TestGateway;
  let corp: TestCorp;
  beforeAll(async () => {
    redis = await TestRedis.start();
    gw = await TestGateway.start({ REDIS_URL: redis.url });
    corp = await gw.createCorp("Outage Corp");
  });
  afterAll(async () => {
    await gw.stop();
    await redis.stop();
  });
  const readyz = async () => {
    const res = await fetch(`${gw.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Untyped };
  };

  it("keeps answering with per-instance buckets, says Redis is degraded in /readyz, and returns to Redis", async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: "ready", database: "ok", redis: "ok" } });
    const first = await gw.gql(corp.token, CHEAP);
    expect(first.status).toBe(200);
    const probe = new Redis(redis.port, "127.0.0.1");
    expect((await probe.keys("workgraph:bucket:*")).length).toBe(1);
    probe.disconnect();

    await redis.stop();
    const started = Date.now();
    const during = await gw.gql(corp.token, CHEAP);
    expect(during.status).toBe(200);
    expect(during.cost.throttleStatus.maximumAvailable).toBe(10000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await readyz()).toEqual({ status: 200, body: { status: "ready", database: "ok", redis: "degraded" } });

    await redis.start();
    await waitUntil(async () => (await readyz()).body.redis === "ok", 10_000);
    // Back on Redis once the retry pause after the last failure (5 s) has passed: the buckets are there again.
    const back = new Redis(redis.port, "127.0.0.1");
    await waitUntil(async () => {
      expect((await gw.gql(corp.token, CHEAP)).status).toBe(200);
      return (await back.keys("workgraph:bucket:*")).length === 1;
    }, 10_000);
    back.disconnect();
  });
});

async function post(url: string, token: string, query: string): Promise<GqlResponse> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return withCost({ status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse["body"] });
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}
