import { TestGateway, pk, type TestApp, type TestCorp, type Untyped } from "./harness";
import type { Client as WsClient } from "graphql-ws";

/**
 * `messageEvents` over real graphql-ws sockets (issue 14, first slice): members receive the events
 * of the conversations they belong to, exactly once and in order; outsiders (another member,
 * another corp, an app that did not create the group) receive nothing; a resume with `after`
 * replays what was missed; a removed member gets the removal, then nothing more; a muted
 * conversation delivers with `notify: false`.
 */

const EVENTS = `subscription($c: ID, $after: String) {
  messageEvents(conversationId: $c, after: $after) {
    __typename cursor type conversationId notify
    ... on MessageAdded { message { seq content { ... on TextContent { content } } sender { memberId appId } } }
    ... on MessageRecalled { message { seq content { __typename } recalledAt } }
    ... on MessageRead { memberId upToSeq }
    ... on MembershipChanged { addedMemberIds removedMemberIds conversation { memberCount } }
    ... on ConversationCreated { conversation { name } }
    ... on ConversationUpdated { changedFields conversation { name } }
  }
}`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;

describe("messageEvents", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let salesApp: TestApp;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let betaToken: string;
  let betaMember: string;
  const clients: WsClient[] = [];
  let n = 0;

  const client = (token: string) => {
    const c = gw.wsClient(token);
    clients.push(c);
    return c;
  };
  const group = async (token: string, name: string, memberIds: string[], ownerId?: string) =>
    (await gw.data(token, CREATE_GROUP, { input: { name, memberIds, ...(ownerId ? { ownerId } : {}) } })).createGroup.conversation.id as string;
  const send = async (token: string, conversationId: string, content: string) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `e-${++n}`, text: { content } } })).sendMessage.message;
  const texts = (results: Untyped[]) => results.map((r) => r.data?.messageEvents?.message?.content?.content ?? r.data?.messageEvents?.type ?? r.errors);

  beforeAll(async () => {
    gw = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "1" });
    corp = await gw.createCorp("Acme");
    const sales = await gw.createDepartment(corp.token, { name: "Sales" });
    const eng = await gw.createDepartment(corp.token, { name: "Engineering" });
    for (const [name, dept] of [
      ["alice", sales],
      ["bob", sales],
      ["carol", eng],
      ["dave", sales],
    ] as const) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [dept], status: "ACTIVE" });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    salesApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"], [pk(sales)]);
    beta = await gw.createCorp("Beta");
    betaMember = await gw.createMember(beta.token, { employeeId: "alice", name: "Beta Alice", departmentIds: [beta.rootId], status: "ACTIVE" });
    betaToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await gw.stop();
  });

  it("members receive each message once, in order; outsiders nothing; apps what they may read", async () => {
    const g = await group(t.alice, "Live", [m.bob, m.carol]);
    const daveOwn = await group(t.dave, "Dave alone", []);
    const betaOwn = await group(betaToken, "Beta alone", []);
    // Each stream starts after the newest event of its corp: nothing sent from here on is missed,
    // however long the subscription takes to start.
    const after = await gw.eventMark(corp.corpPk);
    const betaAfter = await gw.eventMark(beta.corpPk);
    const bob = gw.subscribe(client(t.bob), EVENTS, { after });
    const carol = gw.subscribe(client(t.carol), EVENTS, { c: g, after });
    const dave = gw.subscribe(client(t.dave), EVENTS, { after });
    const betaSub = gw.subscribe(client(betaToken), EVENTS, { after: betaAfter });
    const adminApp = gw.subscribe(client(corp.token), EVENTS, { after });
    const salesSub = gw.subscribe(client(salesApp.token), EVENTS, { after });
    await send(t.alice, g, "one");
    await send(t.bob, g, "two");
    await send(t.alice, g, "three");
    expect(texts(await bob.waitFor(3))).toEqual(["one", "two", "three"]);
    expect(texts(await carol.waitFor(3))).toEqual(["one", "two", "three"]);
    const first = bob.results[0].data.messageEvents;
    expect(first).toEqual({
      __typename: "MessageAdded",
      cursor: expect.any(String),
      type: "MESSAGE_ADDED",
      conversationId: g,
      notify: true,
      message: { seq: 1, content: { content: "one" }, sender: { memberId: m.alice, appId: null } },
    });
    // Markers in conversations the outsiders take part in: they come after the three messages in
    // each corp's stream, so once a marker arrived the events before it were filtered, not pending.
    await send(t.dave, daveOwn, "dave marker");
    await send(betaToken, betaOwn, "beta marker");
    expect(texts(await dave.waitFor(1))).toEqual(["dave marker"]);
    expect(texts(await betaSub.waitFor(1))).toEqual(["beta marker"]);
    const salesGroup = await group(salesApp.token, "App marker", [m.bob], m.alice);
    // With messages:read an app reads the conversations whose members are all within its visibility
    // (issue 14, item 9): the Sales app Dave's own group (not "Live": Carol is in Engineering), the
    // administrator app (whole corp) every one of them.
    expect(texts(await salesSub.waitFor(2))).toEqual(["dave marker", "CONVERSATION_CREATED"]);
    expect(salesSub.results[1].data.messageEvents).toMatchObject({ __typename: "ConversationCreated", conversation: { name: "App marker" } });
    expect(texts(await adminApp.waitFor(5))).toEqual(["one", "two", "three", "dave marker", "CONVERSATION_CREATED"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(adminApp.results).toHaveLength(5);
    expect(salesSub.results).toHaveLength(2);
    expect(dave.results).toHaveLength(1);
    expect(betaSub.results).toHaveLength(1);
    // Bob is in the app's group too: he sees its creation after the three messages.
    expect(texts(await bob.waitFor(4))).toEqual(["one", "two", "three", "CONVERSATION_CREATED"]);
    expect(bob.results[3].data.messageEvents.conversationId).toBe(salesGroup);
    // Carol follows one conversation only.
    expect(carol.results).toHaveLength(3);
    for (const s of [bob, carol, dave, betaSub, adminApp, salesSub]) s.stop();
  });

  it("resumes after a cursor: every missed event in order, none repeated", async () => {
    const g = await group(t.alice, "Resume", [m.bob]);
    const live = gw.subscribe(client(t.bob), EVENTS, { c: g, after: await gw.eventMark(corp.corpPk) });
    await send(t.alice, g, "before");
    const [seen] = await live.waitFor(1);
    live.stop();
    const cursor = seen.data.messageEvents.cursor;
    for (let i = 1; i <= 30; i++) await send(t.alice, g, `missed ${i}`);
    const resumed = gw.subscribe(client(t.bob), EVENTS, { c: g, after: cursor });
    const results = await resumed.waitFor(30);
    expect(results.map((r) => r.data.messageEvents.message.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
    await send(t.alice, g, "live again");
    expect(texts(await resumed.waitFor(31)).slice(-1)).toEqual(["live again"]);
    resumed.stop();
  });

  it("refuses a conversation you do not take part in and a bad cursor", async () => {
    const g = await group(t.alice, "Closed", [m.bob]);
    const sub = gw.subscribe(client(t.dave), EVENTS, { c: g });
    await sub.waitFor(1);
    expect(sub.results[0].errors?.[0]?.extensions).toEqual({ code: "NOT_FOUND", field: "conversationId" });
    const bad = gw.subscribe(client(t.bob), EVENTS, { after: "x1" });
    await bad.waitFor(1);
    expect(bad.results[0].errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "after" });
  });

  it("a reminder reaches the members who have not read the message, and no one else", async () => {
    const g = await group(t.alice, "Reminded", [m.bob, m.carol]);
    const after = await gw.eventMark(corp.corpPk);
    const bob = gw.subscribe(client(t.bob), EVENTS, { c: g, after });
    const carol = gw.subscribe(client(t.carol), EVENTS, { c: g, after });
    const alice = gw.subscribe(client(t.alice), EVENTS, { c: g, after });
    const sent = await send(t.alice, g, "read this");
    await gw.data(t.bob, `mutation($input: MarkReadInput!) { markRead(input: $input) { conversation { id } } }`, {
      input: { conversationId: g, upToSeq: sent.seq },
    });
    await gw.data(t.alice, `mutation($input: RemindUnreadInput!) { remindUnread(input: $input) { remindedCount } }`, { input: { messageId: sent.id } });
    await send(t.alice, g, "marker");
    const kinds = (results: Untyped[]) => results.map((r) => r.data.messageEvents.__typename);
    // Bob's read goes to Bob and to Alice (whose message he read), not to Carol (review of issue 14, finding 2).
    expect(kinds(await carol.waitFor(3))).toEqual(["MessageAdded", "MessageReminded", "MessageAdded"]);
    expect(carol.results[1].data.messageEvents).toMatchObject({ type: "MESSAGE_REMINDED", conversationId: g });
    expect(kinds(await bob.waitFor(3))).toEqual(["MessageAdded", "MessageRead", "MessageAdded"]);
    expect(kinds(await alice.waitFor(3))).toEqual(["MessageAdded", "MessageRead", "MessageAdded"]);
    for (const s of [bob, carol, alice]) s.stop();
  });

  it("a removed member receives the removal, then nothing of the group; muted is notify: false", async () => {
    const g = await group(t.alice, "Leaving", [m.bob, m.carol]);
    const after = await gw.eventMark(corp.corpPk);
    const bob = gw.subscribe(client(t.bob), EVENTS, { after });
    const carol = gw.subscribe(client(t.carol), EVENTS, { c: g, after });
    await gw.data(t.carol, `mutation($input: SetConversationSettingsInput!) { setConversationSettings(input: $input) { conversation { id } } }`, {
      input: { conversationId: g, muted: true },
    });
    await send(t.alice, g, "still here");
    await gw.data(t.alice, `mutation($input: RemoveGroupMembersInput!) { removeGroupMembers(input: $input) { removedCount } }`, {
      input: { id: g, memberIds: [m.bob] },
    });
    await send(t.alice, g, "after you left");
    const carolSeen = await carol.waitFor(4);
    expect(carolSeen.map((r) => [r.data.messageEvents.__typename, r.data.messageEvents.notify])).toEqual([
      ["ConversationUpdated", false],
      ["MessageAdded", false],
      ["MembershipChanged", false],
      ["MessageAdded", false],
    ]);
    expect(carolSeen[0].data.messageEvents.changedFields).toEqual(["settings"]);
    const bobSeen = await bob.waitFor(2);
    expect(bobSeen.map((r) => r.data.messageEvents)).toEqual([
      expect.objectContaining({ __typename: "MessageAdded", notify: true }),
      expect.objectContaining({ __typename: "MembershipChanged", removedMemberIds: [m.bob], addedMemberIds: [], conversation: null }),
    ]);
    // The message after the removal reached Carol; Bob's stream had it too and filtered it out.
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.results).toHaveLength(2);
    bob.stop();
    carol.stop();
  });
});
