import type { Client as WsClient } from "graphql-ws";
import { buildSchema, getNamedType, isInterfaceType, isObjectType, isUnionType, type GraphQLNamedType } from "graphql";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { TestGateway, pk, type Subscription, type TestCorp, type Untyped, waitUntil } from "./harness";
import { fanoutOf } from "../src/http/websocket";
import type { FanoutHub } from "../src/fanout/hub";
import { RequestContext } from "../src/context";
import { VIEWER_DEPENDENT_FIELDS } from "../src/services/message-event.service";
import type { EventRecord } from "../src/entities/event.entity";

/**
 * "Execute once, write many" for `messageEvents` (issue 14): the members of a group who subscribe
 * with the same document share one execution per event and value of `notify`, whatever their
 * number; a document that reads a field of its own per viewer (a read receipt, one's own ballot) is
 * executed per subscriber and each gets their own value; membership is read once per conversation
 * for every subscriber and kept current by the stream's membership events.
 */

const SHARED = `subscription($c: ID, $after: String) {
  messageEvents(conversationId: $c, after: $after) {
    __typename cursor notify
    ... on MessageAdded { message { seq content { ... on TextContent { content } } sender { memberId } } }
    ... on MembershipChanged { removedMemberIds }
  }
}`;
const PER_VIEWER = `subscription($c: ID) {
  messageEvents(conversationId: $c) {
    cursor
    ... on MessageAdded { message { seq readReceipt { unreadCount } } }
  }
}`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;

let gw: TestGateway;
let corp: TestCorp;
let hub: FanoutHub;
const members: string[] = [];
const tokens: string[] = [];
const clients: WsClient[] = [];
let sent = 0;

const client = (token: string) => {
  const c = gw.wsClient(token);
  clients.push(c);
  return c;
};
const group = async (token: string, name: string, memberIds: string[]) =>
  (await gw.data(token, CREATE_GROUP, { input: { name, memberIds } })).createGroup.conversation.id as string;
const send = async (token: string, conversationId: string, content: string) =>
  (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `f-${++sent}`, text: { content } } })).sendMessage.message;
const events = (sub: Subscription): Untyped[] =>
  sub.results.map((r) => {
    expect(r.errors).toBeUndefined();
    return r.data.messageEvents;
  });

const until = (condition: () => boolean, ms = 10000) => waitUntil(condition, ms, () => hub.size);

/** Live subscribers, one socket each, with their tokens; resolves once all are live in the hub. */
async function live(query: string, list: string[], variables: Record<string, unknown>): Promise<Subscription[]> {
  const before = hub.size.live;
  const subs = list.map((token) => gw.subscribe(client(token), query, variables));
  await until(() => hub.size.live === before + list.length);
  return subs;
}

beforeAll(async () => {
  gw = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "3600" });
  hub = fanoutOf(gw.gateway.httpServer)!;
  corp = await gw.createCorp("Fan-out Messages");
  for (let i = 0; i < 22; i++) {
    members.push(await gw.createMember(corp.token, { employeeId: `fm-${i}`, name: `Member ${i}`, departmentIds: [corp.rootId], status: "ACTIVE" }));
    tokens.push(gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(members[i])));
  }
}, 60000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await until(() => hub.size.subscribers === 0);
});
afterAll(() => gw.stop());

describe("messageEvents through the fan-out", () => {
  it.each([2, 20])("one execution and the same SQL per message for %i member subscribers of a group", async (n) => {
    const g = await group(tokens[0], `Group of ${n}`, members.slice(1, n + 1));
    const subs = await live(SHARED, tokens.slice(1, n + 1), { c: g });
    expect(hub.size.groups).toBe(1);
    const before = { ...hub.stats };
    await send(tokens[0], g, `hello ${n}`);
    for (const s of subs) {
      await s.waitFor(1);
      expect(events(s)).toEqual([
        {
          __typename: "MessageAdded",
          cursor: expect.any(String),
          notify: true,
          message: { seq: 1, content: { content: `hello ${n}` }, sender: { memberId: members[0] } },
        },
      ]);
    }
    expect(hub.stats.executions - before.executions).toBe(1);
    expect(hub.stats.frames - before.frames).toBe(n);
    // The execution's own statements (the message and its sender); the roster of the group is read once,
    // outside it, for all n (see the statement count below).
    expect(hub.stats.statements - before.statements).toBeLessThanOrEqual(3);
  });

  it("reads a group's membership once for all its subscribers, not once per subscriber", async () => {
    const g = await group(tokens[0], "Roster", members.slice(1, 21));
    const subs = await live(SHARED, tokens.slice(1, 21), { c: g });
    const pool = gw.deps.pool;
    const original = pool.query;
    const rosterReads: string[] = [];
    pool.query = function (this: unknown, ...args: unknown[]) {
      const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? "");
      if (/SELECT member_id::text AS id, muted FROM conversation_member/.test(text)) rosterReads.push(text);
      return (original as (...a: unknown[]) => unknown).apply(pool, args);
    } as typeof pool.query;
    try {
      await send(tokens[0], g, "one");
      await send(tokens[0], g, "two");
      await Promise.all(subs.map((s) => s.waitFor(2)));
    } finally {
      pool.query = original;
    }
    // Read once (when the first message reached the group's subscribers), then kept: 20 subscribers, 2 messages, 1 read.
    expect(rosterReads.length).toBeLessThanOrEqual(1);
  });

  it("a muted member gets notify: false, the others true: one execution per value", async () => {
    const g = await group(tokens[0], "Muted", members.slice(1, 6));
    await gw.data(tokens[3], `mutation($input: SetConversationSettingsInput!) { setConversationSettings(input: $input) { conversation { id } } }`, {
      input: { conversationId: g, muted: true },
    });
    const subs = await live(SHARED, tokens.slice(1, 6), { c: g });
    const before = hub.stats.executions;
    await send(tokens[0], g, "quiet please");
    const notify = await Promise.all(subs.map(async (s) => (await s.waitFor(1)).map((r) => r.data!.messageEvents.notify)));
    expect(notify).toEqual([[true], [true], [false], [true], [true]]);
    expect(hub.stats.executions - before).toBe(2);
  });

  it("a field read per viewer is executed per subscriber: only the sender sees the read receipt", async () => {
    const g = await group(tokens[0], "Receipts", members.slice(1, 4));
    const [sender, ...others] = await live(PER_VIEWER, [tokens[0], ...tokens.slice(1, 4)], { c: g });
    expect(hub.size.groups).toBe(4);
    await send(tokens[0], g, "did you read it?");
    await sender.waitFor(1);
    expect(events(sender)).toEqual([{ cursor: expect.any(String), message: { seq: 1, readReceipt: { unreadCount: 3 } } }]);
    for (const s of others) {
      await s.waitFor(1);
      expect(events(s)).toEqual([{ cursor: expect.any(String), message: { seq: 1, readReceipt: null } }]);
    }
  });

  it("is executed as a subscriber who takes part: one who left the group does not blank it for the others", async () => {
    // No conversation filter: both are in one group, the first to subscribe made it.
    const g = await group(tokens[0], "Leaving", members.slice(1, 3));
    const [leaver] = await live(SHARED, [tokens[1]], {});
    const [stayer] = await live(SHARED, [tokens[2]], {});
    await gw.data(tokens[1], `mutation($input: LeaveGroupInput!) { leaveGroup(input: $input) { conversationId } }`, { input: { id: g } });
    await stayer.waitFor(1); // the membership change
    await send(tokens[0], g, "still here");
    const got = await stayer.waitFor(2);
    expect(got[1].data!.messageEvents).toMatchObject({ __typename: "MessageAdded", message: { content: { content: "still here" } } });
    await new Promise((r) => setTimeout(r, 300));
    // The leaver was told it left, and nothing after.
    expect(events(leaver).map((e) => e.__typename)).toEqual(["MembershipChanged"]);
  });

  it("a member removed while others keep the roster cached receives nothing when subscribing again", async () => {
    const g = await group(tokens[0], "Removal", members.slice(1, 4));
    const [, keeper] = await live(SHARED, [tokens[1], tokens[2]], { c: g });
    await send(tokens[0], g, "before");
    await keeper.waitFor(1);
    await gw.data(tokens[0], `mutation($input: RemoveGroupMembersInput!) { removeGroupMembers(input: $input) { removedCount } }`, {
      input: { id: g, memberIds: [members[3]] },
    });
    await keeper.waitFor(2);
    // Member 3 subscribes (live, all conversations) after the removal; member 4 is added and subscribes.
    const [removed] = await live(SHARED, [tokens[3]], {});
    await gw.data(tokens[0], `mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount } }`, {
      input: { id: g, memberIds: [members[4]] },
    });
    await keeper.waitFor(3);
    const [added] = await live(SHARED, [tokens[4]], { c: g });
    await send(tokens[0], g, "after");
    await keeper.waitFor(4);
    await added.waitFor(1);
    expect(events(added)).toMatchObject([{ __typename: "MessageAdded", message: { content: { content: "after" } } }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(events(removed)).toEqual([]);
  });
});

describe("routing: only the subscribers an event may reach are asked", () => {
  it("an app message to 5 of 20 subscribed members asks only its recipients, each once per event", async () => {
    const subs = await live(SHARED, tokens.slice(0, 20), {});
    const before = { ...hub.stats };
    const res = await gw.data(corp.token, `mutation($input: SendAppMessageInput!) { sendAppMessage(input: $input) { messageCount invalidMemberIds } }`, {
      input: { to: { memberIds: members.slice(0, 5) }, message: { text: { content: "for five" } } },
    });
    expect(res.sendAppMessage).toEqual({ messageCount: 5, invalidMemberIds: [] });
    for (const s of subs.slice(0, 5)) {
      await s.waitFor(2);
      expect(events(s)).toMatchObject([{ __typename: "ConversationCreated" }, { __typename: "MessageAdded", message: { content: { content: "for five" } } }]);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const s of subs.slice(5)) expect(events(s)).toEqual([]);
    // Each of the 5 conversations' events (created, message added) asks its one member: at most 10, not 10 × 20.
    expect(hub.stats.asked - before.asked).toBeLessThanOrEqual(10);
  });

  it("a group's message asks its members who subscribe, not the corp's other subscribers", async () => {
    const g = await group(tokens[0], "Small", members.slice(1, 5));
    const subs = await live(SHARED, tokens.slice(0, 20), {});
    const before = { ...hub.stats };
    await send(tokens[0], g, "five of us");
    for (const s of subs.slice(0, 5)) expect((await s.waitFor(1))[0].data!.messageEvents.message.content.content).toBe("five of us");
    await new Promise((r) => setTimeout(r, 300));
    for (const s of subs.slice(5)) expect(events(s)).toEqual([]);
    expect(hub.stats.asked - before.asked).toBe(5);
  });
});

describe("Rosters", () => {
  const record = (id: number, type: string): EventRecord => ({ id: String(id), type, audience: [], data: {} }) as unknown as EventRecord;

  it("are read again after a newer membership event, and not used by a stream that began after they were read", async () => {
    const g = await group(tokens[0], "Unit", [members[1]]);
    const conversationPk = pk(g);
    const rosters = gw.deps.services.messageEvents.rosters;
    const ctx = new RequestContext(gw.deps, await gw.deps.tokens.authenticate(corp.token), randomUUID());
    const keys = async (floor: number, at: number) => [...(await rosters.get(ctx, conversationPk, record(at, "MESSAGE_ADDED"), BigInt(floor))).keys()].sort();
    const both = [pk(members[0]), pk(members[1])].sort();
    expect(await keys(10, 10)).toEqual(both);
    await gw.deps.pool.query(`DELETE FROM conversation_member WHERE conversation_id = $1 AND member_id = $2`, [conversationPk, pk(members[1])]);
    // An older change (or a stream that began before the read) finds it current: still cached.
    rosters.saw(corp.corpPk, conversationPk, record(9, "MEMBERSHIP_CHANGED"));
    expect(await keys(10, 12)).toEqual(both);
    // A stream that began after it was read does not use it.
    expect(await keys(13, 13)).toEqual([pk(members[0])]);
    await gw.deps.pool.query(`INSERT INTO conversation_member (corp_id, conversation_id, member_id, joined_at) VALUES ($1, $2, $3, now())`, [
      corp.corpPk,
      conversationPk,
      pk(members[1]),
    ]);
    // A newer membership event drops it.
    rosters.saw(corp.corpPk, conversationPk, record(14, "MEMBERSHIP_CHANGED"));
    expect(await keys(13, 14)).toEqual(both);
  });
});

describe("VIEWER_DEPENDENT_FIELDS", () => {
  /**
   * Every field reachable from `MessageEvent` is either the same for every subscriber of a group
   * (same scopes, visibility and role; listed here) or named in VIEWER_DEPENDENT_FIELDS. A new field
   * fails this test until it is put on one side: a field of the caller's own wrongly shared would
   * show one member's value to others.
   */
  const SAME_FOR_EVERY_VIEWER = new Set(
    `MessageEvent.{cursor,type,conversationId,occurredAt,notify} MessageAdded.message MessageRecalled.message MessageReminded.message
     VoteUpdated.message TodoUpdated.message FormSubmitted.message MessageRead.{memberId,upToSeq} ConversationCreated.conversation
     ConversationUpdated.{conversation,changedFields} MembershipChanged.{conversation,addedMemberIds,removedMemberIds}
     Message.{id,kind,createdAt,recalledAt,seq,conversationId,clientMessageId,sender,content}
     MessageSender.{kind,memberId,appId,member,botId,bot} GroupBot.{id,name,createdAt,keyIssuedAt,conversationId}
     TextContent.content MarkdownContent.content ImageContent.{url,name,width,height,sizeBytes} FileContent.{url,name,sizeBytes,mimeType}
     LinkCardContent.{url,title,description,imageUrl} TodoContent.{title,dueAt,assignees,doneCount} TodoAssignee.{memberId,done,doneAt,member}
     VoteContent.{question,options,multiple,closesAt,closed,voterCount} VoteOption.{index,text,votes}
     FormContent.{title,fields,submissionCount} FormField.{index,label,type,required,options} FormAnswer.{fieldIndex,text,number,choices}
     Conversation.{id,kind,name,memberCount,lastMessageAt,createdAt,updatedAt,owner,lastSeq,members} ConversationSettings.{pinned,muted,archived}
     ConversationMembership.{role,joinedAt,memberId,member}`
      .split(/\s+/)
      .filter(Boolean)
      .flatMap((entry) => {
        const [type, fields] = entry.split(".");
        return fields
          .replace(/[{}]/g, "")
          .split(",")
          .map((f) => `${type}.${f}`);
      }),
  );
  // Types of the directory and the connections: the same for every subscriber with the same scopes and visibility (as for `directoryEvents`).
  const DIRECTORY_TYPES = new Set([
    "Member",
    "Department",
    "MemberConnection",
    "MemberEdge",
    "PageInfo",
    "ConversationMembershipConnection",
    "ConversationMembershipEdge",
  ]);

  it("classifies every field reachable from MessageEvent", () => {
    const schema = buildSchema(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));
    const seen = new Set<string>();
    const unclassified: string[] = [];
    const visit = (type: GraphQLNamedType) => {
      if (seen.has(type.name)) return;
      seen.add(type.name);
      if (isUnionType(type)) return type.getTypes().forEach(visit);
      if (isInterfaceType(type)) schema.getPossibleTypes(type).forEach(visit);
      if (!isObjectType(type) && !isInterfaceType(type)) return;
      for (const field of Object.values(type.getFields())) {
        const interfaces = isObjectType(type) ? type.getInterfaces() : [];
        const inherited = interfaces.some((i) => SAME_FOR_EVERY_VIEWER.has(`${i.name}.${field.name}`));
        // A field read per viewer is executed per subscriber, with everything below it.
        if (VIEWER_DEPENDENT_FIELDS.has(field.name)) continue;
        const ok = SAME_FOR_EVERY_VIEWER.has(`${type.name}.${field.name}`) || inherited || DIRECTORY_TYPES.has(type.name);
        if (!ok) unclassified.push(`${type.name}.${field.name}`);
        visit(getNamedType(field.type));
      }
    };
    visit(schema.getType("MessageEvent")!);
    expect(unclassified).toEqual([]);
  });
});

describe("re-checks due at one event", () => {
  let gw0: TestGateway;
  beforeAll(async () => {
    gw0 = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "0" });
  }, 30000);
  afterAll(() => gw0.stop());

  it("read the do-not-disturb windows, and check the member tokens, of all those subscribers in one statement each", async () => {
    const c = await gw0.createCorp("Re-checks");
    const ids: string[] = [];
    const toks: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(await gw0.createMember(c.token, { employeeId: `rc-${i}`, name: `Re-check ${i}`, departmentIds: [c.rootId], status: "ACTIVE" }));
      toks.push(gw0.memberToken(c.corpPk, { clientId: c.clientId }, pk(ids[i])));
    }
    const g = (await gw0.data(toks[0], CREATE_GROUP, { input: { name: "Re-checked", memberIds: ids.slice(1) } })).createGroup.conversation.id as string;
    const hub0 = fanoutOf(gw0.gateway.httpServer)!;
    const sockets = toks.map((t) => gw0.wsClient(t));
    try {
      const subs = sockets.map((s) => gw0.subscribe(s, SHARED, { c: g }));
      await waitUntil(
        () => hub0.size.live === 10,
        10000,
        () => hub0.size,
      );
      const pool = gw0.deps.pool;
      const original = pool.query;
      let windowReads = 0;
      let memberChecks = 0;
      pool.query = function (this: unknown, ...args: unknown[]) {
        const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? "");
        if (/FROM member_do_not_disturb/.test(text)) windowReads++;
        if (/FROM member m\s+LEFT JOIN department_leader/.test(text)) memberChecks++;
        return (original as (...a: unknown[]) => unknown).apply(pool, args);
      } as typeof pool.query;
      try {
        await gw0.data(toks[0], SEND, { input: { conversationId: g, clientMessageId: "rc-1", text: { content: "checked" } } });
        await Promise.all(subs.map((s) => s.waitFor(1)));
      } finally {
        pool.query = original;
      }
      // Ten subscribers re-checked before the one event: one statement for their windows, and one
      // for their ten member tokens' checks (the sender's own request was checked before), not ten each.
      expect(windowReads).toBe(1);
      expect(memberChecks).toBe(2);

      // One of the ten tokens revoked: checked in the same batch as the others, it alone ends.
      const jti = JSON.parse(Buffer.from(toks[4].split(".")[1], "base64url").toString()).jti as string;
      await gw0.sql(`INSERT INTO revoked_token (jti, corp_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`, [jti, c.corpPk]);
      await gw0.data(toks[0], SEND, { input: { conversationId: g, clientMessageId: "rc-2", text: { content: "after the revocation" } } });
      await Promise.all(subs.filter((_, i) => i !== 4).map((s) => s.waitFor(2)));
      const deadline2 = Date.now() + 5000;
      while (!subs[4].completed && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
      expect((subs[4].error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect(subs[4].results).toHaveLength(1);
      for (const [i, sub] of subs.entries()) if (i !== 4) expect(sub.results[1].data!.messageEvents.message.content.content).toBe("after the revocation");
    } finally {
      await Promise.all(sockets.map((s) => s.dispose()));
    }
  });
});

describe("a subscriber no event reaches", () => {
  let gw1: TestGateway;
  beforeAll(async () => {
    gw1 = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "1" });
  }, 30000);
  afterAll(() => gw1.stop());

  it("is still re-checked: a member who resigned is ended within the interval and a half, and frees the slot", async () => {
    const c = await gw1.createCorp("Sweep");
    const id = await gw1.createMember(c.token, { employeeId: "sw-1", name: "Quiet Member", departmentIds: [c.rootId], status: "ACTIVE" });
    const socket = gw1.wsClient(gw1.memberToken(c.corpPk, { clientId: c.clientId }, pk(id)));
    try {
      const sub = gw1.subscribe(socket, SHARED, {});
      const hub1 = fanoutOf(gw1.gateway.httpServer)!;
      await waitUntil(
        () => hub1.size.live === 1,
        10000,
        () => hub1.size,
      );
      await gw1.sql(`UPDATE member SET status = 'RESIGNED' WHERE id = $1`, [pk(id)]);
      // Nothing is sent to it: the channel's sweep re-checks it.
      const ended = Date.now();
      while (!sub.completed && Date.now() - ended < 5000) await new Promise((r) => setTimeout(r, 50));
      expect(sub.completed).toBe(true);
      expect(Date.now() - ended).toBeLessThan(3000);
      expect((sub.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect(sub.results).toEqual([]);
      expect(hub1.size.subscribers).toBe(0);
    } finally {
      await socket.dispose();
    }
  });
});
