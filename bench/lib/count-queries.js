"use strict";
// Preloaded into the gateway for a diagnostic run (not for timing):
//   BENCH_NODE_ARGS="-r ./bench/lib/count-queries.js" node bench/send-message.js --rounds 1
// Counts the statements the gateway sends to PostgreSQL through pg (every pool and client, TypeORM's
// too), by their first words, and writes the counts to stderr (the gateway's log) when it exits.

const pg = require("pg");

const counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === "string" ? config : config && config.text;
  if (typeof text === "string") {
    const key = text.trim().replace(/\s+/g, " ").split(" ").slice(0, 3).join(" ").slice(0, 48);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return query.call(this, config, ...rest);
};

process.on("exit", () => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ statement: k, count: v }));
  process.stderr.write(`${JSON.stringify({ countQueries: { total, rows } })}\n`);
});
