import { randomInt } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import Redis from "ioredis";
import { pk, TestGateway, type TestCorp } from "./harness";
import { clientKey } from "../src/ratelimit/ip-throttle";

/**
 * Per-IP throttles on the sign-in and activation forms and on the token endpoint (issue 11,
 * finding 8): the per-account lockout does not stop one address from trying one password on many
 * accounts. Client addresses come from X-Forwarded-For (TRUST_PROXY=loopback), a fresh one per
 * test, so tests (and reruns against the same Redis) never share a budget.
 */

const REDIRECT = "http://localhost:3000/callback";
const PASSWORD = "Correct-horse-9";
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

interface Fixture {
  gw: TestGateway;
  corp: TestCorp;
  clientId: string;
  memberId: string;
}

async function fixture(env: Record<string, string>): Promise<Fixture> {
  const gw = await TestGateway.start({ TRUST_PROXY: "loopback", ...env });
  const corp = await gw.createCorp("Acme");
  const app = (
    await gw.data(corp.token, `mutation($input: CreateAppInput!) { createApp(input: $input) { app { clientId } } }`, {
      input: { name: "Portal", scopes: ["directory:read"], redirectUris: [REDIRECT] },
    })
  ).createApp.app;
  const memberId = (
    await gw.data(corp.token, `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`, {
      input: { employeeId: "alice", name: "Alice", departmentIds: [corp.rootId] },
    })
  ).createMember.member.id;
  return { gw, corp, clientId: app.clientId, memberId };
}

/** The sign-in page as a browser at `ip` gets it: its cookie and form token. */
async function signInForm(f: Fixture, ip: string) {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: f.clientId,
    redirect_uri: REDIRECT,
    scope: "openid",
    code_challenge: "x".repeat(43),
    code_challenge_method: "S256",
  });
  const res = await fetch(`${f.gw.url}/oauth/authorize?${query}`, { headers: { "x-forwarded-for": ip } });
  const html = await res.text();
  const cookie = res.headers.getSetCookie()[0].split(";")[0];
  const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
  return (login: string, password: string, headers: Record<string, string> = {}) =>
    fetch(`${f.gw.url}/oauth/authorize`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie, "x-forwarded-for": ip, ...headers },
      body: new URLSearchParams({ ...hidden, login, password }),
      redirect: "manual",
    });
}

const tokenFrom = (f: Fixture, ip: string) =>
  fetch(`${f.gw.url}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "Basic " + Buffer.from(`${f.corp.clientId}:${f.corp.clientSecret}`).toString("base64"),
      "x-forwarded-for": ip,
    },
    body: "grant_type=client_credentials",
  });

const counts = async (f: Fixture) => ({
  signIns: (await f.gw.sql(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'SIGN_IN'`))[0].n as number,
  tokens: (await f.gw.sql(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'TOKEN_ISSUED'`))[0].n as number,
  attempts: (await f.gw.sql(`SELECT failed_attempts FROM member_credential WHERE member_id = $1`, [pk(f.memberId)]))[0]?.failed_attempts as number | undefined,
});

describe("per-IP throttles (in memory)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({ SIGNIN_IP_LIMIT_PER_MINUTE: "3", TOKEN_IP_LIMIT_PER_MINUTE: "3" });
    // Alice gets a password through her activation page (one activation post from its own address).
    const link = (
      await f.gw.data(f.corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url } }`, { input: { memberId: f.memberId } })
    ).createActivationLink;
    const url = link.url.replace(f.gw.config.publicUrl, f.gw.url);
    const ip = randomIp();
    const page = await fetch(url, { headers: { "x-forwarded-for": ip } });
    const token = /name="form_token" value="([^"]+)"/.exec(await page.text())![1];
    const set = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: page.headers.getSetCookie()[0].split(";")[0], "x-forwarded-for": ip },
      body: new URLSearchParams({ form_token: token, password: PASSWORD, password_again: PASSWORD }),
    });
    expect(set.status).toBe(200);
  });
  afterAll(() => f.gw.stop());

  it("the 4th sign-in post of a minute from one address gets 429 with Retry-After, before any account is looked up; other addresses go on", async () => {
    const ip = randomIp();
    const post = await signInForm(f, ip);
    const before = await counts(f);
    for (const login of ["alice", "bob", "carol"]) expect((await post(login, "Wrong-password-1")).status).toBe(401);
    const mid = await counts(f);
    expect(mid).toEqual({ ...before, signIns: before.signIns + 3, attempts: (before.attempts ?? 0) + 1 });
    for (const [login, password] of [
      ["alice", "Wrong-password-2"],
      ["dave", "Wrong-password-1"],
      ["alice", PASSWORD],
    ]) {
      const refused = await post(login, password);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
      expect(refused.headers.get("x-frame-options")).toBe("DENY");
      const html = await refused.text();
      expect(html).toContain("Too many attempts from your network");
      expect(html).toContain(`Wait ${retryAfter} seconds`);
    }
    // Refused before the account lookup: no audit row, no failed attempt, no argon2 verification.
    expect(await counts(f)).toEqual(mid);
    // Another address is not affected: Alice signs in.
    const other = await (await signInForm(f, randomIp()))("alice", PASSWORD);
    expect(other.status).toBe(303);
    expect(new URL(other.headers.get("location")!).searchParams.get("code")).toBeTruthy();
  });

  it("a cross-site post is refused (403) without spending the address's budget", async () => {
    const ip = randomIp();
    const post = await signInForm(f, ip);
    for (let i = 0; i < 5; i++) expect((await post("alice", "Wrong-password-1", { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post("alice", PASSWORD)).status).toBe(303);
  });

  it("activation posts share the forms budget", async () => {
    const ip = randomIp();
    const post = await signInForm(f, ip);
    for (let i = 0; i < 3; i++) expect((await post("nobody", "Wrong-password-1")).status).toBe(401);
    const link = (
      await f.gw.data(f.corp.token, `mutation($input: MemberIdInput!) { createActivationLink(input: $input) { url } }`, { input: { memberId: f.memberId } })
    ).createActivationLink;
    const url = link.url.replace(f.gw.config.publicUrl, f.gw.url);
    const page = await fetch(url, { headers: { "x-forwarded-for": ip } });
    const token = /name="form_token" value="([^"]+)"/.exec(await page.text())![1];
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: page.headers.getSetCookie()[0].split(";")[0], "x-forwarded-for": ip },
      body: new URLSearchParams({ form_token: token, password: "Another-pass-1", password_again: "Another-pass-1" }),
    });
    expect(res.status).toBe(429);
    expect(
      await f.gw.sql(`SELECT used_at FROM activation_link WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [url.split("/").pop()]),
    ).toEqual([{ used_at: null }]);
  });

  it("the 4th token request of a minute from one address gets 429 slow_down with Retry-After; nothing issued", async () => {
    const ip = randomIp();
    const before = await counts(f);
    for (let i = 0; i < 3; i++) expect((await tokenFrom(f, ip)).status).toBe(200);
    const refused = await tokenFrom(f, ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect(await refused.json()).toEqual({
      error: "slow_down",
      error_description: expect.stringMatching(/^Too many token requests from this address: retry in \d+ s\.$/),
    });
    expect((await counts(f)).tokens).toBe(before.tokens + 3);
    expect((await tokenFrom(f, randomIp())).status).toBe(200);
  });

  it("revoke and introspect share the token endpoints' budget: past it, 429 slow_down before the client is authenticated (no more audit rows); refusals record the address", async () => {
    const ip = randomIp();
    const call = (endpoint: string, secret: string) =>
      fetch(`${f.gw.url}/oauth/${endpoint}`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${f.corp.clientId}:${secret}`).toString("base64"),
          "x-forwarded-for": ip,
        },
        body: "token=whatever",
      });
    const refusals = async () =>
      (await f.gw.sql(`SELECT ip, detail->>'reason' AS reason FROM audit_log WHERE action = 'TOKEN_REFUSED' AND ip = $1`, [ip])).length;
    expect((await call("introspect", "wrong-secret")).status).toBe(401);
    expect((await call("revoke", "wrong-secret")).status).toBe(401);
    expect((await tokenFrom(f, ip)).status).toBe(200);
    expect(await f.gw.sql(`SELECT ip, detail->>'reason' AS reason FROM audit_log WHERE action = 'TOKEN_REFUSED' AND ip = $1`, [ip])).toEqual([
      { ip, reason: "client authentication failed" },
      { ip, reason: "client authentication failed" },
    ]);
    for (const endpoint of ["introspect", "revoke", "token"]) {
      for (const secret of ["wrong-secret", f.corp.clientSecret]) {
        const refused = endpoint === "token" ? await tokenFrom(f, ip) : await call(endpoint, secret);
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(refused.headers.get("cache-control")).toBe("no-store");
        expect(await refused.json()).toEqual({
          error: "slow_down",
          error_description: expect.stringMatching(/^Too many token requests from this address: retry in \d+ s\.$/),
        });
      }
    }
    expect(await refusals()).toBe(2);
  });

  it("IPv6 addresses count by /64", async () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002:ffff:0:0:9")).toBe("2001:db8:1:2::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("10.1.2.3")).toBe("10.1.2.3");
    const prefix = `2001:db8:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;
    for (let i = 1; i <= 3; i++) expect((await tokenFrom(f, `${prefix}::${i}`)).status).toBe(200);
    expect((await tokenFrom(f, `${prefix}:1:2:3:4`)).status).toBe(429);
  });
});

const redisUrl = process.env.REDIS_URL;
(redisUrl ? describe : describe.skip)("per-IP throttles shared through Redis (REDIS_URL)", () => {
  let a: Fixture;
  let b: TestGateway;
  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl!, TOKEN_IP_LIMIT_PER_MINUTE: "4", SIGNIN_IP_LIMIT_PER_MINUTE: "4", TRUST_PROXY: "loopback" };
    a = await fixture(env);
    // A second instance on the same Redis (its own database: the budget lives in Redis only).
    b = await TestGateway.start(env);
  });
  afterAll(async () => {
    await a?.gw.stop();
    await b?.stop();
  });

  it("two gateways share one budget per address", async () => {
    const ip = randomIp();
    const viaB = { ...a, gw: b } as Fixture;
    // b is another database: the client's token requests there fail authentication, but count all the same.
    expect((await tokenFrom(a, ip)).status).toBe(200);
    expect((await tokenFrom(viaB, ip)).status).toBe(401);
    expect((await tokenFrom(a, ip)).status).toBe(200);
    expect((await tokenFrom(viaB, ip)).status).toBe(401);
    const refusedA = await tokenFrom(a, ip);
    const refusedB = await tokenFrom(viaB, ip);
    expect([refusedA.status, refusedB.status]).toEqual([429, 429]);
    expect(((await refusedB.json()) as { error: string }).error).toBe("slow_down");
    expect((await tokenFrom(a, randomIp())).status).toBe(200);
  });
});

(redisUrl ? describe : describe.skip)("per-IP throttles when Redis is unreachable", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({ REDIS_URL: "redis://127.0.0.1:1", TOKEN_IP_LIMIT_PER_MINUTE: "2", SIGNIN_IP_LIMIT_PER_MINUTE: "2" });
  });
  afterAll(() => f.gw.stop());

  it("each instance still counts in memory, and tokens are still issued", async () => {
    const ip = randomIp();
    expect((await tokenFrom(f, ip)).status).toBe(200);
    expect((await tokenFrom(f, ip)).status).toBe(200);
    expect((await tokenFrom(f, ip)).status).toBe(429);
  });
});

/**
 * A TCP proxy in front of the real Redis that can stop forwarding (both ways) while keeping every
 * connection open: a Redis that accepts connections but no longer answers.
 */
async function stallableProxy(target: { host: string; port: number }) {
  let forwarding = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (chunk) => forwarding && upstream.write(chunk));
    upstream.on("data", (chunk) => forwarding && client.write(chunk));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    stall: () => void (forwarding = false),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

(redisUrl ? describe : describe.skip)("per-IP throttles when Redis accepts connections but stops answering", () => {
  let f: Fixture;
  let proxy: Awaited<ReturnType<typeof stallableProxy>>;
  let redis: Redis;
  beforeAll(async () => {
    const target = new URL(redisUrl!);
    proxy = await stallableProxy({ host: target.hostname, port: Number(target.port || 6379) });
    redis = new Redis(redisUrl!, { lazyConnect: true });
    await redis.connect();
    // The fixture's own token request comes from 127.0.0.1, whose count in Redis outlives a run.
    await redis.del("workgraph:ip-throttle:token:127.0.0.1");
    f = await fixture({ REDIS_URL: proxy.url, TOKEN_IP_LIMIT_PER_MINUTE: "2", SIGNIN_IP_LIMIT_PER_MINUTE: "2" });
  });
  afterAll(async () => {
    await f?.gw.stop();
    await proxy?.close();
    redis?.disconnect();
  });

  it("token requests still answer within well under a second (200, then 429 past the limit), counted in memory; once the silent connection is dropped, at once", async () => {
    // Through the proxy, the count is in Redis first.
    const ip = randomIp();
    for (let i = 0; i < 50 && !(await redis.exists(`workgraph:ip-throttle:token:${ip}`)); i++) {
      expect((await tokenFrom(f, ip)).status).not.toBe(500);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await redis.exists(`workgraph:ip-throttle:token:${ip}`)).toBe(1);
    proxy.stall();
    const other = randomIp();
    const timed = async () => {
      const started = Date.now();
      const res = await fetch(`${f.gw.url}/oauth/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${f.corp.clientId}:${f.corp.clientSecret}`).toString("base64"),
          "x-forwarded-for": other,
        },
        body: "grant_type=client_credentials",
        signal: AbortSignal.timeout(3000),
      });
      return { status: res.status, ms: Date.now() - started };
    };
    const answers = [await timed(), await timed(), await timed()];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    for (const a of answers) expect(a.ms).toBeLessThan(800);
    // Nothing reached Redis for that address.
    expect(await redis.exists(`workgraph:ip-throttle:token:${other}`)).toBe(0);
    // After a second without an answer the connection is dropped; while the new one is not ready,
    // requests go to memory at once instead of waiting for each command's timeout.
    await new Promise((r) => setTimeout(r, 1500));
    const later = [await timed(), await timed()];
    expect(later.map((a) => a.status)).toEqual([429, 429]);
    for (const a of later) expect(a.ms).toBeLessThan(150);
  });
});
