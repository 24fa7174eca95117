"use strict";
// `npm run bench:send`: sendMessage throughput (issue 14: "messages/s at 32 connections, one corp,
// 32 conversations").
//
//  1. builds the gateway (bench/.build), creates a fresh database (wg_bench_send) and a PROFESSIONAL
//     corp with the CLI, starts the compiled gateway (NODE_ENV=production, LOG_LEVEL=warn,
//     RATE_LIMIT_SCALE=1000: lib/gateway.js);
//  2. mints 32 member tokens through the corp's administrator app (`cli member-tokens`, members
//     send-0 … send-31); member k creates the GROUP "Send k" (createGroup, with member k+1: 2 members);
//     with --audience also 99 more members (aud-0 … aud-98) and a second set of 32 groups of 100
//     members (member k and the 99), each with one live `messageEvents(conversationId)` subscriber
//     (aud-k, raw graphql-transport-ws in this process);
//  3. per row and round: autocannon in its own process (lib/send-load.js), connection k sending as
//     member k into its own group, every request a new clientMessageId; 3 s warm-up, 10 s timed;
//     req/s, p50/p99, CPU per request of the gateway process and of the database's PostgreSQL
//     backends (/proc, lib/measure.js);
//  4. after each round, in SQL: every acknowledged clientMessageId has its row (none lost), the rows
//     beyond them are at most one per connection and phase (requests in flight when autocannon
//     stopped), each conversation's seq has no gap, and no answer was an error; with --audience,
//     every committed message reached its conversation's subscriber exactly once.
//
// Options: --rounds 3 --duration 10 --warmup 3 --connections 32 --audience --port 4720 --name <name>
// Environment: BENCH_DATABASE_URL (server where databases may be created; default
// postgres://postgres@127.0.0.1:5432/postgres), BENCH_SKIP_BUILD=1, BENCH_NODE_ARGS (gateway node
// flags, e.g. "--cpu-prof --cpu-prof-dir=bench/.work/prof").

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn } = require("node:child_process");
const { parseArgs } = require("node:util");
const { Client } = require("pg");
const WebSocketClient = require("ws");
const gw = require("./lib/gateway");
const { sample } = require("./lib/measure");

const WORK = path.join(__dirname, ".work");
const RESULTS = path.join(__dirname, "results");
const CLK_TCK = 100;
const TEXT = "Deal won: ACME Corp, 120 seats, renewal in March; call the account team before Friday";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const median = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const pkOf = (globalId) => Buffer.from(globalId, "base64url").toString("utf8").split(":")[1];

const cli = (env, args) => gw.runCli(args, { env });

async function gql(port, token, query, variables) {
  const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const createGroup = async (port, token, name, memberIds) =>
  (await gql(port, token, "mutation($i: CreateGroupInput!) { createGroup(input: $i) { conversation { id } } }", { i: { name, memberIds } })).createGroup
    .conversation.id;

/** A messageEvents subscriber of one conversation; counts each MessageAdded by its seq. */
function subscriber(port, token, conversationId) {
  const seen = new Map();
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    ws.on("message", (data) => {
      const msg = JSON.parse(data);
      if (msg.type === "connection_ack") {
        ws.send(
          JSON.stringify({
            id: "1",
            type: "subscribe",
            payload: {
              query: "subscription($c: ID) { messageEvents(conversationId: $c) { cursor type ... on MessageAdded { message { seq } } } }",
              variables: { c: conversationId },
            },
          }),
        );
        resolve({ ws, seen });
      } else if (msg.type === "next") {
        if (msg.payload.errors) return reject(new Error(JSON.stringify(msg.payload.errors)));
        const e = msg.payload.data.messageEvents;
        if (e.type === "MESSAGE_ADDED" && e.message) seen.set(e.message.seq, (seen.get(e.message.seq) ?? 0) + 1);
      } else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
      else if (msg.type === "error") reject(new Error(JSON.stringify(msg.payload)));
    });
    ws.on("error", reject);
  });
}

/**
 * What the database's backends are doing, sampled every 50 ms while `running()`: the mean number of
 * backends in each state (`Lock:advisory`: waiting for a lock; `Client:ClientRead`: idle in a
 * transaction, waiting for the gateway's next statement; `CPU`: running; `IO:WALSync`: the commit's
 * flush ...).
 */
async function waitEvents(url, database, running) {
  const c = new Client({ connectionString: url });
  await c.connect();
  const tally = {};
  let samples = 0;
  try {
    while (running()) {
      const { rows } = await c.query(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, state, count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1, 2`,
        [database],
      );
      for (const r of rows) tally[`${r.w} (${r.state})`] = (tally[`${r.w} (${r.state})`] ?? 0) + r.n;
      samples++;
      await sleep(50);
    }
  } finally {
    await c.end();
  }
  return Object.fromEntries(
    Object.entries(tally)
      .map(([k, v]) => [k, +(v / samples).toFixed(2)])
      .sort((a, b) => b[1] - a[1]),
  );
}

/** One timed run of lib/send-load.js with /proc samples of the gateway and the database's backends. */
function load(spec, serverPid, database, url) {
  let timed = false;
  let waits = null;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "lib", "send-load.js")], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdin.end(JSON.stringify(spec));
    let start = null;
    let result = null;
    const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on("line", (line) => {
      const msg = JSON.parse(line);
      if (msg.phase === "timed") {
        start = { ...sample(serverPid, database), t: process.hrtime.bigint() };
        timed = true;
        waits = waitEvents(url, database, () => timed);
      } else {
        timed = false;
        const end = { ...sample(serverPid, database), t: process.hrtime.bigint() };
        const d = (key) => Object.entries(end[key]).reduce((t, [pid, v]) => t + v - (start[key][pid] || 0), 0) / CLK_TCK;
        const seconds = Number(end.t - start.t) / 1e9;
        const server = d("server");
        const pg = d("pg");
        result = {
          ...msg,
          gatewayCpuPct: Math.round((100 * server) / seconds),
          pgCpuPct: Math.round((100 * pg) / seconds),
          gatewayUsPerRequest: Math.round((1e6 * server) / msg.requests),
          pgUsPerRequest: Math.round((1e6 * pg) / msg.requests),
          rssMiB: Math.round(end.rssKiB / 1024),
        };
      }
    });
    child.on("exit", (code) => {
      timed = false;
      if (code === 0 && result) resolve(waits.then((w) => ({ ...result, waits: w })));
      else reject(new Error(`load generator exited with ${code}`));
    });
  });
}

/** Nothing acknowledged is lost: every acked clientMessageId of the round has its row; seqs have no gaps. */
async function verify(url, conversationPks, prefix, acked, connections) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT client_message_id FROM message WHERE conversation_id = ANY($1::bigint[]) AND client_message_id LIKE $2 || '-%'", [
      conversationPks,
      prefix,
    ]);
    const stored = new Set(rows.map((r) => r.client_message_id));
    const all = [...acked.w, ...acked.t];
    const missing = all.filter((id) => !stored.has(id));
    const extra = stored.size - (all.length - missing.length);
    const gaps = await c.query(
      "SELECT count(*)::int AS n FROM (SELECT conversation_id FROM message WHERE conversation_id = ANY($1::bigint[]) GROUP BY conversation_id HAVING count(*) <> max(seq) OR min(seq) <> 1) g",
      [conversationPks],
    );
    const perConversation = await c.query(
      "SELECT conversation_id::text AS id, count(*)::int AS n FROM message WHERE conversation_id = ANY($1::bigint[]) GROUP BY conversation_id",
      [conversationPks],
    );
    return {
      acked: all.length,
      rows: stored.size,
      missing: missing.length,
      missingSample: missing.slice(0, 5),
      inFlightRows: extra,
      inFlightOk: extra >= 0 && extra <= 2 * connections,
      conversationsWithGaps: gaps.rows[0].n,
      rowsByConversation: Object.fromEntries(perConversation.rows.map((r) => [r.id, r.n])),
    };
  } finally {
    await c.end();
  }
}

async function main() {
  const { values: opt } = parseArgs({
    options: {
      connections: { type: "string", default: "32" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      audience: { type: "boolean", default: false },
      port: { type: "string", default: "4720" },
      name: { type: "string" },
    },
  });
  const n = Number(opt.connections);
  const port = Number(opt.port);
  const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const name = opt.name || `send-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}`;
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(RESULTS, { recursive: true });
  const report = {
    name,
    started: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version },
    loadavgBefore: os.loadavg(),
    options: opt,
    runs: [],
  };
  console.log(
    `load average before: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  if (!process.env.BENCH_SKIP_BUILD) {
    console.log("building the gateway (bench/.build) ...");
    gw.build();
  }
  const database = "wg_bench_send";
  const url = await gw.freshDatabase(serverUrl, database);
  const corp = gw.createCorp(url, "Send Bench");
  const proc = await gw.startGateway(url, port, path.join(WORK, "send-gateway.log"));
  const sockets = [];
  try {
    const env = gw.serverEnv(url, port); // the same PUBLIC_URL: the tokens' issuer
    const senders = cli(env, ["member-tokens", "--corp", corp.corpId, "--client", corp.clientId, "--count", String(n), "--prefix", "send"]);
    const rows = [{ label: "2 members per group", conversations: [] }];
    for (let k = 0; k < n; k++) rows[0].conversations.push(await createGroup(port, senders.tokens[k], `Send ${k}`, [senders.memberIds[(k + 1) % n]]));
    if (opt.audience) {
      const aud = cli(env, ["member-tokens", "--corp", corp.corpId, "--client", corp.clientId, "--count", "99", "--prefix", "aud"]);
      const row = { label: "100 members per group, 1 live messageEvents subscriber each", conversations: [], subscribers: [] };
      for (let k = 0; k < n; k++) row.conversations.push(await createGroup(port, senders.tokens[k], `Audience ${k}`, aud.memberIds));
      row.subscriberTokens = aud.tokens;
      rows.push(row);
    }
    // Correctness gate: one message per connection and row, answered without errors.
    for (const row of rows)
      for (let k = 0; k < n; k++)
        await gql(port, senders.tokens[k], "mutation($i: SendMessageInput!) { sendMessage(input: $i) { message { seq } } }", {
          i: { conversationId: row.conversations[k], clientMessageId: `gate-${k}`, text: { content: TEXT } },
        });

    for (let round = 1; round <= Number(opt.rounds); round++) {
      for (const [ri, row] of rows.entries()) {
        const prefix = `r${round}x${ri}`;
        const conversationPks = row.conversations.map(pkOf);
        let subs = [];
        if (row.subscriberTokens) {
          subs = await Promise.all(row.conversations.map((c, k) => subscriber(port, row.subscriberTokens[k % row.subscriberTokens.length], c)));
          sockets.push(...subs.map((s) => s.ws));
          await sleep(500); // a subscribe has no acknowledgement of its own
        }
        const before = await verify(url, conversationPks, "none", { w: [], t: [] }, n);
        const senderSpec = row.conversations.map((conversationId, k) => ({ token: senders.tokens[k], conversationId }));
        const loadavg = os.loadavg()[0];
        const r = await load(
          { url: `http://127.0.0.1:${port}/graphql`, senders: senderSpec, prefix, text: TEXT, duration: Number(opt.duration), warmup: Number(opt.warmup) },
          proc.pid,
          database,
          url,
        );
        await sleep(2000); // requests in flight when autocannon stopped still commit (their answers go unread)
        const check = await verify(url, conversationPks, prefix, r.acked, n);
        let delivery = null;
        if (subs.length) {
          // Every message committed while subscribed (the round's rows) reaches its subscriber once.
          const expected = row.conversations.map((c) => check.rowsByConversation[pkOf(c)] - before.rowsByConversation[pkOf(c)]);
          const deadline = Date.now() + 60000;
          const got = () => subs.reduce((t, s) => t + s.seen.size, 0);
          const want = expected.reduce((a, b) => a + b, 0);
          while (got() < want && Date.now() < deadline) await sleep(100);
          await sleep(500);
          const dup = subs.reduce((t, s) => t + [...s.seen.values()].filter((v) => v > 1).length, 0);
          delivery = { expected: want, delivered: got(), lost: want - got(), duplicates: dup };
          for (const s of subs) s.ws.terminate();
        }
        const { acked, ...rest } = r;
        const run = { round, row: row.label, loadavg1: loadavg, ...rest, acked: { w: acked.w.length, t: acked.t.length }, check, delivery };
        delete run.check.rowsByConversation;
        report.runs.push(run);
        console.log(
          `round ${round} [${row.label}]: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, gateway ${r.gatewayUsPerRequest} us/req (${r.gatewayCpuPct} %), ` +
            `PostgreSQL ${r.pgUsPerRequest} us/req (${r.pgCpuPct} %), bad ${r.warmupBad + r.bad} (${r.warmupBadSample || r.badSample || "-"}), ` +
            `errors ${r.errors + r.timeouts + r.non2xx}; acked ${check.acked}, rows ${check.rows}, missing ${check.missing}, in flight ${check.inFlightRows}, gaps ${check.conversationsWithGaps}` +
            (delivery ? `; delivered ${delivery.delivered}/${delivery.expected}, dup ${delivery.duplicates}` : "") +
            `; load ${loadavg.toFixed(2)}\n  backends (mean): ${JSON.stringify(r.waits)}`,
        );
        if (check.missing || !check.inFlightOk || check.conversationsWithGaps || r.warmupBad || r.bad)
          throw new Error(`verification failed: ${JSON.stringify(check)}`);
        await sleep(1000);
      }
    }
  } finally {
    for (const ws of sockets) ws.terminate();
    await gw.stopProcess(proc);
  }

  report.finished = new Date().toISOString();
  report.loadavgAfter = os.loadavg();
  const labels = [...new Set(report.runs.map((r) => r.row))];
  report.summary = labels.map((label) => {
    const runs = report.runs.filter((r) => r.row === label);
    return {
      row: label,
      rps: median(runs.map((r) => r.rps)),
      rpsMin: Math.min(...runs.map((r) => r.rps)),
      rpsMax: Math.max(...runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      gatewayUsPerRequest: median(runs.map((r) => r.gatewayUsPerRequest)),
      pgUsPerRequest: median(runs.map((r) => r.pgUsPerRequest)),
      gatewayCpuPct: median(runs.map((r) => r.gatewayCpuPct)),
      pgCpuPct: median(runs.map((r) => r.pgCpuPct)),
      rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
      acked: runs.reduce((a, r) => a + r.check.acked, 0),
      missing: runs.reduce((a, r) => a + r.check.missing, 0),
      bad: runs.reduce((a, r) => a + r.warmupBad + r.bad + r.errors + r.timeouts + r.non2xx, 0),
      lost: runs.some((r) => r.delivery) ? runs.reduce((a, r) => a + (r.delivery ? r.delivery.lost + r.delivery.duplicates : 0), 0) : null,
      loadavg1: runs.map((r) => r.loadavg1.toFixed(1)).join(", "),
    };
  });
  const md = markdown(report);
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(report, null, 1));
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), md);
  console.log(`\n${md}\nwrote bench/results/${name}.json and .md`);
}

function markdown(r) {
  const lines = [
    `### ${r.name}`,
    "",
    `- ${r.machine.nproc} cores, ${r.machine.cpu}, Node ${r.machine.node}; load average (1 min) before ${r.loadavgBefore[0].toFixed(2)}, after ${r.loadavgAfter[0].toFixed(2)}`,
    `- ${r.options.connections} connections, each a member sending \`sendMessage\` (text, a new clientMessageId each) into its own GROUP conversation; autocannon 9.0.0 in its own process, ${r.options.duration} s timed after ${r.options.warmup} s warm-up, ${r.options.rounds} round(s); medians`,
    "",
    "| row | req/s (median) | min..max | p50 ms | p99 ms | gateway µs/req | PostgreSQL µs/req | gateway / PostgreSQL CPU % | RSS MiB | acked | missing rows | bad answers | subscriber lost + dup. | load avg (1 min) per round |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of r.summary) {
    lines.push(
      `| ${s.row} | ${s.rps.toFixed(0)} | ${s.rpsMin.toFixed(0)}..${s.rpsMax.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.gatewayUsPerRequest} | ${s.pgUsPerRequest} | ${s.gatewayCpuPct}/${s.pgCpuPct} | ${s.rssMiB} | ${s.acked} | ${s.missing} | ${s.bad} | ${s.lost ?? "–"} | ${s.loadavg1} |`,
    );
  }
  lines.push("", "PostgreSQL backends of the database during the timed runs (mean number in each wait state, sampled every 50 ms; round by round):", "");
  for (const run of r.runs)
    lines.push(
      `- round ${run.round}, ${run.row}: ${Object.entries(run.waits)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
  return lines.join("\n") + "\n";
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
