import { Edition } from "./enums";

/**
 * What each edition allows (PRODUCT.md, "Editions"; source §1 and §3): the API's query-cost bucket,
 * concurrent subscriptions, and the features only PROFESSIONAL has. Read by the rate limiter, the
 * schema's edition declarations (`@RequiresFeature`) and the REST routes through the policy.
 */
export interface EditionLimits {
  /** Points an app's bucket (and each of its members' buckets) holds when full. */
  bucketCapacity: number;
  /** Points a bucket regains per second, continuously. */
  restoreRate: number;
  /** Concurrent subscriptions of an app's own tokens (all of them together). */
  appSubscriptions: number;
}

export const EDITION_LIMITS: Readonly<Record<Edition, EditionLimits>> = {
  [Edition.BASIC]: { bucketCapacity: 1000, restoreRate: 50, appSubscriptions: 100 },
  [Edition.PROFESSIONAL]: { bucketCapacity: 10000, restoreRate: 500, appSubscriptions: 1000 },
};

/** Concurrent subscriptions of each member acting through an app (their tokens together), in every edition. */
export const MEMBER_SUBSCRIPTIONS = 10;

/** Editions from lowest to highest: an edition has every feature of the ones before it. */
const ORDER: readonly Edition[] = [Edition.BASIC, Edition.PROFESSIONAL];

/** Does a corp on `have` get what needs `need`? */
export function editionIncludes(have: Edition, need: Edition): boolean {
  return ORDER.indexOf(have) >= ORDER.indexOf(need);
}
