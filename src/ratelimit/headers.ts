import type { RateLimitCharge } from "./types";

/* What a charged response says about its charge, over every transport (GraphQL over HTTP and WebSocket, the REST routes). */

/** `extensions.cost` in Shopify's shape. */
export function costExtension(charge: RateLimitCharge) {
  return {
    requestedQueryCost: charge.requested,
    actualQueryCost: charge.throttled ? null : charge.actual,
    throttleStatus: { ...charge.status },
  };
}

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured fields): the
 * policy's quota `q` (the bucket's capacity) over a window `w` (seconds a bucket takes to refill
 * from empty), and the remaining points `r` with `t`, the seconds until the bucket is full again.
 */
export function rateLimitHeaders(charge: RateLimitCharge): Record<string, string> {
  const { maximumAvailable: q, currentlyAvailable: r, restoreRate } = charge.status;
  const w = Math.ceil(q / restoreRate);
  const t = Math.ceil(Math.max(0, q - r) / restoreRate);
  return { "ratelimit-policy": `"${charge.bucket}";q=${q};w=${w}`, ratelimit: `"${charge.bucket}";r=${r};t=${t}` };
}
