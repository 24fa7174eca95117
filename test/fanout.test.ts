import type { Client as WsClient } from "graphql-ws";
import { randomUUID } from "node:crypto";
import { TestGateway, pk, type Subscription, type TestApp, type TestCorp, type Untyped, waitUntil } from "./harness";
import { RequestContext } from "../src/context";
import { fanoutOf } from "../src/http/websocket";
import type { FanoutHub } from "../src/fanout/hub";

/**
 * "Execute once, write many" (issue 14) on `directoryEvents`: subscribers that would receive the same
 * bytes share one execution per event, so the SQL a change costs to deliver does not grow with the
 * number of subscribers; each still gets exactly its own view (visibility), exactly once, in order.
 * Re-checks are set an hour apart here, so that no token check falls inside a measured delivery
 * (test/subscription-auth.test.ts re-checks on every event).
 */

const EVENTS = `subscription($after: String) {
  directoryEvents(after: $after) {
    cursor type memberId departmentId changedFields
    member { name departments { name } }
    department { name parent { name } }
  }
}`;

let gw: TestGateway;
let corp: TestCorp;
let hub: FanoutHub;
let inside: string;
let outside: string;
let restricted: TestApp;
let memberToken: string;
const clients: WsClient[] = [];

beforeAll(async () => {
  gw = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "3600" });
  hub = fanoutOf(gw.gateway.httpServer)!;
  corp = await gw.createCorp("Fan-out Corp");
  inside = await gw.createDepartment(corp.token, { name: "Inside" });
  outside = await gw.createDepartment(corp.token, { name: "Outside" });
  restricted = await gw.createApp(corp.corpPk, ["directory:read"], [pk(inside)]);
  const reader = await gw.createMember(corp.token, { employeeId: "R-1", name: "Rita Reader", departmentIds: [inside], status: "ACTIVE" });
  // A member acting through the restricted app: the app's visibility, a plain member's role.
  memberToken = gw.memberToken(corp.corpPk, restricted, pk(reader), ["directory:read"]);
}, 30000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await until(() => hub.size.subscribers === 0);
});
afterAll(() => gw.stop());

const until = (condition: () => boolean, ms = 10000) => waitUntil(condition, ms, () => hub.size);

/** `n` subscribers with `token` (one socket each), live from the corp's current end of the log. */
function subscribers(token: string, n: number, after: string): Subscription[] {
  return Array.from({ length: n }, () => {
    const c = gw.wsClient(token);
    clients.push(c);
    return gw.subscribe(c, EVENTS, { after });
  });
}

/** Runs `work` as the corp's administrator app, in-process (no HTTP request, no token check: only the write's own transaction). */
async function asAdmin<T>(work: (ctx: RequestContext) => Promise<T>): Promise<T> {
  const ctx = new RequestContext(gw.deps, await gw.deps.tokens.authenticate(corp.token), randomUUID());
  return ctx.transaction(() => work(ctx));
}

/** Counts the statements sent through the pool (everything but transactions, which hold their own connection) while `work` runs. */
async function countStatements(work: () => Promise<void>): Promise<{ statements: number; feedReads: number }> {
  const pool = gw.deps.pool;
  const original = pool.query;
  let statements = 0;
  let feedReads = 0;
  pool.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? "");
    // The relay's reads of the log: one per notification and per 2 s poll, whatever the number of subscribers.
    if (/FROM event e WHERE e\.corp_id/.test(text)) feedReads++;
    else statements++;
    return (original as (...a: unknown[]) => unknown).apply(pool, args);
  } as typeof pool.query;
  try {
    await work();
  } finally {
    pool.query = original;
  }
  return { statements, feedReads };
}

const events = (sub: Subscription): Untyped[] =>
  sub.results.map((r) => {
    expect(r.errors).toBeUndefined();
    return r.data.directoryEvents;
  });

/**
 * `n` subscribers of the administrator app, 3 of the restricted app and 1 member through it; one
 * member moved from Inside to Outside. Returns what each kind received and what the delivery cost.
 */
async function deliverOneChange(n: number) {
  const mark = await gw.eventMark(corp.corpPk);
  const member = await asAdmin((ctx) => gw.deps.services.members.create(ctx, { employeeId: `F-${n}`, name: `Moved ${n}`, departmentPks: [pk(inside)] }));
  const admins = subscribers(corp.token, n, mark);
  const apps = subscribers(restricted.token, 3, mark);
  const members = subscribers(memberToken, 1, mark);
  const all = [...admins, ...apps, ...members];
  // Each first replays the creation (from `mark`), then joins its group live.
  await Promise.all(all.map((s) => s.waitFor(1)));
  await until(() => hub.size.live === all.length);
  expect(hub.size.groups).toBe(3); // the admin app's, the restricted app's, its member's

  const before = { ...hub.stats };
  const cost = await countStatements(async () => {
    await asAdmin((ctx) => gw.deps.services.members.update(ctx, member.pk, { departmentPks: [pk(outside)], mainDepartmentPk: pk(outside) }));
    await Promise.all(all.map((s) => s.waitFor(2)));
  });
  const delivery = {
    executions: hub.stats.executions - before.executions,
    statements: hub.stats.statements - before.statements,
    frames: hub.stats.frames - before.frames,
  };
  // Nothing else arrives (no duplicate, no stray event).
  await new Promise((r) => setTimeout(r, 200));
  for (const s of all) expect(s.results).toHaveLength(2);
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await until(() => hub.size.subscribers === 0);
  return { admins: admins.map(events), apps: apps.map(events), members: members.map(events), cost, delivery, memberId: member.id };
}

describe("directoryEvents fan-out", () => {
  it("costs the same SQL to deliver one change to 5 or to 50 subscribers, each getting its own view once", async () => {
    const small = await deliverOneChange(5);
    const large = await deliverOneChange(50);

    for (const run of [small, large]) {
      const moved = run.admins[0][1];
      expect(moved).toMatchObject({
        type: "MEMBER_UPDATED",
        changedFields: ["departments", "mainDepartment"],
        member: { name: expect.stringMatching(/^Moved/), departments: [{ name: "Outside" }] },
        department: null,
      });
      // Every administrator subscriber: the same two events, byte for byte.
      for (const got of run.admins) expect(got).toEqual(run.admins[0]);
      // The restricted app and its member: the event (the member was inside before the move), the member no longer readable.
      for (const got of [...run.apps, ...run.members]) {
        expect(got[0].member).toEqual({ name: moved.member.name, departments: [{ name: "Inside" }] });
        expect(got[1]).toEqual({ ...moved, member: null });
      }
      // One execution per group, one frame per subscriber.
      expect(run.delivery.executions).toBe(3);
      expect(run.delivery.frames).toBe(run.admins.length + 4);
    }
    expect(large.delivery.statements).toBe(small.delivery.statements);
    expect(large.cost.statements).toBe(small.cost.statements);
    expect(large.cost.feedReads).toBeLessThanOrEqual(3);
  }, 60000);

  it("restricted subscribers receive nothing of a change outside their visibility, and a department out of it as null", async () => {
    const mark = await gw.eventMark(corp.corpPk);
    const [admin] = subscribers(corp.token, 1, mark);
    const [app] = subscribers(restricted.token, 1, mark);
    const [member] = subscribers(memberToken, 1, mark);
    await until(() => hub.size.live === 3);
    const hidden = await gw.createDepartment(corp.token, { name: "Hidden", parentId: outside });
    const sub = await gw.createDepartment(corp.token, { name: "Sub", parentId: inside });
    await admin.waitFor(2);
    await app.waitFor(1);
    await member.waitFor(1);
    await gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
      input: { id: sub, parentId: outside },
    });
    await admin.waitFor(3);
    await app.waitFor(2);
    await member.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(events(admin).map((e) => [e.departmentId, e.department])).toEqual([
      [hidden, { name: "Hidden", parent: { name: "Outside" } }],
      [sub, { name: "Sub", parent: { name: "Inside" } }],
      [sub, { name: "Sub", parent: { name: "Outside" } }],
    ]);
    for (const s of [app, member]) {
      // Nothing of Hidden; Sub created inside, then seen leaving: no longer readable (null).
      expect(events(s).map((e) => [e.type, e.departmentId, e.department])).toEqual([
        ["DEPARTMENT_CREATED", sub, { name: "Sub", parent: { name: "Inside" } }],
        ["DEPARTMENT_UPDATED", sub, null],
      ]);
    }
  });

  it("resumed subscribers replay in order, then share the live group: nothing missed or repeated", async () => {
    const start = await gw.eventMark(corp.corpPk);
    for (let i = 0; i < 5; i++) await gw.createDepartment(corp.token, { name: `Before ${i}`, parentId: inside });
    const subs = [...subscribers(corp.token, 3, start), ...subscribers(corp.token, 3, "0")];
    // Writes while they replay and join.
    const during = Array.from({ length: 5 }, (_, i) => gw.createDepartment(corp.token, { name: `During ${i}`, parentId: inside }));
    await Promise.all(during);
    const log = (await gw.sql<{ id: string }>(`SELECT e.id::text AS id FROM event e WHERE e.corp_id = $1 ORDER BY e.id`, [corp.corpPk])).map((r) => r.id);
    const fromStart = log.filter((id) => BigInt(id) > BigInt(start));
    for (const s of subs.slice(0, 3)) await s.waitFor(fromStart.length);
    for (const s of subs.slice(3)) await s.waitFor(log.length);
    await until(() => hub.size.live === 6);
    expect(hub.size.groups).toBe(1);
    await gw.createDepartment(corp.token, { name: "Live", parentId: inside });
    const all = (await gw.sql<{ id: string }>(`SELECT e.id::text AS id FROM event e WHERE e.corp_id = $1 ORDER BY e.id`, [corp.corpPk])).map((r) => r.id);
    for (const s of subs.slice(0, 3))
      expect((await s.waitFor(fromStart.length + 1)).map((r) => r.data.directoryEvents.cursor)).toEqual(all.slice(-fromStart.length - 1));
    for (const s of subs.slice(3)) expect((await s.waitFor(all.length)).map((r) => r.data.directoryEvents.cursor)).toEqual(all);
    await new Promise((r) => setTimeout(r, 200));
    for (const s of subs.slice(0, 3)) expect(s.results).toHaveLength(fromStart.length + 1);
    for (const s of subs.slice(3)) expect(s.results).toHaveLength(all.length);
  });

  it("writes graphql-ws's own frame: the subscriber's id, then the shared payload", async () => {
    const mark = await gw.eventMark(corp.corpPk);
    const [a, b] = subscribers(corp.token, 2, mark);
    await until(() => hub.size.live === 2);
    const frames = hub.stats.frames;
    const dept = await gw.createDepartment(corp.token, { name: "Framed", parentId: inside });
    await a.waitFor(1);
    await b.waitFor(1);
    expect(hub.stats.frames - frames).toBe(2);
    expect(a.results).toEqual(b.results);
    expect(events(a)[0]).toMatchObject({ type: "DEPARTMENT_CREATED", departmentId: dept, department: { name: "Framed", parent: { name: "Inside" } } });
  });
});

/** With re-checks before every event: a narrowed visibility moves subscribers to the group of their new audience. */
describe("directoryEvents fan-out, re-checking on every event", () => {
  let gw2: TestGateway;
  let hub2: FanoutHub;
  const own: WsClient[] = [];

  beforeAll(async () => {
    gw2 = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "0" });
    hub2 = fanoutOf(gw2.gateway.httpServer)!;
  });
  afterAll(async () => {
    await Promise.all(own.map((c) => c.dispose()));
    await gw2.stop();
  });

  it("an app whose visibility narrows stops receiving what left it, and its subscribers share a new group", async () => {
    const corp2 = await gw2.createCorp("Narrowing Corp");
    const a = await gw2.createDepartment(corp2.token, { name: "A" });
    const b = await gw2.createDepartment(corp2.token, { name: "B" });
    const app = await gw2.createApp(corp2.corpPk, ["directory:read"], [pk(a), pk(b)]);
    const mark = await gw2.eventMark(corp2.corpPk);
    const open = (token: string) => {
      const c = gw2.wsClient(token);
      own.push(c);
      return gw2.subscribe(c, EVENTS, { after: mark });
    };
    const [x, y, admin] = [open(app.token), open(app.token), open(corp2.token)];
    const deadline = Date.now() + 10000;
    while (hub2.size.live < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(hub2.size.groups).toBe(2);

    const inB = await gw2.createMember(corp2.token, { employeeId: "B-1", name: "Bea", departmentIds: [b] });
    await Promise.all([x.waitFor(1), y.waitFor(1), admin.waitFor(1)]);
    const appId = (await gw2.data(corp2.token, `{ apps(first: 10) { nodes { id clientId } } }`)).apps.nodes.find(
      (n: { clientId: string }) => n.clientId === app.clientId,
    ).id;
    await gw2.data(corp2.token, `mutation($input: SetAppVisibilityInput!) { setAppVisibility(input: $input) { app { id } } }`, {
      input: { id: appId, visibility: { departmentIds: [a] } },
    });
    gw2.deps.tokens.invalidate();
    await gw2.data(corp2.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
      input: { id: inB, title: "Hidden" },
    });
    const inA = await gw2.createMember(corp2.token, { employeeId: "A-1", name: "Abe", departmentIds: [a] });
    await admin.waitFor(3);
    await Promise.all([x.waitFor(2), y.waitFor(2)]);
    await new Promise((r) => setTimeout(r, 200));
    for (const s of [x, y]) {
      expect(events(s).map((e) => [e.type, e.memberId, e.member?.name ?? null])).toEqual([
        ["MEMBER_CREATED", inB, "Bea"],
        ["MEMBER_CREATED", inA, "Abe"],
      ]);
    }
    expect(events(admin).map((e) => e.type)).toEqual(["MEMBER_CREATED", "MEMBER_UPDATED", "MEMBER_CREATED"]);
    expect(hub2.size.groups).toBe(2);
  });
});
