import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Pool } from "pg";
import type { DataSource } from "typeorm";
import type { Config } from "./config";
import type { AppDeps } from "./context";
import { poolOf } from "./db/data-source";
import { CrossCorpDb } from "./db/cross-corp";
import { busSubscriber, createEventBus } from "./events/bus";
import { EventLog } from "./events/log";
import { EventRelay } from "./events/relay";
import { TokenService } from "./auth/tokens";
import { oauthRouter } from "./auth/oidc";
import { securityHeaders } from "./auth/pages";
import { SsoService } from "./auth/sso";
import { createServices } from "./services";
import { directoryFileRoutes } from "./rest/directory-files";
import { groupBotHookRoutes } from "./rest/group-bot-hooks";
import { buildWorkgraphSchema } from "./schema/build";
import { documentLimits } from "./limits/document-limits";
import { playgroundAssets } from "./playground";
import { startApollo } from "./http/apollo";
import { clientIpResolver } from "./http/client-ip";
import { errorHandler, graphqlRoute, healthRoutes, notFound, requestIds } from "./http/routes";
import { attachWebSocket } from "./http/websocket";
import { log } from "./log";
import { Metrics } from "./metrics/metrics";
import { metricsEndpoint } from "./metrics/endpoint";
import { throttleRedis } from "./ratelimit/ip-throttle";
import { MemoryBuckets, ResilientBuckets } from "./ratelimit/bucket";
import { RateLimiter } from "./ratelimit/rate-limiter";
import { RateLimits } from "./http/rate-limits";

export { DIAGNOSTICS_HEADER } from "./http/apollo";

export interface Gateway {
  deps: AppDeps;
  httpServer: http.Server;
  /** Listens on `port` (0: any free port); resolves with the actual port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting work, drains in-flight requests and subscriptions, closes the database. */
  stop(): Promise<void>;
}

/** The process-wide parts on a migrated database (also used by the CLI). */
export async function createDeps(config: Config, dataSource: DataSource): Promise<AppDeps> {
  const pool = poolOf(dataSource);
  const redis = config.redisUrl ? throttleRedis(config.redisUrl) : undefined;
  const prefix = await deploymentKey(pool);
  const redisSubscriber = config.redisUrl ? busSubscriber(config.redisUrl) : undefined;
  const bus = createEventBus(redis && redisSubscriber ? { publisher: redis, subscriber: redisSubscriber, channel: `workgraph:events:${prefix}` } : undefined);
  const relay = new EventRelay(pool, dataSource, bus);
  const crossCorp = new CrossCorpDb(pool);
  const metrics = new Metrics({ pool, crossCorp });
  relay.onLag((seconds) => metrics.observeRelayLag(seconds));
  metrics.watchRelay(() => relay.activeCorps);
  const tokens = new TokenService(pool, config);
  await tokens.init();
  return {
    redis,
    redisSubscriber,
    rateLimiter: new RateLimiter(redis ? new ResilientBuckets(redis, `workgraph:bucket:${prefix}:`) : new MemoryBuckets(), config.rateLimitScale),
    config,
    dataSource,
    pool,
    crossCorp,
    bus,
    events: new EventLog(bus),
    relay,
    tokens,
    services: createServices(pool, dataSource),
    metrics,
  };
}

/**
 * This deployment's part of Redis key and channel names: its database's id (migration Deployment).
 * Gateways on the same database share buckets and event notifications however they reach
 * PostgreSQL; gateways of other deployments sharing one Redis (or parallel test runs) do not.
 */
async function deploymentKey(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text FROM deployment`);
  if (!rows[0]) throw new Error("the deployment table has no row: run the migrations");
  return rows[0].id;
}

/**
 * Builds the gateway on a migrated database: GraphQL over HTTP (Apollo Server on Express) and over
 * WebSocket (graphql-ws) on one port, the OAuth and OpenID Connect endpoints, JWKS, health checks,
 * the directory file routes and the playground. Each part is built in `http/`, `auth/` or `rest/`;
 * this function only composes them, in the order requests meet them.
 */
export async function createGateway(config: Config, dataSource: DataSource): Promise<Gateway> {
  const deps = await createDeps(config, dataSource);
  // Import jobs left QUEUED or RUNNING by a gateway that died are marked FAILED (now and every minute).
  deps.services.imports.startRecovery();
  // Messages older than 90 days are purged (now and every hour; one instance at a time).
  deps.services.messageRetention.start();
  const schema = await buildWorkgraphSchema(deps.bus);
  const limits = documentLimits(config);
  let draining = false;

  const app = express();
  app.disable("x-powered-by");
  // API answers are `no-store`: an ETag (a SHA-1 of every body) would cost a hash per request for nothing.
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);
  app.use(securityHeaders); // nosniff, no framing, a default CSP on every response (issue 11, finding 12)
  const httpServer = http.createServer(app);
  const rateLimits = new RateLimits(deps.rateLimiter);
  const webSocket = attachWebSocket(httpServer, { schema, deps, limits, rateLimits, clientIp: clientIpResolver(app) });
  deps.metrics.watchWebSocket(webSocket.stats);
  const apollo = await startApollo(schema, httpServer, limits, rateLimits, webSocket.dispose, deps.metrics);

  app.use(requestIds);
  app.use(healthRoutes(deps, () => draining));
  // Prometheus metrics (issue 13): loopback, METRICS_ALLOW_NETWORKS or METRICS_TOKEN, else 403.
  app.get("/metrics", metricsEndpoint(deps.metrics, config));
  // OAuth 2.0 and OpenID Connect (issue 5): discovery, authorize + sign-in page, token (client
  // credentials, authorization code, refresh token), userinfo, revoke, introspect, activation.
  const oauth = oauthRouter(config, deps.tokens, new SsoService(deps.pool, config, deps.tokens, deps.events), deps.redis);
  app.use(oauth);
  if (config.playground) app.use("/playground", playgroundAssets());
  app.use("/graphql", ...graphqlRoute(deps, apollo, limits));
  // POST /imports (CSV bodies of any size) and GET /exports/:id (issue 4).
  app.use(directoryFileRoutes(deps));
  // POST /hooks/bots/:key: group robots post into their group, in WeCom's format (issue 14, item 7).
  app.use(groupBotHookRoutes(deps));
  app.use(notFound);
  app.use(errorHandler);

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
      // At once: no reconnection timer left behind; bucket calls in flight are moot now.
      deps.redis?.disconnect();
      deps.redisSubscriber?.disconnect();
      await deps.services.imports.shutdown();
      await deps.services.messageRetention.stop();
      if (dataSource.isInitialized) await dataSource.destroy();
      log.info("gateway stopped");
    },
  };
}
