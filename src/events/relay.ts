import { Repeater } from "@repeaterjs/repeater";
import type { Pool } from "pg";
import type { DataSource } from "typeorm";
import { EventRecord } from "../entities/event.entity";
import { CorpDb, selectList } from "../db/scoped-db";
import type { EventBus } from "./bus";
import { feedKey } from "./log";
import { log } from "../log";

const RING_CAPACITY = 2000;
const PAGE = 500;

/** See `EventRelay.open`. */
export interface FeedHandle {
  /** The newest event id this process has read (the end of the log as of the last notification or poll). */
  readonly latest: bigint;
  /** Up to one page of events after `pos`, ascending; empty when there are none yet. */
  page(pos: bigint): Promise<EventRecord[]>;
  /** Resolves after the feed's next read (new events or none). */
  changed(): Promise<void>;
  /** Gives the handle back: the last holder's release stops the feed. Idempotent. */
  release(): void;
}

/**
 * One (corp, stream)'s live feed in this process: the newest events, fetched once per notification
 * however many subscribers it has, and the waiters to wake.
 */
class CorpFeed {
  /** Events with id in (floor, latest], ascending. */
  ring: EventRecord[] = [];
  floor: bigint;
  latest: bigint;
  private waiters: Array<() => void> = [];
  private fetching: Promise<void> | null = null;
  private again = false;
  stopBus: () => void = () => undefined;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly db: CorpDb,
    readonly stream: string,
    private readonly columns: string,
    start: bigint,
    /** Told of each page of new events this feed reads (the relay's lag, see `EventRelay.onLag`). */
    private readonly onRead: (rows: EventRecord[]) => void,
  ) {
    this.floor = start;
    this.latest = start;
  }

  /** Events after `pos` from the ring, or `undefined` when the ring no longer reaches back to `pos`. */
  after(pos: bigint): EventRecord[] | undefined {
    if (pos < this.floor) return undefined;
    let i = this.ring.length;
    while (i > 0 && BigInt(this.ring[i - 1].id) > pos) i--;
    return this.ring.slice(i);
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Reads what is new since `latest`; concurrent calls coalesce into one more read. */
  refresh(): Promise<void> {
    if (this.fetching) {
      this.again = true;
      return this.fetching;
    }
    this.fetching = (async () => {
      try {
        do {
          this.again = false;
          let rows: EventRecord[];
          do {
            rows = await this.db.entities(
              EventRecord,
              `SELECT ${this.columns} FROM event e WHERE e.corp_id = $1 AND e.stream = $2 AND e.id > $3 ORDER BY e.id LIMIT ${PAGE}`,
              [this.stream, this.latest.toString()],
            );
            if (rows.length) {
              this.onRead(rows);
              this.ring.push(...rows);
              this.latest = BigInt(rows[rows.length - 1].id);
            }
          } while (rows.length === PAGE);
          if (this.ring.length > RING_CAPACITY) {
            const drop = this.ring.length - RING_CAPACITY;
            this.floor = BigInt(this.ring[drop - 1].id);
            this.ring.splice(0, drop);
          }
        } while (this.again);
      } catch (e) {
        log.warn("event relay refresh failed", { corpId: this.db.corpId, stream: this.stream, error: String(e) });
      } finally {
        this.fetching = null;
        const waiters = this.waiters;
        this.waiters = [];
        waiters.forEach((w) => w());
      }
    })();
    return this.fetching;
  }
}

/**
 * Streams one stream of a corp's event log to subscribers: from a cursor (replaying the log in
 * pages, then live) or live only. Per (corp, stream) and process, one reader follows the log when the bus signals a commit
 * (and every `pollMs`, for writers in processes the bus does not reach), and serves all
 * subscribers from memory. Ordering and completeness come from the log, not from the bus.
 */
export class EventRelay {
  private feeds = new Map<string, { refs: number; feed: Promise<CorpFeed> }>();
  private readonly columns: string;
  private lagListener: ((seconds: number) => void) | null = null;

  constructor(
    private readonly pool: Pool,
    dataSource: DataSource,
    private readonly bus: EventBus,
    private readonly pollMs = 2000,
  ) {
    this.columns = selectList(dataSource, EventRecord, "e");
  }

  /**
   * Events of `stream` of `corpId` after `after` (an event id; `null` = from now on), in id order,
   * each once, filtered by `accept`. Ending the returned iterator releases everything at once.
   */
  stream(corpId: string, stream: string, after: bigint | null, accept: (e: EventRecord) => boolean): AsyncIterableIterator<EventRecord> {
    return new Repeater<EventRecord>(async (push, stop) => {
      const feed = await this.open(corpId, stream);
      let stopped = false;
      void stop.then(() => (stopped = true));
      try {
        let pos = after ?? feed.latest;
        while (!stopped) {
          const batch = await feed.page(pos);
          if (!batch.length) {
            await Promise.race([feed.changed(), stop]);
            continue;
          }
          for (const event of batch) {
            if (stopped) break;
            pos = BigInt(event.id);
            if (accept(event)) await push(event);
          }
        }
      } finally {
        feed.release();
      }
    });
  }

  /**
   * A handle on the live feed of `stream` of `corpId` (one reader per process, shared with every
   * other holder): its newest position, pages of events after any position (from memory while the
   * ring reaches back to it, else from the log), and a promise for its next change. A reader that
   * pulls, for callers that schedule delivery themselves (`fanout/`); `release()` once, when done.
   */
  async open(corpId: string, stream: string): Promise<FeedHandle> {
    const key = feedKey(corpId, stream);
    const feed = await this.acquire(corpId, stream);
    let released = false;
    return {
      get latest() {
        return feed.latest;
      },
      page: async (pos) => {
        const cached = feed.after(pos);
        if (cached !== undefined) return cached;
        const rows = await feed.db.entities(
          EventRecord,
          `SELECT ${this.columns} FROM event e WHERE e.corp_id = $1 AND e.stream = $2 AND e.id > $3 ORDER BY e.id LIMIT ${PAGE}`,
          [stream, pos.toString()],
        );
        // Past the log's end (a cursor of the future): what the ring holds, as before.
        return rows.length ? rows : (feed.after(feed.floor) ?? []);
      },
      changed: () => feed.changed(),
      release: () => {
        if (released) return;
        released = true;
        this.release(key, feed);
      },
    };
  }

  private acquire(corpId: string, stream: string): Promise<CorpFeed> {
    const key = feedKey(corpId, stream);
    let entry = this.feeds.get(key);
    if (!entry) {
      const feed = (async () => {
        const db = new CorpDb(corpId, this.pool);
        const row = await db.one<{ max: string | null }>("SELECT max(id)::text AS max FROM event WHERE corp_id = $1 AND stream = $2", [stream]);
        const created = new CorpFeed(db, stream, this.columns, BigInt(row?.max ?? "0"), (rows) => this.observeLag(rows));
        const notifications = this.bus.subscribe("events", key);
        void (async () => {
          for await (const _ of notifications) void created.refresh();
        })();
        created.stopBus = () => void notifications.return?.();
        created.timer = setInterval(() => void created.refresh(), this.pollMs);
        created.timer.unref();
        return created;
      })();
      entry = { refs: 0, feed };
      this.feeds.set(key, entry);
      const failed = entry;
      feed.catch(() => {
        if (this.feeds.get(key) === failed) this.feeds.delete(key);
      });
    }
    entry.refs++;
    return entry.feed;
  }

  private release(key: string, feed: CorpFeed): void {
    const entry = this.feeds.get(key);
    if (!entry || --entry.refs > 0) return;
    this.feeds.delete(key);
    feed.stopBus();
    clearInterval(feed.timer);
  }

  /**
   * Calls `listener` with each event's lag as a live feed reads it: the seconds from its
   * `occurred_at` (clock_timestamp() just before its COMMIT, by the database's clock) to now (this
   * host's clock). What subscribers wait beyond it is one push from memory. Replays of older
   * events (a cursor outside the ring) are not lag and are not reported. One listener (`/metrics`).
   */
  onLag(listener: (seconds: number) => void): void {
    this.lagListener = listener;
  }

  private observeLag(rows: readonly EventRecord[]): void {
    const listener = this.lagListener;
    if (!listener) return;
    const now = Date.now();
    for (const event of rows) listener((now - new Date(event.occurredAt).getTime()) / 1000);
  }

  /** Number of (corp, stream) feeds with live subscribers in this process (for /metrics and tests). */
  get activeCorps(): number {
    return this.feeds.size;
  }
}
