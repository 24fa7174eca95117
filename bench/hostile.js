"use strict";
// npm run bench:hostile — the outside review's hostile documents and sockets (issue 11), sent in a
// loop against the compiled gateway for DURATION seconds, while the gateway's RSS is sampled and a
// well-behaved client measures its own latency. Prints a table (README "Security").
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:hostile -- --duration 60
//
// Traffic goes to 127.0.0.1 only; every loop is bounded by the duration.

const fs = require("node:fs");
const path = require("node:path");
const WsClient = require("ws"); // not `WebSocket`: Node's global of that name is another class
const gw = require("./lib/gateway");

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const DURATION_S = Number(arg("duration", "60"));
const CONCURRENCY = Number(arg("concurrency", "4"));
const PORT = Number(arg("port", "4391"));
const SERVER = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
if (!SERVER) {
  console.error("Set BENCH_DATABASE_URL (a PostgreSQL server; the benchmark creates the database wg_hostile there).");
  process.exit(2);
}

const base = `http://127.0.0.1:${PORT}`;

function fragmentBomb(root, depth) {
  const fragments = ["fragment F0 on Department { id }"];
  for (let i = 1; i <= depth; i++) fragments.push(`fragment F${i} on Department { children { ...F${i - 1} } parent { ...F${i - 1} } }`);
  return `{ department(id: "${root}") { ...F${depth} } } ${fragments.join(" ")}`;
}
const DEEP =
  "__schema { types { name kind description fields { name description isDeprecated args { name description type { name kind } } type { name kind ofType { name kind ofType { name kind } } } } } }";
const ALIAS_BOMB = `{ ${Array.from({ length: 8000 }, (_, i) => `a${i}: ${DEEP}`).join(" ")} }`;
const NESTED =
  "{ members(first: 100) { nodes { departments { members(first: 100, includeSubdepartments: true) { nodes { departments { members(first: 100, includeSubdepartments: true) { nodes { departments { members(first: 100) { nodes { id name } } } } } } } } } } } }";
const TOKENS = `{ viewer { ${"role ".repeat(3000)} } }`;
const PAD = "x".repeat(50 * 1024 * 1024);

async function post(query, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${base}/graphql`, { method: "POST", headers, body: JSON.stringify({ query }) });
  const body = await r.json();
  return { status: r.status, code: body.errors?.[0]?.extensions?.code };
}

/** A raw graphql-transport-ws socket that does `act` once open; resolves with the close code. */
function socket(act) {
  return new Promise((resolve) => {
    const ws = new WsClient(`ws://127.0.0.1:${PORT}/graphql`, "graphql-transport-ws");
    ws.on("open", () => act(ws));
    ws.on("close", (code) => resolve(code));
    ws.on("error", () => {});
  });
}

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function main() {
  gw.build();
  const url = await gw.freshDatabase(SERVER, "wg_hostile");
  const corp = gw.createCorp(url, "Hostile Target");
  const logFile = path.join(__dirname, ".hostile-gateway.log");
  const proc = await gw.startGateway(url, PORT, logFile);
  try {
    const token = await gw.token(PORT, corp);
    // A small tree (4 levels, 3 wide) so an executed bomb would have something to multiply.
    const gql = async (query, variables) => {
      const r = await fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return r.json();
    };
    const root = (await gql("{ departments { nodes { id } } }")).data.departments.nodes[0].id;
    let parent = root;
    for (let level = 0; level < 4; level++) {
      let first;
      for (let i = 0; i < 3; i++) {
        const r = await gql("mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }", {
          i: { name: `L${level}-${i}`, parentId: parent },
        });
        first ??= r.data.createDepartment.department.id;
      }
      parent = first;
    }

    const attacks = [
      ["fragment bomb, depth 29", () => post(fragmentBomb(root, 29), token)],
      ["fragment bomb, depth 12", () => post(fragmentBomb(root, 12), token)],
      ["introspection alias bomb, no token (1.7 MB)", () => post(ALIAS_BOMB, null)],
      ["introspection alias bomb, token", () => post(ALIAS_BOMB, token)],
      ["nested lists", () => post(NESTED, token)],
      ["3,000+ tokens", () => post(TOKENS, token)],
      ["anonymous introspection", () => post("{ __schema { types { name } } }", null)],
      [
        "50 MB WebSocket frame",
        () =>
          socket((ws) => {
            ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ viewer { role } }", variables: { pad: PAD } } }));
          }).then((code) => ({ status: code })),
      ],
      // Not an attack: the same loop with an ordinary query (`--only benign`), for comparison.
      ["benign { viewer { role } }", () => post("{ viewer { role } }", token)],
      ["anonymous connection_init", () => socket((ws) => ws.send(JSON.stringify({ type: "connection_init" }))).then((code) => ({ status: code }))],
    ];

    // --only <substring>: just the attacks whose name contains it (to see which one costs memory).
    const only = arg("only");
    if (!only || !"benign".includes(only))
      attacks.splice(
        attacks.findIndex(([name]) => name.startsWith("benign")),
        1,
      );
    if (only) attacks.splice(0, attacks.length, ...attacks.filter(([name]) => name.includes(only)));

    // Resting level: after a few ordinary requests, sampled for 5 s.
    for (let i = 0; i < 20; i++) await gql("{ viewer { role } departments { nodes { id name } } }");
    const resting = [];
    for (let i = 0; i < 10; i++) {
      resting.push(rssMiB(proc.pid));
      await new Promise((r) => setTimeout(r, 500));
    }
    const rest = pct(resting, 50);

    const stats = new Map(attacks.map(([name]) => [name, { count: 0, ms: [], outcomes: new Set() }]));
    const samples = [];
    const probe = [];
    const deadline = Date.now() + DURATION_S * 1000;
    const sampler = setInterval(() => samples.push(rssMiB(proc.pid)), 250);
    const prober = (async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        await post("{ __typename }", null);
        probe.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const workers = Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = w; Date.now() < deadline; i++) {
        const [name, run] = attacks[i % attacks.length];
        const t = performance.now();
        const out = await run();
        const s = stats.get(name);
        s.count++;
        s.ms.push(performance.now() - t);
        s.outcomes.add(out.code ? `${out.status} ${out.code}` : String(out.status));
      }
    });
    await Promise.all([...workers, prober]);
    clearInterval(sampler);
    const peak = Math.max(...samples);
    const after = rssMiB(proc.pid);

    const lines = [];
    lines.push(`Hostile loop: ${DURATION_S} s, ${CONCURRENCY} concurrent attackers, gateway pid ${proc.pid} (compiled, NODE_ENV=production)`);
    lines.push("");
    lines.push("| attack | sent | answer | median ms | p99 ms |");
    lines.push("| --- | --- | --- | --- | --- |");
    for (const [name, s] of stats)
      lines.push(`| ${name} | ${s.count} | ${[...s.outcomes].join(", ")} | ${pct(s.ms, 50).toFixed(1)} | ${pct(s.ms, 99).toFixed(1)} |`);
    lines.push("");
    lines.push(`RSS: resting ${rest.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (+${(peak - rest).toFixed(0)} MiB), at the end ${after.toFixed(0)} MiB`);
    // Every 10 s (samples are 250 ms apart): a leak climbs, a heap settling under load plateaus.
    const timeline = [];
    for (let i = 0; i < samples.length; i += 40) timeline.push(Math.max(...samples.slice(i, i + 40)).toFixed(0));
    lines.push(`RSS peak per 10 s: ${timeline.join(", ")} MiB`);
    lines.push(
      `A well-behaved { __typename } meanwhile: ${probe.length} requests, median ${pct(probe, 50).toFixed(1)} ms, p99 ${pct(probe, 99).toFixed(1)} ms`,
    );
    console.log(lines.join("\n"));
  } finally {
    await gw.stopProcess(proc);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
