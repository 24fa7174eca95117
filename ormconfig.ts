import "reflect-metadata";
import { createDataSource } from "./src/db/data-source";

/**
 * The DataSource the TypeORM CLI uses (`npm run migration:run`, `npm run migration:generate`).
 * It needs DATABASE_URL; `npm start` runs the migrations itself, on the embedded server too.
 */
const url = process.env.DATABASE_URL;
if (!url) throw new Error("Set DATABASE_URL for the TypeORM CLI (npm start needs none: it migrates on its own).");
export default createDataSource(url);
