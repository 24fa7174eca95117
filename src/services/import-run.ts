import { once } from "node:events";
import { Readable, pipeline } from "node:stream";
import { CsvError, parse } from "csv-parse";
import { Client, type DatabaseError } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { AppDeps } from "../context";
import { canManageDepartments, canManageMembersIn, canSee, outOfReachSql, reachesWholeCorp, visibleSql, type Principal } from "../policy";
import { CorpDb } from "../db/scoped-db";
import { transaction } from "../db/transaction";
import { STREAMS } from "../events/log";
import { lockDepartmentTree } from "./department.service";
import { DomainError } from "../errors/domain-error";
import { checkMemberRow, type MemberRowFields } from "../domain/member-rules";
import { ImportJobStatus, ImportMode } from "../domain/enums";
import { SqlParams } from "../db/sql";
import { DirectoryEventType, MemberStatus } from "../domain/enums";
import {
  childKey,
  CSV_COLUMNS,
  departmentKeys,
  escapeName,
  parseDepartmentCell,
  readCell,
  RELATIVE_MARK,
  REQUIRED_COLUMNS,
  ROOT_KEY,
  type CsvColumn,
  type ParsedDepartments,
} from "./directory-csv";
import { MAX_DEPARTMENT_DEPTH } from "../entities/department.entity";
import { LONE_SURROGATE, Utf8Check } from "./utf8-check";
import { log } from "../log";

/** Options of one import, as validated by `ImportService`. */
export interface ImportOptions {
  mode: ImportMode;
  dryRun: boolean;
  maxResignRatio: number;
}

/** The counts a job reports. */
export interface ImportCounts {
  total: number;
  processed: number;
  created: number;
  updated: number;
  resigned: number;
  failed: number;
  departmentsCreated: number;
}

/**
 * A failure that ends the job with `reason` (nothing applied). `row` (1 = the first row after the
 * header) and `field` are set when the failure lies in one row, e.g. a CSV syntax error; the job's
 * `errors` then list it too.
 */
export class ImportFailure extends Error {
  constructor(
    message: string,
    readonly where: { row?: number; field?: string } = {},
  ) {
    super(message);
  }
}

/** The upload sent less than 16 KiB in `IMPORT_IDLE_TIMEOUT_SECONDS` (finding 15 of issue 11; import review, finding 1). */
export class UploadStalled extends ImportFailure {}

/** What is wrong, for each CSV syntax error csv-parse reports (any other: its own message). */
const CSV_SYNTAX: Partial<Record<string, string>> = {
  INVALID_OPENING_QUOTE: 'a quote (") inside a value that does not start with one; quote the whole value and double each quote inside it, e.g. "Ad""a"',
  CSV_INVALID_CLOSING_QUOTE: 'a quoted value goes on after its closing quote; double each quote inside a quoted value, e.g. "Ad""a"',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a quoted value goes on after its closing quote; double each quote inside a quoted value, e.g. "Ad""a"',
  CSV_QUOTE_NOT_CLOSED: "a quoted value starts here and its closing quote never comes (the file ends inside it)",
  CSV_MAX_RECORD_SIZE: "the row is longer than 1 MiB (an unclosed quote?)",
};

/** The lock key a running job holds for its lifetime on its own connection (see `ImportService.recoverInterrupted`). */
export const JOB_LOCK_SQL = `hashtextextended('import-job:' || $1::text, 0)`;

const PROGRESS_EVERY_ROWS = 10_000;
const COPY_CHUNK_CHARS = 256 * 1024;

/** COPY text-format escaping of one value (`\N` is NULL). */
function copyValue(value: string | null): string {
  if (value === null) return "\\N";
  return value.replace(/[\\\n\r\t]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t"));
}

/** A PostgreSQL text[] literal. */
function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;
}

/**
 * Every rule a row breaks, one per field, in `checkMemberRow`'s order. `checkMemberRow` (shared with
 * `createMember`) answers the first problem only; each field it names is replaced by a value that
 * passes (a required one by "x", an optional one by "no value") and the row is checked again.
 */
export function memberRowProblems(row: MemberRowFields): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const rest: MemberRowFields = { ...row };
  for (let i = 0; i < 16; i++) {
    const problem = checkMemberRow(rest);
    if (!problem || problems.some((p) => p.field === problem.field)) break;
    problems.push(problem);
    const field = problem.field as keyof MemberRowFields;
    if (field === "employeeId" || field === "name") rest[field] = "x";
    else rest[field] = null;
  }
  return problems;
}

/**
 * SQL: the staged row `alias` has no error (yet). An equality, not `cardinality(…) = 0`: the planner
 * estimates it from the staging table's statistics (a function of the column it cannot, and its
 * 0.5 % guess turned the apply step's joins into nested loops: 10 × slower for 4,500 rows).
 */
const VALID_ROW = (alias: string) => `${alias}.err_fields = '{}'::text[]`;
/** SQL: the staged row `r` has no error for `field` yet. */
const fieldOk = (field: string) => `NOT ('${field}' = ANY(r.err_fields))`;
/** SQL SET list appending one error (code and message are SQL expressions) to the staged row `r`. */
const addError = (field: string, code: string, message: string) =>
  `err_fields = r.err_fields || '${field}'::text, err_codes = r.err_codes || (${code})::text, err_messages = r.err_messages || (${message})::text`;

/** The answers of `createMember` for values the database keeps unique (see `db/transaction.ts`). */
const EMPLOYEE_ID_TAKEN = "A member with this employee id already exists in the corp.";
const MOBILE_TAKEN = "Another member of the corp already has this mobile number.";
const EMAIL_TAKEN = "Another member of the corp already has this email address.";
const FORBIDDEN_MEMBER = "The member with this employee id is outside the part of the directory you may manage.";
/** One answer for a department path that is outside the caller's visibility or would be created there. */
const outsideDepartment = (key: string) => `Department "${key}" is outside the part of the directory you may manage.`;

interface ExistingDepartment {
  id: string;
  parent_id: string | null;
  name: string;
  path: string;
  depth: number;
}

/**
 * One import job from its file to its result, on its own database connection (not one of the
 * pool's, so a long import does not starve requests). The connection holds the job's advisory lock
 * for as long as the job runs, and a session-private staging table the rows are streamed into with
 * COPY: memory stays bounded whatever the file's size, and all later work is set-based SQL on the
 * staging table, never a statement per row.
 *
 * 1. `stage`: CSV → csv-parse → per-row format checks (the rules of `createMember`, from
 *    `schema/member-rules.ts`) → COPY into `import_row`, invalid rows marked with their first error.
 * 2. `process`: checks across rows and against the directory in SQL (duplicates in the file,
 *    members or departments outside the caller's reach, mobile/email taken), records the row
 *    errors, enforces REPLACE's all-or-nothing and resign-ratio rules, then applies everything in
 *    one transaction, writing the directory events with set-based INSERTs under the event-log lock.
 */
export class ImportRun {
  private readonly db: CorpDb;
  private aborted = false;
  private closed = false;
  counts: ImportCounts = { total: 0, processed: 0, created: 0, updated: 0, resigned: 0, failed: 0, departmentsCreated: 0 };

  constructor(
    readonly jobId: string,
    private readonly deps: AppDeps,
    private readonly principal: Principal,
    readonly options: ImportOptions,
    private readonly client: Client,
    private readonly onProgress: (run: ImportRun) => void,
  ) {
    this.db = new CorpDb(principal.corpId, client);
  }

  /** Opens the job's connection, inserts the job (CONFLICT while another runs for the corp) and takes its lock. */
  static async open(deps: AppDeps, principal: Principal, options: ImportOptions, onProgress: (run: ImportRun) => void): Promise<ImportRun> {
    const client = new Client(deps.pool.options);
    await client.connect();
    try {
      const id = await transaction(
        deps.pool,
        principal.corpId,
        async (tx) => {
          let row: { id: string } | undefined;
          try {
            row = await tx.db.one<{ id: string }>(
              `INSERT INTO import_job (corp_id, app_id, member_id, status, mode, dry_run, max_resign_ratio)
               VALUES ($1, $2, $3, 'QUEUED', $4, $5, $6) RETURNING id`,
              [principal.appId, principal.member?.id ?? null, options.mode, options.dryRun, options.maxResignRatio],
            );
          } catch (e) {
            if ((e as DatabaseError).code === "23505") {
              throw new DomainError("CONFLICT", "Another import of this corp is queued or running; wait for it to finish (importJob) and try again.");
            }
            throw e;
          }
          // Taken before the row is visible to anyone: a job nobody holds the lock of is an interrupted one.
          await client.query(`SELECT pg_advisory_lock(${JOB_LOCK_SQL})`, [row!.id]);
          return row!.id;
        },
        { connection: client },
      );
      // The staging table: session-private, so no other corp's or job's rows can be in it.
      await client.query(`CREATE TEMP TABLE import_row (
        row_no integer NOT NULL, employee_id text NOT NULL, name text NOT NULL, title text, extension text, mobile text, email text,
        dept_keys text[], err_fields text[] NOT NULL, err_codes text[] NOT NULL, err_messages text[] NOT NULL)`);
      return new ImportRun(id, deps, principal, options, client, onProgress);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  get corpId(): string {
    return this.principal.corpId;
  }

  /** Stops the job as soon as possible (gateway shutdown); the open transaction rolls back. */
  abort(): void {
    this.aborted = true;
    void this.close();
  }

  /** Closes the job's connection (which releases its lock and drops the staging table). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end().catch(() => undefined);
  }

  /**
   * Streams the bytes of a CSV file into the staging table. A malformed file fails the job
   * (ImportFailure): a CSV syntax error names its row (counted as the README does: 1 = the first
   * record after the header, blank lines skipped; csv-parse's `records` is the number of whole
   * records before the bad one, header included), its line in the file and its column; so do bytes
   * that are not UTF-8 (import review, finding 2), found by `Utf8Check` on the way in: the first
   * record csv-parse ends after them (its `bytes`: the offset of the record's end) holds them.
   */
  async stageCsv(source: Readable): Promise<void> {
    const utf8 = new Utf8Check();
    const parser = parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: 1024 * 1024,
      // The header as soon as it is parsed: a syntax error may come before the loop reads it.
      on_record: (record: string[], context: { records: number; bytes: number }) => {
        if (utf8.invalidAt !== null && context.bytes > utf8.invalidAt) throw this.encodingFailure(record, context.records - 1);
        if (context.records === 1) this.header = record.map((c) => (c ?? "").trim());
        return record;
      },
    });
    pipeline(source, utf8, parser, (err) => {
      if (err) parser.destroy(err);
    });
    try {
      await this.stage(parser as AsyncIterable<string[]>, true);
      // Every byte lies in some record, so this is a safety net.
      if (utf8.invalidAt !== null) throw this.encodingFailure(null, 0);
    } catch (e) {
      if (e instanceof ImportFailure) throw e;
      if (e instanceof CsvError) throw this.syntaxFailure(e);
      const code = (e as { code?: string }).code;
      if (code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || (e as Error).message === "aborted") {
        throw new ImportFailure("The upload ended before the whole file was received; nothing was applied.");
      }
      throw e;
    }
  }

  /**
   * Bytes that are not UTF-8 in `row` (0: the header): its first cell with a U+FFFD (what csv-parse
   * made of them) names the column.
   */
  private encodingFailure(record: string[] | null, row: number): ImportFailure {
    const what = "bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252?); save the file as UTF-8. Nothing was applied.";
    if (!record || row === 0) return new ImportFailure(`The file is not valid UTF-8: ${record ? "the header: " : ""}${what}`);
    const index = record.findIndex((c) => c?.includes("\uFFFD"));
    const spelled = index >= 0 ? this.header?.[index] : undefined;
    const field = spelled === undefined ? "row" : (CSV_COLUMNS.find((c) => c.toLowerCase() === spelled.toLowerCase()) ?? "row");
    const column = index >= 0 ? `, column ${index + 1}${field === "row" ? "" : ` (${field})`}` : "";
    return new ImportFailure(`The file is not valid UTF-8: row ${row}${column}: ${what}`, { row, field });
  }

  private syntaxFailure(e: CsvError): ImportFailure {
    const what = CSV_SYNTAX[e.code] ?? e.message;
    const records = typeof e.records === "number" ? e.records : 0;
    // An unclosed quote is found at the end of the file: its line would mislead (the row does not).
    const line = typeof e.lines === "number" && e.code !== "CSV_QUOTE_NOT_CLOSED" ? ` (line ${e.lines} of the file)` : "";
    const index = typeof e.column === "number" ? e.column : undefined;
    if (records === 0 || !this.header) {
      return new ImportFailure(`The file is not valid CSV: the header${line}: ${what}. Nothing was applied.`);
    }
    const spelled = index !== undefined ? this.header[index] : undefined;
    const field = spelled === undefined ? "row" : (CSV_COLUMNS.find((c) => c.toLowerCase() === spelled.toLowerCase()) ?? "row");
    const column = index !== undefined ? `, column ${index + 1}${field === "row" ? "" : ` (${field})`}` : "";
    return new ImportFailure(`The file is not valid CSV: row ${records}${line}${column}: ${what}. Nothing was applied.`, { row: records, field });
  }

  /** The header's column names as the file spells them (once read). */
  private header: string[] | null = null;
  private fromFile = false;

  /**
   * Stages records whose first element is the header. Records of a file (`fromFile`) have their
   * cells read with `readCell` (the export's formula neutralisation undone); `rows` input is taken as is.
   */
  async stage(records: AsyncIterable<(string | null)[]>, fromFile = false): Promise<void> {
    this.fromFile = fromFile;
    await this.setStatus(ImportJobStatus.RUNNING);
    const copy = this.client.query(
      copyFrom(`COPY import_row (row_no, employee_id, name, title, extension, mobile, email, dept_keys, err_fields, err_codes, err_messages) FROM STDIN`),
    );
    const copyDone = new Promise<void>((resolve, reject) => {
      copy.on("finish", resolve);
      copy.on("error", reject);
    });
    copyDone.catch(() => undefined);
    let columns: Map<CsvColumn, number> | null = null;
    let chunk = "";
    const flush = async () => {
      if (!chunk) return;
      const ok = copy.write(chunk);
      chunk = "";
      if (!ok) await Promise.race([once(copy, "drain"), copyDone]);
    };
    try {
      for await (const record of records) {
        if (this.aborted) throw new ImportFailure("The gateway stopped while the file was being read.");
        if (!columns) {
          columns = this.readHeader(record);
          continue;
        }
        chunk += this.stagedLine(++this.counts.total, record, columns);
        if (chunk.length >= COPY_CHUNK_CHARS) await flush();
        if (this.counts.total % PROGRESS_EVERY_ROWS === 0) this.onProgress(this);
      }
      if (!columns) throw new ImportFailure("The file is empty: it needs the header line `" + CSV_COLUMNS.join(",") + "`.");
      await flush();
      copy.end();
      await copyDone;
    } catch (e) {
      copy.destroy(e as Error);
      await copyDone.catch(() => undefined);
      throw e;
    }
    // Temporary tables are not analysed automatically: without statistics the planner guesses badly.
    await this.client.query(`CREATE INDEX ON import_row (employee_id)`);
    await this.client.query(`ANALYZE import_row`);
    this.onProgress(this);
  }

  private readHeader(record: (string | null)[]): Map<CsvColumn, number> {
    const columns = new Map<CsvColumn, number>();
    record.forEach((raw, i) => {
      const name = (raw ?? "").trim();
      const column = CSV_COLUMNS.find((c) => c.toLowerCase() === name.toLowerCase());
      if (!column) throw new ImportFailure(`Unknown column "${name}" in the header; the columns are ${CSV_COLUMNS.join(",")}.`);
      if (columns.has(column)) throw new ImportFailure(`Column "${column}" appears twice in the header.`);
      columns.set(column, i);
    });
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.has(c));
    if (missing.length) throw new ImportFailure(`The header lacks the column(s) ${missing.join(", ")}; the columns are ${CSV_COLUMNS.join(",")}.`);
    return columns;
  }

  /** One COPY line for a record: its values, its department paths and every format error (one per field). */
  private stagedLine(rowNo: number, record: (string | null)[], columns: Map<CsvColumn, number>): string {
    const errors = new Map<string, { code: string; message: string }>();
    const cell = (c: CsvColumn): string => {
      const i = columns.get(c);
      let value = i === undefined ? "" : (record[i] ?? "");
      if (value.includes("\u0000")) {
        if (!errors.has(c)) errors.set(c, { code: "BAD_USER_INPUT", message: `${c} contains a NUL character` });
        value = value.replaceAll("\u0000", "");
      }
      // Rows given as input (a file's cells are decoded from checked UTF-8 and cannot hold one).
      if (!this.fromFile && LONE_SURROGATE.test(value) && !errors.has(c)) {
        errors.set(c, { code: "BAD_USER_INPUT", message: `${c} is not valid Unicode: it holds a lone surrogate` });
      }
      return this.fromFile ? readCell(value) : value;
    };
    const optional = (c: CsvColumn) => {
      const v = cell(c);
      return v === "" ? null : v;
    };
    const fields = {
      employeeId: cell("employeeId"),
      name: cell("name"),
      title: optional("title"),
      extension: optional("extension"),
      mobile: optional("mobile"),
      email: optional("email")?.toLowerCase() ?? null,
    };
    if (record.length !== columns.size) {
      errors.set("row", { code: "BAD_USER_INPUT", message: `The row has ${record.length} values; the header has ${columns.size} columns.` });
    }
    for (const problem of memberRowProblems(fields)) {
      if (!errors.has(problem.field)) errors.set(problem.field, { code: "BAD_USER_INPUT", message: problem.message });
    }
    let keys: string[] | null = null;
    const departments = parseDepartmentCell(cell("department"));
    if ("keys" in departments) keys = departments.keys;
    else if (!errors.has("department")) errors.set("department", { code: departments.code, message: departments.message });
    const list = [...errors.entries()];
    return (
      [
        String(rowNo),
        copyValue(fields.employeeId),
        copyValue(fields.name),
        copyValue(fields.title),
        copyValue(fields.extension),
        copyValue(fields.mobile),
        copyValue(fields.email),
        keys ? copyValue(arrayLiteral(keys)) : "\\N",
        copyValue(arrayLiteral(list.map(([f]) => f))),
        copyValue(arrayLiteral(list.map(([, e]) => e.code))),
        copyValue(arrayLiteral(list.map(([, e]) => e.message))),
      ].join("\t") + "\n"
    );
  }

  /** Validates and applies the staged rows; ends the job (SUCCEEDED or FAILED). Never throws. */
  async process(): Promise<void> {
    try {
      await this.validate();
      await this.recordErrors();
      if (this.options.mode === ImportMode.REPLACE && this.counts.failed > 0) {
        throw new ImportFailure(
          `${this.counts.failed} of ${this.counts.total} rows are invalid (see errors); a REPLACE changes nothing unless every row is valid.`,
        );
      }
      if (this.options.mode === ImportMode.REPLACE) {
        const { leaving, active } = await this.resignPreview();
        this.checkResignRatio(leaving, active);
      }
      await this.apply();
    } catch (e) {
      await this.fail(e);
    } finally {
      await this.close();
    }
  }

  /** Ends the job as FAILED with a reason made from `e`. */
  async fail(e: unknown): Promise<void> {
    let reason: string;
    if (e instanceof ImportFailure || e instanceof DomainError) reason = e.message;
    else if (this.aborted) reason = "The gateway stopped before the import finished; nothing was applied. Submit the file again.";
    else if ((e as DatabaseError).code === "23505") {
      reason = `The directory changed while the file was being applied (${(e as DatabaseError).constraint ?? "a unique value"} is now taken); nothing was applied. Import again.`;
    } else {
      const requestId = `import-${this.jobId}`;
      log.error("import failed", { jobId: this.jobId, requestId, error: e instanceof Error ? { message: e.message, stack: e.stack } : String(e) });
      reason = `Internal error; nothing was applied. Quote request id ${requestId} when you report it.`;
    }
    // The job's own connection may be gone (abort): the pool records the outcome.
    const pool = new CorpDb(this.principal.corpId, this.deps.pool);
    const where = e instanceof ImportFailure ? e.where : {};
    if (where.row !== undefined) this.counts.failed += 1;
    await pool
      .exec(
        `UPDATE import_job SET status = 'FAILED', reason = $3, total = $4, failed = $5, updated_at = now(), finished_at = now()
          WHERE corp_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING')`,
        [this.jobId, reason, this.counts.total, this.counts.failed],
      )
      .catch((err) => log.error("could not record a failed import", { jobId: this.jobId, error: String(err) }));
    if (where.row !== undefined) {
      await pool
        .exec(
          `INSERT INTO import_job_error (job_id, row_number, corp_id, field, code, message) VALUES ($2, $3, $1, $4, 'BAD_USER_INPUT', $5)
           ON CONFLICT DO NOTHING`,
          [this.jobId, where.row, (where.field ?? "row").slice(0, 32), reason],
        )
        .catch((err) => log.error("could not record an import error", { jobId: this.jobId, error: String(err) }));
    }
    this.onProgress(this);
  }

  private async setStatus(status: ImportJobStatus): Promise<void> {
    await this.db.exec(`UPDATE import_job SET status = $3, updated_at = now() WHERE corp_id = $1 AND id = $2`, [this.jobId, status]);
    this.onProgress(this);
  }

  /** Is the caller limited to part of the directory (an app's visibility, a leader's subtrees)? */
  private get restricted(): boolean {
    return !reachesWholeCorp(this.principal);
  }

  private outOfReachSql(params: SqlParams): string {
    return outOfReachSql(this.principal, params, "m");
  }

  /**
   * Checks across rows and against the directory. Every check runs on every row whose field it
   * concerns is still without an error, so a row reports all its problems, one per field.
   *
   * Visibility (finding 7 of issue 11): what lies outside the caller's visibility answers exactly
   * as what does not exist would, or, where the database must refuse a value whatever the caller
   * sees (a unique employee id, mobile or email), exactly as it would for a visible holder, never
   * naming the holder.
   */
  private async validate(): Promise<void> {
    const raw = (sql: string, params: unknown[] = []) => this.client.query(sql, params);
    // Duplicates within the file (the staging table is this job's own: no corp data, no $1).
    await raw(`UPDATE import_row r SET ${addError("employeeId", "'CONFLICT'", "'The employee id is also on row ' || d.first || '.'")}
                 FROM (SELECT employee_id, min(row_no) AS first FROM import_row GROUP BY employee_id HAVING count(*) > 1) d
                WHERE r.employee_id = d.employee_id AND r.row_no > d.first AND ${fieldOk("employeeId")}`);
    for (const [column, what] of [
      ["mobile", "mobile number"],
      ["email", "email address"],
    ] as const) {
      await raw(`UPDATE import_row r SET ${addError(column, "'CONFLICT'", `'The ${what} is also on row ' || d.first || '.'`)}
                   FROM (SELECT ${column} AS v, min(row_no) AS first FROM import_row WHERE ${column} IS NOT NULL GROUP BY ${column} HAVING count(*) > 1) d
                  WHERE r.${column} = d.v AND r.row_no > d.first AND ${fieldOk(column)}`);
    }
    // Existing members the caller may not change: a member it cannot see at all holds the employee id
    // as far as it can tell (createMember's CONFLICT, word for word); one it sees is out of its reach.
    if (this.restricted) {
      const params = new SqlParams();
      const seen = `EXISTS (SELECT 1 FROM member_department md_v JOIN department d_v ON d_v.id = md_v.department_id
                             WHERE md_v.corp_id = $1 AND md_v.member_id = m.id AND ${visibleSql(this.principal, params, "d_v.path")})`;
      await this.db.exec(
        `UPDATE import_row r SET ${addError(
          "employeeId",
          `CASE WHEN ${seen} THEN 'FORBIDDEN' ELSE 'CONFLICT' END`,
          `CASE WHEN ${seen} THEN '${FORBIDDEN_MEMBER}' ELSE '${EMPLOYEE_ID_TAKEN}' END`,
        )}
           FROM member m WHERE m.corp_id = $1 AND m.employee_id = r.employee_id AND ${fieldOk("employeeId")} AND ${this.outOfReachSql(params)}`,
        params.values,
      );
    }
    // Departments: which paths exist, which would be created, which are out of reach.
    const { problems } = await this.resolveDepartments(false);
    if (problems.size) {
      await raw(
        `UPDATE import_row r SET ${addError("department", "b.code", "b.message")}
           FROM (SELECT DISTINCT ON (x.row_no) x.row_no, p.code, p.message
                   FROM import_row x CROSS JOIN LATERAL unnest(x.dept_keys) WITH ORDINALITY AS k(key, ord)
                   JOIN unnest($1::text[], $2::text[], $3::text[]) AS p(key, code, message) ON p.key = k.key
                  ORDER BY x.row_no, k.ord) b
          WHERE r.row_no = b.row_no AND ${fieldOk("department")}`,
        [[...problems.keys()], [...problems.values()].map((p) => p.code), [...problems.values()].map((p) => p.message)],
      );
    }
    // Mobile and email held by another member who keeps them (visible to the caller or not: one answer).
    for (const [column, message] of [
      ["mobile", MOBILE_TAKEN],
      ["email", EMAIL_TAKEN],
    ] as const) {
      await this.db.exec(
        `UPDATE import_row r SET ${addError(column, "'CONFLICT'", `'${message}'`)}
          WHERE ${fieldOk(column)} AND r.${column} IS NOT NULL AND EXISTS (
                SELECT 1 FROM member m WHERE m.corp_id = $1 AND m.${column} = r.${column} AND m.employee_id <> r.employee_id
                   AND NOT EXISTS (SELECT 1 FROM import_row o WHERE o.employee_id = m.employee_id AND ${VALID_ROW("o")}
                                      AND o.${column} IS DISTINCT FROM m.${column}))`,
      );
    }
    const row = (await raw(`SELECT count(*) FILTER (WHERE NOT ${VALID_ROW("import_row")})::int AS failed FROM import_row`)).rows[0] as { failed: number };
    this.counts.failed = row.failed;
  }

  private async recordErrors(): Promise<void> {
    if (!this.counts.failed) return;
    await this.db.exec(
      `INSERT INTO import_job_error (job_id, row_number, corp_id, field, code, message)
       SELECT $2, r.row_no, $1, e.field, e.code, e.message
         FROM import_row r CROSS JOIN LATERAL unnest(r.err_fields, r.err_codes, r.err_messages) AS e(field, code, message)`,
      [this.jobId],
    );
  }

  /** SQL: member `m` is one a REPLACE by this caller may resign when the file does not list them. */
  private resignableSql(params: SqlParams): string {
    return `m.corp_id = $1 AND m.status <> 'RESIGNED' AND NOT ${this.outOfReachSql(params)}`;
  }

  private async resignPreview(): Promise<{ leaving: number; active: number }> {
    const params = new SqlParams();
    const row = await this.db.one<{ leaving: number; active: number }>(
      `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM import_row r WHERE r.employee_id = m.employee_id))::int AS leaving,
              count(*)::int AS active
         FROM member m WHERE ${this.resignableSql(params)}`,
      params.values,
    );
    return row ?? { leaving: 0, active: 0 };
  }

  private checkResignRatio(leaving: number, active: number): void {
    if (leaving === 0 || leaving <= this.options.maxResignRatio * active) return;
    const share = ((100 * leaving) / active).toFixed(1);
    throw new ImportFailure(
      `The file would resign ${leaving} of ${active} active members (${share}%), more than maxResignRatio ${this.options.maxResignRatio}; nothing was changed. ` +
        `If that is intended, import again with a higher maxResignRatio.`,
    );
  }

  /**
   * Maps every department path of the valid rows to a department. Existing ones must be within the
   * caller's reach; missing ones are created under their deepest existing ancestor (when `create`),
   * which needs the right to change the tree within the caller's visibility.
   */
  private async resolveDepartments(create: boolean): Promise<{ problems: Map<string, { code: string; message: string }>; created: ExistingDepartment[] }> {
    const keys = (
      await this.client.query<{ key: string }>(`SELECT DISTINCT k AS key FROM import_row r, unnest(r.dept_keys) AS k WHERE ${create ? VALID_ROW("r") : "TRUE"}`)
    ).rows.map((r) => r.key);
    const problems = new Map<string, { code: string; message: string }>();
    const created: ExistingDepartment[] = [];
    if (create) {
      await this.client.query(`CREATE TEMP TABLE import_dept (key text PRIMARY KEY, department_id bigint NOT NULL, path text NOT NULL) ON COMMIT DROP`);
    }
    if (!keys.length) return { problems, created };
    const departments = await this.db.rows<ExistingDepartment>(
      `SELECT id::text, parent_id::text, name, path, depth FROM department WHERE corp_id = $1 ORDER BY depth, id`,
    );
    const keyOf = departmentKeys(departments);
    const byKey = new Map<string, ExistingDepartment>(departments.map((d) => [keyOf.get(d.id)!, d]));
    // Missing departments by level: [parent key, name, own key].
    const missing = new Map<number, Map<string, { parentKey: string; name: string }>>();
    // Paths relative to the caller's visible departments (`~/Top/…`, as its exports write them).
    const tops = this.visibleTops(departments);
    const lookupOf = new Map<string, string>();
    for (const key of keys) {
      const parsed = parseDepartmentCell(key);
      let names = "segments" in parsed ? parsed.segments[0] : [];
      let lookup = key;
      if (key.startsWith(`${RELATIVE_MARK}/`)) {
        const matches = tops.filter((d) => d.name === names[0]);
        if (matches.length !== 1) {
          problems.set(
            key,
            matches.length
              ? {
                  code: "BAD_USER_INPUT",
                  message: `Department "${key}": several departments at the top of what you see are named "${names[0]}"; write the whole path.`,
                }
              : { code: "FORBIDDEN", message: outsideDepartment(key) },
          );
          continue;
        }
        const base = keyOf.get(matches[0].id)!;
        const baseNames = base === ROOT_KEY ? [] : (parseDepartmentCell(base) as ParsedDepartments).segments[0];
        names = [...baseNames, ...names.slice(1)];
        if (names.length > MAX_DEPARTMENT_DEPTH) {
          problems.set(key, {
            code: "LIMIT_EXCEEDED",
            message: `department path "${key}": departments nest at most ${MAX_DEPARTMENT_DEPTH} levels below the root.`,
          });
          continue;
        }
        lookup = names.length ? names.map(escapeName).join("/") : ROOT_KEY;
      }
      lookupOf.set(key, lookup);
      const existing = byKey.get(lookup);
      if (existing) {
        if (!canManageMembersIn(this.principal, existing.path)) problems.set(key, { code: "FORBIDDEN", message: outsideDepartment(key) });
        continue;
      }
      let depth = names.length;
      let ancestorKey = lookup;
      const chain: { key: string; parentKey: string; name: string; depth: number }[] = [];
      while (depth > 0 && !byKey.has(ancestorKey)) {
        const parentKey =
          depth === 1
            ? ROOT_KEY
            : names
                .slice(0, depth - 1)
                .map((n) => childKey(ROOT_KEY, n))
                .join("/");
        chain.push({ key: ancestorKey, parentKey, name: names[depth - 1], depth });
        ancestorKey = parentKey;
        depth--;
      }
      const ancestor = byKey.get(ancestorKey)!;
      // Under a department the caller cannot see, a missing path answers as an invisible one does.
      if (!canSee(this.principal, ancestor.path)) {
        problems.set(key, { code: "FORBIDDEN", message: outsideDepartment(key) });
      } else if (!canManageDepartments(this.principal)) {
        problems.set(key, { code: "FORBIDDEN", message: `Department "${key}" does not exist, and only corp administrators may create departments.` });
      } else {
        for (const link of chain) {
          if (!missing.has(link.depth)) missing.set(link.depth, new Map());
          missing.get(link.depth)!.set(link.key, { parentKey: link.parentKey, name: link.name });
        }
      }
    }
    if (create) {
      for (const depth of [...missing.keys()].sort((a, b) => a - b)) {
        const level = [...missing.get(depth)!.entries()];
        const rows = await this.db.rows<ExistingDepartment & { key_index: number }>(
          `WITH input AS (SELECT * FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS i(parent_id, name, key_index)),
                next AS (SELECT i.*, nextval(pg_get_serial_sequence('department', 'id')) AS id FROM input i)
           INSERT INTO department AS d (id, corp_id, parent_id, name, "order", depth, path)
           SELECT n.id, $1, n.parent_id, n.name, 0, p.depth + 1, p.path || n.id || '/'
             FROM next n JOIN department p ON p.corp_id = $1 AND p.id = n.parent_id
           RETURNING d.id::text, d.parent_id::text, d.name, d.path, d.depth`,
          [level.map(([, l]) => byKey.get(l.parentKey)!.id), level.map(([, l]) => l.name)],
        );
        for (const d of rows) {
          const key = childKey(keyOf.get(d.parent_id!)!, d.name);
          keyOf.set(d.id, key);
          byKey.set(key, d);
          created.push(d);
        }
      }
      const found = keys.filter((k) => !problems.has(k) && byKey.has(lookupOf.get(k)!));
      await this.client.query(`INSERT INTO import_dept SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])`, [
        found,
        found.map((k) => byKey.get(lookupOf.get(k)!)!.id),
        found.map((k) => byKey.get(lookupOf.get(k)!)!.path),
      ]);
      await this.client.query(`ANALYZE import_dept`);
    }
    return { problems, created };
  }

  /** The departments at the top of what the caller sees (the root for a whole-corp caller). */
  private visibleTops(departments: ExistingDepartment[]): ExistingDepartment[] {
    const roots = this.principal.visibleRoots;
    if (roots === null) return departments.filter((d) => d.parent_id === null);
    const ids = new Set(roots.map((path) => path.split("/").filter(Boolean).pop()!));
    const listed = departments.filter((d) => ids.has(d.id));
    return listed.filter((d) => !listed.some((o) => o !== d && d.path.startsWith(o.path)));
  }

  /** Applies the valid rows in one transaction (rolled back for a dry run) and ends the job. */
  private async apply(): Promise<void> {
    const db = this.db;
    const raw = (sql: string, params: unknown[] = []) => this.client.query(sql, params);
    await transaction(
      this.deps.pool,
      this.principal.corpId,
      async (tx) => {
        await lockDepartmentTree(db);
        const { problems, created: newDepartments } = await this.resolveDepartments(true);
        if (problems.size) throw new ImportFailure("The department tree changed while the file was being checked; nothing was applied. Import again.");
        this.counts.departmentsCreated = newDepartments.length;
        // The ratio's base: the members in scope before anything of this file lands.
        const before = this.options.mode === ImportMode.REPLACE ? await this.resignPreview() : { leaving: 0, active: 0 };

        await raw(`CREATE TEMP TABLE import_plan (row_no integer PRIMARY KEY, employee_id text NOT NULL, member_id bigint, is_new boolean NOT NULL,
                   new_ids bigint[] NOT NULL, new_paths text[] NOT NULL, old_paths text[], changed text[] NOT NULL) ON COMMIT DROP`);
        // Set-based: each join is built once for the whole file (a LATERAL per row would rebuild it per row).
        await db.exec(
          `INSERT INTO import_plan
         WITH nd AS (
                SELECT r.row_no, array_agg(d.department_id ORDER BY k.ord) AS ids, array_agg(d.path ORDER BY k.ord) AS paths,
                       array_agg(d.department_id ORDER BY d.department_id) AS sorted
                  FROM import_row r CROSS JOIN LATERAL unnest(r.dept_keys) WITH ORDINALITY AS k(key, ord)
                  JOIN import_dept d ON d.key = k.key
                 WHERE ${VALID_ROW("r")}
                 GROUP BY r.row_no),
              matched AS (
                SELECT r.row_no, m.id, m.name, m.title, m.extension, m.mobile, m.email, m.status, m.main_department_id
                  FROM import_row r JOIN member m ON m.corp_id = $1 AND m.employee_id = r.employee_id
                 WHERE ${VALID_ROW("r")}),
              od AS (
                SELECT md.member_id, array_agg(md.department_id ORDER BY md.department_id) AS sorted,
                       array_agg(dd.path ORDER BY md.department_id) AS paths
                  FROM member_department md JOIN department dd ON dd.id = md.department_id
                 WHERE md.corp_id = $1 AND md.member_id IN (SELECT id FROM matched)
                 GROUP BY md.member_id)
         SELECT r.row_no, r.employee_id, coalesce(m.id, nextval(pg_get_serial_sequence('member', 'id'))), m.id IS NULL, nd.ids, nd.paths, od.paths,
                CASE WHEN m.id IS NULL THEN '{}'::text[] ELSE array_remove(ARRAY[
                  CASE WHEN m.name IS DISTINCT FROM r.name THEN 'name' END,
                  CASE WHEN m.title IS DISTINCT FROM r.title THEN 'title' END,
                  CASE WHEN m.extension IS DISTINCT FROM r.extension THEN 'extension' END,
                  CASE WHEN m.mobile IS DISTINCT FROM r.mobile THEN 'mobile' END,
                  CASE WHEN m.email IS DISTINCT FROM r.email THEN 'email' END,
                  CASE WHEN od.sorted IS DISTINCT FROM nd.sorted THEN 'departments' END,
                  CASE WHEN m.main_department_id IS DISTINCT FROM nd.ids[1] THEN 'mainDepartment' END,
                  CASE WHEN m.status = 'RESIGNED' THEN 'status' END], NULL) END
           FROM import_row r
           JOIN nd ON nd.row_no = r.row_no
           LEFT JOIN matched m ON m.row_no = r.row_no
           LEFT JOIN od ON od.member_id = m.id
          WHERE ${VALID_ROW("r")}
          -- PostgreSQL evaluates nextval() after this sort: new members get ids in file order.
          ORDER BY r.row_no`,
        );
        await raw(`ANALYZE import_plan`);

        // Mobile and email move between members: free the old values first (the unique indexes check each row).
        await db.exec(
          `UPDATE member m SET mobile = CASE WHEN 'mobile' = ANY(p.changed) THEN NULL ELSE m.mobile END,
                             email = CASE WHEN 'email' = ANY(p.changed) THEN NULL ELSE m.email END
           FROM import_plan p WHERE m.corp_id = $1 AND m.id = p.member_id AND p.changed && ARRAY['mobile', 'email']`,
        );
        this.counts.updated = await db.exec(
          `UPDATE member m SET name = r.name, title = r.title, extension = r.extension, mobile = r.mobile, email = r.email,
                main_department_id = p.new_ids[1], status = CASE WHEN m.status = 'RESIGNED' THEN '${MemberStatus.UNACTIVATED}' ELSE m.status END,
                updated_at = now()
           FROM import_plan p JOIN import_row r ON r.row_no = p.row_no
          WHERE m.corp_id = $1 AND m.id = p.member_id AND cardinality(p.changed) > 0`,
        );
        // New members' ids were drawn in the plan, so later statements need no RETURNING round trip.
        this.counts.created = await db.exec(
          `INSERT INTO member (id, corp_id, employee_id, name, title, extension, mobile, email, status, main_department_id)
         SELECT p.member_id, $1, r.employee_id, r.name, r.title, r.extension, r.mobile, r.email, '${MemberStatus.UNACTIVATED}', p.new_ids[1]
           FROM import_plan p JOIN import_row r ON r.row_no = p.row_no WHERE p.is_new ORDER BY p.row_no`,
        );
        await db.exec(
          `DELETE FROM member_department md USING import_plan p
          WHERE md.corp_id = $1 AND md.member_id = p.member_id AND 'departments' = ANY(p.changed) AND NOT (md.department_id = ANY(p.new_ids))`,
        );
        await db.exec(
          `INSERT INTO member_department (corp_id, member_id, department_id)
         SELECT $1, p.member_id, unnest(p.new_ids) FROM import_plan p WHERE p.is_new`,
        );
        await db.exec(
          `INSERT INTO member_department (corp_id, member_id, department_id)
         SELECT $1, p.member_id, unnest(p.new_ids) FROM import_plan p WHERE NOT p.is_new AND 'departments' = ANY(p.changed)
         ON CONFLICT DO NOTHING`,
        );
        // A member leads only departments they belong to.
        await db.exec(
          `DELETE FROM department_leader dl USING import_plan p
          WHERE dl.corp_id = $1 AND dl.member_id = p.member_id AND 'departments' = ANY(p.changed) AND NOT (dl.department_id = ANY(p.new_ids))`,
        );

        await raw(`CREATE TEMP TABLE import_resign (member_id bigint PRIMARY KEY, old_status text NOT NULL, paths text[] NOT NULL) ON COMMIT DROP`);
        if (this.options.mode === ImportMode.REPLACE) {
          const params = new SqlParams();
          this.counts.resigned = await db.exec(
            `INSERT INTO import_resign
           SELECT m.id, m.status, coalesce((SELECT array_agg(d.path ORDER BY d.id) FROM member_department md JOIN department d ON d.id = md.department_id
                                              WHERE md.corp_id = $1 AND md.member_id = m.id), '{}')
             FROM member m
            WHERE ${this.resignableSql(params)} AND NOT EXISTS (SELECT 1 FROM import_row r WHERE r.employee_id = m.employee_id)`,
            params.values,
          );
          this.checkResignRatio(this.counts.resigned, before.active);
          await db.exec(
            `UPDATE member m SET status = '${MemberStatus.RESIGNED}', updated_at = now() FROM import_resign x WHERE m.corp_id = $1 AND m.id = x.member_id`,
          );
        }

        // The directory events, set-based, appended last (the stream's lock is held from here to COMMIT).
        await this.deps.events.appendSelect(
          tx,
          STREAMS.directory,
          `SELECT e.type, e.subject_type, e.subject_id, e.audience, e.data FROM (
             SELECT 0 AS kind, d.id AS sort, '${DirectoryEventType.DEPARTMENT_CREATED}' AS type, 'Department' AS subject_type, d.id AS subject_id,
                    ARRAY[d.path] AS audience, '{}'::jsonb AS data
               FROM unnest($2::bigint[], $3::text[]) AS d(id, path)
             UNION ALL
             SELECT 1, p.row_no, '${DirectoryEventType.MEMBER_CREATED}', 'Member', p.member_id, p.new_paths, '{}'::jsonb FROM import_plan p WHERE p.is_new
             UNION ALL
             SELECT 2, p.row_no, '${DirectoryEventType.MEMBER_UPDATED}', 'Member', p.member_id,
                    ARRAY(SELECT DISTINCT unnest(coalesce(p.old_paths, '{}') || p.new_paths)),
                    jsonb_build_object('changedFields', to_jsonb(array_remove(p.changed, 'status')))
               FROM import_plan p WHERE cardinality(array_remove(p.changed, 'status')) > 0
             UNION ALL
             SELECT 3, p.row_no, '${DirectoryEventType.MEMBER_STATUS_CHANGED}', 'Member', p.member_id,
                    ARRAY(SELECT DISTINCT unnest(coalesce(p.old_paths, '{}') || p.new_paths)),
                    jsonb_build_object('from', '${MemberStatus.RESIGNED}', 'to', '${MemberStatus.UNACTIVATED}')
               FROM import_plan p WHERE 'status' = ANY(p.changed)
             UNION ALL
             SELECT 4, x.member_id, '${DirectoryEventType.MEMBER_STATUS_CHANGED}', 'Member', x.member_id, x.paths,
                    jsonb_build_object('from', x.old_status, 'to', '${MemberStatus.RESIGNED}')
               FROM import_resign x
           ) e ORDER BY e.kind, e.sort`,
          [newDepartments.map((d) => d.id), newDepartments.map((d) => d.path)],
        );
        this.counts.processed = this.counts.total;
        // A dry run evaluates everything and keeps nothing (no event is published either).
        if (this.options.dryRun) tx.rollbackOnly();
        else await this.finish(db);
      },
      { connection: this.client },
    );
    if (this.options.dryRun) await this.finish(db);
    this.onProgress(this);
  }

  private async finish(db: CorpDb): Promise<void> {
    const c = this.counts;
    await db.exec(
      `UPDATE import_job SET status = 'SUCCEEDED', total = $3, processed = $4, created = $5, updated = $6, resigned = $7, failed = $8,
              departments_created = $9, updated_at = now(), finished_at = now()
        WHERE corp_id = $1 AND id = $2`,
      [this.jobId, c.total, c.processed, c.created, c.updated, c.resigned, c.failed, c.departmentsCreated],
    );
  }
}
