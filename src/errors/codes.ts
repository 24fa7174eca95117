/**
 * The closed set of error codes a client can see in `extensions.code` (PRODUCT.md, "Errors").
 * Adding a code here without mapping it in `format.ts` is a compile error.
 */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "LIMIT_EXCEEDED",
  "EDITION_REQUIRED",
  "THROTTLED",
  "INTERNAL_SERVER_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

declare module "graphql" {
  /** Typed extensions so tests and clients assert on the enum, not on strings. */
  interface GraphQLErrorExtensions {
    code?: ErrorCode;
    /** The input field at fault, as a dotted path from the argument, e.g. `input.parentId`. */
    field?: string;
    /** Seconds to wait before retrying (THROTTLED). */
    retryAfter?: number;
    /** LIMIT_EXCEEDED for a document: the cap it broke (`cost`, `depth`, `aliases`, `tokens`, `size`, `introspection`). */
    limit?: string;
    /** LIMIT_EXCEEDED for a document: the cap's value. */
    maximum?: number;
    /** LIMIT_EXCEEDED for a document: what the document asked for (a cost saturates at 10^12). */
    actual?: number;
    /** Correlates an INTERNAL_SERVER_ERROR with the server log. */
    requestId?: string;
  }
}
