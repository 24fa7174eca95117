import { isObjectType, type GraphQLSchema } from "graphql";
import { TestGateway, pk, type TestApp, type TestCorp } from "./harness";
import { buildWorkgraphSchema } from "../src/schema/build";
import { SqlParams } from "../src/db/sql";
import { toGlobalId } from "../src/schema/global-id";
import {
  appSeesMemberSql,
  canManageMembersIn,
  canSee,
  canSeeMember,
  canWriteMember,
  manageableSql,
  memberVisibleSql,
  outOfReachSql,
  requireMemberWritable,
  visibleSql,
  type Principal,
} from "../src/policy";

/**
 * The policy (issue 12, item 1): each rule has an in-memory form (`policy/principal.ts`) and, for
 * lists, an SQL form (`policy/sql.ts`). Here both forms are asked the same question about every
 * department and member of a real tree, for principals made from real tokens, and must answer alike;
 * a few answers are also spelled out, so that two forms wrong in the same way still fail. Then the
 * places where the rules are applied: loaders (a resolver cannot skip visibility), scope declarations
 * (the checker, the REST helper, the schema's descriptions).
 */

let gw: TestGateway;
let corp: TestCorp;
/** Department pk by name, and each department's path. */
const dept: Record<string, string> = {};
let paths: Record<string, string>;
/** Member pk by employee id. */
const mem: Record<string, string> = {};
let salesApp: TestApp;
let eastPlatformApp: TestApp;
let noneApp: TestApp;
let readApp: TestApp;
/** The principals under test, by persona. */
const principals: Record<string, Principal> = {};

interface MemberRow {
  id: string;
  employee_id: string;
  is_corp_admin: boolean;
  paths: string[];
}
let members: MemberRow[];

beforeAll(async () => {
  gw = await TestGateway.start();
  corp = await gw.createCorp("Acme");
  const department = async (name: string, parent?: string) =>
    (dept[name] = pk(await gw.createDepartment(corp.token, { name, ...(parent ? { parentId: gid("Department", dept[parent]) } : {}) })));
  dept.Acme = corp.rootPk;
  await department("Sales");
  await department("Sales East", "Sales");
  await department("East Team", "Sales East");
  await department("Sales West", "Sales");
  await department("Engineering");
  await department("Platform", "Engineering");
  const member = async (employeeId: string, departments: string[], extra: Record<string, unknown> = {}) =>
    (mem[employeeId] = pk(
      await gw.createMember(corp.token, {
        employeeId,
        name: employeeId,
        status: "ACTIVE",
        departmentIds: departments.map((d) => gid("Department", dept[d])),
        ...extra,
      }),
    ));
  await member("ADM", ["Sales"], { isCorpAdmin: true });
  await member("LEAD", ["Sales"]);
  await member("EAST-LEAD", ["Sales East"]);
  await member("S-EAST", ["East Team"]);
  await member("S-WEST", ["Sales West"]);
  await member("BOTH", ["Sales East", "Engineering"]);
  await member("ENG", ["Engineering"]);
  await member("PLAT-ADM", ["Platform"], { isCorpAdmin: true });
  await member("PLAIN", ["Sales West"]);
  await member("ROOT", ["Acme"]);
  const leaders = async (department: string, employeeIds: string[]) =>
    gw.data(corp.token, `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`, {
      input: { id: gid("Department", dept[department]), leaderIds: employeeIds.map((e) => gid("Member", mem[e])) },
    });
  await leaders("Sales", ["LEAD"]);
  await leaders("Sales East", ["EAST-LEAD"]);

  salesApp = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [dept.Sales]);
  eastPlatformApp = await gw.createApp(corp.corpPk, ["directory:read"], [dept["Sales East"], dept.Platform]);
  // A member named singly in the app's visibility: may sign in to it (appSeesMemberSql), but is not in its directory.
  await gw.sql(`UPDATE app SET visible_member_ids = ARRAY[$2::bigint] WHERE id = $1`, [eastPlatformApp.appPk, mem.ENG]);
  noneApp = await gw.createApp(corp.corpPk, ["messages:read"]);
  readApp = await gw.createApp(corp.corpPk, ["directory:read"]);

  const corpApp = { clientId: corp.clientId };
  const tokens: Record<string, string> = {
    "corp-wide app": corp.token,
    "app limited to Sales": salesApp.token,
    "app limited to Sales East and Platform": eastPlatformApp.token,
    "corp admin member": gw.memberToken(corp.corpPk, corpApp, mem.ADM),
    "corp admin member through the Sales app": gw.memberToken(corp.corpPk, salesApp, mem.ADM),
    "leader of Sales": gw.memberToken(corp.corpPk, corpApp, mem.LEAD),
    "leader of Sales East through the Sales app": gw.memberToken(corp.corpPk, salesApp, mem["EAST-LEAD"]),
    "plain member": gw.memberToken(corp.corpPk, corpApp, mem.PLAIN),
  };
  for (const [persona, token] of Object.entries(tokens)) principals[persona] = await gw.deps.tokens.authenticate(token);

  paths = Object.fromEntries(
    (await gw.sql<{ id: string; path: string }>(`SELECT id::text, path FROM department WHERE corp_id = $1`, [corp.corpPk])).map((d) => [d.id, d.path]),
  );
  members = await gw.sql<MemberRow>(
    `SELECT m.id::text, m.employee_id, m.is_corp_admin,
            ARRAY(SELECT d.path FROM member_department md JOIN department d ON d.id = md.department_id WHERE md.member_id = m.id ORDER BY d.id) AS paths
       FROM member m WHERE m.corp_id = $1 ORDER BY m.id`,
    [corp.corpPk],
  );
}, 60000);
afterAll(() => gw.stop());

const gid = (type: Parameters<typeof toGlobalId>[0], key: string): string => toGlobalId(type, key);

const nameOf = (pk: string) => Object.keys(dept).find((name) => dept[name] === pk)!;
const employeeOf = (pk: string) => members.find((m) => m.id === pk)!.employee_id;

/** Departments of the test corp for which the SQL predicate holds, by name. */
async function departmentsWhere(predicate: (params: SqlParams) => string): Promise<string[]> {
  const params = new SqlParams();
  const where = predicate(params);
  const rows = await gw.sql<{ id: string }>(`SELECT d.id::text FROM department d WHERE d.corp_id = $1 AND ${where} ORDER BY d.id`, [
    corp.corpPk,
    ...params.values,
  ]);
  return rows.map((r) => nameOf(r.id));
}

/** Members of the test corp for which the SQL predicate (on `m`) holds, by employee id. */
async function membersWhere(predicate: (params: SqlParams) => string): Promise<string[]> {
  const params = new SqlParams();
  const where = predicate(params);
  const rows = await gw.sql<{ id: string }>(`SELECT m.id::text FROM member m WHERE m.corp_id = $1 AND ${where} ORDER BY m.id`, [corp.corpPk, ...params.values]);
  return rows.map((r) => employeeOf(r.id));
}

const allDepartments = () => Object.keys(paths).sort((a, b) => Number(a) - Number(b));
const reach = (m: MemberRow) => ({ isCorpAdmin: m.is_corp_admin, departmentPaths: m.paths });

describe("each rule's in-memory and SQL forms agree on every department and member", () => {
  const personas = [
    "corp-wide app",
    "app limited to Sales",
    "app limited to Sales East and Platform",
    "corp admin member",
    "corp admin member through the Sales app",
    "leader of Sales",
    "leader of Sales East through the Sales app",
    "plain member",
  ];

  it.each(personas)("%s: sees a department (canSee / visibleSql)", async (persona) => {
    const p = principals[persona];
    const inMemory = allDepartments()
      .filter((id) => canSee(p, paths[id]))
      .map(nameOf);
    expect(await departmentsWhere((params) => visibleSql(p, params, "d.path"))).toEqual(inMemory);
  });

  it.each(personas)("%s: manages a department's members (canManageMembersIn / manageableSql)", async (persona) => {
    const p = principals[persona];
    const inMemory = allDepartments()
      .filter((id) => canManageMembersIn(p, paths[id]))
      .map(nameOf);
    expect(await departmentsWhere((params) => manageableSql(p, params, "d.path"))).toEqual(inMemory);
  });

  it.each(personas)("%s: sees a member (canSeeMember / memberVisibleSql)", async (persona) => {
    const p = principals[persona];
    const inMemory = members.filter((m) => canSeeMember(p, m.paths)).map((m) => m.employee_id);
    expect(await membersWhere((params) => memberVisibleSql(p, params, "m"))).toEqual(inMemory);
  });

  it.each(personas)("%s: may write a member (canWriteMember / NOT outOfReachSql / requireMemberWritable)", async (persona) => {
    const p = principals[persona];
    const inMemory = members.filter((m) => canWriteMember(p, reach(m))).map((m) => m.employee_id);
    expect(await membersWhere((params) => `NOT ${outOfReachSql(p, params, "m")}`)).toEqual(inMemory);
    // The refusal the services throw says yes exactly where the rule does.
    const allowed = members.filter((m) => {
      try {
        requireMemberWritable(p, reach(m), "input.id");
        return true;
      } catch {
        return false;
      }
    });
    expect(allowed.map((m) => m.employee_id)).toEqual(inMemory);
  });

  it("the answers themselves (so that both forms cannot be wrong together)", () => {
    const sees = (persona: string) =>
      allDepartments()
        .filter((id) => canSee(principals[persona], paths[id]))
        .map(nameOf);
    const writes = (persona: string) => members.filter((m) => canWriteMember(principals[persona], reach(m))).map((m) => m.employee_id);
    const everyone = members.map((m) => m.employee_id);
    expect(sees("corp-wide app")).toEqual(["Acme", "Sales", "Sales East", "East Team", "Sales West", "Engineering", "Platform"]);
    expect(sees("app limited to Sales")).toEqual(["Sales", "Sales East", "East Team", "Sales West"]);
    expect(sees("app limited to Sales East and Platform")).toEqual(["Sales East", "East Team", "Platform"]);
    expect(writes("corp-wide app")).toEqual(everyone);
    expect(writes("corp admin member")).toEqual(everyone);
    // A member with one department outside the subtree (BOTH) is out of reach: every department counts, not the main one.
    expect(writes("app limited to Sales")).toEqual(["ADM", "LEAD", "EAST-LEAD", "S-EAST", "S-WEST", "PLAIN"]);
    expect(writes("corp admin member through the Sales app")).toEqual(["ADM", "LEAD", "EAST-LEAD", "S-EAST", "S-WEST", "PLAIN"]);
    // A leader never reaches a corp administrator, even in the subtree they lead.
    expect(writes("leader of Sales")).toEqual(["LEAD", "EAST-LEAD", "S-EAST", "S-WEST", "PLAIN"]);
    expect(writes("leader of Sales East through the Sales app")).toEqual(["EAST-LEAD", "S-EAST"]);
    expect(writes("plain member")).toEqual([]);
  });

  it("an app sees a member (appSeesMemberSql): its departments' subtrees, or the member named singly", async () => {
    const signsIn = async (app: TestApp) =>
      (
        await gw.sql<{ id: string }>(
          `SELECT m.id::text FROM member m JOIN app a ON a.corp_id = $1 AND a.id = $2 WHERE m.corp_id = $1 AND ${appSeesMemberSql("m.id")} ORDER BY m.id`,
          [corp.corpPk, app.appPk],
        )
      ).map((r) => employeeOf(r.id));
    const directory = (persona: string) => members.filter((m) => canSeeMember(principals[persona], m.paths)).map((m) => m.employee_id);
    expect(await signsIn(salesApp)).toEqual(directory("app limited to Sales"));
    expect(await signsIn(eastPlatformApp)).toEqual(
      members.filter((m) => directory("app limited to Sales East and Platform").includes(m.employee_id) || m.employee_id === "ENG").map((m) => m.employee_id),
    );
    expect(await signsIn(eastPlatformApp)).toEqual(["EAST-LEAD", "S-EAST", "BOTH", "ENG", "PLAT-ADM"]);
  });
});

describe("loaders apply visibility, whatever the resolver", () => {
  const LEADERS = `query($id: ID!) { department(id: $id) { name leaders { employeeId } } }`;

  it("department { leaders } shows no leader outside a restricted app's visibility", async () => {
    // Writers keep a leader within the department's members; a row that breaks it (older data, a
    // future writer) must still not show a member the app cannot see.
    await gw.sql(`INSERT INTO department_leader (corp_id, department_id, member_id) VALUES ($1, $2, $3)`, [corp.corpPk, dept.Sales, mem.ENG]);
    try {
      const id = gid("Department", dept.Sales);
      expect((await gw.data(corp.token, LEADERS, { id })).department.leaders).toEqual([{ employeeId: "LEAD" }, { employeeId: "ENG" }]);
      expect((await gw.data(salesApp.token, LEADERS, { id })).department.leaders).toEqual([{ employeeId: "LEAD" }]);
      // The member itself stays out of reach for that app, however it is asked for.
      const res = await gw.data(
        salesApp.token,
        `query($id: ID!) { member(id: $id) { name } node(id: $id) { id } memberByEmployeeId(employeeId: "ENG") { name } }`,
        {
          id: gid("Member", mem.ENG),
        },
      );
      expect(res).toEqual({ member: null, node: null, memberByEmployeeId: null });
    } finally {
      await gw.sql(`DELETE FROM department_leader WHERE department_id = $1 AND member_id = $2`, [dept.Sales, mem.ENG]);
    }
  });

  it("a member's departments, main department and led departments are limited to what the caller sees", async () => {
    const query = `query($id: ID!) { member(id: $id) { departments { name } mainDepartment { name } leaderOf { name } } }`;
    await gw.data(corp.token, `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id } } }`, {
      input: { id: gid("Member", mem.BOTH), mainDepartmentId: gid("Department", dept.Engineering) },
    });
    const both = gid("Member", mem.BOTH);
    expect((await gw.data(corp.token, query, { id: both })).member).toEqual({
      departments: [{ name: "Engineering" }, { name: "Sales East" }],
      mainDepartment: { name: "Engineering" },
      leaderOf: [],
    });
    expect((await gw.data(salesApp.token, query, { id: both })).member).toEqual({ departments: [{ name: "Sales East" }], mainDepartment: null, leaderOf: [] });
  });

  it("counts and pages of a department are those of a visible department only", async () => {
    const query = `query($id: ID!) { department(id: $id) { memberCount(includeSubdepartments: true) members(includeSubdepartments: true) { totalCount nodes { employeeId } } children { name } } }`;
    const sales = (await gw.data(salesApp.token, query, { id: gid("Department", dept.Sales) })).department;
    expect(sales.memberCount).toBe(7);
    expect(sales.members.nodes.map((n: { employeeId: string }) => n.employeeId)).toEqual(["ADM", "LEAD", "EAST-LEAD", "S-EAST", "S-WEST", "BOTH", "PLAIN"]);
    expect(sales.children).toEqual([{ name: "Sales East" }, { name: "Sales West" }]);
    expect((await gw.data(eastPlatformApp.token, query, { id: gid("Department", dept.Sales) })).department).toBeNull();
  });
});

describe("scopes are declared once and checked by the policy", () => {
  it("no token: UNAUTHENTICATED; a token without the scope: FORBIDDEN naming it", async () => {
    expect((await gw.gql(null, `{ members { totalCount } }`)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const res = await gw.gql(noneApp.token, `{ members { totalCount } }`);
    expect(res.body.errors?.[0]).toMatchObject({
      message: "This operation needs the scope `directory:read`; the token carries: messages:read.",
      extensions: { code: "FORBIDDEN" },
    });
  });

  it("a write declares both scopes it needs; the first one missing is named", async () => {
    const res = await gw.gql(readApp.token, `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { id } } }`, {
      input: { id: gid("Member", mem.PLAIN), status: "DISABLED" },
    });
    expect(res.body.errors?.[0]).toMatchObject({
      message: "This operation needs the scope `directory:write`; the token carries: directory:read.",
      extensions: { code: "FORBIDDEN" },
    });
    expect(await gw.sql(`SELECT status FROM member WHERE id = $1`, [mem.PLAIN])).toEqual([{ status: "ACTIVE" }]);
  });

  it("a field resolver that needs a scope refuses it even on an object reached without that scope", async () => {
    // Departments reach a token without directory:read through viewer.visibleDepartments.
    const limited = await gw.createApp(corp.corpPk, ["messages:read"], [dept.Sales]);
    const res = await gw.gql(limited.token, `{ viewer { visibleDepartments { name members { totalCount } } } }`);
    expect(res.body.errors?.[0]).toMatchObject({ path: ["viewer", "visibleDepartments", 0, "members"], extensions: { code: "FORBIDDEN" } });
  });

  it("the REST routes declare theirs through the same helper", async () => {
    const exportRes = await fetch(`${gw.url}/exports/00000000-0000-0000-0000-000000000000`, { headers: { authorization: `Bearer ${noneApp.token}` } });
    expect(exportRes.status).toBe(403);
    expect(((await exportRes.json()) as { errors: Array<{ message: string }> }).errors[0].message).toBe(
      "This operation needs the scope `directory:read`; the token carries: messages:read.",
    );
    const importRes = await fetch(`${gw.url}/imports?mode=UPSERT`, {
      method: "POST",
      headers: { authorization: `Bearer ${readApp.token}`, "content-type": "text/csv" },
      body: "employeeId,name,department\n",
    });
    expect(importRes.status).toBe(403);
    expect(((await importRes.json()) as { errors: Array<{ message: string }> }).errors[0].message).toBe(
      "This operation needs the scope `directory:write`; the token carries: directory:read.",
    );
    expect(await gw.sql(`SELECT count(*)::int AS n FROM import_job WHERE corp_id = $1`, [corp.corpPk])).toEqual([{ n: 0 }]);
  });

  describe("in the schema", () => {
    let schema: GraphQLSchema;
    beforeAll(async () => {
      schema = await buildWorkgraphSchema();
    });

    it("every root field but viewer, corp, node and rateLimit declares its scopes, and its description says which", () => {
      const undeclared: string[] = [];
      for (const type of [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!]) {
        for (const field of Object.values(type.getFields())) {
          if (type === schema.getQueryType() && ["viewer", "corp", "node", "rateLimit"].includes(field.name)) continue;
          if (!/Needs the scopes? `[a-z]+:[a-z]+`/.test(field.description ?? "")) undeclared.push(`${type.name}.${field.name}`);
        }
      }
      expect(undeclared).toEqual([]);
      expect(schema.getQueryType()!.getFields().node.description).toContain("`apps:admin` for App");
    });

    it("no hand-written scope sentence is left beside the generated one", () => {
      const doubled: string[] = [];
      for (const type of Object.values(schema.getTypeMap())) {
        if (!isObjectType(type) || type.name.startsWith("__")) continue;
        for (const field of Object.values(type.getFields())) {
          if ((field.description?.match(/`(directory|apps|messages|customers):[a-z]+`/g) ?? []).length > 0 && /Needs `/.test(field.description ?? "")) {
            doubled.push(`${type.name}.${field.name}`);
          }
        }
      }
      expect(doubled).toEqual([]);
    });
  });
});
