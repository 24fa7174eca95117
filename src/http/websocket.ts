import { randomUUID } from "node:crypto";
import type http from "node:http";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { CloseCode, MessageType, stringifyMessage } from "graphql-ws";
import { GraphQLError, getOperationAST, type GraphQLSchema } from "graphql";
import { RequestContext, type AppDeps } from "../context";
import { bearerToken } from "../auth/oauth-types";
import type { Principal } from "../policy/principal";
import { DomainError, limitExceeded } from "../errors/domain-error";
import { asGraphQLError, formatError } from "../errors/format";
import { prepareOperation, type DocumentLimits } from "../limits/document-limits";
import { costExtension, type RateLimits } from "./rate-limits";
import { WsOperationMetrics } from "../metrics/ws-operations";

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
  const cleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
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
          const recheck = () => tokens.authenticate(token, ip);
          const contextValue = new RequestContext(deps, ctx.extra.principal, requestId, undefined, recheck);
          contextValue.clientIp = ip;
          // A subscription holds one of its token holder's slots until it ends (THROTTLED beyond them);
          // starting it, like any operation on the socket, is charged as over HTTP. Events are free.
          const operation = getOperationAST(prepared.document, payload.operationName);
          const type = operation?.operation;
          wsMetrics.prepared(ctx, id, type, contextValue, operation?.name?.value);
          if (type === "subscription") {
            release = deps.rateLimiter.subscriptions.acquire(ctx.extra.principal);
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
        wsMetrics.complete(ctx, id);
      },
      onClose: (ctx) => releaseSlots(ctx),
    },
    wsServer,
  );
  return {
    dispose: async () => void (await cleanup.dispose()),
    stats: () => ({ sockets: wsServer.clients.size, subscriptions: deps.rateLimiter.subscriptions.count }),
  };
}
