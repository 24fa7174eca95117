import { MAX_DEPARTMENT_DEPTH } from "../entities/department.entity";
import { checkDepartmentName } from "../domain/member-rules";
import { MAX_MEMBER_DEPARTMENTS } from "./member.service";

/**
 * The directory's CSV format, read by the import and written by the export (so that an export
 * imported again changes nothing).
 *
 * - Header: `employeeId,name,department,title,extension,mobile,email` (any order; the last four
 *   columns may be left out).
 * - `department`: one or more department paths separated by `;`, the first the main department.
 *   A path lists department names from below the root down, separated by `/`: `Shanghai/Sales`
 *   is the department Sales under Shanghai under the root. The root's own name is not written;
 *   the root itself is `/`. A `/`, `;` or `\` inside a name is escaped with `\`.
 * - Empty optional cells are "no value" (they clear the field).
 * - A cell that would start a spreadsheet formula is written with a `'` in front (`writeCell`),
 *   which the import removes again (`readCell`).
 */
export const CSV_COLUMNS = ["employeeId", "name", "department", "title", "extension", "mobile", "email"] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
export const REQUIRED_COLUMNS: readonly CsvColumn[] = ["employeeId", "name", "department"];

/** The path of the root department. */
export const ROOT_KEY = "/";

/**
 * Starts a path relative to the caller's visible departments (`~/Sales East/Team`): the first name
 * is a department at the top of what the caller sees. A department named `~` is written `\~`.
 */
export const RELATIVE_MARK = "~";

/** Escapes one department name for a path. */
export function escapeName(name: string): string {
  if (name === RELATIVE_MARK) return `\\${name}`;
  return name.replace(/[\\/;]/g, (c) => `\\${c}`);
}

/** The path of a department whose parent has path `parentKey` (the root's children: just the name). */
export function childKey(parentKey: string, name: string): string {
  return parentKey === ROOT_KEY ? escapeName(name) : `${parentKey}/${escapeName(name)}`;
}

/**
 * The path of every department, from rows ordered so that parents come before their children
 * (e.g. by depth): the one mapping the import reads and the export writes.
 */
export function departmentKeys(departments: Iterable<{ id: string; parent_id: string | null; name: string }>): Map<string, string> {
  const keys = new Map<string, string>();
  for (const d of departments) {
    keys.set(d.id, d.parent_id === null ? ROOT_KEY : childKey(keys.get(d.parent_id) ?? "\u0000", d.name));
  }
  return keys;
}

/** Splits `text` at unescaped `sep`, keeping escapes; null when a `\` ends the text. */
function splitEscaped(text: string, sep: string): string[] | null {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      if (i + 1 >= text.length) return null;
      current += c + text[++i];
    } else if (c === sep) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

const unescape = (text: string) => text.replace(/\\(.)/g, "$1");

export interface ParsedDepartments {
  /** Canonical paths (names escaped, `/`-joined), main department first. */
  keys: string[];
  /** The names of each path, root excluded (for a relative path: from its first, visible, department). */
  segments: string[][];
}

export type CellProblem = { code: "BAD_USER_INPUT" | "LIMIT_EXCEEDED"; message: string };

/** Reads a `department` cell; a problem names what is wrong with it. */
export function parseDepartmentCell(cell: string): ParsedDepartments | CellProblem {
  const bad = (message: string): CellProblem => ({ code: "BAD_USER_INPUT", message });
  const paths = splitEscaped(cell, ";");
  if (!paths) return bad("department ends with an unfinished `\\` escape");
  const pieces = paths.map((p) => p.trim());
  if (pieces.length === 1 && pieces[0] === "") return bad("A member needs at least one department.");
  if (pieces.length > MAX_MEMBER_DEPARTMENTS) return bad(`A member can be in at most ${MAX_MEMBER_DEPARTMENTS} departments.`);
  const keys: string[] = [];
  const segments: string[][] = [];
  for (const piece of pieces) {
    if (piece === "") return bad("department has an empty path between `;`");
    let names: string[];
    let relative = false;
    if (piece === ROOT_KEY) {
      names = [];
    } else {
      const raw = splitEscaped(piece, "/")!;
      relative = raw.length > 1 && raw[0].trim() === RELATIVE_MARK;
      names = (relative ? raw.slice(1) : raw).map((s) => unescape(s.trim()));
      for (const name of names) {
        if (name === "") return bad(`department path "${piece}" has an empty name (use "/" alone for the root)`);
        const problem = checkDepartmentName(name);
        if (problem) return bad(`department path "${piece}": ${problem}`);
      }
      if (names.length > MAX_DEPARTMENT_DEPTH) {
        return { code: "LIMIT_EXCEEDED", message: `department path "${piece}": departments nest at most ${MAX_DEPARTMENT_DEPTH} levels below the root.` };
      }
    }
    const key = relative ? [RELATIVE_MARK, ...names.map(escapeName)].join("/") : names.length ? names.map(escapeName).join("/") : ROOT_KEY;
    if (keys.includes(key)) return bad(`department "${piece}" is listed twice`);
    keys.push(key);
    segments.push(names);
  }
  return { keys, segments };
}

/**
 * CSV injection (OWASP; finding 6 of issue 11): a spreadsheet runs a cell that starts with `=`, `+`,
 * `-`, `@`, tab or CR as a formula. The export writes such a value with one `'` in front, which
 * spreadsheets show as text; so that export → import is the identity for every string, a value made
 * of `'`s followed by one of those characters gets the `'` too, and the import drops exactly one `'`
 * from a cell that is `'`s followed by one of them. Any other cell is read and written as it is.
 */
const FORMULA_START = /^'*[=+\-@\t\r]/;
const NEUTRALISED = /^'+[=+\-@\t\r]/;

/** The cell text the export writes for `value` (see FORMULA_START). */
export function writeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The value of a cell as the import reads it: the inverse of `writeCell`. */
export function readCell(cell: string): string {
  return NEUTRALISED.test(cell) ? cell.slice(1) : cell;
}

/** One CSV field: neutralised (`writeCell`), then quoted when it must be (RFC 4180). */
export function csvField(value: string | null): string {
  if (value === null || value === "") return "";
  const text = writeCell(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | null)[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
