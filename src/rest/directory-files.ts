import { Router, type Request, type Response } from "express";
import { RequestContext, type AppDeps } from "../context";
import { DomainError, badInput } from "../errors/domain-error";
import { sendHttpError } from "../errors/http";
import { bearerToken } from "../auth/oauth-types";
import { ImportMode } from "../domain/enums";
import { FailedImport } from "../services/import.service";
import { requireFeature, requireScopes } from "../policy/require";
import type { Scope } from "../policy/scopes";
import { Feature } from "../domain/editions";
import { chargeOf } from "../ratelimit/rate-limiter";
import { rateLimitHeaders } from "../ratelimit/headers";

/**
 * What each route needs, as GraphQL fields declare it: its scopes (`@Authorized(...)`: the import
 * writes the directory, the export reads it), its feature (`@RequiresFeature`, the same feature
 * as `importMembers` and `exportMembers`), and what it is charged to the caller's bucket (like a
 * mutation: a download is one call, however large the file).
 */
/** A call to a route costs what a mutation does (`MUTATION_WEIGHT` of the schema's cost vocabulary). */
const ROUTE_COST = 10;

const ROUTES = {
  "POST /imports": { scopes: ["directory:write"], feature: Feature.BULK_IMPORT, cost: ROUTE_COST },
  "GET /exports/:id": { scopes: ["directory:read"], feature: Feature.EXPORTS, cost: ROUTE_COST },
} as const satisfies Record<string, { scopes: readonly Scope[]; feature: Feature; cost: number }>;

/**
 * The request context of a bearer token whose principal may use the route (required: these
 * endpoints have no anonymous use): UNAUTHENTICATED without a valid token; EDITION_REQUIRED when
 * the corp's edition lacks the route's feature (checked first, as GraphQL refuses such a field
 * before it runs); FORBIDDEN naming the missing scope (the policy's `requireScopes`, the check
 * behind `@Authorized`).
 */
async function authorize(deps: AppDeps, req: Request, res: Response, route: keyof typeof ROUTES): Promise<RequestContext> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new DomainError("UNAUTHENTICATED", "Send `Authorization: Bearer <token>`.");
  // With the client's address: the app's allowed IP ranges apply here as on /graphql.
  const principal = await deps.tokens.authenticate(token, req.ip);
  requireFeature(principal, ROUTES[route].feature, `\`${route}\``);
  requireScopes(principal, ROUTES[route].scopes);
  const ctx = new RequestContext(deps, principal, String(res.locals.requestId));
  ctx.clientIp = req.ip;
  // Charged like GraphQL operations (THROTTLED: 429 with Retry-After), the headers on every answer.
  try {
    ctx.rateLimit = await deps.rateLimiter.charge(principal, req.ip, ROUTES[route].cost);
  } catch (e) {
    const charge = chargeOf(e);
    if (charge) res.set(rateLimitHeaders(charge));
    if (e instanceof DomainError && e.details.retryAfter !== undefined) res.setHeader("retry-after", String(e.details.retryAfter));
    throw e;
  }
  res.set(rateLimitHeaders(ctx.rateLimit));
  return ctx;
}

function queryFlag(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw badInput(field, `${field} must be true or false.`);
}

/**
 * The directory's file endpoints (issue 4):
 * - `POST /imports?mode=UPSERT|REPLACE[&dryRun=true][&maxResignRatio=0.3]` with a `text/csv` body of
 *   any size: the body streams into the job; answers `202 {"job": {"id": "…"}}` once it is read
 *   (then follow the job with `importJob(id)`), 400 for a body that is not the CSV format (naming
 *   the row; with the failed job's id), 408 for an upload that sends less than 16 KiB in
 *   `IMPORT_IDLE_TIMEOUT_SECONDS` (the job FAILED, the corp's import lock released), 409 while
 *   another import of the corp runs.
 * - `GET /exports/:id`: the CSV of an export made with `exportMembers`.
 * Both need the PROFESSIONAL edition (403 EDITION_REQUIRED, see `ROUTES`).
 */
export function directoryFileRoutes(deps: AppDeps): Router {
  const router = Router();

  router.post("/imports", async (req, res) => {
    try {
      const ctx = await authorize(deps, req, res, "POST /imports");
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "text/csv") throw badInput("content-type", "Send the file as the body with `Content-Type: text/csv`.");
      const mode = String(req.query.mode ?? "").toUpperCase() as ImportMode;
      if (!Object.values(ImportMode).includes(mode)) throw badInput("mode", "Give ?mode=UPSERT or ?mode=REPLACE.");
      let maxResignRatio: number | undefined;
      if (req.query.maxResignRatio !== undefined) {
        maxResignRatio = Number(req.query.maxResignRatio);
        if (String(req.query.maxResignRatio).trim() === "" || !Number.isFinite(maxResignRatio))
          throw badInput("maxResignRatio", "maxResignRatio must be a number from 0 to 1.");
      }
      const dryRun = queryFlag(req.query.dryRun, "dryRun");
      const id = await ctx.services.imports.importStream(ctx, { mode, dryRun, maxResignRatio }, req);
      res.status(202).json({ job: { id } });
    } catch (e) {
      if (e instanceof FailedImport && e.stalled) {
        // The client may still be sending (slowly): answer, then close the connection.
        res.setHeader("connection", "close");
        res.status(408).json({ errors: [{ message: e.message, extensions: { code: e.code, ...e.details } }], job: { id: e.jobId } });
        return;
      }
      sendHttpError(res, e, e instanceof FailedImport ? { job: { id: e.jobId } } : {});
    }
  });

  router.get("/exports/:id", async (req, res) => {
    try {
      const ctx = await authorize(deps, req, res, "GET /exports/:id");
      await ctx.services.exports.write(ctx, String(req.params.id), res, () => {
        res.status(200);
        res.setHeader("content-type", "text/csv; charset=utf-8");
        res.setHeader("content-disposition", `attachment; filename="members-${new Date().toISOString().slice(0, 10)}.csv"`);
        res.setHeader("cache-control", "no-store");
      });
      res.end();
    } catch (e) {
      sendHttpError(res, e);
    }
  });

  return router;
}
