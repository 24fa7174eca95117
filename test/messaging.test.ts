import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { TestGateway, expectOneError, expectUnchanged, pk, type GqlResponse, type TestApp, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";
import type { Clock } from "../src/services/clock";

/**
 * Messaging, first slice (issue 14): groups and direct conversations, sending every kind of message
 * with its validation, idempotent sends, recall within 24 hours (injected clock), read pointers and
 * unread counts, per-member settings, votes / to-dos / forms counted once per member under
 * concurrency, the 10,000-member limit, and who sees what: members of the conversation only, apps
 * the conversations they created, nothing across corps or outside an app's visibility.
 */

const CONVERSATION = `id kind name memberCount lastSeq unreadCount readSeq myRole settings { pinned muted archived } owner { employeeId }`;
const MESSAGE = `id seq kind clientMessageId recalledAt sender { kind memberId appId member { employeeId } }
  content {
    __typename
    ... on TextContent { content }
    ... on MarkdownContent { content }
    ... on ImageContent { url name width height sizeBytes }
    ... on FileContent { url name sizeBytes mimeType }
    ... on LinkCardContent { url title description imageUrl }
    ... on TodoContent { title dueAt doneCount assignees { memberId done member { employeeId } } }
    ... on VoteContent { question multiple closesAt closed voterCount myChoices options { index text votes } }
    ... on FormContent { title submissionCount fields { index label type required options } myAnswers { fieldIndex text number choices } }
  }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { ${CONVERSATION} } } }`;
const UPDATE_GROUP = `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { conversation { ${CONVERSATION} } } }`;
const ADD_MEMBERS = `mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount conversation { memberCount } } }`;
const REMOVE_MEMBERS = `mutation($input: RemoveGroupMembersInput!) { removeGroupMembers(input: $input) { removedCount conversation { memberCount } } }`;
const LEAVE_GROUP = `mutation($input: LeaveGroupInput!) { leaveGroup(input: $input) { conversationId } }`;
const OPEN_DIRECT = `mutation($input: OpenDirectConversationInput!) { openDirectConversation(input: $input) { conversation { ${CONVERSATION} } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { ${MESSAGE} } } }`;
const RECALL = `mutation($input: RecallMessageInput!) { recallMessage(input: $input) { message { ${MESSAGE} } } }`;
const MARK_READ = `mutation($input: MarkReadInput!) { markRead(input: $input) { conversation { lastSeq readSeq unreadCount } } }`;
const SETTINGS = `mutation($input: SetConversationSettingsInput!) { setConversationSettings(input: $input) { conversation { settings { pinned muted archived } } } }`;
const CAST_VOTE = `mutation($input: CastVoteInput!) { castVote(input: $input) { message { ${MESSAGE} } } }`;
const COMPLETE_TODO = `mutation($input: CompleteTodoInput!) { completeTodo(input: $input) { message { ${MESSAGE} } } }`;
const SUBMIT_FORM = `mutation($input: SubmitFormInput!) { submitForm(input: $input) { message { ${MESSAGE} } } }`;
const GET_CONVERSATION = `query($id: ID!) { conversation(id: $id) { ${CONVERSATION} } }`;
const LIST_CONVERSATIONS = `query($filter: ConversationFilter, $first: Int, $after: String) {
  conversations(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name kind unreadCount settings { pinned archived } } } }`;
const MESSAGES = `query($c: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  messages(conversationId: $c, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { seq content { ... on TextContent { content } } } } } }`;

const MESSAGING_TABLES = ["conversation", "conversation_member", "message", "message_ballot", "message_todo_done", "message_form_submission", "event"];

describe("messaging", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let salesApp: TestApp;
  let sales: string;
  let eng: string;
  /** Member ids. */
  const m: Record<"alice" | "bob" | "carol" | "dave" | "erin", string> = { alice: "", bob: "", carol: "", dave: "", erin: "" };
  /** Member tokens (through the administrator app, every scope). */
  const t: Record<keyof typeof m | "aliceReadOnly", string> = { alice: "", bob: "", carol: "", dave: "", erin: "", aliceReadOnly: "" };
  let betaMemberToken: string;

  /**
   * Every messaging row of every corp and the event log, as a count and a digest per table (computed
   * by PostgreSQL: the 10,000-member group makes whole rows slow to compare): what a refused write
   * must leave alone.
   */
  const snapshot = async () => {
    const rows = await Promise.all(
      MESSAGING_TABLES.map((table) =>
        gw.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS digest FROM ${table} x`),
      ),
    );
    return Object.fromEntries(MESSAGING_TABLES.map((table, i) => [table, rows[i][0]]));
  };

  /** A write that must be refused with `code` (and `field`), leaving every messaging row as it was. */
  async function expectRefused(token: string, query: string, variables: Record<string, unknown>, code: string, field?: string): Promise<GqlResponse> {
    const res = await expectUnchanged(snapshot, () => gw.gql(token, query, variables));
    // A NUL in the variables is refused before execution (`limits/text-input.ts`): no `data` at all.
    expect(res.body.data ?? null).toBeNull();
    expectOneError(res, code, field);
    return res;
  }

  const group = async (token: string, name: string, memberIds: string[], ownerId?: string) =>
    (await gw.data(token, CREATE_GROUP, { input: { name, memberIds, ...(ownerId ? { ownerId } : {}) } })).createGroup.conversation;
  let seq = 0;
  const send = async (token: string, conversationId: string, content: Record<string, unknown>, clientMessageId = `c-${++seq}`) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId, ...content } })).sendMessage.message;
  const conversationAs = async (token: string, id: string) => (await gw.data(token, GET_CONVERSATION, { id })).conversation;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    sales = await gw.createDepartment(corp.token, { name: "Sales" });
    eng = await gw.createDepartment(corp.token, { name: "Engineering" });
    const member = (employeeId: string, name: string, departmentId: string) =>
      gw.createMember(corp.token, { employeeId, name, departmentIds: [departmentId], status: "ACTIVE" });
    m.alice = await member("alice", "Alice Sales", sales);
    m.bob = await member("bob", "Bob Sales", sales);
    m.carol = await member("carol", "Carol Eng", eng);
    m.dave = await member("dave", "Dave Sales", sales);
    m.erin = await member("erin", "Erin Eng", eng);
    const app = { clientId: corp.clientId };
    for (const name of Object.keys(m) as Array<keyof typeof m>) t[name] = gw.memberToken(corp.corpPk, app, pk(m[name]));
    t.aliceReadOnly = gw.memberToken(corp.corpPk, app, pk(m.alice), ["messages:read", "directory:read"]);
    salesApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"], [pk(sales)]);
    beta = await gw.createCorp("Beta");
    const betaRoot = beta.rootId;
    const betaMember = await gw.createMember(beta.token, { employeeId: "alice", name: "Alice Beta", departmentIds: [betaRoot], status: "ACTIVE" });
    betaMemberToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
  });
  afterAll(() => gw.stop());

  describe("groups", () => {
    it("a member creates a group they own; rows, roles and the event are written", async () => {
      const mark = await gw.eventMark(corp.corpPk);
      const created = await group(t.alice, "Launch", [m.bob, m.carol, m.bob]);
      expect(created).toEqual({
        id: expect.any(String),
        kind: "GROUP",
        name: "Launch",
        memberCount: 3,
        lastSeq: 0,
        unreadCount: 0,
        readSeq: 0,
        myRole: "OWNER",
        settings: { pinned: false, muted: false, archived: false },
        owner: { employeeId: "alice" },
      });
      expect(
        await gw.sql(`SELECT corp_id::text, kind, name, owner_id::text, created_by_app_id, member_count, last_seq::text FROM conversation WHERE id = $1`, [
          pk(created.id),
        ]),
      ).toEqual([{ corp_id: corp.corpPk, kind: "GROUP", name: "Launch", owner_id: pk(m.alice), created_by_app_id: null, member_count: 3, last_seq: "0" }]);
      expect(
        await gw.sql(`SELECT member_id::text, role, read_seq::text, corp_id::text FROM conversation_member WHERE conversation_id = $1 ORDER BY member_id`, [
          pk(created.id),
        ]),
      ).toEqual(
        [
          { member_id: pk(m.alice), role: "OWNER", read_seq: "0", corp_id: corp.corpPk },
          { member_id: pk(m.bob), role: "MEMBER", read_seq: "0", corp_id: corp.corpPk },
          { member_id: pk(m.carol), role: "MEMBER", read_seq: "0", corp_id: corp.corpPk },
        ].sort((a, b) => Number(a.member_id) - Number(b.member_id)),
      );
      expect(
        await gw.sql(`SELECT stream, type, subject_type, subject_id::text, audience FROM event WHERE corp_id = $1 AND id > $2`, [corp.corpPk, mark]),
      ).toEqual([
        {
          stream: "messages",
          type: "CONVERSATION_CREATED",
          subject_type: "Conversation",
          subject_id: pk(created.id),
          audience: [`conversation:${pk(created.id)}`],
        },
      ]);
      // Its members see it; others do not.
      expect((await conversationAs(t.bob, created.id)).myRole).toBe("MEMBER");
      expect(await conversationAs(t.dave, created.id)).toBeNull();
    });

    it("a resigned member cannot join a group or a direct conversation", async () => {
      const gone = await gw.createMember(corp.token, { employeeId: "gone", name: "Gone Away", departmentIds: [sales], status: "RESIGNED" });
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "With gone", memberIds: [gone] } }, "BAD_USER_INPUT", "input.memberIds");
      await expectRefused(t.alice, OPEN_DIRECT, { input: { memberId: gone } }, "BAD_USER_INPUT", "input.memberId");
      const g = await group(t.alice, "Without gone", []);
      await expectRefused(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: [gone] } }, "BAD_USER_INPUT", "input.memberIds");
    });

    it("refuses bad names, owners and members, changing nothing", async () => {
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: " Padded", memberIds: [] } }, "BAD_USER_INPUT", "input.name");
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "x".repeat(65), memberIds: [] } }, "BAD_USER_INPUT", "input.name");
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "Bell\u0007", memberIds: [] } }, "BAD_USER_INPUT", "input.name");
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "Mine", ownerId: m.bob, memberIds: [] } }, "BAD_USER_INPUT", "input.ownerId");
      await expectRefused(corp.token, CREATE_GROUP, { input: { name: "No owner", memberIds: [m.bob] } }, "BAD_USER_INPUT", "input.ownerId");
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "Stranger", memberIds: [toGlobalId("Member", "999999")] } }, "NOT_FOUND", "input.memberIds");
      await expectRefused(t.alice, CREATE_GROUP, { input: { name: "Bad id", memberIds: ["nope"] } }, "BAD_USER_INPUT", "input.memberIds");
      await expectRefused(t.aliceReadOnly, CREATE_GROUP, { input: { name: "No scope", memberIds: [] } }, "FORBIDDEN");
    });

    it("owner and admins manage; plain members and outsiders may not", async () => {
      const g = await group(t.alice, "Managed", [m.bob, m.carol]);
      await expectRefused(t.bob, UPDATE_GROUP, { input: { id: g.id, name: "Mine now" } }, "FORBIDDEN");
      await expectRefused(t.dave, UPDATE_GROUP, { input: { id: g.id, name: "Not mine" } }, "NOT_FOUND", "input.id");
      await expectRefused(t.bob, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.dave] } }, "FORBIDDEN");
      const promoted = await gw.data(t.alice, UPDATE_GROUP, { input: { id: g.id, name: "Managed 2", adminIds: [m.bob] } });
      expect(promoted.updateGroup.conversation).toMatchObject({ name: "Managed 2", memberCount: 3 });
      // An admin adds and removes plain members, but neither admins nor the owner, nor names admins.
      expect((await gw.data(t.bob, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.dave, m.bob] } })).addGroupMembers).toEqual({
        addedCount: 1,
        conversation: { memberCount: 4 },
      });
      await expectRefused(t.bob, UPDATE_GROUP, { input: { id: g.id, adminIds: [m.dave] } }, "FORBIDDEN");
      await expectRefused(t.bob, REMOVE_MEMBERS, { input: { id: g.id, memberIds: [m.alice] } }, "BAD_USER_INPUT", "input.memberIds");
      expect((await gw.data(t.bob, REMOVE_MEMBERS, { input: { id: g.id, memberIds: [m.dave, m.erin] } })).removeGroupMembers).toEqual({
        removedCount: 1,
        conversation: { memberCount: 3 },
      });
      expect(await conversationAs(t.dave, g.id)).toBeNull();
      // The owner cannot leave before handing the group over; then they can.
      await expectRefused(t.alice, LEAVE_GROUP, { input: { id: g.id } }, "BAD_USER_INPUT", "input.id");
      const handed = await gw.data(t.alice, UPDATE_GROUP, { input: { id: g.id, ownerId: m.carol } });
      expect(handed.updateGroup.conversation).toMatchObject({ myRole: "ADMIN", owner: { employeeId: "carol" } });
      expect((await gw.data(t.alice, LEAVE_GROUP, { input: { id: g.id } })).leaveGroup).toEqual({ conversationId: g.id });
      expect(await conversationAs(t.alice, g.id)).toBeNull();
      expect(await gw.sql(`SELECT member_count FROM conversation WHERE id = $1`, [pk(g.id)])).toEqual([{ member_count: 2 }]);
      expect(
        await gw.sql(`SELECT type, data FROM event WHERE stream = 'messages' AND subject_id = $1 AND type = 'MEMBERSHIP_CHANGED' ORDER BY id`, [pk(g.id)]),
      ).toEqual([
        { type: "MEMBERSHIP_CHANGED", data: { added: [pk(m.dave)], removed: [] } },
        { type: "MEMBERSHIP_CHANGED", data: { added: [], removed: [pk(m.dave)] } },
        { type: "MEMBERSHIP_CHANGED", data: { added: [], removed: [pk(m.alice)] } },
      ]);
    });

    it("the 10,001st member is LIMIT_EXCEEDED, the 10,000th is not", async () => {
      // 9,998 more members in the corp, arranged in SQL; they join through the API, 1,000 a call.
      const bulk = await gw.sql<{ id: string }>(
        `WITH m AS (INSERT INTO member (corp_id, employee_id, name, main_department_id, status)
                    SELECT $1, 'bulk-' || i, 'Bulk ' || i, $2, 'ACTIVE' FROM generate_series(1, 9998) AS i RETURNING id)
         INSERT INTO member_department (corp_id, member_id, department_id) SELECT $1, id, $2 FROM m RETURNING member_id::text AS id`,
        [corp.corpPk, pk(sales)],
      );
      const ids = bulk.map((r) => toGlobalId("Member", r.id));
      const g = await group(t.alice, "Ten thousand", [m.bob]);
      for (let i = 0; i < ids.length; i += 1000) {
        await gw.data(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: ids.slice(i, i + 1000) } });
      }
      expect((await conversationAs(t.alice, g.id)).memberCount).toBe(10_000);
      const res = await expectRefused(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.carol] } }, "LIMIT_EXCEEDED", "input.memberIds");
      expect(res.body.errors![0].message).toBe("A group has at most 10,000 members; it has 10,000 and this adds 1.");
      expect(await gw.sql(`SELECT count(*)::int AS n FROM conversation_member WHERE conversation_id = $1`, [pk(g.id)])).toEqual([{ n: 10_000 }]);
      // Naming members already in the group adds nothing and is not over the limit.
      expect((await gw.data(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.bob] } })).addGroupMembers.addedCount).toBe(0);
      // More than 1,000 in one call is refused before anything else.
      await expectRefused(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: ids.slice(0, 1001) } }, "BAD_USER_INPUT", "input.memberIds");
      // Unread counts stay O(1): one pointer per member, no row per message per reader.
      await send(t.alice, g.id, { text: { content: "Hello, everyone" } });
      expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = $1`, [pk(g.id)])).toEqual([{ n: 1 }]);
      expect((await conversationAs(t.bob, g.id)).unreadCount).toBe(1);
    }, 120_000);
  });

  describe("direct conversations", () => {
    it("get-or-create: one conversation per pair, also when both open it at once", async () => {
      const [a, b] = await Promise.all([
        gw.data(t.carol, OPEN_DIRECT, { input: { memberId: m.erin } }),
        gw.data(t.erin, OPEN_DIRECT, { input: { memberId: m.carol } }),
      ]);
      expect(a.openDirectConversation.conversation.id).toBe(b.openDirectConversation.conversation.id);
      expect(a.openDirectConversation.conversation).toMatchObject({ kind: "DIRECT", name: null, memberCount: 2, myRole: "MEMBER", owner: null });
      const again = await gw.data(t.carol, OPEN_DIRECT, { input: { memberId: m.erin } });
      expect(again.openDirectConversation.conversation.id).toBe(a.openDirectConversation.conversation.id);
      const [low, high] = [pk(m.carol), pk(m.erin)].sort((x, y) => Number(x) - Number(y));
      expect(await gw.sql(`SELECT kind, direct_key, member_count FROM conversation WHERE corp_id = $1 AND kind = 'DIRECT'`, [corp.corpPk])).toEqual([
        { kind: "DIRECT", direct_key: `${low}:${high}`, member_count: 2 },
      ]);
      expect(await conversationAs(t.alice, a.openDirectConversation.conversation.id)).toBeNull();
    });

    it("refuses yourself, strangers and apps", async () => {
      await expectRefused(t.carol, OPEN_DIRECT, { input: { memberId: m.carol } }, "BAD_USER_INPUT", "input.memberId");
      await expectRefused(t.carol, OPEN_DIRECT, { input: { memberId: toGlobalId("Member", "999999") } }, "NOT_FOUND", "input.memberId");
      await expectRefused(corp.token, OPEN_DIRECT, { input: { memberId: m.carol } }, "FORBIDDEN");
    });
  });

  describe("sending", () => {
    let g: Untyped;
    beforeAll(async () => {
      g = await group(t.alice, "Sending", [m.bob, m.carol]);
    });

    it("numbers messages 1, 2, 3 and keeps unread counts per member", async () => {
      const first = await send(t.alice, g.id, { text: { content: "Line one\nline two\twith a tab" } }, "k-1");
      expect(first).toEqual({
        id: expect.any(String),
        seq: 1,
        kind: "TEXT",
        clientMessageId: "k-1",
        recalledAt: null,
        sender: { kind: "MEMBER", memberId: m.alice, appId: null, member: { employeeId: "alice" } },
        content: { __typename: "TextContent", content: "Line one\nline two\twith a tab" },
      });
      expect((await send(t.bob, g.id, { markdown: { content: "**bold**" } })).seq).toBe(2);
      expect((await send(t.alice, g.id, { linkCard: { url: "https://example.com/a?b=c", title: "A card" } })).content).toEqual({
        __typename: "LinkCardContent",
        url: "https://example.com/a?b=c",
        title: "A card",
        description: null,
        imageUrl: null,
      });
      // A sender has read what they sent; the others have not.
      expect((await conversationAs(t.alice, g.id)).unreadCount).toBe(0);
      expect((await conversationAs(t.alice, g.id)).readSeq).toBe(3);
      expect((await conversationAs(t.bob, g.id)).unreadCount).toBe(1);
      expect((await conversationAs(t.carol, g.id)).unreadCount).toBe(3);
      expect(
        await gw.sql(`SELECT seq::text, kind, content, sender_member_id::text, sender_app_id FROM message WHERE conversation_id = $1 ORDER BY seq`, [pk(g.id)]),
      ).toEqual([
        { seq: "1", kind: "TEXT", content: { content: "Line one\nline two\twith a tab" }, sender_member_id: pk(m.alice), sender_app_id: null },
        { seq: "2", kind: "MARKDOWN", content: { content: "**bold**" }, sender_member_id: pk(m.bob), sender_app_id: null },
        {
          seq: "3",
          kind: "LINK_CARD",
          content: { url: "https://example.com/a?b=c", title: "A card", description: null, imageUrl: null },
          sender_member_id: pk(m.alice),
          sender_app_id: null,
        },
      ]);
      // markRead moves forward only, never past the newest message.
      expect((await gw.data(t.carol, MARK_READ, { input: { conversationId: g.id, upToSeq: 2 } })).markRead.conversation).toEqual({
        lastSeq: 3,
        readSeq: 2,
        unreadCount: 1,
      });
      expect((await gw.data(t.carol, MARK_READ, { input: { conversationId: g.id, upToSeq: 1 } })).markRead.conversation).toEqual({
        lastSeq: 3,
        readSeq: 2,
        unreadCount: 1,
      });
      await expectRefused(t.carol, MARK_READ, { input: { conversationId: g.id, upToSeq: 4 } }, "BAD_USER_INPUT", "input.upToSeq");
      await expectRefused(t.carol, MARK_READ, { input: { conversationId: g.id, upToSeq: -1 } }, "BAD_USER_INPUT", "input.upToSeq");
      await expectRefused(corp.token, MARK_READ, { input: { conversationId: g.id, upToSeq: 1 } }, "FORBIDDEN");
      await expectRefused(t.dave, MARK_READ, { input: { conversationId: g.id, upToSeq: 1 } }, "NOT_FOUND", "input.conversationId");
    });

    it("is idempotent on (sender, conversation, clientMessageId): the same content returns the original, other content is CONFLICT", async () => {
      const original = await send(t.bob, g.id, { text: { content: "Once" } }, "retry-1");
      const events = await gw.sql(`SELECT count(*)::int AS n FROM event WHERE stream = 'messages'`);
      const again = await send(t.bob, g.id, { text: { content: "Once" } }, "retry-1");
      expect(again).toEqual(original);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM event WHERE stream = 'messages'`)).toEqual(events);
      await expectRefused(
        t.bob,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "retry-1", text: { content: "Twice" } } },
        "CONFLICT",
        "input.clientMessageId",
      );
      await expectRefused(
        t.bob,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "retry-1", markdown: { content: "Once" } } },
        "CONFLICT",
        "input.clientMessageId",
      );
      // Another sender may use the same key.
      expect((await send(t.alice, g.id, { text: { content: "Once" } }, "retry-1")).seq).toBe(original.seq + 1);
      // Concurrent repeats: one message.
      const same = await Promise.all([1, 2, 3, 4].map(() => send(t.carol, g.id, { text: { content: "Race" } }, "race-1")));
      expect(new Set(same.map((s) => s.id)).size).toBe(1);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = $1 AND client_message_id = 'race-1'`, [pk(g.id)])).toEqual([
        { n: 1 },
      ]);
      // Sequence numbers have no gaps.
      expect(await gw.sql(`SELECT count(*)::int AS n, max(seq)::int AS top FROM message WHERE conversation_id = $1`, [pk(g.id)])).toEqual([{ n: 6, top: 6 }]);
    });

    it("takes exactly one content field and checks each, naming the field; nothing is written", async () => {
      const input = (content: Record<string, unknown>) => ({ input: { conversationId: g.id, clientMessageId: `bad-${++seq}`, ...content } });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{}, "input"],
        [{ text: { content: "a" }, markdown: { content: "b" } }, "input"],
        [{ text: { content: "" } }, "input.text.content"],
        [{ text: { content: "   " } }, "input.text.content"],
        [{ text: { content: "x".repeat(4001) } }, "input.text.content"],
        [{ text: { content: "nul \u0000 here" } }, "input.text.content"],
        [{ text: { content: "bell \u0007" } }, "input.text.content"],
        [{ text: { content: "lone \ud800 surrogate" } }, "input.text.content"],
        [{ markdown: { content: "esc \u001b[31m" } }, "input.markdown.content"],
        [{ image: { url: "http://example.com/a.png" } }, "input.image.url"],
        [{ image: { url: "javascript:alert(1)" } }, "input.image.url"],
        [{ image: { url: "https://user:pw@example.com/a.png" } }, "input.image.url"],
        [{ image: { url: "https://example.com/a.png", width: 0 } }, "input.image.width"],
        [{ file: { url: "https://example.com/f", name: "" } }, "input.file.name"],
        [{ file: { url: "https://example.com/f", name: "f.pdf", sizeBytes: 1.5 } }, "input.file.sizeBytes"],
        [{ file: { url: "https://example.com/f", name: "f.pdf", mimeType: "pdf" } }, "input.file.mimeType"],
        [{ linkCard: { url: "ftp://example.com", title: "t" } }, "input.linkCard.url"],
        [{ linkCard: { url: "https://example.com", title: "t", imageUrl: "http://example.com/i.png" } }, "input.linkCard.imageUrl"],
        [{ todo: { title: "Do", assigneeIds: [] } }, "input.todo.assigneeIds"],
        [{ todo: { title: "Do", assigneeIds: [m.bob, m.bob] } }, "input.todo.assigneeIds"],
        [{ todo: { title: "Do", assigneeIds: [m.dave] } }, "input.todo.assigneeIds"],
        [{ todo: { title: "Do", assigneeIds: ["nope"] } }, "input.todo.assigneeIds"],
        [{ vote: { question: "Q?", options: ["only"] } }, "input.vote.options"],
        [{ vote: { question: "Q?", options: ["same", "same"] } }, "input.vote.options"],
        [{ vote: { question: "Q?", options: ["a", "b"], closesAt: "2000-01-01T00:00:00Z" } }, "input.vote.closesAt"],
        [{ vote: { question: "", options: ["a", "b"] } }, "input.vote.question"],
        [{ form: { title: "F", fields: [] } }, "input.form.fields"],
        [{ form: { title: "F", fields: [{ label: "Pick", type: "CHOICE" }] } }, "input.form.fields.0.options"],
        [{ form: { title: "F", fields: [{ label: "Name", type: "TEXT", options: ["x", "y"] }] } }, "input.form.fields.0.options"],
        [
          {
            form: {
              title: "F",
              fields: [
                { label: "A", type: "TEXT" },
                { label: "A", type: "NUMBER" },
              ],
            },
          },
          "input.form.fields",
        ],
      ];
      for (const [content, field] of cases) {
        await expectRefused(t.alice, SEND, input(content), "BAD_USER_INPUT", field);
      }
      await expectRefused(
        t.alice,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "has space", text: { content: "x" } } },
        "BAD_USER_INPUT",
        "input.clientMessageId",
      );
      await expectRefused(
        t.alice,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "x".repeat(65), text: { content: "x" } } },
        "BAD_USER_INPUT",
        "input.clientMessageId",
      );
    }, 120_000);

    it("sends images and files with their metadata", async () => {
      expect(
        (await send(t.alice, g.id, { image: { url: "https://cdn.example.com/p.png", name: "p.png", width: 640, height: 480, sizeBytes: 12345 } })).content,
      ).toEqual({
        __typename: "ImageContent",
        url: "https://cdn.example.com/p.png",
        name: "p.png",
        width: 640,
        height: 480,
        sizeBytes: 12345,
      });
      expect(
        (await send(t.alice, g.id, { file: { url: "https://cdn.example.com/q.pdf", name: "Q3 report.pdf", sizeBytes: 3e9, mimeType: "Application/PDF" } }))
          .content,
      ).toEqual({
        __typename: "FileContent",
        url: "https://cdn.example.com/q.pdf",
        name: "Q3 report.pdf",
        sizeBytes: 3e9,
        mimeType: "application/pdf",
      });
    });

    it("pages history by seq forwards and backwards, with totalCount", async () => {
      const h = await group(t.alice, "History", []);
      for (let i = 1; i <= 5; i++) {
        await send(t.alice, h.id, { text: { content: `m${i}` } });
      }
      const page = (vars: Record<string, unknown>) => gw.data(t.alice, MESSAGES, { c: h.id, ...vars }).then((d) => d.messages);
      const first = await page({ first: 2 });
      expect(first.totalCount).toBe(5);
      expect(first.edges.map((e: Untyped) => e.node.content.content)).toEqual(["m1", "m2"]);
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const next = await page({ first: 2, after: first.pageInfo.endCursor });
      expect(next.edges.map((e: Untyped) => e.node.seq)).toEqual([3, 4]);
      const newest = await page({ last: 2 });
      expect(newest.edges.map((e: Untyped) => e.node.seq)).toEqual([4, 5]);
      expect(newest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      const before = await page({ last: 2, before: newest.pageInfo.startCursor });
      expect(before.edges.map((e: Untyped) => e.node.seq)).toEqual([2, 3]);
      expectOneError(await gw.gql(t.alice, MESSAGES, { c: h.id, first: 101 }), "BAD_USER_INPUT", "first");
      expectOneError(await gw.gql(t.alice, MESSAGES, { c: h.id, after: "bm9wZQ" }), "BAD_USER_INPUT", "after");
    });
  });

  describe("recall (injected clock)", () => {
    const messages = () => gw.deps.services.messages as unknown as { clock: Clock };
    let saved: Clock;
    beforeAll(() => {
      saved = messages().clock;
    });
    afterAll(() => {
      messages().clock = saved;
    });
    const at = (ms: number) => (messages().clock = { now: () => new Date(ms) });

    it("the sender recalls at 23 h 59 m; at 24 h 1 m it is LIMIT_EXCEEDED; the seq stays, the content goes", async () => {
      const g = await group(t.alice, "Recall", [m.bob]);
      const t0 = Date.now();
      at(t0);
      const early = await send(t.alice, g.id, { text: { content: "Oops" } });
      const late = await send(t.alice, g.id, { text: { content: "Too late" } });
      at(t0 + 23 * 3600_000 + 59 * 60_000);
      await expectRefused(t.bob, RECALL, { input: { id: early.id } }, "FORBIDDEN");
      // The administrator app reads the group (messages:read, every member within its visibility: issue 14, item 9) but did not send it.
      await expectRefused(corp.token, RECALL, { input: { id: early.id } }, "FORBIDDEN");
      const recalled = (await gw.data(t.alice, RECALL, { input: { id: early.id } })).recallMessage.message;
      expect(recalled).toMatchObject({
        id: early.id,
        seq: early.seq,
        kind: "TEXT",
        content: null,
        recalledAt: new Date(t0 + 23 * 3600_000 + 59 * 60_000).toISOString(),
      });
      expect(await gw.sql(`SELECT seq::text, content, recalled_at IS NOT NULL AS recalled FROM message WHERE id = $1`, [pk(early.id)])).toEqual([
        { seq: String(early.seq), content: {}, recalled: true },
      ]);
      // Everyone's history shows it recalled, in its place.
      const history = await gw.data(t.bob, MESSAGES, { c: g.id });
      expect(history.messages.edges.map((e: Untyped) => [e.node.seq, e.node.content?.content ?? null])).toEqual([
        [1, null],
        [2, "Too late"],
      ]);
      // Recalling again changes nothing; the event was written once.
      expect((await gw.data(t.alice, RECALL, { input: { id: early.id } })).recallMessage.message.recalledAt).toBe(recalled.recalledAt);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM event WHERE type = 'MESSAGE_RECALLED' AND subject_id = $1`, [pk(early.id)])).toEqual([{ n: 1 }]);
      at(t0 + 24 * 3600_000 + 60_000);
      const res = await expectRefused(t.alice, RECALL, { input: { id: late.id } }, "LIMIT_EXCEEDED", "input.id");
      expect(res.body.errors![0].message).toMatch(/^A message can be recalled within 24 hours of sending/);
    });

    it("a resend of a recalled message with the same key returns it (recalled), other content is CONFLICT", async () => {
      at(Date.now());
      const g = await group(t.alice, "Recall resend", []);
      const sent = await send(t.alice, g.id, { text: { content: "Gone" } }, "gone-1");
      await gw.data(t.alice, RECALL, { input: { id: sent.id } });
      expect((await send(t.alice, g.id, { text: { content: "Gone" } }, "gone-1")).id).toBe(sent.id);
      await expectRefused(
        t.alice,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "gone-1", text: { content: "Back" } } },
        "CONFLICT",
        "input.clientMessageId",
      );
    });
  });

  describe("votes, to-dos and forms", () => {
    let g: Untyped;
    beforeAll(async () => {
      g = await group(t.alice, "Interactive", [m.bob, m.carol]);
    });

    it("counts concurrent ballots once per member", async () => {
      const vote = await send(t.alice, g.id, { vote: { question: "Lunch?", options: ["Noodles", "Dumplings", "Salad"] } });
      const tries = await Promise.all(Array.from({ length: 8 }, () => gw.gql(t.bob, CAST_VOTE, { input: { messageId: vote.id, options: [1] } })));
      expect(tries.filter((r) => !r.body.errors).length).toBe(1);
      for (const r of tries.filter((x) => x.body.errors)) expectOneError(r, "CONFLICT", "input.messageId");
      const both = await Promise.all([
        gw.data(t.carol, CAST_VOTE, { input: { messageId: vote.id, options: [1] } }),
        gw.data(t.alice, CAST_VOTE, { input: { messageId: vote.id, options: [2] } }),
      ]);
      expect(both.length).toBe(2);
      const seen = (await gw.data(t.bob, `query($id: ID!) { message(id: $id) { ${MESSAGE} } }`, { id: vote.id })).message.content;
      expect(seen).toEqual({
        __typename: "VoteContent",
        question: "Lunch?",
        multiple: false,
        closesAt: null,
        closed: false,
        voterCount: 3,
        myChoices: [1],
        options: [
          { index: 0, text: "Noodles", votes: 0 },
          { index: 1, text: "Dumplings", votes: 2 },
          { index: 2, text: "Salad", votes: 1 },
        ],
      });
      expect(await gw.sql(`SELECT member_id::text, options FROM message_ballot WHERE message_id = $1 ORDER BY member_id`, [pk(vote.id)])).toEqual(
        [
          { member_id: pk(m.alice), options: [2] },
          { member_id: pk(m.bob), options: [1] },
          { member_id: pk(m.carol), options: [1] },
        ].sort((a, b) => Number(a.member_id) - Number(b.member_id)),
      );
    });

    it("checks ballots: one option unless multiple, valid indexes, members only, not after closing", async () => {
      const single = await send(t.alice, g.id, { vote: { question: "One?", options: ["a", "b"] } });
      await expectRefused(t.bob, CAST_VOTE, { input: { messageId: single.id, options: [0, 1] } }, "BAD_USER_INPUT", "input.options");
      await expectRefused(t.bob, CAST_VOTE, { input: { messageId: single.id, options: [2] } }, "BAD_USER_INPUT", "input.options");
      await expectRefused(t.dave, CAST_VOTE, { input: { messageId: single.id, options: [0] } }, "NOT_FOUND", "input.messageId");
      await expectRefused(corp.token, CAST_VOTE, { input: { messageId: single.id, options: [0] } }, "FORBIDDEN");
      const multi = await send(t.alice, g.id, { vote: { question: "Many?", options: ["a", "b", "c"], multiple: true } });
      expect((await gw.data(t.bob, CAST_VOTE, { input: { messageId: multi.id, options: [2, 0] } })).castVote.message.content.myChoices).toEqual([0, 2]);
      await expectRefused(t.carol, CAST_VOTE, { input: { messageId: multi.id, options: [1, 1] } }, "BAD_USER_INPUT", "input.options");
      const text = await send(t.alice, g.id, { text: { content: "not a vote" } });
      await expectRefused(t.bob, CAST_VOTE, { input: { messageId: text.id, options: [0] } }, "BAD_USER_INPUT", "input.messageId");
      // Closing: the vote's time has passed on the (injected) clock.
      const messages = gw.deps.services.messages as unknown as { clock: Clock };
      const saved = messages.clock;
      const closing = await send(t.alice, g.id, { vote: { question: "Soon?", options: ["a", "b"], closesAt: new Date(Date.now() + 3600_000).toISOString() } });
      messages.clock = { now: () => new Date(Date.now() + 2 * 3600_000) };
      try {
        await expectRefused(t.bob, CAST_VOTE, { input: { messageId: closing.id, options: [0] } }, "CONFLICT", "input.messageId");
      } finally {
        messages.clock = saved;
      }
    });

    it("to-dos: each assignee completes once for themselves; others may not", async () => {
      const todo = await send(t.alice, g.id, { todo: { title: "Send the deck", assigneeIds: [m.bob, m.carol], dueAt: "2030-01-01T09:00:00.000Z" } });
      expect(todo.content).toMatchObject({ title: "Send the deck", dueAt: "2030-01-01T09:00:00.000Z", doneCount: 0 });
      await expectRefused(t.alice, COMPLETE_TODO, { input: { messageId: todo.id } }, "FORBIDDEN");
      const done = await Promise.all([1, 2, 3].map(() => gw.data(t.bob, COMPLETE_TODO, { input: { messageId: todo.id } })));
      expect(done[2].completeTodo.message.content).toMatchObject({
        doneCount: 1,
        assignees: [
          { memberId: m.bob, done: true, member: { employeeId: "bob" } },
          { memberId: m.carol, done: false, member: { employeeId: "carol" } },
        ],
      });
      expect(await gw.sql(`SELECT member_id::text FROM message_todo_done WHERE message_id = $1`, [pk(todo.id)])).toEqual([{ member_id: pk(m.bob) }]);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM event WHERE type = 'TODO_UPDATED' AND subject_id = $1`, [pk(todo.id)])).toEqual([{ n: 1 }]);
    });

    it("forms: answers checked against the fields, one submission per member", async () => {
      const form = await send(t.alice, g.id, {
        form: {
          title: "Offsite",
          fields: [
            { label: "Name", type: "TEXT", required: true },
            { label: "Guests", type: "NUMBER" },
            { label: "Meal", type: "CHOICE", options: ["Fish", "Veg"], required: true },
            { label: "Days", type: "MULTIPLE_CHOICE", options: ["Mon", "Tue", "Wed"] },
          ],
        },
      });
      const submit = (token: string, answers: unknown[]) => gw.gql(token, SUBMIT_FORM, { input: { messageId: form.id, answers } });
      const refuse = async (answers: unknown[], field: string) =>
        expectUnchanged(snapshot, async () => expectOneError(await submit(t.bob, answers), "BAD_USER_INPUT", field));
      await refuse([{ fieldIndex: 0, text: "Bob" }], "input.answers");
      await refuse([{ fieldIndex: 4, text: "x" }], "input.answers.0.fieldIndex");
      await refuse(
        [
          { fieldIndex: 0, number: 3 },
          { fieldIndex: 2, choices: [0] },
        ],
        "input.answers.0.text",
      );
      await refuse(
        [
          { fieldIndex: 0, text: "Bob", number: 1 },
          { fieldIndex: 2, choices: [0] },
        ],
        "input.answers.0",
      );
      await refuse(
        [
          { fieldIndex: 0, text: "Bob" },
          { fieldIndex: 2, choices: [0, 1] },
        ],
        "input.answers.1.choices",
      );
      await refuse(
        [
          { fieldIndex: 0, text: "Bob" },
          { fieldIndex: 2, choices: [5] },
        ],
        "input.answers.1.choices",
      );
      await refuse(
        [
          { fieldIndex: 0, text: "Bob" },
          { fieldIndex: 0, text: "Bob" },
        ],
        "input.answers.1.fieldIndex",
      );
      const answers = [
        { fieldIndex: 3, choices: [2, 0] },
        { fieldIndex: 0, text: "Bob" },
        { fieldIndex: 2, choices: [1] },
      ];
      const tries = await Promise.all([1, 2, 3, 4].map(() => submit(t.bob, answers)));
      expect(tries.filter((r) => !r.body.errors).length).toBe(1);
      for (const r of tries.filter((x) => x.body.errors)) expectOneError(r, "CONFLICT", "input.messageId");
      const mine = tries.find((r) => !r.body.errors)!.body.data.submitForm.message.content;
      expect(mine).toMatchObject({
        submissionCount: 1,
        myAnswers: [
          { fieldIndex: 0, text: "Bob", number: null, choices: null },
          { fieldIndex: 2, text: null, number: null, choices: [1] },
          { fieldIndex: 3, text: null, number: null, choices: [0, 2] },
        ],
      });
      expect(await gw.sql(`SELECT member_id::text, answers FROM message_form_submission WHERE message_id = $1`, [pk(form.id)])).toEqual([
        {
          member_id: pk(m.bob),
          answers: [
            { field: 0, text: "Bob" },
            { field: 2, choices: [1] },
            { field: 3, choices: [0, 2] },
          ],
        },
      ]);
    });
  });

  describe("read receipts", () => {
    const RECEIPT = `query($id: ID!, $first: Int) { message(id: $id) { seq readReceipt { readCount unreadCount
      unreadMembers(first: $first) { totalCount pageInfo { hasNextPage } nodes { memberId role member { employeeId } } } } } }`;
    const receipt = async (token: string, id: string, first = 10) => (await gw.data(token, RECEIPT, { id, first })).message.readReceipt;
    const byPk = (ids: string[]) => [...ids].sort((a, b) => Number(pk(a)) - Number(pk(b)));

    it("the sender sees who has read a message, as read pointers move; others see no receipt", async () => {
      const g = await group(t.alice, "Receipts", [m.bob, m.carol]);
      const sent = await send(t.alice, g.id, { text: { content: "Read me" } });
      const unread = byPk([m.bob, m.carol]);
      expect(await receipt(t.alice, sent.id)).toEqual({
        readCount: 0,
        unreadCount: 2,
        unreadMembers: {
          totalCount: 2,
          pageInfo: { hasNextPage: false },
          nodes: unread.map((id) => ({ memberId: id, role: "MEMBER", member: { employeeId: id === m.bob ? "bob" : "carol" } })),
        },
      });
      expect(await receipt(t.bob, sent.id)).toBeNull();
      await gw.data(t.bob, MARK_READ, { input: { conversationId: g.id, upToSeq: sent.seq } });
      expect(await receipt(t.alice, sent.id)).toMatchObject({ readCount: 1, unreadCount: 1, unreadMembers: { totalCount: 1, nodes: [{ memberId: m.carol }] } });
      // A member who joins later has everything before them read.
      await gw.data(t.alice, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.erin] } });
      const later = await receipt(t.alice, sent.id, 0);
      expect(later).toMatchObject({ readCount: 2, unreadCount: 1, unreadMembers: { totalCount: 1, pageInfo: { hasNextPage: true }, nodes: [] } });
      // Bob's reply: Alice has not read it yet, Bob (its sender) is not counted.
      const reply = await send(t.bob, g.id, { text: { content: "Read" } });
      expect(await receipt(t.bob, reply.id)).toMatchObject({ readCount: 0, unreadCount: 3 });
      expect(await receipt(t.alice, reply.id)).toBeNull();
    });

    it("remindUnread: by the sender, at most once every 10 minutes (injected clock), counting the unread members", async () => {
      const REMIND = `mutation($input: RemindUnreadInput!) { remindUnread(input: $input) { remindedCount message { id } } }`;
      const messages = gw.deps.services.messages as unknown as { clock: Clock };
      const saved = messages.clock;
      const t0 = Date.now();
      messages.clock = { now: () => new Date(t0) };
      try {
        const g = await group(t.alice, "Remind", [m.bob, m.carol]);
        const sent = await send(t.alice, g.id, { text: { content: "Please read" } });
        await gw.data(t.bob, MARK_READ, { input: { conversationId: g.id, upToSeq: sent.seq } });
        await expectRefused(t.bob, REMIND, { input: { messageId: sent.id } }, "FORBIDDEN");
        await expectRefused(t.dave, REMIND, { input: { messageId: sent.id } }, "NOT_FOUND", "input.messageId");
        expect((await gw.data(t.alice, REMIND, { input: { messageId: sent.id } })).remindUnread).toEqual({ remindedCount: 1, message: { id: sent.id } });
        messages.clock = { now: () => new Date(t0 + 9 * 60_000 + 59_000) };
        const res = await expectRefused(t.alice, REMIND, { input: { messageId: sent.id } }, "LIMIT_EXCEEDED", "input.messageId");
        expect(res.body.errors![0].message).toBe(
          `A message's unread members are reminded at most once every 10 minutes; the next reminder is possible at ${new Date(t0 + 10 * 60_000).toISOString()}.`,
        );
        messages.clock = { now: () => new Date(t0 + 10 * 60_000) };
        expect((await gw.data(t.alice, REMIND, { input: { messageId: sent.id } })).remindUnread.remindedCount).toBe(1);
        expect(await gw.sql(`SELECT count(*)::int AS n FROM event WHERE type = 'MESSAGE_REMINDED' AND subject_id = $1`, [pk(sent.id)])).toEqual([{ n: 2 }]);
      } finally {
        messages.clock = saved;
      }
    });

    it("an app sees the receipts of what it sent; members of its group are counted", async () => {
      const app = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"]);
      const deals = (await group(app.token, "Receipts app", [m.bob], m.alice)).id;
      const sent = await send(app.token, deals, { text: { content: "From the app" } });
      expect(await receipt(app.token, sent.id)).toMatchObject({ readCount: 0, unreadCount: 2, unreadMembers: { totalCount: 2 } });
      await gw.data(t.alice, MARK_READ, { input: { conversationId: deals, upToSeq: 1 } });
      expect(await receipt(app.token, sent.id)).toMatchObject({ readCount: 1, unreadCount: 1, unreadMembers: { nodes: [{ memberId: m.bob }] } });
      expect(await receipt(t.alice, sent.id)).toBeNull();
    });
  });

  describe("statements per query (no N+1)", () => {
    it("a page of conversations with their owners and members costs the same for 2 and for 6 conversations", async () => {
      const QUERY = `{ conversations(first: 10) { nodes { name owner { name } members(first: 3) { totalCount nodes { role memberId member { employeeId } } } } } }`;
      const frank = await gw.createMember(corp.token, { employeeId: "frank", name: "Frank Sales", departmentIds: [sales], status: "ACTIVE" });
      const token = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(frank));
      const measure = async () => {
        const res = await gw.gql(token, QUERY, {}, { debugSql: true });
        expect(res.body.errors).toBeUndefined();
        return { nodes: res.body.data.conversations.nodes as Untyped[], statements: res.body.extensions!.diagnostics.sqlStatements as number };
      };
      const names: string[] = [];
      const add = async (i: number) => {
        const g = await group(token, `Frank ${i}`, [m.bob, m.carol, m.erin]);
        await send(token, g.id, { text: { content: `hi ${i}` } });
        names.unshift(`Frank ${i}`);
      };
      await add(0);
      await add(1);
      const two = await measure();
      expect(two.nodes.map((n) => n.name)).toEqual(names);
      for (let i = 2; i < 6; i++) await add(i);
      const six = await measure();
      expect(six.nodes.map((n) => n.name)).toEqual(names);
      const employeeIds: Record<string, string> = { [frank]: "frank", [m.bob]: "bob", [m.carol]: "carol", [m.erin]: "erin" };
      const firstThree = [frank, m.bob, m.carol, m.erin].sort((a, b) => Number(pk(a)) - Number(pk(b))).slice(0, 3);
      expect(six.nodes[0]).toEqual({
        name: "Frank 5",
        owner: { name: "Frank Sales" },
        members: {
          totalCount: 4,
          nodes: firstThree.map((id) => ({ role: id === frank ? "OWNER" : "MEMBER", memberId: id, member: { employeeId: employeeIds[id] } })),
        },
      });
      expect(six.statements).toBe(two.statements);
    });
  });

  describe("statements per query (messages)", () => {
    it("a page of messages with senders, to-dos, votes and forms costs the same for 4 and for 12 messages", async () => {
      const QUERY = `query($c: ID!) { messages(conversationId: $c, first: 20) { nodes { ${MESSAGE} readReceipt { readCount unreadCount } } } }`;
      const g = await group(t.alice, "Counted", [m.bob, m.carol]);
      const round = async (i: number) => {
        await send(i % 2 ? t.bob : t.alice, g.id, { text: { content: `text ${i}` } });
        await send(t.alice, g.id, { todo: { title: `todo ${i}`, assigneeIds: [m.bob, m.carol] } });
        await send(t.carol, g.id, { vote: { question: `vote ${i}?`, options: ["yes", "no"] } });
        await send(t.bob, g.id, { form: { title: `form ${i}`, fields: [{ label: "Why", type: "TEXT" }] } });
      };
      const measure = async () => {
        const res = await gw.gql(t.alice, QUERY, { c: g.id }, { debugSql: true });
        expect(res.body.errors).toBeUndefined();
        return { count: res.body.data.messages.nodes.length as number, statements: res.body.extensions!.diagnostics.sqlStatements as number };
      };
      await round(0);
      const four = await measure();
      await round(1);
      await round(2);
      const twelve = await measure();
      expect([four.count, twelve.count]).toEqual([4, 12]);
      expect(twelve.statements).toBe(four.statements);
    });
  });

  describe("conversations list and settings", () => {
    it("pinned first, then by last activity, with each conversation's unread count; archived filtered", async () => {
      const a = await group(t.dave, "Dave A", [m.bob]);
      const b = await group(t.dave, "Dave B", [m.bob]);
      const c = await group(t.dave, "Dave C", [m.bob]);
      await send(t.bob, a.id, { text: { content: "newest in A" } });
      await send(t.bob, a.id, { text: { content: "again" } });
      const list = async (vars: Record<string, unknown> = {}) => (await gw.data(t.dave, LIST_CONVERSATIONS, { first: 10, ...vars })).conversations;
      expect((await list()).nodes.map((n: Untyped) => [n.name, n.unreadCount])).toEqual([
        ["Dave A", 2],
        ["Dave C", 0],
        ["Dave B", 0],
      ]);
      expect((await gw.data(t.dave, SETTINGS, { input: { conversationId: b.id, pinned: true } })).setConversationSettings.conversation.settings).toEqual({
        pinned: true,
        muted: false,
        archived: false,
      });
      await gw.data(t.dave, SETTINGS, { input: { conversationId: c.id, archived: true, muted: true } });
      expect((await list()).nodes.map((n: Untyped) => n.name)).toEqual(["Dave B", "Dave A", "Dave C"]);
      expect((await list({ filter: { archived: false } })).nodes.map((n: Untyped) => n.name)).toEqual(["Dave B", "Dave A"]);
      expect((await list({ filter: { archived: true } })).nodes.map((n: Untyped) => n.name)).toEqual(["Dave C"]);
      // Paging keeps the order.
      const p1 = await list({ first: 2 });
      expect(p1.totalCount).toBe(3);
      const p2 = await list({ first: 2, after: p1.pageInfo.endCursor });
      expect([...p1.nodes, ...p2.nodes].map((n: Untyped) => n.name)).toEqual(["Dave B", "Dave A", "Dave C"]);
      // Settings are per member: Bob's are untouched.
      expect((await conversationAs(t.bob, b.id)).settings).toEqual({ pinned: false, muted: false, archived: false });
      await expectRefused(corp.token, SETTINGS, { input: { conversationId: b.id, pinned: true } }, "FORBIDDEN");
      await expectRefused(t.alice, SETTINGS, { input: { conversationId: b.id, pinned: true } }, "NOT_FOUND", "input.conversationId");
    });
  });

  describe("who sees what", () => {
    let g: Untyped;
    let message: Untyped;
    beforeAll(async () => {
      g = await group(t.alice, "Private", [m.bob]);
      message = await send(t.alice, g.id, { text: { content: "secret" } });
    });

    it("another corp sees nothing and can send nothing", async () => {
      for (const token of [beta.token, betaMemberToken]) {
        expect(await conversationAs(token, g.id)).toBeNull();

        expect((await gw.data(token, `query($id: ID!) { message(id: $id) { id } }`, { id: message.id })).message).toBeNull();

        expectOneError(await gw.gql(token, MESSAGES, { c: g.id }), "NOT_FOUND", "conversationId");

        await expectRefused(
          token,
          SEND,
          { input: { conversationId: g.id, clientMessageId: "x-corp", text: { content: "hi" } } },
          "NOT_FOUND",
          "input.conversationId",
        );

        expect((await gw.data(token, LIST_CONVERSATIONS, {})).conversations).toMatchObject({ totalCount: 0, nodes: [] });
      }
      await expectRefused(betaMemberToken, ADD_MEMBERS, { input: { id: g.id, memberIds: [m.dave] } }, "NOT_FOUND", "input.id");
    });

    it("node(id) finds conversations and messages for those who take part, null for others", async () => {
      const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Conversation { name } ... on Message { seq } } }`;
      expect((await gw.data(t.bob, NODE, { id: g.id })).node).toEqual({ __typename: "Conversation", id: g.id, name: "Private" });
      expect((await gw.data(t.bob, NODE, { id: message.id })).node).toEqual({ __typename: "Message", id: message.id, seq: 1 });
      // The administrator app reads it (messages:read, every member within its visibility: issue 14, item 9).
      expect((await gw.data(corp.token, NODE, { id: message.id })).node).toEqual({ __typename: "Message", id: message.id, seq: 1 });
      for (const token of [t.dave, beta.token, betaMemberToken]) {
        expect((await gw.data(token, NODE, { id: g.id })).node).toBeNull();
        expect((await gw.data(token, NODE, { id: message.id })).node).toBeNull();
      }
      const directoryOnly = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m.bob), ["directory:read"]);
      expectOneError(await gw.gql(directoryOnly, NODE, { id: g.id }), "FORBIDDEN");
    });

    it("a member outside the conversation sees nothing; an app that did not create it reads it only when every member is within its visibility", async () => {
      expect(await conversationAs(t.dave, g.id)).toBeNull();
      expectOneError(await gw.gql(t.dave, MESSAGES, { c: g.id }), "NOT_FOUND", "conversationId");
      await expectRefused(
        t.dave,
        SEND,
        { input: { conversationId: g.id, clientMessageId: "x-dave", text: { content: "hi" } } },
        "NOT_FOUND",
        "input.conversationId",
      );
      await expectRefused(t.dave, RECALL, { input: { id: message.id } }, "NOT_FOUND", "input.id");
      // Alice and Bob are in Sales: the administrator app (whole corp) and the Sales app read the
      // group (messages:read, issue 14, item 9), without taking part in it.
      expect(await conversationAs(corp.token, g.id)).toMatchObject({ name: "Private", myRole: null, unreadCount: null });
      expect(await conversationAs(salesApp.token, g.id)).toMatchObject({ name: "Private", myRole: null });
      expect((await gw.data(salesApp.token, LIST_CONVERSATIONS, {})).conversations.nodes.map((n: Untyped) => n.name)).toContain("Private");
      await expectRefused(salesApp.token, SEND, { input: { conversationId: g.id, clientMessageId: "x-app", text: { content: "hi" } } }, "FORBIDDEN");
      // Carol (Engineering) joins: the Sales app may not read it any more.
      const mixed = await group(t.alice, "Mixed", [m.bob, m.carol]);
      expect(await conversationAs(salesApp.token, mixed.id)).toBeNull();
      expect((await gw.data(salesApp.token, LIST_CONVERSATIONS, {})).conversations.nodes.map((n: Untyped) => n.name)).not.toContain("Mixed");
    });

    it("an app takes part in the groups it creates, with members within its visibility only", async () => {
      await expectRefused(
        salesApp.token,
        CREATE_GROUP,
        { input: { name: "Deals", ownerId: m.alice, memberIds: [m.bob, m.carol] } },
        "NOT_FOUND",
        "input.memberIds",
      );
      await expectRefused(salesApp.token, CREATE_GROUP, { input: { name: "Deals", ownerId: m.carol, memberIds: [m.bob] } }, "NOT_FOUND", "input.ownerId");
      const deals = await group(salesApp.token, "Deals", [m.bob], m.alice);
      expect(deals).toMatchObject({ kind: "GROUP", memberCount: 2, myRole: null, unreadCount: null, settings: null, owner: { employeeId: "alice" } });
      expect(await gw.sql(`SELECT created_by_app_id::text FROM conversation WHERE id = $1`, [pk(deals.id)])).toEqual([{ created_by_app_id: salesApp.appPk }]);
      const alert = await send(salesApp.token, deals.id, { markdown: { content: "**Deal won**" } });
      expect(alert.sender).toEqual({ kind: "APP", memberId: null, appId: toGlobalId("App", salesApp.appPk), member: null });
      expect((await conversationAs(t.alice, deals.id)).unreadCount).toBe(1);
      await expectRefused(salesApp.token, ADD_MEMBERS, { input: { id: deals.id, memberIds: [m.erin] } }, "NOT_FOUND", "input.memberIds");
      expect((await gw.data(salesApp.token, ADD_MEMBERS, { input: { id: deals.id, memberIds: [m.dave] } })).addGroupMembers.addedCount).toBe(1);
      // The app recalls its own message; a member may not.
      await expectRefused(t.alice, RECALL, { input: { id: alert.id } }, "FORBIDDEN");
      expect((await gw.data(salesApp.token, RECALL, { input: { id: alert.id } })).recallMessage.message.content).toBeNull();
      // Its list holds the group it created first (newest activity), then the groups of Sales members it reads, not those with Carol or Erin (Engineering).
      const names = (await gw.data(salesApp.token, LIST_CONVERSATIONS, { first: 100 })).conversations.nodes.map((n: Untyped) => n.name);
      expect(names[0]).toBe("Deals");
      expect(names).not.toContain("Mixed");
      // The administrator app (another app of the corp, whole corp, messages:read) reads it without taking part.
      expect(await conversationAs(corp.token, deals.id)).toMatchObject({ name: "Deals", myRole: null });
      await expectRefused(corp.token, ADD_MEMBERS, { input: { id: deals.id, memberIds: [m.erin] } }, "FORBIDDEN");
    });

    it("every message write is an event of the messages stream, in its transaction", async () => {
      const mark = await gw.eventMark(corp.corpPk);
      const sent = await send(t.bob, g.id, { text: { content: "evented" } });
      await gw.data(t.alice, MARK_READ, { input: { conversationId: g.id, upToSeq: sent.seq } });
      expect(
        await gw.sql(`SELECT stream, type, subject_type, audience, data FROM event WHERE corp_id = $1 AND id > $2 ORDER BY id`, [corp.corpPk, mark]),
      ).toEqual([
        {
          stream: "messages",
          type: "MESSAGE_ADDED",
          subject_type: "Message",
          audience: [`conversation:${pk(g.id)}`],
          data: { conversationId: pk(g.id), seq: String(sent.seq), kind: "TEXT" },
        },
        {
          stream: "messages",
          type: "MESSAGE_READ",
          subject_type: "Conversation",
          // The reader and the sender of what was read, not the whole group (review of issue 14, finding 2).
          audience: [`member:${pk(m.alice)}`, `member:${pk(m.bob)}`],
          data: { memberId: pk(m.alice), upToSeq: sent.seq },
        },
      ]);
    });
  });
  describe("the README's example", () => {
    it("runs as written: two members, a group the app creates, one message sent twice, the history", async () => {
      const readme = readFileSync(path.resolve(__dirname, "..", "README.md"), "utf8");
      const from = readme.indexOf("## Messaging (first slice");
      const section = readme.slice(from, readme.indexOf("\n## ", from + 1));
      const [block] = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((x) => x[1]);
      const readmeCorp = await gw.createCorp("Readme");
      const script = ["set -euo pipefail", block.replaceAll("http://localhost:4000", gw.url)].join("\n");
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("bash", ["-c", script], { env: { ...process.env, TOKEN: readmeCorp.token } });
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
      expect(lines).toEqual([
        { sendMessage: { message: { seq: 1, kind: "MARKDOWN", sender: { kind: "APP" } } } },
        { sendMessage: { message: { seq: 1, kind: "MARKDOWN", sender: { kind: "APP" } } } },
        { messages: { totalCount: 1, nodes: [{ seq: 1, content: { content: "**Deal won**: ACME" } }] } },
      ]);
      expect(await gw.sql(`SELECT c.name, c.member_count, c.created_by_app_id::text FROM conversation c WHERE c.corp_id = $1`, [readmeCorp.corpPk])).toEqual([
        { name: "Deals", member_count: 2, created_by_app_id: readmeCorp.appPk },
      ]);
    });
  });
});
