import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { ApolloServer } from "@apollo/server";
import type Redis from "ioredis";
import { expressMiddleware } from "@as-integrations/express5";
import { RequestContext, type AppDeps } from "../context";
import { bearerToken } from "../auth/oauth-types";
import type { Principal } from "../policy/principal";
import { DomainError, limitExceeded } from "../errors/domain-error";
import { formatError } from "../errors/format";
import { sendHttpError } from "../errors/http";
import { checkDocumentSize, type DocumentLimits } from "../limits/document-limits";
import { PLAYGROUND_HEADERS, playgroundHtml } from "../playground";

/** Gives every request an id (`x-request-id`, and `res.locals.requestId` for the log and errors). */
export function requestIds(_req: Request, res: Response, next: NextFunction): void {
  const requestId = randomUUID();
  res.setHeader("x-request-id", requestId);
  res.locals.requestId = requestId;
  next();
}

/** `/healthz` (the process answers), `/readyz` (it can serve: not draining, database reachable), JWKS. */
export function healthRoutes(deps: AppDeps, draining: () => boolean): Router {
  const router = express.Router();
  router.get("/favicon.ico", (_req, res) => void res.status(204).end());
  router.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  // Redis is optional for serving (the buckets and throttles fall back to memory): reported, never a 503.
  router.get("/readyz", async (_req, res) => {
    if (draining()) return void res.status(503).json({ status: "draining" });
    const redis = redisState(deps.redis, deps.redisSubscriber);
    try {
      await deps.pool.query("SELECT 1");
      res.json({ status: "ready", database: "ok", redis: await redis });
    } catch {
      res.status(503).json({ status: "database unavailable", database: "unavailable", redis: await redis });
    }
  });
  router.get("/.well-known/jwks.json", async (_req, res) => {
    res.setHeader("cache-control", "public, max-age=300");
    res.json(await deps.tokens.jwks());
  });
  return router;
}

/**
 * Redis as `/readyz` reports it: `disabled` without `REDIS_URL`, `ok` when it answers a PING within
 * the connection's command timeout and the event bus's subscriber is connected, else `degraded`
 * (rate limits and throttles count per instance, other instances' events arrive at the next poll).
 */
async function redisState(redis: Redis | undefined, subscriber: Redis | undefined): Promise<"disabled" | "ok" | "degraded"> {
  if (!redis) return "disabled";
  if (redis.status !== "ready" || (subscriber && subscriber.status !== "ready")) return "degraded";
  try {
    await redis.ping();
    return "ok";
  } catch {
    return "degraded";
  }
}

/**
 * `/graphql` over HTTP, in order: a browser asking for a page gets the playground; a bearer token
 * that is present but invalid is refused outright (401); the body is read (6 MB with a token, 64 KB
 * without; it must be UTF-8); the document's own size is capped far lower; then Apollo.
 */
export function graphqlRoute(deps: AppDeps, apollo: ApolloServer<RequestContext>, limits: DocumentLimits): express.RequestHandler[] {
  const { config, tokens } = deps;
  // A body that is not valid UTF-8 is refused (express.json would turn the bad bytes into U+FFFD
  // and store them in names and imports); answered as an unsupported charset by `errorHandler`.
  const verify = (_req: Request, _res: Response, body: Buffer) => {
    if (!isUtf8(body)) throw Object.assign(new Error("invalid utf-8"), { type: "charset.unsupported" });
  };
  const authenticatedBody = express.json({ limit: "6mb", verify });
  const anonymousBody = express.json({ limit: "64kb", verify });
  return [
    (req, res, next) => {
      if (config.playground && req.method === "GET" && req.accepts(["application/json", "application/graphql-response+json", "text/html"]) === "text/html") {
        res.set(PLAYGROUND_HEADERS).type("html").send(playgroundHtml("/graphql"));
        return;
      }
      next();
    },
    async (req, res, next) => {
      const header = req.headers.authorization;
      if (!header) return next();
      const token = bearerToken(header);
      try {
        if (!token) throw new DomainError("UNAUTHENTICATED", "The Authorization header must be `Bearer <token>`.");
        res.locals.principal = await tokens.authenticate(token, req.ip);
        next();
      } catch (e) {
        if (!(e instanceof DomainError)) return next(e);
        sendHttpError(res, e);
      }
    },
    // 6 MB for a caller with a token: the `csv` of importMembers may be 5 MB (larger files go to
    // POST /imports). Without a token there is nothing to send but a small document: 64 KB.
    (req, res, next) => (res.locals.principal ? authenticatedBody : anonymousBody)(req, res, next),
    (req, res, next) => {
      try {
        checkDocumentSize(req.method === "GET" ? req.query.query : (req.body as { query?: unknown } | undefined)?.query, limits, !res.locals.principal);
        next();
      } catch (e) {
        if (!(e instanceof DomainError)) return next(e);
        const legacy = !(req.headers.accept ?? "").includes("application/graphql-response+json");
        res.status(legacy ? 200 : 400).json({ errors: [formatError(e, res.locals.requestId as string)] });
      }
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const ctx = new RequestContext(deps, (res.locals.principal as Principal | undefined) ?? null, res.locals.requestId as string);
        ctx.clientIp = req.ip;
        return ctx;
      },
    }),
  ];
}

/** Everything that matched no route answers NOT_FOUND in JSON. */
export function notFound(_req: Request, res: Response): void {
  sendHttpError(res, new DomainError("NOT_FOUND", "No such endpoint. The API is at POST /graphql."));
}

/** Errors outside GraphQL (an oversized or malformed body, …) answer in JSON, never as a stack trace. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const e = err as { type?: string; status?: number; limit?: number };
  if (e?.type === "entity.too.large" && !req.path.startsWith("/oauth/")) {
    const tooLarge = limitExceeded(`The request body is too large: at most ${e.limit} bytes${res.locals.principal ? "" : " without an access token"}.`, {
      limit: "body",
      maximum: e.limit ?? 0,
    });
    return void res.status(413).json({ errors: [formatError(tooLarge, res.locals.requestId as string)] });
  }
  const message =
    e?.type === "entity.too.large"
      ? "The request body is too large."
      : e?.type === "charset.unsupported" || e?.type === "encoding.unsupported"
        ? "The request body must be utf-8, optionally gzip, deflate or br encoded."
        : e?.type === "entity.parse.failed"
          ? "The request body is not valid JSON."
          : e?.status === 400
            ? "The request body could not be read."
            : undefined;
  if (message === undefined) return sendHttpError(res, err);
  // The OAuth endpoints answer in the OAuth error format (RFC 6749 §5.2), the rest in GraphQL's.
  if (req.path.startsWith("/oauth/")) return void res.status(400).json({ error: "invalid_request", error_description: message });
  sendHttpError(res, new DomainError("BAD_USER_INPUT", message));
}
