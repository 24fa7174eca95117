import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import WebSocket from "ws";
import { createClient, type Client as WsClient } from "graphql-ws";
import { REDIS_SERVER, TestGateway, TestRedis, Subscription, freePort, pk, type TestCorp, type Untyped } from "./harness";
import { feedKey, STREAMS } from "../src/events/log";
import type { Gateway } from "../src/server";

/**
 * Issue 14, item 10 and "Done when": messaging across gateway instances sharing PostgreSQL and
 * Redis. Instance A is a separate OS process running the compiled build (dist/src/main.js, as
 * `npm run start:prod` does), instance B is in this process (TestGateway), both on the same
 * database and Redis. Only the public API (GraphQL over HTTP and graphql-ws) drives the behaviour;
 * SQL only asserts rows.
 *
 * - A message A acknowledged just before it was killed with SIGKILL reaches B's live subscriber
 *   and a subscriber resuming on B with `after`, each exactly once and in order.
 * - 500 messages sent (through both instances) while a client is disconnected arrive in order on
 *   resume with `after`, none missed or repeated.
 * - A message sent through one instance reaches a subscriber on the other within 1 s (the relay's
 *   poll is 2 s): B's bus is told through Redis.
 */

const ROOT = path.resolve(__dirname, "..");
/** The machine's Redis (REDIS_URL) when set, else one this file starts: either way the gateways' channel is their database's own. */
const SHARED_REDIS = process.env.REDIS_URL;

const EVENTS = `subscription($c: ID, $after: String) {
  messageEvents(conversationId: $c, after: $after) {
    __typename cursor type conversationId
    ... on MessageAdded { message { id seq content { ... on TextContent { content } } } }
  }
}`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }`;

const adminUrl = () => process.env.WORKGRAPH_TEST_DATABASE_URL ?? process.env.DATABASE_URL!;
const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/** POST /graphql on `url`; the raw body (the caller checks errors). */
async function post(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Untyped> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

/** Like `post`, failing on any error; returns `data`. */
async function data(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Untyped> {
  const body = await post(url, token, query, variables);
  if (body.errors?.length) throw new Error(`GraphQL errors from ${url}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The next notification `gateway`'s bus hands its relay for the corp's messages feed (from Redis, or from its own writes). */
function nextNotification(gateway: Gateway, corpPk: string): Promise<string> {
  const iterator = gateway.deps.bus.subscribe("events", feedKey(corpPk, STREAMS.messages))[Symbol.asyncIterator]();
  return iterator.next().then((r) => {
    void iterator.return?.();
    return r.value as string;
  });
}

/** Resolves with `promise`'s value, or with `undefined` after `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

/** A gateway instance in its own OS process (the compiled build). */
interface Instance {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const describeWithRedis = SHARED_REDIS || REDIS_SERVER ? describe : describe.skip;

describeWithRedis("messaging across gateway instances (PostgreSQL + Redis)", () => {
  jest.setTimeout(60_000);
  let redisServer: TestRedis | undefined;
  let redisUrl: string;
  let redis: Redis;
  let channel: string;
  let b: TestGateway;
  let corp: TestCorp;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  const instances: Instance[] = [];
  const clients: WsClient[] = [];
  let n = 0;

  const wsClient = (url: string, token: string) => {
    const client = createClient({
      url: url.replace(/^http/, "ws") + "/graphql",
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };
  const subscribe = (url: string, token: string, variables: Record<string, unknown> = {}) => {
    const client = wsClient(url, token);
    return { client, sub: new Subscription(client, EVENTS, variables) };
  };
  const sendInput = (conversationId: string, content: string) => ({ input: { conversationId, clientMessageId: `x-${++n}`, text: { content } } });
  const send = async (url: string, token: string, conversationId: string, content: string): Promise<{ id: string; seq: number }> =>
    (await data(url, token, SEND, sendInput(conversationId, content))).sendMessage.message;
  const group = async (name: string, memberIds: string[]): Promise<string> =>
    (await b.data(t.alice, CREATE_GROUP, { input: { name, memberIds } })).createGroup.conversation.id;
  const events = (sub: Subscription) =>
    sub.results.map((r) => {
      if (!r.data?.messageEvents) throw new Error(`not an event: ${JSON.stringify(r)}`);
      return r.data.messageEvents;
    });
  /** The texts of the messages a subscriber received, in order, without the warm-ups (see `live`). */
  const texts = (sub: Subscription): string[] =>
    events(sub)
      .filter((e) => e.__typename === "MessageAdded" && !e.message.content.content.startsWith("warm-up"))
      .map((e) => e.message.content.content);
  /**
   * Waits until each of `subs` (live-only streams) is open: a warm-up message into `g`, sent through
   * `url` after they started, reached them (sent again until it does).
   */
  const live = (subs: Subscription[], url: string, g: string) =>
    waitUntil("the subscribers are live", async () => {
      for (const s of subs) if (s.completed) throw new Error(`subscription ended: ${JSON.stringify(s.error ?? s.results)}`);
      if (subs.some((s) => !s.results.length)) await send(url, t.alice, g, `warm-up ${n}`);
      return Promise.all(subs.map((s) => s.waitFor(1, 1000))).then(
        () => subs.every((s) => s.results.length > 0),
        () => false,
      );
    });
  /** Subscribers of the gateways' Redis channel (each instance's bus subscribes once). */
  const channelSubscribers = async () => Number(((await redis.pubsub("NUMSUB", channel)) as [string, number])[1]);

  /** Starts instance A (dist/src/main.js) on the database and Redis of B; resolves once it is ready and its bus is subscribed. */
  const startInstance = async (): Promise<Instance> => {
    const port = await freePort();
    const subscribersBefore = await channelSubscribers();
    let stderr = "";
    const child = spawn(process.execPath, [path.join(ROOT, "dist/src/main.js")], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: withDatabase(adminUrl(), b.database),
        REDIS_URL: redisUrl,
        PORT: String(port),
        HOST: "127.0.0.1",
        PUBLIC_URL: "http://workgraph.test",
        LOG_LEVEL: "silent",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const instance: Instance = { url: `http://127.0.0.1:${port}`, child, exited };
    instances.push(instance);
    await waitUntil("instance A is ready with Redis", async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`instance A exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
      const res = await fetch(`${instance.url}/readyz`).catch(() => undefined);
      return res?.status === 200 && ((await res.json()) as Untyped).redis === "ok";
    });
    // Its bus's SUBSCRIBE is acknowledged (readyz only says the connection is up).
    await waitUntil("instance A's bus subscribed to the channel", async () => (await channelSubscribers()) > subscribersBefore);
    return instance;
  };

  beforeAll(async () => {
    // The compiled build, brought up to date (under the build lock test/cli.test.ts also takes).
    const built = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [path.join(ROOT, "scripts/run-compiled.js"), "--build-only"], { cwd: ROOT, timeout: 110_000 }, (error, _stdout, stderr) =>
        resolve({ code: error ? 1 : 0, stderr }),
      ),
    );
    expect(built).toMatchObject({ code: 0 });
    expect(existsSync(path.join(ROOT, "dist/src/main.js"))).toBe(true);
    if (SHARED_REDIS) redisUrl = SHARED_REDIS;
    else {
      redisServer = await TestRedis.start();
      redisUrl = redisServer.url;
    }
    redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => 50 });
    await redis.connect().catch(() => undefined);
    await waitUntil("Redis answers", async () => (await redis.ping().catch(() => "")) === "PONG");
    b = await TestGateway.start({ REDIS_URL: redisUrl });
    // The channel of this database's gateways (src/server.ts: one channel per deployment).
    channel = `workgraph:events:${(await b.sql<{ id: string }>(`SELECT id::text FROM deployment`))[0].id}`;
    await waitUntil("instance B's bus subscribed to the channel", async () => (await channelSubscribers()) === 1);
    corp = await b.createCorp("Two Instances");
    for (const name of ["alice", "bob", "carol"]) {
      m[name] = await b.createMember(corp.token, { employeeId: name, name, departmentIds: [corp.rootId], status: "ACTIVE" });
      t[name] = b.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
  }, 120_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    for (const instance of instances.splice(0)) {
      if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill("SIGKILL");
      await instance.exited;
    }
  });
  afterAll(async () => {
    await b?.stop();
    redis?.disconnect();
    await redisServer?.stop();
  });

  it("a message A acknowledged right before kill -9 reaches B's live subscriber and a resuming one, each exactly once", async () => {
    const g = await group("Killed", [m.bob, m.carol]);
    const a = await startInstance();
    // Bob follows the group live on B; Carol follows all her conversations on B, then disconnects.
    const bob = subscribe(b.url, t.bob, { c: g }).sub;
    const carol = subscribe(b.url, t.carol);
    await live([bob, carol.sub], b.url, g);
    const carolEvents = events(carol.sub);
    const carolCursor = carolEvents[carolEvents.length - 1].cursor;
    await carol.client.dispose();
    await sleep(100);

    const heard = nextNotification(b.gateway, corp.corpPk);
    const started = Date.now();
    const body = await post(a.url, t.alice, SEND, sendInput(g, "acknowledged, then killed"));
    // The acknowledgement is in: A dies at once, without any chance to clean up.
    process.kill(a.child.pid!, "SIGKILL");
    const ackMs = Date.now() - started;
    expect(body.errors).toBeUndefined();
    const acked = body.data.sendMessage.message;
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });

    // Bob, live on B, receives it exactly once (through Redis, or at B's next read of the log).
    await waitUntil("Bob received it", () => texts(bob).length >= 1, 10_000);
    const liveMs = Date.now() - started;
    const viaRedis = (await within(heard, 0)) !== undefined;
    // Carol resumes on B after her last cursor: the message, exactly once.
    const resumed = subscribe(b.url, t.carol, { after: carolCursor }).sub;
    await waitUntil("Carol received it on resume", () => texts(resumed).length >= 1, 10_000);
    // A marker sent through B after the message: once it arrived, anything before it (a repeat) would have too.
    await send(b.url, t.alice, g, "marker");
    await waitUntil("both received the marker", () => texts(bob).length >= 2 && texts(resumed).length >= 2, 10_000);
    await sleep(300);
    expect(texts(bob)).toEqual(["acknowledged, then killed", "marker"]);
    expect(texts(resumed)).toEqual(["acknowledged, then killed", "marker"]);
    const message = (sub: Subscription) => events(sub).find((e) => e.message?.id === acked.id);
    expect(message(bob).message).toEqual({ id: acked.id, seq: acked.seq, content: { content: "acknowledged, then killed" } });
    expect(message(resumed)).toEqual(message(bob));
    // Carol's resumed stream: every event after her cursor, ascending.
    const cursors = [carolCursor, ...events(resumed).map((e) => e.cursor)].map(BigInt);
    expect(cursors.every((c, i) => i === 0 || c > cursors[i - 1])).toBe(true);
    // The row and its event are in the database.
    expect(await b.sql(`SELECT seq::int, content FROM message WHERE id = $1`, [pk(acked.id)])).toEqual([
      { seq: acked.seq, content: expect.objectContaining({ content: "acknowledged, then killed" }) },
    ]);
    expect(await b.sql(`SELECT type FROM event WHERE stream = 'messages' AND type = 'MESSAGE_ADDED' AND subject_id = $1`, [pk(acked.id)])).toHaveLength(1);
    process.stdout.write(
      `kill -9: acknowledged by A in ${ackMs} ms; live on B after ${liveMs} ms from the send (${viaRedis ? "B's bus was told through Redis" : "B's bus was not told: delivered at B's poll of the log"})\n`,
    );
  });

  it("500 messages sent through both instances while a client is disconnected arrive in order on resume, none missed or repeated", async () => {
    // Four groups of Carol's (one conversation serialises its sends: spread, the 500 take a few seconds).
    const groups: string[] = [];
    for (let i = 1; i <= 4; i++) groups.push(await group(`Five hundred ${i}`, [m.bob, m.carol]));
    const a = await startInstance();
    // Carol's stream (all her conversations) from now on: "before" arrives, then she disconnects.
    const carol = subscribe(b.url, t.carol, { after: await b.eventMark(corp.corpPk) });
    await send(b.url, t.alice, groups[0], "before");
    await carol.sub.waitFor(1, 10_000);
    expect(texts(carol.sub)).toEqual(["before"]);
    const cursor = events(carol.sub)[0].cursor;
    await carol.client.dispose();

    // 500 sends from Alice, 8 at a time, into the four groups in turn, each group through A and B alternately.
    const started = Date.now();
    const sent: Array<{ id: string; seq: number; conversationId: string; content: string }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 500) {
          const i = next++;
          const conversationId = groups[i % 4];
          const content = `message ${i + 1}`;
          const message = await send(Math.floor(i / 4) % 2 ? a.url : b.url, t.alice, conversationId, content);
          sent.push({ ...message, conversationId, content });
        }
      }),
    );
    const sendMs = Date.now() - started;

    const resumedAt = Date.now();
    const resumed = subscribe(b.url, t.carol, { after: cursor }).sub;
    await resumed.waitFor(500, 20_000);
    const resumeMs = Date.now() - resumedAt;
    // Then live: one more, through A; it comes right after the 500 and nothing else does.
    await send(a.url, t.alice, groups[1], "after");
    await resumed.waitFor(501, 10_000);
    await sleep(300);
    const got = events(resumed);
    expect(got).toHaveLength(501);
    expect(got.every((e) => e.__typename === "MessageAdded")).toBe(true);
    expect(got[500].message.content.content).toBe("after");
    // Each message exactly once, as sent.
    const received = got.slice(0, 500);
    expect(received.map((e) => ({ id: e.message.id, seq: e.message.seq, conversationId: e.conversationId, content: e.message.content.content }))).toEqual(
      expect.arrayContaining(sent),
    );
    expect(new Set(received.map((e) => e.message.id)).size).toBe(500);
    // In order: cursors ascending, and each group's messages by seq without a gap (seq 1 is "before" in the first group).
    const cursors = got.map((e) => BigInt(e.cursor));
    expect(cursors.every((c, i) => c > (i === 0 ? BigInt(cursor) : cursors[i - 1]))).toBe(true);
    for (const [i, g] of groups.entries()) {
      const seqs = received.filter((e) => e.conversationId === g).map((e) => e.message.seq);
      const from = i === 0 ? 2 : 1;
      expect(seqs).toEqual(Array.from({ length: 125 }, (_, k) => from + k));
    }
    expect(await b.sql(`SELECT count(*)::int AS n FROM message WHERE conversation_id = ANY($1::bigint[])`, [groups.map(pk)])).toEqual([{ n: 502 }]);
    process.stdout.write(`500 messages: sent in ${sendMs} ms (8 at a time, through A and B), replayed on resume in ${resumeMs} ms\n`);
  });

  it("a message sent through one instance reaches a subscriber on the other within 1 s, through Redis", async () => {
    const g = await group("Across", [m.bob, m.carol]);
    const a = await startInstance();
    // Bob live on B, Carol live on A; each stream is open once a message sent after it started reaches it.
    const bob = subscribe(b.url, t.bob, { c: g }).sub;
    const carol = subscribe(a.url, t.carol, { c: g }).sub;
    await live([bob, carol], b.url, g);
    const latencies: Record<string, number[]> = { "A to B": [], "B to A": [] };
    // Three rounds each way, one after the other: a delivery by the 2 s poll would miss the 1 s bound.
    for (let round = 1; round <= 3; round++) {
      const heard = nextNotification(b.gateway, corp.corpPk);
      let started = Date.now();
      await send(a.url, t.alice, g, `A to B ${round}`);
      // B's bus was told by A through Redis (B's own poll reads the log without telling its bus).
      expect(await within(heard, Math.max(0, 1000 - (Date.now() - started)))).toBeDefined();
      await waitUntil(`Bob received "A to B ${round}"`, () => texts(bob).includes(`A to B ${round}`), 5000);
      latencies["A to B"].push(Date.now() - started);

      started = Date.now();
      await send(b.url, t.alice, g, `B to A ${round}`);
      await waitUntil(`Carol received "B to A ${round}"`, () => texts(carol).includes(`B to A ${round}`), 5000);
      latencies["B to A"].push(Date.now() - started);
    }
    for (const ms of Object.values(latencies)) expect(Math.max(...ms)).toBeLessThan(1000);
    // Each side received each message exactly once.
    await sleep(300);
    const sentTexts = [1, 2, 3].flatMap((r) => [`A to B ${r}`, `B to A ${r}`]);
    for (const sub of [bob, carol]) expect(texts(sub)).toEqual(sentTexts);
    process.stdout.write(
      `across instances (send to delivery, incl. the mutation): A to B ${latencies["A to B"].join(", ")} ms; B to A ${latencies["B to A"].join(", ")} ms\n`,
    );
  });
});
