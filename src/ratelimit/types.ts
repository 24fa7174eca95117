/**
 * What the rate limiter tells the rest of the gateway about one operation (issue 13): which bucket
 * paid, what it cost, and the bucket's state after it. `RequestContext.rateLimit` holds it once the
 * operation was charged; `extensions.cost`, the `RateLimit` headers and `/metrics` read it.
 */

/** Whose bucket: an app's own tokens, one member's tokens through an app, or an anonymous client IP. */
export type BucketKind = "app" | "member" | "ip";

/** A bucket's state, in Shopify's `throttleStatus` shape. */
export interface ThrottleStatus {
  /** Points the bucket holds when full. */
  maximumAvailable: number;
  /** Points available now. */
  currentlyAvailable: number;
  /** Points regained per second. */
  restoreRate: number;
}

export interface RateLimitCharge {
  bucket: BucketKind;
  /** The app whose bucket (or whose member's bucket) paid; null for an anonymous caller. */
  appId: string | null;
  /** Points taken before execution: the document's computed cost. */
  requested: number;
  /** Points the operation really cost (lists shorter than asked are given back); `requested` until it ran. */
  actual: number;
  /** True when the operation was refused for want of points (THROTTLED, nothing ran). */
  throttled: boolean;
  status: ThrottleStatus;
}
