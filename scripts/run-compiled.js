#!/usr/bin/env node
"use strict";
/**
 * Runs a compiled entry point of the project (`dist/src/<name>.js`) with plain node, compiling
 * first when a source file is newer than the last build (issue 10: ts-node spent 1.4 s compiling
 * on every CLI run). Usage: `node scripts/run-compiled.js cli [args…]`. `--build` compiles now
 * (`npm run build`); `--build-only` brings dist/ up to date when stale (the `prepare` script: a
 * failed build warns and leaves npm install alone).
 */
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".build-stamp");
const SOURCES = ["src", "migrations", "ormconfig.ts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

function newestSource(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return /\.(ts|json)$/.test(entry) ? stat.mtimeMs : 0;
  let newest = 0;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestSource(path.join(entry, name)));
  return newest;
}

function stale() {
  let built;
  try {
    built = fs.statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  return SOURCES.some((s) => newestSource(path.join(ROOT, s)) > built);
}

/**
 * Compiles src/, migrations/ and ormconfig.ts to dist/; true when the code was emitted. Type errors
 * (tsc's exit code 2 still emits) are shown once and do not stop the run: `npm test` reports them.
 */
function build() {
  const started = Date.now();
  process.stderr.write("Compiling the TypeScript sources to dist/ (after a change only; about 10 s) ...\n");
  const result = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc", { paths: [ROOT] }), "-p", path.join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const emitted = result.status === 0 || (result.status === 2 && fs.existsSync(path.join(DIST, "src", "cli.js")));
  if (!emitted) return false;
  if (result.status !== 0) process.stderr.write("warning: type errors above; running the emitted code anyway.\n");
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(STAMP, new Date().toISOString() + "\n");
  process.stderr.write(`Compiled in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
  return true;
}

/**
 * Runs `work` holding dist/'s build lock (a directory: mkdir is atomic), so that two commands started
 * together (two terminals, two test files) never write dist/ at once; a lock older than two
 * minutes is taken to be left over from a killed build.
 */
function locked(work) {
  const lock = path.join(ROOT, ".build-lock");
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 120000) fs.rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      Atomics.wait(wait, 0, 0, 200);
    }
  }
  try {
    return work();
  } finally {
    fs.rmdirSync(lock);
  }
}

/** Brings dist/ up to date; true when it is (false: the build failed). */
const ensureBuilt = () => locked(() => !stale() || build());

const [entry, ...args] = process.argv.slice(2);
if (entry === "--build") process.exit(locked(build) ? 0 : 1);
if (entry === "--build-only") {
  if (!ensureBuilt()) process.stderr.write("warning: the build failed; `npm run cli` will try again and show why.\n");
  process.exit(0);
}
if (!entry || !/^[a-z-]+$/.test(entry)) {
  process.stderr.write("usage: node scripts/run-compiled.js <entry in src/, e.g. cli> [args...]\n");
  process.exit(2);
}
if (stale() && !ensureBuilt()) {
  process.stderr.write("The TypeScript build failed (errors above); fix them or run `npm run build` to see them again.\n");
  process.exit(1);
}
process.argv = [process.argv[0], path.join(DIST, "src", `${entry}.js`), ...args];
require(process.argv[1]);
