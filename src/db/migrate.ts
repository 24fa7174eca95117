import type { DataSource } from "typeorm";
import { poolOf } from "./data-source";
import { log } from "../log";

/**
 * Runs pending migrations, each in its own transaction, under a session advisory lock so that
 * instances starting together migrate once.
 */
export async function migrate(dataSource: DataSource): Promise<void> {
  const lock = await poolOf(dataSource).connect();
  try {
    await lock.query("SELECT pg_advisory_lock(hashtextextended('workgraph-migrations', 0))");
    const ran = await dataSource.runMigrations({ transaction: "each" });
    if (ran.length) log.info("migrations applied", { migrations: ran.map((m) => m.name) });
  } finally {
    await lock.query("SELECT pg_advisory_unlock(hashtextextended('workgraph-migrations', 0))").catch(() => undefined);
    lock.release();
  }
}
