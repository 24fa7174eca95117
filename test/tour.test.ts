import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, TestGateway, type TestCorp, type Untyped } from "./harness";

/** The README's five-minute tour, end to end: token, query, mutation, subscription. */
describe("five-minute tour", () => {
  let gw: TestGateway;
  let corp: TestCorp;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Tour Corp");
  });
  afterAll(() => gw.stop());

  it("queries the tree with a client-credentials token", async () => {
    const data = await gw.data(corp.token, `{ viewer { role corp { name } } departments { nodes { id name depth children { id } } } }`);
    expect(data).toEqual({
      viewer: { role: "APP", corp: { name: "Tour Corp" } },
      departments: { nodes: [{ id: corp.rootId, name: "Tour Corp", depth: 0, children: [] }] },
    });
  });

  it("streams a change made over HTTP to a graphql-ws subscriber", async () => {
    const client = gw.wsClient(corp.token);
    const sub = gw.subscribe(client, `subscription { directoryEvents { cursor type department { name } } }`);
    // Live-only subscriptions start at the log's end: give the server a moment to register it.
    await new Promise((r) => setTimeout(r, 300));
    const created = await gw.data(corp.token, `mutation { createDepartment(input: { name: "Sales" }) { department { id name parent { name } } } }`);
    expect(created.createDepartment.department).toMatchObject({ name: "Sales", parent: { name: "Tour Corp" } });
    const [event] = await sub.waitFor(1);
    expect(event.data.directoryEvents).toMatchObject({ type: "DEPARTMENT_CREATED", department: { name: "Sales" } });
    expect(event.data.directoryEvents.cursor).toMatch(/^[0-9]+$/);
    sub.stop();
    await client.dispose();
  });
});

/**
 * The README's tour and SSO walkthrough, run as written (issue 10): every `bash` block of "Five-minute
 * tour" and the walkthrough of "Sign in with Workgraph", in one shell, in order, against a gateway on
 * this file's database (`localhost:4000` replaced by its address). Left out: the example app's last
 * line (a long-running server for a browser); the live subscriber runs in the background for a while.
 */
describe("the README's commands", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    // The server names itself by PUBLIC_URL in what it returns (a group robot's webhook URL): its own address here.
    const port = await freePort();
    gw = await TestGateway.start({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  });
  afterAll(() => gw.stop());

  it("run as written: corp, token, query, subscription, mutation, restricted app, SSO app, member, activation link", async () => {
    const root = path.resolve(__dirname, "..");
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    const section = (from: string, to: string) => readme.slice(readme.indexOf(from), readme.indexOf(to, readme.indexOf(from)));
    const blocks = (text: string) => [...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
    const tour = blocks(section("## Five-minute tour", "## The API in brief"));
    const sso = blocks(section("## Sign in with Workgraph", "The heart of it")).find((b) => b.includes("createActivationLink"))!;
    expect(tour.length).toBeGreaterThanOrEqual(6);
    expect(sso).toBeDefined();
    const script = [
      "set -euo pipefail",
      ...tour.map((b) => (b.startsWith("node -e '") ? `( timeout 8 ${b.trim()} > "$SUB_LOG" 2>&1 & )\nsleep 2` : b)),
      sso.replace(/^CLIENT_ID=\$APP_ID CLIENT_SECRET=\$APP_SECRET node examples\/sso-app\/app\.mjs$/m, 'echo "sso-app: $APP_ID"'),
    ]
      .join("\n")
      .replaceAll("http://localhost:4000", gw.url)
      .replaceAll("ws://localhost:4000", gw.url.replace(/^http/, "ws"));
    const subLog = path.join(tmpdir(), `wg-tour-sub-${process.pid}.log`);
    const database = new URL(process.env.WORKGRAPH_TEST_DATABASE_URL ?? process.env.DATABASE_URL!);
    database.pathname = `/${gw.database}`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { cwd: root, env: { ...process.env, DATABASE_URL: database.toString(), SUB_LOG: subLog, LOG_LEVEL: "" } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    expect({ code: result.code, stderr: result.code === 0 ? "" : result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stderr).toMatch(/^Created corp "Acme" \(PROFESSIONAL, corpId /);
    expect(result.stdout).toMatch(/"viewer":\{"role":"APP","corp":\{"name":"Acme","edition":"PROFESSIONAL"\}\}/);
    expect(result.stdout).toMatch(/"createDepartment":\{"department":\{"id":"[^"]+","name":"Sales","depth":1\}\}/);
    expect(result.stdout).toMatch(new RegExp(`${gw.config.publicUrl.replace(/[.]/g, "\\.")}/activate/[A-Za-z0-9_-]+\\n`));
    expect(result.stdout).toMatch(/sso-app: wg_/);
    expect(readFileSync(subLog, "utf8")).toContain('"type":"DEPARTMENT_CREATED","department":{"name":"Sales"}');
    rmSync(subLog, { force: true });

    const [corp] = await gw.sql(`SELECT id::text, name, edition FROM corp`);
    expect(corp).toMatchObject({ name: "Acme", edition: "PROFESSIONAL" });
    const apps = await gw.sql(`SELECT name, scopes, redirect_uris, visible_department_ids IS NULL AS whole FROM app WHERE corp_id = $1 ORDER BY id`, [corp.id]);
    expect(apps.map((a: Untyped) => [a.name, a.whole])).toEqual([
      ["Acme administrator", true],
      ["Restricted app", false],
      ["Example", true],
    ]);
    expect(apps[2].redirect_uris).toEqual(["http://localhost:3000/callback"]);
    expect(await gw.sql(`SELECT employee_id, name, email, status FROM member WHERE corp_id = $1 ORDER BY employee_id`, [corp.id])).toEqual([
      { employee_id: "E1001", name: "Ada Lovelace", email: "ada@example.com", status: "UNACTIVATED" },
      { employee_id: "E3001", name: "Sam Lee", email: null, status: "ACTIVE" },
      { employee_id: "E3002", name: "Kim Park", email: null, status: "ACTIVE" },
    ]);
    // Step 7: the live message, the robot's post (WeCom's answer), the resume with both missed messages in order.
    expect(result.stdout).toContain('{"errcode":0,"errmsg":"ok"}');
    expect(result.stdout).toMatch(
      /"messageEvents":\{"cursor":"\d+","type":"MESSAGE_ADDED","message":\{"seq":1,"sender":\{"kind":"APP"\},"content":\{"content":"Kick-off at 10:00"\}/,
    );
    expect(result.stdout).toMatch(
      /"seq":2,"sender":\{"kind":"BOT"\},"content":\{"content":"hello"\}[\s\S]*"seq":3,"sender":\{"kind":"APP"\},"content":\{"content":"Agenda in the doc"\}/,
    );
    expect(await gw.sql(`SELECT seq::int, client_message_id FROM message WHERE corp_id = $1 ORDER BY seq`, [corp.id])).toEqual([
      { seq: 1, client_message_id: "kickoff-1" },
      { seq: 2, client_message_id: expect.any(String) },
      { seq: 3, client_message_id: "kickoff-2" },
    ]);
  });
});
