import type Redis from "ioredis";
import { log } from "../log";

/**
 * Token buckets (issue 13): a bucket holds up to `capacity` points and regains `restoreRate` points
 * a second, continuously (not a fixed window: a client that waits 0.1 s has 0.1 s of refill). A
 * take either takes all its points or none. Two stores: in memory (one instance), and in Redis (one
 * Lua script per call, so every instance sharing the Redis sees one bucket and two instances never
 * admit more than one bucket's worth); `ResilientBuckets` uses Redis and falls back to memory while
 * Redis is unreachable.
 */
export interface BucketSpec {
  capacity: number;
  restoreRate: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Points left after the take (before it, when refused). */
  available: number;
  /** When refused: milliseconds until the bucket holds the points asked for. */
  retryAfterMs: number;
  /** Which store took them (`ResilientBuckets`): a refund goes back there or nowhere. */
  origin?: "memory" | "redis";
}

export interface BucketStore {
  /** Takes `points` from the bucket `key` if it holds them; else takes nothing. */
  take(key: string, spec: BucketSpec, points: number): Promise<TakeResult>;
  /** Gives `points` back (never beyond capacity); answers the points available after. `origin`: see `TakeResult`. */
  refund(key: string, spec: BucketSpec, points: number, origin?: TakeResult["origin"]): Promise<number>;
  /** The points available now, changing nothing. */
  peek(key: string, spec: BucketSpec): Promise<number>;
}

/** Milliseconds until a bucket at `available` holds `points`. */
export function waitMs(spec: BucketSpec, available: number, points: number): number {
  return points <= available ? 0 : Math.ceil(((points - available) * 1000) / spec.restoreRate);
}

interface MemoryBucket {
  points: number;
  at: number;
  /** When it is full again if left alone (then it equals no bucket and can go). */
  fullAt: number;
}

/**
 * Buckets in this process's memory. `now` is injectable (tests advance a clock instead of
 * sleeping). A bucket left alone until it is full again is the same as no bucket, so full ones are
 * not kept, and a sweep at most every `SWEEP_MS` drops those that have refilled since: memory
 * follows the callers of the last minute or so, whatever the number of addresses seen over time.
 */
export class MemoryBuckets implements BucketStore {
  private readonly buckets = new Map<string, MemoryBucket>();
  private lastSweep: number;
  private static readonly SWEEP_MS = 10_000;

  constructor(private readonly now: () => number = Date.now) {
    this.lastSweep = now();
  }

  private current(key: string, spec: BucketSpec, at: number): MemoryBucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { points: spec.capacity, at, fullAt: at };
    const refilled = bucket.points + (Math.max(0, at - bucket.at) * spec.restoreRate) / 1000;
    return { points: Math.min(spec.capacity, refilled), at, fullAt: at };
  }

  private store(key: string, bucket: MemoryBucket, spec: BucketSpec): void {
    if (bucket.at - this.lastSweep >= MemoryBuckets.SWEEP_MS) this.sweep(bucket.at);
    if (bucket.points >= spec.capacity) return void this.buckets.delete(key);
    bucket.fullAt = bucket.at + ((spec.capacity - bucket.points) * 1000) / spec.restoreRate;
    this.buckets.set(key, bucket);
  }

  private sweep(at: number): void {
    this.lastSweep = at;
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= at) this.buckets.delete(key);
  }

  async take(key: string, spec: BucketSpec, points: number): Promise<TakeResult> {
    const bucket = this.current(key, spec, this.now());
    if (bucket.points < points) return { allowed: false, available: bucket.points, retryAfterMs: waitMs(spec, bucket.points, points) };
    bucket.points -= points;
    this.store(key, bucket, spec);
    return { allowed: true, available: bucket.points, retryAfterMs: 0 };
  }

  async refund(key: string, spec: BucketSpec, points: number): Promise<number> {
    const bucket = this.current(key, spec, this.now());
    bucket.points = Math.min(spec.capacity, bucket.points + points);
    this.store(key, bucket, spec);
    return bucket.points;
  }

  async peek(key: string, spec: BucketSpec): Promise<number> {
    return this.current(key, spec, this.now()).points;
  }

  /** Buckets held (not full): for tests. */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * One call on a bucket, atomically, in Redis. The time is Redis's own (`TIME`), so instances whose
 * clocks differ still agree. `ARGV`: capacity, restore rate per second, points (> 0 take, < 0
 * refund, 0 peek). Answers {allowed 0/1, points available as a string (Lua numbers become integers
 * in replies), ms to wait}. The key expires once the bucket would be full again.
 */
const BUCKET_SCRIPT = `
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local points = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'p', 't')
local available = tonumber(state[1])
local at = tonumber(state[2])
if available == nil or at == nil then
  available = capacity
else
  available = math.min(capacity, available + math.max(0, now - at) * rate / 1000)
end
if points > 0 then
  if available < points then
    return {0, tostring(available), math.ceil((points - available) * 1000 / rate)}
  end
  available = available - points
elseif points < 0 then
  available = math.min(capacity, available - points)
else
  return {1, tostring(available), 0}
end
if available >= capacity then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'p', tostring(available), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - available) * 1000 / rate) + 1000)
end
return {1, tostring(available), 0}
`;

type BucketCommand = (key: string, capacity: number, rate: number, points: number) => Promise<[number, string, number]>;

/** Buckets in Redis: one script call (EVALSHA, one round trip) per take, refund or peek. */
export class RedisBuckets implements BucketStore {
  private readonly command: BucketCommand;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!(redis as unknown as Record<string, unknown>).workgraphBucket) redis.defineCommand("workgraphBucket", { numberOfKeys: 1, lua: BUCKET_SCRIPT });
    const command = (redis as unknown as { workgraphBucket: BucketCommand }).workgraphBucket;
    this.command = command.bind(redis);
  }

  private async call(key: string, spec: BucketSpec, points: number) {
    const [allowed, available, wait] = await this.command(this.prefix + key, spec.capacity, spec.restoreRate, points);
    return { allowed: allowed === 1, available: Number(available), retryAfterMs: Number(wait) };
  }

  take(key: string, spec: BucketSpec, points: number): Promise<TakeResult> {
    return this.call(key, spec, points);
  }

  async refund(key: string, spec: BucketSpec, points: number): Promise<number> {
    return (await this.call(key, spec, -points)).available;
  }

  async peek(key: string, spec: BucketSpec): Promise<number> {
    return (await this.call(key, spec, 0)).available;
  }
}

/** Where the buckets live right now (`/readyz` reports it). */
export type BucketBackend = "memory" | "redis" | "redis-degraded";

/**
 * Redis buckets with in-memory buckets as the fallback. A call goes to memory at once while the
 * connection is not ready (no waiting on a dead Redis), and when a Redis call fails (the
 * connection's command timeout is 250 ms, see `throttleRedis`); after a failure other than a
 * timeout (an error answer, a dropped connection) it stays in memory for `RETRY_MS` before trying
 * Redis again, so a Redis that fails every other command does not move callers between two buckets
 * at every request. The switch is logged at most once a minute each
 * way, not per request; back on Redis, its buckets are as they were before the outage (the
 * in-memory ones only bridged it, per instance). A refund goes back to the store that took the
 * points, or nowhere: never points out of nothing in the other one.
 */
export class ResilientBuckets implements BucketStore {
  private degradedUntil = 0;
  private degraded = false;
  private lastWarned = -Infinity;
  private lastBack = -Infinity;
  private readonly redisBuckets: RedisBuckets;
  static readonly RETRY_MS = 5000;
  private static readonly LOG_EVERY_MS = 60_000;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly memory: MemoryBuckets = new MemoryBuckets(),
    private readonly now: () => number = Date.now,
  ) {
    this.redisBuckets = new RedisBuckets(redis, prefix);
  }

  get backend(): BucketBackend {
    return this.redis.status === "ready" && !this.degraded ? "redis" : "redis-degraded";
  }

  /** Whether a call may try Redis now. */
  private redisUsable(): boolean {
    return this.redis.status === "ready" && this.now() >= this.degradedUntil;
  }

  private async use<T>(work: (s: BucketStore, origin: "memory" | "redis") => Promise<T>): Promise<T> {
    if (!this.redisUsable()) {
      if (this.redis.status !== "ready") this.markDegraded("not connected");
      return work(this.memory, "memory");
    }
    try {
      const result = await work(this.redisBuckets, "redis");
      if (this.degraded) {
        this.degraded = false;
        if (this.now() - this.lastBack >= ResilientBuckets.LOG_EVERY_MS) {
          this.lastBack = this.now();
          log.info("rate limits: back on Redis, shared by every instance");
        }
      }
      return result;
    } catch (e) {
      // A command that timed out falls back for itself only: under load the answer is often already
      // in the socket, only read late, and the next command is answered in time.
      const timedOut = e instanceof Error && /timed out/i.test(e.message);
      this.markDegraded(e instanceof Error ? e.message : String(e), !timedOut);
      return work(this.memory, "memory");
    }
  }

  private markDegraded(reason: string, hold = true): void {
    if (hold) this.degradedUntil = this.now() + ResilientBuckets.RETRY_MS;
    if (this.degraded) return;
    this.degraded = true;
    if (this.now() - this.lastWarned < ResilientBuckets.LOG_EVERY_MS) return;
    this.lastWarned = this.now();
    log.warn("rate limits: Redis unavailable, counting per instance in memory until it is back", { reason });
  }

  take(key: string, spec: BucketSpec, points: number): Promise<TakeResult> {
    return this.use(async (s, origin) => ({ ...(await s.take(key, spec, points)), origin }));
  }

  async refund(key: string, spec: BucketSpec, points: number, origin?: TakeResult["origin"]): Promise<number> {
    if (origin === "memory") return this.memory.refund(key, spec, points);
    if (origin === "redis" && !this.redisUsable()) return this.memory.peek(key, spec); // the points stay taken
    return this.use((s) => s.refund(key, spec, points));
  }

  peek(key: string, spec: BucketSpec): Promise<number> {
    return this.use((s) => s.peek(key, spec));
  }
}
