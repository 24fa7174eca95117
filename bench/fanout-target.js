"use strict";
// Target C of the shared fan-out harness (../shared/fanout-bench, issue 14): the gateway, with
// `messageEvents` as the message stream. `prepare` creates a corp, `n` members with a token each
// (through the corp's administrator app, minted by `cli member-tokens`) and one GROUP conversation
// holding all of them (created by the administrator app, members added 1,000 a call; at most 10,000,
// as the product allows); each subscriber is a different member following that group with
// `messageEvents(conversationId)`; a "message" is the harness's body sent by the administrator app
// with `sendMessage` (text, each with its own clientMessageId), received as
// `... on MessageAdded { message { content { ... on TextContent { content } } } }`.
//
//   npm run build:bench-fanout (or node -e "require('./bench/lib/gateway').build()") in this project, then in ../shared/fanout-bench:
//   WORKGRAPH_DIR=/path/to/project npm run bench:quick -- --targets A,B,C
//
// Database: FANOUT_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wg_fanout_target; created
// when missing, migrated by the gateway, one new corp per server start). FANOUT_INSTANCES=2 runs two
// gateway processes sharing it and Redis (REDIS_URL, default redis://127.0.0.1:6379).

const path = require("node:path");
const { runCli } = require("./lib/gateway");
const { execFileSync } = require("node:child_process");

const PROJECT = path.join(__dirname, "..");
const BUILD = path.join(PROJECT, "bench", ".build", "src");
const DATABASE_URL = process.env.FANOUT_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/wg_fanout_target";
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const INSTANCES = Number(process.env.FANOUT_INSTANCES || 1);
// The token issuer every instance and the CLI share (tokens are checked against it, not against the port).
const PUBLIC_URL = "http://workgraph.fanout-bench";
// The largest group the product allows (issue 14: 10,000 members).
const MAX_GROUP = 10000;

function env() {
  return {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL,
    PUBLIC_URL,
    LOG_LEVEL: "warn",
    PLAYGROUND: "false",
    // One app token publishes every message; the harness measures delivery, not the bucket.
    RATE_LIMIT_SCALE: "1000",
    ...(INSTANCES > 1 ? { REDIS_URL } : {}),
  };
}

const cli = (args) => runCli(args, { env: env(), cliJs: path.join(BUILD, "cli.js") });

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
    if (n > MAX_GROUP) throw new Error(`a group holds at most ${MAX_GROUP} members (n = ${n})`);
    const corp = cli(["corp", "create", "--name", `Fan-out C ${Date.now()}`, "--edition", "PROFESSIONAL", "--allow-duplicate"]);
    const members = cli(["member-tokens", "--corp", corp.corpId, "--client", corp.clientId, "--count", String(n), "--scopes", "messages:read"]);
    const r = await fetch(`http://127.0.0.1:${ports[0]}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`token: ${JSON.stringify(body)}`);
    const token = body.access_token;
    const gql = async (query, variables) => {
      const res = await fetch(`http://127.0.0.1:${ports[0]}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const out = await res.json();
      if (out.errors) throw new Error(`prepare: ${JSON.stringify(out.errors)}`);
      return out.data;
    };
    // The administrator app creates the group (the first member owns it) and adds the others 1,000 a call.
    const ids = members.memberIds;
    const created = await gql("mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }", {
      input: { name: "Fan-out", ownerId: ids[0], memberIds: ids.slice(1, 1000) },
    });
    const conversationId = created.createGroup.conversation.id;
    for (let i = 1000; i < ids.length; i += 1000) {
      await gql("mutation($input: AddGroupMembersInput!) { addGroupMembers(input: $input) { addedCount } }", {
        input: { id: conversationId, memberIds: ids.slice(i, i + 1000) },
      });
    }
    return { token, tokens: members.tokens, conversationId };
  },

  connectionParams: ({ tokens }, index) => ({ authorization: `Bearer ${tokens[index]}` }),

  subscription: {
    query:
      "subscription($c: ID) { messageEvents(conversationId: $c) { cursor ... on MessageAdded { message { content { ... on TextContent { content } } } } } }",
    variables: ({ conversationId }) => ({ c: conversationId }),
    select: (data) => {
      const event = data && data.messageEvents;
      return event && { id: event.cursor, body: event.message && event.message.content && event.message.content.content };
    },
  },

  publish: ({ ports, message, prepared }) => ({
    url: `http://127.0.0.1:${ports[0]}/graphql`,
    headers: { "content-type": "application/json", authorization: `Bearer ${prepared.token}` },
    body: JSON.stringify({
      query: "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }",
      variables: {
        input: { conversationId: prepared.conversationId, clientMessageId: `fanout-${process.pid}-${published++}`, text: { content: message.body } },
      },
    }),
  }),
};
