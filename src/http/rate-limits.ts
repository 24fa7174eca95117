import { HeaderMap, type GraphQLRequestContextWillSendResponse } from "@apollo/server";
import { GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { RequestContext } from "../context";
import { DomainError } from "../errors/domain-error";
import { httpStatus } from "../errors/format";
import { actualCost } from "../limits/actual-cost";
import type { DocumentCost } from "../limits/analyze";
import { chargeOf, type RateLimiter } from "../ratelimit/rate-limiter";
import { costExtension, rateLimitHeaders } from "../ratelimit/headers";

/**
 * The rate limit at the edges (issue 13), the same for HTTP (the Apollo plugin in `apollo.ts`) and
 * WebSocket operations (`websocket.ts`): `admit` takes the requested cost before execution (or
 * refuses: THROTTLED, 429 with Retry-After over HTTP), `settle` gives back what the operation did
 * not use, and the response says what it cost (`extensions.cost`, and over HTTP the `RateLimit`
 * headers of draft-ietf-httpapi-ratelimit-headers).
 */
export class RateLimits {
  /** Operations whose document reads the schema (`__schema`, `__type`): charged their requested cost. */
  private readonly introspection = new WeakSet<RequestContext>();

  constructor(readonly limiter: RateLimiter) {}

  /** Charges the operation to the caller's bucket; throws the refusal as the GraphQLError to answer. */
  async admit(ctx: RequestContext, analysis: DocumentCost): Promise<void> {
    if (analysis.introspection) this.introspection.add(ctx);
    try {
      ctx.rateLimit = await this.limiter.charge(ctx.principal, ctx.clientIp, analysis.cost);
    } catch (e) {
      const charge = chargeOf(e);
      if (charge) ctx.rateLimit = charge;
      if (e instanceof DomainError) throw refusal(e);
      throw e;
    }
  }

  /**
   * Records the actual cost of an executed query or mutation and gives back the unused points. The
   * actual cost is set on `ctx.rateLimit` synchronously, before the refund's store call.
   */
  settle(
    ctx: RequestContext,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    result: { data?: unknown; errors?: readonly unknown[] },
  ): Promise<void> {
    const charge = ctx.rateLimit;
    if (!charge || charge.throttled || charge.requested === 0 || operation.operation === "subscription") return Promise.resolve();
    // With errors the result no longer shows what ran (an error in a non-null field nulls its parent,
    // up to `data`, after the rest ran in full): nothing is given back then. Introspection reads the
    // schema, which the result does not measure: charged as requested.
    const actual =
      this.introspection.has(ctx) || result.errors?.length
        ? charge.requested
        : actualCost(schema, document, operation, {}, result.data as Record<string, unknown> | null | undefined);
    return this.limiter.settle(ctx.principal, ctx.clientIp, charge, actual);
  }

  /** Apollo's `willSendResponse`: settles (or, for a refused document, reads the bucket), then writes the headers and `extensions.cost`. */
  respond(requestContext: GraphQLRequestContextWillSendResponse<RequestContext>): Promise<void> {
    const { contextValue: ctx, response, document, operation, schema } = requestContext;
    const body = response.body.kind === "single" ? response.body.singleResult : undefined;
    // Refused before it was charged (invalid, over a cap, an edition's feature): it cost nothing, and
    // the response still says where the bucket stands.
    const settled = !ctx.rateLimit
      ? this.limiter.nothing(ctx.principal, ctx.clientIp).then((charge) => void (ctx.rateLimit = charge))
      : document && operation && body
        ? this.settle(ctx, schema, document, operation, body)
        : Promise.resolve();
    return settled.then(() => {
      const charge = ctx.rateLimit!;
      for (const [name, value] of Object.entries(rateLimitHeaders(charge))) response.http.headers.set(name, value);
      if (body) body.extensions = { ...body.extensions, cost: costExtension(charge) };
    });
  }
}

/** The THROTTLED (or LIMIT_EXCEEDED) refusal as the GraphQLError Apollo answers, with `Retry-After` when waiting helps. */
function refusal(e: DomainError): GraphQLError {
  const headers = new HeaderMap();
  if (e.details.retryAfter !== undefined) headers.set("retry-after", String(e.details.retryAfter));
  // THROTTLED: 429. A document costing more than the whole bucket is refused like the document caps: 400.
  const status = e.code === "LIMIT_EXCEEDED" ? 400 : httpStatus(e.code);
  return new GraphQLError(e.message, { originalError: e, extensions: { code: e.code, http: { status, headers } } });
}
