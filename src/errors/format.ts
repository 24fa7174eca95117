import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { ArgumentValidationError, getMetadataStorage } from "type-graphql";
import type { ValidationError } from "class-validator";
import type { ErrorCode } from "./codes";
import { DomainError } from "./domain-error";
import { log } from "../log";
import { documentCapError } from "./graphql-caps";

/** HTTP status for a code, used by the REST and OAuth endpoints and by the GraphQL HTTP layer. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case "UNAUTHENTICATED":
      return 401;
    case "FORBIDDEN":
    case "EDITION_REQUIRED":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "BAD_USER_INPUT":
      return 400;
    case "CONFLICT":
      return 409;
    case "LIMIT_EXCEEDED":
      return 422;
    case "THROTTLED":
      return 429;
    case "INTERNAL_SERVER_ERROR":
      return 500;
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}

/** graphql-js and Apollo codes for documents that fail to parse, validate or coerce: the client's fault. */
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

function firstConstraint(errors: ValidationError[], prefix: string): { field: string; message: string } | undefined {
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const message = Object.values(e.constraints)[0];
      return { field: path, message: `${path}: ${message}` };
    }
    const nested = firstConstraint(e.children ?? [], path);
    if (nested) return nested;
  }
  return undefined;
}

/** The argument whose input class `target` is an instance of (e.g. `filter`); `input` by default. */
function argumentName(target: object | undefined): string {
  // `getType()` runs each parameter's type thunk: one that cannot run (a scalar, a plain object) is not the input class.
  const matches = (p: { getType: () => unknown }) => {
    try {
      return target !== undefined && p.getType() === target.constructor;
    } catch {
      return false;
    }
  };
  const param = getMetadataStorage().params.find((p) => p.kind === "arg" && matches(p));
  return param?.kind === "arg" ? param.name : "input";
}

/**
 * The one formatter deciding what leaves the server, for HTTP (Apollo `formatError`) and WebSocket
 * (graphql-ws `onNext`/`onError`). Domain errors keep their code, message and field; request errors
 * become BAD_USER_INPUT; anything else becomes INTERNAL_SERVER_ERROR with a request id, its detail
 * only in the log.
 */
export function formatError(error: unknown, requestId: string): GraphQLFormattedError {
  const gqlError = error instanceof GraphQLError ? error : undefined;
  const original = gqlError?.originalError ?? error;
  const base = { locations: gqlError?.locations, path: gqlError?.path as (string | number)[] | undefined };

  if (original instanceof DomainError) {
    return {
      ...base,
      message: original.message,
      extensions: { code: original.code, ...original.details },
    };
  }
  if (original instanceof ArgumentValidationError) {
    // type-graphql gives a list, but not for every kind of argument: read defensively (this is the last line of defence).
    const raw: unknown = original.extensions.validationErrors;
    const validationErrors = (Array.isArray(raw) ? raw : raw ? [raw] : []) as ValidationError[];
    const argName = argumentName(validationErrors[0]?.target);
    const first = firstConstraint(validationErrors, argName);
    return {
      ...base,
      message: first?.message ?? "Argument validation failed.",
      extensions: { code: "BAD_USER_INPUT", field: first?.field },
    };
  }
  if (gqlError) {
    const code = gqlError.extensions?.code as string | undefined;
    // graphql-js's own caps (tokens while parsing, introspection depth while validating) are document caps.
    const cap = code === "GRAPHQL_PARSE_FAILED" || code === "GRAPHQL_VALIDATION_FAILED" || code === undefined ? documentCapError(gqlError) : undefined;
    if (cap) return { ...base, message: cap.message, extensions: { code: cap.code, ...cap.details } };
    // Apollo wraps graphql-js's parse, validation and coercion errors (setting originalError): their code says so.
    if (code !== undefined ? REQUEST_ERROR_CODES.has(code) : !gqlError.originalError) {
      return { ...base, message: gqlError.message, extensions: { code: "BAD_USER_INPUT" } };
    }
  }
  log.error("unexpected error", {
    requestId,
    error: original instanceof Error ? { name: original.name, message: original.message, stack: original.stack } : String(original),
    path: base.path,
  });
  return {
    ...base,
    message: `Internal server error. Quote request id ${requestId} when you report it.`,
    extensions: { code: "INTERNAL_SERVER_ERROR", requestId },
  };
}

/** A domain error as the GraphQLError Apollo and graphql-ws expect, carrying the HTTP status of its code. */
export function asGraphQLError(e: DomainError, status = httpStatus(e.code)): GraphQLError {
  return new GraphQLError(e.message, { originalError: e, extensions: { code: e.code, http: { status } } });
}
