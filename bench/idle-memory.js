"use strict";
// Server memory per idle subscription (issue 14, "Fan-out": goal <= 15 KiB each at 10,000).
//
//   node bench/idle-memory.js [--n 2000] [--warmup 200] [--clients 2] [--no-probe] [--no-build]
//                             [--stream messages|directory] [--snapshot]
//
// Builds the gateway to bench/.work/idle-memory/build (not bench/.build, which other runs use),
// starts it (NODE_ENV=production, LOG_LEVEL=warn, RATE_LIMIT_SCALE=1000, --expose-gc, this file
// preloaded as a hook that answers SIGUSR2 with gc() and process.memoryUsage(), and with
// --snapshot also writes a heap snapshot), creates a corp and N member tokens with the CLI and, for
// `--stream messages` (the default, as bench/fanout-target.js), a group of all of them whose
// `messageEvents(conversationId)` each member subscribes to (`--stream directory`: `directoryEvents`), then:
//   1. warm-up: W subscriptions from a subscriber process, one probe event delivered to each, closed;
//   2. baseline: RSS (median of 5 readings of /proc/<pid>/status, 200 ms apart), then gc and again;
//   3. N subscriptions (each its own socket and a different member's token, from `--clients`
//      forked processes, 64 handshakes in flight each), one probe event delivered to each (as the
//      shared harness's probe does), 2 s of rest;
//   4. RSS, then gc and RSS and heap again.
// KiB per subscription = (with N - baseline) / N, without and with the forced gc. Without --warmup
// (0), the baseline is taken right after the corp was prepared, as the shared harness does.
//
// `node bench/idle-memory.js --diff a.heapsnapshot b.heapsnapshot [--top 40]`: what the second
// snapshot holds more of, by constructor (count, self size), for finding what a subscription keeps.
//
// Database: IDLE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wg_idle_mem), created
// when missing. Raise `ulimit -n` before a run of 10,000 (each socket is a descriptor in both processes).

const fs = require("node:fs");
const path = require("node:path");
const { runCli } = require("./lib/gateway");
const { spawn, fork, execFileSync } = require("node:child_process");

// ---- the hook inside the gateway process (node -r bench/idle-memory.js) ---------------------------
if (require.main !== module && process.env.IDLE_MEMORY_HOOK) {
  process.on("SIGUSR2", () => {
    const out = process.env.IDLE_MEMORY_HOOK;
    if (global.gc) {
      global.gc();
      global.gc();
    }
    const usage = process.memoryUsage();
    let snapshot = null;
    const snapshotDir = process.env.IDLE_MEMORY_SNAPSHOTS;
    if (snapshotDir) snapshot = require("node:v8").writeHeapSnapshot(path.join(snapshotDir, `idle-${Date.now()}.heapsnapshot`));
    fs.writeFileSync(out + ".tmp", JSON.stringify({ ...usage, snapshot }));
    fs.renameSync(out + ".tmp", out);
  });
  return;
}

// ---- subscriber process (forked with --subscriber) -----------------------------------------------
if (process.argv[2] === "--subscriber") {
  const { WebSocket } = require("ws");
  const { createClient } = require("graphql-ws");
  const clients = [];
  let received = 0;
  let probed = 0;
  const errors = [];
  const send = (m) => process.connected && process.send(m);
  const open = (url, token, query, variables, i) =>
    new Promise((resolve) => {
      let first = true;
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
        onNonLazyError: (e) => resolve(`connect ${i}: ${e && (e.message || e.code || e.reason)}`),
        on: { connected: () => resolve(true), closed: (e) => resolve(`closed ${i}: ${e && e.code} ${e && e.reason}`) },
      });
      clients.push(client);
      client.subscribe(
        { query, variables },
        {
          next: (r) => {
            if (r.errors && errors.length < 5) errors.push(JSON.stringify(r.errors).slice(0, 300));
            received++;
            if (first) {
              first = false;
              if (++probed === clients.length) send({ ev: "probed" });
            }
          },
          error: (e) => errors.length < 5 && errors.push(`error ${i}: ${JSON.stringify(e).slice(0, 300)}`),
          complete: () => undefined,
        },
      );
    });
  process.on("message", async (m) => {
    if (m.cmd === "connect") {
      let next = 0;
      let ok = 0;
      const worker = async () => {
        while (next < m.tokens.length) {
          const i = next++;
          const r = await open(m.url, m.tokens[i], m.query, m.variables, i);
          if (r === true) ok++;
          else if (errors.length < 5) errors.push(r);
        }
      };
      await Promise.all(Array.from({ length: Math.min(64, m.tokens.length) }, worker));
      send({ ev: "connected", ok, errors });
    } else if (m.cmd === "status") {
      send({ ev: "status", received, probed, errors });
    } else if (m.cmd === "close") {
      await Promise.all(clients.map((c) => c.dispose()));
      send({ ev: "closed" });
      process.exit(0);
    }
  });
  return;
}

// ---- heap snapshot diff ---------------------------------------------------------------------------
function summarizeSnapshot(file) {
  const snap = JSON.parse(fs.readFileSync(file, "utf8"));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const byKey = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + iType]];
    let name = snap.strings[nodes[i + iName]];
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(string)";
    else if (type === "closure") name = `closure ${name}`;
    else if (type === "code") name = "(code)";
    else if (name.length > 60) name = name.slice(0, 60);
    const key = `${type}:${name}`;
    const v = byKey.get(key) ?? { count: 0, size: 0 };
    v.count++;
    v.size += nodes[i + iSize];
    byKey.set(key, v);
  }
  return byKey;
}

function diffSnapshots(a, b, top) {
  const sa = summarizeSnapshot(a);
  const sb = summarizeSnapshot(b);
  const rows = [];
  for (const [key, v] of sb) {
    const u = sa.get(key) ?? { count: 0, size: 0 };
    rows.push({ key, count: v.count - u.count, size: v.size - u.size });
  }
  rows.sort((x, y) => y.size - x.size);
  const total = rows.reduce((s, r) => s + r.size, 0);
  console.log(`total self size difference: ${(total / 1024).toFixed(0)} KiB`);
  console.log("| what | count | self KiB |\n|---|---|---|");
  for (const r of rows.slice(0, top)) console.log(`| ${r.key} | ${r.count} | ${(r.size / 1024).toFixed(1)} |`);
}

// ---- orchestrator ---------------------------------------------------------------------------------
const PROJECT = path.join(__dirname, "..");
const WORK = path.join(PROJECT, "bench", ".work", "idle-memory");
const BUILD = path.join(WORK, "build", "src");
const DATABASE_URL = process.env.IDLE_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/wg_idle_mem";
const PUBLIC_URL = "http://workgraph.idle-memory";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const flag = (name) => process.argv.includes(`--${name}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function env() {
  return {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL,
    PUBLIC_URL,
    LOG_LEVEL: "warn",
    PLAYGROUND: "false",
    RATE_LIMIT_SCALE: "1000",
  };
}

const cli = (args) => runCli(args, { env: env(), cliJs: path.join(BUILD, "cli.js"), stderr: "inherit" });

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

async function rssNow(pid) {
  const xs = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssBytes(pid));
    await sleep(200);
  }
  xs.sort((a, b) => a - b);
  return xs[2];
}

/** gc() twice in the gateway and its process.memoryUsage() (and a heap snapshot with --snapshot). */
async function gcAndUsage(gateway, out) {
  fs.rmSync(out, { force: true });
  process.kill(gateway.pid, "SIGUSR2");
  for (let t = 0; t < 1200 && !fs.existsSync(out); t++) await sleep(100);
  const usage = JSON.parse(fs.readFileSync(out, "utf8"));
  await sleep(500);
  return { ...usage, rssAfter: await rssNow(gateway.pid) };
}

async function freePort() {
  const net = require("node:net");
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function request(proc, cmd, ev, extra = {}) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.ev !== ev) return;
      proc.off("message", on);
      resolve(m);
    };
    proc.on("message", on);
    proc.send({ cmd, ...extra });
  });
}

/** Opens one subscription per token from `procs` subscriber processes; resolves with them once connected. */
async function openSubscriptions(url, tokens, query, variables, procs) {
  const per = Math.ceil(tokens.length / procs);
  const children = [];
  for (let p = 0; p * per < tokens.length; p++) {
    children.push(fork(__filename, ["--subscriber"], { cwd: PROJECT, stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }
  const t0 = Date.now();
  const answers = await Promise.all(
    children.map((c, p) => request(c, "connect", "connected", { url, query, variables, tokens: tokens.slice(p * per, (p + 1) * per) })),
  );
  const ok = answers.reduce((s, a) => s + a.ok, 0);
  const errors = answers.flatMap((a) => a.errors);
  if (ok !== tokens.length) throw new Error(`${ok} of ${tokens.length} subscriptions acknowledged: ${errors.join("; ")}`);
  return { children, connectMs: Date.now() - t0 };
}

/** Publishes an event (`publish(k)`) every second until every subscriber got one (the harness's probe). */
async function probe(publish, children) {
  let done = 0;
  const t0 = Date.now();
  for (let k = 0; done < children.length; k++) {
    if (Date.now() - t0 > 120000) throw new Error("probe: not every subscriber received an event within 120 s");
    await publish(k);
    await sleep(1000);
    const st = await Promise.all(children.map((c) => request(c, "status", "status")));
    const errs = st.flatMap((s) => s.errors);
    if (errs.length) throw new Error(`subscriber errors: ${errs.join("; ")}`);
    done = st.filter((s, i) => s.probed === children[i].expected).length;
  }
  return Date.now() - t0;
}

async function closeSubscriptions(children) {
  await Promise.all(children.map((c) => request(c, "close", "closed")));
}

async function main() {
  if (flag("diff")) return diffSnapshots(arg("diff"), process.argv[process.argv.indexOf("--diff") + 2], Number(arg("top", 40)));
  const n = Number(arg("n", 2000));
  const warmup = Number(arg("warmup", 200));
  const procs = Number(arg("clients", Math.max(2, Math.ceil(n / 5000))));
  // The stream: "messages" (messageEvents of one group of every member, as bench/fanout-target.js) or "directory".
  const stream = arg("stream", "messages");
  const query = arg(
    "query",
    stream === "messages"
      ? "subscription($c: ID) { messageEvents(conversationId: $c) { cursor ... on MessageAdded { message { content { ... on TextContent { content } } } } } }"
      : "subscription { directoryEvents { cursor member { title } } }",
  );
  const scopes = arg("scopes", stream === "messages" ? "messages:read" : "directory:read");
  const doProbe = !flag("no-probe");
  fs.mkdirSync(WORK, { recursive: true });
  if (!flag("no-build")) {
    execFileSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-p", path.join(PROJECT, "bench", "tsconfig.bench.json"), "--outDir", path.join(WORK, "build")],
      { cwd: PROJECT, stdio: "inherit" },
    );
  }
  await require("./lib/gateway").ensureDatabase(DATABASE_URL);
  const port = await freePort();
  const hookOut = path.join(WORK, `usage-${process.pid}.json`);
  const snapshots = flag("snapshot") ? fs.mkdtempSync(path.join(WORK, "snap-")) : "";
  const logFile = path.join(WORK, "gateway.log");
  const gateway = spawn(process.execPath, ["--expose-gc", "-r", __filename, path.join(BUILD, "main.js")], {
    cwd: PROJECT,
    env: { ...env(), PORT: String(port), HOST: "127.0.0.1", IDLE_MEMORY_HOOK: hookOut, IDLE_MEMORY_SNAPSHOTS: snapshots },
    stdio: ["ignore", fs.openSync(logFile, "a"), fs.openSync(logFile, "a")],
  });
  const children = [];
  try {
    for (let t = 0; ; t++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        /* not yet */
      }
      if (gateway.exitCode !== null || t > 300) throw new Error(`gateway did not start (${logFile})`);
      await sleep(200);
    }
    const corp = cli(["corp", "create", "--name", `Idle memory ${Date.now()}`, "--edition", "PROFESSIONAL", "--allow-duplicate"]);
    const members = cli(["member-tokens", "--corp", corp.corpId, "--client", corp.clientId, "--count", String(Math.max(n, warmup)), "--scopes", scopes]);
    const r = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret }),
    });
    const adminToken = (await r.json()).access_token;
    const gql = async (q, variables) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query: q, variables }),
      });
      const out = await res.json();
      if (out.errors) throw new Error(JSON.stringify(out.errors));
      return out.data;
    };
    let variables = {};
    let publish;
    const ids = members.memberIds;
    if (stream === "messages") {
      const created = await gql("mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }", {
        input: { name: "Idle memory", ownerId: ids[0], memberIds: ids.slice(1, 1000) },
      });
      const conversationId = created.createGroup.conversation.id;
      for (let i = 1000; i < ids.length; i += 1000) {
        await gql("mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount } }", {
          input: { id: conversationId, memberIds: ids.slice(i, i + 1000) },
        });
      }
      variables = { c: conversationId };
      publish = (k) =>
        gql("mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }", {
          input: { conversationId, clientMessageId: `idle-${process.pid}-${Date.now()}-${k}`, text: { content: `probe ${k}` } },
        });
    } else {
      publish = (k) =>
        gql("mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }", {
          input: { id: ids[k % ids.length], title: `probe ${Date.now()} ${k}` },
        });
    }
    const url = `ws://127.0.0.1:${port}/graphql`;
    const openAndProbe = async (tokens) => {
      const opened = await openSubscriptions(url, tokens, query, variables, procs);
      const per = Math.ceil(tokens.length / procs);
      opened.children.forEach((c, p) => (c.expected = tokens.slice(p * per, (p + 1) * per).length));
      children.push(...opened.children);
      const probeMs = doProbe ? await probe(publish, opened.children) : 0;
      return { ...opened, probeMs };
    };
    if (warmup > 0) {
      const w = await openAndProbe(members.tokens.slice(0, warmup));
      await closeSubscriptions(w.children);
      children.length = 0;
      await sleep(2000);
    }
    const rss0 = await rssNow(gateway.pid);
    const gc0 = await gcAndUsage(gateway, hookOut);
    const run = await openAndProbe(members.tokens.slice(0, n));
    await sleep(2000);
    const rssN = await rssNow(gateway.pid);
    const gcN = await gcAndUsage(gateway, hookOut);
    const kib = (b) => +(b / 1024 / n).toFixed(2);
    const mib = (b) => +(b / 1024 / 1024).toFixed(1);
    const result = {
      n,
      warmup,
      stream,
      probe: doProbe,
      connectS: +(run.connectMs / 1000).toFixed(1),
      rssBaselineMiB: mib(rss0),
      rssWithSubsMiB: mib(rssN),
      kibPerSub: kib(rssN - rss0),
      rssAfterGcBaselineMiB: mib(gc0.rssAfter),
      rssAfterGcWithSubsMiB: mib(gcN.rssAfter),
      kibPerSubAfterGc: kib(gcN.rssAfter - gc0.rssAfter),
      heapUsedMiB: [mib(gc0.heapUsed), mib(gcN.heapUsed)],
      heapKibPerSub: kib(gcN.heapUsed - gc0.heapUsed),
      heapTotalMiB: [mib(gc0.heapTotal), mib(gcN.heapTotal)],
      externalKibPerSub: kib(gcN.external - gc0.external),
      snapshots: snapshots ? [gc0.snapshot, gcN.snapshot] : undefined,
    };
    console.log(JSON.stringify(result, null, 1));
    await closeSubscriptions(children);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    if (gateway.exitCode === null) {
      gateway.kill("SIGTERM");
      await Promise.race([new Promise((r) => gateway.once("exit", r)), sleep(8000)]);
      if (gateway.exitCode === null) gateway.kill("SIGKILL");
    }
    fs.rmSync(hookOut, { force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
