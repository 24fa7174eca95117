import type { Pool } from "pg";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CrossCorpDb } from "../db/cross-corp";
import type { RateLimitCharge } from "../ratelimit/types";
import { log } from "../log";
import { BoundedLabel } from "./bounded-label";

/** The transport an operation came over. */
export type Transport = "http" | "ws";

/**
 * How an operation ended, from what its client got: `throttled` (refused by the rate limiter),
 * `refused` (it never ran: a document that failed to parse, validate or pass a cap, a missing
 * token or scope checked before execution), `error` (it ran, with errors), `ok`.
 */
export type OperationOutcome = "ok" | "error" | "throttled" | "refused";

/** One finished operation, as `recordOperation` takes it. */
export interface OperationRecord {
  transport: Transport;
  /** The operation's name as the client sent it; none: labelled `anonymous`. */
  operationName: string | null | undefined;
  /** `query`, `mutation` or `subscription`; anything else (a document that did not parse) is labelled `unknown`. */
  type: string | null | undefined;
  outcome: OperationOutcome;
  /** From receiving the operation to sending its response; a subscription: from subscribe to its end. */
  seconds: number;
  /** `extensions.code` of every error the client got (see `errorCodes`). */
  errorCodes: readonly (string | undefined)[];
  /** Whether the caller had a valid token: only their operations that ran may add a name to the label. */
  authenticated: boolean;
}

/** What the gauges read at scrape time. */
export interface MetricsSources {
  pool: Pool;
  /** Counts the import jobs of every corp: one statement on the partial index `import_job_active_idx`. */
  crossCorp: CrossCorpDb;
}

/** An error as a client gets it (graphql's `GraphQLFormattedError`, or a `GraphQLError`). */
export type ClientError = { readonly extensions?: { readonly [key: string]: unknown } | undefined };

/** `extensions.code` of each error, for `OperationRecord.errorCodes`. */
export function errorCodes(errors: readonly ClientError[] | undefined): string[] {
  return (errors ?? []).map((e) => (typeof e.extensions?.code === "string" ? e.extensions.code : "UNKNOWN"));
}

/** The outcome of an operation from its result (`data` absent: it never ran) and its rate-limit charge. */
export function operationOutcome(result: { data?: unknown; errors?: readonly ClientError[] } | undefined, charge?: RateLimitCharge | null): OperationOutcome {
  const errors = result?.errors ?? [];
  if (charge?.throttled || errors.some((e) => e.extensions?.code === "THROTTLED")) return "throttled";
  if (!errors.length) return "ok";
  return result?.data === undefined ? "refused" : "error";
}

/** Operation names: GraphQL names of up to 64 characters, the first 200 this process sees (see `BoundedLabel`). */
export const OPERATION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const OPERATION_NAME_LIMIT = 200;
const OPERATION_TYPES = new Set(["query", "mutation", "subscription"]);
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RELAY_LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The gateway's Prometheus metrics (issue 13), in a registry of its own (several gateways may run
 * in one process, as the tests do): operations and their latency by name and outcome, errors by
 * code, rate-limit points and refusals by app, open WebSockets and subscriptions, the event relay's
 * lag, the database pool, import jobs, and prom-client's process metrics. Counters are fed by the
 * transports (`recordOperation`, `recordCharge`), the relay (`observeRelayLag`); gauges are read
 * when scraped. `GET /metrics` serves `text()` (see `endpoint.ts` for who may read it).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly operationNames = new BoundedLabel(OPERATION_NAME_PATTERN, OPERATION_NAME_LIMIT, "other");
  /** Codes are a closed set (`errors/codes.ts`) plus Apollo's; the bound only guards against a surprise. */
  private readonly codes = new BoundedLabel(/^[A-Z][A-Z0-9_]{0,47}$/, 50, "OTHER");
  /** Apps are bounded by the database; the cap only keeps a runaway from filling memory. */
  private readonly apps = new BoundedLabel(/^[A-Za-z0-9_:=+/-]{1,128}$/, 10_000, "other");
  private readonly operations: Counter<"transport" | "operation" | "type" | "outcome">;
  private readonly latency: Histogram<"transport" | "operation" | "type" | "outcome">;
  private readonly errors: Counter<"code">;
  private readonly costPoints: Counter<"app">;
  private readonly throttled: Counter<"app">;
  private readonly relayLag: Histogram;
  /** Sources attached after construction (`watchWebSocket`, `watchRelay`), read by the gauges' collect. */
  private readonly watched: { webSocket?: () => { sockets: number; subscriptions: number }; relayFeeds?: () => number } = {};

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const operationLabels = ["transport", "operation", "type", "outcome"] as const;
    this.operations = new Counter({
      name: "workgraph_graphql_operations_total",
      help: "GraphQL operations by transport (http, ws), operation name (the first 200 distinct names; others `other`, none `anonymous`), type and outcome (ok, error, throttled, refused).",
      labelNames: operationLabels,
      registers,
    });
    this.latency = new Histogram({
      name: "workgraph_graphql_operation_duration_seconds",
      help: "Seconds from receiving a GraphQL operation to sending its response (a subscription: from subscribe to its end), with the labels of workgraph_graphql_operations_total.",
      labelNames: operationLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: "workgraph_graphql_errors_total",
      help: "GraphQL errors sent to clients, by extensions.code.",
      labelNames: ["code"],
      registers,
    });
    this.costPoints = new Counter({
      name: "workgraph_ratelimit_cost_points_total",
      help: "Query-cost points charged to rate-limit buckets (the actual cost, after refunds), by app (its id; `anonymous` for callers without a token).",
      labelNames: ["app"],
      registers,
    });
    this.throttled = new Counter({
      name: "workgraph_ratelimit_throttled_total",
      help: "Operations refused with THROTTLED for want of points, by app (its id; `anonymous` for callers without a token).",
      labelNames: ["app"],
      registers,
    });
    this.relayLag = new Histogram({
      name: "workgraph_event_relay_lag_seconds",
      help: "Seconds from an event's commit (its occurred_at, taken just before COMMIT, by the database clock) to this instance's relay reading it for live subscribers (by this host's clock).",
      buckets: RELAY_LAG_BUCKETS,
      registers,
    });
    const watched = this.watched;
    new Gauge({
      name: "workgraph_event_relay_feeds",
      help: "(corp, stream) feeds the event relay of this instance follows for live subscribers.",
      registers,
      collect() {
        if (watched.relayFeeds) this.set(watched.relayFeeds());
      },
    });
    new Gauge({
      name: "workgraph_websocket_connections",
      help: "Open graphql-ws WebSocket connections of this instance.",
      registers,
      collect() {
        if (watched.webSocket) this.set(watched.webSocket().sockets);
      },
    });
    new Gauge({
      name: "workgraph_websocket_subscriptions",
      help: "Running GraphQL subscriptions over WebSocket of this instance.",
      registers,
      collect() {
        if (watched.webSocket) this.set(watched.webSocket().subscriptions);
      },
    });
    const { pool, crossCorp } = sources;
    const poolGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    poolGauge("workgraph_db_pool_connections", "Connections the database pool holds open (busy and idle).", () => pool.totalCount);
    poolGauge("workgraph_db_pool_idle_connections", "Open connections of the database pool not in use.", () => pool.idleCount);
    poolGauge("workgraph_db_pool_waiting_requests", "Requests waiting for a connection of the database pool (all are busy).", () => pool.waitingCount);
    // pg's default pool size is 10 (`db/data-source.ts` sets it).
    const poolMax = () => pool.options.max ?? 10;
    poolGauge("workgraph_db_pool_max_connections", "Most connections the database pool opens.", poolMax);
    new Gauge({
      name: "workgraph_import_jobs",
      help: "Import jobs of every corp waiting (QUEUED) or running (RUNNING), read from the database when scraped (left out of a scrape while the pool has no free connection).",
      labelNames: ["status"],
      registers,
      async collect() {
        this.reset();
        // A scrape never queues for a connection: when the pool has none free (when its metrics matter
        // most), this gauge is left out rather than the whole answer delayed.
        if (pool.idleCount === 0 && pool.totalCount >= poolMax()) return;
        try {
          const rows = await crossCorp.rows<{ status: string; jobs: number }>(
            `SELECT status, count(*)::int AS jobs FROM import_job WHERE status IN ('QUEUED', 'RUNNING') GROUP BY status`,
          );
          for (const status of ["QUEUED", "RUNNING"]) this.set({ status }, rows.find((r) => r.status === status)?.jobs ?? 0);
        } catch (e) {
          // The scrape still answers (without this gauge); /readyz says whether the database is reachable.
          log.warn("metrics: import jobs not counted", { error: String(e) });
        }
      },
    });
  }

  /** Counts a finished operation, its latency and its errors. */
  recordOperation(op: OperationRecord): void {
    // The label's few hundred names go to operations that ran for a caller with a token: an anonymous,
    // refused or throttled client cannot use them up and push tenants' names into `other`.
    const admit = op.authenticated && (op.outcome === "ok" || op.outcome === "error");
    const named = op.operationName ? this.operationNames.value(op.operationName, admit) : "anonymous";
    const labels = {
      transport: op.transport,
      operation: named,
      type: op.type && OPERATION_TYPES.has(op.type) ? op.type : "unknown",
      outcome: op.outcome,
    };
    this.operations.inc(labels);
    this.latency.observe(labels, op.seconds);
    for (const code of op.errorCodes) this.errors.inc({ code: this.codes.value(code ?? "UNKNOWN") });
  }

  /** Counts what an operation's rate-limit charge took (`actual`, once the operation ended) or that it was throttled. */
  recordCharge(charge: RateLimitCharge): void {
    const app = charge.appId === null ? "anonymous" : this.apps.value(charge.appId);
    if (charge.throttled) this.throttled.inc({ app });
    else this.costPoints.inc({ app }, charge.actual);
  }

  /** One event the relay read for live subscribers, `seconds` after its commit (see `EventRelay.onLag`). */
  observeRelayLag(seconds: number): void {
    this.relayLag.observe(Math.max(0, seconds));
  }

  /** Where the WebSocket gauges read (`attachWebSocket(...).stats`); until then they stay 0. */
  watchWebSocket(stats: () => { sockets: number; subscriptions: number }): void {
    this.watched.webSocket = stats;
  }

  /** Where `workgraph_event_relay_feeds` reads (`EventRelay.activeCorps`). */
  watchRelay(feeds: () => number): void {
    this.watched.relayFeeds = feeds;
  }

  /** The Prometheus text exposition of every metric (gauges read now). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** `text()`'s content type: the Prometheus text format, version 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
