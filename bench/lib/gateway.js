"use strict";
// Building, provisioning and starting the gateway for the benchmarks.

const fs = require("node:fs");
const path = require("node:path");
const { spawn, execFileSync } = require("node:child_process");
const { Client } = require("pg");

// BENCH_PROJECT_DIR: build and run another checkout of the project (e.g. a clean worktree).
const PROJECT = path.resolve(process.env.BENCH_PROJECT_DIR || path.join(__dirname, "..", ".."));
const BUILD = path.join(PROJECT, "bench", ".build");
const MAIN_JS = path.join(BUILD, "src", "main.js");
const CLI_JS = path.join(BUILD, "src", "cli.js");

/** Compiles src/ and migrations/ to bench/.build (plain node runs it: no ts-node in the measured process). */
function build() {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(PROJECT, "bench", "tsconfig.bench.json")], {
    cwd: PROJECT,
    stdio: "inherit",
  });
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Drops and creates `database` on the server of `serverUrl`; returns its URL. */
async function freshDatabase(serverUrl, database) {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad database name ${database}`);
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  return withDatabase(serverUrl, database);
}

/** Creates the database of `url` when it does not exist (through the server's `postgres` database); keeps it otherwise. */
async function ensureDatabase(url) {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad database name ${database}`);
  const admin = new Client({ connectionString: withDatabase(url, "postgres") });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
}

/**
 * Runs the built CLI (`cliJs`, by default this build's) with `env` added to the process's, and
 * returns the JSON of its last line of output. `stderr`: "ignore" or "inherit".
 */
function runCli(args, { env = {}, cliJs = CLI_JS, stderr = "ignore" } = {}) {
  const out = execFileSync(process.execPath, [cliJs, ...args], {
    cwd: PROJECT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    stdio: ["ignore", "pipe", stderr],
  });
  return JSON.parse(out.trim().split("\n").pop());
}

/** Migrates the database and creates a corp (root department named `name`) with its admin app. */
function createCorp(url, name) {
  const corp = runCli(["corp", "create", "--name", name, "--edition", "PROFESSIONAL"], { env: { DATABASE_URL: url, LOG_LEVEL: "warn" }, stderr: "inherit" });
  corp.corpPk = Buffer.from(corp.corpId, "base64url").toString("utf8").split(":")[1];
  return corp;
}

/** The environment the gateway runs with in the benchmarks. */
function serverEnv(url, port) {
  return {
    NODE_ENV: "production",
    DATABASE_URL: url,
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: "warn",
    PLAYGROUND: "false",
    // One admin token drives the whole load (hundreds of q1 a second, 202 points each): at the
    // edition's 500 points/s the bucket, not the gateway, would be measured. The charging is the
    // same work at any scale (see README, "Rate-limit overhead").
    RATE_LIMIT_SCALE: "1000",
  };
}

/** Starts the built gateway as its own process group; resolves when /healthz answers. */
async function startGateway(url, port, logFile) {
  const log = fs.openSync(logFile, "a");
  // BENCH_NODE_ARGS: node flags for the gateway only (e.g. "--trace-gc", "--max-old-space-size=512").
  const nodeArgs = (process.env.BENCH_NODE_ARGS || "").split(" ").filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, MAIN_JS], {
    cwd: PROJECT,
    env: { ...process.env, ...serverEnv(url, port) },
    stdio: ["ignore", log, log],
    detached: true,
  });
  proc.unref();
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (proc.exitCode !== null || Date.now() - t0 > 60000) throw new Error(`gateway did not start (see ${logFile})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return proc;
}

async function stopProcess(proc) {
  if (!proc || proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once("exit", r));
  try {
    process.kill(-proc.pid, "SIGTERM");
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 8000);
  await done;
  clearTimeout(t);
}

/** Client-credentials token for the corp's admin app. */
async function token(port, corp) {
  const r = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(`token: ${JSON.stringify(body)}`);
  return body.access_token;
}

module.exports = {
  PROJECT,
  BUILD,
  MAIN_JS,
  build,
  runCli,
  withDatabase,
  ensureDatabase,
  freshDatabase,
  createCorp,
  serverEnv,
  startGateway,
  stopProcess,
  token,
};
