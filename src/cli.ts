import "reflect-metadata";
import { parseArgs } from "node:util";
import { loadConfig, SETTINGS } from "./config";
import { setLogLevel } from "./log";
import { openDatabase } from "./db/open";
import { createDeps } from "./server";
import { DomainError } from "./errors/domain-error";
import { Edition } from "./domain/enums";
import { fromGlobalId, toGlobalId } from "./schema/global-id";
import { loadDemo } from "./demo";
import { ALL_SCOPES } from "./policy/scopes";
import { RequestContext } from "./context";
import { MemberStatus } from "./domain/enums";

const USAGE = `Workgraph CLI (uses DATABASE_URL, or the embedded PostgreSQL when unset)

  npm run cli -- corp create --name <name> --edition <BASIC|PROFESSIONAL> [--allow-duplicate] [--env]
      A corp with its root department and an administrator app holding every scope (import and
      export need PROFESSIONAL). A corp of that name already existing is refused unless --allow-duplicate.
  npm run cli -- app create --corp <corpId> --scopes "directory:read directory:write" [--departments <id,id>] [--name <name>]
      A restricted app: only those scopes, only the subtrees of those departments (global ids).
  npm run cli -- vendor-app create --name <name> --scopes "directory:read customers:read" [--redirect-uris <uri,uri>]
      A vendor app (not tied to a corp): prints its clientId and clientSecret. Corps install it with installApp;
      with redirect URIs it may also sign members in (/oauth/authorize with corp_id).
  npm run cli -- member-tokens --corp <corpId> --client <clientId> --count <n> [--prefix <employeeIdPrefix>] [--scopes "..."]
      Access tokens for n members acting through the app (as SSO would issue them), for load tests:
      members <prefix>-0 … <prefix>-(n-1) (default prefix "load"), created ACTIVE in the root
      department when missing. Prints {"tokens": [...], "memberIds": [...]} (global ids).
  npm run cli -- keys rotate
      Retires the token signing key and creates a new one; the JWKS keeps the old key until its tokens expired.
  npm run cli -- demo [--env]
      A demo corp (PROFESSIONAL): 53 departments on 4 levels (the root, 4 regions, 12 functions,
      36 teams), 500 members.
  npm run cli -- config
      The configuration table (markdown), as in the README.

Each create command prints one JSON line on stdout: {"corpId": …, "clientId": …, "clientSecret": …}
(with --env instead: export CORP_ID=… CLIENT_ID=… CLIENT_SECRET=…, for eval "$(…)"), and says on
stderr what it made and the command to run next.`;

/** What a command made, for people (stderr, so stdout stays one parsable line). */
function tell(text: string): void {
  process.stderr.write(text.trimEnd() + "\n");
}

/** Single-quoted for a POSIX shell. */
const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** The next command a person runs with fresh app credentials. */
function tokenHint(config: { publicUrl: string }): string {
  return `Next, a token (CLIENT_ID and CLIENT_SECRET: the values printed, or exported by eval with --env):
  curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials ${config.publicUrl}/oauth/token`;
}

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
      "allow-duplicate": { type: "boolean" },
      client: { type: "string" },
      count: { type: "string" },
      prefix: { type: "string" },
      env: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals.join(" ");
  if (values.help || !command) return void process.stdout.write(USAGE + "\n");
  if (command === "config") {
    const rows = SETTINGS.map((s) => `| \`${s.env}\` | \`${s.defaultText}\` | ${s.description}${s.secret ? " (secret)" : ""} |`);
    return void process.stdout.write(["| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n") + "\n");
  }
  if (!["corp create", "app create", "vendor-app create", "member-tokens", "keys rotate", "demo"].includes(command)) {
    throw new UsageError(`Unknown command "${command}".`);
  }

  const config = loadConfig();
  setLogLevel(process.env.LOG_LEVEL ? config.logLevel : "warn");
  if (command === "corp create" && !values.name) throw new UsageError("--name is required.");
  const db = await openDatabase(config);
  try {
    const deps = await createDeps(config, db.dataSource);
    let out: object;
    if (command === "corp create") {
      const name = values.name!;
      const edition = (values.edition ?? "BASIC").toUpperCase() as Edition;
      const existing = await deps.services.corps.findByName(name);
      if (existing.length && !values["allow-duplicate"]) {
        const [first] = existing;
        const firstId = toGlobalId("Corp", first.corpPk);
        throw new UsageError(
          `A corp named "${first.name}" already exists (corpId ${firstId}, ${first.edition}); nothing was created.\n` +
            `  New credentials for it: npm run -s cli -- app create --corp ${firstId} --scopes "${ALL_SCOPES.join(" ")}" --name "Second admin app"\n` +
            `  Or a second corp of the same name: add --allow-duplicate.`,
          false,
        );
      }
      const corp = await deps.services.corps.create({ name, edition });
      const corpId = toGlobalId("Corp", corp.corpPk);
      out = { corpId, clientId: corp.clientId, clientSecret: corp.clientSecret };
      tell(
        `Created corp "${name.trim()}" (${edition}, corpId ${corpId}) with its root department "${name.trim()}" and an administrator app holding every scope over the whole corp.\n` +
          `The client secret is shown only now.\n${tokenHint(config)}`,
      );
    } else if (command === "app create") {
      if (!values.corp) throw new UsageError("--corp is required.");
      const corpPk = fromGlobalId(values.corp, "Corp", "corp");
      const departmentPks = values.departments
        ? values.departments
            .split(/[,\s]+/)
            .filter(Boolean)
            .map((id) => fromGlobalId(id, "Department", "departments"))
        : null;
      const app = await deps.services.apps.create({
        corpPk,
        name: values.name ?? "Restricted app",
        scopes: (values.scopes ?? "directory:read").split(/[,\s]+/).filter(Boolean),
        departmentPks,
      });
      const corpId = toGlobalId("Corp", app.corpPk);
      out = { corpId, clientId: app.clientId, clientSecret: app.clientSecret };
      tell(
        `Created app "${values.name ?? "Restricted app"}" in corp ${corpId}, scopes ${(values.scopes ?? "directory:read")
          .split(/[,\s]+/)
          .filter(Boolean)
          .join(" ")}, ` +
          `${departmentPks ? `seeing the subtrees of ${departmentPks.length} department(s)` : "seeing the whole corp"}. The client secret is shown only now.\n${tokenHint(config)}`,
      );
    } else if (command === "vendor-app create") {
      if (!values.name) throw new UsageError("--name is required.");
      out = await deps.services.apps.createVendorApp({
        name: values.name,
        scopes: (values.scopes ?? "").split(/[,\s]+/).filter(Boolean),
        redirectUris: (values["redirect-uris"] ?? "").split(/[,\s]+/).filter(Boolean),
      });
      tell(
        `Created vendor app "${values.name}" (not tied to a corp). A corp administrator installs it with installApp(input: {clientId: "…"}); then ask for a token per corp with corp_id (see the README).`,
      );
    } else if (command === "member-tokens") {
      if (!values.corp || !values.client || !values.count) throw new UsageError("--corp, --client and --count are required.");
      const count = Number(values.count);
      if (!Number.isInteger(count) || count < 1 || count > 100000) throw new UsageError("--count must be a whole number from 1 to 100,000.");
      const corpPk = fromGlobalId(values.corp, "Corp", "corp");
      const clientId = values.client;
      const prefix = values.prefix ?? "load";
      // The app itself (every scope it holds) creates the missing members, in one transaction.
      const appToken = deps.tokens.issue({ clientId, corpId: corpPk, scopes: ALL_SCOPES }).token;
      const ctx = new RequestContext(deps, await deps.tokens.authenticate(appToken), "cli");
      const memberPks = await ctx.transaction(async () => {
        const root = await deps.services.departments.root(ctx);
        const pks: string[] = [];
        for (let i = 0; i < count; i++) {
          const employeeId = `${prefix}-${i}`;
          const found = await deps.services.members.findByEmployeeId(ctx, employeeId);
          const member =
            found ?? (await deps.services.members.create(ctx, { employeeId, name: `Load ${i}`, departmentPks: [root.pk], status: MemberStatus.ACTIVE }));
          pks.push(member.pk);
        }
        return pks;
      });
      const scopes = (values.scopes ?? [...ctx.caller.scopes].join(" ")).split(/[,\s]+/).filter(Boolean);
      out = {
        tokens: memberPks.map((memberPk) => deps.tokens.issue({ clientId, corpId: corpPk, scopes, memberId: memberPk }).token),
        memberIds: memberPks.map((pk) => toGlobalId("Member", pk)),
      };
      tell(`Issued ${count} member access tokens through app ${clientId} (members ${prefix}-0 … ${prefix}-${count - 1}); they expire like any access token.`);
    } else if (command === "keys rotate") {
      out = await deps.tokens.rotateKeys();
      tell("Rotated the token signing key: new tokens are signed with the new key; the JWKS keeps the old one until its tokens expired.");
    } else {
      const demo = await loadDemo(deps);
      out = { corpId: demo.corpId, clientId: demo.clientId, clientSecret: demo.clientSecret };
      tell(
        `Created demo corp "${demo.name}" (PROFESSIONAL, corpId ${demo.corpId}): ${demo.departments} departments on ${demo.levels} levels ` +
          `(the root, ${demo.regions} regions, ${demo.functions} functions, ${demo.teams} teams), ${demo.members} members (${demo.leaders} team leaders, ` +
          `member E0001 a corp administrator), and an administrator app holding every scope. The client secret is shown only now.\n${tokenHint(config)}\n` +
          `Then, with TOKEN set to its access_token, the tree:\n` +
          `  curl -s ${config.publicUrl}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n` +
          `    -d '{"query":"{ departments { totalCount nodes { name children { name memberCount(includeSubdepartments: true) } } } }"}'`,
      );
    }
    const record = out as Record<string, unknown>;
    if (values.env && typeof record.clientId === "string") {
      const vars = [
        ["CORP_ID", record.corpId],
        ["CLIENT_ID", record.clientId],
        ["CLIENT_SECRET", record.clientSecret],
      ].filter(([, v]) => typeof v === "string");
      process.stdout.write(`export ${vars.map(([k, v]) => `${k}=${shellQuote(v as string)}`).join(" ")}\n`);
    } else {
      process.stdout.write(JSON.stringify(out) + "\n");
    }
  } finally {
    await db.close();
  }
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super(message);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) process.stderr.write(e.showUsage ? `${e.message}\n\n${USAGE}\n` : `${e.message}\n`);
  else if (e instanceof DomainError) process.stderr.write(`${e.code}${e.details.field ? ` (${e.details.field})` : ""}: ${e.message}\n`);
  else process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
