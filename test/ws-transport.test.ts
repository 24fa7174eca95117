import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { createClient } from "graphql-ws";
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { serveGraphqlWs, type SocketExtra } from "../src/http/ws-transport";
import { setLogLevel } from "../src/log";

/**
 * graphql-ws on `ws` through `serveGraphqlWs` (issue 14, idle subscriptions): the protocol is
 * graphql-ws's own (`makeServer`); what the adapter does itself is tested here with real sockets:
 * keep-alive (a socket that answers pings stays, one that does not is terminated), the
 * `connection_init` wait (4408), `ctx.extra` made from the upgrade request, quiet oversized frames
 * (1009), and the drain (1001).
 */

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: { address: { type: GraphQLString, resolve: (_root, _args, context: { address: string }) => context.address } },
  }),
});

interface Extra extends SocketExtra {
  address: string;
}

let server: http.Server;
let wsServer: WebSocketServer;
let endpoint: { dispose: () => Promise<void> };
let url: string;

beforeAll(async () => {
  setLogLevel("silent");
  server = http.createServer();
  wsServer = new WebSocketServer({ server, maxPayload: 1024 });
  endpoint = serveGraphqlWs<Record<string, unknown> | undefined, Extra>({ schema, context: (ctx) => ({ address: ctx.extra.address }) }, wsServer, {
    extra: (socket, request) => ({ socket, address: `${request.socket.remoteAddress} ${request.headers["x-test"] ?? ""}` }),
    keepAliveMs: 300,
    connectionInitWaitMs: 300,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await endpoint.dispose();
  await new Promise((resolve) => server.close(resolve));
});

/** A raw graphql-transport-ws socket, open. */
async function open(options: { autoPong?: boolean; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, "graphql-transport-ws", options);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return ws;
}

const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("serveGraphqlWs", () => {
  it("answers operations with the context made from ctx.extra, which was copied from the upgrade request", async () => {
    const client = createClient({
      url,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols: string | string[]) {
          super(address, protocols, { headers: { "x-test": "copied" } });
        }
      },
      retryAttempts: 0,
    });
    try {
      const result = await new Promise((resolve, reject) => {
        client.subscribe({ query: "{ address }" }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(result).toEqual({ data: { address: "127.0.0.1 copied" } });
    } finally {
      await client.dispose();
    }
  });

  it("pings every socket: one that answers stays open, one that does not is terminated", async () => {
    const answering = await open();
    const silent = await open({ autoPong: false });
    let pings = 0;
    answering.on("ping", () => pings++);
    for (const ws of [answering, silent]) ws.send(JSON.stringify({ type: "connection_init" }));
    const silentClosed = closeOf(silent);
    const started = Date.now();
    // Pinged within one period, terminated when the next round finds the ping unanswered.
    expect(await silentClosed).toBe(1006);
    expect(Date.now() - started).toBeLessThan(2000);
    await sleep(700);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it("closes a socket without connection_init after the wait (4408), keeps one whose init came in time", async () => {
    const idle = await open();
    const code = closeOf(idle);
    const acknowledged = await open();
    const ack = new Promise((resolve) => acknowledged.once("message", (data) => resolve(JSON.parse(String(data)))));
    acknowledged.send(JSON.stringify({ type: "connection_init" }));
    expect(await ack).toEqual({ type: "connection_ack" });
    expect(await code).toBe(4408);
    await sleep(500);
    expect(acknowledged.readyState).toBe(WebSocket.OPEN);
    acknowledged.close();
  });

  it("closes a socket that sends a frame over maxPayload with 1009, without logging it as an internal error", async () => {
    const write = jest.spyOn(process.stderr, "write");
    setLogLevel("warn");
    try {
      const ws = await open();
      const code = closeOf(ws);
      ws.send(JSON.stringify({ type: "connection_init", payload: { pad: "x".repeat(4096) } }));
      expect(await code).toBe(1009);
      expect(write).not.toHaveBeenCalled();
    } finally {
      setLogLevel("silent");
      write.mockRestore();
    }
  });
});

describe("serveGraphqlWs dispose", () => {
  it("closes every socket with 1001 and stops the keep-alive", async () => {
    const own = http.createServer();
    const ownWs = new WebSocketServer({ server: own });
    const ownEndpoint = serveGraphqlWs({ schema }, ownWs, { extra: (socket) => ({ socket }), keepAliveMs: 100 });
    await new Promise<void>((resolve) => own.listen(0, "127.0.0.1", resolve));
    const ws = new WebSocket(`ws://127.0.0.1:${(own.address() as AddressInfo).port}`, "graphql-transport-ws");
    await new Promise((resolve) => ws.once("open", resolve));
    const code = closeOf(ws);
    await ownEndpoint.dispose();
    expect(await code).toBe(1001);
    await new Promise((resolve) => own.close(resolve));
  });
});
