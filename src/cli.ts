import "reflect-metadata";
import { parseArgs } from "node:util";
import { loadConfig, SETTINGS } from "./config";
import { setLogLevel } from "./log";
import { openDatabase } from "./db/open";
import { createDeps } from "./server";
import { DomainError } from "./errors/domain-error";
import { Edition } from "./schema/enums";
import { fromGlobalId } from "./schema/global-id";
import { loadDemo } from "./demo";

const USAGE = `Workgraph CLI (uses DATABASE_URL, or the embedded PostgreSQL when unset)

  npm run cli -- corp create --name <name> --edition <BASIC|PROFESSIONAL>
      A corp with its root department and an administrator app holding every scope.
  npm run cli -- app create --corp <corpId> --scopes "directory:read directory:write" [--departments <id,id>] [--name <name>]
      A restricted app: only those scopes, only the subtrees of those departments (global ids).
  npm run cli -- vendor-app create --name <name> --scopes "directory:read customers:read" [--redirect-uris <uri,uri>]
      A vendor app (not tied to a corp): prints its clientId and clientSecret. Corps install it with installApp;
      with redirect URIs it may also sign members in (/oauth/authorize with corp_id).
  npm run cli -- keys rotate
      Retires the token signing key and creates a new one; the JWKS keeps the old key until its tokens expired.
  npm run cli -- demo
      A demo corp: 52 departments on 4 levels, 500 members.
  npm run cli -- config
      The configuration table (markdown), as in the README.

Each create command prints one JSON line: {"corpId": …, "clientId": …, "clientSecret": …}`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      edition: { type: "string" },
      corp: { type: "string" },
      scopes: { type: "string" },
      departments: { type: "string" },
      "redirect-uris": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals.join(" ");
  if (values.help || !command) return void process.stdout.write(USAGE + "\n");
  if (command === "config") {
    const rows = SETTINGS.map((s) => `| \`${s.env}\` | \`${s.defaultText}\` | ${s.description}${s.secret ? " (secret)" : ""} |`);
    return void process.stdout.write(["| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n") + "\n");
  }
  if (!["corp create", "app create", "vendor-app create", "keys rotate", "demo"].includes(command)) throw new UsageError(`Unknown command "${command}".`);

  const config = loadConfig();
  setLogLevel(process.env.LOG_LEVEL ? config.logLevel : "warn");
  const db = await openDatabase(config);
  try {
    const deps = await createDeps(config, db.dataSource);
    let out: object;
    if (command === "corp create") {
      if (!values.name) throw new UsageError("--name is required.");
      const edition = (values.edition ?? "BASIC").toUpperCase() as Edition;
      const corp = await deps.services.corps.create({ name: values.name, edition });
      out = { corpId: corp.corpId, clientId: corp.clientId, clientSecret: corp.clientSecret };
    } else if (command === "app create") {
      if (!values.corp) throw new UsageError("--corp is required.");
      const corpPk = fromGlobalId(values.corp, "Corp", "corp");
      const departmentPks = values.departments ? values.departments.split(/[,\s]+/).filter(Boolean).map((id) => fromGlobalId(id, "Department", "departments")) : null;
      const app = await deps.services.apps.create({
        corpPk,
        name: values.name ?? "Restricted app",
        scopes: (values.scopes ?? "directory:read").split(/[,\s]+/).filter(Boolean),
        departmentPks,
      });
      out = { corpId: app.corpId, clientId: app.clientId, clientSecret: app.clientSecret };
    } else if (command === "vendor-app create") {
      if (!values.name) throw new UsageError("--name is required.");
      out = await deps.services.apps.createVendorApp({
        name: values.name,
        scopes: (values.scopes ?? "").split(/[,\s]+/).filter(Boolean),
        redirectUris: (values["redirect-uris"] ?? "").split(/[,\s]+/).filter(Boolean),
      });
    } else if (command === "keys rotate") {
      out = await deps.tokens.rotateKeys();
    } else {
      out = await loadDemo(deps);
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  } finally {
    await db.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) process.stderr.write(`${e.message}\n\n${USAGE}\n`);
  else if (e instanceof DomainError) process.stderr.write(`${e.code}${e.details.field ? ` (${e.details.field})` : ""}: ${e.message}\n`);
  else process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
