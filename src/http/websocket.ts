import { randomUUID } from "node:crypto";
import type http from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { CloseCode, MessageType, stringifyMessage, type Context, type SubscribePayload } from "graphql-ws";
import {
  GraphQLError,
  Kind,
  createSourceEventStream,
  getOperationAST,
  subscribe as executeSubscription,
  type ExecutionArgs,
  type GraphQLSchema,
} from "graphql";
import { RequestContext, type AppDeps } from "../context";
import { bearerToken } from "../auth/oauth-types";
import type { Principal } from "../policy/principal";
import { DomainError, badInput, limitExceeded } from "../errors/domain-error";
import { asGraphQLError, formatError } from "../errors/format";
import { checkOperation, prepareOperation, type DocumentLimits } from "../limits/document-limits";
import type { RateLimits } from "./rate-limits";
import { costExtension } from "../ratelimit/headers";
import { WsOperationMetrics } from "../metrics/ws-operations";
import { FanoutHub, type FanoutTarget, type SentResult } from "../fanout/hub";
import { FANOUT_EXTENSION, liveStreamOf } from "../fanout/source";
import { serveGraphqlWs, type SocketExtra } from "./ws-transport";
import { DocumentCache } from "./document-cache";

/**
 * A connection's `ctx.extra`: its socket and client address (copied from the upgrade request, which
 * is not kept), its token once `connection_init` carried a valid one, and its operations by id.
 */
interface WsExtra extends SocketExtra {
  readonly ip: string | undefined;
  token?: string;
  /** From subscribe to end (see `onSubscribe`), whatever the client says meanwhile. */
  readonly operations: Map<string, SocketOperation>;
}

type Ctx = Context<Record<string, unknown> | undefined, WsExtra>;

/**
 * One operation of a socket from its subscribe to its end: the subscription slot it holds (given
 * back when it ends or the socket closes) and the stream it started (ended with the socket); for a
 * subscription served by the fan-out, also where the fan-out writes (`FanoutTarget`).
 */
class SocketOperation implements FanoutTarget {
  release: (() => void) | undefined = undefined;
  stream: AsyncGenerator<unknown> | undefined = undefined;

  constructor(
    private readonly ctx: Ctx,
    readonly id: string,
    private readonly metrics: WsOperationMetrics,
  ) {}

  get socket(): WebSocket {
    return this.ctx.extra.socket;
  }

  delivered(result: SentResult): void {
    this.metrics.next(this.ctx, this.id, result);
  }

  releaseSlot(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }
}

export interface WebSocketOptions {
  schema: GraphQLSchema;
  deps: AppDeps;
  limits: DocumentLimits;
  rateLimits: RateLimits;
  /** The client address of an upgrade request (see `client-ip.ts`). */
  clientIp: (socketAddress: string | undefined, forwarded: string | string[] | undefined) => string | undefined;
}

/** Contexts of the queries and mutations run over sockets (settled once), as opposed to subscriptions (never charged per event). */
const oneShot = new WeakSet<RequestContext>();

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown> {
  return (
    typeof (value as AsyncGenerator<unknown> | null)?.[Symbol.asyncIterator] === "function" && typeof (value as AsyncGenerator<unknown>).return === "function"
  );
}

/** The fan-out of the WebSocket endpoint on each HTTP server (tests and benchmarks read its counters). */
const hubs = new WeakMap<http.Server, FanoutHub>();

/** The fan-out serving subscriptions on `httpServer`, if a WebSocket endpoint is attached to it. */
export function fanoutOf(httpServer: http.Server): FanoutHub | undefined {
  return hubs.get(httpServer);
}

export interface WebSocketEndpoint {
  /** Closes every socket (the drain on shutdown). */
  dispose: () => Promise<void>;
  /** Open sockets and running subscriptions of this instance (for `/metrics`). */
  stats: () => { sockets: number; subscriptions: number };
}

/**
 * GraphQL over WebSocket (graphql-ws) on `/graphql` of `httpServer`. `connection_init` must carry a
 * valid token (else 4403 at once), and every operation on the socket is authorised again, like an
 * HTTP request (issue 11): a token that expired, was revoked, or whose app or member was disabled
 * meanwhile gets UNAUTHENTICATED and the socket is closed with 4403. Frames are capped at
 * `wsMaxPayloadBytes` (ws's default is 100 MiB), operations per connection at `wsMaxOperations`.
 * Returns what drains the sockets on shutdown.
 */
export function attachWebSocket(httpServer: http.Server, { schema, deps, limits, rateLimits, clientIp }: WebSocketOptions): WebSocketEndpoint {
  const { config, tokens } = deps;
  // `noServer`: the WebSocket server takes upgrades only, so an HTTP server error (a busy port) is
  // not re-emitted on it (graphql-ws would log it as an internal error with a stack trace).
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: config.wsMaxPayloadBytes });
  httpServer.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://gateway").pathname !== "/graphql") return void socket.destroy();
    // ws closes a socket whose message exceeds maxPayload itself (1009); that client's mistake is not
    // logged (see `ws-transport.ts`), so no client can fill the log.
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit("connection", ws, req));
  });

  // Each operation on a socket counted once in /metrics, when it ends (see `metrics/ws-operations.ts`).
  const wsMetrics = new WsOperationMetrics(deps.metrics);
  // Subscriptions to fields marked FANOUT_EXTENSION: executed once per event and group of subscribers
  // that receive the same bytes, the frame written to each socket (issue 14, `fanout/hub.ts`).
  const fanout = new FanoutHub({
    relay: deps.relay,
    recheckMs: config.subscriptionRecheckSeconds * 1000,
    context: (principal) => new RequestContext(deps, principal, randomUUID()),
    format: (result, ctx) => (result.errors?.length ? { ...result, errors: result.errors.map((e) => formatError(e, ctx.requestId)) } : result),
  });
  hubs.set(httpServer, fanout);
  /** The operation of each subscription's context, for the fan-out to write to. */
  const fanoutTargets = new WeakMap<RequestContext, SocketOperation>();
  const subscribe = async (args: ExecutionArgs) => {
    const contextValue = args.contextValue as RequestContext;
    const target = fanoutTargets.get(contextValue);
    if (!target || !servedByFanout(args)) return executeSubscription(args);
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream; // refused at subscribe (scope, arguments): errors, as graphql's subscribe
    const source = liveStreamOf(stream);
    if (!source) throw new Error(`${FANOUT_EXTENSION} field whose subscribe returned no liveStream`);
    // Never started, so it holds nothing; the hub reads the feed itself.
    void (stream as AsyncGenerator).return?.(undefined);
    const { schema: s, document, operationName, variableValues } = args;
    return fanout.subscribe({ schema: s, document, operationName, variableValues, contextValue }, source, target);
  };
  // Re-checks of one token at the same moment (every subscriber of a connection, or of an app using
  // one token, due before the same event) share one authentication.
  const rechecks = new Map<string, Promise<Principal>>();
  const recheckToken = (token: string, ip: string | undefined): Promise<Principal> => {
    const key = `${ip ?? ""} ${token}`;
    let pending = rechecks.get(key);
    if (!pending) {
      pending = tokens.authenticate(token, ip).finally(() => rechecks.delete(key));
      rechecks.set(key, pending);
    }
    return pending;
  };
  // Parsed and validated documents by text, shared by the operations that send the same one.
  const documents = new DocumentCache();
  /** `prepareOperation`, the parse and validation of a text seen before taken from `documents`. */
  const prepare = (payload: SubscribePayload, principal: Principal | null): ReturnType<typeof prepareOperation> => {
    const known = documents.get(payload.query);
    if (known) return { document: known, cost: checkOperation(schema, known, payload.operationName, payload.variables, principal, limits) };
    const prepared = prepareOperation(schema, payload, principal, limits);
    if ("document" in prepared) documents.set(payload.query, prepared.document);
    return prepared;
  };
  /** The checks and charge of one operation on a socket (see `onSubscribe`): its execution arguments, or its errors. */
  const prepareSubscribe = async (ctx: Ctx, op: SocketOperation, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const { id } = op;
    wsMetrics.start(ctx, id, payload.operationName);
    // Before any await: ctx.subscriptions then holds the operations received so far, this one
    // included (a burst of subscribe messages is counted in order, not all at once).
    if (Object.keys(ctx.subscriptions).length > config.wsMaxOperations) {
      const max = config.wsMaxOperations;
      return [
        asGraphQLError(
          limitExceeded(`At most ${max} operations may run at once on one connection; complete one first.`, { limit: "operations", maximum: max }),
        ),
      ];
    }
    const { token, ip } = ctx.extra;
    // Flat: randomUUID's string is a tree of ~20 concatenated pieces (~0.6 KiB) while it lives (a subscription's life).
    const requestId = Buffer.from(randomUUID(), "latin1").toString("latin1");
    if (!token) return [asGraphQLError(new DomainError("UNAUTHENTICATED", "The connection has no access token."))];
    let principal: Principal;
    try {
      principal = await tokens.authenticate(token, ip);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      // The refusal is queued first, then the close frame (ws writes both in that order); graphql-ws's
      // own send of the returned errors is then skipped, the socket being no longer open.
      const formatted = [formatError(e, requestId)];
      wsMetrics.error(ctx, id, formatted);
      const refusal = stringifyMessage({ id, type: MessageType.Error, payload: formatted });
      ctx.extra.socket.send(refusal);
      ctx.extra.socket.close(CloseCode.Forbidden, "Forbidden");
      return [asGraphQLError(e)];
    }
    let release: (() => void) | undefined;
    try {
      const prepared = prepare(payload, principal);
      if ("errors" in prepared) return prepared.errors;
      const recheck = () => recheckToken(token, ip);
      const contextValue = new RequestContext(deps, principal, requestId, undefined, recheck);
      contextValue.clientIp = ip;
      // A subscription holds one of its token holder's slots until it ends (THROTTLED beyond them);
      // starting it, like any operation on the socket, is charged as over HTTP. Events are free.
      const operation = getOperationAST(prepared.document, payload.operationName);
      // Refused here, before a slot or a charge: graphql-ws would answer it without ending the operation (its id kept in use).
      if (!operation) {
        return [
          asGraphQLError(
            badInput("operationName", "Unable to identify the operation: name one of the document's operations in operationName (or send a single one)."),
          ),
        ];
      }
      const type = operation.operation;
      wsMetrics.prepared(ctx, id, type, contextValue, operation.name?.value);
      if (type === "subscription") {
        release = deps.rateLimiter.subscriptions.acquire(principal);
        fanoutTargets.set(contextValue, op);
      } else {
        oneShot.add(contextValue);
      }
      await rateLimits.admit(contextValue, prepared.cost);
      // Held until the operation completes (`onComplete`), also when the socket closed meanwhile.
      op.release = release;
      return {
        schema,
        document: prepared.document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue,
      };
    } catch (e) {
      release?.();
      if (e instanceof DomainError) return [asGraphQLError(e)];
      if (e instanceof GraphQLError) return [e];
      throw e;
    }
  };

  const cleanup = serveGraphqlWs<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      subscribe,
      // A subscribe message's text stays referenced as long as its operation runs (graphql-ws holds
      // the message): the cache's equal copy instead of each socket's own, when it holds one.
      jsonMessageReviver: (key, value: unknown) => (key === "query" && typeof value === "string" ? (documents.canonical(value) ?? value) : value),
      onConnect: async (ctx) => {
        const token = bearerToken(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        // Nothing reads the connection parameters after this, and they hold the token again (~0.8 KiB a socket).
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        if (!token) return false;
        try {
          // Every operation authenticates again (`prepareSubscribe`): only the token is kept.
          await tokens.authenticate(token, ctx.extra.ip);
          ctx.extra.token = token;
          return true;
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        // An id is in use from its subscribe to its end, whatever the client says meanwhile:
        // graphql-ws forgets an id the client completes while its subscribe is still being
        // authorised, and a second subscribe with that id would then start a stream nothing tracks.
        const { operations } = ctx.extra;
        if (operations.has(id)) {
          return [asGraphQLError(new DomainError("BAD_USER_INPUT", `Operation id "${id}" is still in use: wait for it to end before reusing it.`))];
        }
        const op = new SocketOperation(ctx, id, wsMetrics);
        operations.set(id, op);
        const answer = await prepareSubscribe(ctx, op, payload);
        if (Array.isArray(answer)) operations.delete(id);
        return answer;
      },
      onOperation: (ctx, id, _payload, _args, result) => {
        // Every stream a socket started ends with the socket, tracked here rather than by id alone.
        const op = ctx.extra.operations.get(id);
        if (op && isAsyncGenerator(result)) op.stream = result;
        return undefined;
      },
      onNext: async (ctx, id, _payload, args, result) => {
        const contextValue = args.contextValue as RequestContext;
        let answer = result;
        // A query or mutation: what it really cost, and the unused points back (never per event).
        const operation = oneShot.has(contextValue) ? getOperationAST(args.document, args.operationName) : null;
        if (operation && contextValue.rateLimit) {
          await rateLimits.settle(contextValue, schema, args.document, operation, result);
          answer = { ...answer, extensions: { ...answer.extensions, cost: costExtension(contextValue.rateLimit) } };
        }
        const sent = answer.errors?.length ? { ...answer, errors: answer.errors.map((e) => formatError(e, contextValue.requestId)) } : answer;
        wsMetrics.next(ctx, id, sent);
        return sent;
      },
      onError: (ctx, id, _payload, errors) => {
        const sent = errors.map((e) => formatError(e, randomUUID()));
        wsMetrics.error(ctx, id, sent);
        return sent;
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations.get(id)?.releaseSlot();
        ctx.extra.operations.delete(id);
        wsMetrics.complete(ctx, id);
      },
      onClose: async (ctx) => {
        // The operations stay listed (one still being authorised gets its slot later, and gives it
        // back when graphql-ws completes it); their slots and streams end now. Streams graphql-ws no
        // longer tracks (see `onSubscribe`) end with their socket too.
        const streams: Array<AsyncGenerator<unknown>> = [];
        for (const op of ctx.extra.operations.values()) {
          op.releaseSlot();
          if (op.stream) streams.push(op.stream);
          op.stream = undefined;
        }
        await Promise.all(streams.map((stream) => stream.return(undefined).catch(() => undefined)));
      },
    },
    wsServer,
    { extra: (socket, request) => ({ socket, ip: clientIp(request.socket.remoteAddress, request.headers["x-forwarded-for"]), operations: new Map() }) },
  );
  return {
    dispose: async () => void (await cleanup.dispose()),
    stats: () => ({ sockets: wsServer.clients.size, subscriptions: deps.rateLimiter.subscriptions.count }),
  };
}

/** Is the operation a subscription to a field marked FANOUT_EXTENSION, selected as one plain field? */
function servedByFanout({ schema, document, operationName }: ExecutionArgs): boolean {
  const operation = getOperationAST(document, operationName);
  const root = operation?.operation === "subscription" ? operation.selectionSet.selections : undefined;
  if (root?.length !== 1 || root[0].kind !== Kind.FIELD) return false;
  return schema.getSubscriptionType()?.getFields()[root[0].name.value]?.extensions?.[FANOUT_EXTENSION] === true;
}
