import type { IncomingMessage } from "node:http";
import { WebSocket, type WebSocketServer } from "ws";
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, makeServer, type ServerOptions, type WebSocket as ServerSocket } from "graphql-ws";
import { log } from "../log";

/** What graphql-ws's `ctx.extra` must hold here: the socket (the upgrade request is not kept, see `serveGraphqlWs`). */
export interface SocketExtra {
  readonly socket: WebSocket;
}

export interface TransportOptions<E extends SocketExtra> {
  /**
   * The `ctx.extra` of a new connection, from its socket and upgrade request: copy what the hooks
   * need of the request (its address, a header), the request itself is dropped after this call.
   */
  extra: (socket: WebSocket, request: IncomingMessage) => E;
  /** How often each socket is pinged, in ms; a socket that has not answered the previous ping is terminated (0: never). */
  keepAliveMs?: number;
  /** How long a socket may stay open without `connection_init`, in ms (graphql-ws's `connectionInitWaitTimeout`). */
  connectionInitWaitMs?: number;
}

/** Sockets pinged and not heard from since (see the keep-alive sweep). */
const awaitingPong = new WeakSet<WebSocket>();

function onPong(this: WebSocket): void {
  awaitingPong.delete(this);
}

/**
 * A socket's error: a frame over `maxPayload` is the client's mistake (ws closes the socket with 1009
 * itself; logged, any client could fill the log); anything else is logged and closes the socket
 * with 1011, as graphql-ws's `useServer` does.
 */
function onSocketError(this: WebSocket, error: Error & { code?: string }): void {
  if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return;
  log.error("WebSocket error", { error: String(error) });
  this.close(CloseCode.InternalServerError, "Internal server error");
}

/** graphql-ws's view of one `ws` socket: methods on a small object, no closures per socket. */
class Transport implements ServerSocket {
  constructor(private readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) return resolve();
      this.socket.send(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    // A close frame's reason holds at most 123 bytes (ws throws beyond): graphql-ws's may quote a client's operation id.
    this.socket.close(code, Buffer.byteLength(reason) <= 123 ? reason : "Bad request");
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    const socket = this.socket;
    // Not an async function awaiting `cb`: graphql-ws's handler of a subscribe message runs for the
    // subscription's whole life, and a frame suspended here would hold the message's Buffer as long.
    socket.on("message", (data) => {
      cb(String(data)).catch((error: unknown) => {
        log.error("graphql-ws message handling failed", { error: String(error) });
        socket.close(CloseCode.InternalServerError, "Internal server error");
      });
    });
  }
}

/**
 * graphql-ws (`makeServer`, the library's protocol implementation) on the `ws` server `wsServer`:
 * what `useServer` from `graphql-ws/use/ws` does, with less held per idle socket (issue 14, idle
 * subscriptions ≤ 15 KiB each). The differences, none visible to a client:
 * - `ctx.extra` is what `options.extra` copies from the upgrade request (useServer keeps the whole
 *   `IncomingMessage`, its headers and raw headers, for the socket's life);
 * - one keep-alive sweep for all sockets: every `keepAliveMs / 12` one twelfth of them (by the
 *   order they connected) are pinged, and those that did not answer their previous ping, sent
 *   `keepAliveMs` earlier, are terminated (useServer: an interval per socket, and a timer per ping);
 * - the `connection_init` wait timer is dropped once `connection_init` arrives (graphql-ws's own
 *   stays referenced for the socket's life), closing with the same 4408 when it fires;
 * - a message's Buffer is not held while its handler runs (a subscribe message's runs as long as
 *   the subscription).
 * Returns what closes every socket (1001) and the server.
 */
export function serveGraphqlWs<P extends Record<string, unknown> | undefined, E extends SocketExtra>(
  options: ServerOptions<P, E>,
  wsServer: WebSocketServer,
  { extra, keepAliveMs = 12_000, connectionInitWaitMs = 3_000 }: TransportOptions<E>,
): { dispose: () => Promise<void> } {
  const isProd = process.env.NODE_ENV === "production";
  const initWaits = new WeakMap<WebSocket, NodeJS.Timeout>();
  const endInitWait = (socket: WebSocket) => {
    clearTimeout(initWaits.get(socket));
    initWaits.delete(socket);
  };
  const server = makeServer<P, E>({
    ...options,
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      endInitWait(ctx.extra.socket);
      return options.onConnect?.(ctx);
    },
  });
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.once("error", (error) => {
    log.error("WebSocket server error", { error: String(error) });
    for (const client of wsServer.clients) client.close(CloseCode.InternalServerError, "Internal server error");
  });

  const SLICES = 12;
  const slices = Array.from({ length: SLICES }, () => new Set<WebSocket>());
  let joined = 0;
  let turn = 0;
  const sweep =
    keepAliveMs > 0 && isFinite(keepAliveMs)
      ? setInterval(
          () => {
            const slice = slices[turn];
            turn = (turn + 1) % SLICES;
            for (const socket of slice) {
              if (socket.readyState !== WebSocket.OPEN) continue;
              if (awaitingPong.has(socket)) {
                socket.terminate();
                continue;
              }
              awaitingPong.add(socket);
              socket.ping();
            }
          },
          Math.max(1, Math.floor(keepAliveMs / SLICES)),
        )
      : null;
  sweep?.unref();

  wsServer.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    socket.on("error", onSocketError);
    socket.on("pong", onPong);
    const slice = slices[joined++ % SLICES];
    slice.add(socket);
    if (connectionInitWaitMs > 0 && isFinite(connectionInitWaitMs)) {
      initWaits.set(
        socket,
        setTimeout(() => {
          initWaits.delete(socket);
          socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
        }, connectionInitWaitMs),
      );
    }
    const closed = server.opened(new Transport(socket), extra(socket, request));
    socket.once("close", (code: number, reason: Buffer) => {
      endInitWait(socket);
      slice.delete(socket);
      if (!isProd && code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) {
        log.warn(`The deprecated subprotocol "${DEPRECATED_GRAPHQL_WS_PROTOCOL}" of subscriptions-transport-ws is not supported: use graphql-ws.`);
      }
      void closed(code, String(reason));
    });
  });

  return {
    dispose: async () => {
      if (sweep) clearInterval(sweep);
      for (const client of wsServer.clients) client.close(1001, "Going away");
      wsServer.removeAllListeners();
      await new Promise<void>((resolve, reject) => wsServer.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
