import "reflect-metadata";
import { loadConfig } from "./config";
import { setLogLevel, log } from "./log";
import { openDatabase } from "./db/open";
import { createGateway } from "./server";

/** `npm start`: database (embedded unless DATABASE_URL), migrations, then the gateway on PORT. */
async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.logLevel);
  const db = await openDatabase(config);
  const gateway = await createGateway(config, db.dataSource);
  const port = await gateway.listen(config.port, config.host);
  const base = config.publicUrl;
  log.info(`Workgraph is listening on port ${port}`);
  log.info(`GraphQL API: POST ${base}/graphql  ·  WebSocket: ${base.replace(/^http/, "ws")}/graphql`);
  log.info(`Playground: open ${base}/graphql in a browser`);
  log.info("Credentials: `npm run cli -- demo` (demo corp) or `npm run cli -- corp create --name <name> --edition BASIC`, then POST /oauth/token (see README)");

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
  log.error("Workgraph failed to start", { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
