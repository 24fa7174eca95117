import { GraphQLError, getOperationAST, getVariableValues, validate, type GraphQLSchema } from "graphql";
import type { RequestContext } from "../context";
import { EDITION_LIMITS, MEMBER_SUBSCRIPTIONS } from "../domain/editions";
import type { Edition } from "../domain/enums";
import { DomainError, limitExceeded } from "../errors/domain-error";
import { checkOperation, documentLimits, parseDocument } from "../limits/document-limits";

export interface RateLimitView {
  edition: Edition;
  bucket: "app" | "member";
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
  maxSubscriptions: number;
  dryRun: { requestedQueryCost: number; affordableNow: boolean; refusal: string | null } | null;
}

/**
 * The free `rateLimit` query (issue 13): the caller's bucket and edition and, for a `dryRun`
 * document, its cost computed exactly as the gateway computes it before running a document (the
 * same parse, validation and `checkOperation`), without running it or charging anything.
 */
export class RateLimitService {
  /** Requests that already ran a dry run: one per request, so a dry run costs what a refused document costs. */
  private readonly dryRuns = new WeakSet<RequestContext>();

  async view(
    ctx: RequestContext,
    schema: GraphQLSchema,
    dryRun: string | null | undefined,
    variables?: Record<string, unknown> | null,
    operationName?: string | null,
  ): Promise<RateLimitView> {
    const principal = ctx.caller;
    const { bucket, status } = await ctx.deps.rateLimiter.status(principal);
    const view: RateLimitView = {
      edition: principal.edition,
      bucket: bucket.kind === "member" ? "member" : "app",
      throttleStatus: status,
      maxSubscriptions: principal.member ? MEMBER_SUBSCRIPTIONS : EDITION_LIMITS[principal.edition].appSubscriptions,
      dryRun: null,
    };
    if (dryRun === null || dryRun === undefined) return view;
    // `rateLimit` is free, and one request may ask it under many aliases: each dry run is a parse and
    // a validation, like a document that is refused before it runs, so one per request.
    if (this.dryRuns.has(ctx)) {
      throw limitExceeded("One dry run per request: send the others in requests of their own.", { limit: "dryRuns", maximum: 1 });
    }
    this.dryRuns.add(ctx);
    let requestedQueryCost = 0;
    let refusal: string | null = null;
    try {
      const limits = documentLimits(ctx.deps.config);
      const document = parseDocument(dryRun, limits);
      const errors = validate(schema, document);
      if (errors.length) throw new DomainError("BAD_USER_INPUT", errors[0].message);
      const operation = getOperationAST(document, operationName);
      if (!operation) {
        throw new DomainError(
          "BAD_USER_INPUT",
          operationName
            ? `The document has no operation named "${operationName}".`
            : "The document must hold exactly one operation, or name one with `operationName`.",
        );
      }
      // Priced with the variables it would run with: a `first: $n` counts $n, a required variable missing is refused as execution would refuse it.
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
      if (coerced.errors) throw new DomainError("BAD_USER_INPUT", coerced.errors[0].message);
      requestedQueryCost = checkOperation(schema, document, operationName, variables ?? {}, principal, limits).cost;
      if (requestedQueryCost > status.maximumAvailable) {
        refusal = `LIMIT_EXCEEDED: it costs ${requestedQueryCost} points; the bucket holds at most ${status.maximumAvailable}.`;
      }
    } catch (e) {
      // A syntax error comes from graphql's parser: the client's mistake, like a validation error.
      if (e instanceof GraphQLError) {
        refusal = `BAD_USER_INPUT: ${e.message}`;
        view.dryRun = { requestedQueryCost: 0, affordableNow: false, refusal };
        return view;
      }
      if (!(e instanceof DomainError)) throw e;
      refusal = `${e.code}: ${e.message}`;
      if (e.code === "LIMIT_EXCEEDED" && e.details.limit === "cost" && e.details.actual !== undefined) requestedQueryCost = e.details.actual;
    }
    view.dryRun = { requestedQueryCost, affordableNow: refusal === null && requestedQueryCost <= status.currentlyAvailable, refusal };
    return view;
  }
}
