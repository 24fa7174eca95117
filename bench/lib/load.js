"use strict";
// The load generator, run as its own process (never in the gateway's or the orchestrator's event
// loop). Reads a JSON spec on stdin: { url, headers, bodies, connections, duration, warmup };
// runs an untimed warm-up whose answers are checked (HTTP 200 and no GraphQL "errors"), prints
// {"phase":"timed"} when the timed run starts, then one JSON line with the figures.

const autocannon = require("autocannon");

function run(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on("error", () => {}); // counted in res.errors
  });
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const u = new URL(spec.url);
  const base = { url: `${u.protocol}//${u.host}`, connections: spec.connections, pipelining: 1, timeout: 10 };
  const requests = (onResponse) =>
    spec.bodies.map((body) => ({
      method: "POST",
      path: u.pathname,
      headers: spec.headers,
      body,
      ...(onResponse ? { onResponse } : {}),
    }));
  let bad = 0;
  let sample = null;
  if (spec.warmup > 0) {
    await run({
      ...base,
      duration: spec.warmup,
      requests: requests((status, body) => {
        if (status !== 200 || String(body).includes('"errors"')) {
          bad++;
          if (!sample) sample = `${status} ${String(body).slice(0, 300)}`;
        }
      }),
    });
  }
  process.stdout.write('{"phase":"timed"}\n');
  const r = await run({ ...base, duration: spec.duration, requests: requests(null) });
  process.stdout.write(
    `${JSON.stringify({
      warmupBad: bad,
      warmupBadSample: sample,
      requests: r.requests.total,
      seconds: r.duration,
      rps: r.requests.total / r.duration,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
    })}\n`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
