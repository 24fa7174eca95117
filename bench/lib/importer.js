"use strict";
// Loading an import-format CSV into a running gateway through its importer (issue 4 part 1):
// `POST /imports?mode=REPLACE` with the file as a text/csv stream, then `importJob(id)` polled
// until it ends. Falls back to nothing: callers decide whether to use lib/loader.js instead.

const fs = require("node:fs");
const { Readable } = require("node:stream");

const JOB = "query Job($id: ID!) { importJob(id: $id) { status total processed created updated resigned failed } }";

/** Does this gateway have the importer? (Its schema has the `ImportJob` type.) */
async function hasImporter(port, token) {
  const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ query: '{ __type(name: "ImportJob") { name } }' }),
  });
  const body = await r.json();
  return Boolean(body.data && body.data.__type);
}

/**
 * Imports `file` (REPLACE) and waits for the job; `onTick` is called every 100 ms while it runs
 * (e.g. to sample RSS). Resolves with { seconds, job } (seconds: from the first byte sent to the
 * job's end as seen by polling every 100 ms).
 */
async function importCsv(port, token, file, onTick = () => {}) {
  const t0 = process.hrtime.bigint();
  const ticker = setInterval(onTick, 100);
  try {
    const r = await fetch(`http://127.0.0.1:${port}/imports?mode=REPLACE`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" },
      body: Readable.toWeb(fs.createReadStream(file)),
      duplex: "half",
    });
    const body = await r.json();
    if (r.status !== 202) throw new Error(`POST /imports answered ${r.status}: ${JSON.stringify(body)}`);
    const id = body.job.id;
    for (;;) {
      const p = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ query: JOB, variables: { id } }),
      });
      const res = await p.json();
      if (res.errors) throw new Error(`importJob: ${JSON.stringify(res.errors)}`);
      const job = res.data.importJob;
      if (job.status === "SUCCEEDED" || job.status === "FAILED") {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        if (job.status === "FAILED") throw new Error(`import job failed: ${JSON.stringify(job)}`);
        return { seconds, job };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clearInterval(ticker);
  }
}

module.exports = { hasImporter, importCsv };
