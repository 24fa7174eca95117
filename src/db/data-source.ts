import "reflect-metadata";
import { DataSource } from "typeorm";
import type { Pool } from "pg";
import { ENTITIES } from "../entities";
import { MIGRATIONS } from "../../migrations";

/**
 * The TypeORM DataSource: entities, migrations, and the pg pool every query runs on.
 * `synchronize` is never on: the schema is what `migrations/` says (a test proves the entities agree).
 */
export function createDataSource(url: string, poolSize = 10): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: "typeorm_migrations",
    synchronize: false,
    logging: false,
    extra: { max: poolSize },
  });
}

/** The pg pool behind the DataSource; runtime queries use it directly (prepared, no ORM overhead). */
export function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}
