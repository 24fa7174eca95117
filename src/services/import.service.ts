import { EventEmitter } from "node:events";
import { Readable, Transform } from "node:stream";
import { Repeater } from "@repeaterjs/repeater";
import type { Pool } from "pg";
import type { RequestContext } from "../context";
import { hydrate, CorpDb, selectList } from "../db/scoped-db";
import { ImportJob } from "../entities/import-job.entity";
import { ImportJobError } from "../entities/import-job-error.entity";
import { badInput, DomainError, notFound } from "../errors/domain-error";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { CrossCorpDb } from "../db/cross-corp";
import { ImportJobStatus, ImportMode } from "../domain/enums";
import { DEFAULT_MAX_RESIGN_RATIO, type ImportRow } from "../domain/import-rules";
import { CSV_COLUMNS } from "./directory-csv";
import { ImportFailure, ImportRun, JOB_LOCK_SQL, UploadStalled, type ImportOptions } from "./import-run";
import { reachesWholeCorp, requireAdministratorOrLeader } from "../policy";
import { utf8Bytes } from "./utf8-check";
import { log } from "../log";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RECOVERY_INTERVAL_MS = 60_000;
/** The fields of a row error, in the order a row's errors are listed (the file's columns). */
const ERROR_FIELDS = ["row", ...CSV_COLUMNS];
/** The sort key of a row error: row number (zero-padded to sort as text), field position, field. */
const ERROR_KEY_SQL = `(lpad(e.row_number::text, 10, '0') || ':' || coalesce(array_position('{${ERROR_FIELDS.join(",")}}'::text[], e.field::text), 9) || ':' || e.field) COLLATE "C"`;
const errorKey = (e: ImportJobError) => `${String(e.rowNumber).padStart(10, "0")}:${ERROR_FIELDS.indexOf(e.field) + 1 || 9}:${e.field}`;
const PROGRESS_POLL_MS = 1000;

/**
 * An import refused for its input after its job was made: the job is FAILED with the same reason.
 * BAD_USER_INPUT on `field`; `POST /imports` names the job and answers 408 when the upload stalled.
 */
export class FailedImport extends DomainError {
  constructor(
    readonly jobId: string,
    message: string,
    field: string,
    readonly stalled: boolean,
  ) {
    super("BAD_USER_INPUT", message, { field });
  }
}

/**
 * The least an upload to `POST /imports` must deliver per `IMPORT_IDLE_TIMEOUT_SECONDS` (or finish).
 * Import review, finding 1: a timer restarted by every chunk let one byte per (timeout − 1) s hold
 * the corp's import lock until Node's request timeout.
 */
export const UPLOAD_MIN_PROGRESS_BYTES = 16 * 1024;

/**
 * Passes an upload through and fails it with `UploadStalled` unless it makes progress: the timer
 * (`ms`) restarts only once `UPLOAD_MIN_PROGRESS_BYTES` arrived since it last did, so an upload
 * must send 16 KiB per `ms` until it ends (finding 15 of issue 11: a stalled upload held the corp's
 * import lock until Node's request timeout; import review, finding 1: so did a trickle). Time the
 * import itself is busy (its buffer still holds data, e.g. PostgreSQL is slow to take the rows) is
 * not counted: the window starts again. The source is piped, not pipelined: failing the guard
 * leaves the request open, so the client still gets an answer.
 */
function progressGuard(source: Readable, ms: number): Readable {
  let timer: NodeJS.Timeout | undefined;
  let received = 0;
  const arm = () => {
    clearTimeout(timer);
    received = 0;
    timer = setTimeout(() => {
      if (guard.readableLength > 0) return arm();
      source.unpipe(guard);
      const s = ms / 1000;
      guard.destroy(
        new UploadStalled(
          `The upload sent less than ${UPLOAD_MIN_PROGRESS_BYTES / 1024} KiB in ${s} s and was abandoned; nothing was applied. Send the whole file at once, at least ${UPLOAD_MIN_PROGRESS_BYTES / 1024} KiB every ${s} s.`,
        ),
      );
    }, ms);
    timer.unref();
  };
  const guard = new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      received += chunk.length;
      if (received >= UPLOAD_MIN_PROGRESS_BYTES) arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
  });
  guard.on("close", () => clearTimeout(timer));
  source.on("error", (e) => guard.destroy(e));
  source.on("aborted", () => guard.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" })));
  arm();
  source.pipe(guard);
  return guard;
}

/** What a caller asks for; validated into `ImportOptions`. */
export interface ImportRequest {
  mode: ImportMode;
  dryRun?: boolean | null;
  maxResignRatio?: number | null;
}

/**
 * Batch imports of members (issue 4). Needs `directory:write` and the BULK_IMPORT feature (both
 * declared on the resolver and the REST route), and, for a member acting through an app, to be a corp admin or a department leader (who may touch only the
 * members and departments of the subtrees they lead). One job at a time per corp (CONFLICT). Jobs
 * are rows; a job whose gateway died is found by `recoverInterrupted` (its connection's advisory
 * lock is gone) and marked FAILED with a reason: nothing of it was applied, since the apply step is
 * one transaction.
 */
export class ImportService {
  private readonly runs = new Map<string, ImportRun>();
  private readonly progress = new EventEmitter();
  private readonly settled = new Set<Promise<void>>();
  private recoveryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: Pool) {
    this.progress.setMaxListeners(0);
  }

  /** Validates the options (fields named as in `importMembers`' input). */
  options(request: ImportRequest, prefix = "input."): ImportOptions {
    if (!Object.values(ImportMode).includes(request.mode)) {
      throw badInput(`${prefix}mode`, `mode must be one of ${Object.values(ImportMode).join(", ")}.`);
    }
    const ratio = request.maxResignRatio ?? DEFAULT_MAX_RESIGN_RATIO;
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw badInput(`${prefix}maxResignRatio`, "maxResignRatio must be from 0 to 1.");
    return { mode: request.mode, dryRun: request.dryRun ?? false, maxResignRatio: ratio };
  }

  /**
   * Refuses callers who may not import. The scope and the edition's feature (BULK_IMPORT) are
   * checked where the request arrives: `importMembers` declares them (its document is refused before
   * it runs), `POST /imports` declares them on the route.
   */
  authorize(ctx: RequestContext): void {
    requireAdministratorOrLeader(ctx.caller, "import members");
  }

  /**
   * `POST /imports`: streams the CSV body into the job's staging table and resolves with the job id
   * once the whole file is read; validation and apply go on in the background. A file that is not
   * CSV or lacks the header, or an upload that sends less than 16 KiB in `IMPORT_IDLE_TIMEOUT_SECONDS`
   * (`progressGuard`), fails the job and is a `FailedImport`.
   */
  async importStream(ctx: RequestContext, request: ImportRequest, body: Readable): Promise<string> {
    const options = this.options(request, "");
    this.authorize(ctx);
    const run = await this.open(ctx, options);
    try {
      await run.stageCsv(progressGuard(body, ctx.deps.config.importIdleTimeoutSeconds * 1000));
    } catch (e) {
      await run.fail(e);
      this.finished(run);
      if (e instanceof ImportFailure) throw new FailedImport(run.jobId, e.message, "body", e instanceof UploadStalled);
      throw e;
    }
    this.track(run, run.process());
    return run.jobId;
  }

  /**
   * `importMembers`: starts a job from inline CSV or rows and answers it at once. Inline CSV is read
   * first (it is at most a few MB), so a file that is not this CSV format is BAD_USER_INPUT on
   * `input.csv` naming the row, like `POST /imports`; the job is FAILED with the same reason. A lone
   * surrogate (the only text a JSON string holds that has no UTF-8 form) counts as bytes that are
   * not UTF-8 (`utf8Bytes`).
   */
  async importInline(ctx: RequestContext, request: ImportRequest & { csv?: string | null; rows?: ImportRow[] | null }): Promise<ImportJob> {
    const options = this.options(request);
    if ((request.csv == null) === (request.rows == null)) throw badInput("input.csv", "Give exactly one of csv and rows.");
    this.authorize(ctx);
    const run = await this.open(ctx, options);
    const rows = request.rows;
    const csv = request.csv;
    if (csv != null) {
      try {
        await run.stageCsv(Readable.from([utf8Bytes(csv)]));
      } catch (e) {
        await run.fail(e);
        this.finished(run);
        if (e instanceof ImportFailure) throw new FailedImport(run.jobId, e.message, "input.csv", false);
        throw e;
      }
      this.track(run, run.process());
      return (await this.find(ctx, run.jobId))!;
    }
    const work = (async () => {
      try {
        await run.stage(recordsOf(rows!));
      } catch (e) {
        await run.fail(e);
        return;
      }
      await run.process();
    })();
    this.track(run, work);
    return (await this.find(ctx, run.jobId))!;
  }

  private async open(ctx: RequestContext, options: ImportOptions): Promise<ImportRun> {
    const run = await ImportRun.open(ctx.deps, ctx.caller, options, (r) => this.onProgress(r));
    this.runs.set(run.jobId, run);
    return run;
  }

  private track(run: ImportRun, work: Promise<void>): void {
    const done = work.catch((e) => log.error("import crashed", { jobId: run.jobId, error: String(e) })).finally(() => this.finished(run));
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done));
  }

  private finished(run: ImportRun): void {
    this.runs.delete(run.jobId);
    void run.close();
    this.progress.emit(run.jobId);
  }

  /** Records the running total now and then, and wakes `importJobEvents` subscribers. */
  private onProgress(run: ImportRun): void {
    void new CorpDb(run.corpId, this.pool)
      .exec(`UPDATE import_job SET total = $3, updated_at = now() WHERE corp_id = $1 AND id = $2 AND status = 'RUNNING' AND total < $3`, [
        run.jobId,
        run.counts.total,
      ])
      .catch(() => undefined)
      .finally(() => this.progress.emit(run.jobId));
  }

  /**
   * A job the caller may see: one started through the same app by the same member (or by the app
   * itself), or any job of the corp for callers that see the whole corp as an app or a corp admin.
   */
  async find(ctx: RequestContext, id: string): Promise<ImportJob | undefined> {
    if (!UUID.test(id)) return undefined;
    const p = ctx.caller;
    const wholeCorp = reachesWholeCorp(p);
    const [job] = await ctx.db.entities(
      ImportJob,
      `SELECT ${selectList(ctx.deps.dataSource, ImportJob, "j")} FROM import_job j
        WHERE j.corp_id = $1 AND j.id = $2::uuid AND ($3 OR (j.app_id = $4 AND j.member_id IS NOT DISTINCT FROM $5::bigint))`,
      [id, wholeCorp, p.appId, p.member?.id ?? null],
    );
    return job;
  }

  /** The job's row errors, by row number, then field (one error per field of a row). */
  async errors(ctx: RequestContext, job: ImportJob, window: PageWindow): Promise<Connection<ImportJobError>> {
    const params = new SqlParams();
    const where = `e.corp_id = $1 AND e.job_id = ${params.add(job.id)}`;
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, ImportJobError, "e"),
      from: "import_job_error e",
      where,
      params,
      // One key column (the resolver pages with one cursor value).
      key: [{ sql: ERROR_KEY_SQL, cast: "text" }],
      keyOf: (e) => [errorKey(e)],
      map: (row) => hydrate(ImportJobError, row),
    });
  }

  /**
   * `importJobEvents`: the job now, then each time it changes (woken in this process, polled every
   * second for jobs other instances run), ending after SUCCEEDED or FAILED.
   */
  async events(ctx: RequestContext, id: string): Promise<AsyncIterableIterator<ImportJob>> {
    if (!(await this.find(ctx, id))) throw notFound("Import job", "id");
    return new Repeater<ImportJob>(async (push, stop) => {
      let wake: () => void = () => undefined;
      const listener = () => wake();
      this.progress.on(id, listener);
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        this.progress.off(id, listener);
      });
      let last = "";
      while (!stopped) {
        const changed = new Promise<void>((resolve) => (wake = resolve));
        const job = await this.find(ctx, id);
        if (!job) break;
        const signature = [job.status, job.total, job.processed, job.failed, job.updatedAt.toISOString()].join("|");
        if (signature !== last) {
          last = signature;
          await push(job);
        }
        if (job.status === ImportJobStatus.SUCCEEDED || job.status === ImportJobStatus.FAILED) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([changed, stop, new Promise<void>((resolve) => (timer = setTimeout(resolve, PROGRESS_POLL_MS)))]);
        clearTimeout(timer);
      }
      this.progress.off(id, listener);
      stop();
    });
  }

  /**
   * Marks FAILED every QUEUED or RUNNING job whose runner is gone: its connection held the job's
   * advisory lock, which PostgreSQL released when the connection (or the process) died. Runs at
   * start-up and every minute, so a job is never left RUNNING, whichever instance ran it. Reads
   * across corps (`CrossCorpDb`): it is the gateway's housekeeping, not a caller's request. Each
   * job is then handled on a connection of its own, which must hold the job's lock to mark it.
   */
  async recoverInterrupted(): Promise<number> {
    const rows = await new CrossCorpDb(this.pool).rows<{ id: string }>(`SELECT id FROM import_job WHERE status IN ('QUEUED', 'RUNNING')`);
    let recovered = 0;
    for (const { id } of rows) {
      if (this.runs.has(id)) continue;
      const client = await this.pool.connect();
      try {
        const { rows: got } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${JOB_LOCK_SQL}) AS locked`, [id]);
        if (!got[0].locked) continue;
        try {
          const result = await client.query(
            `UPDATE import_job SET status = 'FAILED', updated_at = now(), finished_at = now(),
                    reason = 'The gateway running this import stopped before it finished; nothing was applied. Submit the file again.'
              WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')`,
            [id],
          );
          recovered += result.rowCount ?? 0;
        } finally {
          await client.query(`SELECT pg_advisory_unlock(${JOB_LOCK_SQL})`, [id]);
        }
      } finally {
        client.release();
      }
      this.progress.emit(id);
    }
    if (recovered) log.warn("interrupted imports marked FAILED", { count: recovered });
    return recovered;
  }

  /** Starts the recovery sweep (at once, then every minute). */
  startRecovery(): void {
    void this.recoverInterrupted().catch((e) => log.error("import recovery failed", { error: String(e) }));
    this.recoveryTimer = setInterval(() => void this.recoverInterrupted().catch(() => undefined), RECOVERY_INTERVAL_MS);
    this.recoveryTimer.unref();
  }

  /** Gateway shutdown: stops running jobs (they roll back and are marked FAILED) and waits for them. */
  async shutdown(): Promise<void> {
    clearInterval(this.recoveryTimer);
    for (const run of this.runs.values()) run.abort();
    await Promise.allSettled([...this.settled]);
  }
}

/** The header and the rows of `importMembers(input: {rows})`, as CSV records. */
async function* recordsOf(rows: ImportRow[]): AsyncIterable<(string | null)[]> {
  yield [...CSV_COLUMNS];
  for (const r of rows) yield [r.employeeId, r.name, r.department, r.title ?? null, r.extension ?? null, r.mobile ?? null, r.email ?? null];
}
