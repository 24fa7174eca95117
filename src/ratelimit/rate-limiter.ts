import { DomainError, limitExceeded } from "../errors/domain-error";
import { appBucket, EDITION_LIMITS, MEMBER_SUBSCRIPTIONS } from "../domain/editions";
import type { Principal } from "../policy/principal";
import { clientKey } from "./ip-throttle";
import type { BucketSpec, BucketStore } from "./bucket";
import type { BucketKind, RateLimitCharge, ThrottleStatus } from "./types";

/**
 * An anonymous caller may ask `__typename` and nothing else (every other field needs a token), so
 * its bucket only bounds request floods per client IP (IPv6: per /64): 100 requests, 2 more a second.
 * Each anonymous request costs at least one point.
 */
export const ANONYMOUS_BUCKET: BucketSpec = { capacity: 100, restoreRate: 2 };

/** Which bucket pays for a caller, and its size. */
export interface Bucket {
  kind: BucketKind;
  key: string;
  spec: BucketSpec;
  appId: string | null;
}

/**
 * The bucket of a principal (issue 13): an app's own tokens share the (corp, app) bucket; each
 * member acting through an app has a (corp, app, member) bucket of the app's size, so one member's
 * calls never use up the app's or another member's; anonymous calls share their client IP's.
 * The size is the edition's, or lower where `setAppRateLimit` lowered it (never above the edition's,
 * even if the corp moved down an edition after the app's limit was set).
 */
export function bucketOf(principal: Principal | null, ip: string | undefined, scale = 1): Bucket {
  if (!principal) return { kind: "ip", key: `ip:${clientKey(ip)}`, spec: ANONYMOUS_BUCKET, appId: null };
  const { capacity, restoreRate } = appBucket(principal.edition, principal.appRateLimit, scale);
  const spec: BucketSpec = { capacity, restoreRate };
  const app = `${principal.corpId}:${principal.appId}`;
  return principal.member
    ? { kind: "member", key: `member:${app}:${principal.member.id}`, spec, appId: principal.appId }
    : { kind: "app", key: `app:${app}`, spec, appId: principal.appId };
}

/** The THROTTLED refusal: `retryAfter` whole seconds (at least 1), also sent as `Retry-After`. */
export function throttled(bucket: Bucket, requested: number, available: number, retryAfterMs: number): DomainError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const whose = bucket.kind === "member" ? "your member bucket" : bucket.kind === "app" ? "the app's bucket" : "this address's bucket";
  return new DomainError(
    "THROTTLED",
    `This operation costs ${requested} points and ${whose} holds ${Math.floor(available)} (of ${bucket.spec.capacity}, refilling ${bucket.spec.restoreRate} a second): retry in ${retryAfter} s.`,
    { retryAfter },
  );
}

/**
 * Charges operations to their bucket: the requested cost before execution (`charge`), the
 * difference to the actual cost given back after (`settle`). One store call each; `settle` makes
 * none when nothing is given back.
 */
export class RateLimiter {
  /** Concurrent subscriptions per token holder, in this instance. */
  readonly subscriptions = new SubscriptionSlots();
  /** Which store took a charge's points (Redis or, during an outage, memory): its refund goes there. */
  private readonly origins = new WeakMap<RateLimitCharge, "memory" | "redis">();

  constructor(
    readonly store: BucketStore,
    /** `RATE_LIMIT_SCALE`: every edition's bucket and refill times this. */
    readonly scale = 1,
  ) {}

  /**
   * Takes `cost` points from the caller's bucket, or refuses: THROTTLED with the wait when the bucket
   * holds too few now, LIMIT_EXCEEDED when it could never hold them (an app's bucket lowered below
   * the document's cost). A cost of 0 (`__typename`, `rateLimit`) is free for a caller with a token.
   */
  async charge(principal: Principal | null, ip: string | undefined, cost: number): Promise<RateLimitCharge> {
    const bucket = bucketOf(principal, ip, this.scale);
    const requested = bucket.kind === "ip" ? Math.max(1, cost) : cost;
    if (requested > bucket.spec.capacity) {
      throw limitExceeded(
        `This operation costs ${requested} points; the bucket holds at most ${bucket.spec.capacity}. Ask for fewer items (\`first\`/\`last\`) or fewer nested lists.`,
        { limit: "cost", maximum: bucket.spec.capacity, actual: requested },
      );
    }
    const status = (available: number): ThrottleStatus => ({
      maximumAvailable: bucket.spec.capacity,
      currentlyAvailable: Math.floor(available),
      restoreRate: bucket.spec.restoreRate,
    });
    if (requested === 0) {
      const available = await this.store.peek(bucket.key, bucket.spec);
      return { bucket: bucket.kind, appId: bucket.appId, requested, actual: 0, throttled: false, status: status(available) };
    }
    const taken = await this.store.take(bucket.key, bucket.spec, requested);
    const charged = (charge: RateLimitCharge) => {
      if (taken.origin) this.origins.set(charge, taken.origin);
      return charge;
    };
    if (!taken.allowed) {
      throw Object.assign(throttled(bucket, requested, taken.available, taken.retryAfterMs), {
        charge: { bucket: bucket.kind, appId: bucket.appId, requested, actual: 0, throttled: true, status: status(taken.available) } satisfies RateLimitCharge,
      });
    }
    return charged({ bucket: bucket.kind, appId: bucket.appId, requested, actual: requested, throttled: false, status: status(taken.available) });
  }

  /**
   * Gives back what an operation did not use (`actual` below `requested`: lists shorter than asked)
   * and records the actual cost and the bucket's state on `charge`.
   */
  async settle(principal: Principal | null, ip: string | undefined, charge: RateLimitCharge, actual: number): Promise<void> {
    const minimum = charge.bucket === "ip" ? 1 : 0;
    const used = Math.min(charge.requested, Math.max(minimum, Math.ceil(actual)));
    charge.actual = used;
    const unused = charge.requested - used;
    if (unused <= 0) return;
    const bucket = bucketOf(principal, ip, this.scale);
    const available = await this.store.refund(bucket.key, bucket.spec, unused, this.origins.get(charge));
    charge.status = { ...charge.status, currentlyAvailable: Math.floor(available) };
  }

  /** A charge of nothing, with the caller's bucket as it stands: for an operation refused before it was charged. */
  async nothing(principal: Principal | null, ip: string | undefined): Promise<RateLimitCharge> {
    const bucket = bucketOf(principal, ip, this.scale);
    const available = await this.store.peek(bucket.key, bucket.spec);
    const status = { maximumAvailable: bucket.spec.capacity, currentlyAvailable: Math.floor(available), restoreRate: bucket.spec.restoreRate };
    return { bucket: bucket.kind, appId: bucket.appId, requested: 0, actual: 0, throttled: false, status };
  }

  /** The caller's bucket now (for the free `rateLimit` query). */
  async status(principal: Principal): Promise<{ bucket: Bucket; status: ThrottleStatus }> {
    const bucket = bucketOf(principal, undefined, this.scale);
    const available = await this.store.peek(bucket.key, bucket.spec);
    return {
      bucket,
      status: { maximumAvailable: bucket.spec.capacity, currentlyAvailable: Math.floor(available), restoreRate: bucket.spec.restoreRate },
    };
  }
}

/** The charge a THROTTLED refusal carries (for headers and metrics), if any. */
export function chargeOf(error: unknown): RateLimitCharge | undefined {
  return (error as { charge?: RateLimitCharge } | null)?.charge;
}

/**
 * Concurrent subscriptions per token holder, in this instance (issue 13): an app's own tokens
 * together get the edition's `appSubscriptions` (BASIC 100, PROFESSIONAL 1,000); each member acting
 * through an app gets `MEMBER_SUBSCRIPTIONS` (10), whatever the number of members, so a corp whose
 * 10,000 members each hold one subscription through one app is normal. `acquire` answers the
 * release function, or throws THROTTLED.
 */
export class SubscriptionSlots {
  private readonly held = new Map<string, number>();
  private total = 0;

  acquire(principal: Principal): () => void {
    const member = principal.member;
    const key = member ? `${principal.corpId}:${principal.appId}:${member.id}` : `${principal.corpId}:${principal.appId}`;
    const maximum = member ? MEMBER_SUBSCRIPTIONS : EDITION_LIMITS[principal.edition].appSubscriptions;
    const count = this.held.get(key) ?? 0;
    if (count >= maximum) {
      const whose = member ? "Each member's tokens" : `An app's own tokens (${principal.edition})`;
      throw new DomainError("THROTTLED", `${whose} may hold at most ${maximum} subscriptions at once; complete one first.`, {
        retryAfter: 1,
        limit: "subscriptions",
        maximum,
      });
    }
    this.held.set(key, count + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  /** Subscriptions running in this instance. */
  get count(): number {
    return this.total;
  }
}
