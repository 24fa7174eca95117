"use strict";
// CSV in the import format (`employeeId,name,department,title,extension,mobile,email`): writing
// (RFC 4180 quoting) and a streaming line parser for the plain-COPY baseline.

const fs = require("node:fs");
const readline = require("node:readline");

const IMPORT_HEADER = ["employeeId", "name", "department", "title", "extension", "mobile", "email"];

// Department paths as the importer reads them: names below the root joined by `/` (the root's own
// name is not written; the root itself is `/`), several paths joined by `;`, main first; `/`,
// `;` and `\` inside a name escaped with `\`.
const ROOT = "/";
const escapeName = (name) => name.replace(/[\\/;]/g, (c) => `\\${c}`);

function field(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const line = (values) => values.map(field).join(",") + "\n";

/** Splits one CSV record (no embedded newlines: the import format has none). */
function parseLine(text) {
  const out = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error(`unterminated quote in: ${text.slice(0, 80)}`);
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      i++; // the comma
    } else {
      const c = text.indexOf(",", i);
      const end = c < 0 ? text.length : c;
      out.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

/** Reads a CSV file record by record (header skipped); `onRow(fields)`. */
async function eachRow(file, onRow) {
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let first = true;
  for await (const text of rl) {
    if (first) {
      first = false;
      continue;
    }
    if (text !== "") onRow(parseLine(text));
  }
}

module.exports = { IMPORT_HEADER, ROOT, escapeName, line, parseLine, eachRow };
