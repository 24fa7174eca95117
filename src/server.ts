import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { CloseCode, MessageType, stringifyMessage } from "graphql-ws";
import { GraphQLError } from "graphql";
import type { DataSource } from "typeorm";
import type { Config } from "./config";
import { RequestContext, type AppDeps } from "./context";
import { poolOf } from "./db/data-source";
import { createEventBus } from "./events/bus";
import { EventLog } from "./events/log";
import { CrossCorpDb } from "./db/cross-corp";
import { EventRelay } from "./events/relay";
import { bearerToken, TokenService } from "./auth/tokens";
import { sendHttpError } from "./errors/http";
import { oauthRouter } from "./auth/oidc";
import { securityHeaders } from "./auth/pages";
import { SsoService } from "./auth/sso";
import type { Principal } from "./policy/principal";
import { createServices } from "./services";
import { directoryFileRoutes } from "./rest/directory-files";
import { buildWorkgraphSchema } from "./schema/build";
import { DomainError } from "./errors/domain-error";
import { asGraphQLError, formatError } from "./errors/format";
import { checkDocumentSize, checkOperation, documentLimits, limitExceeded, prepareOperation } from "./limits/document-limits";
import { PLAYGROUND_HEADERS, playgroundAssets, playgroundHtml } from "./playground";
import { log } from "./log";

/** Request header that adds `extensions.diagnostics` (SQL statement count) to a response. */
export const DIAGNOSTICS_HEADER = "x-workgraph-debug";

/** Apollo's codes for a document that fails to parse or validate, or variables that fail to coerce. */
const DOCUMENT_ERROR_CODES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "LIMIT_EXCEEDED"]);

/**
 * The request id of each error Apollo is about to format (recorded in `didEncounterErrors`, which
 * sees the request's context): `formatError` itself gets no context. Not an AsyncLocalStorage:
 * that would put async hooks on every promise of every request.
 */
const errorRequestIds = new WeakMap<object, string>();

export interface Gateway {
  deps: AppDeps;
  httpServer: http.Server;
  /** Listens on `port` (0: any free port); resolves with the actual port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting work, drains in-flight requests and subscriptions, closes the database. */
  stop(): Promise<void>;
}


/**
 * Builds the gateway on a migrated database: GraphQL over HTTP (Apollo Server on Express) and
 * over WebSocket (graphql-ws) on one port, the OAuth token endpoint, JWKS, health checks and the
 * playground.
 */
/** The process-wide parts on a migrated database (also used by the CLI). */
export async function createDeps(config: Config, dataSource: DataSource): Promise<AppDeps> {
  const pool = poolOf(dataSource);
  const bus = createEventBus();
  const relay = new EventRelay(pool, dataSource, bus);
  const tokens = new TokenService(pool, config);
  await tokens.init();
  return {
    config,
    dataSource,
    pool,
    crossCorp: new CrossCorpDb(pool),
    bus,
    events: new EventLog(bus),
    relay,
    tokens,
    services: createServices(pool, dataSource),
  };
}

export async function createGateway(config: Config, dataSource: DataSource): Promise<Gateway> {
  const deps = await createDeps(config, dataSource);
  const { pool, bus, tokens } = deps;
  // Import jobs left QUEUED or RUNNING by a gateway that died are marked FAILED (now and every minute).
  deps.services.imports.startRecovery();
  const schema = await buildWorkgraphSchema(bus);
  const limits = documentLimits(config);

  const app = express();
  app.disable("x-powered-by");
  // API answers are `no-store`: an ETag (a SHA-1 of every body) would cost a hash per request for nothing.
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);
  app.use(securityHeaders); // nosniff, no framing, a default CSP on every response (issue 11, finding 12)
  const httpServer = http.createServer(app);
  let draining = false;

  // graphql-ws on the same path. `connection_init` must carry a valid token (else 4403 at once), and
  // every operation on the socket is authorised again, like an HTTP request (issue 11): a token that
  // expired, was revoked, or whose app or member was disabled meanwhile gets UNAUTHENTICATED and the
  // socket is closed with 4403. Frames are capped at `wsMaxPayloadBytes` (ws's default is 100 MiB).
  // `noServer`: the WebSocket server takes upgrades only, so an HTTP server error (a busy port) is
  // not re-emitted on it (graphql-ws would log it as an internal error with a stack trace).
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: config.wsMaxPayloadBytes });
  httpServer.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://gateway").pathname !== "/graphql") return void socket.destroy();
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      // ws closes a socket whose message exceeds maxPayload itself (1009); graphql-ws would log that
      // client's mistake as an internal error with a stack trace, so any client could fill the log.
      const emit = ws.emit.bind(ws);
      ws.emit = (event: string | symbol, ...rest: unknown[]) =>
        event === "error" && (rest[0] as { code?: string } | undefined)?.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? true : emit(event, ...rest);
      wsServer.emit("connection", ws, req);
    });
  });
  type WsExtra = { principal?: Principal; token?: string; ip?: string };
  /** The client address of a WebSocket upgrade, by express's `trust proxy` rules (as `req.ip`). */
  const clientIp = (socketAddress: string | undefined, forwarded: string | string[] | undefined): string | undefined => {
    const trust = app.get("trust proxy fn") as (addr: string, i: number) => boolean;
    const hops = [socketAddress ?? "", ...String(forwarded ?? "").split(",").map((a) => a.trim()).filter(Boolean).reverse()];
    let i = 0;
    while (i < hops.length - 1 && trust(hops[i], i)) i++;
    return hops[i] || undefined;
  };
  const wsCleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const token = bearerToken(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        if (!token) return false;
        ctx.extra.ip = clientIp(ctx.extra.request.socket.remoteAddress, ctx.extra.request.headers["x-forwarded-for"]);
        try {
          ctx.extra.principal = await tokens.authenticate(token, ctx.extra.ip);
          ctx.extra.token = token;
          return true;
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        // Before any await: ctx.subscriptions then holds the operations received so far, this one
        // included (a burst of subscribe messages is counted in order, not all at once).
        if (Object.keys(ctx.subscriptions).length > config.wsMaxOperations) {
          const max = config.wsMaxOperations;
          return [asGraphQLError(limitExceeded("operations", max, undefined, `At most ${max} operations may run at once on one connection; complete one first.`))];
        }
        const { token, ip } = ctx.extra;
        const requestId = randomUUID();
        if (!token) return [asGraphQLError(new DomainError("UNAUTHENTICATED", "The connection has no access token."))];
        try {
          ctx.extra.principal = await tokens.authenticate(token, ip);
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          // The refusal is queued first, then the close frame (ws writes both in that order); graphql-ws's
          // own send of the returned errors is then skipped, the socket being no longer open.
          const refusal = stringifyMessage({ id, type: MessageType.Error, payload: [formatError(e, requestId)] });
          ctx.extra.socket.send(refusal);
          ctx.extra.socket.close(CloseCode.Forbidden, "Forbidden");
          return [asGraphQLError(e)];
        }
        try {
          const prepared = prepareOperation(schema, payload, true, limits);
          if ("errors" in prepared) return prepared.errors;
          const recheck = () => tokens.authenticate(token, ip);
          return {
            schema,
            document: prepared.document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: new RequestContext(deps, ctx.extra.principal, requestId, undefined, recheck),
          };
        } catch (e) {
          if (e instanceof DomainError) return [asGraphQLError(e)];
          if (e instanceof GraphQLError) return [e];
          throw e;
        }
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return result;
        const requestId = (args.contextValue as RequestContext).requestId;
        return { ...result, errors: result.errors.map((e) => formatError(e, requestId)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e, randomUUID())),
    },
    wsServer,
  );

  const plugins: ApolloServerPlugin<RequestContext>[] = [
    ApolloServerPluginDrainHttpServer({ httpServer }),
    { serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) },
    ApolloServerPluginLandingPageDisabled(),
    // The cache-control plugin wraps every field resolver to collect hints; the schema has none, so
    // every response is `no-store`, which the plugin below sets directly.
    ApolloServerPluginCacheControlDisabled(),
    {
      // Document caps (issue 11): after validation, before any resolver or SQL runs.
      requestDidStart: async () => ({
        didResolveOperation: async ({ document, request, contextValue, schema: executable }) => {
          try {
            checkOperation(executable, document, request.operationName, request.variables, contextValue.principal !== null, limits);
          } catch (e) {
            if (e instanceof DomainError) throw asGraphQLError(e, e.code === "UNAUTHENTICATED" ? 401 : 400);
            throw e;
          }
        },
      }),
    },
    {
      // graphql-http audits: a JSON request whose document fails to parse or validate should get
      // 200 with the errors when the client accepts only application/json (the legacy format).
      requestDidStart: async () => ({
        didEncounterErrors: async ({ errors, contextValue }) => {
          for (const error of errors) errorRequestIds.set(error, contextValue.requestId);
        },
        willSendResponse: async ({ response, request, contextValue, errors }) => {
          if (!response.http.headers.has("cache-control")) response.http.headers.set("cache-control", "no-store");
          // Apollo negotiates the content-type only after this hook: without one yet, the legacy
          // format is what a client gets when it does not accept application/graphql-response+json.
          const type = response.http.headers.get("content-type");
          const legacy = type ? type.startsWith("application/json") : !(request.http?.headers.get("accept") ?? "").includes("application/graphql-response+json");
          const documentErrors = Boolean(errors?.length) && errors!.every((e) => DOCUMENT_ERROR_CODES.has(String(e.extensions?.code)));
          if (response.http.status === 400 && legacy && documentErrors) response.http.status = 200;
          if (request.http?.headers.get(DIAGNOSTICS_HEADER) === "sql" && response.body.kind === "single") {
            response.body.singleResult.extensions = {
              ...response.body.singleResult.extensions,
              diagnostics: { sqlStatements: contextValue.stats.statements },
            };
          }
        },
      }),
    },
  ];

  const apollo = new ApolloServer<RequestContext>({
    schema,
    plugins,
    csrfPrevention: true,
    // main.ts owns the signals: it drains, then closes the database and the embedded server.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // graphql-js stops reading a document at this many tokens (a LIMIT_EXCEEDED, see formatError).
    parseOptions: { maxTokens: limits.maxTokens },
    formatError: (_formatted, error) => formatError(error, (error !== null && typeof error === "object" && errorRequestIds.get(error)) || randomUUID()),
  });
  await apollo.start();

  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = randomUUID();
    res.setHeader("x-request-id", requestId);
    res.locals.requestId = requestId;
    next();
  });

  app.get("/favicon.ico", (_req, res) => void res.status(204).end());
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    if (draining) return void res.status(503).json({ status: "draining" });
    try {
      await pool.query("SELECT 1");
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "database unavailable" });
    }
  });
  app.get("/.well-known/jwks.json", async (_req, res) => {
    res.setHeader("cache-control", "public, max-age=300");
    res.json(await tokens.jwks());
  });

  // OAuth 2.0 and OpenID Connect (issue 5): discovery, authorize + sign-in page, token (client
  // credentials, authorization code, refresh token), userinfo, revoke, introspect, activation.
  const oauth = oauthRouter(config, tokens, new SsoService(pool, config, tokens, deps.events));
  app.use(oauth);

  if (config.playground) {
    app.use("/playground", playgroundAssets());
  }

  // A body that is not valid UTF-8 is refused (express.json would turn the bad bytes into U+FFFD
  // and store them in names and imports); answered as an unsupported charset below.
  const verify = (_req: Request, _res: Response, body: Buffer) => {
    if (!isUtf8(body)) throw Object.assign(new Error("invalid utf-8"), { type: "charset.unsupported" });
  };
  const authenticatedBody = express.json({ limit: "6mb", verify });
  const anonymousBody = express.json({ limit: "64kb", verify });
  app.use(
    "/graphql",
    // A browser asking for a page gets the playground; API clients get GraphQL.
    (req: Request, res: Response, next: NextFunction) => {
      if (config.playground && req.method === "GET" && req.accepts(["application/json", "application/graphql-response+json", "text/html"]) === "text/html") {
        res.set(PLAYGROUND_HEADERS).type("html").send(playgroundHtml("/graphql"));
        return;
      }
      next();
    },
    // Bearer authentication: a token that is present but invalid is refused outright (401).
    async (req: Request, res: Response, next: NextFunction) => {
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
    (req: Request, res: Response, next: NextFunction) => (res.locals.principal ? authenticatedBody : anonymousBody)(req, res, next),
    // The document's own size is capped far lower than the body (variables carry the data).
    (req: Request, res: Response, next: NextFunction) => {
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
      context: async ({ res }) => new RequestContext(deps, (res.locals.principal as Principal | undefined) ?? null, res.locals.requestId as string),
    }),
  );

  // POST /imports (CSV bodies of any size) and GET /exports/:id (issue 4).
  app.use(directoryFileRoutes(deps));

  // Everything else, and errors outside GraphQL (e.g. a malformed JSON body), answer in JSON.
  app.use((_req: Request, res: Response) => {
    sendHttpError(res, new DomainError("NOT_FOUND", "No such endpoint. The API is at POST /graphql."));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; limit?: number };
    if (e?.type === "entity.too.large" && !req.path.startsWith("/oauth/")) {
      const tooLarge = limitExceeded("body", e.limit ?? 0, undefined, `The request body is too large: at most ${e.limit} bytes${res.locals.principal ? "" : " without an access token"}.`);
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
  });

  return {
    deps,
    httpServer,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => resolve((httpServer.address() as AddressInfo).port));
      }),
    stop: async () => {
      draining = true;
      await apollo.stop();
      await oauth.close();
      await deps.services.imports.shutdown();
      if (dataSource.isInitialized) await dataSource.destroy();
      log.info("gateway stopped");
    },
  };
}
