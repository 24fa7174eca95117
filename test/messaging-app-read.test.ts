import { TestGateway, expectOneError, expectUnchanged, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";
import { SqlParams } from "../src/db/sql";
import { everyMemberVisibleSql } from "../src/policy/messaging";
import type { Principal } from "../src/policy/principal";

/**
 * An app acting on its own with `messages:read` reads the groups and direct conversations whose
 * members are all within its visibility (issue 14, item 9; `policy/messaging.ts`, `mayRead`):
 * `conversation(id)`, `conversations`, `messages`, `message(id)`, `node(id)`. It does not take part:
 * its writes there are FORBIDDEN and write nothing. One member outside its visibility (also one
 * added later) makes the conversation NOT_FOUND and drops it from the list; other apps' APP
 * conversations stay private; a token without `messages:read`, another corp's app and a member
 * acting through the app (membership, as before) read nothing of it. A 10,000-member group is
 * decided by one anti-join.
 */

const CONVERSATION = `id kind name memberCount lastSeq unreadCount readSeq myRole settings { pinned } members(first: 5) { totalCount }`;
const GET = `query($id: ID!) { conversation(id: $id) { ${CONVERSATION} } }`;
const LIST = `query($first: Int, $after: String) { conversations(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name kind } } }`;
const HISTORY = `query($c: ID!) { messages(conversationId: $c, last: 20) { totalCount nodes { id seq sender { memberId } readReceipt { readCount }
  content { ... on TextContent { content } } } } }`;
const MESSAGE = `query($id: ID!) { message(id: $id) { seq } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id } }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const OPEN_DIRECT = `mutation($input: OpenDirectConversationInput!) { openDirectConversation(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;
const ADD = `mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount } }`;
const REMOVE = `mutation($input: RemoveGroupMembersInput!) { removeGroupMembers(input: $input) { removedCount } }`;
const UPDATE = `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { conversation { id } } }`;
const RECALL = `mutation($input: RecallMessageInput!) { recallMessage(input: $input) { message { id } } }`;
const REMIND = `mutation($input: RemindUnreadInput!) { remindUnread(input: $input) { remindedCount } }`;
const MARK_READ = `mutation($input: MarkReadInput!) { markRead(input: $input) { conversation { id } } }`;
const BOT = `mutation($input: CreateGroupBotInput!) { createGroupBot(input: $input) { webhookUrl } }`;
const SEND_APP = `mutation($input: SendAppMessageInput!) { sendAppMessage(input: $input) { messageCount } }`;

const MESSAGING_TABLES = ["conversation", "conversation_member", "message", "group_bot", "event"];

describe("an app with messages:read reads the conversations of members within its visibility", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let sales: string;
  let eng: string;
  /** messages:read, Sales (with Sales East) only. */
  let reader: TestApp;
  /** messages:read and messages:send, Sales only: may read, still may not take part. */
  let readerSender: TestApp;
  /** The same grant as `reader`, its token asked without messages:read. */
  let readerNoScope: string;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let salesGroup: string;
  let mixedGroup: string;
  let salesDirect: string;
  let mixedDirect: string;
  let firstMessage: string;
  let seq = 0;

  const snapshot = async () =>
    Promise.all(
      MESSAGING_TABLES.map((table) => gw.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${table} x`)),
    );
  const group = async (token: string, name: string, memberIds: string[], ownerId?: string) =>
    (await gw.data(token, CREATE_GROUP, { input: { name, memberIds, ...(ownerId ? { ownerId } : {}) } })).createGroup.conversation.id as string;
  const send = async (token: string, conversationId: string, content: string) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `r-${++seq}`, text: { content } } })).sendMessage.message.id as string;
  const listed = async (token: string) => {
    const names: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await gw.data(token, LIST, { first: 100, after })).conversations;
      names.push(...page.nodes.map((n: Untyped) => n.id));
      if (!page.pageInfo.hasNextPage) return { ids: names, totalCount: page.totalCount as number };
      after = page.pageInfo.endCursor;
    }
  };
  async function expectRefused(token: string, query: string, input: Record<string, unknown>, code: string, field?: string) {
    const res = await expectUnchanged(snapshot, () => gw.gql(token, query, { input }));
    expect(res.body.data ?? null).toBeNull();
    expectOneError(res, code, field);
  }

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    sales = await gw.createDepartment(corp.token, { name: "Sales" });
    const east = await gw.createDepartment(corp.token, { name: "Sales East", parentId: sales });
    eng = await gw.createDepartment(corp.token, { name: "Engineering" });
    for (const [name, dept] of [
      ["alice", sales],
      ["bob", sales],
      ["erin", east],
      ["dave", sales],
      ["carol", eng],
    ] as const) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [dept], status: "ACTIVE" });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    reader = await gw.createApp(corp.corpPk, ["messages:read", "directory:read"], [pk(sales)]);
    readerSender = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"], [pk(sales)]);
    readerNoScope = await gw.token(reader.clientId, reader.clientSecret, "directory:read");
    beta = await gw.createCorp("Beta");

    salesGroup = await group(t.alice, "Sales team", [m.bob, m.erin]);
    firstMessage = await send(t.alice, salesGroup, "Quota met");
    await send(t.erin, salesGroup, "Nice");
    mixedGroup = await group(t.alice, "Launch", [m.bob, m.carol]);
    await send(t.carol, mixedGroup, "Build is green");
    salesDirect = (await gw.data(t.alice, OPEN_DIRECT, { input: { memberId: m.bob } })).openDirectConversation.conversation.id;
    await send(t.bob, salesDirect, "Lunch?");
    mixedDirect = (await gw.data(t.alice, OPEN_DIRECT, { input: { memberId: m.carol } })).openDirectConversation.conversation.id;
    await send(t.carol, mixedDirect, "Private");
  });
  afterAll(() => gw.stop());

  it("reads a group and a direct conversation whose members are all within its visibility: the conversation, its history, the list", async () => {
    expect((await gw.data(reader.token, GET, { id: salesGroup })).conversation).toEqual({
      id: salesGroup,
      kind: "GROUP",
      name: "Sales team",
      memberCount: 3,
      lastSeq: 2,
      // It takes no part: no read pointer, role or settings.
      unreadCount: null,
      readSeq: null,
      myRole: null,
      settings: null,
      members: { totalCount: 3 },
    });
    const history = (await gw.data(reader.token, HISTORY, { c: salesGroup })).messages;
    expect(history).toEqual({
      totalCount: 2,
      nodes: [
        // The read receipt stays its sender's.
        { id: firstMessage, seq: 1, sender: { memberId: m.alice }, readReceipt: null, content: { content: "Quota met" } },
        { id: expect.any(String), seq: 2, sender: { memberId: m.erin }, readReceipt: null, content: { content: "Nice" } },
      ],
    });
    expect((await gw.data(reader.token, HISTORY, { c: salesDirect })).messages.nodes.map((n: Untyped) => n.content.content)).toEqual(["Lunch?"]);
    expect((await gw.data(reader.token, MESSAGE, { id: firstMessage })).message).toEqual({ seq: 1 });
    expect((await gw.data(reader.token, NODE, { id: salesGroup })).node).toEqual({ __typename: "Conversation", id: salesGroup });
    const { ids, totalCount } = await listed(reader.token);
    expect(new Set(ids)).toEqual(new Set([salesGroup, salesDirect]));
    expect(totalCount).toBe(2);
  });

  it("one member outside its visibility: NOT_FOUND (null) and absent from the list; live, as members come and go", async () => {
    for (const id of [mixedGroup, mixedDirect]) {
      expect((await gw.data(reader.token, GET, { id })).conversation).toBeNull();
      expect((await gw.data(reader.token, NODE, { id })).node).toBeNull();
      expectOneError(await gw.gql(reader.token, HISTORY, { c: id }), "NOT_FOUND", "conversationId");
    }
    const carolsMessage = (await gw.data(t.alice, HISTORY, { c: mixedGroup })).messages.nodes[0].id;
    expect((await gw.data(reader.token, MESSAGE, { id: carolsMessage })).message).toBeNull();
    // Carol leaves the group: every member is within the app's visibility now; she comes back: not any more.
    await gw.data(t.alice, REMOVE, { input: { id: mixedGroup, memberIds: [m.carol] } });
    expect((await gw.data(reader.token, GET, { id: mixedGroup })).conversation.name).toBe("Launch");
    expect((await listed(reader.token)).ids).toContain(mixedGroup);
    await gw.data(t.alice, ADD, { input: { id: mixedGroup, memberIds: [m.carol] } });
    expect((await gw.data(reader.token, GET, { id: mixedGroup })).conversation).toBeNull();
    expect((await listed(reader.token)).ids).not.toContain(mixedGroup);
  });

  it("other apps' APP conversations stay private; its own groups it reads as before", async () => {
    await gw.data(readerSender.token, SEND_APP, { input: { to: { memberIds: [m.alice] }, message: { text: { content: "Your payslip" } } } });
    const [appConversation] = await gw.sql<{ id: string }>(`SELECT id::text FROM conversation WHERE kind = 'APP' AND created_by_app_id = $1`, [
      readerSender.appPk,
    ]);
    const id = toGlobalId("Conversation", appConversation.id);
    expect((await gw.data(readerSender.token, GET, { id })).conversation.kind).toBe("APP");
    expect((await gw.data(reader.token, GET, { id })).conversation).toBeNull();
    expectOneError(await gw.gql(reader.token, HISTORY, { c: id }), "NOT_FOUND", "conversationId");
    expect((await listed(reader.token)).ids).not.toContain(id);
    // A group another app created, all of whose members it sees, it reads like any group.
    const deals = await group(readerSender.token, "Deals", [m.bob], m.alice);
    expect((await gw.data(reader.token, GET, { id: deals })).conversation.name).toBe("Deals");
    expect((await listed(readerSender.token)).ids).toEqual(expect.arrayContaining([id, deals, salesGroup, salesDirect]));
  });

  it("without messages:read, another corp's app, a member through the app: nothing", async () => {
    const noScope = await gw.gql(readerNoScope, GET, { id: salesGroup });
    expect(noScope.body.data).toEqual({ conversation: null });
    expectOneError(noScope, "FORBIDDEN");
    for (const res of [await gw.gql(readerNoScope, HISTORY, { c: salesGroup }), await gw.gql(readerNoScope, LIST, {})]) {
      expect(res.body.data ?? null).toBeNull();
      expectOneError(res, "FORBIDDEN");
    }
    expect((await gw.data(beta.token, GET, { id: salesGroup })).conversation).toBeNull();
    expectOneError(await gw.gql(beta.token, HISTORY, { c: salesGroup }), "NOT_FOUND", "conversationId");
    expect((await gw.data(beta.token, MESSAGE, { id: firstMessage })).message).toBeNull();
    expect((await listed(beta.token)).totalCount).toBe(0);
    // Dave (Sales, not in the group) signed in through the reading app reads by membership only.
    const daveThroughReader = gw.memberToken(corp.corpPk, { clientId: reader.clientId }, pk(m.dave), ["messages:read", "directory:read"]);
    expect((await gw.data(daveThroughReader, GET, { id: salesGroup })).conversation).toBeNull();
    expectOneError(await gw.gql(daveThroughReader, HISTORY, { c: salesGroup }), "NOT_FOUND", "conversationId");
    expect((await listed(daveThroughReader)).totalCount).toBe(0);
  });

  it("reading is not taking part: its writes are FORBIDDEN there (NOT_FOUND where it may not read), and write nothing", async () => {
    const input = (conversationId: string) => ({ conversationId, clientMessageId: `x-${++seq}`, text: { content: "from the app" } });
    await expectRefused(readerSender.token, SEND, input(salesGroup), "FORBIDDEN");
    await expectRefused(readerSender.token, SEND, input(salesDirect), "FORBIDDEN");
    await expectRefused(readerSender.token, SEND, input(mixedGroup), "NOT_FOUND", "input.conversationId");
    await expectRefused(readerSender.token, ADD, { id: salesGroup, memberIds: [m.dave] }, "FORBIDDEN");
    await expectRefused(readerSender.token, UPDATE, { id: salesGroup, name: "Renamed" }, "FORBIDDEN");
    await expectRefused(readerSender.token, RECALL, { id: firstMessage }, "FORBIDDEN");
    await expectRefused(readerSender.token, REMIND, { messageId: firstMessage }, "FORBIDDEN");
    await expectRefused(readerSender.token, MARK_READ, { conversationId: salesGroup, upToSeq: 1 }, "FORBIDDEN");
    await expectRefused(readerSender.token, BOT, { conversationId: salesGroup, name: "Bot" }, "FORBIDDEN");
    expect(
      await gw.sql(`SELECT count(*)::int AS n FROM message WHERE sender_app_id = $1 AND conversation_id = ANY($2::bigint[])`, [
        readerSender.appPk,
        [pk(salesGroup), pk(salesDirect), pk(mixedGroup)],
      ]),
    ).toEqual([{ n: 0 }]);
  });

  it("a 10,000-member group is read by one anti-join; one member outside hides it", async () => {
    const big = await group(t.alice, "Everyone in sales", [m.bob]);
    const rows = await gw.sql<{ id: string }>(
      `WITH m AS (INSERT INTO member (corp_id, employee_id, name, main_department_id, status)
                  SELECT $1, 'bulk-' || i, 'Bulk ' || i, $2, 'ACTIVE' FROM generate_series(1, 9998) AS i RETURNING id)
       INSERT INTO member_department (corp_id, member_id, department_id) SELECT $1, id, $2 FROM m RETURNING member_id::text AS id`,
      [corp.corpPk, pk(sales)],
    );
    await gw.sql(
      `INSERT INTO conversation_member (corp_id, conversation_id, member_id, role, read_seq, joined_at) SELECT $1, $2, unnest($3::bigint[]), 'MEMBER', 0, now()`,
      [corp.corpPk, pk(big), rows.map((r) => r.id)],
    );
    await gw.sql(`UPDATE conversation SET member_count = 10000 WHERE id = $1`, [pk(big)]);
    await send(t.alice, big, "All hands");
    const timed = async (token: string) => {
      await gw.data(token, HISTORY, { c: big });
      const start = process.hrtime.bigint();
      const data = await gw.data(token, HISTORY, { c: big });
      expect(data.messages.totalCount).toBe(1);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const asMember = await timed(t.alice);
    const asReader = await timed(reader.token);
    const listStart = process.hrtime.bigint();
    expect((await listed(reader.token)).ids).toContain(big);
    const listMs = Number(process.hrtime.bigint() - listStart) / 1e6;
    // Every member within visibility is the worst case: the anti-join reads all 10,000, by index.
    const params = new SqlParams();
    const [salesPath] = await gw.sql<{ path: string }>(`SELECT path FROM department WHERE id = $1`, [pk(sales)]);
    const principal = { member: null, scopes: new Set(["messages:read"]), visibleRoots: [salesPath.path] } as unknown as Principal;
    const id = params.add(pk(big));
    const explain = `EXPLAIN (ANALYZE, FORMAT JSON) SELECT ${everyMemberVisibleSql(principal, params, "c")} AS ok FROM conversation c WHERE c.corp_id = $1 AND c.id = ${id}`;
    await gw.sql(explain, [corp.corpPk, ...params.values]);
    const [plan] = await gw.sql<{ "QUERY PLAN": Untyped[] }>(explain, [corp.corpPk, ...params.values]);
    const check = plan["QUERY PLAN"][0]["Execution Time"] as number;
    expect(JSON.stringify(plan)).not.toMatch(/"Node Type":"Seq Scan"[^}]*"Relation Name":"(conversation_member|member_department)"/);
    process.stdout.write(
      `10,000-member group, messages(last: 20): as a member ${asMember.toFixed(1)} ms, as a reading app ${asReader.toFixed(1)} ms; the visibility check alone ${check.toFixed(1)} ms; conversations as the reading app ${listMs.toFixed(1)} ms\n`,
    );
    // One member outside (the newest one swapped for Carol, of Engineering): the group is gone for the app.
    await gw.sql(`UPDATE conversation_member SET member_id = $2 WHERE conversation_id = $1 AND member_id = $3`, [
      pk(big),
      pk(m.carol),
      rows[rows.length - 1].id,
    ]);
    expectOneError(await gw.gql(reader.token, HISTORY, { c: big }), "NOT_FOUND", "conversationId");
    expect((await listed(reader.token)).ids).not.toContain(big);
  });
});
