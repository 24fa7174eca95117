import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "pg";

/**
 * The compiled build and the CLI (issue 10): `npm run build` emits dist/ (src, migrations, not the
 * tests) and plain node runs it; the CLI migrates a fresh database from the compiled migrations,
 * says what it made, refuses a duplicate corp; the gateway names PORT on a busy port in one line.
 * Run through the same launcher as `npm run cli` (scripts/run-compiled.js).
 */

const ROOT = path.resolve(__dirname, "..");
const adminUrl = () => process.env.WORKGRAPH_TEST_DATABASE_URL ?? process.env.DATABASE_URL!;
const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "", ...env }, timeout: 60000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("build and CLI", () => {
  jest.setTimeout(120000);
  const database = `wg_test_cli_${randomBytes(4).toString("hex")}`;
  let url: string;
  const cli = (...args: string[]) => run([path.join(ROOT, "scripts/run-compiled.js"), "cli", ...args], { DATABASE_URL: url });

  beforeAll(async () => {
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    url = withDatabase(adminUrl(), database);
    const built = await run([path.join(ROOT, "scripts/run-compiled.js"), "--build"]);
    expect(built.code).toBe(0);
  });
  afterAll(async () => {
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it("npm run build emits src, migrations and ormconfig to dist/, not the tests", () => {
    for (const file of ["dist/src/main.js", "dist/src/cli.js", "dist/migrations/index.js", "dist/ormconfig.js"])
      expect(existsSync(path.join(ROOT, file))).toBe(true);
    expect(existsSync(path.join(ROOT, "dist/test"))).toBe(false);
  });

  it("corp create migrates a fresh database with the compiled migrations, prints the corp, credentials and next step; a second Acme is refused", async () => {
    const first = await cli("corp", "create", "--name", "Acme", "--edition", "PROFESSIONAL");
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout);
    expect(created).toEqual({ corpId: expect.any(String), clientId: expect.stringMatching(/^wg_/), clientSecret: expect.any(String) });
    expect(first.stdout.trim().split("\n")).toHaveLength(1);
    expect(first.stderr).toContain(`Created corp "Acme" (PROFESSIONAL, corpId ${created.corpId})`);
    expect(first.stderr).toContain(`curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials http://localhost:4000/oauth/token`);

    const again = await cli("corp", "create", "--name", " acme ", "--edition", "PROFESSIONAL");
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr.split("\n")[0]).toBe(`A corp named "Acme" already exists (corpId ${created.corpId}, PROFESSIONAL); nothing was created.`);
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      expect((await db.query(`SELECT name FROM corp ORDER BY id`)).rows).toEqual([{ name: "Acme" }]);
      const env = await cli("corp", "create", "--name", "Acme", "--allow-duplicate", "--env");
      expect(env.code).toBe(0);
      expect(env.stdout).toMatch(/^export CORP_ID='[^']+' CLIENT_ID='wg_[^']+' CLIENT_SECRET='[^']+'\n$/);
      expect((await db.query(`SELECT name, edition FROM corp ORDER BY id`)).rows).toEqual([
        { name: "Acme", edition: "PROFESSIONAL" },
        { name: "Acme", edition: "BASIC" },
      ]);
    } finally {
      await db.end();
    }
  });

  it("demo prints what it made, counted in the database, and the next commands", async () => {
    const demo = await cli("demo");
    expect(demo.code).toBe(0);
    const { corpId } = JSON.parse(demo.stdout);
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const pk = Buffer.from(corpId, "base64").toString().split(":")[1];
      const counts = (
        await db.query(
          `SELECT (SELECT count(*)::int FROM department WHERE corp_id = $1) AS departments, (SELECT count(*)::int FROM member WHERE corp_id = $1) AS members,
                  (SELECT max(depth)::int + 1 FROM department WHERE corp_id = $1) AS levels`,
          [pk],
        )
      ).rows[0];
      expect(counts).toEqual({ departments: 53, members: 500, levels: 4 });
    } finally {
      await db.end();
    }
    expect(demo.stderr).toMatch(/: 53 departments on 4 levels \(the root, 4 regions, 12 functions, 36 teams\), 500 members \(36 team leaders/);
    expect(demo.stderr).toContain("grant_type=client_credentials");
    const help = await run([path.join(ROOT, "scripts/run-compiled.js"), "cli", "--help"]);
    expect(help.stdout).toContain("53 departments on 4 levels");
  });

  it("a busy port: one plain line naming PORT, no stack trace, no JSON, exit 1", async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [path.join(ROOT, "dist/src/main.js")], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toBe(
        `Workgraph cannot start: port ${port} on 127.0.0.1 is already in use (another Workgraph, or another program). Stop it, or choose another port: PORT=${port + 1} npm start\n`,
      );
    } finally {
      busy.close();
    }
  });
});
