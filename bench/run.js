"use strict";
// `npm run bench`: the gateway's own serving and import benchmark (issue 4 part 4).
//
//  1. generates the directory (100,000 members, 1,000 departments, 15 levels, 1-3 departments
//     each; lib/generate.js) as one import-format CSV;
//  2. import: the file into a fresh gateway database through `POST /imports?mode=REPLACE` (or, if
//     the gateway has no importer, the benchmark's own set-based loader, lib/loader.js), timed, with
//     the gateway's peak RSS; next to it the same rows by plain COPY (lib/copy-baseline.js) into a
//     second fresh database with the same departments, timed, with the client's peak RSS;
//  3. serving: restarts the gateway (NODE_ENV=production) on the imported data and runs q1 "one
//     department with its first 50 members, each with the names of their departments" over 100
//     departments of at least 50 members, with autocannon in a separate process, at each
//     connection count, `--rounds` times: req/s, p50/p99, RSS, CPU per request (gateway +
//     PostgreSQL, from /proc);
//  4. prints a table and writes bench/results/<name>.json and .md.
//
// Options: --connections 32,128  --duration 10  --warmup 3  --rounds 3  --name <name>
//          --skip-import (serve the database of the last run)  --loader (force the own loader)
// Environment: BENCH_DATABASE_URL (a PostgreSQL server where databases may be created; default
// postgres://postgres@127.0.0.1:5432/postgres), BENCH_PORT (4100).

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { parseArgs } = require("node:util");
const { Client } = require("pg");
const gw = require("./lib/gateway");
const { generate } = require("./lib/generate");
const { loadImportCsv } = require("./lib/loader");
const { hasImporter, importCsv } = require("./lib/importer");
const { measure, sample } = require("./lib/measure");

const Q1 = "query Q1($id: ID!) { department(id: $id) { id name members(first: 50) { nodes { employeeId name title departments { name } } } } }";
const WORK = path.join(__dirname, ".work");
const RESULTS = path.join(__dirname, "results");

const median = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function machine() {
  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8")) || [])[1] || os.cpus()[0]?.model;
  let nproc = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  try {
    nproc = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  } catch {
    /* keep */
  }
  return { nproc, cpu, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version };
}

async function pgInfo(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const v = (await c.query("SELECT version() AS v, current_setting('shared_buffers') AS sb")).rows[0];
    return { version: v.v.split(" on ")[0], sharedBuffers: v.sb };
  } finally {
    await c.end();
  }
}

async function fixtures(url, corpPk) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    // 100 departments with at least 50 members, spread over the tree (every k-th by id).
    const { rows } = await c.query(
      `SELECT d.id::text FROM department d WHERE d.corp_id = $1
          AND (SELECT count(*) FROM member_department md WHERE md.department_id = d.id) >= 50 ORDER BY d.id`,
      [corpPk],
    );
    const step = Math.max(1, Math.floor(rows.length / 100));
    return rows
      .filter((_, i) => i % step === 0)
      .slice(0, 100)
      .map((r) => r.id);
  } finally {
    await c.end();
  }
}

async function main() {
  const { values: opt } = parseArgs({
    options: {
      connections: { type: "string", default: "32,128" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      name: { type: "string" },
      "skip-import": { type: "boolean", default: false },
      loader: { type: "boolean", default: false },
    },
  });
  const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const port = Number(process.env.BENCH_PORT || 4100);
  const name = opt.name || `run-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}`;
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(RESULTS, { recursive: true });
  const logFile = path.join(WORK, "gateway.log");
  const csv = path.join(WORK, "members.csv");
  const stateFile = path.join(WORK, "run-state.json");
  const report = { name, started: new Date().toISOString(), machine: machine(), postgres: await pgInfo(serverUrl), options: opt };
  console.log(`machine: ${JSON.stringify(report.machine)}; ${report.postgres.version}`);

  console.log("building the gateway (bench/.build) ...");
  gw.build();

  let state;
  if (opt["skip-import"] && fs.existsSync(stateFile)) {
    state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    console.log(`serving the database of the last run (${state.url})`);
  } else {
    console.log("generating the directory ...");
    report.dataset = await generate(csv);
    report.dataset.fileMiB = +(fs.statSync(csv).size / 2 ** 20).toFixed(1);
    console.log(`  ${JSON.stringify(report.dataset)}`);

    // Plain COPY of the same rows (departments created first, untimed).
    const copyUrl = await gw.freshDatabase(serverUrl, "wg_bench_copy");
    const copyCorp = gw.createCorp(copyUrl, "Bench Corp");
    await loadImportCsv(copyUrl, copyCorp.corpPk, csv, { departmentsOnly: true });
    await checkpoint(copyUrl);
    const out = execFileSync(process.execPath, [path.join(__dirname, "lib", "copy-baseline.js"), copyUrl, copyCorp.corpPk, csv], { encoding: "utf8" });
    report.copy = JSON.parse(out.trim().split("\n").pop());
    console.log(`plain COPY: ${report.copy.seconds.toFixed(2)} s, client peak RSS ${report.copy.peakRssMiB} MiB`);
    await dropDatabase(serverUrl, "wg_bench_copy");

    // The import, through the gateway.
    const url = await gw.freshDatabase(serverUrl, "wg_bench_run");
    const corp = gw.createCorp(url, "Bench Corp");
    await checkpoint(url);
    const proc = await gw.startGateway(url, port, logFile);
    try {
      const token = await gw.token(port, corp);
      const viaImporter = !opt.loader && (await hasImporter(port, token));
      const base = sample(proc.pid).rssKiB;
      let peak = base;
      if (viaImporter) {
        console.log("importing through POST /imports?mode=REPLACE ...");
        const r = await importCsv(port, token, csv, () => {
          peak = Math.max(peak, sample(proc.pid).rssKiB);
        });
        report.import = {
          via: "importer (POST /imports?mode=REPLACE)",
          seconds: r.seconds,
          job: r.job,
          gatewayRssBeforeMiB: Math.round(base / 1024),
          gatewayPeakRssMiB: Math.round(peak / 1024),
        };
      } else {
        console.log("the gateway has no importer: loading with the benchmark loader (lib/loader.js) ...");
        const r = await loadImportCsv(url, corp.corpPk, csv);
        report.import = { via: "benchmark loader (lib/loader.js), not the importer", ...r };
      }
      console.log(
        `import: ${report.import.seconds.toFixed(2)} s (${report.import.via}), ${(report.import.seconds / report.copy.seconds).toFixed(2)} x plain COPY` +
          (report.import.gatewayPeakRssMiB ? `, gateway peak RSS ${report.import.gatewayPeakRssMiB} MiB` : ""),
      );
    } finally {
      await gw.stopProcess(proc);
    }
    await analyze(url);
    state = { url, corp };
    fs.writeFileSync(stateFile, JSON.stringify(state));
  }

  // Serving.
  const ids = await fixtures(state.url, state.corp.corpPk);
  if (ids.length < 10) throw new Error(`only ${ids.length} departments have 50 members`);
  const proc = await gw.startGateway(state.url, port, logFile);
  report.runs = [];
  try {
    const token = await gw.token(port, state.corp);
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const bodies = ids.map((pk) =>
      JSON.stringify({ query: Q1, operationName: "Q1", variables: { id: Buffer.from(`Department:${pk}`).toString("base64url") } }),
    );
    // Correctness gate: every fixture answers 50 members with their departments, no errors.
    for (const body of bodies) {
      const r = await fetch(`http://127.0.0.1:${port}/graphql`, { method: "POST", headers, body });
      const j = await r.json();
      const nodes = j.data && j.data.department && j.data.department.members.nodes;
      if (j.errors || !nodes || nodes.length !== 50 || nodes.some((m) => !m.departments.length))
        throw new Error(`bad q1 answer: ${JSON.stringify(j).slice(0, 300)}`);
    }
    const idle = sample(proc.pid).rssKiB;
    report.idleRssMiB = Math.round(idle / 1024);
    for (let round = 1; round <= Number(opt.rounds); round++) {
      for (const c of opt.connections.split(",").map(Number)) {
        const r = await measure(
          { url: `http://127.0.0.1:${port}/graphql`, headers, bodies, connections: c, duration: Number(opt.duration), warmup: Number(opt.warmup) },
          proc.pid,
          new URL(state.url).pathname.slice(1),
        );
        if (r.warmupBad) throw new Error(`warm-up answers with errors: ${r.warmupBadSample}`);
        report.runs.push({ round, connections: c, ...r });
        console.log(
          `round ${round} c=${c}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, RSS ${r.rssMaxMiB} MiB, ${r.cpuUsPerRequest} us CPU/req (gateway ${r.serverUsPerRequest}), errors ${r.errors + r.non2xx + r.timeouts}`,
        );
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  } finally {
    await gw.stopProcess(proc);
  }

  report.finished = new Date().toISOString();
  report.summary = opt.connections
    .split(",")
    .map(Number)
    .map((c) => {
      const runs = report.runs.filter((r) => r.connections === c);
      return {
        connections: c,
        rps: median(runs.map((r) => r.rps)),
        rpsMin: Math.min(...runs.map((r) => r.rps)),
        rpsMax: Math.max(...runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        rssMaxMiB: Math.max(...runs.map((r) => r.rssMaxMiB)),
        cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
        serverUsPerRequest: median(runs.map((r) => r.serverUsPerRequest)),
        serverCpuPct: median(runs.map((r) => r.serverCpuPct)),
        pgCpuPct: median(runs.map((r) => r.pgCpuPct)),
        errors: runs.reduce((a, r) => a + r.errors + r.non2xx + r.timeouts, 0),
      };
    });
  const md = markdown(report);
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(report, null, 1));
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), md);
  console.log(`\n${md}\nwrote bench/results/${name}.json and .md`);
}

function markdown(r) {
  const lines = [
    `# ${r.name}`,
    "",
    `- machine: ${r.machine.nproc} cores (nproc), ${r.machine.cpu}, ${r.machine.memGiB} GiB, kernel ${r.machine.kernel}; Node ${r.machine.node}`,
    `- ${r.postgres.version}, shared_buffers ${r.postgres.sharedBuffers}`,
    `- q1 over 100 departments of >= 50 members; autocannon 9.0.0 in its own process, ${r.options.duration} s timed after ${r.options.warmup} s warm-up, ${r.options.rounds} round(s); medians`,
    `- gateway RSS idle (after start and the correctness check): ${r.idleRssMiB} MiB`,
    "",
  ];
  if (r.copy) {
    lines.push(
      "| import of the 100,000 rows | seconds | peak RSS MiB |",
      "|---|---|---|",
      `| plain COPY (member + member_department, client-side path lookup) | ${r.copy.seconds.toFixed(2)} | ${r.copy.peakRssMiB} (client) |`,
      `| ${r.import.via} | ${r.import.seconds.toFixed(2)} (${(r.import.seconds / r.copy.seconds).toFixed(2)} x COPY) | ${r.import.gatewayPeakRssMiB ?? "n/a"}${r.import.gatewayPeakRssMiB ? " (gateway)" : ""} |`,
      "",
    );
  }
  lines.push(
    "| connections | req/s (median) | min..max | p50 ms | p99 ms | RSS max MiB | CPU us/req (gateway + pg) | gateway us/req | gateway / pg CPU % | errors |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const s of r.summary) {
    lines.push(
      `| ${s.connections} | ${s.rps.toFixed(0)} | ${s.rpsMin.toFixed(0)}..${s.rpsMax.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.rssMaxMiB} | ${s.cpuUsPerRequest} | ${s.serverUsPerRequest} | ${s.serverCpuPct}/${s.pgCpuPct} | ${s.errors} |`,
    );
  }
  return lines.join("\n") + "\n";
}

async function checkpoint(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("CHECKPOINT");
  } catch {
    /* needs superuser or pg_checkpoint: skip */
  } finally {
    await c.end();
  }
}

async function analyze(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("ANALYZE");
  } finally {
    await c.end();
  }
}

async function dropDatabase(serverUrl, db) {
  const c = new Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
