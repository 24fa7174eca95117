import { TestGateway, expectOneError, expectUnchanged, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import { RequestContext } from "../src/context";
import type { Message } from "../src/entities/message.entity";

/**
 * The compliance audit of messages (issue 14, item 8): corp administrators keep the sensitive
 * words; every message containing one (text, markdown, link card, vote, to-do, form; ignoring case
 * and full-width forms; from members, apps and robots) is recorded in its own transaction, rows
 * asserted in the database; `messageAuditHits` under the scope `messages:audit` only, for corp
 * administrators through a whole-corp app, with its filters and paging; another corp sees nothing.
 */

const SET_WORDS = `mutation($input: SetSensitiveWordsInput!) { setSensitiveWords(input: $input) { words count } }`;
const WORDS = `{ sensitiveWords }`;
const HITS = `query($filter: MessageAuditHitFilter, $first: Int, $after: String, $last: Int) {
  messageAuditHits(filter: $filter, first: $first, after: $after, last: $last) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id word seq occurredAt messageId conversationId sender { kind memberId appId botId member { employeeId } } }
  }
}`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;
const CREATE_BOT = `mutation($input: CreateGroupBotInput!) { createGroupBot(input: $input) { bot { id } webhookUrl } }`;

const AUDIT_TABLES = ["sensitive_word", "message_audit_hit", "audit_log"];

describe("compliance audit", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let messagingApp: TestApp;
  let auditApp: TestApp;
  let narrowAuditApp: TestApp;
  const m: Record<"admin" | "alice" | "bob", string> = { admin: "", alice: "", bob: "" };
  const t: Record<keyof typeof m, string> = { admin: "", alice: "", bob: "" };
  let g1: string;
  let g2: string;
  let seq = 0;

  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        AUDIT_TABLES.map(async (table) => [
          table,
          (await gw.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${table} x`))[0],
        ]),
      ),
    );
  async function refused(token: string, query: string, variables: Record<string, unknown>, code: string, field?: string) {
    const res = await expectUnchanged(snapshot, () => gw.gql(token, query, variables));
    expect(res.body.data ?? null).toBeNull();
    expectOneError(res, code, field);
  }
  const send = async (token: string, conversationId: string, content: Record<string, unknown>) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `c-${++seq}`, ...content } })).sendMessage.message;
  const hits = async (token: string, variables: Record<string, unknown> = {}) => (await gw.data(token, HITS, variables)).messageAuditHits;
  /** The hit rows, oldest first, as (message, word, sender) triples. */
  const rows = () =>
    gw.sql(
      `SELECT message_id::text AS message, conversation_id::text AS conversation, word, sender_member_id::text AS member, sender_app_id::text AS app, sender_bot_id::text AS bot
         FROM message_audit_hit WHERE corp_id = $1 ORDER BY id`,
      [corp.corpPk],
    );

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    const member = (employeeId: string, extra: Record<string, unknown> = {}) =>
      gw.createMember(corp.token, { employeeId, name: employeeId, departmentIds: [corp.rootId], status: "ACTIVE", ...extra });
    m.admin = await member("admin", { isCorpAdmin: true });
    m.alice = await member("alice");
    m.bob = await member("bob");
    for (const name of Object.keys(m) as Array<keyof typeof m>) t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    messagingApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"]);
    auditApp = await gw.createApp(corp.corpPk, ["messages:audit"]);
    const sales = await gw.createDepartment(corp.token, { name: "Sales" });
    narrowAuditApp = await gw.createApp(corp.corpPk, ["messages:audit"], [pk(sales)]);
    g1 = (await gw.data(t.alice, CREATE_GROUP, { input: { name: "One", memberIds: [m.bob] } })).createGroup.conversation.id;
    g2 = (await gw.data(messagingApp.token, CREATE_GROUP, { input: { name: "Two", ownerId: m.bob, memberIds: [m.alice] } })).createGroup.conversation.id;
    beta = await gw.createCorp("Beta");
  });
  afterAll(() => gw.stop());

  it("an administrator sets the words (validated, audited); ordinary members and apps without the scope may not", async () => {
    await refused(t.alice, SET_WORDS, { input: { words: ["secret"] } }, "FORBIDDEN");
    await refused(messagingApp.token, SET_WORDS, { input: { words: ["secret"] } }, "FORBIDDEN");
    await refused(narrowAuditApp.token, SET_WORDS, { input: { words: ["secret"] } }, "FORBIDDEN");
    await refused(t.admin, SET_WORDS, { input: { words: ["ok", ""] } }, "BAD_USER_INPUT", "input.words.1");
    await refused(t.admin, SET_WORDS, { input: { words: ["bell\u0007"] } }, "BAD_USER_INPUT", "input.words.0");
    await refused(t.admin, SET_WORDS, { input: { words: ["w".repeat(65)] } }, "BAD_USER_INPUT", "input.words.0");
    await refused(t.admin, SET_WORDS, { input: { words: ["Secret", "ＳＥＣＲＥＴ"] } }, "BAD_USER_INPUT", "input.words.1");
    await refused(t.admin, SET_WORDS, { input: { words: Array.from({ length: 1001 }, (_, i) => `w${i}`) } }, "BAD_USER_INPUT", "input.words");
    // NUL is refused before anything runs, naming the variable.
    const nul = await gw.gql(t.admin, SET_WORDS, { input: { words: ["a\u0000b"] } });
    expectOneError(nul, "BAD_USER_INPUT", "input.words");

    expect((await gw.data(t.admin, SET_WORDS, { input: { words: ["Project X", "leak"] } })).setSensitiveWords).toEqual({
      words: ["Project X", "leak"],
      count: 2,
    });
    expect((await gw.data(auditApp.token, SET_WORDS, { input: { words: ["Project X", "leak", "salary"] } })).setSensitiveWords.count).toBe(3);
    expect((await gw.data(t.admin, WORDS)).sensitiveWords).toEqual(["Project X", "leak", "salary"]);
    expect(await gw.sql(`SELECT action, member_id::text, detail FROM audit_log WHERE action = 'SENSITIVE_WORDS_SET' ORDER BY id`)).toEqual([
      { action: "SENSITIVE_WORDS_SET", member_id: pk(m.admin), detail: { count: 2, added: ["Project X", "leak"], removed: [] } },
      { action: "SENSITIVE_WORDS_SET", member_id: null, detail: { count: 3, added: ["salary"], removed: [] } },
    ]);
    expectOneError(await gw.gql(t.alice, WORDS), "FORBIDDEN");
  });

  it("records each word a message contains, in its transaction, whatever its kind or sender", async () => {
    const a1 = await send(t.alice, g1, { text: { content: "About project x: do not LEAK it" } });
    const b1 = await send(t.bob, g1, { markdown: { content: "**ＳＡＬＡＲＹ** review" } });
    await send(t.bob, g1, { text: { content: "nothing here" } });
    const card = await send(t.alice, g2, { linkCard: { url: "https://example.com/x", title: "Leak report", description: "quarterly" } });
    const vote = await send(t.alice, g2, { vote: { question: "Lunch?", options: ["Pizza", "salary talk"] } });
    const todo = await send(t.bob, g2, { todo: { title: "Plug the leak", assigneeIds: [m.alice] } });
    const form = await send(t.bob, g2, { form: { title: "Survey", fields: [{ label: "Your salary", type: "NUMBER" }] } });
    const app = await send(messagingApp.token, g2, { text: { content: "leak alert" } });
    const { webhookUrl } = (await gw.data(t.alice, CREATE_BOT, { input: { conversationId: g1, name: "Bot" } })).createGroupBot;
    const hook = await fetch(`${gw.url}${new URL(webhookUrl).pathname}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ msgtype: "text", text: { content: "robot mentions Project X" } }),
    });
    expect(await hook.json()).toEqual({ errcode: 0, errmsg: "ok" });
    const [botRow] = await gw.sql(`SELECT id::text AS id, (SELECT max(id)::text FROM message WHERE sender_bot_id IS NOT NULL) AS message FROM group_bot`);
    const member = (id: string) => ({ member: pk(id), app: null, bot: null });
    expect(await rows()).toEqual([
      { message: pk(a1.id), conversation: pk(g1), word: "Project X", ...member(m.alice) },
      { message: pk(a1.id), conversation: pk(g1), word: "leak", ...member(m.alice) },
      { message: pk(b1.id), conversation: pk(g1), word: "salary", ...member(m.bob) },
      { message: pk(card.id), conversation: pk(g2), word: "leak", ...member(m.alice) },
      { message: pk(vote.id), conversation: pk(g2), word: "salary", ...member(m.alice) },
      { message: pk(todo.id), conversation: pk(g2), word: "leak", ...member(m.bob) },
      { message: pk(form.id), conversation: pk(g2), word: "salary", ...member(m.bob) },
      { message: pk(app.id), conversation: pk(g2), word: "leak", member: null, app: messagingApp.appPk, bot: null },
      { message: botRow.message, conversation: pk(g1), word: "Project X", member: null, app: null, bot: botRow.id },
    ]);
    // A refused send records nothing.
    await expectUnchanged(rows, async () => {
      const res = await gw.gql(t.alice, SEND, {
        input: { conversationId: g1, clientMessageId: "bad", text: { content: "leak" }, markdown: { content: "leak" } },
      });
      expectOneError(res, "BAD_USER_INPUT", "input");
    });
  });

  it("messageAuditHits: with messages:audit, for administrators through a whole-corp app only", async () => {
    const all = await hits(t.admin, { first: 100 });
    expect(all.totalCount).toBe(9);
    expect(all.nodes[0]).toEqual({
      id: expect.any(String),
      word: "Project X",
      seq: 1,
      occurredAt: expect.any(String),
      messageId: expect.any(String),
      conversationId: g1,
      sender: { kind: "MEMBER", memberId: m.alice, appId: null, botId: null, member: { employeeId: "alice" } },
    });
    expect(all.nodes[8].sender).toMatchObject({ kind: "BOT", memberId: null, appId: null, botId: expect.any(String) });
    expect((await hits(auditApp.token)).totalCount).toBe(9);
    expectOneError(await gw.gql(t.alice, HITS, {}), "FORBIDDEN");
    expectOneError(await gw.gql(messagingApp.token, HITS, {}), "FORBIDDEN");
    expectOneError(await gw.gql(narrowAuditApp.token, HITS, {}), "FORBIDDEN");
    // A member token without the scope, even an administrator's.
    const adminWithoutScope = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m.admin), ["messages:read", "messages:send"]);
    const res = await gw.gql(adminWithoutScope, HITS, {});
    expectOneError(res, "FORBIDDEN");
    expect(res.body.errors![0].message).toContain("messages:audit");
  });

  it("filters by conversation, member, word and time; pages by cursor", async () => {
    const words = async (filter: Record<string, unknown>) => (await hits(t.admin, { filter, first: 100 })).nodes.map((n: Untyped) => n.word);
    expect(await words({ conversationId: g1 })).toEqual(["Project X", "leak", "salary", "Project X"]);
    expect(await words({ memberId: m.bob })).toEqual(["salary", "leak", "salary"]);
    expect(await words({ word: "LEAK" })).toEqual(["leak", "leak", "leak", "leak"]);
    expect(await words({ conversationId: g2, memberId: m.alice, word: "salary" })).toEqual(["salary"]);
    const times = (await hits(t.admin, { first: 100 })).nodes.map((n: Untyped) => n.occurredAt);
    expect(await words({ since: times[3] })).toHaveLength(6);
    expect(await words({ until: times[3] })).toHaveLength(3);
    expect(await words({ since: "2000-01-01T00:00:00Z", until: "2000-01-02T00:00:00Z" })).toEqual([]);
    expectOneError(await gw.gql(t.admin, HITS, { filter: { since: times[3], until: times[0] } }), "BAD_USER_INPUT", "filter.until");
    expectOneError(await gw.gql(t.admin, HITS, { filter: { memberId: "nope" } }), "BAD_USER_INPUT", "filter.memberId");

    const page1 = await hits(t.admin, { first: 4 });
    const page2 = await hits(t.admin, { first: 4, after: page1.pageInfo.endCursor });
    const page3 = await hits(t.admin, { first: 4, after: page2.pageInfo.endCursor });
    expect([page1.pageInfo.hasNextPage, page2.pageInfo.hasNextPage, page3.pageInfo.hasNextPage]).toEqual([true, true, false]);
    const all = (await hits(t.admin, { first: 100 })).nodes.map((n: Untyped) => n.id);
    expect([...page1.nodes, ...page2.nodes, ...page3.nodes].map((n: Untyped) => n.id)).toEqual(all);
    expect((await hits(t.admin, { last: 2 })).nodes.map((n: Untyped) => n.id)).toEqual(all.slice(-2));
    expect((await gw.gql(t.admin, HITS, { first: 4 })).cost).toMatchObject({ requestedQueryCost: expect.any(Number) });
  });

  it("a second corp sees nothing of the first, and its words are its own", async () => {
    expect(await hits(beta.token, { first: 100 })).toMatchObject({ totalCount: 0, nodes: [] });
    expect(await hits(beta.token, { filter: { conversationId: g1 } })).toMatchObject({ totalCount: 0, nodes: [] });
    expect((await gw.data(beta.token, WORDS)).sensitiveWords).toEqual([]);
    await gw.data(beta.token, SET_WORDS, { input: { words: ["leak"] } });
    expect((await gw.data(t.admin, WORDS)).sensitiveWords).toEqual(["Project X", "leak", "salary"]);
    const before = (await rows()).length;
    const betaMember = await gw.createMember(beta.token, { employeeId: "b", name: "b", departmentIds: [beta.rootId], status: "ACTIVE" });
    const betaToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
    const bg = (await gw.data(betaToken, CREATE_GROUP, { input: { name: "Beta", memberIds: [] } })).createGroup.conversation.id;
    await send(betaToken, bg, { text: { content: "a leak in beta" } });
    expect((await rows()).length).toBe(before);
    expect((await hits(beta.token)).nodes.map((n: Untyped) => n.word)).toEqual(["leak"]);
    expect((await hits(t.admin, { first: 100 })).totalCount).toBe(9);
  });

  it("an empty list ends the audit: later messages record nothing", async () => {
    await gw.data(t.admin, SET_WORDS, { input: { words: [] } });
    await expectUnchanged(rows, () => send(t.alice, g1, { text: { content: "leak leak" } }));
  });

  it("recordMany (for set-based sends): one statement for many messages, texts shared or not", async () => {
    const sent = [
      await send(t.alice, g1, { text: { content: "a LEAK" } }),
      await send(t.bob, g2, { text: { content: "a LEAK" } }),
      await send(t.bob, g2, { text: { content: "salary and leak" } }),
      await send(t.bob, g2, { image: { url: "https://example.com/leak.png" } }),
    ];
    await gw.data(t.admin, SET_WORDS, { input: { words: ["leak", "salary"] } });
    const messages = await gw.sql<Message>(
      `SELECT id::text AS pk, kind, content, conversation_id::text AS "conversationId" FROM message WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [sent.map((x) => pk(x.id))],
    );
    const ctx = new RequestContext(gw.deps, await gw.deps.tokens.authenticate(auditApp.token, "127.0.0.1"), "test");
    const mark = (await rows()).length;
    await ctx.transaction(() => gw.deps.services.messageAudit.recordMany(ctx, messages));
    expect(ctx.stats.statements).toBe(1);
    expect((await rows()).slice(mark).map((r: Untyped) => [r.message, r.word, r.member])).toEqual([
      [pk(sent[0].id), "leak", pk(m.alice)],
      [pk(sent[1].id), "leak", pk(m.bob)],
      [pk(sent[2].id), "leak", pk(m.bob)],
      [pk(sent[2].id), "salary", pk(m.bob)],
    ]);
  });
  it("invisible characters do not hide a word; a form's free-text answers are audited, the answering member as the sender", async () => {
    await gw.data(t.admin, SET_WORDS, { input: { words: ["leak", "salary"] } });
    const mark = (await rows()).length;
    const hidden = await send(t.alice, g1, { text: { content: "le\u200Bak and sal\u00ADary" } });
    const form = await send(t.alice, g1, {
      form: {
        title: "Survey",
        fields: [
          { label: "Comments", type: "TEXT" },
          { label: "Score", type: "NUMBER" },
        ],
      },
    });
    await gw.data(t.bob, `mutation($input: SubmitFormInput!) { submitForm(input: $input) { message { id } } }`, {
      input: {
        messageId: form.id,
        answers: [
          { fieldIndex: 0, text: "the LEAK came from finance" },
          { fieldIndex: 1, number: 3 },
        ],
      },
    });
    expect((await rows()).slice(mark)).toEqual([
      { message: pk(hidden.id), conversation: pk(g1), word: "leak", member: pk(m.alice), app: null, bot: null },
      { message: pk(hidden.id), conversation: pk(g1), word: "salary", member: pk(m.alice), app: null, bot: null },
      { message: pk(form.id), conversation: pk(g1), word: "leak", member: pk(m.bob), app: null, bot: null },
    ]);
  });
});
