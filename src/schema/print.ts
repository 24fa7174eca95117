import "reflect-metadata";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { buildWorkgraphSchema, printWorkgraphSchema } from "./build";

/** `npm run schema:print`: writes schema.graphql (the public contract, reviewed in diffs). */
void buildWorkgraphSchema().then((schema) => {
  const file = path.resolve(__dirname, "../../schema.graphql");
  writeFileSync(file, printWorkgraphSchema(schema));
  process.stdout.write(`wrote ${file}\n`);
});
