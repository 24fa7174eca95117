"use strict";
// Turns the shared harness's table export (`setup-db.js --export DIR`: department.csv, member.csv,
// member_department.csv) into one import-format CSV, and maps the harness's department ids to
// the gateway's after the load (by the path of names, which is what the importer keys on).

const fs = require("node:fs");
const { Client } = require("pg");
const { IMPORT_HEADER, ROOT, escapeName, line, eachRow } = require("./csv");

/** Writes `outFile`; returns { rootName, pathOf: Map<benchDepartmentId, "A/B" (root: "/")>, members }. */
async function exportToImportCsv(exportDir, outFile) {
  const dept = new Map();
  await eachRow(`${exportDir}/department.csv`, ([id, , parentId, , name]) => dept.set(id, { parentId, name }));
  const pathOf = new Map();
  const pathFor = (id) => {
    let p = pathOf.get(id);
    if (p === undefined) {
      const d = dept.get(id);
      p = !d.parentId ? ROOT : dept.get(d.parentId).parentId ? `${pathFor(d.parentId)}/${escapeName(d.name)}` : escapeName(d.name);
      pathOf.set(id, p);
    }
    return p;
  };
  for (const id of dept.keys()) pathFor(id);
  const roots = [...dept.values()].filter((d) => !d.parentId);
  if (roots.length !== 1) throw new Error(`expected one root department, found ${roots.length}`);

  // Memberships by member, main department first.
  const memberships = new Map();
  await eachRow(`${exportDir}/member_department.csv`, ([memberId, departmentId, isMain]) => {
    let list = memberships.get(memberId);
    if (!list) memberships.set(memberId, (list = []));
    if (isMain === "true" || isMain === "t") list.unshift(departmentId);
    else list.push(departmentId);
  });

  const out = fs.createWriteStream(outFile);
  const write = (s) => (out.write(s) ? undefined : new Promise((r) => out.once("drain", r)));
  await write(line(IMPORT_HEADER));
  let members = 0;
  const rows = [];
  await eachRow(`${exportDir}/member.csv`, (f) => rows.push(f));
  rows.sort((a, b) => Number(a[0]) - Number(b[0]));
  for (const [id, , employeeId, name, title, extension, email] of rows) {
    const departments = (memberships.get(id) || []).map(pathFor).join(";");
    const w = write(line([employeeId, name, departments, title, extension, "", email]));
    if (w) await w;
    members++;
  }
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  return { rootName: roots[0].name, pathOf, members };
}

/** Gateway department ids by path (the import format's: `A/B`, the root `/`), from the gateway's database. */
async function gatewayDepartmentsByPath(url, corpPk) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `WITH RECURSIVE t AS (
         SELECT id, ARRAY[]::text[] AS names FROM department WHERE corp_id = $1 AND parent_id IS NULL
         UNION ALL
         SELECT d.id, t.names || d.name::text FROM department d JOIN t ON d.parent_id = t.id)
       SELECT id::text, names FROM t`,
      [corpPk],
    );
    return new Map(rows.map((r) => [r.names.length ? r.names.map(escapeName).join("/") : ROOT, r.id]));
  } finally {
    await client.end();
  }
}

module.exports = { exportToImportCsv, gatewayDepartmentsByPath };
