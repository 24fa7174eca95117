"use strict";
// The load generator of `npm run bench:send` (bench/send-message.js), run as its own process.
// Reads a JSON spec on stdin: { url, senders: [{ token, conversationId }], prefix, text, duration,
// warmup }. Connection k sends as senders[k] into its own conversation, one request at a time, each
// `sendMessage` with a clientMessageId of its own (`<prefix>-<phase>-c<k>-<n>`), so none is answered
// by the idempotency check. Every answer is checked (HTTP 200, no GraphQL "errors", a message with a
// seq); the clientMessageIds of the answered ones are kept per phase, so that the orchestrator can
// find each of them in the database. Prints {"phase":"timed"} when the timed run starts, then one
// JSON line with the figures and the acknowledged ids.

const autocannon = require("autocannon");

const SEND = "mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { message { id seq } } }";

function phase(spec, name, duration) {
  const u = new URL(spec.url);
  const acked = [];
  let bad = 0;
  let sample = null;
  let next = 0; // connection index, handed out as autocannon creates its clients
  const opts = {
    url: `${u.protocol}//${u.host}`,
    connections: spec.senders.length,
    pipelining: 1,
    timeout: 10,
    duration,
    setupClient: (client) => {
      const k = next++;
      const { token, conversationId } = spec.senders[k];
      let n = 0;
      client.setRequests([
        {
          method: "POST",
          path: u.pathname,
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          setupRequest: (req, context) => {
            const clientMessageId = `${spec.prefix}-${name}-c${k}-${n++}`;
            context.clientMessageId = clientMessageId; // this request's, until its answer (one in flight per connection)
            req.body = JSON.stringify({
              query: SEND,
              operationName: "Send",
              variables: { input: { conversationId, clientMessageId, text: { content: `${spec.text} #${n}` } } },
            });
            return req;
          },
          onResponse: (status, body, context) => {
            const text = String(body);
            if (status === 200 && !text.includes('"errors"') && text.includes('"seq"')) acked.push(context.clientMessageId);
            else {
              bad++;
              if (!sample) sample = `${status} ${text.slice(0, 300)}`;
            }
          },
        },
      ]);
    },
  };
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve({ res, acked, bad, sample })));
    inst.on("error", () => {}); // counted in res.errors
  });
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const warm = spec.warmup > 0 ? await phase(spec, "w", spec.warmup) : { acked: [], bad: 0, sample: null };
  process.stdout.write('{"phase":"timed"}\n');
  const timed = await phase(spec, "t", spec.duration);
  const r = timed.res;
  process.stdout.write(
    `${JSON.stringify({
      warmupBad: warm.bad,
      warmupBadSample: warm.sample,
      bad: timed.bad,
      badSample: timed.sample,
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
      status2xx: r["2xx"],
      acked: { w: warm.acked, t: timed.acked },
    })}\n`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
