import DataLoader from "dataloader";
import type { RequestContext } from "../context";
import { CorpDb } from "../db/scoped-db";
import { normaliseDoNotDisturb, type DoNotDisturbWindow } from "../domain/messaging";
import { requireMemberCaller } from "../policy/messaging";

/** `setDoNotDisturb`'s input: all three null clears the window. */
export interface DoNotDisturbInput {
  from?: string | null;
  to?: string | null;
  timezone?: string | null;
}

/**
 * Do not disturb (issue 14 item 6, source §2): a member's daily quiet window in their time zone.
 * It silences, never withholds: `messageEvents` delivers every event during it with `notify: false`
 * (`MessageEventService`, which reads the window when a subscription starts and at each re-check of
 * its token). Members only: an app acting on its own has no notifications to silence.
 */
export class DoNotDisturbService {
  /** Per corp, the windows asked for by event streams in one tick, read together (`findForStream`). */
  private readonly streamReads = new Map<string, DataLoader<string, DoNotDisturbWindow | null>>();

  /**
   * `find` for the re-checks of event streams: those due at one event (hundreds of subscribers of
   * one group) share one statement. Outside any transaction: the statement runs on the pool, with
   * the corp of the first stream that asked.
   */
  findForStream(ctx: RequestContext, memberPk: string): Promise<DoNotDisturbWindow | null> {
    const corpId = ctx.caller.corpId;
    let reads = this.streamReads.get(corpId);
    if (!reads) {
      const db = new CorpDb(corpId, ctx.deps.pool);
      reads = new DataLoader(
        async (pks: readonly string[]) => {
          const rows = await db.rows<{ id: string; from_minute: number; to_minute: number; timezone: string }>(
            `SELECT member_id::text AS id, from_minute, to_minute, timezone FROM member_do_not_disturb WHERE corp_id = $1 AND member_id = ANY($2::bigint[])`,
            [pks],
          );
          const found = new Map(rows.map((r) => [r.id, { fromMinute: r.from_minute, toMinute: r.to_minute, timezone: r.timezone }]));
          return pks.map((pk) => found.get(pk) ?? null);
        },
        { cache: false, maxBatchSize: 1000 },
      );
      this.streamReads.set(corpId, reads);
      // One small batcher per corp with subscribers; the oldest forgotten past 1,000 corps (made again when asked).
      if (this.streamReads.size > 1000) this.streamReads.delete(this.streamReads.keys().next().value!);
    }
    return reads.load(memberPk);
  }

  /** The member's window, or null when none is set. */
  async find(ctx: RequestContext, memberPk: string): Promise<DoNotDisturbWindow | null> {
    const row = await ctx.db.one<{ from_minute: number; to_minute: number; timezone: string }>(
      `SELECT from_minute, to_minute, timezone FROM member_do_not_disturb WHERE corp_id = $1 AND member_id = $2`,
      [memberPk],
    );
    return row ? { fromMinute: row.from_minute, toMinute: row.to_minute, timezone: row.timezone } : null;
  }

  /** The caller's (a member's) window; null for an app. */
  mine(ctx: RequestContext): Promise<DoNotDisturbWindow | null> {
    const member = ctx.caller.member;
    return member ? this.find(ctx, member.id) : Promise.resolve(null);
  }

  /** Sets (or, with all three null, clears) the caller's window; returns it. */
  async set(ctx: RequestContext, input: DoNotDisturbInput): Promise<DoNotDisturbWindow | null> {
    const memberPk = requireMemberCaller(ctx.caller, "set do not disturb");
    const window = normaliseDoNotDisturb(input);
    if (!window) {
      await ctx.db.exec(`DELETE FROM member_do_not_disturb WHERE corp_id = $1 AND member_id = $2`, [memberPk]);
      return null;
    }
    await ctx.db.exec(
      `INSERT INTO member_do_not_disturb (corp_id, member_id, from_minute, to_minute, timezone, updated_at) VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (member_id) DO UPDATE SET from_minute = EXCLUDED.from_minute, to_minute = EXCLUDED.to_minute, timezone = EXCLUDED.timezone, updated_at = now()`,
      [memberPk, window.fromMinute, window.toMinute, window.timezone],
    );
    return window;
  }
}
