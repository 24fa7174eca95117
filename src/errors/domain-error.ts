import type { ErrorCode } from "./codes";

/**
 * The one error services throw. `message` is written for the developer calling the API and is sent
 * as is; `field` names the offending input field (`input.name`, `employeeId`, …).
 */
export class DomainError extends Error {
  constructor(
    readonly code: Exclude<ErrorCode, "INTERNAL_SERVER_ERROR">,
    message: string,
    readonly details: { field?: string; retryAfter?: number; limit?: string; maximum?: number; actual?: number } = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const badInput = (field: string, message: string) => new DomainError("BAD_USER_INPUT", message, { field });
export const notFound = (what: string, field?: string) => new DomainError("NOT_FOUND", `${what} was not found or is outside your visibility scope.`, { field });
export const forbidden = (message: string) => new DomainError("FORBIDDEN", message);
export const conflict = (message: string, field?: string) => new DomainError("CONFLICT", message, { field });
/**
 * LIMIT_EXCEEDED: `field` names the input that went over a domain limit (a department nested too
 * deep); `limit`, `maximum` and `actual` name a cap of the request itself (`depth`, `body`, …).
 */
export const limitExceeded = (message: string, details: { field?: string; limit?: string; maximum?: number; actual?: number } = {}) =>
  new DomainError("LIMIT_EXCEEDED", message, details);
export const editionRequired = (message: string) => new DomainError("EDITION_REQUIRED", message);
export const unauthenticated = (message = "A valid access token is required: send `Authorization: Bearer <token>`.") =>
  new DomainError("UNAUTHENTICATED", message);
