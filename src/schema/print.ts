import "reflect-metadata";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { printSchema } from "graphql";
import { buildWorkgraphSchema } from "./build";

/** `npm run schema:print`: writes schema.graphql (the public contract, reviewed in diffs). */
void buildWorkgraphSchema().then((schema) => {
  const file = path.resolve(__dirname, "../../schema.graphql");
  writeFileSync(file, printSchema(schema) + "\n");
  process.stdout.write(`wrote ${file}\n`);
});
