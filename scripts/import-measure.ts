/**
 * `npm run import:measure [-- <rows>]`: imports <rows> (default 100,000) generated members in 1,000
 * departments (up to 15 levels deep, each member in 1–3 of them) through `POST /imports` of an
 * in-process gateway, and prints the seconds and the process's peak RSS; then imports the same file
 * again with REPLACE (which must change nothing) and times that too.
 *
 * With DATABASE_URL (a server URL) it works in a throwaway database it creates and drops; without,
 * in an embedded PostgreSQL in a temporary directory. A child process generates the file while it
 * uploads it, so the RSS figures are the gateway process's alone.
 */
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { fork } from "node:child_process";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { setLogLevel } from "../src/log";
import { createDataSource } from "../src/db/data-source";
import { migrate } from "../src/db/migrate";
import { startEmbeddedPostgres } from "../src/db/embedded";
import { createGateway } from "../src/server";
import { Edition } from "../src/domain/enums";
import { CSV_COLUMNS, escapeName } from "../src/services/directory-csv";

const UPLOADER = process.argv[2] === "--upload";
const ROWS = Number((UPLOADER ? process.argv[6] : process.argv[2]) ?? 100_000);
const DEPARTMENTS = 1000;
const MAX_DEPTH = 15;

/** A deterministic pseudo-random sequence (the same file every run). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** 1,000 department paths: a tree whose deepest branch reaches 15 levels. */
function departmentPaths(): string[] {
  const next = random(7);
  const paths: string[][] = [];
  for (let i = 0; i < DEPARTMENTS; i++) {
    const parent = i < 15 ? paths[i - 1] : paths[Math.floor(next() * paths.length)];
    const names = parent && parent.length < MAX_DEPTH ? [...parent, `D${i}`] : [`D${i}`];
    paths.push(names);
  }
  return paths.map((names) => names.map(escapeName).join("/"));
}

function* csvLines(paths: string[]): Generator<string> {
  const next = random(42);
  yield CSV_COLUMNS.join(",") + "\n";
  let chunk = "";
  for (let i = 1; i <= ROWS; i++) {
    const count = 1 + Math.floor(next() * 3);
    const departments = new Set<string>();
    while (departments.size < count) departments.add(paths[Math.floor(next() * paths.length)]);
    chunk += `E${i},Member ${i},${[...departments].join(";")},Title ${i % 50},${1000 + (i % 9000)},+86138${String(i).padStart(8, "0")},m${i}@example.com\n`;
    if (i % 1000 === 0) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

/** Child process: generate the file while uploading it; print the job id. */
async function upload(base: string, token: string, mode: string): Promise<void> {
  const res = await fetch(`${base}/imports?mode=${mode}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" },
    body: Readable.toWeb(Readable.from(csvLines(departmentPaths()))) as ReadableStream,
    duplex: "half",
  } as RequestInit);
  process.stdout.write(await res.text());
}

function uploadInChild(base: string, token: string, mode: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ["--upload", base, token, mode, String(ROWS)], {
      stdio: ["ignore", "pipe", "inherit", "ipc"],
      execArgv: ["-r", "ts-node/register/transpile-only"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`upload exited with ${code}`));
      const body = JSON.parse(out) as { job?: { id: string } };
      if (!body.job) return reject(new Error(`POST /imports: ${out}`));
      resolve(body.job.id);
    });
  });
}

async function main(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!serverUrl) {
    dir = mkdtempSync(path.join(tmpdir(), "wg-measure-"));
    const pg = await startEmbeddedPostgres(path.join(dir, "pg"), 54339);
    serverUrl = pg.url;
    stopEmbedded = pg.stop;
  }
  const database = `wg_measure_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const config = loadConfig({ ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: "warn", PUBLIC_URL: "http://127.0.0.1" });
  setLogLevel(config.logLevel);
  const dataSource = createDataSource(url.toString());
  await dataSource.initialize();
  await migrate(dataSource);
  const gateway = await createGateway(config, dataSource);
  const port = await gateway.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${port}`;
  try {
    const corp = await gateway.deps.services.corps.create({ name: "Measure", edition: Edition.PROFESSIONAL });
    const tokenRes = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret }).toString(),
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;

    global.gc?.();
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const run = async (mode: string) => {
      const started = Date.now();
      const id = await uploadInChild(base, token, mode);
      for (;;) {
        const poll = await fetch(`${base}/graphql`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ query: `query($id: ID!) { importJob(id: $id) { status total created updated resigned failed reason } }`, variables: { id } }),
        });
        const state = ((await poll.json()) as { data: { importJob: Record<string, unknown> } }).data.importJob;
        if (state.status === "SUCCEEDED" || state.status === "FAILED") return { seconds: (Date.now() - started) / 1000, ...state };
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const first = await run("UPSERT");
    const firstPeak = peakRss;
    const again = await run("REPLACE");
    clearInterval(sampler);
    const events = await dataSource.query(`SELECT count(*)::int AS n FROM event`);
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    console.log(
      JSON.stringify(
        {
          rows: ROWS,
          departments: DEPARTMENTS,
          baselineRssMB: mb(baselineRss),
          import: { ...first, peakRssMB: mb(firstPeak) },
          replaceSameFile: { ...again, peakRssMB: mb(peakRss) },
          eventsWritten: events[0].n,
          maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
          node: process.version,
        },
        null,
        2,
      ),
    );
  } finally {
    await gateway.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    if (stopEmbedded) await stopEmbedded();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

(UPLOADER ? upload(process.argv[3], process.argv[4], process.argv[5]) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
