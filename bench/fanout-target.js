"use strict";
// Target C of the shared fan-out harness (../shared/fanout-bench, issue 14): the gateway, with
// `directoryEvents` as the message stream. Each subscriber is a different member (a member token
// through the corp's administrator app, minted by `cli member-tokens`); a "message" is one member's
// title set to the harness's body (`updateMember`, as the administrator app), which every subscriber
// receives as `directoryEvents { cursor member { title } }`. Titles hold up to 128 characters, the
// harness's bodies ~125. A subject resolves as it is now, so each message updates the next of a pool
// of at least 400 members in turn: a delivery could only read a later body if it lagged 400 messages.
//
//   npm run build:bench-fanout (or node -e "require('./bench/lib/gateway').build()") in this project, then in ../shared/fanout-bench:
//   WORKGRAPH_DIR=/path/to/project npm run bench:quick -- --targets A,B,C
//
// Database: FANOUT_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wg_fanout_target; created
// when missing, migrated by the gateway, one new corp per server start). FANOUT_INSTANCES=2 runs two
// gateway processes sharing it and Redis (REDIS_URL, default redis://127.0.0.1:6379).

const path = require("node:path");
const { execFileSync } = require("node:child_process");

const PROJECT = path.join(__dirname, "..");
const BUILD = path.join(PROJECT, "bench", ".build", "src");
const DATABASE_URL = process.env.FANOUT_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/wg_fanout_target";
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const INSTANCES = Number(process.env.FANOUT_INSTANCES || 1);
// The token issuer every instance and the CLI share (tokens are checked against it, not against the port).
const PUBLIC_URL = "http://workgraph.fanout-bench";
const POOL = 400;

function env() {
  return {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL,
    PUBLIC_URL,
    LOG_LEVEL: "warn",
    PLAYGROUND: "false",
    // One app token publishes every message (10 points each); the harness measures delivery, not the bucket.
    RATE_LIMIT_SCALE: "1000",
    ...(INSTANCES > 1 ? { REDIS_URL } : {}),
  };
}

function cli(args) {
  const out = execFileSync(process.execPath, [path.join(BUILD, "cli.js"), ...args], {
    cwd: PROJECT,
    env: env(),
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
  });
  return JSON.parse(out.trim().split("\n").pop());
}

let published = 0;

module.exports = {
  name: "C-workgraph",
  short: "C",
  protocol: "graphql-ws",
  instances: INSTANCES,

  start: ({ port, instance }) => {
    if (instance === 0) {
      execFileSync(process.execPath, ["-e", `require("./bench/lib/gateway").ensureDatabase(${JSON.stringify(DATABASE_URL)}).then(() => process.exit(0))`], {
        cwd: PROJECT,
        stdio: "inherit",
      });
    }
    return {
      command: process.execPath,
      // FANOUT_NODE_ARGS: node flags for the gateway (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
      args: [...(process.env.FANOUT_NODE_ARGS || "").split(" ").filter(Boolean), path.join(BUILD, "main.js")],
      env: { ...env(), PORT: String(port), HOST: "127.0.0.1" },
    };
  },

  readyUrl: ({ port }) => `http://127.0.0.1:${port}/healthz`,
  wsUrl: ({ port }) => `ws://127.0.0.1:${port}/graphql`,

  prepare: async ({ ports, n }) => {
    const corp = cli(["corp", "create", "--name", `Fan-out C ${Date.now()}`, "--edition", "PROFESSIONAL", "--allow-duplicate"]);
    const members = cli([
      "member-tokens",
      "--corp",
      corp.corpId,
      "--client",
      corp.clientId,
      "--count",
      String(Math.max(n, POOL)),
      "--scopes",
      "directory:read",
    ]);
    const r = await fetch(`http://127.0.0.1:${ports[0]}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`token: ${JSON.stringify(body)}`);
    return { token: body.access_token, tokens: members.tokens.slice(0, n), memberIds: members.memberIds };
  },

  connectionParams: ({ tokens }, index) => ({ authorization: `Bearer ${tokens[index]}` }),

  subscription: {
    query: "subscription { directoryEvents { cursor member { title } } }",
    variables: () => ({}),
    select: (data) =>
      data && data.directoryEvents && { id: data.directoryEvents.cursor, body: data.directoryEvents.member && data.directoryEvents.member.title },
  },

  publish: ({ ports, message, prepared }) => ({
    url: `http://127.0.0.1:${ports[0]}/graphql`,
    headers: { "content-type": "application/json", authorization: `Bearer ${prepared.token}` },
    body: JSON.stringify({
      query: "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }",
      variables: { input: { id: prepared.memberIds[published++ % prepared.memberIds.length], title: message.body } },
    }),
  }),
};
