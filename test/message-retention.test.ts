import { TestGateway, expectOneError, pk, type TestCorp } from "./harness";
import type { Clock } from "../src/services/clock";

/**
 * Retention (issue 14 item 2; source §2, 90 days): the job's function run directly with an injected
 * clock on back-dated rows: it deletes what is older than 90 days (in batches, one instance at a
 * time), records where each conversation's history starts, `messages` says so in
 * `historyPurgedBefore`, and an `after` cursor into the purged part is BAD_USER_INPUT on `after`.
 */

const MESSAGES = `query($c: ID!, $first: Int, $after: String) {
  messages(conversationId: $c, first: $first, after: $after) { totalCount historyPurgedBefore pageInfo { endCursor } nodes { seq } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { seq } } }`;
const DAY = 24 * 3600_000;

describe("message retention", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let alice: string;
  let aliceToken: string;
  let n = 0;
  const now = new Date(Date.now() + 3600_000);
  const retention = () => gw.deps.services.messageRetention as unknown as { clock: Clock; purge(batch?: number): Promise<number> };

  const group = async (name: string) =>
    (
      await gw.data(aliceToken, `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`, {
        input: { name, memberIds: [] },
      })
    ).createGroup.conversation.id as string;
  const send = (conversationId: string, count: number) =>
    Array.from({ length: count }).reduce<Promise<unknown>>(
      (p) => p.then(() => gw.data(aliceToken, SEND, { input: { conversationId, clientMessageId: `r-${++n}`, text: { content: `m${n}` } } })),
      Promise.resolve(),
    );
  /** Back-dates the messages of `conversationId` with seq <= `upTo` to `days` days before the job's now. */
  const backdate = (conversationId: string, upTo: number, days: number) =>
    gw.sql(`UPDATE message SET created_at = $3 WHERE conversation_id = $1 AND seq <= $2`, [pk(conversationId), upTo, new Date(now.getTime() - days * DAY)]);
  const page = async (c: string, first: number, after?: string) => (await gw.data(aliceToken, MESSAGES, { c, first, after })).messages;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    alice = await gw.createMember(corp.token, { employeeId: "alice", name: "Alice", departmentIds: [corp.rootId], status: "ACTIVE" });
    aliceToken = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(alice));
    retention().clock = { now: () => now };
  });
  afterAll(() => gw.stop());

  it("purges messages older than 90 days, records where history starts, and refuses a cursor into the purged part", async () => {
    const c = await group("Old and new");
    await send(c, 5);
    const before = await page(c, 2);
    expect(before).toMatchObject({ totalCount: 5, historyPurgedBefore: null, nodes: [{ seq: 1 }, { seq: 2 }] });
    const afterOne = (await page(c, 1)).pageInfo.endCursor;
    const afterThree = (await page(c, 3)).pageInfo.endCursor;
    await backdate(c, 3, 91);
    await gw.sql(`UPDATE message SET created_at = $2 WHERE conversation_id = $1 AND seq = 4`, [pk(c), new Date(now.getTime() - 89 * DAY)]);

    expect(await retention().purge()).toBe(3);
    const cutoff = new Date(now.getTime() - 90 * DAY).toISOString();
    expect(await gw.sql(`SELECT seq::int FROM message WHERE conversation_id = $1 ORDER BY seq`, [pk(c)])).toEqual([{ seq: 4 }, { seq: 5 }]);
    expect(await gw.sql(`SELECT purged_seq::int, history_purged_before, last_seq::int FROM conversation WHERE id = $1`, [pk(c)])).toEqual([
      { purged_seq: 3, history_purged_before: new Date(cutoff), last_seq: 5 },
    ]);
    expect(await page(c, 10)).toMatchObject({ totalCount: 2, historyPurgedBefore: cutoff, nodes: [{ seq: 4 }, { seq: 5 }] });

    // A cursor into the purged part would skip seq 2 and 3: refused, naming `after`.
    const refused = await gw.gql(aliceToken, MESSAGES, { c, first: 10, after: afterOne });
    expect(refused.body.data ?? null).toBeNull();
    expectOneError(refused, "BAD_USER_INPUT", "after");
    expect(refused.body.errors![0].message).toBe(
      `The history of this conversation before ${cutoff} was purged (messages are kept 90 days): messages after this cursor up to seq 3 are gone. Start again without after (the oldest kept message comes first).`,
    );
    // Right after the last purged message nothing is missing.
    expect((await page(c, 10, afterThree)).nodes).toEqual([{ seq: 4 }, { seq: 5 }]);
    // New messages go on numbering after the purge.
    await send(c, 1);
    expect((await page(c, 10, afterThree)).nodes).toEqual([{ seq: 4 }, { seq: 5 }, { seq: 6 }]);
    // Nothing more is due.
    expect(await retention().purge()).toBe(0);
  });

  it("leaves conversations with nothing old alone (historyPurgedBefore null), and their answers go with purged messages", async () => {
    const fresh = await group("Fresh");
    await send(fresh, 2);
    const old = await group("Old vote");
    const vote = await gw.data(aliceToken, `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }`, {
      input: { conversationId: old, clientMessageId: "vote", vote: { question: "Lunch?", options: ["Yes", "No"] } },
    });
    await gw.data(aliceToken, `mutation($input: CastVoteInput!) { castVote(input: $input) { message { id } } }`, {
      input: { messageId: vote.sendMessage.message.id, options: [0] },
    });
    await backdate(old, 1, 100);
    expect(await retention().purge()).toBe(1);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM message_ballot WHERE message_id = $1`, [pk(vote.sendMessage.message.id)])).toEqual([{ n: 0 }]);
    expect(await page(fresh, 10)).toMatchObject({ totalCount: 2, historyPurgedBefore: null });
    expect(await page(old, 10)).toMatchObject({ totalCount: 0, historyPurgedBefore: new Date(now.getTime() - 90 * DAY).toISOString(), nodes: [] });
  });

  it("purges in batches, and two runs at once (two instances) purge each message once", async () => {
    const a = await group("Batch A");
    const b = await group("Batch B");
    await send(a, 5);
    await send(b, 4);
    await backdate(a, 5, 120);
    await backdate(b, 4, 95);
    const runs = await Promise.all([retention().purge(2), retention().purge(2)]);
    expect(runs[0] + runs[1]).toBe(9);
    expect(await gw.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = ANY($1::bigint[])`, [[pk(a), pk(b)]])).toEqual([{ n: 0 }]);
    expect(await gw.sql(`SELECT purged_seq::int FROM conversation WHERE id = ANY($1::bigint[]) ORDER BY id`, [[pk(a), pk(b)]])).toEqual([
      { purged_seq: 5 },
      { purged_seq: 4 },
    ]);
  });
});
