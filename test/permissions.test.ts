import { DIRECTORY_TABLES, TestGateway, expectOneError, expectUnchanged, pk, type TestApp, type TestCorp } from "./harness";
import { ALL_SCOPES } from "../src/policy/scopes";

/**
 * The permission matrix: apps (scopes, visibility), members acting through an app (corp admin,
 * department leader, plain member, inactive), and tenancy (a second corp). Every refused write is
 * checked to leave the database exactly as it was.
 */

const CREATE_DEPARTMENT = `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id name parent { name } } } }`;
const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id name parent { name } leaders { employeeId } } } }`;
const DELETE_DEPARTMENT = `mutation($input: DeleteDepartmentInput!) { deleteDepartment(input: $input) { deletedDepartmentId } }`;
const MEMBER_FIELDS = `id employeeId name title status isCorpAdmin departments { name } mainDepartment { name }`;
const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { ${MEMBER_FIELDS} } } }`;
const UPDATE_MEMBER = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { ${MEMBER_FIELDS} } } }`;
const SET_STATUS = `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { ${MEMBER_FIELDS} } } }`;
const DELETE_MEMBER = `mutation($input: DeleteMemberInput!) { deleteMember(input: $input) { deletedMemberId } }`;

const MUTATIONS = ["createDepartment", "updateDepartment", "deleteDepartment", "createMember", "updateMember", "setMemberStatus", "deleteMember"] as const;
type MutationName = (typeof MUTATIONS)[number];

const VIEWER = `{ viewer { role corp { name } app { clientId } member { employeeId } scopes visibleDepartments { name } } }`;

interface Fixture {
  corp: TestCorp;
  /** Department ids. */
  d: { root: string; sales: string; salesEast: string; salesSpare: string; eng: string; platform: string; engSpare: string };
  /** Member ids. */
  m: { admin: string; leader: string; plain: string; disabled: string; s1: string; s2: string; e1: string; ep1: string; both: string };
  readApp: TestApp;
  noneApp: TestApp;
  salesApp: TestApp;
  /** Tokens of members acting through the administrator app. */
  t: { admin: string; adminReadOnly: string; leader: string; plain: string; disabled: string };
}

describe("permissions", () => {
  let gw: TestGateway;
  let f: Fixture;
  let beta: TestCorp;
  let betaSales: string;
  let betaMember: string;

  /** Every directory row of every corp (and the event log): what a refused write must not touch. */
  const snapshot = () => gw.snapshot(["corp", ...DIRECTORY_TABLES]);

  /** The write fails with exactly one error of `code` (and `field`) and changes nothing. */
  async function expectRefused(token: string, query: string, variables: Record<string, unknown>, code: string, field?: string) {
    const res = await expectUnchanged(snapshot, () => gw.gql(token, query, variables));
    expect(res.body.data).toBeNull();
    expectOneError(res, code, field);
  }

  /** One representative call of each mutation, aimed at the Sales subtree. */
  function mutation(name: MutationName): [string, Record<string, unknown>] {
    switch (name) {
      case "createDepartment":
        return [CREATE_DEPARTMENT, { input: { name: "Nope", parentId: f.d.sales } }];
      case "updateDepartment":
        return [UPDATE_DEPARTMENT, { input: { id: f.d.sales, name: "Renamed" } }];
      case "deleteDepartment":
        return [DELETE_DEPARTMENT, { input: { id: f.d.salesSpare } }];
      case "createMember":
        return [CREATE_MEMBER, { input: { employeeId: "E-NEW", name: "Newt New", departmentIds: [f.d.sales] } }];
      case "updateMember":
        return [UPDATE_MEMBER, { input: { id: f.m.s1, name: "Renamed" } }];
      case "setMemberStatus":
        return [SET_STATUS, { input: { id: f.m.s1, status: "DISABLED" } }];
      case "deleteMember":
        return [DELETE_MEMBER, { input: { id: f.m.s1 } }];
    }
  }

  beforeAll(async () => {
    gw = await TestGateway.start();
    const corp = await gw.createCorp("Acme");
    const t = corp.token;
    const sales = await gw.createDepartment(t, { name: "Sales" });
    const eng = await gw.createDepartment(t, { name: "Engineering", order: 1 });
    const salesEast = await gw.createDepartment(t, { name: "Sales East", parentId: sales });
    const salesSpare = await gw.createDepartment(t, { name: "Sales Spare", parentId: sales, order: 5 });
    const platform = await gw.createDepartment(t, { name: "Platform", parentId: eng });
    const engSpare = await gw.createDepartment(t, { name: "Eng Spare", parentId: eng, order: 5 });
    const member = (employeeId: string, name: string, departmentIds: string[], extra: Record<string, unknown> = {}) =>
      gw.createMember(t, { employeeId, name, departmentIds, status: "ACTIVE", ...extra });
    const m = {
      admin: await member("E-ADM", "Ada Admin", [eng], { isCorpAdmin: true }),
      leader: await member("E-LEAD", "Leo Leader", [sales]),
      plain: await member("E-PLAIN", "Pat Plain", [sales]),
      disabled: await member("E-DIS", "Dora Disabled", [sales], { status: "DISABLED", isCorpAdmin: true }),
      s1: await member("E-S1", "Sam Sales", [sales]),
      s2: await member("E-S2", "Sue East", [salesEast]),
      e1: await member("E-E1", "Eve Eng", [eng]),
      ep1: await member("E-EP1", "Pete Platform", [platform]),
      both: await member("E-BOTH", "Bo Both", [eng, sales]),
    };
    await gw.data(t, UPDATE_DEPARTMENT, { input: { id: sales, leaderIds: [m.leader] } });
    const app = { clientId: corp.clientId };
    f = {
      corp,
      d: { root: corp.rootId, sales, salesEast, salesSpare, eng, platform, engSpare },
      m,
      readApp: await gw.createApp(corp.corpPk, ["directory:read"]),
      noneApp: await gw.createApp(corp.corpPk, ["messages:read"]),
      salesApp: await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [pk(sales)]),
      t: {
        admin: gw.memberToken(corp.corpPk, app, pk(m.admin)),
        adminReadOnly: gw.memberToken(corp.corpPk, app, pk(m.admin), ["directory:read"]),
        leader: gw.memberToken(corp.corpPk, app, pk(m.leader)),
        plain: gw.memberToken(corp.corpPk, app, pk(m.plain)),
        disabled: gw.memberToken(corp.corpPk, app, pk(m.disabled)),
      },
    };

    beta = await gw.createCorp("Beta");
    betaSales = await gw.createDepartment(beta.token, { name: "Sales" });
    // Same employee id as one of Acme's members: lookups must stay within the corp.
    betaMember = await gw.createMember(beta.token, { employeeId: "E-S1", name: "Bianca Beta", departmentIds: [betaSales], status: "ACTIVE" });
  });
  afterAll(() => gw.stop());

  const ALL_ACME = ["E-ADM", "E-LEAD", "E-PLAIN", "E-DIS", "E-S1", "E-S2", "E-E1", "E-EP1", "E-BOTH"];
  const SALES_SUBTREE = ["E-LEAD", "E-PLAIN", "E-DIS", "E-S1", "E-S2", "E-BOTH"];

  describe("viewer", () => {
    const cases: Array<[string, () => string, object]> = [
      ["admin app", () => f.corp.token, { role: "APP", member: null, scopes: ALL_SCOPES, visibleDepartments: null }],
      ["read-only app", () => f.readApp.token, { role: "APP", member: null, scopes: ["directory:read"], visibleDepartments: null }],
      ["app without directory scopes", () => f.noneApp.token, { role: "APP", member: null, scopes: ["messages:read"], visibleDepartments: null }],
      [
        "Sales app",
        () => f.salesApp.token,
        { role: "APP", member: null, scopes: ["directory:read", "directory:write"], visibleDepartments: [{ name: "Sales" }] },
      ],
      ["corp admin member", () => f.t.admin, { role: "ADMIN", member: { employeeId: "E-ADM" }, scopes: ALL_SCOPES, visibleDepartments: null }],
      [
        "corp admin member, read-only token",
        () => f.t.adminReadOnly,
        { role: "ADMIN", member: { employeeId: "E-ADM" }, scopes: ["directory:read"], visibleDepartments: null },
      ],
      ["leader member", () => f.t.leader, { role: "LEADER", member: { employeeId: "E-LEAD" }, scopes: ALL_SCOPES, visibleDepartments: null }],
      ["plain member", () => f.t.plain, { role: "MEMBER", member: { employeeId: "E-PLAIN" }, scopes: ALL_SCOPES, visibleDepartments: null }],
    ];
    it.each(cases)("%s", async (_name, token, expected) => {
      const data = await gw.data(token(), VIEWER);
      const clientId = [f.readApp, f.noneApp, f.salesApp].find((a) => a.token === token())?.clientId ?? f.corp.clientId;
      expect(data.viewer).toEqual({ corp: { name: "Acme" }, app: { clientId }, ...expected });
    });

    it("the second corp's admin app", async () => {
      const data = await gw.data(beta.token, VIEWER);
      expect(data.viewer).toEqual({
        role: "APP",
        corp: { name: "Beta" },
        app: { clientId: beta.clientId },
        member: null,
        scopes: ALL_SCOPES,
        visibleDepartments: null,
      });
    });
  });

  describe("reads", () => {
    const READ = `query($sales: ID!, $both: ID!) {
      departments { totalCount nodes { name children { name } } }
      department(id: $sales) { name parent { name } ancestors { name } children { name } leaders { employeeId } memberCount
        members(includeSubdepartments: true) { totalCount nodes { employeeId } } }
      member(id: $both) { employeeId departments { name } mainDepartment { name } }
      memberByEmployeeId(employeeId: "E-EP1") { employeeId }
      members(first: 100) { totalCount nodes { employeeId } }
      node(id: $sales) { __typename id }
    }`;
    const whole = {
      departments: { totalCount: 1, nodes: [{ name: "Acme", children: [{ name: "Sales" }, { name: "Engineering" }] }] },
      department: {
        name: "Sales",
        parent: { name: "Acme" },
        ancestors: [{ name: "Acme" }],
        children: [{ name: "Sales East" }, { name: "Sales Spare" }],
        leaders: [{ employeeId: "E-LEAD" }],
        memberCount: 5,
        members: { totalCount: 6, nodes: SALES_SUBTREE.map((employeeId) => ({ employeeId })) },
      },
      member: { employeeId: "E-BOTH", departments: [{ name: "Engineering" }, { name: "Sales" }], mainDepartment: { name: "Engineering" } },
      memberByEmployeeId: { employeeId: "E-EP1" },
      members: { totalCount: 9, nodes: ALL_ACME.map((employeeId) => ({ employeeId })) },
    };
    const cases: Array<[string, () => string]> = [
      ["admin app", () => f.corp.token],
      ["read-only app", () => f.readApp.token],
      ["corp admin member", () => f.t.admin],
      ["corp admin member, read-only token", () => f.t.adminReadOnly],
      ["leader member", () => f.t.leader],
      ["plain member", () => f.t.plain],
    ];
    it.each(cases)("%s reads the whole corp", async (_name, token) => {
      const res = await gw.gql(token(), READ, { sales: f.d.sales, both: f.m.both });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({ ...whole, node: { __typename: "Department", id: f.d.sales } });
    });

    const NO_SCOPE_READS: Array<[string, string, object]> = [
      ["departments", `{ departments { totalCount } }`, {}],
      ["department", `query($id: ID!) { department(id: $id) { name } }`, { id: "sales" }],
      ["member", `query($id: ID!) { member(id: $id) { name } }`, { id: "s1" }],
      ["memberByEmployeeId", `{ memberByEmployeeId(employeeId: "E-S1") { name } }`, {}],
      ["members", `{ members { totalCount } }`, {}],
      ["node", `query($id: ID!) { node(id: $id) { id } }`, { id: "s1" }],
    ];
    it.each(NO_SCOPE_READS)("an app without directory:read is FORBIDDEN: %s", async (field, query, vars) => {
      const ids: Record<string, string> = { sales: f.d.sales, s1: f.m.s1 };
      const variables = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, ids[v as string]]));
      const res = await gw.gql(f.noneApp.token, query, variables);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]).toMatchObject({ path: [field], extensions: { code: "FORBIDDEN" } });
      // Nullable fields come back null; non-null lists null the whole response.
      expect(res.body.data).toEqual(["departments", "members"].includes(field) ? null : { [field]: null });
    });

    it("an app without directory:read still has viewer and corp", async () => {
      const data = await gw.data(f.noneApp.token, `{ corp { name } viewer { role } }`);
      expect(data).toEqual({ corp: { name: "Acme" }, viewer: { role: "APP" } });
    });
  });

  describe("app restricted to the Sales subtree", () => {
    it("sees only the subtree in every read", async () => {
      const res = await gw.gql(
        f.salesApp.token,
        `query($sales: ID!, $eng: ID!, $root: ID!, $both: ID!, $s2: ID!, $e1: ID!) {
          departments(first: 5) { totalCount nodes { name depth parent { name } ancestors { name } children { name children { name } } } }
          sales: department(id: $sales) { name leaders { employeeId } members(includeSubdepartments: true) { totalCount nodes { employeeId } } memberCount(includeSubdepartments: true) }
          eng: department(id: $eng) { name }
          root: department(id: $root) { name }
          both: member(id: $both) { employeeId departments { name } mainDepartment { name } }
          s2: member(id: $s2) { employeeId departments { name } mainDepartment { name } }
          e1: member(id: $e1) { name }
          visible: memberByEmployeeId(employeeId: "E-S2") { employeeId }
          hidden: memberByEmployeeId(employeeId: "E-EP1") { employeeId }
          members(first: 100) { totalCount nodes { employeeId } }
          searchHidden: members(filter: { search: "Eve" }) { totalCount nodes { employeeId } }
          searchVisible: members(filter: { search: "Bo" }) { totalCount nodes { employeeId } }
          nodeSales: node(id: $sales) { __typename id }
          nodeEng: node(id: $eng) { id }
          nodeRoot: node(id: $root) { id }
          nodeS2: node(id: $s2) { __typename id }
          nodeE1: node(id: $e1) { id }
        }`,
        { sales: f.d.sales, eng: f.d.eng, root: f.d.root, both: f.m.both, s2: f.m.s2, e1: f.m.e1 },
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({
        departments: {
          totalCount: 1,
          nodes: [
            {
              name: "Sales",
              depth: 1,
              parent: null,
              ancestors: [],
              children: [
                { name: "Sales East", children: [] },
                { name: "Sales Spare", children: [] },
              ],
            },
          ],
        },
        sales: {
          name: "Sales",
          leaders: [{ employeeId: "E-LEAD" }],
          members: { totalCount: 6, nodes: SALES_SUBTREE.map((employeeId) => ({ employeeId })) },
          memberCount: 6,
        },
        eng: null,
        root: null,
        both: { employeeId: "E-BOTH", departments: [{ name: "Sales" }], mainDepartment: null },
        s2: { employeeId: "E-S2", departments: [{ name: "Sales East" }], mainDepartment: { name: "Sales East" } },
        e1: null,
        visible: { employeeId: "E-S2" },
        hidden: null,
        members: { totalCount: 6, nodes: SALES_SUBTREE.map((employeeId) => ({ employeeId })) },
        searchHidden: { totalCount: 0, nodes: [] },
        searchVisible: { totalCount: 1, nodes: [{ employeeId: "E-BOTH" }] },
        nodeSales: { __typename: "Department", id: f.d.sales },
        nodeEng: null,
        nodeRoot: null,
        nodeS2: { __typename: "Member", id: f.m.s2 },
        nodeE1: null,
      });
    });

    it("NOT_FOUND for departments outside the subtree used as list arguments", async () => {
      for (const [query, field] of [
        [`query($id: ID!) { departments(parentId: $id) { totalCount } }`, "parentId"],
        [`query($id: ID!) { members(filter: { departmentId: $id }) { totalCount } }`, "filter.departmentId"],
      ]) {
        for (const id of [f.d.eng, f.d.root]) {
          const res = await gw.gql(f.salesApp.token, query, { id });
          expect(res.body.data).toBeNull();
          expect(res.body.errors).toHaveLength(1);
          expect(res.body.errors![0].extensions).toEqual({ code: "NOT_FOUND", field });
        }
      }
      const inside = await gw.data(f.salesApp.token, `query($id: ID!) { departments(parentId: $id) { totalCount nodes { name } } }`, { id: f.d.sales });
      expect(inside.departments).toEqual({ totalCount: 2, nodes: [{ name: "Sales East" }, { name: "Sales Spare" }] });
    });

    const REFUSED: Array<[string, string, () => Record<string, unknown>, string, string | undefined]> = [
      ["createDepartment without parentId (the root is outside)", CREATE_DEPARTMENT, () => ({ input: { name: "Top" } }), "FORBIDDEN", undefined],
      ["createDepartment under Engineering", CREATE_DEPARTMENT, () => ({ input: { name: "X", parentId: f.d.eng } }), "NOT_FOUND", "input.parentId"],
      ["createDepartment under the root", CREATE_DEPARTMENT, () => ({ input: { name: "X", parentId: f.d.root } }), "NOT_FOUND", "input.parentId"],
      ["updateDepartment Engineering", UPDATE_DEPARTMENT, () => ({ input: { id: f.d.eng, name: "X" } }), "NOT_FOUND", "input.id"],
      [
        "updateDepartment: move Sales East under Engineering",
        UPDATE_DEPARTMENT,
        () => ({ input: { id: f.d.salesEast, parentId: f.d.eng } }),
        "NOT_FOUND",
        "input.parentId",
      ],
      [
        "updateDepartment: move Sales East under the root",
        UPDATE_DEPARTMENT,
        () => ({ input: { id: f.d.salesEast, parentId: f.d.root } }),
        "NOT_FOUND",
        "input.parentId",
      ],
      ["deleteDepartment Eng Spare", DELETE_DEPARTMENT, () => ({ input: { id: f.d.engSpare } }), "NOT_FOUND", "input.id"],
      [
        "createMember in Engineering",
        CREATE_MEMBER,
        () => ({ input: { employeeId: "X-1", name: "X", departmentIds: [f.d.eng] } }),
        "NOT_FOUND",
        "input.departmentIds",
      ],
      [
        "createMember in Sales and Engineering",
        CREATE_MEMBER,
        () => ({ input: { employeeId: "X-1", name: "X", departmentIds: [f.d.sales, f.d.eng] } }),
        "NOT_FOUND",
        "input.departmentIds",
      ],
      ["updateMember of Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.e1, name: "X" } }), "NOT_FOUND", "input.id"],
      ["updateMember: move out of Sales", UPDATE_MEMBER, () => ({ input: { id: f.m.s1, departmentIds: [f.d.eng] } }), "NOT_FOUND", "input.departmentIds"],
      ["updateMember of a member also in Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.both, name: "X" } }), "FORBIDDEN", undefined],
      ["setMemberStatus of Engineering", SET_STATUS, () => ({ input: { id: f.m.e1, status: "RESIGNED" } }), "NOT_FOUND", "input.id"],
      ["deleteMember of Engineering", DELETE_MEMBER, () => ({ input: { id: f.m.ep1 } }), "NOT_FOUND", "input.id"],
      ["deleteMember of a member also in Engineering", DELETE_MEMBER, () => ({ input: { id: f.m.both } }), "FORBIDDEN", undefined],
    ];
    it.each(REFUSED)("refuses %s", async (_name, query, vars, code, field) => {
      await expectRefused(f.salesApp.token, query, vars(), code, field);
    });

    it("writes inside the subtree", async () => {
      const token = f.salesApp.token;
      const west = await gw.data(token, CREATE_DEPARTMENT, { input: { name: "Sales West", parentId: f.d.sales, order: 9 } });
      expect(west.createDepartment.department).toMatchObject({ name: "Sales West", parent: { name: "Sales" } });
      const westId = west.createDepartment.department.id;
      const renamed = await gw.data(token, UPDATE_DEPARTMENT, { input: { id: westId, name: "Sales West Coast", parentId: f.d.salesEast } });
      expect(renamed.updateDepartment.department).toEqual({ id: westId, name: "Sales West Coast", parent: { name: "Sales East" }, leaders: [] });
      const created = await gw.data(token, CREATE_MEMBER, { input: { employeeId: "W-1", name: "Wes West", departmentIds: [westId, f.d.sales] } });
      const id = created.createMember.member.id;
      expect(created.createMember.member).toEqual({
        id,
        employeeId: "W-1",
        name: "Wes West",
        title: null,
        status: "UNACTIVATED",
        isCorpAdmin: false,
        departments: [{ name: "Sales West Coast" }, { name: "Sales" }],
        mainDepartment: { name: "Sales West Coast" },
      });
      const updated = await gw.data(token, UPDATE_MEMBER, { input: { id, title: "Rep", departmentIds: [f.d.sales] } });
      expect(updated.updateMember.member).toMatchObject({ title: "Rep", departments: [{ name: "Sales" }], mainDepartment: { name: "Sales" } });
      // Administrator rights are corp-wide: an app that sees only a subtree may not grant them.
      const admin = await gw.gql(token, UPDATE_MEMBER, { input: { id, isCorpAdmin: true } });
      expect(admin.body.errors?.[0].extensions).toEqual({ code: "FORBIDDEN" });
      expect(await gw.sql(`SELECT is_corp_admin FROM member WHERE employee_id = 'W-1'`)).toEqual([{ is_corp_admin: false }]);
      const status = await gw.data(token, SET_STATUS, { input: { id, status: "RESIGNED" } });
      expect(status.setMemberStatus.member.status).toBe("RESIGNED");
      expect(await gw.data(token, DELETE_MEMBER, { input: { id } })).toEqual({ deleteMember: { deletedMemberId: id } });
      expect(await gw.data(token, DELETE_DEPARTMENT, { input: { id: westId } })).toEqual({ deleteDepartment: { deletedDepartmentId: westId } });
      expect(await gw.sql(`SELECT count(*)::int AS n FROM member WHERE employee_id = 'W-1'`)).toEqual([{ n: 0 }]);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM department WHERE id = $1`, [pk(westId)])).toEqual([{ n: 0 }]);
    });
  });

  describe.each([
    ["read-only app", () => f.readApp.token],
    ["app without directory scopes", () => f.noneApp.token],
    ["plain member", () => f.t.plain],
    ["corp admin member with a read-only token", () => f.t.adminReadOnly],
  ])("%s", (_persona, token) => {
    it.each(MUTATIONS)("%s is FORBIDDEN and changes nothing", async (name) => {
      const [query, variables] = mutation(name);
      await expectRefused(token(), query, variables, "FORBIDDEN");
    });
  });

  describe("plain member", () => {
    it("may not change even their own profile", async () => {
      await expectRefused(f.t.plain, UPDATE_MEMBER, { input: { id: f.m.plain, title: "Boss" } }, "FORBIDDEN");
      await expectRefused(f.t.plain, UPDATE_MEMBER, { input: { id: f.m.plain, isCorpAdmin: true } }, "FORBIDDEN");
    });
  });

  describe("leader member (leads Sales)", () => {
    const REFUSED: Array<[string, string, () => Record<string, unknown>]> = [
      ["createDepartment under Sales", CREATE_DEPARTMENT, () => ({ input: { name: "X", parentId: f.d.sales } })],
      ["updateDepartment: rename Sales East", UPDATE_DEPARTMENT, () => ({ input: { id: f.d.salesEast, name: "X" } })],
      ["updateDepartment: leaders of Sales", UPDATE_DEPARTMENT, () => ({ input: { id: f.d.sales, leaderIds: [f.m.leader, f.m.s1] } })],
      ["updateDepartment: move Sales Spare", UPDATE_DEPARTMENT, () => ({ input: { id: f.d.salesSpare, parentId: f.d.salesEast } })],
      ["deleteDepartment Sales Spare", DELETE_DEPARTMENT, () => ({ input: { id: f.d.salesSpare } })],
      ["createMember in Engineering", CREATE_MEMBER, () => ({ input: { employeeId: "X-1", name: "X", departmentIds: [f.d.eng] } })],
      ["createMember in Sales and Engineering", CREATE_MEMBER, () => ({ input: { employeeId: "X-1", name: "X", departmentIds: [f.d.sales, f.d.eng] } })],
      ["createMember as corp admin", CREATE_MEMBER, () => ({ input: { employeeId: "X-1", name: "X", departmentIds: [f.d.sales], isCorpAdmin: true } })],
      ["updateMember of Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.e1, name: "X" } })],
      ["updateMember of Platform", UPDATE_MEMBER, () => ({ input: { id: f.m.ep1, title: "X" } })],
      ["updateMember of a member also in Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.both, name: "X" } })],
      ["updateMember: add Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.s1, departmentIds: [f.d.sales, f.d.eng] } })],
      ["updateMember: move to Engineering", UPDATE_MEMBER, () => ({ input: { id: f.m.s2, departmentIds: [f.d.eng] } })],
      ["updateMember: grant isCorpAdmin", UPDATE_MEMBER, () => ({ input: { id: f.m.s1, isCorpAdmin: true } })],
      ["updateMember: grant themselves isCorpAdmin", UPDATE_MEMBER, () => ({ input: { id: f.m.leader, isCorpAdmin: true } })],
      ["updateMember: revoke isCorpAdmin", UPDATE_MEMBER, () => ({ input: { id: f.m.disabled, isCorpAdmin: false } })],
      ["setMemberStatus of Engineering", SET_STATUS, () => ({ input: { id: f.m.e1, status: "DISABLED" } })],
      ["setMemberStatus of a member also in Engineering", SET_STATUS, () => ({ input: { id: f.m.both, status: "DISABLED" } })],
      ["deleteMember of Engineering", DELETE_MEMBER, () => ({ input: { id: f.m.admin } })],
      // A corp administrator sitting in the led subtree is still out of a leader's reach.
      ["updateMember of a corp admin in Sales", UPDATE_MEMBER, () => ({ input: { id: f.m.disabled, email: "hijack@example.com" } })],
      ["setMemberStatus of a corp admin in Sales", SET_STATUS, () => ({ input: { id: f.m.disabled, status: "RESIGNED" } })],
      ["deleteMember of a corp admin in Sales", DELETE_MEMBER, () => ({ input: { id: f.m.disabled } })],
    ];
    it.each(REFUSED)("FORBIDDEN: %s", async (_name, query, vars) => {
      await expectRefused(f.t.leader, query, vars(), "FORBIDDEN");
    });

    it("manages members in the led subtree, sub-departments included", async () => {
      const token = f.t.leader;
      const created = await gw.data(token, CREATE_MEMBER, {
        input: { employeeId: "L-1", name: "Lin East", departmentIds: [f.d.salesEast], title: "Rep", isCorpAdmin: false },
      });
      const id = created.createMember.member.id;
      expect(created.createMember.member).toEqual({
        id,
        employeeId: "L-1",
        name: "Lin East",
        title: "Rep",
        status: "UNACTIVATED",
        isCorpAdmin: false,
        departments: [{ name: "Sales East" }],
        mainDepartment: { name: "Sales East" },
      });
      const moved = await gw.data(token, UPDATE_MEMBER, { input: { id, departmentIds: [f.d.salesEast, f.d.salesSpare], mainDepartmentId: f.d.salesSpare } });
      expect(moved.updateMember.member).toMatchObject({
        departments: [{ name: "Sales Spare" }, { name: "Sales East" }],
        mainDepartment: { name: "Sales Spare" },
      });
      const active = await gw.data(token, SET_STATUS, { input: { id, status: "ACTIVE" } });
      expect(active.setMemberStatus.member.status).toBe("ACTIVE");
      // A member of a sub-department that existed before.
      const s2 = await gw.data(token, UPDATE_MEMBER, { input: { id: f.m.s2, title: "Lead rep" } });
      expect(s2.updateMember.member).toMatchObject({ employeeId: "E-S2", title: "Lead rep", departments: [{ name: "Sales East" }] });
      await gw.data(token, UPDATE_MEMBER, { input: { id: f.m.s2, title: null } });
      expect(await gw.data(token, DELETE_MEMBER, { input: { id } })).toEqual({ deleteMember: { deletedMemberId: id } });
      expect(await gw.sql(`SELECT count(*)::int AS n FROM member WHERE employee_id = 'L-1'`)).toEqual([{ n: 0 }]);
      expect(await gw.sql(`SELECT title FROM member WHERE id = $1`, [pk(f.m.s2)])).toEqual([{ title: null }]);
    });

    it("loses the role when no longer a leader (role is read per request)", async () => {
      const leaderToken = gw.memberToken(f.corp.corpPk, { clientId: f.corp.clientId }, pk(f.m.s1));
      expect((await gw.data(leaderToken, VIEWER)).viewer.role).toBe("MEMBER");
      await gw.data(f.corp.token, UPDATE_DEPARTMENT, { input: { id: f.d.salesEast, leaderIds: [f.m.s2] } });
      const s2Token = gw.memberToken(f.corp.corpPk, { clientId: f.corp.clientId }, pk(f.m.s2));
      expect((await gw.data(s2Token, VIEWER)).viewer.role).toBe("LEADER");
      // Leads Sales East only: Sales itself is outside.
      await expectRefused(s2Token, UPDATE_MEMBER, { input: { id: f.m.s1, title: "X" } }, "FORBIDDEN");
      await gw.data(f.corp.token, UPDATE_DEPARTMENT, { input: { id: f.d.salesEast, leaderIds: [] } });
      expect((await gw.data(s2Token, VIEWER)).viewer.role).toBe("MEMBER");
      await expectRefused(s2Token, UPDATE_MEMBER, { input: { id: f.m.s2, title: "X" } }, "FORBIDDEN");
    });
  });

  describe("corp admin member", () => {
    it("may change the tree and members, and grant administrator rights", async () => {
      const token = f.t.admin;
      const dep = await gw.data(token, CREATE_DEPARTMENT, { input: { name: "Legal" } });
      const legal = dep.createDepartment.department.id;
      expect(dep.createDepartment.department).toEqual({ id: legal, name: "Legal", parent: { name: "Acme" } });
      const moved = await gw.data(token, UPDATE_DEPARTMENT, { input: { id: legal, name: "Legal & Compliance", parentId: f.d.eng } });
      expect(moved.updateDepartment.department).toEqual({ id: legal, name: "Legal & Compliance", parent: { name: "Engineering" }, leaders: [] });
      const created = await gw.data(token, CREATE_MEMBER, {
        input: { employeeId: "A-1", name: "Al Admin", departmentIds: [legal], isCorpAdmin: true, status: "ACTIVE" },
      });
      const id = created.createMember.member.id;
      expect(created.createMember.member).toMatchObject({ isCorpAdmin: true, status: "ACTIVE", departments: [{ name: "Legal & Compliance" }] });
      const led = await gw.data(token, UPDATE_DEPARTMENT, { input: { id: legal, leaderIds: [id] } });
      expect(led.updateDepartment.department.leaders).toEqual([{ employeeId: "A-1" }]);
      const revoked = await gw.data(token, UPDATE_MEMBER, { input: { id, isCorpAdmin: false, departmentIds: [f.d.sales, legal] } });
      expect(revoked.updateMember.member).toMatchObject({ isCorpAdmin: false, departments: [{ name: "Legal & Compliance" }, { name: "Sales" }] });
      expect((await gw.data(token, SET_STATUS, { input: { id, status: "DISABLED" } })).setMemberStatus.member.status).toBe("DISABLED");
      expect(await gw.data(token, DELETE_MEMBER, { input: { id } })).toEqual({ deleteMember: { deletedMemberId: id } });
      expect(await gw.data(token, DELETE_DEPARTMENT, { input: { id: legal } })).toEqual({ deleteDepartment: { deletedDepartmentId: legal } });
      // Acting on the fixture: grant and revoke on a Sales member, rename and restore a department.
      expect((await gw.data(token, UPDATE_MEMBER, { input: { id: f.m.s1, isCorpAdmin: true } })).updateMember.member.isCorpAdmin).toBe(true);
      expect((await gw.data(token, UPDATE_MEMBER, { input: { id: f.m.s1, isCorpAdmin: false } })).updateMember.member.isCorpAdmin).toBe(false);
      expect((await gw.data(token, UPDATE_DEPARTMENT, { input: { id: f.d.salesSpare, name: "Spare" } })).updateDepartment.department.name).toBe("Spare");
      expect((await gw.data(token, UPDATE_DEPARTMENT, { input: { id: f.d.salesSpare, name: "Sales Spare" } })).updateDepartment.department.name).toBe(
        "Sales Spare",
      );
      expect(await gw.sql(`SELECT count(*)::int AS n FROM member WHERE employee_id = 'A-1'`)).toEqual([{ n: 0 }]);
      expect(await gw.sql(`SELECT is_corp_admin FROM member WHERE id = $1`, [pk(f.m.s1)])).toEqual([{ is_corp_admin: false }]);
    });
  });

  describe("inactive members", () => {
    const expectUnauthenticated = async (token: string) => {
      const res = await gw.gql(token, `{ viewer { role } }`);
      expect(res.status).toBe(401);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
    };

    it("a DISABLED member's token is UNAUTHENTICATED, even for a corp admin", async () => {
      await expectUnauthenticated(f.t.disabled);
      const before = await snapshot();
      const [query, variables] = mutation("createMember");
      const res = await gw.gql(f.t.disabled, query, variables);
      expect(res.status).toBe(401);
      expect(res.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect(await snapshot()).toEqual(before);
    });

    it("a token stops working when its member is disabled, resigned or deleted", async () => {
      const id = await gw.createMember(f.corp.token, { employeeId: "T-1", name: "Tia Temp", departmentIds: [f.d.sales] });
      const token = gw.memberToken(f.corp.corpPk, { clientId: f.corp.clientId }, pk(id));
      await expectUnauthenticated(token); // UNACTIVATED
      await gw.data(f.corp.token, SET_STATUS, { input: { id, status: "ACTIVE" } });
      expect((await gw.data(token, VIEWER)).viewer).toMatchObject({ role: "MEMBER", member: { employeeId: "T-1" } });
      for (const status of ["DISABLED", "RESIGNED"]) {
        await gw.data(f.corp.token, SET_STATUS, { input: { id, status } });
        await expectUnauthenticated(token);
      }
      await gw.data(f.corp.token, DELETE_MEMBER, { input: { id } });
      await expectUnauthenticated(token);
    });
  });

  describe("a second corp", () => {
    it("reads nothing of the first corp", async () => {
      const res = await gw.gql(
        beta.token,
        `query($sales: ID!, $root: ID!, $s1: ID!, $corp: ID!) {
          department(id: $sales) { name }
          root: department(id: $root) { name }
          member(id: $s1) { name }
          node1: node(id: $sales) { id }
          node2: node(id: $s1) { id }
          node3: node(id: $corp) { id }
          memberByEmployeeId(employeeId: "E-S1") { id name }
          other: memberByEmployeeId(employeeId: "E-E1") { id }
          departments { totalCount nodes { name children { name } } }
          members(first: 100) { totalCount nodes { name } }
          search: members(filter: { search: "Sam" }) { totalCount }
        }`,
        { sales: f.d.sales, root: f.d.root, s1: f.m.s1, corp: f.corp.corpId },
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({
        department: null,
        root: null,
        member: null,
        node1: null,
        node2: null,
        node3: null,
        memberByEmployeeId: { id: betaMember, name: "Bianca Beta" },
        other: null,
        departments: { totalCount: 1, nodes: [{ name: "Beta", children: [{ name: "Sales" }] }] },
        members: { totalCount: 1, nodes: [{ name: "Bianca Beta" }] },
        search: { totalCount: 0 },
      });
      // Lists taking a first-corp department refuse it.
      const list = await gw.gql(beta.token, `query($id: ID!) { departments(parentId: $id) { totalCount } }`, { id: f.d.sales });
      expect(list.body.errors![0].extensions).toEqual({ code: "NOT_FOUND", field: "parentId" });
    });

    const REFUSED: Array<[string, string, () => Record<string, unknown>, string, string]> = [
      [
        "createDepartment under a first-corp department",
        CREATE_DEPARTMENT,
        () => ({ input: { name: "X", parentId: f.d.sales } }),
        "NOT_FOUND",
        "input.parentId",
      ],
      ["updateDepartment of the first corp", UPDATE_DEPARTMENT, () => ({ input: { id: f.d.sales, name: "X" } }), "NOT_FOUND", "input.id"],
      [
        "updateDepartment: move under a first-corp department",
        UPDATE_DEPARTMENT,
        () => ({ input: { id: betaSales, parentId: f.d.eng } }),
        "NOT_FOUND",
        "input.parentId",
      ],
      [
        "updateDepartment: a first-corp member as leader",
        UPDATE_DEPARTMENT,
        () => ({ input: { id: betaSales, leaderIds: [f.m.s1] } }),
        "BAD_USER_INPUT",
        "input.leaderIds",
      ],
      ["deleteDepartment of the first corp", DELETE_DEPARTMENT, () => ({ input: { id: f.d.salesSpare } }), "NOT_FOUND", "input.id"],
      [
        "createMember in a first-corp department",
        CREATE_MEMBER,
        () => ({ input: { employeeId: "B-2", name: "X", departmentIds: [f.d.sales] } }),
        "NOT_FOUND",
        "input.departmentIds",
      ],
      ["updateMember of the first corp", UPDATE_MEMBER, () => ({ input: { id: f.m.s1, name: "X" } }), "NOT_FOUND", "input.id"],
      [
        "updateMember: move into a first-corp department",
        UPDATE_MEMBER,
        () => ({ input: { id: betaMember, departmentIds: [f.d.sales] } }),
        "NOT_FOUND",
        "input.departmentIds",
      ],
      ["setMemberStatus of the first corp", SET_STATUS, () => ({ input: { id: f.m.s1, status: "DISABLED" } }), "NOT_FOUND", "input.id"],
      ["deleteMember of the first corp", DELETE_MEMBER, () => ({ input: { id: f.m.s1 } }), "NOT_FOUND", "input.id"],
    ];
    it.each(REFUSED)("refuses %s", async (_name, query, vars, code, field) => {
      await expectRefused(beta.token, query, vars(), code, field);
    });

    it("tokens cannot be turned against the other corp", async () => {
      // A member of the first corp named in a token of the second corp's app.
      const crossMember = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(f.m.admin));
      // The second corp's app named in a token claiming the first corp.
      const crossApp = gw.memberToken(f.corp.corpPk, { clientId: beta.clientId }, pk(f.m.admin));
      for (const token of [crossMember, crossApp]) {
        const res = await gw.gql(token, `{ viewer { role } }`);
        expect(res.status).toBe(401);
        expect(res.body.errors![0].extensions).toEqual({ code: "UNAUTHENTICATED" });
      }
    });
  });
});
