import { TestGateway, type TestCorp, type Untyped } from "./harness";
import { Edition } from "../src/domain/enums";
import { toGlobalId } from "../src/schema/global-id";
import { directorySnapshot, eventCount, HEADER, importCsv } from "./directory-files";

/**
 * Member export (issue 4) over real HTTP: `exportMembers` answers a URL, `GET /exports/:id` streams
 * the CSV in the import format; an export imported with REPLACE changes nothing; who may export
 * what; editions; tenancy.
 */

const EXPORT = `mutation($input: ExportMembersInput!) { exportMembers(input: $input) { url expiresAt } }`;
const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;

describe("member export", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  /** exportMembers, then GET the URL with the same token; returns the CSV text. */
  const exportCsv = async (token: string, filter: Record<string, unknown> = {}): Promise<string> => {
    const { url } = (await gw.data(token, EXPORT, { input: { filter } })).exportMembers;
    const res = await download(url, token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    return res.text();
  };
  /** The URL names the public base (PUBLIC_URL); the test server listens elsewhere. */
  const download = (url: string, token: string | null) =>
    fetch(url.replace("http://workgraph.test", gw.url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const departmentPk = async (corp: TestCorp, name: string) =>
    (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = $2`, [corp.corpPk, name]))[0].id as string;

  const FILE = [
    HEADER,
    "E1,Ada Lovelace,Shanghai/Sales;Beijing,Engineer,8001,+8613800000001,ada@example.com",
    `E2,"Bob, Jr.",Shanghai/Sales,"Says ""hi""",,,`,
    "E3,Root Person,/,,,,",
    "E4,Slash,R&D\\/Labs;Semi\\;Colon,,,,",
    "E5,Deep,Shanghai/Sales/East,Lead,,'+8613800000005,",
  ].join("\r\n");

  it("streams the import format; importing it with REPLACE changes nothing", async () => {
    const corp = await gw.createCorp("Export Corp");
    const loaded = await importCsv(gw, corp.token, FILE);
    expect(loaded).toMatchObject({ status: "SUCCEEDED", created: 5, failed: 0 });
    await gw.sql(`UPDATE member SET status = 'RESIGNED' WHERE corp_id = $1 AND employee_id = 'E5'`, [corp.corpPk]);

    const csv = await exportCsv(corp.token);
    expect(csv).toBe(
      [
        HEADER,
        // A cell starting with + is written with a ' (CSV injection); the import drops it again.
        "E1,Ada Lovelace,Shanghai/Sales;Beijing,Engineer,8001,'+8613800000001,ada@example.com",
        `E2,"Bob, Jr.",Shanghai/Sales,"Says ""hi""",,,`,
        "E3,Root Person,/,,,,",
        "E4,Slash,R&D\\/Labs;Semi\\;Colon,,,,",
        "",
      ].join("\r\n"),
    );
    const before = await directorySnapshot(gw, corp.corpPk);
    const events = await eventCount(gw, corp.corpPk);
    // E5 is RESIGNED: not in the file, and REPLACE leaves resigned members as they are.
    const job = await importCsv(gw, corp.token, csv, { mode: "REPLACE" });
    expect(job).toMatchObject({ status: "SUCCEEDED", total: 4, created: 0, updated: 0, resigned: 0, failed: 0, departmentsCreated: 0 });
    expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
    expect(await eventCount(gw, corp.corpPk)).toBe(events);

    // Filters: a subtree, a status.
    const sales = toGlobalId("Department", await departmentPk(corp, "Sales"));
    expect((await exportCsv(corp.token, { departmentId: sales })).split("\r\n").map((l) => l.split(",")[0])).toEqual(["employeeId", "E1", "E2", ""]);
    expect((await exportCsv(corp.token, { status: "RESIGNED" })).split("\r\n")).toEqual([HEADER, "E5,Deep,Shanghai/Sales/East,Lead,,'+8613800000005,", ""]);
  });

  it("leaders export the subtrees they lead, and nothing outside; the file re-imports as a no-op", async () => {
    const corp = await gw.createCorp();
    await importCsv(gw, corp.token, [HEADER, "L1,Leader,Sales,,,,", "L2,Seller,Sales/East,,,,", "L3,Both,Sales;Ops,,,,", "L4,Opsy,Ops,,,,"].join("\n"));
    await gw.sql(`UPDATE member SET status = 'ACTIVE' WHERE corp_id = $1`, [corp.corpPk]);
    const pk = async (e: string) => (await gw.sql(`SELECT id::text FROM member WHERE corp_id = $1 AND employee_id = $2`, [corp.corpPk, e]))[0].id;
    const sales = await departmentPk(corp, "Sales");
    await gw.data(corp.token, UPDATE_DEPARTMENT, { input: { id: toGlobalId("Department", sales), leaderIds: [toGlobalId("Member", await pk("L1"))] } });
    const leader = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, await pk("L1"));

    const outside = await gw.gql(leader, EXPORT, { input: { filter: { departmentId: toGlobalId("Department", await departmentPk(corp, "Ops")) } } });
    expect(outside.body.errors![0].extensions).toMatchObject({ code: "FORBIDDEN" });
    expect(outside.body.data).toBeNull();

    // L3 is also in Ops (not led): left out, so that neither Ops nor L3 can be changed through the file.
    const csv = await exportCsv(leader, { departmentId: toGlobalId("Department", sales), includeSubdepartments: true });
    expect(csv).toBe([HEADER, "L1,Leader,Sales,,,,", "L2,Seller,Sales/East,,,,", ""].join("\r\n"));
    expect(await exportCsv(leader)).toBe(csv);
    const before = await directorySnapshot(gw, corp.corpPk);
    const job = await importCsv(gw, leader, csv, { mode: "REPLACE" });
    expect(job).toMatchObject({ status: "SUCCEEDED", created: 0, updated: 0, resigned: 0, failed: 0 });
    expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);

    const plain = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, await pk("L4"));
    expect((await gw.gql(plain, EXPORT, { input: {} })).body.errors![0].extensions).toMatchObject({ code: "FORBIDDEN" });
  });

  it("a second corp, another app and a restricted app get nothing they should not; BASIC needs an upgrade", async () => {
    const corp = await gw.createCorp();
    await importCsv(gw, corp.token, [HEADER, "A1,In,Inside,,,,", "A2,Out,Outside,,,,", "A3,Across,Inside;Outside,,,,"].join("\n"));
    const { url } = (await gw.data(corp.token, EXPORT, { input: {} })).exportMembers;
    expect(url).toMatch(/^http:\/\/workgraph\.test\/exports\/[0-9a-f-]{36}$/);

    const other = await gw.createCorp();
    const foreign = await download(url, other.token);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as Untyped).errors[0].extensions.code).toBe("NOT_FOUND");
    const secondApp = await gw.createApp(corp.corpPk, ["directory:read"]);
    expect((await download(url, secondApp.token)).status).toBe(404);
    expect((await download(url, null)).status).toBe(401);
    expect((await download(`${gw.url}/exports/not-an-id`, corp.token)).status).toBe(404);

    const restricted = await gw.createApp(corp.corpPk, ["directory:read"], [await departmentPk(corp, "Inside")]);
    expect(await exportCsv(restricted.token)).toBe([HEADER, "A1,In,Inside,,,,", ""].join("\r\n"));
    const hidden = await gw.gql(restricted.token, EXPORT, {
      input: { filter: { departmentId: toGlobalId("Department", await departmentPk(corp, "Outside")) } },
    });
    expect(hidden.body.errors![0].extensions).toMatchObject({ code: "NOT_FOUND", field: "input.filter.departmentId" });

    await gw.sql(`UPDATE member_export SET expires_at = now() - interval '1 second' WHERE corp_id = $1`, [corp.corpPk]);
    expect((await download(url, corp.token)).status).toBe(404);

    const basic = await gw.createCorp("Basic Export", Edition.BASIC);
    expect((await gw.gql(basic.token, EXPORT, { input: {} })).body.errors![0].extensions).toMatchObject({ code: "EDITION_REQUIRED" });
    const noScope = await gw.createApp(corp.corpPk, ["messages:read"]);
    expect((await gw.gql(noScope.token, EXPORT, { input: {} })).body.errors![0].extensions).toMatchObject({ code: "FORBIDDEN" });
  });

  it("streams a large directory in batches", async () => {
    const corp = await gw.createCorp();
    const lines = Array.from({ length: 4500 }, (_, i) => `B${i},Member ${i},Team ${i % 7};Shared,,,,`);
    expect(await importCsv(gw, corp.token, [HEADER, ...lines].join("\n"))).toMatchObject({ status: "SUCCEEDED", created: 4500 });
    const csv = await exportCsv(corp.token);
    const rows = csv.trimEnd().split("\r\n");
    expect(rows).toHaveLength(4501);
    expect(new Set(rows.slice(1).map((r) => r.split(",")[0])).size).toBe(4500);
    expect(await importCsv(gw, corp.token, csv, { mode: "REPLACE" })).toMatchObject({ status: "SUCCEEDED", created: 0, updated: 0, resigned: 0 });
  });
  it("neutralises cells a spreadsheet would run as formulas, and reads its own export back unchanged (issue 11, finding 6)", async () => {
    const corp = await gw.createCorp("Formula Corp");
    const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;
    const DEPARTMENT = `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id } } }`;
    const formulaDept = (await gw.data(corp.token, DEPARTMENT, { input: { name: "=cmd|' /C calc'!A0" } })).createDepartment.department.id;
    const names: [string, string, string | null][] = [
      ["F1", '=HYPERLINK("http://x","y")', null],
      ["F2", "+1+2", "-minus"],
      ["F3", "@SUM(A1)", "'quoted already"],
      ["F4", "'=already neutral looking", "''+two quotes"],
      ["F5", "Plain", "'"],
    ];
    for (const [employeeId, name, title] of names) {
      await gw.data(corp.token, CREATE_MEMBER, { input: { employeeId, name, title, departmentIds: [employeeId === "F5" ? formulaDept : corp.rootId] } });
    }
    await gw.data(corp.token, CREATE_MEMBER, {
      input: { employeeId: "-E6", name: "Dash Id", extension: "-1", mobile: "+8613800000006", departmentIds: [corp.rootId] },
    });
    const csv = await exportCsv(corp.token);
    expect(csv).toBe(
      [
        HEADER,
        `F1,"'=HYPERLINK(""http://x"",""y"")",/,,,,`,
        "F2,'+1+2,/,'-minus,,,",
        "F3,'@SUM(A1),/,'quoted already,,,",
        "F4,''=already neutral looking,/,'''+two quotes,,,",
        "F5,Plain,'=cmd|' \\/C calc'!A0,',,,",
        "'-E6,Dash Id,/,,'-1,'+8613800000006,",
        "",
      ].join("\r\n"),
    );
    // No cell starts with a formula character.
    for (const line of csv.trimEnd().split("\r\n")) {
      for (const cell of line.split(",")) expect(cell.replace(/^"/, "")).not.toMatch(/^[=+\-@\t\r]/);
    }
    const before = await directorySnapshot(gw, corp.corpPk);
    const events = await eventCount(gw, corp.corpPk);
    const job = await importCsv(gw, corp.token, csv, { mode: "REPLACE" });
    expect(job).toMatchObject({ status: "SUCCEEDED", total: 6, created: 0, updated: 0, resigned: 0, failed: 0, departmentsCreated: 0 });
    expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
    expect(await eventCount(gw, corp.corpPk)).toBe(events);
    const stored = await gw.sql(`SELECT employee_id, name, title FROM member WHERE corp_id = $1 AND employee_id LIKE 'F%' ORDER BY employee_id`, [corp.corpPk]);
    expect(stored.map((r: Untyped) => [r.employee_id, r.name, r.title])).toEqual(names);
  });

  it("a restricted app's export never names a department it cannot see, and re-imports as a no-op (issue 11, finding 7)", async () => {
    const corp = await gw.createCorp();
    await importCsv(gw, corp.token, [HEADER, "R1,East,A-Sales/A-SalesEast,,,,", "R2,Team,A-Sales/A-SalesEast/Team 1,,,,", "R3,Top,A-Sales,,,,"].join("\n"));
    const east = await departmentPk(corp, "A-SalesEast");
    const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [east]);
    const csv = await exportCsv(app.token);
    expect(csv).toBe([HEADER, "R1,East,~/A-SalesEast,,,,", "R2,Team,~/A-SalesEast/Team 1,,,,", ""].join("\r\n"));
    expect(csv).not.toContain("A-Sales/");
    const before = await directorySnapshot(gw, corp.corpPk);
    const job = await importCsv(gw, app.token, csv, { mode: "REPLACE" });
    expect(job).toMatchObject({ status: "SUCCEEDED", total: 2, created: 0, updated: 0, resigned: 0, failed: 0, departmentsCreated: 0 });
    expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
    // The same relative paths place and create members under what the app sees; an unknown top is "outside".
    const more = await importCsv(gw, app.token, [HEADER, "R4,New,~/A-SalesEast/Team 2,,,,", "R5,Lost,~/A-Sales,,,,", "R6,Lost,~/Nope/X,,,,"].join("\n"));
    expect(more).toMatchObject({ status: "SUCCEEDED", created: 1, departmentsCreated: 1, failed: 2 });
    expect(more.errors.nodes).toEqual([
      { row: 2, field: "department", code: "FORBIDDEN", message: 'Department "~/A-Sales" is outside the part of the directory you may manage.' },
      { row: 3, field: "department", code: "FORBIDDEN", message: 'Department "~/Nope/X" is outside the part of the directory you may manage.' },
    ]);
    const team2 = await gw.sql(`SELECT p.name AS parent FROM department d JOIN department p ON p.id = d.parent_id WHERE d.corp_id = $1 AND d.name = 'Team 2'`, [
      corp.corpPk,
    ]);
    expect(team2).toEqual([{ parent: "A-SalesEast" }]);
    // The whole-corp app still writes whole paths.
    expect(await exportCsv(corp.token)).toContain("R2,Team,A-Sales/A-SalesEast/Team 1,,,,");
  });
});
