import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { createDataSource } from "./data-source";
import { startEmbeddedPostgres } from "./embedded";
import { migrate } from "./migrate";
import { log } from "../log";

export interface OpenDatabase {
  dataSource: DataSource;
  embedded: boolean;
  /** Closes the pool and stops the embedded server if this process started it. */
  close(): Promise<void>;
}

/** The database of `npm start` and the CLI: DATABASE_URL, or the embedded PostgreSQL; migrated. */
export async function openDatabase(config: Config): Promise<OpenDatabase> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const pg = await startEmbeddedPostgres(config.embeddedPgDir, config.embeddedPgPort);
    url = pg.url;
    stopEmbedded = pg.stop;
    log.info("using the embedded PostgreSQL", { dir: config.embeddedPgDir, port: config.embeddedPgPort });
  }
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  await migrate(dataSource);
  return {
    dataSource,
    embedded: Boolean(stopEmbedded),
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      if (stopEmbedded) await stopEmbedded();
    },
  };
}
