import type { Pool } from "pg";
import type { DataSource } from "typeorm";
import type { Config } from "./config";
import type { Principal } from "./policy/principal";
import { CorpDb, type DbStats } from "./db/scoped-db";
import type { CrossCorpDb } from "./db/cross-corp";
import { transaction, type Tx } from "./db/transaction";
import type { EventLog, PendingEvent, StreamName } from "./events/log";
import { createLoaders, type Loaders } from "./services/loaders";
import { limitExceeded, unauthenticated } from "./errors/domain-error";
import type { ListItemBudget } from "./limits/list-items";
import type { EventBus } from "./events/bus";
import type { EventRelay } from "./events/relay";
import type { Services } from "./services";
import type { TokenService } from "./auth/tokens";
import type { RateLimitCharge } from "./ratelimit/types";
import type { Metrics } from "./metrics/metrics";
import type { RateLimiter } from "./ratelimit/rate-limiter";
import type Redis from "ioredis";

/** Process-wide parts, built once in `server.ts`. */
export interface AppDeps {
  config: Config;
  dataSource: DataSource;
  pool: Pool;
  /** The labelled handle for the few statements that must cross corps (see `db/cross-corp.ts`). */
  crossCorp: CrossCorpDb;
  bus: EventBus;
  events: EventLog;
  relay: EventRelay;
  tokens: TokenService;
  services: Services;
  /** The Prometheus metrics served on `GET /metrics` (issue 13). */
  metrics: Metrics;
  /** The query-cost buckets and concurrent-subscription slots (issue 13). */
  rateLimiter: RateLimiter;
  /** The Redis connection of the buckets and throttles, when `REDIS_URL` is set (fails fast: see `throttleRedis`). */
  redis: Redis | undefined;
  /** The event bus's Redis subscriber connection (notifications from other instances), with `REDIS_URL`. */
  redisSubscriber: Redis | undefined;
}

/**
 * The request context every service method takes first: who calls, the corp-scoped database
 * handle (joined to the open transaction, if any), the per-request DataLoaders.
 */
export class RequestContext implements ListItemBudget {
  readonly stats: DbStats = { statements: 0 };
  /** Items the plain lists of this request returned so far (see `limits/list-items.ts`). */
  private listItems = 0;
  /** This request's DataLoaders, made on first use (see `loaders`); undefined until then and after a reset. */
  private currentLoaders: Loaders | undefined = undefined;
  /** The open transaction of this request, if any (see `transaction`). */
  tx: Tx | null = null;
  /** The caller's address (the anonymous caller's bucket is its IP's); set by the transport. */
  clientIp: string | undefined = undefined;
  /** What the rate limiter charged this operation (issue 13); null until charged, or when it was not. */
  rateLimit: RateLimitCharge | null = null;

  constructor(
    readonly deps: AppDeps,
    public principal: Principal | null,
    readonly requestId: string,
    /** Why the presented token was refused (WebSocket connections carry it to each operation). */
    private readonly authError?: Error,
    /**
     * Re-checks the token behind a long-lived context (a subscription): expiry, the app still
     * enabled and granted, the member still active; updates `principal` or throws UNAUTHENTICATED.
     */
    private readonly recheck?: () => Promise<Principal>,
  ) {}

  /**
   * The per-request DataLoaders, made on first use and kept until `resetLoaders` or a transaction
   * renews them: the same object meanwhile (services key their own per-request loaders by it). A
   * context that never resolves a field (a subscriber's, which the fan-out executes with contexts of
   * its own) never makes any: eight loaders and their closures were ~6 KiB per idle subscription.
   */
  get loaders(): Loaders {
    return (this.currentLoaders ??= createLoaders(this));
  }

  get services(): Services {
    return this.deps.services;
  }

  /** The authenticated principal, or UNAUTHENTICATED. */
  get caller(): Principal {
    if (!this.principal) throw this.authError ?? unauthenticated();
    return this.principal;
  }

  /** The corp-scoped database: the transaction's connection inside a mutation, the pool otherwise. */
  get db(): CorpDb {
    return this.tx?.db ?? new CorpDb(this.caller.corpId, this.deps.pool, this.stats);
  }

  /** Fresh DataLoaders (a long-lived subscription resolves each event with current data). */
  resetLoaders(): void {
    this.currentLoaders = undefined;
  }

  takeListItems(count: number): void {
    this.listItems += count;
    const maximum = this.deps.config.maxListItems;
    if (this.listItems > maximum) {
      throw limitExceeded(
        `This operation's lists hold more than ${maximum.toLocaleString("en-US")} items (lists counted at their typical size are longer here): select fewer nested lists, or page with connections.`,
        { limit: "items", maximum },
      );
    }
  }

  /** Re-validates a long-lived context's token (see `recheck`); a no-op for one-shot requests. */
  async reauthenticate(): Promise<void> {
    if (this.recheck) this.principal = await this.recheck();
  }

  /**
   * Runs `work` as one transaction of the caller's corp (`db/transaction.ts`, the one path); services
   * join it through `ctx.db`, and nested calls join the outer one. Loaders are fresh inside (they
   * read through the transaction) and after (they may hold what it changed).
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.tx) return work();
    return transaction(
      this.deps.pool,
      this.caller.corpId,
      async (tx) => {
        this.tx = tx;
        this.currentLoaders = undefined;
        try {
          return await work();
        } finally {
          this.tx = null;
          this.currentLoaders = undefined;
        }
      },
      { stats: this.stats },
    );
  }

  /** Records an event on `stream` in the current transaction (`events/log.ts`); outside one it is a programming error. */
  emit(stream: StreamName, event: PendingEvent): void {
    if (!this.tx) throw new Error("emit() outside a transaction");
    this.deps.events.append(this.tx, stream, event);
  }
}
