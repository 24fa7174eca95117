"use strict";
// `npm run bench:ratelimit`: the CPU a q1 request spends on cost analysis and rate limiting
// (issue 13, "Done when": at most 5 % of q1's gateway CPU per request with the buckets in memory,
// 10 % with Redis; Apollo Router's demand control is the anchor).
//
// In one process, on the compiled gateway (bench/.build, as `npm run bench` builds it), with the
// shared harness's q1 document and a q1 result of its real size, it times with
// `process.cpuUsage()` (user + system CPU of this process, every thread: GC included), after a
// warm-up, `--rounds` rounds of `--iterations` calls, and reports the median round (min..max):
//
//  a. the cost analysis: `checkOperation` (document caps, issue 11; it existed before issue 13);
//  b. the rate limit with the buckets in memory, as the Apollo plugin runs it per request
//     (`RateLimits.admit` = `RateLimiter.charge`: one bucket take; then `RateLimits.respond` =
//     `actualCost` over the result, `RateLimiter.settle` (a refund, since q1's members are in fewer
//     departments than the 3 the analysis counts), the RateLimit headers and `extensions.cost`),
//     and each part on its own;
//  c. the same with the buckets in Redis (`ResilientBuckets` over `RedisBuckets` on the gateway's
//     own `throttleRedis` connection: one EVALSHA round trip for the take, one for the refund),
//     one request at a time (c=1, every call its own write and read) and 32 at once (c=32, as
//     q1's 32 connections); the gateway's CPU, and the Redis server's CPU per request from
//     /proc/<redis-server pid>/stat (10 ms ticks; anything else using that Redis counts too).
//
// Then the table against q1's gateway CPU per request: `--q1-us`, else the last "gateway us/req"
// figure at 32 connections in bench/RESULTS.md (`npm run bench`). `--write` appends the table to
// bench/RESULTS.md as a new dated section.
//
// Options: --iterations 20000 (in-memory calls per round)  --redis-iterations 4000  --rounds 9
//          --redis redis://127.0.0.1:6379 (REDIS_URL; "none" skips c)  --skip-build
//          --response <file> (a real q1 response body, {"data": …}, instead of the built one)
//          --q1-us <µs> --q1-source <text>  --write  --json <file>
// Environment: BENCH_PROJECT_DIR (another checkout, see lib/gateway.js).

// As the gateway runs in the benchmarks (lib/gateway.js serverEnv): graphql-js checks its types'
// classes more slowly outside production, and reads this when it is first required.
process.env.NODE_ENV = process.env.NODE_ENV || "production";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { parseArgs } = require("node:util");
const gw = require("./lib/gateway");

// The shared harness's q1 (anchor-target.js; bench/run.js sends the same document).
const Q1 = "query Q1($id: ID!) { department(id: $id) { id name members(first: 50) { nodes { employeeId name title departments { name } } } } }";
const RESULTS_MD = path.join(__dirname, "RESULTS.md");

const median = (xs) => {
  const v = xs.slice().sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * A q1 result of the real size: the department, 50 members, each in 1-3 departments, 2.1 on average
 * (the real answers over the q1 fixtures: 2.06; they are large departments, whose members belong to
 * more than the dataset's 1.7); about 7.5 KB of JSON like the real answers (avg 7,508 B). `actualCost`
 * reads its shape, not its text. `--response` takes a real answer instead.
 */
function builtQ1Result() {
  const counts = [2, 2, 3, 1, 2, 3, 2, 1, 2, 3]; // 21 per 10 members: 2.1
  const nodes = [];
  for (let i = 0; i < 50; i++) {
    const departments = [];
    for (let k = 0; k < counts[i % counts.length]; k++) departments.push({ name: `Department ${(i * 7 + k * 131) % 1000} Operations` });
    nodes.push({ employeeId: `E${String(100000 + i * 37).padStart(7, "0")}`, name: `Member ${i} Lastname${i}`, title: "Senior Engineer", departments });
  }
  return { data: { department: { id: Buffer.from("Department:42").toString("base64url"), name: "Department 42 Operations", members: { nodes } } } };
}

/** The redis-server process listening on `port` (by its command line), for its CPU ticks. */
function redisServerPid(port) {
  const candidates = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (!stat.includes("(redis-server)")) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
      candidates.push({ pid: Number(d), cmd });
    } catch {
      /* exited */
    }
  }
  const onPort = candidates.find((c) => c.cmd.includes(`:${port}`));
  return (onPort || (candidates.length === 1 ? candidates[0] : null))?.pid ?? null;
}

/** utime + stime of `pid` in µs (10 ms ticks). */
function procCpuUs(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/**
 * Runs `body(i)` `iterations` times per round, `concurrency` chains at once (each awaits its own
 * calls), after one untimed round; answers CPU µs per iteration (median, min, max over rounds) and,
 * with `redisPid`, the Redis server's.
 */
async function timeIt(body, { iterations, rounds, concurrency = 1, redisPid = null, sync = false }) {
  const round = async () => {
    if (sync) {
      for (let i = 0; i < iterations; i++) body(i);
      return;
    }
    let next = 0;
    const chain = async () => {
      while (next < iterations) await body(next++);
    };
    await Promise.all(Array.from({ length: concurrency }, chain));
  };
  await round(); // warm-up
  const us = [];
  const redisUs = [];
  for (let r = 0; r < rounds; r++) {
    if (global.gc) global.gc();
    const r0 = redisPid ? procCpuUs(redisPid) : 0;
    const c0 = cpuUs();
    await round();
    const c1 = cpuUs();
    if (redisPid) redisUs.push((procCpuUs(redisPid) - r0) / iterations);
    us.push((c1 - c0) / iterations);
  }
  return {
    us: median(us),
    min: Math.min(...us),
    max: Math.max(...us),
    redisUs: redisPid ? median(redisUs) : null,
  };
}

/** The latest q1 gateway CPU per request at 32 connections in bench/RESULTS.md (a "gateway us/req" column). */
function q1FromResults() {
  if (!fs.existsSync(RESULTS_MD)) return null;
  const lines = fs.readFileSync(RESULTS_MD, "utf8").split("\n");
  let found = null;
  let section = null;
  let column = -1;
  for (const line of lines) {
    if (/^##+ /.test(line)) section = line.replace(/^#+ /, "");
    if (!line.startsWith("|")) {
      column = -1;
      continue;
    }
    const cells = line.split("|").map((c) => c.trim());
    if (column < 0) {
      column = cells.indexOf("gateway us/req");
      continue;
    }
    if (cells[1] === "32" && Number(cells[column]) > 0) found = { us: Number(cells[column]), source: `bench/RESULTS.md, ${section}` };
  }
  return found;
}

const fmt = (n, digits = 1) => (n === null || n === undefined ? "n/a" : n.toFixed(digits));
const pct = (n, base) => `${((100 * n) / base).toFixed(2)} %`;

async function main() {
  const { values: opt } = parseArgs({
    options: {
      iterations: { type: "string", default: "20000" },
      "redis-iterations": { type: "string", default: "4000" },
      rounds: { type: "string", default: "9" },
      redis: { type: "string", default: process.env.REDIS_URL || "redis://127.0.0.1:6379" },
      "skip-build": { type: "boolean", default: false },
      response: { type: "string" },
      "q1-us": { type: "string" },
      "q1-source": { type: "string" },
      write: { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const iterations = Number(opt.iterations);
  const redisIterations = Number(opt["redis-iterations"]);
  const rounds = Number(opt.rounds);

  if (!opt["skip-build"]) {
    console.log("building the gateway (bench/.build) ...");
    try {
      gw.build();
    } catch (e) {
      // tsc exits with 2 on type errors and still emits (another change in progress elsewhere in src/).
      if (!fs.existsSync(path.join(gw.BUILD, "src", "http", "rate-limits.js"))) throw e;
      console.log("warning: tsc reported errors (above); timing the emitted code");
    }
  }
  const build = (p) => path.join(gw.BUILD, "src", p);
  const requireBuilt = (p) => require(build(p));
  require(require.resolve("reflect-metadata", { paths: [gw.PROJECT] }));
  const { parse, getOperationAST } = require(require.resolve("graphql", { paths: [gw.PROJECT] }));
  const { HeaderMap } = require(require.resolve("@apollo/server", { paths: [gw.PROJECT] }));
  const { buildWorkgraphSchema } = requireBuilt("schema/build");
  const { loadConfig } = requireBuilt("config");
  const { checkOperation, documentLimits } = requireBuilt("limits/document-limits");
  const { actualCost } = requireBuilt("limits/actual-cost");
  const { MemoryBuckets, RedisBuckets, ResilientBuckets } = requireBuilt("ratelimit/bucket");
  const { RateLimiter } = requireBuilt("ratelimit/rate-limiter");
  const { RateLimits } = requireBuilt("http/rate-limits");
  const { rateLimitHeaders, costExtension } = requireBuilt("ratelimit/headers");
  const { EDITION_LIMITS } = requireBuilt("domain/editions");

  const schema = await buildWorkgraphSchema();
  const limits = documentLimits(loadConfig({ NODE_ENV: "production" }));
  const document = parse(Q1);
  const operation = getOperationAST(document, "Q1");
  const variables = { id: Buffer.from("Department:42").toString("base64url") };
  const result = opt.response ? JSON.parse(fs.readFileSync(opt.response, "utf8")) : builtQ1Result();
  if (!result.data?.department?.members?.nodes?.length) throw new Error("the response has no data.department.members.nodes");
  const members = result.data.department.members.nodes;
  const resultBytes = Buffer.byteLength(JSON.stringify({ data: result.data }));
  // The bench's caller: the corp's admin app, PROFESSIONAL (lib/gateway.js createCorp), its own token.
  const principalOf = (appId) => ({
    corpId: "1",
    appId: String(appId),
    clientId: `bench-${appId}`,
    scopes: new Set(),
    visibleRoots: null,
    member: null,
    edition: "PROFESSIONAL",
    appRateLimit: null,
  });
  const principal = principalOf(1);
  const analysis = checkOperation(schema, document, "Q1", variables, principal, limits);
  const actual = actualCost(schema, document, operation, {}, result.data);
  const spec = EDITION_LIMITS.PROFESSIONAL;
  console.log(
    `q1: requested ${analysis.cost} points, actual ${actual} (${members.length} members, ${fmt(members.reduce((a, m) => a + m.departments.length, 0) / members.length, 2)} departments each), result ${resultBytes} B` +
      (opt.response ? ` (${opt.response})` : " (built to q1's size)"),
  );

  const report = {
    started: new Date().toISOString(),
    machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg().map((x) => +x.toFixed(2)) },
    commit: (() => {
      try {
        return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: gw.PROJECT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      } catch {
        return null;
      }
    })(),
    dirty: (() => {
      try {
        return (
          execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: gw.PROJECT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
            .length > 0
        );
      } catch {
        return null;
      }
    })(),
    options: { iterations, redisIterations, rounds, response: opt.response ?? "built" },
    q1: { requested: analysis.cost, actual, resultBytes },
    rows: {},
  };
  const row = (key, label, r, extra = {}) => {
    report.rows[key] = { label, ...r, ...extra };
    console.log(
      `${label}: ${fmt(r.us, 2)} µs (${fmt(r.min, 2)}..${fmt(r.max, 2)})${r.redisUs !== null && r.redisUs !== undefined ? `, redis-server ${fmt(r.redisUs, 2)} µs` : ""}`,
    );
  };

  // The per-request objects the plugin sees: the context, and Apollo's response with its headers.
  const requestOf = (p) => {
    const ctx = { principal: p, clientIp: "127.0.0.1", rateLimit: null };
    return {
      ctx,
      requestContext: {
        contextValue: ctx,
        document,
        operation,
        schema,
        response: { http: { headers: new HeaderMap() }, body: { kind: "single", singleResult: { data: result.data } } },
      },
    };
  };

  // What the harness itself costs (the objects above, a resolved await): subtracted from b and c.
  const empty = await timeIt(
    async () => {
      const { requestContext } = requestOf(principal);
      await Promise.resolve(requestContext);
    },
    { iterations, rounds },
  );
  row("harness", "harness only (objects + one await; subtracted below)", empty);

  // a. The cost analysis.
  row(
    "analysis",
    "a. checkOperation (cost analysis and caps)",
    await timeIt(() => checkOperation(schema, document, "Q1", variables, principal, limits), { iterations, rounds, sync: true }),
  );

  // b. The buckets in memory. The clock moves on so that the app's bucket refills a little more
  // than q1's actual cost per request: it stays in the map (a busy app's bucket is never full) and
  // is never empty (a THROTTLED refusal is another path).
  let offset = 0;
  const stepMs = ((actual + 2) * 1000) / spec.restoreRate / 2; // two clock reads per request
  const memoryLimiter = new RateLimiter(new MemoryBuckets(() => Date.now() + (offset += stepMs)));
  const memory = new RateLimits(memoryLimiter);
  const perRequest = (rateLimits, p) => async () => {
    const { ctx, requestContext } = requestOf(p);
    await rateLimits.admit(ctx, analysis);
    await rateLimits.respond(requestContext);
    if (ctx.rateLimit.throttled || ctx.rateLimit.actual !== actual) throw new Error(`unexpected charge ${JSON.stringify(ctx.rateLimit)}`);
  };
  const memRow = await timeIt(perRequest(memory, principal), { iterations, rounds });
  row("memory", "b. admit + respond, buckets in memory (gross)", memRow);
  // Its parts.
  row(
    "actualCost",
    "   actualCost over the result",
    await timeIt(() => actualCost(schema, document, operation, {}, result.data), { iterations, rounds, sync: true }),
  );
  // Take and refund on their own (as settle gives back after a charge), on the clock of b.
  row(
    "buckets",
    "   RateLimiter.charge + settle (memory take and refund)",
    await timeIt(
      async () => {
        const charge = await memoryLimiter.charge(principal, "127.0.0.1", analysis.cost);
        await memoryLimiter.settle(principal, "127.0.0.1", charge, actual);
      },
      { iterations, rounds },
    ),
  );
  const charged = await memoryLimiter.charge(principal, "127.0.0.1", analysis.cost);
  row(
    "headers",
    "   RateLimit headers + extensions.cost",
    await timeIt(
      () => {
        const h = new HeaderMap();
        for (const [name, value] of Object.entries(rateLimitHeaders(charged))) h.set(name, value);
        return costExtension(charged);
      },
      { iterations, rounds, sync: true },
    ),
  );

  // c. The buckets in Redis.
  if (opt.redis !== "none") {
    const { throttleRedis } = requireBuilt("ratelimit/ip-throttle");
    const redis = throttleRedis(opt.redis);
    await new Promise((resolve, reject) => {
      if (redis.status === "ready") return resolve();
      redis.once("ready", resolve);
      redis.once("error", reject);
    });
    const redisPid = redisServerPid(new URL(opt.redis).port || "6379");
    report.redisServerPid = redisPid;
    report.redisVersion = (/redis_version:(\S+)/.exec(await redis.info("server")) || [])[1];
    const prefix = `workgraph:bench-ratelimit:${process.pid}:`;
    // Redis's clock is real: spread the calls over enough apps' buckets that none runs dry.
    const apps = Array.from({ length: 5000 }, (_, i) => principalOf(i + 1));
    // A Redis call that fails or takes over the connection's 250 ms command timeout (a stalled, busy
    // machine) goes to memory in ResilientBuckets: counted, so that a row says how many calls did.
    let fallbacks = 0;
    const countedMemory = () => {
      const memoryStore = new MemoryBuckets();
      for (const name of ["take", "refund", "peek"]) {
        const call = memoryStore[name].bind(memoryStore);
        memoryStore[name] = (...args) => {
          fallbacks++;
          return call(...args);
        };
      }
      return memoryStore;
    };
    const resilient = new RateLimits(new RateLimiter(new ResilientBuckets(redis, prefix, countedMemory())));
    const plain = new RateLimits(new RateLimiter(new RedisBuckets(redis, prefix)));
    const redisRequest = (rateLimits) => async (i) => {
      try {
        await perRequest(rateLimits, apps[i % apps.length])();
      } catch (e) {
        if (!/timed out/i.test(String(e?.message))) throw e;
        fallbacks++; // RedisBuckets alone: the timed-out call is lost
      }
    };
    const redisRow = async (key, label, body, options) => {
      fallbacks = 0;
      const r = await timeIt(body, { iterations: redisIterations, rounds, redisPid, ...options });
      const calls = (rounds + 1) * redisIterations * (key === "redisTake1" ? 1 : 2);
      row(key, label, r, { fallbacks, calls });
      if (fallbacks) console.log(`   (${fallbacks} of ${calls} Redis calls timed out or failed and went to memory)`);
    };
    await redisRow("redis1", "c. admit + respond, buckets in Redis, c=1 (gross)", redisRequest(resilient));
    await redisRow("redis32", "c. admit + respond, buckets in Redis, c=32 (gross)", redisRequest(resilient), { concurrency: 32 });
    await redisRow("redisPlain1", "   the same on RedisBuckets alone (no fallback wrapper), c=1 (gross)", redisRequest(plain));
    // One round trip instead of two: what a request would cost if its refund travelled with a later take.
    const takeOnly = new RateLimiter(new ResilientBuckets(redis, prefix, countedMemory()));
    await redisRow("redisTake1", "   RateLimiter.charge alone on Redis (one EVALSHA), c=1", (i) =>
      takeOnly.charge(apps[i % apps.length], "127.0.0.1", analysis.cost),
    );
    // Clean up this run's keys (they expire on their own within ~20 s anyway).
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    redis.disconnect();
  }

  // The table.
  const q1 = opt["q1-us"] ? { us: Number(opt["q1-us"]), source: opt["q1-source"] || "--q1-us" } : q1FromResults();
  report.q1.gatewayUs = q1?.us ?? null;
  report.q1.gatewaySource = q1?.source ?? null;
  report.finished = new Date().toISOString();
  report.machine.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
  const md = markdown(report);
  console.log(`\n${md}`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(report, null, 1));
  if (opt.write) {
    fs.appendFileSync(RESULTS_MD, `\n${md}`);
    console.log("appended to bench/RESULTS.md");
  }
}

function markdown(r) {
  const base = r.q1.gatewayUs;
  const h = r.rows.harness.us;
  const net = (key) => (r.rows[key] ? Math.max(0, r.rows[key].us - h) : null);
  const a = r.rows.analysis.us;
  const share = (us) => (base ? pct(us, base) : "n/a");
  const lines = [
    `## npm run bench:ratelimit (${r.started.slice(0, 10)}): CPU of cost analysis and rate limiting per q1 request`,
    "",
    `- at commit ${r.commit}${r.dirty ? " (with uncommitted changes in src/)" : ""}; Node ${r.machine.node}; ${r.machine.nproc} x ${r.machine.cpu}; load average ${r.machine.loadavg.join(", ")} at the start, ${r.machine.loadavgEnd.join(", ")} at the end (shared cores)`,
    `- q1 as the shared harness sends it, PROFESSIONAL app token: requested cost ${r.q1.requested} points, actual ${r.q1.actual} (one refund per request); result ${r.q1.resultBytes} B (${r.options.response === "built" ? "built to q1's size: 50 members in 2.1 departments each" : r.options.response})`,
    `- process.cpuUsage() (user + system, GC included) per call; median of ${r.options.rounds} rounds (min..max) after a warm-up round; ${r.options.iterations} calls per round in memory, ${r.options.redisIterations} with Redis${r.redisVersion ? ` (Redis ${r.redisVersion} on the same cores, ioredis over the gateway's own throttleRedis connection)` : ""}`,
    `- net = gross minus the harness's own objects and await (${fmt(h, 2)} µs)`,
    `- q1's gateway CPU per request: ${base ? `${base} µs (${r.q1.gatewaySource})` : "unknown (pass --q1-us)"}`,
    "",
    "| per q1 request | gateway CPU µs (median, min..max) | Redis server CPU µs | % of q1's gateway CPU | goal |",
    "|---|---|---|---|---|",
    `| a. cost analysis (\`checkOperation\`, before issue 13) | ${fmt(a, 1)} (${fmt(r.rows.analysis.min, 1)}..${fmt(r.rows.analysis.max, 1)}) | | ${share(a)} | |`,
    `| b. buckets in memory (admit + respond: charge, actualCost, settle, headers) | ${fmt(net("memory"), 1)} (${fmt(r.rows.memory.min - h, 1)}..${fmt(r.rows.memory.max - h, 1)}) | | ${share(net("memory"))} | |`,
    `| **a + b, in memory** | **${fmt(a + net("memory"), 1)}** | | **${share(a + net("memory"))}** | ≤ 5 %: ${base ? ((a + net("memory")) / base <= 0.05 ? "met" : "**not met**") : "?"} |`,
  ];
  for (const [key, label] of [
    ["redis1", "c. buckets in Redis, one request at a time"],
    ["redis32", "c. buckets in Redis, 32 requests at once"],
  ]) {
    if (!r.rows[key]) continue;
    const c = net(key);
    lines.push(
      `| ${label} (2 EVALSHA: take, refund) | ${fmt(c, 1)} (${fmt(r.rows[key].min - h, 1)}..${fmt(r.rows[key].max - h, 1)}) | ${fmt(r.rows[key].redisUs, 1)} | ${share(c)} | |`,
      `| **a + c, ${key === "redis1" ? "c=1" : "c=32"}** | **${fmt(a + c, 1)}** | ${fmt(r.rows[key].redisUs, 1)} | **${share(a + c)}** (with Redis's CPU: ${share(a + c + r.rows[key].redisUs)}) | ≤ 10 %: ${base ? ((a + c) / base <= 0.1 ? "met" : "**not met**") : "?"} |`,
    );
  }
  const fell = ["redis1", "redis32", "redisPlain1", "redisTake1"].filter((k) => r.rows[k]?.fallbacks);
  if (fell.length) {
    lines.push(
      "",
      `Redis calls that timed out (250 ms, the gateway's setting) and went to memory: ${fell.map((k) => `${k} ${r.rows[k].fallbacks} of ${r.rows[k].calls}`).join(", ")}; those rows are slightly low.`,
    );
  }
  lines.push("", "Parts of b (each timed alone, gross):", "", "| part | CPU µs |", "|---|---|");
  for (const key of ["actualCost", "buckets", "headers", "redisPlain1", "redisTake1"]) {
    if (r.rows[key]) lines.push(`| ${r.rows[key].label.trim()} | ${fmt(r.rows[key].us, 2)} (${fmt(r.rows[key].min, 2)}..${fmt(r.rows[key].max, 2)}) |`);
  }
  return lines.join("\n") + "\n";
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
