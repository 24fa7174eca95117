import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import Redis from "ioredis";
import { createServer } from "node:net";
import { Client, type QueryResultRow } from "pg";
import WebSocket from "ws";
import { createClient, type Client as WsClient } from "graphql-ws";
import { loadConfig, type Config } from "../src/config";
import { setLogLevel } from "../src/log";
import { createDataSource, poolOf } from "../src/db/data-source";
import { migrate } from "../src/db/migrate";
import { createGateway, DIAGNOSTICS_HEADER, type Gateway } from "../src/server";
import { Edition } from "../src/domain/enums";
import { parseGlobalId, toGlobalId } from "../src/schema/global-id";
import type { Scope } from "../src/policy/scopes";
import { ALL_SCOPES } from "../src/policy/scopes";

/**
 * End-to-end test harness: each test file gets its own database (created from the server in
 * WORKGRAPH_TEST_DATABASE_URL, migrated, dropped at the end) and a gateway on a free port; tests
 * talk to it over real HTTP and WebSocket.
 */

/**
 * A value a test reads field by field without declaring its shape (a GraphQL result, an SQL row, a
 * JSON body): the assertions on it are the check. The one place the suites spell `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
export type Untyped = any;

export interface GqlResponse<D = Untyped> {
  status: number;
  headers: Headers;
  /** The body's `extensions.cost` (issue 13), taken out of `body` so the suites compare bodies as the API defines them. */
  cost?: Untyped;
  body: {
    data?: D | null;
    errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, Untyped> }>;
    extensions?: Record<string, Untyped>;
  };
}

export interface TestCorp {
  corpPk: string;
  corpId: string;
  rootPk: string;
  rootId: string;
  appPk: string;
  clientId: string;
  clientSecret: string;
  /** Access token of the administrator app (every scope, whole corp). */
  token: string;
}

export interface TestApp {
  appPk: string;
  clientId: string;
  clientSecret: string;
  token: string;
}

/**
 * Moves a response's `extensions.cost` (every charged response has one; test/rate-limits.test.ts
 * checks it exactly) from `body` to `cost`, so the other suites assert bodies as before.
 */
export function withCost<R extends { body: GqlResponse["body"]; cost?: Untyped }>(res: R): R {
  const extensions = res.body?.extensions;
  if (!extensions || !("cost" in extensions)) return res;
  const { cost, ...rest } = extensions;
  const body = { ...res.body };
  if (Object.keys(rest).length) body.extensions = rest;
  else delete body.extensions;
  return { ...res, body, cost };
}

/** The machine's redis-server binary, if any: tests that stop and restart a Redis start their own. */
export const REDIS_SERVER = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));

/**
 * A Redis server of a test's own on a free port (the machine's is shared with every other test file):
 * `stop()` kills it (SIGKILL, an outage), `start()` starts it again on the same port.
 */
export class TestRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {}

  static async start(extraArgs: readonly string[] = []): Promise<TestRedis> {
    if (!REDIS_SERVER) throw new Error("no redis-server on this machine");
    const redis = new TestRedis(await freePort(), extraArgs);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it answers PING. */
  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...this.extraArgs];
    this.process = spawn(REDIS_SERVER!, args, { stdio: "ignore" });
    const probe = new Redis(this.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50 });
    await probe.connect().catch(() => undefined);
    const until = Date.now() + 10_000;
    while ((await probe.ping().catch(() => "")) !== "PONG") {
      if (Date.now() > until) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 25));
    }
    probe.disconnect();
  }

  /** Kills the server (no shutdown: an outage as the gateway sees it). */
  stop(): Promise<void> {
    const running = this.process;
    if (!running || running.exitCode !== null || running.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  }
}

/** A TCP port free on 127.0.0.1 right now (for a server a test starts itself, e.g. an example app). */
/** Waits, polling every 20 ms, until `condition` holds; after `ms` it throws, with `state()` in the message. */
export async function waitUntil(condition: () => boolean, ms = 10000, state: () => unknown = () => undefined): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time${state() === undefined ? "" : `: ${JSON.stringify(state())}`}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The primary key inside a global id (the test fails with a TypeError on an id that is not one). */
export const pk = (id: string): string => parseGlobalId(id)!.pk;

/** The tables `snapshot` can read, each with the order it reads them in. */
const SNAPSHOT_ORDER = {
  corp: "id",
  department: "id",
  department_leader: "department_id, member_id",
  member: "id",
  member_department: "member_id, department_id",
  event: "id",
} as const;
export type SnapshotTable = keyof typeof SNAPSHOT_ORDER;
/** The tables a directory write may touch: departments, leaders, members, memberships and the event log. */
export const DIRECTORY_TABLES: readonly SnapshotTable[] = ["department", "department_leader", "member", "member_department", "event"];

/** The single error of a response, with the data next to it (compare it with `refused`). */
export function failure(res: GqlResponse) {
  expect(res.body.errors).toHaveLength(1);
  const [e] = res.body.errors!;
  return { data: res.body.data, message: e.message, path: e.path, extensions: e.extensions };
}
export type Failure = ReturnType<typeof failure>;

/** What `failure` gives for a refused root field `path`: no data, the message, `code` and (when defined) the offending `field`. */
export const refused = (path: string, code: string, field: string | undefined, message: string): Failure => ({
  data: null,
  message,
  path: [path],
  extensions: field === undefined ? { code } : { code, field },
});

/** Text that must never reach a client: a stack trace or a source position. */
export const STACK_TRACE = /stack|\bat .*\.ts:\d+/i;

/** `res` holds exactly one error whose extensions are `{ code }` (or `{ code, field }`), and no part of the body matches `leak`. */
export function expectOneError(res: GqlResponse, code: string, field?: string, leak: RegExp = STACK_TRACE, details: Record<string, unknown> = {}): void {
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors![0].extensions).toEqual(field ? { code, field, ...details } : { code, ...details });
  expect(JSON.stringify(res.body)).not.toMatch(leak);
}

/** Runs `work` and expects `read()` to give the same before and after it (a refused write leaves every row alone). */
export async function expectUnchanged<T>(read: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
  const before = await read();
  const result = await work();
  expect(await read()).toEqual(before);
  return result;
}

function adminUrl(): string {
  const url = process.env.WORKGRAPH_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error("WORKGRAPH_TEST_DATABASE_URL is unset: run the tests through jest (global-setup.mjs)");
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export class TestGateway {
  private constructor(
    readonly gateway: Gateway,
    readonly config: Config,
    readonly url: string,
    readonly database: string,
  ) {}

  /** A fresh database and a gateway on a free port. `env` overrides configuration. */
  static async start(env: Record<string, string> = {}): Promise<TestGateway> {
    const database = `wg_test_${randomBytes(6).toString("hex")}`;
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = withDatabase(adminUrl(), database);
    const config = loadConfig({ PUBLIC_URL: "http://workgraph.test", LOG_LEVEL: "silent", DATABASE_URL: url, ...env });
    setLogLevel(config.logLevel);
    const dataSource = createDataSource(url, 10);
    await dataSource.initialize();
    await migrate(dataSource);
    const gateway = await createGateway(config, dataSource);
    // PORT pins the port (an OIDC test needs PUBLIC_URL to name the server itself); default: any free one.
    const port = await gateway.listen(env.PORT ? config.port : 0, "127.0.0.1");
    return new TestGateway(gateway, config, `http://127.0.0.1:${port}`, database);
  }

  /**
   * Another gateway instance on this one's database (several instances behind a load balancer):
   * its own process-wide parts and port; `stop()` it before this one, it leaves the database alone.
   */
  async sibling(env: Record<string, string> = {}): Promise<{ gateway: Gateway; url: string; stop: () => Promise<void> }> {
    const url = withDatabase(adminUrl(), this.database);
    const config = loadConfig({ PUBLIC_URL: "http://workgraph.test", LOG_LEVEL: "silent", DATABASE_URL: url, ...env });
    const dataSource = createDataSource(url, 10);
    await dataSource.initialize();
    const gateway = await createGateway(config, dataSource);
    const port = await gateway.listen(0, "127.0.0.1");
    return { gateway, url: `http://127.0.0.1:${port}`, stop: () => gateway.stop() };
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    await admin.end();
  }

  get deps() {
    return this.gateway.deps;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, "ws") + "/graphql";
  }

  /** Runs SQL on the test database directly (to arrange or assert rows). */
  async sql<R extends QueryResultRow = Untyped>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await poolOf(this.deps.dataSource).query<R>(text, params)).rows;
  }

  /** Every row of `tables`, each in a stable order, by table name: what a refused write must leave as it was. */
  async snapshot(tables: readonly SnapshotTable[] = DIRECTORY_TABLES): Promise<Record<string, unknown[]>> {
    const rows = await Promise.all(tables.map((t) => this.sql(`SELECT * FROM ${t} ORDER BY ${SNAPSHOT_ORDER[t]}`)));
    return Object.fromEntries(tables.map((t, i) => [t, rows[i]]));
  }

  /** Sends a write that must be refused: its one error is exactly `expected` (see `failure`) and no row of `tables` changed. */
  async expectRefused(send: () => Promise<GqlResponse>, expected: Failure, tables: readonly SnapshotTable[] = DIRECTORY_TABLES): Promise<GqlResponse> {
    return expectUnchanged(
      () => this.snapshot(tables),
      async () => {
        const res = await send();
        expect(failure(res)).toEqual(expected);
        return res;
      },
    );
  }

  /** The newest event id ("0" when there is none), of one corp or of all: the events after it are the ones a test caused. */
  async eventMark(corpPk?: string): Promise<string> {
    const rows = await (corpPk === undefined
      ? this.sql<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM event`)
      : this.sql<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM event WHERE corp_id = $1`, [corpPk]));
    return rows[0].id;
  }

  /**
   * The events after `mark`, oldest first, with the directory columns they had before the log had streams
   * (migration EventStreams): `member_id` and `department_id` from the subject, `scope_paths` from the audience.
   */
  async eventsSince(mark: string) {
    return this.sql(
      `SELECT corp_id, type,
              CASE WHEN subject_type = 'Member' THEN subject_id END AS member_id,
              CASE WHEN subject_type = 'Department' THEN subject_id END AS department_id,
              audience AS scope_paths, data
         FROM event WHERE id > $1 ORDER BY id`,
      [mark],
    );
  }

  /** createDepartment through GraphQL (failing the test on any error); returns the new department's id. */
  async createDepartment(token: string, input: Record<string, unknown>): Promise<string> {
    const data = await this.data(token, `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id } } }`, { input });
    return data.createDepartment.department.id;
  }

  /** createMember through GraphQL (failing the test on any error); returns the new member's id. */
  async createMember(token: string, input: Record<string, unknown>): Promise<string> {
    const data = await this.data(token, `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`, { input });
    return data.createMember.member.id;
  }

  /** POST /graphql with a bearer token (or none). `debugSql` adds extensions.diagnostics.sqlStatements. */
  async gql<D = Untyped>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
    opts: { debugSql?: boolean; headers?: Record<string, string> } = {},
  ): Promise<GqlResponse<D>> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json", ...opts.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.debugSql) headers[DIAGNOSTICS_HEADER] = "sql";
    const res = await fetch(`${this.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return withCost({ status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<D>["body"] });
  }

  /** Like `gql`, but fails the test on any error and returns `data`. */
  async data<D = Untyped>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<D> {
    const res = await this.gql<D>(token, query, variables);
    if (res.body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.body.errors)}`);
    return res.body.data as D;
  }

  /** The client-credentials grant over HTTP; returns the response JSON and status. */
  async tokenRequest(form: Record<string, string>, basic?: { id: string; secret: string }): Promise<{ status: number; body: Untyped; headers: Headers }> {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (basic) headers.authorization = "Basic " + Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString("base64");
    const res = await fetch(`${this.url}/oauth/token`, { method: "POST", headers, body: new URLSearchParams(form).toString() });
    return { status: res.status, body: await res.json(), headers: res.headers };
  }

  /** An access token for an app, by HTTP Basic at /oauth/token. */
  async token(clientId: string, clientSecret: string, scope?: string): Promise<string> {
    const res = await this.tokenRequest({ grant_type: "client_credentials", ...(scope ? { scope } : {}) }, { id: clientId, secret: clientSecret });
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.access_token;
  }

  /** A new corp (root department + administrator app) and its admin token. */
  async createCorp(name = `Corp ${randomBytes(3).toString("hex")}`, edition = Edition.PROFESSIONAL): Promise<TestCorp> {
    const corp = await this.deps.services.corps.create({ name, edition });
    return {
      corpPk: corp.corpPk,
      corpId: toGlobalId("Corp", corp.corpPk),
      rootPk: corp.rootDepartmentPk,
      rootId: toGlobalId("Department", corp.rootDepartmentPk),
      appPk: corp.appPk,
      clientId: corp.clientId,
      clientSecret: corp.clientSecret,
      token: await this.token(corp.clientId, corp.clientSecret),
    };
  }

  /** An app of `corpPk` with `scopes` over the subtrees of `departmentPks` (null: whole corp), and its token. */
  async createApp(corpPk: string, scopes: Scope[], departmentPks: string[] | null = null): Promise<TestApp> {
    const app = await this.deps.services.apps.create({ corpPk, name: "Test app", scopes, departmentPks });
    return { appPk: app.appPk, clientId: app.clientId, clientSecret: app.clientSecret, token: await this.token(app.clientId, app.clientSecret) };
  }

  /**
   * Mints a token for a member acting through an app (what SSO will issue): the member's role
   * (corp admin, leader of the departments in `department_leader`, or plain member) then applies.
   */
  memberToken(corpPk: string, app: { clientId: string }, memberPk: string, scopes: readonly string[] = ALL_SCOPES): string {
    return this.deps.tokens.issue({ clientId: app.clientId, corpId: corpPk, scopes, memberId: memberPk }).token;
  }

  /** A graphql-ws client with the token in connectionParams.authorization. */
  wsClient(token: string | null, opts: { lazy?: boolean } = {}): WsClient {
    return createClient({
      url: this.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      lazy: opts.lazy ?? true,
      retryAttempts: 0,
      // A non-lazy client reports a close it did not ask for here (the tests assert on it instead).
      onNonLazyError: () => {},
    });
  }

  /** Subscribes and collects results; `take(n)` waits for n more. Call `stop()` to unsubscribe. */
  subscribe(client: WsClient, query: string, variables?: Record<string, unknown>): Subscription {
    return new Subscription(client, query, variables);
  }
}

export class Subscription {
  readonly results: Array<{ data?: Untyped; errors?: Untyped[] }> = [];
  /** The `extensions.cost` of each result that had one (queries and mutations, never events). */
  readonly costs: Untyped[] = [];
  private waiters: Array<() => void> = [];
  private unsubscribe: () => void;
  completed = false;
  error: unknown;

  constructor(client: WsClient, query: string, variables?: Record<string, unknown>) {
    this.unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          // A query or mutation over the socket carries extensions.cost: kept apart, as `gql` does.
          const { body, cost } = withCost<{ body: GqlResponse["body"]; cost?: Untyped }>({ body: value as GqlResponse["body"] });
          this.results.push(body);
          if (cost !== undefined) this.costs.push(cost);
          this.wake();
        },
        error: (e) => {
          this.error = e;
          this.completed = true;
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Waits until at least `count` results arrived (or the subscription ended); rejects after `ms`. */
  async waitFor(count: number, ms = 5000): Promise<Array<{ data?: Untyped; errors?: Untyped[] }>> {
    const deadline = Date.now() + ms;
    while (this.results.length < count && !this.completed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} results; got ${this.results.length}: ${JSON.stringify(this.results)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.results;
  }

  stop(): void {
    this.unsubscribe();
  }
}

/** GraphQL fragments the suites share. */
export const gqlDepartment = `id name depth order parent { id } `;

const unescapeHtml = (v: string) =>
  v
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/**
 * GETs a page with a form, as a browser would: its status, HTML, hidden fields, the form cookie it
 * set (or `cookie` when the browser already had one), and a `post` that sends the form back with the
 * cookie, the hidden fields and `fields`.
 */
export async function formOf(url: string, cookie?: string) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  const html = await res.text();
  const set = res.headers.getSetCookie().map((c) => c.split(";")[0]);
  const jar = set.length ? set.join("; ") : (cookie ?? "");
  const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], unescapeHtml(m[2])]));
  const action = new URL(/<form method="post"(?: action="([^"]+)")?/.exec(html)?.[1] ?? url, url);
  const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar, ...headers },
      body: new URLSearchParams({ ...hidden, ...fields }),
      redirect: "manual",
    });
  return { status: res.status, headers: res.headers, html, hidden, cookie: jar, setCookie: res.headers.getSetCookie(), post };
}
