import { TestGateway, type TestCorp } from "./harness";
import { Edition } from "../src/schema/enums";
import { toGlobalId } from "../src/schema/global-id";
import { directorySnapshot, eventCount, HEADER, IMPORT_JOB, IMPORT_MEMBERS, importCsv, JOB_FIELDS, postCsv, waitForJob } from "./directory-files";

/**
 * Batch import (issue 4) over real HTTP: `POST /imports` and `importMembers`, UPSERT and REPLACE,
 * row errors, the all-or-nothing and resign-ratio rules, dry runs, one job per corp, events,
 * permissions, editions, tenancy, and recovery of interrupted jobs.
 */

const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;
const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;

describe("batch import", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const members = (corp: TestCorp) =>
    gw.sql(
      `SELECT m.employee_id, m.name, m.title, m.extension, m.mobile, m.email, m.status,
              (SELECT d.path FROM department d WHERE d.id = m.main_department_id) AS main_path,
              (SELECT array_agg(d.name ORDER BY d.name) FROM member_department md JOIN department d ON d.id = md.department_id WHERE md.member_id = m.id) AS departments
         FROM member m WHERE m.corp_id = $1 ORDER BY m.employee_id`,
      [corp.corpPk],
    );
  const departmentNames = async (corp: TestCorp) =>
    (await gw.sql<{ name: string; depth: number }>(`SELECT name, depth FROM department WHERE corp_id = $1 ORDER BY depth, name`, [corp.corpPk])).map(
      (d) => `${d.depth}:${d.name}`,
    );

  describe("UPSERT", () => {
    it("creates members and missing departments; invalid rows are reported by row and field, valid ones land", async () => {
      const corp = await gw.createCorp("Upsert Corp");
      const csv = [
        HEADER,
        "E1,Ada Lovelace,Shanghai/Sales;Beijing,Engineer,8001,+8613800000001,ADA@example.com",
        "E2,Bob,Shanghai/Sales,,,,",
        "bad id!,Carol,Shanghai,,,,",
        "E4,Dan,Shanghai,,,,not-an-email",
        "E5,Eve,,,,,",
        "E1,Ada Again,Shanghai,,,,",
        `E7,"Quoted, Name",Shanghai/Sales,"Title with ""quotes""",,,`,
      ].join("\n");
      const job = await importCsv(gw, corp.token, csv);
      expect(job).toMatchObject({
        status: "SUCCEEDED",
        mode: "UPSERT",
        dryRun: false,
        total: 7,
        processed: 7,
        created: 3,
        updated: 0,
        resigned: 0,
        failed: 4,
        departmentsCreated: 3,
        reason: null,
      });
      expect(job.errors.nodes).toEqual([
        { row: 3, field: "employeeId", code: "BAD_USER_INPUT", message: "employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'" },
        { row: 4, field: "email", code: "BAD_USER_INPUT", message: "email must be an email address" },
        { row: 5, field: "department", code: "BAD_USER_INPUT", message: "A member needs at least one department." },
        { row: 6, field: "employeeId", code: "CONFLICT", message: "The employee id is also on row 1." },
      ]);
      expect(job.errors.totalCount).toBe(4);
      expect(await departmentNames(corp)).toEqual(["0:Upsert Corp", "1:Beijing", "1:Shanghai", "2:Sales"]);
      const rows = await members(corp);
      expect(rows.map((r: any) => [r.employee_id, r.name, r.title, r.extension, r.mobile, r.email, r.status, r.departments])).toEqual([
        ["E1", "Ada Lovelace", "Engineer", "8001", "+8613800000001", "ada@example.com", "UNACTIVATED", ["Beijing", "Sales"]],
        ["E2", "Bob", null, null, null, null, "UNACTIVATED", ["Sales"]],
        ["E7", "Quoted, Name", 'Title with "quotes"', null, null, null, "UNACTIVATED", ["Sales"]],
      ]);
      // The main department is the first path.
      const sales = (await gw.sql(`SELECT path FROM department WHERE corp_id = $1 AND name = 'Sales'`, [corp.corpPk]))[0].path;
      expect(rows[0].main_path).toBe(sales);
    });

    it("reports the same messages createMember gives for the same values (one set of rules)", async () => {
      const corp = await gw.createCorp();
      for (const [field, value] of [["name", " padded"], ["mobile", "12"], ["extension", "x1"]] as const) {
        const res = await gw.gql(corp.token, CREATE_MEMBER, { input: { employeeId: "E1", name: "Ok", departmentIds: [corp.rootId], [field]: value } });
        const apiMessage = res.body.errors![0].message.replace(`input.${field}: `, "");
        const cells = { name: "Ok", mobile: "", extension: "", [field]: value };
        const job = await importCsv(gw, corp.token, `${HEADER}\nE1,${cells.name},/,,${cells.extension},${cells.mobile},`);
        expect(job.errors.nodes).toEqual([{ row: 1, field, code: "BAD_USER_INPUT", message: apiMessage }]);
        expect(res.body.errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: `input.${field}` });
      }
    });
  });
});
