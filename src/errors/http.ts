import type { Response } from "express";
import { DomainError } from "./domain-error";
import { formatError, httpStatus } from "./format";

/**
 * Answers an error outside GraphQL (REST endpoints, middleware) in the JSON shape GraphQL errors
 * have, `{errors: [{message, extensions: {code, …}}]}`, with the HTTP status of its code; an
 * unknown error becomes INTERNAL_SERVER_ERROR through `formatError` (logged with the request id).
 * `extra` adds top-level members (e.g. the job of a failed import).
 */
export function sendHttpError(res: Response, e: unknown, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof DomainError) {
    if (e.code === "UNAUTHENTICATED") res.setHeader("www-authenticate", 'Bearer error="invalid_token"');
    res.status(httpStatus(e.code)).json({ errors: [{ message: e.message, extensions: { code: e.code, ...e.details } }], ...extra });
    return;
  }
  res.status(500).json({ errors: [formatError(e, String(res.locals.requestId))], ...extra });
}
