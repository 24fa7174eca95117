import { UseMiddleware } from "type-graphql";
import type { DatabaseError } from "pg";
import type { RequestContext, TxState } from "../context";
import { CorpDb } from "./scoped-db";
import { conflict } from "../errors/domain-error";

/** Unique constraints whose violation is the client's conflict, with the input field they concern. */
const CONSTRAINT_CONFLICTS: Record<string, { field: string; message: string }> = {
  member_corp_employee_id_key: { field: "input.employeeId", message: "A member with this employee id already exists in the corp." },
  member_corp_mobile_key: { field: "input.mobile", message: "Another member of the corp already has this mobile number." },
  member_corp_email_key: { field: "input.email", message: "Another member of the corp already has this email address." },
  department_parent_name_key: { field: "input.name", message: "The parent department already has a sub-department with this name." },
};

function mapDatabaseError(e: unknown): unknown {
  const pgError = e as Partial<DatabaseError>;
  if (pgError && pgError.code === "23505" && pgError.constraint && CONSTRAINT_CONFLICTS[pgError.constraint]) {
    const c = CONSTRAINT_CONFLICTS[pgError.constraint];
    return conflict(c.message, c.field);
  }
  return e;
}

/**
 * Takes the corp's event-log lock until the transaction ends. Every writer of `event` rows takes it
 * right before its INSERT and holds it to COMMIT, so event ids within a corp follow commit order and
 * a reader resuming after id N never skips one (set-based writers such as the import use it too).
 */
export async function lockEventLog(db: CorpDb): Promise<void> {
  await db.exec("SELECT pg_advisory_xact_lock(hashtextextended('event-log:' || $1::text, 0))");
}

/**
 * Runs `work` in one transaction on one connection; services join it through `ctx.db`. Events
 * recorded with `ctx.emit` are appended to the log just before COMMIT, under a per-corp advisory
 * lock so that event ids within a corp follow commit order; after COMMIT the bus is told, so no
 * subscriber ever sees a change that was rolled back. Nested calls join the outer transaction.
 */
export async function runInTransaction<T>(ctx: RequestContext, work: () => Promise<T>): Promise<T> {
  if (ctx.tx) return work();
  const corpId = ctx.caller.corpId;
  const client = await ctx.deps.pool.connect();
  const db = new CorpDb(corpId, client, ctx.stats);
  const tx: TxState = { events: [] };
  let lastEventId: string | undefined;
  let result: T;
  try {
    await client.query("BEGIN");
    ctx.enterTransaction(db, tx);
    try {
      result = await work();
    } finally {
      ctx.leaveTransaction();
    }
    if (tx.events.length) {
      await lockEventLog(db);
      const rows = await db.rows<{ id: string }>(
        `INSERT INTO event (corp_id, type, member_id, department_id, scope_paths, data, occurred_at)
         SELECT $1, e.type, e.member_id, e.department_id, e.scope_paths, e.data, clock_timestamp()
           FROM jsonb_to_recordset($2::jsonb) AS e(type text, member_id bigint, department_id bigint, scope_paths text[], data jsonb)
         RETURNING id`,
        [
          JSON.stringify(
            tx.events.map((e) => ({
              type: e.type,
              member_id: e.memberId ?? null,
              department_id: e.departmentId ?? null,
              scope_paths: e.scopePaths,
              data: e.data ?? {},
            })),
          ),
        ],
      );
      lastEventId = rows[rows.length - 1].id;
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw mapDatabaseError(e);
  } finally {
    client.release();
  }
  if (lastEventId) ctx.deps.bus.publish("corp-events", corpId, lastEventId);
  return result;
}

/** Marks a mutation as one transaction: everything its service does commits or rolls back together. */
export function Transactional(): MethodDecorator {
  return UseMiddleware(({ context }, next) => runInTransaction(context as RequestContext, () => next()));
}

