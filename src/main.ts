import "reflect-metadata";
import { createServer } from "node:net";
import { loadConfig, type Config } from "./config";
import { setLogLevel, log } from "./log";
import { openDatabase, type OpenDatabase } from "./db/open";
import { createGateway } from "./server";

/** A start-up failure a person can act on: printed as one plain line, no stack, no JSON. */
class StartError extends Error {}

/** The error to show for a failed listen on `port` (issue 10: a busy port printed a stack trace and JSON). */
function listenError(e: unknown, config: Config): Error {
  const code = (e as { code?: string }).code;
  const where = `port ${config.port}${config.host === "0.0.0.0" ? "" : ` on ${config.host}`}`;
  if (code === "EADDRINUSE") {
    return new StartError(
      `Workgraph cannot start: ${where} is already in use (another Workgraph, or another program). Stop it, or choose another port: PORT=${config.port + 1} npm start`,
    );
  }
  if (code === "EACCES") return new StartError(`Workgraph cannot start: no permission to listen on ${where}. Choose a port above 1023: PORT=4000 npm start`);
  if (code === "EADDRNOTAVAIL")
    return new StartError(`Workgraph cannot start: HOST=${config.host} is not an address of this machine. Leave HOST unset to listen on every interface.`);
  return e instanceof Error ? e : new Error(String(e));
}

/** Fails fast on a busy port, before the (slow) database start: listens once and closes. */
async function checkPort(config: Config): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (e) => reject(listenError(e, config)));
    probe.listen(config.port, config.host, () => probe.close(() => resolve()));
  });
}

/** `npm start`: database (embedded unless DATABASE_URL), migrations, then the gateway on PORT. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    throw new StartError(`Workgraph cannot start: ${(e as Error).message}`);
  }
  setLogLevel(config.logLevel);
  if (config.port !== 0) await checkPort(config);
  const db: OpenDatabase = await openDatabase(config);
  const gateway = await createGateway(config, db.dataSource);
  let port: number;
  try {
    port = await gateway.listen(config.port, config.host);
  } catch (e) {
    await gateway.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw listenError(e, config);
  }
  const base = config.publicUrl;
  log.info(`Workgraph is listening on port ${port}`);
  log.info(`GraphQL API: POST ${base}/graphql  ·  WebSocket: ${base.replace(/^http/, "ws")}/graphql`);
  log.info(`Playground: open ${base}/graphql in a browser`);
  log.info(
    "Credentials: `npm run cli -- demo` (a demo corp) or `npm run cli -- corp create --name <name> --edition PROFESSIONAL` (import and export need PROFESSIONAL), then POST /oauth/token (see the README's tour)",
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining in-flight requests and closing`);
    const force = setTimeout(() => {
      log.error("shutdown took longer than 15 s; exiting");
      process.exit(1);
    }, 15000);
    force.unref();
    try {
      await gateway.stop();
      await db.close();
      process.exit(0);
    } catch (e) {
      log.error("shutdown failed", { error: String(e) });
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((e: unknown) => {
  if (e instanceof StartError) process.stderr.write(`${e.message}\n`);
  else log.error("Workgraph failed to start", { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
