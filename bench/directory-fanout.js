"use strict";
// directoryEvents delivery to many subscribers (issue 14, "execute once, write many"): N graphql-ws
// subscribers of one app token, `subscription { directoryEvents { cursor type department { name } } }`,
// M renames of one department paced at R a second. Reports the delivery latency (publish to receipt,
// every delivery), the gateway's CPU per event and per delivery, and the database transactions per
// event (pg_stat_database, minus what the same renames cost with no subscriber: the N = 0 row).
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/directory-fanout.js --subs 0,200,1000
//   BENCH_PROJECT_DIR=/path/to/other/checkout ...   measures another build (e.g. the commit before the fan-out)
// Each measured event renames its own department (E0, E1, …), so every delivery names its event.
//
// Options: --subs 0,200,1000 --events 30 --rate 5 --port 4710 --name <label>. One gateway process per N,
// on a fresh database; subscribers are raw `ws` sockets in this process (graphql-transport-ws by hand).

const fs = require("node:fs");
const path = require("node:path");
const { Client } = require("pg");
const WebSocketClient = require("ws");
const { PROJECT, build, freshDatabase, createCorp, startGateway, stopProcess, token } = require("./lib/gateway");

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(" ")
    .split("--")
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const SUBS = (args.subs ?? "0,200,1000").split(",").map(Number);
const EVENTS = Number(args.events ?? 30);
const RATE = Number(args.rate ?? 5);
const PORT = Number(args.port ?? 4710);
const NAME = args.name ?? path.basename(PROJECT);
const SERVER = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DATABASE = "wg_bench_fanout";
const WORK = path.join(__dirname, ".work");
const QUERY = "subscription { directoryEvents { cursor type department { name } } }";
const TICK_MS = 1000 / 100; // /proc times are in clock ticks (USER_HZ = 100)

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
}
const rssMiB = (pid) => (Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096) / 2 ** 20;

async function gql(port, accessToken, query, variables) {
  const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function transactions(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()");
    return Number(rows[0].n);
  } finally {
    await c.end();
  }
}

/** One subscriber: a socket through connection_init, ack and subscribe; `onName` gets each event's department name. */
function subscriber(port, accessToken, onName) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${accessToken}` } })));
    ws.on("message", (data) => {
      const msg = JSON.parse(data);
      if (msg.type === "connection_ack") {
        ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: QUERY } }));
        resolve(ws);
      } else if (msg.type === "next") {
        if (msg.payload.errors) return reject(new Error(JSON.stringify(msg.payload.errors)));
        onName(msg.payload.data.directoryEvents.department?.name);
      } else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
      else if (msg.type === "error") reject(new Error(JSON.stringify(msg.payload)));
    });
    ws.on("error", reject);
  });
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function cell(n) {
  const url = await freshDatabase(SERVER, DATABASE);
  const corp = createCorp(url, "Fanout Bench");
  const proc = await startGateway(url, PORT, path.join(WORK, `directory-fanout-${n}.log`));
  try {
    const accessToken = await token(PORT, corp);
    // One department per renamed event: a subject resolves as it is now, so a late execution of one
    // department's rename must not read the name of a later event (which would hide the lag).
    const create = async (name) =>
      (await gql(PORT, accessToken, `mutation($name: String!) { createDepartment(input: { name: $name }) { department { id } } }`, { name })).createDepartment
        .department.id;
    const probe = await create("Probe");
    const warm = [];
    for (let w = 0; w < 5; w++) warm.push(await create(`Warm ${w}`));
    const subjects = [];
    for (let e = 0; e < EVENTS; e++) subjects.push(await create(`Subject ${e}`));
    const rename = (id, name) =>
      gql(PORT, accessToken, `mutation($id: ID!, $name: String!) { updateDepartment(input: { id: $id, name: $name }) { department { id } } }`, { id, name });

    // Subscribers: the received events per subscriber, by the name the publisher gave each event.
    const sentAt = new Map();
    const latencies = [];
    const got = Array.from({ length: n }, () => new Map());
    let lastReceipt = 0;
    const sockets = [];
    for (let i = 0; i < n; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 64); j++) {
        batch.push(
          subscriber(PORT, accessToken, (name) => {
            got[j].set(name, (got[j].get(name) ?? 0) + 1);
            const t = sentAt.get(name);
            if (t !== undefined) {
              const at = now();
              latencies.push(at - t);
              lastReceipt = at;
            }
          }),
        );
      }
      sockets.push(...(await Promise.all(batch)));
    }
    // Probes until every subscriber has received one (a subscribe has no acknowledgement of its own).
    for (let p = 0; n > 0; p++) {
      await rename(probe, `probe ${p}`);
      await sleep(500);
      if (got.every((m) => m.size > 0)) break;
      if (p > 60) throw new Error("subscribers not live after 60 probes");
    }
    for (let w = 0; w < 5; w++) await rename(warm[w], `warm ${w}`);
    await sleep(1500);

    const tx0 = await transactions(url);
    const cpu0 = cpuMs(proc.pid);
    let rss = rssMiB(proc.pid);
    const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(proc.pid))), 100);
    const start = now();
    const publishes = [];
    for (let e = 0; e < EVENTS; e++) {
      const due = start + (e * 1000) / RATE;
      await sleep(Math.max(0, due - now()));
      const name = `E${e}`;
      sentAt.set(name, now());
      publishes.push(rename(subjects[e], name));
    }
    await Promise.all(publishes);
    const expected = n * EVENTS;
    const deadline = now() + 180000;
    while (latencies.length < expected && now() < deadline) await sleep(20);
    const end = n ? lastReceipt : now();
    const cpu = cpuMs(proc.pid) - cpu0;
    clearInterval(sampler);
    await sleep(1500); // PostgreSQL reports a backend's transactions at most once a second
    const tx = (await transactions(url)) - tx0;
    let duplicates = 0;
    for (const m of got) for (const [name, count] of m) if (name?.startsWith("E") && count > 1) duplicates++;
    for (const ws of sockets) ws.terminate();
    const sorted = latencies.sort((a, b) => a - b);
    return {
      n,
      events: EVENTS,
      delivered: latencies.length,
      lost: expected - latencies.length,
      duplicates,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
      seconds: (end - start) / 1000,
      cpuMsPerEvent: cpu / EVENTS,
      cpuUsPerDelivery: n ? (cpu * 1000) / expected : NaN,
      transactionsPerEvent: tx / EVENTS,
      rssMaxMiB: rss,
    };
  } finally {
    await stopProcess(proc);
  }
}

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  if (!process.env.BENCH_SKIP_BUILD) build();
  const rows = [];
  for (const n of SUBS) {
    const row = await cell(n);
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const zero = rows.find((r) => r.n === 0);
  const f = (v, d = 1) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");
  console.log(`\n${NAME}: ${EVENTS} renames at ${RATE}/s, \`${QUERY}\`, one app token\n`);
  console.log(
    "| N | delivered | lost | dup. | p50 ms | p99 ms | max ms | gateway CPU ms / event | µs / delivery | DB transactions / event (− N = 0) | RSS max MiB |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const extra = zero && r.n ? ` (${f(r.transactionsPerEvent - zero.transactionsPerEvent)})` : "";
    console.log(
      `| ${r.n.toLocaleString("en-US")} | ${r.delivered.toLocaleString("en-US")} | ${r.lost} | ${r.duplicates} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.cpuMsPerEvent)} | ${f(r.cpuUsPerDelivery)} | ${f(r.transactionsPerEvent)}${extra} | ${f(r.rssMaxMiB, 0)} |`,
    );
  }
  fs.writeFileSync(path.join(WORK, `directory-fanout-${NAME}.json`), JSON.stringify(rows, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
