"use strict";
// The benchmark's own set-based loader: a stand-in for the member importer (issue 4 part 1), used
// to fill a fresh gateway database with an import-format CSV when the importer is not there.
// It streams the file into a temporary staging table with COPY, then creates the departments of
// every path level by level and inserts members and memberships with INSERT ... SELECT, in one
// transaction. It writes no directory events and validates nothing beyond what the table
// constraints check: it is for benchmark data, not an API.
//
// Paths are read as the importer reads them (`A/B`: names below the root, the root itself `/`);
// names with escapes (`\\`) are refused: the benchmark's data has none.

const fs = require("node:fs");
const { pipeline } = require("node:stream/promises");
const { Client } = require("pg");
const { from: copyFrom } = require("pg-copy-streams");

/**
 * Loads `file` into the corp `corpPk` of the database at `url` (which must have no members yet);
 * with `departmentsOnly`, only the department tree of its paths.
 * Returns { seconds, members, memberships, departments }.
 */
/** SQL: the name array of a path expression (`/` is the root: no names). */
const NAMES = (expr) => `(CASE WHEN ${expr} = '/' THEN ARRAY[]::text[] ELSE string_to_array(${expr}, '/') END)`;

async function loadImportCsv(url, corpPk, file, { departmentsOnly = false } = {}) {
  const client = new Client({ connectionString: url });
  await client.connect();
  const t0 = process.hrtime.bigint();
  try {
    await client.query("BEGIN");
    await client.query(`CREATE TEMP TABLE staging (ord bigserial, employee_id text, name text, department text, title text,
                          extension text, mobile text, email text) ON COMMIT DROP`);
    await pipeline(
      fs.createReadStream(file),
      client.query(copyFrom("COPY staging (employee_id, name, department, title, extension, mobile, email) FROM STDIN (FORMAT csv, HEADER)")),
    );

    const escaped = (await client.query(`SELECT count(*)::int AS n FROM staging WHERE strpos(department, '\\') > 0`)).rows[0].n;
    if (escaped) throw new Error(`${escaped} row(s) have escaped department names: the benchmark loader does not read escapes`);
    // Every prefix of every path, as a name array below the root (the root: the empty array).
    await client.query(`CREATE TEMP TABLE dept_names ON COMMIT DROP AS
      SELECT DISTINCT p.names[1:k.k] AS names, k.k AS depth
        FROM (SELECT DISTINCT CASE WHEN x = '/' THEN ARRAY[]::text[] ELSE string_to_array(x, '/') END AS names
                FROM staging s, unnest(string_to_array(s.department, ';')) AS x) p,
             generate_series(1, cardinality(p.names)) AS k(k)`);
    const root = (await client.query(`SELECT id, path FROM department WHERE corp_id = $1 AND parent_id IS NULL`, [corpPk])).rows[0];
    await client.query(`CREATE TEMP TABLE dept_map (names text[] PRIMARY KEY, id bigint, path text) ON COMMIT DROP`);
    await client.query(`INSERT INTO dept_map VALUES (ARRAY[]::text[], $1, $2)`, [root.id, root.path]);
    const maxDepth = (await client.query(`SELECT coalesce(max(depth), 0) AS n FROM dept_names`)).rows[0].n;
    let departments = 0;
    for (let level = 1; level <= maxDepth; level++) {
      // Ids first (in name order, so reruns give the same ids), then the rows with their paths.
      const r = await client.query(
        `WITH fresh AS (
           SELECT n.names, p.path AS parent_path, p.id AS parent_id
             FROM dept_names n JOIN dept_map p ON p.names = n.names[1:$1 - 1]
            WHERE n.depth = $1 ORDER BY n.names),
         numbered AS (SELECT f.*, nextval(pg_get_serial_sequence('department', 'id')) AS id FROM fresh f),
         ins AS (
           INSERT INTO department (id, corp_id, parent_id, name, "order", depth, path)
           SELECT id, $2, parent_id, names[$1], 0, $1, parent_path || id || '/' FROM numbered
           RETURNING id, path)
         INSERT INTO dept_map SELECT n.names, n.id, n.parent_path || n.id || '/' FROM numbered n`,
        [level, corpPk],
      );
      departments += r.rowCount;
    }
    if (departmentsOnly) {
      await client.query("COMMIT");
      await client.query("ANALYZE department");
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, members: 0, memberships: 0, departments };
    }
    const members = (
      await client.query(
        `INSERT INTO member (corp_id, employee_id, name, title, extension, mobile, email, status, main_department_id)
       SELECT $1, s.employee_id, s.name, NULLIF(s.title, ''), NULLIF(s.extension, ''), NULLIF(s.mobile, ''),
              lower(NULLIF(s.email, '')), 'UNACTIVATED', d.id
         FROM staging s JOIN dept_map d ON d.names = ${NAMES("split_part(s.department, ';', 1)")}
        ORDER BY s.ord`,
        [corpPk],
      )
    ).rowCount;
    const memberships = (
      await client.query(
        `INSERT INTO member_department (member_id, department_id, corp_id)
       SELECT m.id, d.id, $1
         FROM staging s
         JOIN member m ON m.corp_id = $1 AND m.employee_id = s.employee_id
         CROSS JOIN LATERAL unnest(string_to_array(s.department, ';')) AS x(path)
         JOIN dept_map d ON d.names = ${NAMES("x.path")}
       ON CONFLICT DO NOTHING`,
        [corpPk],
      )
    ).rowCount;
    await client.query("COMMIT");
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await client.query("ANALYZE department; ANALYZE member; ANALYZE member_department");
    return { seconds, members, memberships, departments };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}

module.exports = { loadImportCsv };
