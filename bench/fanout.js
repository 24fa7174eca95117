"use strict";
// `npm run bench:fanout [-- <harness options>]`: the shared fan-out harness (../shared/fanout-bench,
// or FANOUT_HARNESS) with the gateway as its target C (bench/fanout-target.js), next to raw `ws` (A)
// and graphql-ws in memory (B) and over Redis (BR). The harness directory is read-only here, so it is
// copied to bench/.work/fanout-bench (its own lockfile installed there once); the gateway is built
// to bench/.build first. Default options: the full run (`npm run bench` of the harness, ~10 min) with
// `--targets A,B,BR,C`; `-- --quick` runs its 1-minute smoke instead. Results: the harness's
// results/ directory in that copy.

const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const gw = require("./lib/gateway");

const source = path.resolve(process.env.FANOUT_HARNESS || path.join(gw.PROJECT, "..", "shared", "fanout-bench"));
const copy = path.join(gw.PROJECT, "bench", ".work", "fanout-bench");
if (!fs.existsSync(path.join(source, "harness", "run.js"))) throw new Error(`no fan-out harness at ${source} (set FANOUT_HARNESS)`);

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const passed = args.filter((a) => a !== "--quick");
if (!passed.includes("--targets")) passed.push("--targets", "A,B,BR,C");

gw.build();
fs.mkdirSync(copy, { recursive: true });
for (const entry of ["harness", "servers", "package.json", "package-lock.json"]) {
  if (!fs.existsSync(path.join(source, entry))) continue;
  fs.cpSync(path.join(source, entry), path.join(copy, entry), { recursive: true, force: true });
}
// The harness ships read-only; its copy must be writable (results/, node_modules/).
execFileSync("chmod", ["-R", "u+w", copy]);
if (!fs.existsSync(path.join(copy, "node_modules"))) execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: copy, stdio: "inherit" });
execFileSync("npm", ["run", quick ? "bench:quick" : "bench", "--", ...passed], {
  cwd: copy,
  stdio: "inherit",
  env: { ...process.env, WORKGRAPH_DIR: gw.PROJECT },
});
