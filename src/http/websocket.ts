import { randomUUID } from "node:crypto";
import type http from "node:http";
import { WebSocketServer } from "ws";
import { useServer, type Extra } from "graphql-ws/use/ws";
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
import { DomainError, limitExceeded } from "../errors/domain-error";
import { asGraphQLError, formatError } from "../errors/format";
import { prepareOperation, type DocumentLimits } from "../limits/document-limits";
import type { RateLimits } from "./rate-limits";
import { costExtension } from "../ratelimit/headers";
import { WsOperationMetrics } from "../metrics/ws-operations";
import { FanoutHub, type FanoutTarget } from "../fanout/hub";
import { FANOUT_EXTENSION, liveStreamOf } from "../fanout/source";

type WsExtra = { principal?: Principal; token?: string; ip?: string };

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

/** The subscription slots a socket holds, by operation id: released when the operation completes or the socket closes. */
const heldSlots = new WeakMap<object, Map<string, () => void>>();

function holdSlot(socket: object, id: string, release: () => void): void {
  let slots = heldSlots.get(socket);
  if (!slots) heldSlots.set(socket, (slots = new Map()));
  slots.set(id, release);
}

function releaseSlot(socket: object, id: string): void {
  const slots = heldSlots.get(socket);
  slots?.get(id)?.();
  slots?.delete(id);
}

function releaseSlots(socket: object): void {
  for (const release of heldSlots.get(socket)?.values() ?? []) release();
  heldSlots.delete(socket);
}

/** The operation ids of each socket from subscribe to end (see `onSubscribe`). */
const usedIds = new WeakMap<object, Set<string>>();

function inUse(socket: object): Set<string> {
  let ids = usedIds.get(socket);
  if (!ids) usedIds.set(socket, (ids = new Set()));
  return ids;
}

/** The subscription streams each socket started, by operation id, ended when the socket closes. */
const openStreams = new WeakMap<object, Map<string, AsyncGenerator<unknown>>>();

function streamsOf(socket: object): Map<string, AsyncGenerator<unknown>> {
  let streams = openStreams.get(socket);
  if (!streams) openStreams.set(socket, (streams = new Map()));
  return streams;
}

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
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      // ws closes a socket whose message exceeds maxPayload itself (1009); graphql-ws would log that
      // client's mistake as an internal error with a stack trace, so any client could fill the log.
      const emit = ws.emit.bind(ws);
      ws.emit = (event: string | symbol, ...rest: unknown[]) =>
        event === "error" && (rest[0] as { code?: string } | undefined)?.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? true : emit(event, ...rest);
      wsServer.emit("connection", ws, req);
    });
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
  /** The socket and operation id of each subscription's context, for the fan-out to write to. */
  const fanoutTargets = new WeakMap<RequestContext, FanoutTarget>();
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
  type Ctx = Context<Record<string, unknown> | undefined, Extra & Partial<WsExtra>>;
  /** The checks and charge of one operation on a socket (see `onSubscribe`): its execution arguments, or its errors. */
  const prepareSubscribe = async (ctx: Ctx, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
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
    const requestId = randomUUID();
    if (!token) return [asGraphQLError(new DomainError("UNAUTHENTICATED", "The connection has no access token."))];
    try {
      ctx.extra.principal = await tokens.authenticate(token, ip);
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
      const prepared = prepareOperation(schema, payload, ctx.extra.principal, limits);
      if ("errors" in prepared) return prepared.errors;
      const recheck = () => recheckToken(token, ip);
      const contextValue = new RequestContext(deps, ctx.extra.principal, requestId, undefined, recheck);
      contextValue.clientIp = ip;
      // A subscription holds one of its token holder's slots until it ends (THROTTLED beyond them);
      // starting it, like any operation on the socket, is charged as over HTTP. Events are free.
      const operation = getOperationAST(prepared.document, payload.operationName);
      const type = operation?.operation;
      wsMetrics.prepared(ctx, id, type, contextValue, operation?.name?.value);
      if (type === "subscription") {
        release = deps.rateLimiter.subscriptions.acquire(ctx.extra.principal);
        const socket = ctx;
        fanoutTargets.set(contextValue, { socket: ctx.extra.socket, id, delivered: (result) => wsMetrics.next(socket, id, result) });
      } else {
        oneShot.add(contextValue);
      }
      await rateLimits.admit(contextValue, prepared.cost);
      if (release) holdSlot(ctx, id, release);
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

  const cleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      subscribe,
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
        // An id is in use from its subscribe to its end, whatever the client says meanwhile:
        // graphql-ws forgets an id the client completes while its subscribe is still being
        // authorised, and a second subscribe with that id would then start a stream nothing tracks.
        const ids = inUse(ctx);
        if (ids.has(id)) {
          return [asGraphQLError(new DomainError("BAD_USER_INPUT", `Operation id "${id}" is still in use: wait for it to end before reusing it.`))];
        }
        ids.add(id);
        const answer = await prepareSubscribe(ctx, id, payload);
        if (Array.isArray(answer)) ids.delete(id);
        return answer;
      },
      onOperation: (ctx, id, _payload, _args, result) => {
        // Every stream a socket started ends with the socket, tracked here rather than by id alone.
        if (isAsyncGenerator(result)) streamsOf(ctx).set(id, result);
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
        releaseSlot(ctx, id);
        inUse(ctx).delete(id);
        streamsOf(ctx).delete(id);
        wsMetrics.complete(ctx, id);
      },
      onClose: async (ctx) => {
        releaseSlots(ctx);
        // Streams graphql-ws no longer tracks (see `onSubscribe`) end with their socket too.
        const streams = [...streamsOf(ctx).values()];
        openStreams.delete(ctx);
        await Promise.all(streams.map((stream) => stream.return(undefined).catch(() => undefined)));
      },
    },
    wsServer,
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
