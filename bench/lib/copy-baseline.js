"use strict";
// The import's physical limit: the same rows by plain COPY into the gateway's own tables, as the
// shared harness's copy:anchor (a) does for its schema. Run as its own process:
//   node bench/lib/copy-baseline.js <database url> <corp pk> <import csv>
// The database must hold the corp with every department of the file and no members. The client
// parses the CSV, resolves each path to its department id (one SELECT of the tree), and streams
// `COPY member` then `COPY member_department` in one transaction. Prints one JSON line:
// { seconds (first statement to COMMIT), members, memberships, peakRssMiB (this process's VmHWM) }.

const fs = require("node:fs");
const { Client } = require("pg");
const { from: copyFrom } = require("pg-copy-streams");
const { ROOT, escapeName, eachRow } = require("./csv");

const copyText = (v) =>
  v === null || v === "" ? "\\N" : String(v).replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]);

async function main() {
  const [url, corpPk, file] = process.argv.slice(2);
  const client = new Client({ connectionString: url });
  await client.connect();
  const t0 = process.hrtime.bigint();
  await client.query("BEGIN");
  const { rows } = await client.query(
    `WITH RECURSIVE t AS (
       SELECT id, ARRAY[]::text[] AS names FROM department WHERE corp_id = $1 AND parent_id IS NULL
       UNION ALL
       SELECT d.id, t.names || d.name::text FROM department d JOIN t ON d.parent_id = t.id)
     SELECT id::text, names FROM t`,
    [corpPk],
  );
  const byPath = new Map(rows.map((r) => [r.names.length ? r.names.map(escapeName).join("/") : ROOT, r.id]));
  const next = (await client.query(`SELECT coalesce(max(id), 0) + 1 AS id FROM member`)).rows[0].id;

  const members = [];
  const memberships = [];
  let id = Number(next);
  await eachRow(file, ([employeeId, name, department, title, extension, mobile, email]) => {
    const depts = department.split(";").map((p) => {
      const d = byPath.get(p);
      if (!d) throw new Error(`unknown department path ${p}`);
      return d;
    });
    members.push(
      [id, corpPk, employeeId, name, title, extension, mobile, email ? email.toLowerCase() : "", "UNACTIVATED", depts[0]].map(copyText).join("\t") + "\n",
    );
    for (const d of depts) memberships.push(`${id}\t${d}\t${corpPk}\n`);
    id++;
  });
  const copy = async (sql, lines) => {
    const stream = client.query(copyFrom(sql));
    const done = new Promise((resolve, reject) => {
      stream.on("finish", resolve);
      stream.on("error", reject);
    });
    for (let i = 0; i < lines.length; i += 2000) {
      if (!stream.write(lines.slice(i, i + 2000).join(""))) await new Promise((r) => stream.once("drain", r));
    }
    stream.end();
    await done;
  };
  await copy("COPY member (id, corp_id, employee_id, name, title, extension, mobile, email, status, main_department_id) FROM STDIN", members);
  await copy("COPY member_department (member_id, department_id, corp_id) FROM STDIN", memberships);
  await client.query("COMMIT");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await client.end();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  process.stdout.write(
    `${JSON.stringify({ seconds, members: members.length, memberships: memberships.length, peakRssMiB: hwm ? Math.round(Number(hwm[1]) / 1024) : null })}\n`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
