import { performance } from "node:perf_hooks";
import type { RateLimitCharge } from "../ratelimit/types";
import { errorCodes, operationOutcome, type ClientError, type Metrics } from "./metrics";

/** An operation on a socket between its subscribe message and its end. */
interface Pending {
  operationName: string | null | undefined;
  started: number;
  type?: string;
  context?: { rateLimit: RateLimitCharge | null };
  codes: string[];
  /** A subscription whose stream started (it sent data): it is counted when it ends, as `ok` or `error`. */
  streaming: boolean;
  charged: boolean;
}

/**
 * Records GraphQL operations over graphql-ws once each, when they end, from the server's hooks
 * (graphql-ws calls `onError` for a refusal and `onComplete` after every operation that ran, also
 * when the socket closes). A query or mutation ends with its one result; a subscription with its
 * stream: its latency is its lifetime, and its charge is counted as its stream starts. Keyed by the
 * graphql-ws context of the socket, so nothing outlives a closed socket.
 */
export class WsOperationMetrics {
  private readonly sockets = new WeakMap<object, Map<string, Pending>>();

  constructor(private readonly metrics: Metrics) {}

  /** `onSubscribe`, first: the operation `id` of `socket` (graphql-ws's `ctx`) starts now. */
  start(socket: object, id: string, operationName: string | null | undefined): void {
    let pending = this.sockets.get(socket);
    if (!pending) this.sockets.set(socket, (pending = new Map()));
    pending.set(id, { operationName, started: performance.now(), codes: [], streaming: false, charged: false });
  }

  /**
   * `onSubscribe`, once the document is known and its context made, before it is charged: its type
   * (`query`, `mutation`, `subscription`) and the context whose `rateLimit` the rate limiter sets
   * (also when it refuses with THROTTLED).
   */
  prepared(socket: object, id: string, type: string | undefined, context: { rateLimit: RateLimitCharge | null }, name?: string): void {
    const op = this.sockets.get(socket)?.get(id);
    if (!op) return;
    op.type = type;
    // The operation's own name when the client sent no `operationName` (graphql-ws clients usually do not).
    op.operationName ??= name;
    op.context = context;
  }

  /** `onNext`, with the result as sent (errors formatted). */
  next(socket: object, id: string, result: { data?: unknown; errors?: readonly ClientError[] }): void {
    const op = this.sockets.get(socket)?.get(id);
    if (!op) return;
    op.codes.push(...errorCodes(result.errors));
    if (op.type !== "subscription" || (!op.streaming && result.data === undefined)) {
      return this.finish(socket, id, op, operationOutcome(result, op.context?.rateLimit));
    }
    if (!op.streaming) {
      op.streaming = true;
      this.charge(op);
    }
  }

  /** `onError`, with the errors as sent: a refusal before execution, or a subscription's stream failing. */
  error(socket: object, id: string, errors: readonly ClientError[]): void {
    const op = this.sockets.get(socket)?.get(id);
    if (!op) return;
    op.codes.push(...errorCodes(errors));
    this.finish(socket, id, op, op.streaming ? "error" : operationOutcome({ errors }, op.context?.rateLimit));
  }

  /** `onComplete`: a subscription ends (the client's complete, the end of its stream, the socket closing). */
  complete(socket: object, id: string): void {
    const op = this.sockets.get(socket)?.get(id);
    if (op) this.finish(socket, id, op, op.codes.length ? "error" : "ok");
  }

  private charge(op: Pending): void {
    const charge = op.context?.rateLimit;
    if (charge && !op.charged) this.metrics.recordCharge(charge);
    op.charged = true;
  }

  private finish(socket: object, id: string, op: Pending, outcome: ReturnType<typeof operationOutcome>): void {
    this.sockets.get(socket)?.delete(id);
    this.metrics.recordOperation({
      transport: "ws",
      operationName: op.operationName,
      type: op.type,
      outcome,
      seconds: (performance.now() - op.started) / 1000,
      errorCodes: op.codes,
      // graphql-ws operations run on a socket whose connection_init carried a valid token.
      authenticated: true,
    });
    this.charge(op);
  }
}
