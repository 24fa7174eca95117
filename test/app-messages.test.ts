import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { TestGateway, expectOneError, expectUnchanged, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";
import type { Clock } from "../src/services/clock";
import type { Client as WsClient } from "graphql-ws";

/**
 * App messages (issue 14 item 3, WeCom's message/send): `sendAppMessage` delivers one message into
 * each recipient's APP conversation (one per app and member, the app its sender); departments are
 * expanded with their sub-departments within the app's visibility, `all` is every member it sees;
 * ids that reach no ACTIVE member within it are reported, not a failure; a repeat within
 * `dedupeSeconds` sends nothing (also when the repeats arrive at once); the caps name their field;
 * the statements of a send do not grow with its recipients; subscribers hear of it live.
 */

const SEND_APP = `mutation($input: SendAppMessageInput!) {
  sendAppMessage(input: $input) {
    deduplicated messageCount invalidMemberIds invalidDepartmentIds
    messages(first: 10) { totalCount nodes { id seq kind clientMessageId conversationId sender { kind appId memberId }
      content { __typename ... on TextContent { content } ... on TodoContent { title assignees { memberId } } } } }
  }
}`;
const CONVERSATIONS = `query { conversations(filter: { kind: APP }) { totalCount nodes { id kind memberCount lastSeq unreadCount myRole } } }`;
const EVENTS = `subscription($after: String) {
  messageEvents(after: $after) {
    __typename type conversationId notify
    ... on MessageAdded { message { seq content { ... on TextContent { content } } sender { kind appId } } }
    ... on ConversationCreated { conversation { kind } }
  }
}`;

const MESSAGING_TABLES = ["conversation", "conversation_member", "message", "event"];

describe("sendAppMessage", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let salesApp: TestApp;
  let readOnlyApp: TestApp;
  let sales: string;
  let east: string;
  let eng: string;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let betaMember: string;
  const clients: WsClient[] = [];
  const appMessages = () => gw.deps.services.appMessages as unknown as { clock: Clock };

  const snapshot = async () =>
    Promise.all(
      MESSAGING_TABLES.map((table) => gw.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${table} x`)),
    );
  const sendApp = (token: string, input: Record<string, unknown>) => gw.gql(token, SEND_APP, { input });
  const sent = async (token: string, input: Record<string, unknown>) => {
    const res = await sendApp(token, input);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.sendAppMessage as Untyped;
  };
  async function expectRefused(token: string, input: Record<string, unknown>, code: string, field?: string, details: Record<string, unknown> = {}) {
    const res = await expectUnchanged(snapshot, () => sendApp(token, input));
    expect(res.body.data ?? null).toBeNull();
    expectOneError(res, code, field, undefined, details);
    return res;
  }
  const text = (content: string) => ({ text: { content } });

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    sales = await gw.createDepartment(corp.token, { name: "Sales" });
    east = await gw.createDepartment(corp.token, { name: "Sales East", parentId: sales });
    eng = await gw.createDepartment(corp.token, { name: "Engineering" });
    for (const [name, dept, status] of [
      ["alice", sales, "ACTIVE"],
      ["bob", east, "ACTIVE"],
      ["carol", eng, "ACTIVE"],
      ["dave", sales, "DISABLED"],
      ["erin", east, "RESIGNED"],
    ] as const) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [dept], status });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    salesApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"], [pk(sales)]);
    readOnlyApp = await gw.createApp(corp.corpPk, ["messages:read", "directory:read"]);
    beta = await gw.createCorp("Beta");
    betaMember = await gw.createMember(beta.token, { employeeId: "alice", name: "Beta Alice", departmentIds: [beta.rootId], status: "ACTIVE" });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await gw.stop();
  });

  it("delivers into each recipient's APP conversation and reports the ids it could not reach", async () => {
    const mark = await gw.eventMark(corp.corpPk);
    const missing = toGlobalId("Member", "999999");
    const result = await sent(salesApp.token, {
      to: { memberIds: [m.alice, m.carol, m.dave, m.erin, missing, betaMember, m.alice], departmentIds: [east, eng, beta.rootId] },
      message: text("Quarter closes Friday"),
    });
    // Alice by name, Bob through Sales East; Carol and Engineering are outside the app's
    // visibility, Dave is DISABLED, Erin RESIGNED, the others do not exist in this corp.
    const byPk = (ids: string[]) => [...ids].sort((a, b) => Number(pk(a)) - Number(pk(b)));
    expect(result).toMatchObject({
      deduplicated: false,
      messageCount: 2,
      invalidMemberIds: byPk([m.carol, m.dave, m.erin, missing, betaMember]),
      invalidDepartmentIds: byPk([eng, beta.rootId]),
    });
    expect(result.messages.totalCount).toBe(2);
    const nodes = result.messages.nodes as Untyped[];
    expect(nodes.map((n) => ({ ...n, id: undefined, conversationId: undefined, clientMessageId: undefined }))).toEqual(
      [1, 2].map(() => ({
        id: undefined,
        conversationId: undefined,
        clientMessageId: undefined,
        seq: 1,
        kind: "TEXT",
        sender: { kind: "APP", appId: toGlobalId("App", salesApp.appPk), memberId: null },
        content: { __typename: "TextContent", content: "Quarter closes Friday" },
      })),
    );
    expect(nodes[0].clientMessageId).toMatch(/^sendAppMessage [0-9a-f-]{36}$/);
    expect(nodes[1].clientMessageId).toBe(nodes[0].clientMessageId);

    const conversations = await gw.sql(
      `SELECT c.kind, c.created_by_app_id::text AS app, c.direct_key, c.member_count, c.last_seq::text, cm.member_id::text, cm.role, cm.read_seq::text
         FROM conversation c JOIN conversation_member cm ON cm.conversation_id = c.id WHERE c.corp_id = $1 AND c.kind = 'APP' ORDER BY cm.member_id`,
      [corp.corpPk],
    );
    expect(conversations).toEqual(
      [m.alice, m.bob].map((id) => ({
        kind: "APP",
        app: salesApp.appPk,
        direct_key: `app:${salesApp.appPk}:${pk(id)}`,
        member_count: 1,
        last_seq: "1",
        member_id: pk(id),
        role: "MEMBER",
        read_seq: "0",
      })),
    );
    const rows = await gw.sql(
      `SELECT m.conversation_id::text, m.seq::text, m.sender_app_id::text, m.sender_member_id, m.kind, m.content, length(m.app_send_digest) AS digest
         FROM message m WHERE m.corp_id = $1 ORDER BY m.id`,
      [corp.corpPk],
    );
    expect(rows).toEqual(
      nodes.map((n) => ({
        conversation_id: pk(n.conversationId),
        seq: "1",
        sender_app_id: salesApp.appPk,
        sender_member_id: null,
        kind: "TEXT",
        content: { content: "Quarter closes Friday" },
        digest: 64,
      })),
    );
    const events = await gw.sql(`SELECT stream, type, subject_id::text, audience FROM event WHERE corp_id = $1 AND id > $2 ORDER BY id`, [corp.corpPk, mark]);
    expect(events.map((e) => [e.stream, e.type])).toEqual([
      ["messages", "CONVERSATION_CREATED"],
      ["messages", "CONVERSATION_CREATED"],
      ["messages", "MESSAGE_ADDED"],
      ["messages", "MESSAGE_ADDED"],
    ]);
    expect(events.slice(2).map((e) => e.subject_id)).toEqual(nodes.map((n) => pk(n.id)));

    // The recipients see their APP conversation, one unread message; the app sees both.
    expect((await gw.data(t.alice, CONVERSATIONS)).conversations).toEqual({
      totalCount: 1,
      nodes: [{ id: nodes[0].conversationId, kind: "APP", memberCount: 1, lastSeq: 1, unreadCount: 1, myRole: "MEMBER" }],
    });
    expect((await gw.data(t.carol, CONVERSATIONS)).conversations.totalCount).toBe(0);
    expect((await gw.data(salesApp.token, CONVERSATIONS)).conversations.totalCount).toBe(2);
  });

  it("reuses each recipient's APP conversation: the next message is seq 2, no new conversation", async () => {
    const before = await gw.sql(`SELECT count(*)::int AS n FROM conversation WHERE corp_id = $1`, [corp.corpPk]);
    const result = await sent(salesApp.token, { to: { departmentIds: [sales] }, message: text("Second") });
    expect(result.messageCount).toBe(2);
    expect(result.messages.nodes.map((n: Untyped) => n.seq)).toEqual([2, 2]);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM conversation WHERE corp_id = $1`, [corp.corpPk])).toEqual(before);
  });

  it("all: every ACTIVE member the app sees", async () => {
    const sales = await sent(salesApp.token, { to: { all: true }, message: text("Everyone in Sales") });
    expect(sales).toMatchObject({ messageCount: 2, invalidMemberIds: [], invalidDepartmentIds: [] });
    const whole = await sent(corp.token, { to: { all: true }, message: text("Everyone") });
    expect(whole.messageCount).toBe(3); // alice, bob, carol: the administrator app sees the whole corp
    const conversations = await gw.sql<{ app: string; member: string }>(
      `SELECT created_by_app_id::text AS app, split_part(direct_key, ':', 3) AS member FROM conversation WHERE corp_id = $1 AND kind = 'APP' AND created_by_app_id = $2 ORDER BY 2`,
      [corp.corpPk, corp.appPk],
    );
    expect(conversations.map((c) => c.member)).toEqual([m.alice, m.bob, m.carol].map(pk).sort());
  });

  it("a to-do is assigned to each recipient in their own conversation", async () => {
    const result = await sent(salesApp.token, { to: { memberIds: [m.alice, m.bob] }, message: { todo: { title: "Submit your forecast", assigneeIds: [] } } });
    const assignees = result.messages.nodes.map((n: Untyped) => n.content.assignees.map((a: Untyped) => a.memberId));
    expect(assignees).toEqual([[m.alice], [m.bob]]);
    const done = await gw.data(
      t.alice,
      `mutation($input: CompleteTodoInput!) { completeTodo(input: $input) { message { content { ... on TodoContent { doneCount } } } } }`,
      {
        input: { messageId: result.messages.nodes[0].id },
      },
    );
    expect(done.completeTodo.message.content.doneCount).toBe(1);
  });

  it("each copy is checked by the compliance audit, in the send's transaction", async () => {
    await gw.data(corp.token, `mutation($input: SetSensitiveWordsInput!) { setSensitiveWords(input: $input) { words } }`, { input: { words: ["forecast"] } });
    const result = await sent(salesApp.token, { to: { memberIds: [m.alice, m.bob] }, message: text("The Forecast is due") });
    const hits = await gw.sql(`SELECT message_id::text, sender_app_id::text, word FROM message_audit_hit WHERE corp_id = $1 ORDER BY message_id`, [
      corp.corpPk,
    ]);
    expect(hits).toEqual(result.messages.nodes.map((n: Untyped) => ({ message_id: pk(n.id), sender_app_id: salesApp.appPk, word: "forecast" })));
    await gw.data(corp.token, `mutation($input: SetSensitiveWordsInput!) { setSensitiveWords(input: $input) { words } }`, { input: { words: [] } });
  });

  describe("dedupeSeconds (injected clock)", () => {
    let saved: Clock;
    let now = Date.parse("2026-12-01T08:00:00Z");
    beforeAll(() => {
      saved = appMessages().clock;
      appMessages().clock = { now: () => new Date(now) };
    });
    afterAll(() => {
      appMessages().clock = saved;
    });

    it("a repeat within the window sends nothing and returns the original messages; after it, sends again", async () => {
      const input = { to: { memberIds: [m.alice, m.bob] }, message: text("Standup in 5"), dedupeSeconds: 600 };
      const first = await sent(salesApp.token, input);
      expect(first.deduplicated).toBe(false);
      now += 599_000;
      // The same audience in another order, the same content.
      const repeat = await expectUnchanged(snapshot, () => sent(salesApp.token, { ...input, to: { memberIds: [m.bob, m.alice, m.bob] } }));
      expect(repeat).toEqual({ ...first, deduplicated: true });
      // Other content, another audience, or no window: sent.
      expect((await sent(salesApp.token, { ...input, message: text("Standup in 4") })).deduplicated).toBe(false);
      expect((await sent(salesApp.token, { ...input, to: { memberIds: [m.alice] } })).deduplicated).toBe(false);
      expect((await sent(salesApp.token, { ...input, dedupeSeconds: 0 })).deduplicated).toBe(false);
      // Another app's identical send is its own.
      expect((await sent(corp.token, input)).deduplicated).toBe(false);
      // 601 s after the last send of that content to that audience: sent again.
      now += 601_000;
      const later = await sent(salesApp.token, input);
      expect(later.deduplicated).toBe(false);
      expect(later.messages.nodes[0].id).not.toBe(first.messages.nodes[0].id);
    });

    it("concurrent repeats: exactly one sends (the digest is locked before it is looked up)", async () => {
      const before = await gw.sql(`SELECT count(*)::int AS n FROM message WHERE corp_id = $1`, [corp.corpPk]);
      const input = { to: { departmentIds: [sales] }, message: text("Fire drill at 3"), dedupeSeconds: 3600 };
      const results = await Promise.all(Array.from({ length: 6 }, () => sent(salesApp.token, input)));
      expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
      const ids = new Set(results.flatMap((r) => r.messages.nodes.map((n: Untyped) => n.id)));
      expect(ids.size).toBe(2);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE corp_id = $1`, [corp.corpPk])).toEqual([{ n: before[0].n + 2 }]);
    });
  });

  it("refuses bad input, naming the field, writing nothing", async () => {
    const to = { memberIds: [m.alice] };
    await expectRefused(salesApp.token, { to, message: text("x"), dedupeSeconds: -1 }, "BAD_USER_INPUT", "input.dedupeSeconds");
    await expectRefused(salesApp.token, { to, message: text("x"), dedupeSeconds: 14_401 }, "BAD_USER_INPUT", "input.dedupeSeconds");
    await expectRefused(salesApp.token, { to, message: {} }, "BAD_USER_INPUT", "input.message");
    await expectRefused(salesApp.token, { to, message: { ...text("x"), markdown: { content: "y" } } }, "BAD_USER_INPUT", "input.message");
    await expectRefused(salesApp.token, { to, message: text(" ") }, "BAD_USER_INPUT", "input.message.text.content");
    await expectRefused(salesApp.token, { to, message: { linkCard: { url: "http://a.example", title: "A" } } }, "BAD_USER_INPUT", "input.message.linkCard.url");
    await expectRefused(salesApp.token, { to: {}, message: text("x") }, "BAD_USER_INPUT", "input.to");
    await expectRefused(salesApp.token, { to: { all: false, memberIds: [] }, message: text("x") }, "BAD_USER_INPUT", "input.to");
    await expectRefused(salesApp.token, { to: { memberIds: ["nope"] }, message: text("x") }, "BAD_USER_INPUT", "input.to.memberIds");
    await expectRefused(salesApp.token, { to, message: { todo: { title: "T", assigneeIds: [m.alice] } } }, "BAD_USER_INPUT", "input.message.todo.assigneeIds");
  });

  it("caps the ids per call: LIMIT_EXCEEDED naming the field", async () => {
    const members = Array.from({ length: 1001 }, (_, i) => toGlobalId("Member", String(100_000 + i)));
    const departments = Array.from({ length: 101 }, (_, i) => toGlobalId("Department", String(100_000 + i)));
    const res = await expectRefused(salesApp.token, { to: { memberIds: members }, message: text("x") }, "LIMIT_EXCEEDED", "input.to.memberIds", {
      maximum: 1000,
    });
    expect(res.body.errors![0].message).toBe("Name at most 1,000 members per call; this one names 1,001.");
    await expectRefused(salesApp.token, { to: { departmentIds: departments }, message: text("x") }, "LIMIT_EXCEEDED", "input.to.departmentIds", {
      maximum: 100,
    });
    // 1,000 ids (none of which exists) are within the cap: all reported.
    const ok = await sent(salesApp.token, { to: { memberIds: members.slice(0, 1000) }, message: text("x") });
    expect(ok).toMatchObject({ messageCount: 0, invalidMemberIds: members.slice(0, 1000), messages: { totalCount: 0, nodes: [] } });
  });

  it("is an app's call: a member token and an app without messages:send are FORBIDDEN", async () => {
    await expectRefused(t.alice, { to: { memberIds: [m.bob] }, message: text("x") }, "FORBIDDEN");
    await expectRefused(readOnlyApp.token, { to: { memberIds: [m.bob] }, message: text("x") }, "FORBIDDEN");
  });

  it("never reaches another corp's members", async () => {
    const acme = () =>
      gw.sql(
        `SELECT (SELECT count(*) FROM message WHERE corp_id = $1)::int AS messages, (SELECT count(*) FROM conversation WHERE corp_id = $1)::int AS conversations`,
        [corp.corpPk],
      );
    const before = await acme();
    const result = await sent(beta.token, { to: { memberIds: [m.alice, betaMember], departmentIds: [sales] }, message: text("Hello from Beta") });
    expect(result).toMatchObject({ messageCount: 1, invalidMemberIds: [m.alice], invalidDepartmentIds: [sales] });
    expect(await acme()).toEqual(before);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM conversation_member WHERE member_id = $1 AND corp_id = $2`, [pk(m.alice), beta.corpPk])).toEqual([
      { n: 0 },
    ]);
  });

  it("an app no longer sends into the APP conversation of a member outside its visibility", async () => {
    const moved = await gw.createMember(corp.token, { employeeId: "frank", name: "Frank", departmentIds: [sales], status: "ACTIVE" });
    const first = await sent(salesApp.token, { to: { memberIds: [moved] }, message: text("Welcome") });
    const conversationId = first.messages.nodes[0].conversationId;
    await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
      input: { id: moved, departmentIds: [eng], mainDepartmentId: eng },
    });
    const again = await sent(salesApp.token, { to: { memberIds: [moved] }, message: text("Still there?") });
    expect(again).toMatchObject({ messageCount: 0, invalidMemberIds: [moved] });
    const direct = await gw.gql(salesApp.token, `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }`, {
      input: { conversationId, clientMessageId: "after-move", text: { content: "Still there?" } },
    });
    expectOneError(direct, "NOT_FOUND", "input.conversationId");
  });

  it("a recipient's messageEvents subscriber receives it live; others nothing", async () => {
    const after = await gw.eventMark(corp.corpPk);
    const client = (token: string) => {
      const c = gw.wsClient(token);
      clients.push(c);
      return c;
    };
    const bob = gw.subscribe(client(t.bob), EVENTS, { after });
    const carol = gw.subscribe(client(t.carol), EVENTS, { after });
    const app = gw.subscribe(client(salesApp.token), EVENTS, { after });
    await sent(salesApp.token, { to: { memberIds: [m.bob] }, message: text("Live to Bob") });
    const [seen] = await bob.waitFor(1);
    expect(seen.data!.messageEvents).toEqual({
      __typename: "MessageAdded",
      type: "MESSAGE_ADDED",
      conversationId: expect.any(String),
      notify: true,
      message: { seq: expect.any(Number), content: { content: "Live to Bob" }, sender: { kind: "APP", appId: toGlobalId("App", salesApp.appPk) } },
    });
    expect((await app.waitFor(1))[0].data!.messageEvents.__typename).toBe("MessageAdded");
    // Carol's marker: a message to her from the administrator app, after Bob's in the stream.
    await sent(corp.token, { to: { memberIds: [m.carol] }, message: text("Marker") });
    const carolSeen = await carol.waitFor(1);
    expect(carolSeen.map((r) => r.data!.messageEvents.message.content.content)).toEqual(["Marker"]);
    for (const s of [bob, carol, app]) s.stop();
  });
});

describe("the README's example", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it("runs as written after the Messaging example: two members reached, a missing one reported, the repeat suppressed", async () => {
    const readme = readFileSync(path.resolve(__dirname, "..", "README.md"), "utf8");
    const from = readme.indexOf("## Messaging (first slice");
    const section = readme.slice(from, readme.indexOf("\n## ", from + 1));
    const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((x) => x[1]);
    const mine = blocks.find((b) => b.includes("sendAppMessage"))!;
    const corp = await gw.createCorp("Readme");
    const script = ["set -euo pipefail", blocks[0], mine].join("\n").replaceAll("http://localhost:4000", gw.url);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { env: { ...process.env, TOKEN: corp.token } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).data);
    const nodes = [
      { seq: 1, sender: { kind: "APP" } },
      { seq: 1, sender: { kind: "APP" } },
    ];
    expect(lines.slice(3)).toEqual([
      { sendAppMessage: { deduplicated: false, messageCount: 2, invalidMemberIds: [toGlobalId("Member", "999999")], messages: { nodes } } },
      { sendAppMessage: { deduplicated: true, messageCount: 2, invalidMemberIds: [toGlobalId("Member", "999999")], messages: { nodes } } },
    ]);
  });
});

describe("sendAppMessage to 1,000 members", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let bulk: string;
  let small: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Bulk");
    bulk = await gw.createDepartment(corp.token, { name: "Bulk" });
    small = await gw.createDepartment(corp.token, { name: "Small" });
    for (const [dept, n, prefix] of [
      [bulk, 1000, "b"],
      [small, 5, "s"],
    ] as const) {
      await gw.sql(
        `WITH ins AS (INSERT INTO member (corp_id, employee_id, name, status, main_department_id)
                       SELECT $1, $3 || g, 'Member ' || $3 || g, 'ACTIVE', $2 FROM generate_series(1, $4::int) g RETURNING id)
         INSERT INTO member_department (member_id, department_id, corp_id) SELECT id, $2, $1 FROM ins`,
        [corp.corpPk, pk(dept), prefix, n],
      );
    }
  });
  afterAll(() => gw.stop());

  const measure = async (departmentId: string, content: string) => {
    const res = await gw.gql(
      corp.token,
      `mutation($input: SendAppMessageInput!) { sendAppMessage(input: $input) { messageCount messages(first: 3) { nodes { seq } } } }`,
      { input: { to: { departmentIds: [departmentId] }, message: { text: { content } } } },
      { debugSql: true },
    );
    expect(res.body.errors).toBeUndefined();
    return { data: res.body.data!.sendAppMessage, statements: res.body.extensions!.diagnostics.sqlStatements as number };
  };

  it("costs the same statements for 5 and for 1,000 recipients (set-based), first send and next", async () => {
    const small1 = await measure(small, "first");
    const bulk1 = await measure(bulk, "first");
    expect(small1.data.messageCount).toBe(5);
    expect(bulk1.data.messageCount).toBe(1000);
    expect(bulk1.statements).toBe(small1.statements);
    const small2 = await measure(small, "second");
    const started = Date.now();
    const bulk2 = await measure(bulk, "second");
    const elapsed = Date.now() - started;
    expect(bulk2.data).toEqual({ messageCount: 1000, messages: { nodes: [{ seq: 2 }, { seq: 2 }, { seq: 2 }] } });
    expect(bulk2.statements).toBe(small2.statements);
    // The advisory lock on the digest, the recipients, the conversations got or created, the
    // messages numbered and inserted, their compliance audit, the payload's page, the event
    // stream's lock and its rows (one call: `event_log_append`).
    expect(bulk2.statements).toBe(7);
    expect(elapsed).toBeLessThan(5000);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE corp_id = $1`, [corp.corpPk])).toEqual([{ n: 2010 }]);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM event WHERE corp_id = $1 AND stream = 'messages'`, [corp.corpPk])).toEqual([{ n: 1005 * 2 + 1005 }]);
  });
});
