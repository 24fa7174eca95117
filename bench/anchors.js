"use strict";
// `npm run bench:anchors -- [harness dir] [harness options]`: the gateway next to PostGraphile (A)
// and the hand-written SQL server (B) in the shared harness (default ../shared/bench), on q1.
//
//  1. a writable harness: the given dir if writable, else a copy in the system's temp dir (with
//     `npm ci` when it has no node_modules);
//  2. the harness's data in BENCH_DATABASE_URL (`setup-db.js --seed 1 --export data/export`);
//  3. the export as one import-format CSV, loaded into a fresh gateway database (wg_bench_gateway
//     on the same server) through the importer (`POST /imports?mode=REPLACE`), or the benchmark's
//     own loader when the gateway has no importer (or with --loader);
//  4. a token, and the map from the harness's department ids to ours, in
//     bench/.work/anchors-state.json, which bench/anchor-target.js reads;
//  5. `harness/run.js --targets C,A,B --queries q1` (its correctness gate first), which writes its
//     table under the harness's results/. Other options go to the harness as they are
//     (e.g. --rounds 5 --duration 10 --connections 32,128 --name my-run).
//
// Environment: BENCH_DATABASE_URL (default: the harness's own default), BENCH_GATEWAY_DB
// (wg_bench_gateway), BENCH_PORT (4100).

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync, spawnSync } = require("node:child_process");
const gw = require("./lib/gateway");
const { exportToImportCsv, gatewayDepartmentsByPath } = require("./lib/harness-export");
const { loadImportCsv } = require("./lib/loader");
const { hasImporter, importCsv } = require("./lib/importer");

const WORK = path.join(__dirname, ".work");

function writableHarness(dir) {
  const writable = (d) => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (writable(dir) && (!fs.existsSync(path.join(dir, "results")) || writable(path.join(dir, "results")))) return dir;
  const copy = path.join(os.tmpdir(), "workgraph-bench-harness");
  console.log(`${dir} is read-only: working in a copy, ${copy}`);
  fs.mkdirSync(copy, { recursive: true });
  for (const entry of fs.readdirSync(dir)) {
    if (entry === "node_modules" || entry === "results" || entry === "data") continue;
    fs.cpSync(path.join(dir, entry), path.join(copy, entry), { recursive: true, force: true });
  }
  execFileSync("chmod", ["-R", "u+w", copy]);
  return copy;
}

async function main() {
  const args = process.argv.slice(2);
  const useLoader = args.includes("--loader");
  const rest = args.filter((a) => a !== "--loader");
  const harnessArg = rest[0] && !rest[0].startsWith("--") ? rest.shift() : path.join(gw.PROJECT, "..", "shared", "bench");
  const harness = writableHarness(path.resolve(harnessArg));
  const env = { ...process.env };
  const harnessEnv = require(path.join(harness, "harness", "env.js"));
  env.BENCH_DATABASE_URL = harnessEnv.DATABASE_URL;
  const port = Number(process.env.BENCH_PORT || 4100);
  fs.mkdirSync(WORK, { recursive: true });

  if (!fs.existsSync(path.join(harness, "node_modules"))) {
    console.log("npm ci in the harness ...");
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: harness, stdio: "inherit" });
  }
  console.log(`harness data in ${env.BENCH_DATABASE_URL} (setup-db.js --seed 1 --export) ...`);
  await gw.ensureDatabase(env.BENCH_DATABASE_URL);
  const exportDir = path.join(harness, "data", "export");
  execFileSync(process.execPath, ["scripts/setup-db.js", "--seed", "1", "--export", exportDir], { cwd: harness, env, stdio: ["ignore", "ignore", "inherit"] });

  const csv = path.join(WORK, "anchors-members.csv");
  const exported = await exportToImportCsv(exportDir, csv);
  console.log(`export -> ${csv}: ${exported.members} members`);

  gw.build();
  const url = await gw.freshDatabase(env.BENCH_DATABASE_URL, process.env.BENCH_GATEWAY_DB || "wg_bench_gateway");
  // The root department is named after the corp: name it as the harness's root.
  const corp = gw.createCorp(url, exported.rootName);
  const logFile = path.join(WORK, "anchors-gateway.log");
  const proc = await gw.startGateway(url, port, logFile);
  let token;
  let label;
  try {
    token = await gw.token(port, corp);
    if (!useLoader && (await hasImporter(port, token))) {
      const r = await importCsv(port, token, csv);
      label = `loaded through the importer in ${r.seconds.toFixed(1)} s`;
      console.log(`import (POST /imports?mode=REPLACE): ${JSON.stringify(r.job)} in ${r.seconds.toFixed(1)} s`);
    } else {
      const r = await loadImportCsv(url, corp.corpPk, csv);
      label = "loaded by the benchmark loader (not the importer)";
      console.log(`benchmark loader: ${JSON.stringify(r)}`);
    }
  } finally {
    await gw.stopProcess(proc);
  }
  const analyze = new (require("pg").Client)({ connectionString: url });
  await analyze.connect();
  await analyze.query("ANALYZE");
  await analyze.end();

  const byPath = await gatewayDepartmentsByPath(url, corp.corpPk);
  const departments = {};
  for (const [id, p] of exported.pathOf) {
    const ours = byPath.get(p);
    if (!ours) throw new Error(`harness department ${id} (${p}) is not in the gateway's database`);
    departments[id] = ours;
  }
  fs.writeFileSync(path.join(WORK, "anchors-state.json"), JSON.stringify({ label, port, token, env: gw.serverEnv(url, port), departments }, null, 1));

  const name = rest.includes("--name") ? [] : ["--name", `${new Date().toISOString().slice(0, 10)}-gateway`];
  console.log(`harness: run.js --targets C,A,B --queries q1 ${[...name, ...rest].join(" ")}`);
  const r = spawnSync(process.execPath, ["harness/run.js", "--targets", "C,A,B", "--queries", "q1", ...name, ...rest], {
    cwd: harness,
    env: { ...env, WORKGRAPH_DIR: gw.PROJECT },
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
