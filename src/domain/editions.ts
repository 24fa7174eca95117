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

/** A bucket's size: points when full, and points regained per second. */
export interface BucketSize {
  capacity: number;
  restoreRate: number;
}

/**
 * The edition's bucket, times `scale` (the `RATE_LIMIT_SCALE` setting: a deployment selling larger
 * tiers, or a benchmark that measures the gateway rather than its limits; 1 by default).
 */
export function editionBucket(edition: Edition, scale = 1): BucketSize {
  const limits = EDITION_LIMITS[edition];
  return { capacity: limits.bucketCapacity * scale, restoreRate: limits.restoreRate * scale };
}

/**
 * An app's bucket (and each of its members'): the edition's, or lower where `setAppRateLimit`
 * lowered it, never above the edition's (even after the corp moved down an edition).
 */
export function appBucket(edition: Edition, own: BucketSize | null, scale = 1): BucketSize & { lowered: boolean } {
  const ceiling = editionBucket(edition, scale);
  return {
    capacity: Math.min(ceiling.capacity, own?.capacity ?? Infinity),
    restoreRate: Math.min(ceiling.restoreRate, own?.restoreRate ?? Infinity),
    lowered: own !== null,
  };
}

/** Concurrent subscriptions of each member acting through an app (their tokens together), in every edition. */
export const MEMBER_SUBSCRIPTIONS = 10;

/** Editions from lowest to highest: an edition has every feature of the ones before it. */
const ORDER: readonly Edition[] = [Edition.BASIC, Edition.PROFESSIONAL];

/** Does a corp on `have` get what needs `need`? */
export function editionIncludes(have: Edition, need: Edition): boolean {
  return ORDER.indexOf(have) >= ORDER.indexOf(need);
}

/**
 * The features some editions lack, each a stable key a client may rely on (they appear in the
 * schema's `@requiresEdition` declarations, in `corp { features }` and in EDITION_REQUIRED messages).
 * PRODUCT.md, "Editions": PROFESSIONAL has the whole API, incl. bulk import, exports, customer events
 * and their webhooks.
 */
export enum Feature {
  BULK_IMPORT = "BULK_IMPORT",
  EXPORTS = "EXPORTS",
  CUSTOMER_EVENTS = "CUSTOMER_EVENTS",
  WEBHOOKS = "WEBHOOKS",
}

export interface FeatureSpec {
  /** The lowest edition that has the feature. */
  edition: Edition;
  /** Its name in a sentence ("`importMembers` needs the PROFESSIONAL edition (bulk import)"). */
  name: string;
  /** One line for the schema's docs: what the feature is and which operations it covers. */
  description: string;
}

/** The catalog: every feature, in the order `corp { features }` lists them. */
export const FEATURES: Readonly<Record<Feature, FeatureSpec>> = {
  [Feature.BULK_IMPORT]: {
    edition: Edition.PROFESSIONAL,
    name: "bulk import",
    description: "Import members and departments in one job and follow it: `importMembers`, `importJob`, `importJobEvents`, `POST /imports`.",
  },
  [Feature.EXPORTS]: {
    edition: Edition.PROFESSIONAL,
    name: "exports",
    description: "Export members as CSV in the import's format: `exportMembers`, `GET /exports/:id`.",
  },
  [Feature.CUSTOMER_EVENTS]: {
    edition: Edition.PROFESSIONAL,
    name: "customer events",
    description: "Customer changes streamed live over subscriptions, resumable by cursor (not in the API yet).",
  },
  [Feature.WEBHOOKS]: {
    edition: Edition.PROFESSIONAL,
    name: "webhooks",
    description: "Customer events delivered to a vendor app as HMAC-signed webhooks with retries (not in the API yet).",
  },
};

/** Does a corp on `edition` have `feature`? */
export function hasFeature(edition: Edition, feature: Feature): boolean {
  return editionIncludes(edition, FEATURES[feature].edition);
}

/**
 * The refusal's message: "`importMembers` needs the PROFESSIONAL edition (bulk import); this corp has
 * BASIC." Without `what`: "Bulk import needs the PROFESSIONAL edition; this corp has BASIC."
 */
export function featureRefusal(what: string | undefined, feature: Feature, have: Edition): string {
  const spec = FEATURES[feature];
  const subject = what ?? spec.name[0].toUpperCase() + spec.name.slice(1);
  const why = what === undefined ? "" : ` (${spec.name})`;
  return `${subject} needs the ${spec.edition} edition${why}; this corp has ${have}.`;
}

/** Every feature of the catalog, in order, with whether a corp on `edition` has it (`corp { features }`). */
export function featuresOf(edition: Edition): { key: Feature; description: string; edition: Edition; enabled: boolean }[] {
  return (Object.keys(FEATURES) as Feature[]).map((key) => ({
    key,
    description: FEATURES[key].description,
    edition: FEATURES[key].edition,
    enabled: hasFeature(edition, key),
  }));
}
