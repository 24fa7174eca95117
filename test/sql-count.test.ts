import { TestGateway, type TestCorp, type Untyped } from "./harness";

/**
 * N+1 guard: the number of SQL statements a query costs (`extensions.diagnostics.sqlStatements`,
 * asked for with the debug header) must not grow with the page size. Nested lists are batched by
 * the DataLoaders, one statement per field whatever the number of parents.
 */

const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;

const DEPARTMENT_MEMBERS = `query($id: ID!, $n: Int) {
  department(id: $id) { name members(first: $n) { nodes { name departments { name } mainDepartment { name } } } }
}`;
const MEMBERS = `query($n: Int) { members(first: $n) { nodes { departments { name } leaderOf { name } } } }`;
// departments(first: 1): the top of the corp is one department; with the default page of 20 the
// document would cost more than the 1,000-point cap (20 × 10 children × a page of members).
const NESTED = `query($n: Int) { departments(first: 1) { nodes { children { members(first: $n) { nodes { name } } } } } }`;

let gw: TestGateway;
let corp: TestCorp;
let alpha: string;
let beta: string;
let gamma: string;
const SIZE = 60;

const mkDept = (name: string) => gw.createDepartment(corp.token, { name });

/** Runs `query` with the debug header; returns the data and the statement count. */
async function measure(query: string, variables: Record<string, unknown>): Promise<{ data: Untyped; statements: number }> {
  const res = await gw.gql(corp.token, query, variables, { debugSql: true });
  expect(res.body.errors).toBeUndefined();
  const statements = res.body.extensions?.diagnostics?.sqlStatements;
  expect(typeof statements).toBe("number");
  return { data: res.body.data, statements };
}

beforeAll(async () => {
  gw = await TestGateway.start();
  corp = await gw.createCorp("Counting Corp");
  alpha = await mkDept("Alpha");
  beta = await mkDept("Beta");
  gamma = await mkDept("Gamma");
  // 60 members in Alpha, every other one also in Beta (every tenth with Beta as main), 5 in Gamma.
  const inputs = Array.from({ length: SIZE }, (_, i) => {
    const n = String(i + 1).padStart(2, "0");
    const departmentIds = i % 2 === 0 ? [alpha, beta] : [alpha];
    return { employeeId: `C${n}`, name: `Member ${n}`, departmentIds, mainDepartmentId: i % 10 === 0 ? beta : alpha };
  });
  inputs.push(...Array.from({ length: 5 }, (_, i) => ({ employeeId: `G${i + 1}`, name: `Gamma ${i + 1}`, departmentIds: [gamma], mainDepartmentId: gamma })));
  const ids: string[] = [];
  // One by one: the tests read pages back in id (creation) order, and parallel inserts would take
  // ids in arrival order (which made "first 50" and the Gamma page vary from run to run).
  for (const input of inputs) ids.push((await gw.data(corp.token, CREATE_MEMBER, { input })).createMember.member.id);
  // Some leaders, so that leaderOf has rows to batch.
  await gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
    input: { id: beta, leaderIds: ids.filter((_, i) => i < SIZE && i % 2 === 0).slice(0, 6) },
  });
}, 30000);
afterAll(() => gw.stop());

/** What Alpha's first `n` members must look like, from the database. */
async function expectedAlphaPage(n: number) {
  const rows = await gw.sql<{ id: string; name: string; main: string; departments: string[] }>(
    `SELECT m.id, m.name, main.name AS main,
            array(SELECT d.name FROM member_department x JOIN department d ON d.id = x.department_id
                   WHERE x.member_id = m.id ORDER BY (d.id = m.main_department_id) DESC, d.depth, d."order", d.id) AS departments
       FROM member m JOIN department main ON main.id = m.main_department_id
      WHERE m.corp_id = $1 AND EXISTS (SELECT 1 FROM member_department x WHERE x.member_id = m.id AND x.department_id = $2)
      ORDER BY m.id LIMIT $3`,
    [corp.corpPk, Buffer.from(alpha, "base64url").toString().split(":")[1], n],
  );
  return rows.map((r) => ({ name: r.name, departments: r.departments.map((name) => ({ name })), mainDepartment: { name: r.main } }));
}

describe("SQL statements per query do not grow with the page size", () => {
  it("reports the count only when asked", async () => {
    const res = await gw.gql(corp.token, DEPARTMENT_MEMBERS, { id: alpha, n: 5 });
    expect(res.body.extensions?.diagnostics).toBeUndefined();
  });

  it("a department with its first N members and each member's departments", async () => {
    const five = await measure(DEPARTMENT_MEMBERS, { id: alpha, n: 5 });
    const fifty = await measure(DEPARTMENT_MEMBERS, { id: alpha, n: 50 });
    expect(five.data).toEqual({ department: { name: "Alpha", members: { nodes: await expectedAlphaPage(5) } } });
    expect(fifty.data).toEqual({ department: { name: "Alpha", members: { nodes: await expectedAlphaPage(50) } } });
    expect(fifty.data.department.members.nodes.filter((m: Untyped) => m.departments.length === 2)).toHaveLength(25);
    // One: the department with its page of members and the members' departments (all selected, so
    // fetched by the department's statement; mainDepartment shares them).
    expect({ five: five.statements, fifty: fifty.statements }).toEqual({ five: 1, fifty: 1 });
  });

  it("members with their departments and the departments they lead", async () => {
    const five = await measure(MEMBERS, { n: 5 });
    const fifty = await measure(MEMBERS, { n: 50 });
    expect(five.data.members.nodes).toHaveLength(5);
    expect(fifty.data.members.nodes).toHaveLength(50);
    expect(fifty.data.members.nodes.filter((m: Untyped) => m.leaderOf.length === 1)).toHaveLength(6);
    expect(fifty.data.members.nodes.every((m: Untyped) => m.leaderOf.every((d: Untyped) => d.name === "Beta"))).toBe(true);
    // members page, departments batch, leaderOf batch.
    expect({ five: five.statements, fifty: fifty.statements }).toEqual({ five: 3, fifty: 3 });
  });

  it("nested connections: each child department's first N members in one batch", async () => {
    const five = await measure(NESTED, { n: 5 });
    const fifty = await measure(NESTED, { n: 50 });
    const sizes = (d: Untyped) => d.departments.nodes[0].children.map((c: Untyped) => c.members.nodes.length);
    expect(sizes(five.data)).toEqual([5, 5, 5]);
    expect(sizes(fifty.data)).toEqual([50, 30, 5]);
    expect(fifty.data.departments.nodes[0].children[2].members.nodes).toEqual([1, 2, 3, 4, 5].map((i) => ({ name: `Gamma ${i}` })));
    // departments, children batch, one LATERAL statement for every child's page.
    expect({ five: five.statements, fifty: fifty.statements }).toEqual({ five: 3, fifty: 3 });
  });

  it("counts, totals and deeper nesting are batched too", async () => {
    const query = `query($n: Int) {
      departments(first: 1) { nodes { children { memberCount members(first: $n) { totalCount nodes { name mainDepartment { name } } } } } }
    }`;
    // 45, not 50: 1 + 1 + 10 children × (1 + 1 + 45 × 2) = 922 points, within the 1,000-point cap.
    const five = await measure(query, { n: 5 });
    const fifty = await measure(query, { n: 45 });
    const counts = (d: Untyped) => d.departments.nodes[0].children.map((c: Untyped) => [c.memberCount, c.members.totalCount]);
    expect(counts(fifty.data)).toEqual([
      [60, 60],
      [30, 30],
      [5, 5],
    ]);
    // departments, children, member pages (with the members' departments), member counts.
    expect({ five: five.statements, fifty: fifty.statements }).toEqual({ five: 4, fifty: 4 });
  });
  it("the one-statement path reads the columns a query selects, also through fragments and on other fields", async () => {
    const full = await gw.sql<{ employee_id: string; created_at: Date }>(
      `SELECT employee_id, created_at FROM member WHERE corp_id = $1 AND employee_id = 'C01'`,
      [corp.corpPk],
    );
    await gw.sql(`UPDATE member SET title = 'Engineer', email = 'c01@example.com', extension = '801' WHERE corp_id = $1 AND employee_id = 'C01'`, [
      corp.corpPk,
    ]);
    try {
      // Lean: no optional field anywhere in the document; the page statement leaves them out.
      const lean = await measure(`query($id: ID!) { department(id: $id) { members(first: 1) { nodes { employeeId name departments { name } } } } }`, {
        id: alpha,
      });
      expect(lean).toEqual({
        data: { department: { members: { nodes: [{ employeeId: "C01", name: "Member 01", departments: [{ name: "Beta" }, { name: "Alpha" }] }] } } },
        statements: 1,
      });
      // Optional fields selected in fragments, and a timestamp on the departments: all present.
      const FRAGMENTS = `query($id: ID!) { department(id: $id) { members(first: 1) { nodes { ...M departments { ...D } } } } }
        fragment M on Member { employeeId title email extension createdAt updatedAt }
        fragment D on Department { name order createdAt }`;
      const rich = await measure(FRAGMENTS, { id: alpha });
      const node = rich.data.department.members.nodes[0];
      expect(node).toMatchObject({
        employeeId: "C01",
        title: "Engineer",
        email: "c01@example.com",
        extension: "801",
        createdAt: full[0].created_at.toISOString(),
      });
      expect(typeof node.updatedAt).toBe("string");
      expect(node.departments.map((d: Untyped) => [d.name, d.order, typeof d.createdAt])).toEqual([
        ["Beta", 0, "string"],
        ["Alpha", 0, "string"],
      ]);
      expect(rich.statements).toBe(1);
      // A field of the same name elsewhere in the document keeps the column too (the rule is by name).
      const elsewhere = await measure(
        `query($id: ID!) { viewer { __typename } department(id: $id) { createdAt members(first: 1) { nodes { departments { createdAt } } } } }`,
        { id: alpha },
      );
      expect(typeof elsewhere.data.department.createdAt).toBe("string");
      expect(typeof elsewhere.data.department.members.nodes[0].departments[0].createdAt).toBe("string");
    } finally {
      await gw.sql(`UPDATE member SET title = NULL, email = NULL, extension = NULL WHERE corp_id = $1 AND employee_id = 'C01'`, [corp.corpPk]);
    }
  });

  it("the one-statement path keeps tenancy, visibility, empty pages, cursors and argument errors", async () => {
    const pk = (id: string) => Buffer.from(id, "base64url").toString().split(":")[1];
    const other = await gw.createCorp("Other Counting Corp");
    const gammaOnly = await gw.createApp(corp.corpPk, ["directory:read"], [pk(gamma)]);
    const empty = await mkDept("Empty");
    // Another corp's token, and an app that sees only Gamma: the department is null, members unread.
    expect(await gw.data(other.token, DEPARTMENT_MEMBERS, { id: alpha, n: 5 })).toEqual({ department: null });
    expect(await gw.data(gammaOnly.token, DEPARTMENT_MEMBERS, { id: alpha, n: 5 })).toEqual({ department: null });
    const seen = await gw.data(gammaOnly.token, DEPARTMENT_MEMBERS, { id: gamma, n: 2 });
    expect(seen.department.members.nodes.map((m: Untyped) => m.name)).toEqual(["Gamma 1", "Gamma 2"]);
    // A department without members: its row, an empty page.
    const none = await measure(DEPARTMENT_MEMBERS, { id: empty, n: 5 });
    expect(none).toEqual({ data: { department: { name: "Empty", members: { nodes: [] } } }, statements: 1 });
    // Cursors and includeSubdepartments go through the same statement.
    const PAGE = `query($id: ID!, $after: String) { department(id: $id) { members(first: 2, after: $after, includeSubdepartments: true) {
      pageInfo { hasNextPage endCursor } nodes { name } } } }`;
    const first = await measure(PAGE, { id: gamma });
    const second = await measure(PAGE, { id: gamma, after: first.data.department.members.pageInfo.endCursor });
    expect(second.data.department.members.nodes.map((m: Untyped) => m.name)).toEqual(["Gamma 3", "Gamma 4"]);
    expect([first.statements, second.statements]).toEqual([1, 1]);
    // Invalid page arguments are still reported by `members`, with their field.
    const bad = await gw.gql(corp.token, DEPARTMENT_MEMBERS, { id: alpha, n: 101 });
    expect(bad.body.errors?.map((e) => [e.extensions?.code, e.extensions?.field, e.path])).toEqual([["BAD_USER_INPUT", "first", ["department", "members"]]]);
  });
});
