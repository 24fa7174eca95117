import { getOperationAST, validate, type GraphQLSchema } from "graphql";
import type { RequestContext } from "../context";
import { EDITION_LIMITS, MEMBER_SUBSCRIPTIONS } from "../domain/editions";
import type { Edition } from "../domain/enums";
import { DomainError } from "../errors/domain-error";
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
  async view(ctx: RequestContext, schema: GraphQLSchema, dryRun: string | null | undefined): Promise<RateLimitView> {
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
    let requestedQueryCost = 0;
    let refusal: string | null = null;
    try {
      const limits = documentLimits(ctx.deps.config);
      const document = parseDocument(dryRun, limits);
      const errors = validate(schema, document);
      if (errors.length) throw new DomainError("BAD_USER_INPUT", errors[0].message);
      if (!getOperationAST(document, null)) throw new DomainError("BAD_USER_INPUT", "The document must hold exactly one operation.");
      requestedQueryCost = checkOperation(schema, document, null, {}, principal, limits).cost;
      if (requestedQueryCost > status.maximumAvailable) {
        refusal = `LIMIT_EXCEEDED: it costs ${requestedQueryCost} points; the bucket holds at most ${status.maximumAvailable}.`;
      }
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      refusal = `${e.code}: ${e.message}`;
      if (e.code === "LIMIT_EXCEEDED" && e.details.limit === "cost" && e.details.actual !== undefined) requestedQueryCost = e.details.actual;
    }
    view.dryRun = { requestedQueryCost, affordableNow: refusal === null && requestedQueryCost <= status.currentlyAvailable, refusal };
    return view;
  }
}
