"use strict";
// One timed load run against a running server: autocannon in a child process (lib/load.js), and
// /proc samples of the server's process tree (RSS every 250 ms, CPU ticks) and of every
// `postgres` process (CPU ticks), so that CPU per request = (server + PostgreSQL CPU) / requests.

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { spawn } = require("node:child_process");

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux
const PAGE_KIB = 4;

function allStats() {
  const out = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const rp = s.lastIndexOf(")");
      const f = s.slice(rp + 2).split(" ");
      out.push({
        pid: Number(d),
        comm: s.slice(s.indexOf("(") + 1, rp),
        ppid: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]),
        rssKiB: Number(f[21]) * PAGE_KIB,
      });
    } catch {
      /* exited */
    }
  }
  return out;
}

function tree(rootPid, stats) {
  const out = stats.filter((s) => s.pid === rootPid);
  for (let i = 0; i < out.length; i++) for (const s of stats) if (s.ppid === out[i].pid) out.push(s);
  return out;
}

/** Is `pid` a PostgreSQL backend serving `database`? (Its title: `postgres: 15/main: user db host ...`.) */
function servesDatabase(pid, database) {
  try {
    const title = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    return title.split(" ").includes(database);
  } catch {
    return false;
  }
}

/**
 * RSS and CPU ticks of the server's process tree, and CPU ticks of PostgreSQL: the backends of
 * `pgDatabase` when given (so other databases' work on a shared server does not count), else every
 * `postgres` process.
 */
function sample(serverPid, pgDatabase) {
  const stats = allStats();
  const server = tree(serverPid, stats);
  const ticks = (arr) => Object.fromEntries(arr.map((s) => [s.pid, s.ticks]));
  const pg = stats.filter((s) => s.comm.startsWith("postgres") && (!pgDatabase || servesDatabase(s.pid, pgDatabase)));
  return { rssKiB: server.reduce((a, s) => a + s.rssKiB, 0), server: ticks(server), pg: ticks(pg) };
}

const delta = (a, b, key) => Object.entries(b[key]).reduce((t, [pid, v]) => t + v - (a[key][pid] || 0), 0) / CLK_TCK;

/**
 * Runs the load: { url, headers, bodies, connections, duration, warmup } against the server whose
 * pid is `serverPid` (PostgreSQL CPU: the backends of `pgDatabase`, see `sample`). Resolves with req/s, latency, errors, RSS (max during the timed run, MiB)
 * and CPU (server and PostgreSQL, % of one core and µs per request).
 */
function measure(spec, serverPid, pgDatabase) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "load.js")], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdin.end(JSON.stringify(spec));
    let start = null;
    let rssMax = 0;
    let timer = null;
    let result = null;
    const lines = readline.createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const msg = JSON.parse(line);
      if (msg.phase === "timed") {
        start = { ...sample(serverPid, pgDatabase), t: process.hrtime.bigint() };
        rssMax = start.rssKiB;
        timer = setInterval(() => {
          rssMax = Math.max(rssMax, sample(serverPid).rssKiB);
        }, 250);
      } else {
        const end = { ...sample(serverPid, pgDatabase), t: process.hrtime.bigint() };
        clearInterval(timer);
        const seconds = Number(end.t - start.t) / 1e9;
        const server = delta(start, end, "server");
        const pg = delta(start, end, "pg");
        result = {
          ...msg,
          rssMaxMiB: Math.round(Math.max(rssMax, end.rssKiB) / 1024),
          serverCpuPct: Math.round((100 * server) / seconds),
          pgCpuPct: Math.round((100 * pg) / seconds),
          cpuUsPerRequest: Math.round((1e6 * (server + pg)) / msg.requests),
          serverUsPerRequest: Math.round((1e6 * server) / msg.requests),
        };
      }
    });
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`load generator exited with ${code}`));
    });
  });
}

module.exports = { measure, sample };
