import { isIPv6 } from "node:net";
import Redis from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { log } from "../log";

/** What a throttle says about one more request: go ahead, or wait `retryAfterSeconds`. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber usually holds a whole
 * /64, so counting single IPv6 addresses would give an attacker 2^64 budgets). IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) counts as the IPv4 address.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ""] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || "0", 16).toString(16))
    .join(":")}::/64`;
}

/**
 * A fixed-window counter per client IP (rate-limiter-flexible): `pointsPerMinute` requests a
 * minute, then refusals with the seconds until the window ends. With a Redis client the count is
 * shared by every gateway instance (atomic INCR + PEXPIRE in Redis); while Redis is unreachable
 * each instance counts in memory instead (the insurance limiter), so an outage never stops sign-in.
 * Later throttles (per corp, per app) can be built the same way on the same Redis connection.
 */
export class IpThrottle {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly name: string,
    readonly pointsPerMinute: number,
    redis?: Redis,
  ) {
    const opts = { keyPrefix: `workgraph:ip-throttle:${name}`, points: pointsPerMinute, duration: 60 };
    this.limiter = redis
      ? new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(opts) })
      : new RateLimiterMemory(opts);
  }

  /** Counts one request of `ip` and says whether it may go ahead. Never throws for a store failure. */
  async consume(ip: string | undefined): Promise<ThrottleVerdict> {
    try {
      await this.limiter.consume(clientKey(ip), 1);
      return { allowed: true };
    } catch (e) {
      if (e instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
      // Both Redis and the insurance limiter failed: let the request through rather than lock everyone out.
      log.warn("ip throttle unavailable", { throttle: this.name, error: String(e) });
      return { allowed: true };
    }
  }
}

/** How long a throttle waits for Redis to answer one command before counting in memory instead. */
export const THROTTLE_REDIS_TIMEOUT_MS = 250;

/**
 * A Redis connection for throttles. It fails fast instead of waiting on Redis: commands are not
 * queued while disconnected, and a command unanswered after `THROTTLE_REDIS_TIMEOUT_MS` fails
 * (a Redis that accepts connections but stops answering, behind a stuck proxy or paused, would
 * otherwise hold every sign-in and token request forever), so the limiters use their in-memory
 * insurance within well under a second. Its socket is unreferenced, so it never keeps a process
 * (or jest) alive on its own; `disconnect()` it when the gateway stops.
 */
export function throttleRedis(url: string): Redis {
  // disconnectTimeout: ioredis waits this long for a dead socket's close before destroying it, and
  // its timer would hold the process for the default 2 s after `disconnect()` while Redis is down.
  // maxRetriesPerRequest 0: a command caught by a reconnection fails at once (insurance) instead of
  // being resent after the reconnection, which could take up to connectTimeout.
  // socketTimeout: a connection that has answered nothing for a second is dropped and made again,
  // so a stalled Redis does not collect unanswered commands, and while the new connection is not
  // ready the limiters go to memory at once instead of after each command's timeout.
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: THROTTLE_REDIS_TIMEOUT_MS,
    socketTimeout: 1000,
    connectTimeout: 2000,
    disconnectTimeout: 300,
  });
  redis.on("connect", () => (redis as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
  // ioredis leaves a closed connection's socketTimeout timer running (up to a second): it would hold
  // a stopping process, and keep the next connection from arming its own until it fired.
  redis.on("close", () => {
    const internals = redis as unknown as { socketTimeoutTimer?: ReturnType<typeof setTimeout> };
    clearTimeout(internals.socketTimeoutTimer);
    internals.socketTimeoutTimer = undefined;
  });
  // Said once per outage, not at every reconnection attempt (about once a second while Redis is down).
  let down = false;
  redis.on("error", (e: Error) => {
    if (down) return;
    down = true;
    log.warn("throttle redis unavailable: counting in memory until it is back", { error: e.message });
  });
  redis.on("ready", () => {
    if (down) log.info("throttle redis is back");
    down = false;
  });
  return redis;
}
