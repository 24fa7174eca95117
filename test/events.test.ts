import { createClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import { TestGateway, type Subscription, type TestCorp, waitUntil } from "./harness";
import { parseGlobalId } from "../src/schema/global-id";

/**
 * `directoryEvents` over graphql-ws, end to end: live delivery, resuming with `after`, visibility
 * and tenancy filtering, errors, and ordering under concurrent writers.
 */

const EVENTS = `subscription($after: String) {
  directoryEvents(after: $after) {
    cursor type occurredAt memberId departmentId changedFields
    member { id name title status departments { name } }
    department { id name parent { name } }
  }
}`;
const CURSORS = `subscription($after: String) { directoryEvents(after: $after) { cursor type memberId departmentId } }`;

const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;
const DELETE_DEPARTMENT = `mutation($input: DeleteDepartmentInput!) { deleteDepartment(input: $input) { deletedDepartmentId } }`;
const UPDATE_MEMBER = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`;
const SET_STATUS = `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { id } } }`;
const DELETE_MEMBER = `mutation($input: DeleteMemberInput!) { deleteMember(input: $input) { deletedMemberId } }`;

type Event = {
  cursor: string;
  type: string;
  occurredAt?: string;
  memberId: string | null;
  departmentId: string | null;
  changedFields?: string[] | null;
  member?: unknown;
  department?: unknown;
};

describe("directoryEvents", () => {
  let gw: TestGateway;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => gw.stop());

  const client = (token: string | null): WsClient => {
    const c = gw.wsClient(token);
    clients.push(c);
    return c;
  };

  /** The corp's newest event id ("0" when none): subscribing after it is live-only, deterministically. */
  const maxCursor = (corpPk: string) => gw.eventMark(corpPk);
  /** The corp's event log as cursors, in order. */
  const logIds = async (corpPk: string, after = "0"): Promise<string[]> =>
    (await gw.sql<{ id: string }>(`SELECT e.id::text AS id FROM event e WHERE e.corp_id = $1 AND e.id > $2 ORDER BY e.id`, [corpPk, after])).map((r) => r.id);
  const occurredAt = async (cursor: string): Promise<string> =>
    (await gw.sql<{ at: Date }>(`SELECT occurred_at AS at FROM event WHERE id = $1`, [cursor]))[0].at.toISOString();

  /** An event at `cursor` as `events` gives it, with no subject: tests spread it and add what the event carries. */
  const bareEvent = (cursor: string, occurredAt: string) => ({
    cursor,
    occurredAt,
    memberId: null,
    departmentId: null,
    changedFields: null,
    member: null,
    department: null,
  });

  /** The events a subscription received (failing on any error result). */
  const events = (sub: Subscription): Event[] =>
    sub.results.map((r) => {
      expect(r.errors).toBeUndefined();
      return r.data.directoryEvents as Event;
    });
  const cursorsOf = (sub: Subscription) => events(sub).map((e) => e.cursor);

  const expectStrictlyIncreasing = (cursors: string[]) => {
    for (let i = 1; i < cursors.length; i++) expect(BigInt(cursors[i])).toBeGreaterThan(BigInt(cursors[i - 1]));
  };

  const until = (condition: () => boolean, ms = 3000) => waitUntil(condition, ms);

  describe("live", () => {
    it("delivers each change in commit order with subjects resolved to current data", async () => {
      const corp = await gw.createCorp("Live Corp");
      const t = corp.token;
      const sub = gw.subscribe(client(t), EVENTS, { after: await maxCursor(corp.corpPk) });

      const sales = await gw.createDepartment(t, { name: "Sales" });
      await sub.waitFor(1);
      const member = await gw.createMember(t, { employeeId: "L-1", name: "Lou Live", departmentIds: [sales] });
      await sub.waitFor(2);
      await gw.data(t, UPDATE_MEMBER, { input: { id: member, name: "Lou Lively", title: "Rep" } });
      await sub.waitFor(3);
      await gw.data(t, UPDATE_DEPARTMENT, { input: { id: sales, name: "Sales EU", order: 3 } });
      await sub.waitFor(4);
      await gw.data(t, SET_STATUS, { input: { id: member, status: "RESIGNED" } });
      await sub.waitFor(5);
      await gw.data(t, DELETE_MEMBER, { input: { id: member } });
      await sub.waitFor(6);
      await gw.data(t, DELETE_DEPARTMENT, { input: { id: sales } });
      await sub.waitFor(7);

      const log = await logIds(corp.corpPk);
      expect(log).toHaveLength(7);
      expect(cursorsOf(sub)).toEqual(log);
      expectStrictlyIncreasing(log);
      const at = await Promise.all(log.map(occurredAt));
      const base = (i: number) => bareEvent(log[i], at[i]);
      expect(events(sub)).toEqual([
        { ...base(0), type: "DEPARTMENT_CREATED", departmentId: sales, department: { id: sales, name: "Sales", parent: { name: "Live Corp" } } },
        {
          ...base(1),
          type: "MEMBER_CREATED",
          memberId: member,
          member: { id: member, name: "Lou Live", title: null, status: "UNACTIVATED", departments: [{ name: "Sales" }] },
        },
        {
          ...base(2),
          type: "MEMBER_UPDATED",
          memberId: member,
          changedFields: ["name", "title"],
          member: { id: member, name: "Lou Lively", title: "Rep", status: "UNACTIVATED", departments: [{ name: "Sales" }] },
        },
        {
          ...base(3),
          type: "DEPARTMENT_UPDATED",
          departmentId: sales,
          changedFields: ["name", "order"],
          department: { id: sales, name: "Sales EU", parent: { name: "Live Corp" } },
        },
        {
          ...base(4),
          type: "MEMBER_STATUS_CHANGED",
          memberId: member,
          member: { id: member, name: "Lou Lively", title: "Rep", status: "RESIGNED", departments: [{ name: "Sales EU" }] },
        },
        { ...base(5), type: "MEMBER_DELETED", memberId: member },
        { ...base(6), type: "DEPARTMENT_DELETED", departmentId: sales },
      ]);
      expect(sub.completed).toBe(false);
    });

    it("without `after` starts at the end of the log", async () => {
      const corp = await gw.createCorp("Live Only Corp");
      const before = await gw.createDepartment(corp.token, { name: "Before" });
      const sub = gw.subscribe(client(corp.token), CURSORS, {});
      // Live-only starts wherever the log ends when the server registers it: give it a moment.
      await new Promise((r) => setTimeout(r, 300));
      const first = await gw.createDepartment(corp.token, { name: "First" });
      await sub.waitFor(1);
      const second = await gw.createDepartment(corp.token, { name: "Second" });
      await sub.waitFor(2);
      const log = await logIds(corp.corpPk);
      expect(log).toHaveLength(3);
      expect(events(sub)).toEqual([
        { cursor: log[1], type: "DEPARTMENT_CREATED", memberId: null, departmentId: first },
        { cursor: log[2], type: "DEPARTMENT_CREATED", memberId: null, departmentId: second },
      ]);
      expect(events(sub).some((e) => e.departmentId === before)).toBe(false);
    });
  });

  describe("resume", () => {
    it.each([
      ["after the relay released the corp (replay from the log)", false],
      ["while another subscriber keeps the corp's feed (replay from memory)", true],
    ])("reconnecting with the last cursor delivers exactly the missed events, then live ones: %s", async (_name, keepAlive) => {
      const corp = await gw.createCorp(`Resume ${keepAlive ? "Kept" : "Released"}`);
      const t = corp.token;
      const root = corp.rootId;
      const keeper = keepAlive ? gw.subscribe(client(t), CURSORS, { after: "0" }) : null;

      const first = client(t);
      const sub1 = gw.subscribe(first, CURSORS, { after: "0" });
      const initial: string[] = [];
      for (let i = 1; i <= 5; i++) initial.push(await gw.createDepartment(t, { name: `D${i}`, parentId: root }));
      await sub1.waitFor(5);
      expect(events(sub1).map((e) => e.departmentId)).toEqual(initial);
      const last = events(sub1)[4].cursor;
      sub1.stop();
      await first.dispose();
      if (!keepAlive) await until(() => gw.deps.relay.activeCorps === 0);

      // 30 changes while disconnected: 10 members created, each updated, then resigned.
      const missed: Array<[string, string]> = [];
      const members: string[] = [];
      for (let i = 0; i < 10; i++) {
        const id = await gw.createMember(t, { employeeId: `R-${i}`, name: `Resumed ${i}`, departmentIds: [initial[i % 5]] });
        members.push(id);
        missed.push(["MEMBER_CREATED", id]);
      }
      for (const id of members) {
        await gw.data(t, UPDATE_MEMBER, { input: { id, title: "Rep" } });
        missed.push(["MEMBER_UPDATED", id]);
      }
      for (const id of members) {
        await gw.data(t, SET_STATUS, { input: { id, status: "RESIGNED" } });
        missed.push(["MEMBER_STATUS_CHANGED", id]);
      }

      const sub2 = gw.subscribe(client(t), CURSORS, { after: last });
      await sub2.waitFor(30);
      expect(events(sub2).map((e) => [e.type, e.memberId])).toEqual(missed);
      // Then live.
      const live = [await gw.createDepartment(t, { name: "Live 1" }), await gw.createDepartment(t, { name: "Live 2" })];
      await sub2.waitFor(32);
      expect(
        events(sub2)
          .slice(30)
          .map((e) => [e.type, e.departmentId]),
      ).toEqual(live.map((id) => ["DEPARTMENT_CREATED", id]));

      const log = await logIds(corp.corpPk);
      expect(log).toHaveLength(37);
      expect([...cursorsOf(sub1), ...cursorsOf(sub2)]).toEqual(log);
      if (keeper) {
        await keeper.waitFor(37);
        expect(cursorsOf(keeper)).toEqual(log);
      }
      expect(sub2.results).toHaveLength(32);
    });

    it('`after: "0"` replays the whole log, each subject as it is now, then continues live', async () => {
      const corp = await gw.createCorp("Replay Corp");
      const t = corp.token;
      const ops = await gw.createDepartment(t, { name: "Ops" });
      const kept = await gw.createMember(t, { employeeId: "K-1", name: "Old Name", departmentIds: [ops] });
      await gw.data(t, UPDATE_MEMBER, { input: { id: kept, name: "Mid Name" } });
      await gw.data(t, UPDATE_MEMBER, { input: { id: kept, name: "New Name", title: "Boss" } });
      const gone = await gw.createMember(t, { employeeId: "G-1", name: "Gone", departmentIds: [ops] });
      await gw.data(t, DELETE_MEMBER, { input: { id: gone } });
      await gw.data(t, UPDATE_DEPARTMENT, { input: { id: ops, name: "Operations" } });

      const sub = gw.subscribe(client(t), EVENTS, { after: "0" });
      await sub.waitFor(7);
      const keptNow = { id: kept, name: "New Name", title: "Boss", status: "UNACTIVATED", departments: [{ name: "Operations" }] };
      const opsNow = { id: ops, name: "Operations", parent: { name: "Replay Corp" } };
      let log = await logIds(corp.corpPk);
      let at = await Promise.all(log.map(occurredAt));
      const base = (i: number) => bareEvent(log[i], at[i]);
      expect(events(sub)).toEqual([
        { ...base(0), type: "DEPARTMENT_CREATED", departmentId: ops, department: opsNow },
        { ...base(1), type: "MEMBER_CREATED", memberId: kept, member: keptNow },
        { ...base(2), type: "MEMBER_UPDATED", memberId: kept, member: keptNow, changedFields: ["name"] },
        { ...base(3), type: "MEMBER_UPDATED", memberId: kept, member: keptNow, changedFields: ["name", "title"] },
        { ...base(4), type: "MEMBER_CREATED", memberId: gone },
        { ...base(5), type: "MEMBER_DELETED", memberId: gone },
        { ...base(6), type: "DEPARTMENT_UPDATED", departmentId: ops, department: opsNow, changedFields: ["name"] },
      ]);

      await gw.data(t, SET_STATUS, { input: { id: kept, status: "ACTIVE" } });
      await sub.waitFor(8);
      log = await logIds(corp.corpPk);
      at = await Promise.all(log.map(occurredAt));
      expect(log).toHaveLength(8);
      expect(events(sub)[7]).toEqual({ ...base(7), type: "MEMBER_STATUS_CHANGED", memberId: kept, member: { ...keptNow, status: "ACTIVE" } });
      expect(cursorsOf(sub)).toEqual(log);
    });
  });

  describe("visibility", () => {
    it("an app restricted to a subtree receives only events whose subject is in it", async () => {
      const corp = await gw.createCorp("Visible Corp");
      const t = corp.token;
      const inside = await gw.createDepartment(t, { name: "In" });
      const outside = await gw.createDepartment(t, { name: "Out" });
      const insideChild = await gw.createDepartment(t, { name: "In Child", parentId: inside });
      const app = await gw.createApp(corp.corpPk, ["directory:read"], [parseGlobalId(inside)!.pk]);
      const start = await maxCursor(corp.corpPk);
      const restricted = gw.subscribe(client(app.token), EVENTS, { after: start });
      const all = gw.subscribe(client(t), CURSORS, { after: start });

      const visible: number[] = []; // indexes (in the log after `start`) of events the app should get
      let n = 0;
      const step = async (work: () => Promise<unknown>, shown: boolean) => {
        await work();
        n++;
        if (shown) {
          visible.push(n - 1);
          await restricted.waitFor(visible.length);
        }
        await all.waitFor(n);
      };

      let a = "";
      let b = "";
      let moved = "";
      let c = "";
      await step(async () => (a = await gw.createMember(t, { employeeId: "A", name: "Ann Out", departmentIds: [outside] })), false);
      await step(async () => (b = await gw.createMember(t, { employeeId: "B", name: "Ben In", departmentIds: [insideChild] })), true);
      await step(() => gw.data(t, UPDATE_MEMBER, { input: { id: a, departmentIds: [inside] } }), true); // moved in
      await step(() => gw.data(t, UPDATE_MEMBER, { input: { id: a, title: "Inside" } }), true);
      await step(() => gw.data(t, UPDATE_MEMBER, { input: { id: a, departmentIds: [outside] } }), true); // moved out: seen leaving
      await step(() => gw.data(t, UPDATE_MEMBER, { input: { id: a, title: "Outside" } }), false);
      await step(async () => (moved = await gw.createDepartment(t, { name: "Out Child", parentId: outside })), false);
      await step(() => gw.data(t, UPDATE_DEPARTMENT, { input: { id: moved, parentId: inside } }), true); // department moved in
      await step(() => gw.data(t, UPDATE_DEPARTMENT, { input: { id: outside, name: "Outside" } }), false);
      await step(() => gw.data(t, SET_STATUS, { input: { id: a, status: "DISABLED" } }), false);
      await step(() => gw.data(t, DELETE_MEMBER, { input: { id: a } }), false);
      await step(() => gw.createDepartment(t, { name: "Elsewhere", parentId: outside }), false);
      await step(async () => (c = await gw.createMember(t, { employeeId: "C", name: "Cy In", departmentIds: [inside] })), true);

      const log = await logIds(corp.corpPk, start);
      expect(log).toHaveLength(13);
      expect(cursorsOf(all)).toEqual(log);
      expect(cursorsOf(restricted)).toEqual(visible.map((i) => log[i]));
      const got = events(restricted).map(({ type, memberId, departmentId, changedFields, member, department }) => ({
        type,
        memberId,
        departmentId,
        changedFields,
        member,
        department,
      }));
      expect(got).toEqual([
        {
          type: "MEMBER_CREATED",
          memberId: b,
          departmentId: null,
          changedFields: null,
          department: null,
          member: { id: b, name: "Ben In", title: null, status: "UNACTIVATED", departments: [{ name: "In Child" }] },
        },
        {
          type: "MEMBER_UPDATED",
          memberId: a,
          departmentId: null,
          changedFields: ["departments", "mainDepartment"],
          department: null,
          member: { id: a, name: "Ann Out", title: null, status: "UNACTIVATED", departments: [{ name: "In" }] },
        },
        {
          type: "MEMBER_UPDATED",
          memberId: a,
          departmentId: null,
          changedFields: ["title"],
          department: null,
          member: { id: a, name: "Ann Out", title: "Inside", status: "UNACTIVATED", departments: [{ name: "In" }] },
        },
        // Delivered (the member was visible before the change) but no longer readable.
        { type: "MEMBER_UPDATED", memberId: a, departmentId: null, changedFields: ["departments", "mainDepartment"], department: null, member: null },
        {
          type: "DEPARTMENT_UPDATED",
          memberId: null,
          departmentId: moved,
          changedFields: ["parent"],
          member: null,
          department: { id: moved, name: "Out Child", parent: { name: "In" } },
        },
        {
          type: "MEMBER_CREATED",
          memberId: c,
          departmentId: null,
          changedFields: null,
          department: null,
          member: { id: c, name: "Cy In", title: null, status: "UNACTIVATED", departments: [{ name: "In" }] },
        },
      ]);
      // Replaying the whole log through the app filters the same way.
      const replay = gw.subscribe(client(app.token), CURSORS, { after: "0" });
      await replay.waitFor(visible.length + 2);
      const [createdIn, , createdInChild] = await logIds(corp.corpPk); // "Out" was created in between
      expect(cursorsOf(replay)).toEqual([createdIn, createdInChild, ...cursorsOf(restricted)]);
      expect(
        events(replay)
          .slice(0, 2)
          .map((e) => e.departmentId),
      ).toEqual([inside, insideChild]);
    });

    it("keeps following the subtree after its department moved, live and on replay", async () => {
      const corp = await gw.createCorp("Moving Corp");
      const t = corp.token;
      const sales = await gw.createDepartment(t, { name: "Sales" });
      const eng = await gw.createDepartment(t, { name: "Engineering" });
      const app = await gw.createApp(corp.corpPk, ["directory:read"], [parseGlobalId(sales)!.pk]);
      const live = gw.subscribe(client(app.token), EVENTS, { after: await maxCursor(corp.corpPk) });
      const before = await gw.createMember(t, { employeeId: "M-1", name: "Before Move", departmentIds: [sales] });
      await live.waitFor(1);
      await gw.data(t, UPDATE_DEPARTMENT, { input: { id: sales, parentId: eng } }); // Sales now sits under Engineering
      await live.waitFor(2);
      await gw.createMember(t, { employeeId: "E-1", name: "Engineer", departmentIds: [eng] }); // not in Sales
      const after = await gw.createMember(t, { employeeId: "M-2", name: "After Move", departmentIds: [sales] });
      await live.waitFor(3);
      const log = await logIds(corp.corpPk);
      expect(log).toHaveLength(6);
      // Subjects resolve with the connection's visibility, which must survive the move too.
      expect(
        events(live).map(({ cursor, type, memberId, departmentId, changedFields, member, department }) => ({
          cursor,
          type,
          memberId,
          departmentId,
          changedFields,
          member,
          department,
        })),
      ).toEqual([
        {
          cursor: log[2],
          type: "MEMBER_CREATED",
          memberId: before,
          departmentId: null,
          changedFields: null,
          member: { id: before, name: "Before Move", title: null, status: "UNACTIVATED", departments: [{ name: "Sales" }] },
          department: null,
        },
        {
          cursor: log[3],
          type: "DEPARTMENT_UPDATED",
          memberId: null,
          departmentId: sales,
          changedFields: ["parent"],
          member: null,
          department: { id: sales, name: "Sales", parent: null },
        },
        {
          cursor: log[5],
          type: "MEMBER_CREATED",
          memberId: after,
          departmentId: null,
          changedFields: null,
          member: { id: after, name: "After Move", title: null, status: "UNACTIVATED", departments: [{ name: "Sales" }] },
          department: null,
        },
      ]);
      // A new connection (visibility read afresh) replays the events from before the move too.
      const replay = gw.subscribe(client(app.token), CURSORS, { after: "0" });
      await replay.waitFor(4);
      expect(cursorsOf(replay)).toEqual([log[0], log[2], log[3], log[5]]);
    });

    it("a second corp's subscriber receives nothing of the first corp", async () => {
      const alpha = await gw.createCorp("Alpha");
      const beta = await gw.createCorp("Beta");
      const betaLive = gw.subscribe(client(beta.token), CURSORS, { after: await maxCursor(beta.corpPk) });
      const alphaLive = gw.subscribe(client(alpha.token), CURSORS, { after: await maxCursor(alpha.corpPk) });
      const dep = await gw.createDepartment(alpha.token, { name: "Alpha Dept" });
      await gw.createMember(alpha.token, { employeeId: "A-1", name: "Al", departmentIds: [dep] });
      await gw.data(alpha.token, UPDATE_DEPARTMENT, { input: { id: dep, name: "Alpha Department" } });
      await alphaLive.waitFor(3);
      const marker = await gw.createDepartment(beta.token, { name: "Beta Dept" });
      await betaLive.waitFor(1);
      const betaLog = await logIds(beta.corpPk);
      expect(betaLog).toHaveLength(1);
      expect(events(betaLive)).toEqual([{ cursor: betaLog[0], type: "DEPARTMENT_CREATED", memberId: null, departmentId: marker }]);
      // Replaying from the beginning, or from a cursor of the other corp, yields only the corp's own events.
      const alphaLog = await logIds(alpha.corpPk);
      expect(BigInt(alphaLog[0])).toBeLessThan(BigInt(betaLog[0]));
      for (const after of ["0", alphaLog[0]]) {
        const replay = gw.subscribe(client(beta.token), CURSORS, { after });
        await replay.waitFor(1);
        await gw.createDepartment(beta.token, { name: `Beta marker ${after}` });
        const own = await logIds(beta.corpPk);
        await replay.waitFor(own.length);
        expect(cursorsOf(replay)).toEqual(own);
      }
      const own = await logIds(beta.corpPk);
      expect(own).toHaveLength(3);
      await betaLive.waitFor(3);
      expect(cursorsOf(betaLive)).toEqual(own);
      expect(cursorsOf(alphaLive)).toEqual(alphaLog);
    });
  });

  describe("errors", () => {
    // A connection_init without a valid token is refused at once: the socket closes with 4403
    // (issue 11), so no operation of it ever runs.
    const refusedAtConnect: Array<[string, () => Promise<string | null>]> = [
      ["no token", async () => null],
      ["an invalid token", async () => "not-a-jwt"],
      ["an unsigned token", async () => unsignedToken()],
      ["a disabled member's token", async () => disabledMemberToken()],
    ];
    const cases: Array<[string, () => Promise<string | null>, Record<string, unknown>, string, string | undefined]> = [
      [
        "an app without directory:read",
        async () => (await gw.createApp(errCorp.corpPk, ["messages:read", "directory:write"])).token,
        {},
        "FORBIDDEN",
        undefined,
      ],
      ['after: "abc"', async () => errCorp.token, { after: "abc" }, "BAD_USER_INPUT", "after"],
      ['after: "-1"', async () => errCorp.token, { after: "-1" }, "BAD_USER_INPUT", "after"],
      ['after: "01"', async () => errCorp.token, { after: "01" }, "BAD_USER_INPUT", "after"],
      ["after: 20 digits", async () => errCorp.token, { after: "12345678901234567890" }, "BAD_USER_INPUT", "after"],
    ];
    let errCorp: TestCorp;
    beforeAll(async () => {
      errCorp = await gw.createCorp("Error Corp");
    });

    function unsignedToken(): string {
      const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
      const payload = Buffer.from(JSON.stringify({ azp: errCorp.clientId, corp: errCorp.corpId, scope: "directory:read" })).toString("base64url");
      return `${header}.${payload}.`;
    }
    async function disabledMemberToken(): Promise<string> {
      const dep = await gw.createDepartment(errCorp.token, { name: `D ${Date.now()}` });
      const id = await gw.createMember(errCorp.token, {
        employeeId: `X-${Date.now()}`,
        name: "Dis Abled",
        departmentIds: [dep],
        status: "DISABLED",
        isCorpAdmin: true,
      });
      return gw.memberToken(errCorp.corpPk, { clientId: errCorp.clientId }, parseGlobalId(id)!.pk);
    }

    it.each(refusedAtConnect)("%s: the socket is closed with 4403 Forbidden", async (_name, token) => {
      const sub = gw.subscribe(client(await token()), EVENTS, {});
      await until(() => sub.completed);
      expect(sub.results).toHaveLength(0);
      expect((sub.error as { code?: number }).code).toBe(4403);
    });

    it.each(cases)("%s", async (_name, token, variables, code, field) => {
      const sub = gw.subscribe(client(await token()), EVENTS, variables);
      await sub.waitFor(1);
      await until(() => sub.completed);
      expect(sub.error).toBeUndefined();
      expect(sub.results).toHaveLength(1);
      const [result] = sub.results;
      expect(result.data).toBeUndefined();
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0]).toMatchObject({ path: ["directoryEvents"], extensions: field ? { code, field } : { code } });
      expect(Object.keys(result.errors![0].extensions)).toEqual(field ? ["code", "field"] : ["code"]);
      expect(JSON.stringify(result)).not.toMatch(/stack|\bat .*\.(ts|js):\d+/i);
    });

    it("a malformed authorization parameter is refused at connect (4403)", async () => {
      const c = createClient({
        url: gw.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Basic ${errCorp.token}` },
        lazy: true,
        retryAttempts: 0,
      });
      clients.push(c);
      const sub = gw.subscribe(c, CURSORS, {});
      await until(() => sub.completed);
      expect(sub.results).toHaveLength(0);
      expect((sub.error as { code?: number }).code).toBe(4403);
    });
  });

  describe("concurrent writers", () => {
    it("20 mutations in parallel arrive once each, in strictly increasing cursor order", async () => {
      const corp = await gw.createCorp("Busy Corp");
      const t = corp.token;
      const home = await gw.createDepartment(t, { name: "Home" });
      const start = await maxCursor(corp.corpPk);
      const sub = gw.subscribe(client(t), CURSORS, { after: start });
      const replay = gw.subscribe(client(t), CURSORS, { after: "0" });
      const ids = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => gw.createMember(t, { employeeId: `P-${i}`, name: `Parallel ${i}`, departmentIds: [home] })),
        ...Array.from({ length: 10 }, (_, i) => gw.createDepartment(t, { name: `Parallel ${i}`, parentId: home })),
      ]);
      await sub.waitFor(20);
      // A marker after the burst: nothing else may arrive in between.
      const marker = await gw.createDepartment(t, { name: "Marker" });
      await sub.waitFor(21);
      await replay.waitFor(22);
      const got = events(sub);
      expect(got).toHaveLength(21);
      expect(got[20]).toEqual({ cursor: got[20].cursor, type: "DEPARTMENT_CREATED", memberId: null, departmentId: marker });
      const burst = got.slice(0, 20);
      expect(new Set(burst.map((e) => e.cursor)).size).toBe(20);
      expectStrictlyIncreasing(got.map((e) => e.cursor));
      expect(burst.map((e) => e.memberId ?? e.departmentId).sort()).toEqual([...ids].sort());
      expect(burst.filter((e) => e.type === "MEMBER_CREATED")).toHaveLength(10);
      expect(burst.filter((e) => e.type === "DEPARTMENT_CREATED")).toHaveLength(10);
      expect(got.map((e) => e.cursor)).toEqual(await logIds(corp.corpPk, start));
      expect(cursorsOf(replay)).toEqual(await logIds(corp.corpPk));
    });
  });
});
