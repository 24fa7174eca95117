import { TestGateway, expectOneError, expectUnchanged, pk, type TestCorp } from "./harness";
import type { Clock } from "../src/services/clock";
import type { Client as WsClient } from "graphql-ws";

/**
 * Do not disturb (issue 14 item 6): a member's daily window in their time zone, checked with
 * `Intl.DateTimeFormat`; while it applies (at the injected clock's now, inside and outside the
 * window, across midnight) `messageEvents` delivers every event with `notify: false`; cleared with
 * nulls; members only.
 */

const SET = `mutation($input: SetDoNotDisturbInput!) { setDoNotDisturb(input: $input) { doNotDisturb { from to timezone active } } }`;
const GET = `query { doNotDisturb { from to timezone active } }`;
const EVENTS = `subscription($after: String) { messageEvents(after: $after) { __typename notify ... on MessageAdded { message { content { ... on TextContent { content } } } } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { seq } } }`;

describe("setDoNotDisturb", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let group: string;
  const clients: WsClient[] = [];
  let saved: Clock;
  let now = Date.parse("2026-12-01T04:00:00Z"); // 12:00 in Shanghai (UTC+8)
  const events = () => gw.deps.services.messageEvents as unknown as { clock: Clock };
  const rows = () => gw.sql(`SELECT member_id::text, corp_id::text, from_minute, to_minute, timezone FROM member_do_not_disturb ORDER BY member_id`);

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    for (const name of ["alice", "bob", "carol"]) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [corp.rootId], status: "ACTIVE" });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    group = (
      await gw.data(t.carol, `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`, {
        input: { name: "Quiet", memberIds: [m.alice, m.bob] },
      })
    ).createGroup.conversation.id;
    saved = events().clock;
    events().clock = { now: () => new Date(now) };
  });
  afterAll(async () => {
    events().clock = saved;
    await Promise.all(clients.map((c) => c.dispose()));
    await gw.stop();
  });

  it("refuses bad windows naming the field, and apps; writes nothing", async () => {
    const refused = async (token: string, input: Record<string, unknown>, code: string, field?: string) => {
      const res = await expectUnchanged(rows, () => gw.gql(token, SET, { input }));
      expect(res.body.data ?? null).toBeNull();
      expectOneError(res, code, field);
    };
    const ok = { from: "22:00", to: "07:00", timezone: "Asia/Shanghai" };
    await refused(t.alice, { ...ok, from: "24:00" }, "BAD_USER_INPUT", "input.from");
    await refused(t.alice, { ...ok, from: "9:00" }, "BAD_USER_INPUT", "input.from");
    await refused(t.alice, { ...ok, to: "07:60" }, "BAD_USER_INPUT", "input.to");
    await refused(t.alice, { ...ok, to: "22:00" }, "BAD_USER_INPUT", "input.to");
    await refused(t.alice, { ...ok, timezone: "Mars/Olympus_Mons" }, "BAD_USER_INPUT", "input.timezone");
    await refused(t.alice, { ...ok, timezone: "" }, "BAD_USER_INPUT", "input.timezone");
    await refused(t.alice, { from: "22:00" }, "BAD_USER_INPUT", "input.to");
    await refused(t.alice, { to: "07:00", timezone: "UTC" }, "BAD_USER_INPUT", "input.from");
    await refused(corp.token, ok, "FORBIDDEN");
    expect(await gw.data(corp.token, GET)).toEqual({ doNotDisturb: null });
  });

  it("sets a window across midnight in the member's time zone (canonical spelling) and shows whether it applies", async () => {
    const set = await gw.data(t.alice, SET, { input: { from: "22:00", to: "07:00", timezone: "asia/shanghai" } });
    expect(set.setDoNotDisturb.doNotDisturb).toEqual({ from: "22:00", to: "07:00", timezone: "Asia/Shanghai", active: false });
    expect(await rows()).toEqual([{ member_id: pk(m.alice), corp_id: corp.corpPk, from_minute: 1320, to_minute: 420, timezone: "Asia/Shanghai" }]);
    now = Date.parse("2026-12-01T15:30:00Z"); // 23:30 in Shanghai
    expect(await gw.data(t.alice, GET)).toEqual({ doNotDisturb: { from: "22:00", to: "07:00", timezone: "Asia/Shanghai", active: true } });
    expect(await gw.data(t.bob, GET)).toEqual({ doNotDisturb: null });
  });

  it("inside the window events arrive with notify: false, outside with notify: true; others are not affected", async () => {
    const after = await gw.eventMark(corp.corpPk);
    const client = (token: string) => {
      const c = gw.wsClient(token);
      clients.push(c);
      return c;
    };
    const alice = gw.subscribe(client(t.alice), EVENTS, { after });
    const bob = gw.subscribe(client(t.bob), EVENTS, { after });
    const steps: Array<[string, string, boolean]> = [
      ["2026-12-01T15:30:00Z", "23:30", false],
      ["2026-12-01T22:59:00Z", "06:59", false],
      ["2026-12-01T23:00:00Z", "07:00", true],
      ["2026-12-02T04:00:00Z", "12:00", true],
      ["2026-12-02T13:59:00Z", "21:59", true],
      ["2026-12-02T14:00:00Z", "22:00", false],
    ];
    for (const [i, [at, local, quiet]] of steps.entries()) {
      now = Date.parse(at);
      await gw.data(t.carol, SEND, { input: { conversationId: group, clientMessageId: `dnd-${i}`, text: { content: local } } });
      const seen = await alice.waitFor(i + 1);
      expect([seen[i].data!.messageEvents.message.content.content, seen[i].data!.messageEvents.notify]).toEqual([local, quiet]);
      const bobSeen = await bob.waitFor(i + 1);
      expect(bobSeen[i].data!.messageEvents.notify).toBe(true);
    }
    alice.stop();
    bob.stop();
  });

  it("clears with nulls: the row is gone and a new subscription notifies again", async () => {
    expect(await gw.data(t.alice, SET, { input: { from: null, to: null, timezone: null } })).toEqual({ setDoNotDisturb: { doNotDisturb: null } });
    expect(await rows()).toEqual([]);
    expect(await gw.data(t.alice, GET)).toEqual({ doNotDisturb: null });
    now = Date.parse("2026-12-01T15:30:00Z");
    const c = gw.wsClient(t.alice);
    clients.push(c);
    const alice = gw.subscribe(c, EVENTS, { after: await gw.eventMark(corp.corpPk) });
    await gw.data(t.carol, SEND, { input: { conversationId: group, clientMessageId: "dnd-cleared", text: { content: "after clearing" } } });
    const [seen] = await alice.waitFor(1);
    expect(seen.data!.messageEvents.notify).toBe(true);
    alice.stop();
  });
});
