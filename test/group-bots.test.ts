import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Client as WsClient } from "graphql-ws";
import { TestGateway, expectOneError, expectUnchanged, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import { MemoryBuckets } from "../src/ratelimit/bucket";
import { RateLimiter } from "../src/ratelimit/rate-limiter";

/**
 * Group robots (issue 14, item 7): a robot posts text and markdown into its group through
 * `POST /hooks/bots/:key` in WeCom's group-robot format (in history and live on messageEvents, the
 * robot as the sender); bad bodies get WeCom's errcodes; an unknown, rotated or removed key is
 * 93000 and writes nothing; the 21st post in a minute is 429 with Retry-After and 45009 (the
 * bucket's clock injected); keyword auto-replies answer a member's message once and never the
 * robot's own; who may manage robots; another corp cannot touch them.
 */

const SENDER = `sender { kind memberId appId botId bot { id name conversationId } }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const CREATE_BOT = `mutation($input: CreateGroupBotInput!) { createGroupBot(input: $input) { bot { id name conversationId createdAt keyIssuedAt } webhookUrl } }`;
const ROTATE = `mutation($input: RotateGroupBotKeyInput!) { rotateGroupBotKey(input: $input) { bot { id } webhookUrl } }`;
const REMOVE = `mutation($input: RemoveGroupBotInput!) { removeGroupBot(input: $input) { botId } }`;
const CREATE_RULE = `mutation($input: CreateAutoReplyRuleInput!) { createAutoReplyRule(input: $input) { rule { id keyword reply } } }`;
const REMOVE_RULE = `mutation($input: RemoveAutoReplyRuleInput!) { removeAutoReplyRule(input: $input) { ruleId bot { id } } }`;
const BOTS = `query($c: ID!) { groupBots(conversationId: $c) { totalCount nodes { id name } } }`;
const RULES = `query($b: ID!) { autoReplyRules(botId: $b) { totalCount nodes { keyword reply } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;
const MESSAGES = `query($c: ID!) { messages(conversationId: $c, last: 50) { nodes { seq kind content { ... on TextContent { content } ... on MarkdownContent { content } } ${SENDER} } } }`;
const EVENTS = `subscription($c: ID, $after: String) {
  messageEvents(conversationId: $c, after: $after) {
    type ... on MessageAdded { message { seq kind content { ... on TextContent { content } ... on MarkdownContent { content } } sender { kind botId } } }
  }
}`;

const BOT_TABLES = ["group_bot", "auto_reply_rule", "message", "event", "audit_log"];

describe("group robots", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let otherApp: TestApp;
  const m: Record<"owner" | "admin" | "member" | "outsider", string> = { owner: "", admin: "", member: "", outsider: "" };
  const t: Record<keyof typeof m, string> = { owner: "", admin: "", member: "", outsider: "" };
  let betaToken: string;
  let group: string;
  const clients: WsClient[] = [];
  let seq = 0;

  /** Every row of the robot and message tables: what a refused post or mutation must leave alone. */
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        BOT_TABLES.map(async (table) => [
          table,
          (await gw.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${table} x`))[0],
        ]),
      ),
    );

  /** POSTs `body` (a string as it is, anything else as JSON) to a webhook URL of the gateway. */
  async function hook(url: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) {
    const path = new URL(url).pathname;
    const res = await fetch(`${gw.url}${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Untyped };
  }
  const text = (content: string) => ({ msgtype: "text", text: { content } });

  async function refusedGql(
    token: string,
    query: string,
    variables: Record<string, unknown>,
    code: string,
    field?: string,
    details: Record<string, unknown> = {},
  ) {
    const res = await expectUnchanged(snapshot, () => gw.gql(token, query, variables));
    expect(res.body.data ?? null).toBeNull();
    expectOneError(res, code, field, undefined, details);
  }

  const createBot = async (token: string, conversationId: string, name: string) =>
    (await gw.data(token, CREATE_BOT, { input: { conversationId, name } })).createGroupBot as { bot: Untyped; webhookUrl: string };
  const send = (token: string, conversationId: string, content: string) =>
    gw.data(token, SEND, { input: { conversationId, clientMessageId: `c-${++seq}`, text: { content } } });
  const history = async (conversationId: string) => (await gw.data(t.owner, MESSAGES, { c: conversationId })).messages.nodes as Untyped[];

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    for (const name of Object.keys(m) as Array<keyof typeof m>) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [corp.rootId], status: "ACTIVE" });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    otherApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"]);
    group = (await gw.data(t.owner, CREATE_GROUP, { input: { name: "Ops", memberIds: [m.admin, m.member] } })).createGroup.conversation.id;
    await gw.data(t.owner, `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { conversation { id } } }`, {
      input: { id: group, adminIds: [m.admin] },
    });
    beta = await gw.createCorp("Beta");
    const betaMember = await gw.createMember(beta.token, { employeeId: "b1", name: "Beta One", departmentIds: [beta.rootId], status: "ACTIVE" });
    betaToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await gw.stop();
  });

  it("the owner creates a robot: the URL carries a key shown once and stored as a hash; audited", async () => {
    const { bot, webhookUrl } = await createBot(t.owner, group, "Alerts");
    expect(bot).toMatchObject({ name: "Alerts", conversationId: group });
    expect(webhookUrl).toMatch(/^http:\/\/workgraph\.test\/hooks\/bots\/[A-Za-z0-9_-]{43}$/);
    const key = webhookUrl.split("/").pop()!;
    const [row] = await gw.sql(`SELECT corp_id::text, conversation_id::text, key_hash, created_by_member_id::text, removed_at FROM group_bot WHERE id = $1`, [
      pk(bot.id),
    ]);
    expect(row).toEqual({
      corp_id: corp.corpPk,
      conversation_id: pk(group),
      key_hash: expect.stringMatching(/^sha256\$[0-9a-f]{64}$/),
      created_by_member_id: pk(m.owner),
      removed_at: null,
    });
    expect(JSON.stringify(row)).not.toContain(key);
    expect(await gw.sql(`SELECT action, member_id::text, detail->>'botId' AS bot FROM audit_log WHERE action = 'GROUP_BOT_CREATED'`)).toEqual([
      { action: "GROUP_BOT_CREATED", member_id: pk(m.owner), bot: pk(bot.id) },
    ]);
    // Members see the group's robots, never the URL.
    expect((await gw.data(t.member, BOTS, { c: group })).groupBots).toEqual({ totalCount: 1, nodes: [{ id: bot.id, name: "Alerts" }] });
  });

  it("posts text and markdown: in history with the robot as sender, live on messageEvents", async () => {
    const { bot, webhookUrl } = await createBot(t.admin, group, "Deploys");
    const after = await gw.eventMark(corp.corpPk);
    const client = gw.wsClient(t.member);
    clients.push(client);
    const live = gw.subscribe(client, EVENTS, { c: group, after });
    expect(await hook(webhookUrl, text("hello"))).toMatchObject({ status: 200, body: { errcode: 0, errmsg: "ok" } });
    // A bare `curl -d` (form content type) is read as JSON, as WeCom does.
    expect((await hook(webhookUrl, JSON.stringify({ msgtype: "markdown", markdown: { content: "**deployed** v2" } }), {})).body).toEqual({
      errcode: 0,
      errmsg: "ok",
    });
    const botSender = { kind: "BOT", memberId: null, appId: null, botId: bot.id, bot: { id: bot.id, name: "Deploys", conversationId: group } };
    expect((await history(group)).slice(-2)).toEqual([
      { seq: 1, kind: "TEXT", content: { content: "hello" }, sender: botSender },
      { seq: 2, kind: "MARKDOWN", content: { content: "**deployed** v2" }, sender: botSender },
    ]);
    expect(
      await gw.sql(`SELECT sender_member_id, sender_app_id, sender_bot_id::text FROM message WHERE conversation_id = $1 ORDER BY seq`, [pk(group)]),
    ).toEqual([
      { sender_member_id: null, sender_app_id: null, sender_bot_id: pk(bot.id) },
      { sender_member_id: null, sender_app_id: null, sender_bot_id: pk(bot.id) },
    ]);
    const events = await live.waitFor(2);
    expect(events.map((e) => e.data.messageEvents)).toEqual([
      { type: "MESSAGE_ADDED", message: { seq: 1, kind: "TEXT", content: { content: "hello" }, sender: { kind: "BOT", botId: bot.id } } },
      { type: "MESSAGE_ADDED", message: { seq: 2, kind: "MARKDOWN", content: { content: "**deployed** v2" }, sender: { kind: "BOT", botId: bot.id } } },
    ]);
    // Members have it unread.
    expect((await gw.data(t.member, `query($id: ID!) { conversation(id: $id) { unreadCount } }`, { id: group })).conversation.unreadCount).toBe(2);
  });

  it("bad bodies get WeCom's errcodes and write nothing", async () => {
    const { webhookUrl } = await createBot(t.owner, group, "Strict");
    const cases: Array<[unknown, number, number]> = [
      ["not json", 400, 40058],
      ["[1, 2]", 400, 40058],
      [{ text: { content: "no type" } }, 400, 40008],
      [{ msgtype: "image", image: { base64: "", md5: "" } }, 400, 40008],
      [{ msgtype: "text" }, 400, 40058],
      [{ msgtype: "text", text: {} }, 400, 44004],
      [{ msgtype: "text", text: { content: "   " } }, 400, 44004],
      [{ msgtype: "markdown", markdown: { content: 42 } }, 400, 40058],
      [{ msgtype: "text", text: { content: "bell \u0007" } }, 400, 40058],
      [{ msgtype: "text", text: { content: "nul \u0000" } }, 400, 40058],
      [{ msgtype: "text", text: { content: "x".repeat(4001) } }, 400, 40058],
      [{ msgtype: "text", text: { content: "hi", mentioned_list: "all" } }, 400, 40058],
    ];
    await expectUnchanged(snapshot, async () => {
      for (const [body, status, errcode] of cases) {
        const res = await hook(webhookUrl, body);
        expect({ body, status: res.status, errcode: res.body.errcode }).toEqual({ body, status, errcode });
        expect(typeof res.body.errmsg).toBe("string");
      }
      const latin1 = await fetch(`${gw.url}${new URL(webhookUrl).pathname}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.from('{"msgtype":"text","text":{"content":"caf\xe9"}}', "latin1"),
      });
      expect({ status: latin1.status, errcode: ((await latin1.json()) as Untyped).errcode }).toEqual({ status: 400, errcode: 40058 });
      const huge = await hook(webhookUrl, JSON.stringify(text("x".repeat(70_000))));
      expect({ status: huge.status, errcode: huge.body.errcode }).toEqual({ status: 413, errcode: 40058 });
    });
    // WeCom's mention lists are accepted (not acted on yet).
    expect((await hook(webhookUrl, { msgtype: "text", text: { content: "ping", mentioned_list: ["@all"] } })).body.errcode).toBe(0);
  });

  it("an unknown, rotated or removed key is 93000 (404) and writes nothing; the new key works", async () => {
    const { bot, webhookUrl } = await createBot(t.owner, group, "Rotating");
    const unknown = await expectUnchanged(snapshot, () => hook(`http://x/hooks/bots/${"A".repeat(43)}`, text("hi")));
    expect(unknown).toMatchObject({ status: 404, body: { errcode: 93000 } });
    const rotated = (await gw.data(t.owner, ROTATE, { input: { id: bot.id } })).rotateGroupBotKey;
    expect(rotated.webhookUrl).not.toBe(webhookUrl);
    const old = await expectUnchanged(snapshot, () => hook(webhookUrl, text("old key")));
    expect(old).toMatchObject({ status: 404, body: { errcode: 93000 } });
    expect((await hook(rotated.webhookUrl, text("new key"))).body.errcode).toBe(0);
    expect(await gw.sql(`SELECT action FROM audit_log WHERE action = 'GROUP_BOT_KEY_ROTATED' AND detail->>'botId' = $1`, [pk(bot.id)])).toHaveLength(1);
    // Removed: the key stops working, the robot leaves the list, its messages keep naming it.
    expect((await gw.data(t.owner, REMOVE, { input: { id: bot.id } })).removeGroupBot).toEqual({ botId: bot.id });
    expect(await expectUnchanged(snapshot, () => hook(rotated.webhookUrl, text("after removal")))).toMatchObject({ status: 404, body: { errcode: 93000 } });
    expect((await gw.data(t.owner, BOTS, { c: group })).groupBots.nodes.map((b: Untyped) => b.name)).not.toContain("Rotating");
    const posted = (await history(group)).filter((n) => n.sender.botId === bot.id);
    expect(posted.map((n) => [n.content.content, n.sender.bot.name])).toEqual([["new key", "Rotating"]]);
    await refusedGql(t.owner, ROTATE, { input: { id: bot.id } }, "NOT_FOUND", "input.id");
    await refusedGql(t.owner, REMOVE, { input: { id: bot.id } }, "NOT_FOUND", "input.id");
  });

  it("the 21st post within a minute is 429 with Retry-After and 45009, nothing written; the bucket refills", async () => {
    let now = Date.parse("2026-12-01T12:00:00Z");
    const original = gw.deps.rateLimiter;
    // The robot's bucket lives in the rate limiter's store: a store on a clock the test moves.
    gw.deps.rateLimiter = new RateLimiter(new MemoryBuckets(() => now));
    try {
      const { webhookUrl } = await createBot(t.owner, group, "Chatty");
      for (let i = 1; i <= 20; i++) {
        expect((await hook(webhookUrl, text(`n${i}`))).body.errcode).toBe(0);
      }
      const refused = await expectUnchanged(snapshot, () => hook(webhookUrl, text("n21")));
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("3");
      expect(refused.body).toEqual({ errcode: 45009, errmsg: expect.stringContaining("20 messages a minute") });
      // Another robot has a bucket of its own.
      const other = await createBot(t.owner, group, "Quiet");
      expect((await hook(other.webhookUrl, text("quiet"))).body.errcode).toBe(0);
      now += 3000; // one point back (20 a minute)
      expect((await hook(webhookUrl, text("n21"))).body.errcode).toBe(0);
      expect((await hook(webhookUrl, text("n22"))).status).toBe(429);
    } finally {
      gw.deps.rateLimiter = original;
    }
  });

  it("auto-replies pay from the robot's bucket: past 20 a minute the robot is silent, the member's message goes through", async () => {
    let now = Date.parse("2026-12-01T13:00:00Z");
    const original = gw.deps.rateLimiter;
    gw.deps.rateLimiter = new RateLimiter(new MemoryBuckets(() => now));
    try {
      const g = (await gw.data(t.owner, CREATE_GROUP, { input: { name: "Echo", memberIds: [m.member] } })).createGroup.conversation.id;
      const { bot, webhookUrl } = await createBot(t.owner, g, "Echo");
      await gw.data(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "ping", reply: "pong" } });
      for (let i = 1; i <= 19; i++) expect((await hook(webhookUrl, text(`post ${i}`))).body.errcode).toBe(0);
      await send(t.member, g, "ping 1"); // the 20th post of the minute: answered
      await send(t.member, g, "ping 2"); // the 21st: silence
      now += 3000;
      await send(t.member, g, "ping 3"); // one post refilled: answered
      const kinds = (await history(g)).slice(19).map((n) => [n.sender.kind, n.content.content]);
      expect(kinds).toEqual([
        ["MEMBER", "ping 1"],
        ["BOT", "pong"],
        ["MEMBER", "ping 2"],
        ["MEMBER", "ping 3"],
        ["BOT", "pong"],
      ]);
      expect((await hook(webhookUrl, text("over"))).status).toBe(429);
    } finally {
      gw.deps.rateLimiter = original;
    }
  });

  it("a keyword rule answers a member's message once, right after it; never the robot's own posts", async () => {
    const g = (await gw.data(t.owner, CREATE_GROUP, { input: { name: "Help", memberIds: [m.member] } })).createGroup.conversation.id;
    const { bot, webhookUrl } = await createBot(t.owner, g, "Helper");
    const rule = (await gw.data(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "VPN", reply: "See https://wiki/vpn (say vpn again?)" } }))
      .createAutoReplyRule.rule;
    expect(rule).toMatchObject({ keyword: "VPN", reply: "See https://wiki/vpn (say vpn again?)" });
    await gw.data(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "password", reply: "Reset it at https://id" } });
    // Full-width and upper case match; two keywords in one message: one reply (the first rule).
    const sent = await send(t.member, g, "My ＶＰＮ and PASSWORD are broken");
    const msgs = await history(g);
    expect(msgs.map((n) => [n.seq, n.sender.kind, n.content.content])).toEqual([
      [1, "MEMBER", "My ＶＰＮ and PASSWORD are broken"],
      [2, "BOT", "See https://wiki/vpn (say vpn again?)"],
    ]);
    expect(sent.sendMessage.message.seq).toBe(1);
    expect(await gw.sql(`SELECT client_message_id FROM message WHERE conversation_id = $1 AND seq = 2`, [pk(g)])).toEqual([
      { client_message_id: `auto-reply:${pk(sent.sendMessage.message.id)}` },
    ]);
    // The reply contains the keyword: no loop. The robot's webhook post with it: no reply either.
    expect((await hook(webhookUrl, text("vpn status: green"))).body.errcode).toBe(0);
    await send(t.member, g, "nothing to see");
    expect((await history(g)).map((n) => n.sender.kind)).toEqual(["MEMBER", "BOT", "BOT", "MEMBER"]);
    // Removing the rule stops the replies to it.
    const rules = (await gw.data(t.member, RULES, { b: bot.id })).autoReplyRules;
    expect(rules).toEqual({
      totalCount: 2,
      nodes: [
        { keyword: "VPN", reply: "See https://wiki/vpn (say vpn again?)" },
        { keyword: "password", reply: "Reset it at https://id" },
      ],
    });
    expect((await gw.data(t.owner, REMOVE_RULE, { input: { id: rule.id } })).removeAutoReplyRule).toEqual({ ruleId: rule.id, bot: { id: bot.id } });
    await send(t.member, g, "vpn?");
    expect((await history(g)).slice(-1).map((n) => n.sender.kind)).toEqual(["MEMBER"]);
    expect(await gw.sql(`SELECT action FROM audit_log WHERE action LIKE 'AUTO_REPLY_RULE_%' AND detail->>'botId' = $1 ORDER BY id`, [pk(bot.id)])).toEqual([
      { action: "AUTO_REPLY_RULE_CREATED" },
      { action: "AUTO_REPLY_RULE_CREATED" },
      { action: "AUTO_REPLY_RULE_REMOVED" },
    ]);
  });

  it("rule input is validated naming the field; duplicates CONFLICT", async () => {
    const { bot } = await createBot(t.owner, group, "Validated");
    await refusedGql(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "", reply: "x" } }, "BAD_USER_INPUT", "input.keyword");
    await refusedGql(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "two\nlines", reply: "x" } }, "BAD_USER_INPUT", "input.keyword");
    await refusedGql(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "k".repeat(33), reply: "x" } }, "BAD_USER_INPUT", "input.keyword");
    await refusedGql(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "ok", reply: " " } }, "BAD_USER_INPUT", "input.reply");
    await refusedGql(t.owner, CREATE_BOT, { input: { conversationId: group, name: "" } }, "BAD_USER_INPUT", "input.name");
    await refusedGql(t.owner, CREATE_BOT, { input: { conversationId: group, name: "Validated" } }, "CONFLICT", "input.name");
    await gw.data(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "Deploy", reply: "x" } });
    await refusedGql(t.owner, CREATE_RULE, { input: { botId: bot.id, keyword: "ＤＥＰＬＯＹ", reply: "y" } }, "CONFLICT", "input.keyword");
  });

  it("who may: owner, admins and the creating app manage; members, outsiders, other apps and another corp may not", async () => {
    const { bot, webhookUrl } = await createBot(t.owner, group, "Guarded");
    await refusedGql(t.member, CREATE_BOT, { input: { conversationId: group, name: "Mine" } }, "FORBIDDEN");
    await refusedGql(t.member, ROTATE, { input: { id: bot.id } }, "FORBIDDEN");
    await refusedGql(t.member, CREATE_RULE, { input: { botId: bot.id, keyword: "a", reply: "b" } }, "FORBIDDEN");
    await refusedGql(t.outsider, CREATE_BOT, { input: { conversationId: group, name: "Mine" } }, "NOT_FOUND", "input.conversationId");
    await refusedGql(t.outsider, REMOVE, { input: { id: bot.id } }, "NOT_FOUND", "input.id");
    expectOneError(await gw.gql(t.outsider, BOTS, { c: group }), "NOT_FOUND", "conversationId");
    // Another app of the corp (whole corp, messages:read) reads the group (issue 14, item 9) but does not manage it.
    await refusedGql(otherApp.token, ROTATE, { input: { id: bot.id } }, "FORBIDDEN");
    await refusedGql(betaToken, ROTATE, { input: { id: bot.id } }, "NOT_FOUND", "input.id");
    await refusedGql(betaToken, CREATE_RULE, { input: { botId: bot.id, keyword: "a", reply: "b" } }, "NOT_FOUND", "input.botId");
    await refusedGql(beta.token, REMOVE, { input: { id: bot.id } }, "NOT_FOUND", "input.id");
    expectOneError(await gw.gql(beta.token, RULES, { b: bot.id }), "NOT_FOUND", "botId");
    // Robots live in groups only.
    const direct = (
      await gw.data(t.owner, `mutation($input: OpenDirectConversationInput!) { openDirectConversation(input: $input) { conversation { id } } }`, {
        input: { memberId: m.member },
      })
    ).openDirectConversation.conversation.id;
    await refusedGql(t.owner, CREATE_BOT, { input: { conversationId: direct, name: "Nope" } }, "BAD_USER_INPUT", "input.conversationId");
    // Without messages:send: FORBIDDEN before anything else.
    const readOnly = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m.owner), ["messages:read"]);
    await refusedGql(readOnly, CREATE_BOT, { input: { conversationId: group, name: "RO" } }, "FORBIDDEN");
    // An app manages the robots of the groups it created.
    const appGroup = (await gw.data(otherApp.token, CREATE_GROUP, { input: { name: "App group", ownerId: m.owner, memberIds: [] } })).createGroup.conversation
      .id;
    const appBot = await createBot(otherApp.token, appGroup, "App bot");
    expect(await gw.sql(`SELECT created_by_app_id::text, created_by_member_id FROM group_bot WHERE id = $1`, [pk(appBot.bot.id)])).toEqual([
      { created_by_app_id: otherApp.appPk, created_by_member_id: null },
    ]);
    expect((await hook(appBot.webhookUrl, text("from the app's robot"))).body.errcode).toBe(0);
    // The refusals changed nothing: the robot still posts.
    expect((await hook(webhookUrl, text("still mine"))).body.errcode).toBe(0);
  });

  it("the README's example runs as written: a robot in the messaging example's group posts with curl", async () => {
    const readme = readFileSync(path.resolve(__dirname, "..", "README.md"), "utf8");
    const from = readme.indexOf("## Messaging (first slice");
    const section = readme.slice(from, readme.indexOf("\n## ", from + 1));
    const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((x) => x[1]);
    // The section's first block (the group, `gql`, `pick`), then the robot's.
    const [messaging, robots] = [blocks[0], blocks.find((b) => b.includes("createGroupBot"))!];
    expect(robots).toContain(`curl -X POST "$WEBHOOK" -H 'content-type: application/json' -d '{"msgtype":"text","text":{"content":"hello"}}'`);
    const readmeCorp = await gw.createCorp("Readme");
    // The test gateway's PUBLIC_URL is not its address: the URL the robot got is pointed at it.
    const robotsHere = robots.replace(/^(WEBHOOK=.*)$/m, `$1\nWEBHOOK=\${WEBHOOK/http:\\/\\/workgraph.test/${gw.url.replaceAll("/", "\\/")}}`);
    const script = ["set -euo pipefail", messaging, robotsHere].join("\n").replaceAll("http://localhost:4000", gw.url);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { env: { ...process.env, TOKEN: readmeCorp.token } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    // curl writes its progress meter to stderr (the README's command is not silenced): the exit code tells.
    expect({ code: result.code, stderr: result.code === 0 ? "" : result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout.trim().split("\n").pop()).toBe('{"errcode":0,"errmsg":"ok"}');
    expect(
      await gw.sql(`SELECT m.kind, m.content, b.name FROM message m JOIN group_bot b ON b.id = m.sender_bot_id WHERE m.corp_id = $1`, [readmeCorp.corpPk]),
    ).toEqual([{ kind: "TEXT", content: { content: "hello" }, name: "Deal bot" }]);
  });

  it("at most 10 robots a group", async () => {
    const g = (await gw.data(t.owner, CREATE_GROUP, { input: { name: "Crowded", memberIds: [] } })).createGroup.conversation.id;
    for (let i = 1; i <= 10; i++) {
      await createBot(t.owner, g, `Bot ${i}`);
    }
    await refusedGql(t.owner, CREATE_BOT, { input: { conversationId: g, name: "Bot 11" } }, "LIMIT_EXCEEDED", "input.conversationId", { maximum: 10 });
  });
});

const REDIS_URL = process.env.REDIS_URL;

(REDIS_URL ? describe : describe.skip)("a robot's bucket across two instances sharing Redis", () => {
  let gw: TestGateway;
  let second: { url: string; stop: () => Promise<void> };
  beforeAll(async () => {
    gw = await TestGateway.start({ REDIS_URL: REDIS_URL! });
    second = await gw.sibling({ REDIS_URL: REDIS_URL! });
  });
  afterAll(async () => {
    await second.stop();
    await gw.stop();
  });

  it("30 concurrent posts split over both instances admit 20 (plus what refilled meanwhile), the rest 429 / 45009", async () => {
    const corp = await gw.createCorp("Shared robot");
    const owner = await gw.createMember(corp.token, { employeeId: "o", name: "Owner", departmentIds: [corp.rootId], status: "ACTIVE" });
    const token = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(owner));
    const group = (await gw.data(token, CREATE_GROUP, { input: { name: "Shared", memberIds: [] } })).createGroup.conversation.id;
    const { webhookUrl } = (await gw.data(token, CREATE_BOT, { input: { conversationId: group, name: "Busy" } })).createGroupBot;
    const path = new URL(webhookUrl).pathname;
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${i % 2 ? second.url : gw.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ msgtype: "text", text: { content: `n${i}` } }),
        });
        return { status: res.status, body: (await res.json()) as Untyped };
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    const admitted = responses.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(20 + Math.floor(elapsed / 3));
    expect(responses.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.body.errcode === 45009)).toBe(true);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = $1`, [pk(group)])).toEqual([{ n: admitted }]);
  });
});
