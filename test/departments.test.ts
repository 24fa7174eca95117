import { TestGateway, failure, pk, refused, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";

/**
 * Department mutations and queries end to end: each rule's result, error code and field, and the
 * rows (department, department_leader, event) left in the database.
 */

const deptId = (p: string) => toGlobalId("Department", p);

const DEPT = `id name order depth parent { id } ancestors { id } children { id }`;
const CREATE = `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { ${DEPT} } } }`;
const UPDATE = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { ${DEPT} } } }`;
const DELETE = `mutation($input: DeleteDepartmentInput!) { deleteDepartment(input: $input) { deletedDepartmentId } }`;

let gw: TestGateway;
let corp: TestCorp;
let other: TestCorp;
let otherDept: string;

beforeAll(async () => {
  gw = await TestGateway.start();
  [corp, other] = await Promise.all([gw.createCorp("Acme"), gw.createCorp("Globex")]);
  otherDept = (await gw.data(other.token, CREATE, { input: { name: "Globex Secret Lab" } })).createDepartment.department.id;
});
afterAll(() => gw.stop());

// ---------------------------------------------------------------------------------------------
// Helpers

const mkDept = (token: string, name: string, parentId?: string, order?: number) => gw.createDepartment(token, { name, parentId, order });
const mkMember = (token: string, employeeId: string, departmentIds: string[]) =>
  gw.createMember(token, { employeeId, name: `Member ${employeeId}`, departmentIds });

async function row(id: string) {
  const rows = await gw.sql(`SELECT id, corp_id, parent_id, name, "order", depth, path FROM department WHERE id = $1`, [pk(id)]);
  return rows[0];
}

async function pathOf(id: string): Promise<string> {
  return (await row(id)).path;
}

// Departments of the main corp, filled in as the tests go.
let eng: string;
let backend: string;
let frontend: string;
let mobile: string;
let data: string;

describe("createDepartment", () => {
  it("without parentId goes under the root", async () => {
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, CREATE, { input: { name: "Engineering" } });
    const [created] = await gw.sql(`SELECT id FROM department WHERE corp_id = $1 AND name = 'Engineering'`, [corp.corpPk]);
    eng = deptId(created.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: {
        createDepartment: {
          department: { id: eng, name: "Engineering", order: 0, depth: 1, parent: { id: corp.rootId }, ancestors: [{ id: corp.rootId }], children: [] },
        },
      },
    });
    const path = `/${corp.rootPk}/${pk(eng)}/`;
    expect(await row(eng)).toEqual({ id: pk(eng), corp_id: corp.corpPk, parent_id: corp.rootPk, name: "Engineering", order: 0, depth: 1, path });
    expect(await gw.eventsSince(mark)).toEqual([
      { corp_id: corp.corpPk, type: "DEPARTMENT_CREATED", department_id: pk(eng), member_id: null, scope_paths: [path], data: {} },
    ]);
    const root = await gw.data(corp.token, `query($id: ID!) { department(id: $id) { name depth parent { id } ancestors { id } children { id name } } }`, {
      id: corp.rootId,
    });
    expect(root).toEqual({ department: { name: "Acme", depth: 0, parent: null, ancestors: [], children: [{ id: eng, name: "Engineering" }] } });
  });

  it("with parentId and order goes under that parent", async () => {
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, CREATE, { input: { name: "Backend", parentId: eng, order: 5 } });
    backend = res.body.data.createDepartment.department.id;
    expect(res.body).toEqual({
      data: {
        createDepartment: {
          department: { id: backend, name: "Backend", order: 5, depth: 2, parent: { id: eng }, ancestors: [{ id: corp.rootId }, { id: eng }], children: [] },
        },
      },
    });
    const path = `/${corp.rootPk}/${pk(eng)}/${pk(backend)}/`;
    expect(await row(backend)).toEqual({ id: pk(backend), corp_id: corp.corpPk, parent_id: pk(eng), name: "Backend", order: 5, depth: 2, path });
    expect(await gw.eventsSince(mark)).toEqual([
      { corp_id: corp.corpPk, type: "DEPARTMENT_CREATED", department_id: pk(backend), member_id: null, scope_paths: [path], data: {} },
    ]);
  });

  it("orders siblings by `order`, then by creation, in `children` and `departments(parentId)`", async () => {
    frontend = await mkDept(corp.token, "Frontend", eng, 1);
    mobile = await mkDept(corp.token, "Mobile", eng, 1);
    data = await mkDept(corp.token, "Data", eng, 0);
    const res = await gw.data(
      corp.token,
      `query($id: ID!) {
        department(id: $id) { children { id name order depth } }
        departments(parentId: $id) { nodes { id name } totalCount pageInfo { hasNextPage hasPreviousPage } }
      }`,
      { id: eng },
    );
    expect(res).toEqual({
      department: {
        children: [
          { id: data, name: "Data", order: 0, depth: 2 },
          { id: frontend, name: "Frontend", order: 1, depth: 2 },
          { id: mobile, name: "Mobile", order: 1, depth: 2 },
          { id: backend, name: "Backend", order: 5, depth: 2 },
        ],
      },
      departments: {
        nodes: [
          { id: data, name: "Data" },
          { id: frontend, name: "Frontend" },
          { id: mobile, name: "Mobile" },
          { id: backend, name: "Backend" },
        ],
        totalCount: 4,
        pageInfo: { hasNextPage: false, hasPreviousPage: false },
      },
    });
  });

  it("allows a name used under another parent, refuses a duplicate sibling name with CONFLICT", async () => {
    const dataUnderBackend = await mkDept(corp.token, "Data", backend);
    expect(await row(dataUnderBackend)).toMatchObject({ parent_id: pk(backend), name: "Data", depth: 3 });
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Data", parentId: eng } }),
      refused("createDepartment", "CONFLICT", "input.name", "The parent department already has a sub-department with this name."),
    );
    await gw.data(corp.token, DELETE, { input: { id: dataUnderBackend } });
  });
});

describe("the 15-level limit", () => {
  let deep: TestCorp;
  const chain: string[] = [];

  beforeAll(async () => {
    deep = await gw.createCorp("Deep");
  });

  it("allows a chain of 15 departments below the root", async () => {
    let parent = deep.rootId;
    for (let i = 1; i <= 15; i++) {
      parent = await mkDept(deep.token, `L${i}`, parent);
      chain.push(parent);
    }
    const res = await gw.data(deep.token, `query($id: ID!) { department(id: $id) { name depth parent { id } ancestors { id } } }`, { id: chain[14] });
    expect(res).toEqual({
      department: { name: "L15", depth: 15, parent: { id: chain[13] }, ancestors: [deep.rootId, ...chain.slice(0, 14)].map((id) => ({ id })) },
    });
    const rows = await gw.sql(`SELECT name, depth, path FROM department WHERE corp_id = $1 ORDER BY depth`, [deep.corpPk]);
    expect(rows).toEqual([
      { name: "Deep", depth: 0, path: `/${deep.rootPk}/` },
      ...chain.map((id, i) => ({ name: `L${i + 1}`, depth: i + 1, path: `/${[deep.rootPk, ...chain.slice(0, i + 1).map(pk)].join("/")}/` })),
    ]);
  });

  it("refuses the 16th level with LIMIT_EXCEEDED on input.parentId and inserts nothing", async () => {
    await gw.expectRefused(
      () => gw.gql(deep.token, CREATE, { input: { name: "L16", parentId: chain[14] } }),
      refused("createDepartment", "LIMIT_EXCEEDED", "input.parentId", "Departments nest at most 15 levels below the root."),
    );
    expect(await gw.sql(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1`, [deep.corpPk])).toEqual([{ n: 16 }]);
  });

  it("refuses a move whose subtree would go below level 15, allows one that just fits", async () => {
    const x = await mkDept(deep.token, "X");
    const y = await mkDept(deep.token, "Y", x);
    // Under L14, X would be at 15 and Y at 16.
    await gw.expectRefused(
      () => gw.gql(deep.token, UPDATE, { input: { id: x, parentId: chain[13] } }),
      refused("updateDepartment", "LIMIT_EXCEEDED", "input.parentId", "The move would nest departments more than 15 levels below the root."),
    );
    const res = await gw.gql(deep.token, UPDATE, { input: { id: x, parentId: chain[12] } });
    expect(res.body).toEqual({
      data: {
        updateDepartment: {
          department: {
            id: x,
            name: "X",
            order: 0,
            depth: 14,
            parent: { id: chain[12] },
            ancestors: [deep.rootId, ...chain.slice(0, 13)].map((id) => ({ id })),
            children: [{ id: y }],
          },
        },
      },
    });
    const xPath = `/${[deep.rootPk, ...chain.slice(0, 13).map(pk), pk(x)].join("/")}/`;
    expect(await row(x)).toMatchObject({ parent_id: pk(chain[12]), depth: 14, path: xPath });
    expect(await row(y)).toMatchObject({ parent_id: pk(x), depth: 15, path: `${xPath}${pk(y)}/` });
    // Y cannot take a child any more.
    await gw.expectRefused(
      () => gw.gql(deep.token, CREATE, { input: { name: "Z", parentId: y } }),
      refused("createDepartment", "LIMIT_EXCEEDED", "input.parentId", "Departments nest at most 15 levels below the root."),
    );
  });
});

describe("updateDepartment", () => {
  it("renames: result, row and a DEPARTMENT_UPDATED event with changedFields", async () => {
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, UPDATE, { input: { id: backend, name: "Platform" } });
    expect(res.body).toEqual({
      data: {
        updateDepartment: {
          department: { id: backend, name: "Platform", order: 5, depth: 2, parent: { id: eng }, ancestors: [{ id: corp.rootId }, { id: eng }], children: [] },
        },
      },
    });
    const path = `/${corp.rootPk}/${pk(eng)}/${pk(backend)}/`;
    expect(await row(backend)).toEqual({ id: pk(backend), corp_id: corp.corpPk, parent_id: pk(eng), name: "Platform", order: 5, depth: 2, path });
    expect(await gw.eventsSince(mark)).toEqual([
      { corp_id: corp.corpPk, type: "DEPARTMENT_UPDATED", department_id: pk(backend), member_id: null, scope_paths: [path], data: { changedFields: ["name"] } },
    ]);
  });

  it("reorders among siblings", async () => {
    const mark = await gw.eventMark();
    const res = await gw.data(
      corp.token,
      `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { name order parent { children { name } } } } }`,
      {
        input: { id: backend, order: 0 },
      },
    );
    // Ties on `order` go by creation: Platform (ex-Backend) was created before Data.
    expect(res).toEqual({
      updateDepartment: {
        department: { name: "Platform", order: 0, parent: { children: [{ name: "Platform" }, { name: "Data" }, { name: "Frontend" }, { name: "Mobile" }] } },
      },
    });
    expect(await row(backend)).toMatchObject({ name: "Platform", order: 0 });
    expect(await gw.eventsSince(mark)).toEqual([
      {
        corp_id: corp.corpPk,
        type: "DEPARTMENT_UPDATED",
        department_id: pk(backend),
        member_id: null,
        scope_paths: [await pathOf(backend)],
        data: { changedFields: ["order"] },
      },
    ]);
  });

  it("records both fields when renaming and reordering at once, and nothing for a no-op", async () => {
    let mark = await gw.eventMark();
    await gw.data(corp.token, UPDATE, { input: { id: mobile, name: "Apps", order: 9 } });
    expect(await row(mobile)).toMatchObject({ name: "Apps", order: 9 });
    expect((await gw.eventsSince(mark)).map((e) => e.data)).toEqual([{ changedFields: ["name", "order"] }]);

    mark = await gw.eventMark();
    const res = await gw.data(corp.token, UPDATE, { input: { id: mobile, name: "Apps", order: 9 } });
    expect(res.updateDepartment.department).toMatchObject({ id: mobile, name: "Apps", order: 9 });
    expect(await gw.eventsSince(mark)).toEqual([]);
  });

  describe("moves", () => {
    let ops: string;
    let sre: string;
    let onCall: string;

    beforeAll(async () => {
      ops = await mkDept(corp.token, "Ops");
      sre = await mkDept(corp.token, "SRE", ops);
      onCall = await mkDept(corp.token, "On-call", sre);
    });

    it("moves a subtree: depth, path and ancestors of every department below follow", async () => {
      const oldPath = await pathOf(sre);
      const mark = await gw.eventMark();
      const res = await gw.gql(corp.token, UPDATE, { input: { id: sre, parentId: backend } });
      expect(res.body).toEqual({
        data: {
          updateDepartment: {
            department: {
              id: sre,
              name: "SRE",
              order: 0,
              depth: 3,
              parent: { id: backend },
              ancestors: [{ id: corp.rootId }, { id: eng }, { id: backend }],
              children: [{ id: onCall }],
            },
          },
        },
      });
      const newPath = `/${corp.rootPk}/${pk(eng)}/${pk(backend)}/${pk(sre)}/`;
      expect(await row(sre)).toEqual({ id: pk(sre), corp_id: corp.corpPk, parent_id: pk(backend), name: "SRE", order: 0, depth: 3, path: newPath });
      expect(await row(onCall)).toEqual({
        id: pk(onCall),
        corp_id: corp.corpPk,
        parent_id: pk(sre),
        name: "On-call",
        order: 0,
        depth: 4,
        path: `${newPath}${pk(onCall)}/`,
      });
      expect(await gw.eventsSince(mark)).toEqual([
        {
          corp_id: corp.corpPk,
          type: "DEPARTMENT_UPDATED",
          department_id: pk(sre),
          member_id: null,
          scope_paths: [oldPath, newPath],
          data: { changedFields: ["parent"] },
        },
      ]);
      const read = await gw.data(
        corp.token,
        `query($a: ID!, $b: ID!) {
          onCall: department(id: $a) { depth parent { name } ancestors { name depth } }
          ops: department(id: $b) { children { id } }
        }`,
        { a: onCall, b: ops },
      );
      expect(read).toEqual({
        onCall: {
          depth: 4,
          parent: { name: "SRE" },
          ancestors: [
            { name: "Acme", depth: 0 },
            { name: "Engineering", depth: 1 },
            { name: "Platform", depth: 2 },
            { name: "SRE", depth: 3 },
          ],
        },
        ops: { children: [] },
      });
    });

    it("refuses a move under itself or under a descendant (BAD_USER_INPUT on input.parentId)", async () => {
      const message = "A department cannot move under itself or one of its sub-departments.";
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: sre, parentId: sre } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.parentId", message),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: sre, parentId: onCall } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.parentId", message),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: eng, parentId: onCall } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.parentId", message),
      );
    });

    it("refuses to move, rename or delete the root", async () => {
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: corp.rootId, parentId: eng } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.parentId", "The root department cannot be moved."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: corp.rootId, name: "Acme Renamed" } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.name", "The root department is named after the corp and cannot be renamed here."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, DELETE, { input: { id: corp.rootId } }),
        refused("deleteDepartment", "BAD_USER_INPUT", "input.id", "The root department cannot be deleted."),
      );
    });

    it("refuses a duplicate sibling name on rename and on move with CONFLICT on input.name", async () => {
      const message = "The parent department already has a sub-department with this name.";
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: frontend, name: "Data" } }),
        refused("updateDepartment", "CONFLICT", "input.name", message),
      );
      // The move writes paths first and then hits the unique index: everything rolls back.
      await mkDept(corp.token, "Tools");
      const opsTools = await mkDept(corp.token, "Tools", ops);
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: opsTools, parentId: corp.rootId } }),
        refused("updateDepartment", "CONFLICT", "input.name", message),
      );
      // A move and a rename together resolve the clash.
      const res = await gw.data(corp.token, UPDATE, { input: { id: opsTools, parentId: corp.rootId, name: "Ops tools" } });
      expect(res.updateDepartment.department).toEqual({
        id: opsTools,
        name: "Ops tools",
        order: 0,
        depth: 1,
        parent: { id: corp.rootId },
        ancestors: [{ id: corp.rootId }],
        children: [],
      });
      expect(await row(opsTools)).toMatchObject({ parent_id: corp.rootPk, name: "Ops tools", depth: 1, path: `/${corp.rootPk}/${pk(opsTools)}/` });
    });
  });

  describe("leaders", () => {
    let ada: string;
    let bob: string;
    let cy: string;

    const LEADERS = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { name leaders { id employeeId leaderOf { name } } } } }`;

    beforeAll(async () => {
      ada = await mkMember(corp.token, "ada", [eng]);
      bob = await mkMember(corp.token, "bob", [frontend, eng]);
      cy = await mkMember(corp.token, "cy", [frontend]);
    });

    const leaderRows = () => gw.sql(`SELECT department_id, member_id, corp_id FROM department_leader ORDER BY department_id, member_id`);

    it("sets leaders, shown in `leaders` and `Member.leaderOf`", async () => {
      const mark = await gw.eventMark();
      const res = await gw.gql(corp.token, LEADERS, { input: { id: eng, leaderIds: [bob, ada] } });
      expect(res.body).toEqual({
        data: {
          updateDepartment: {
            department: {
              name: "Engineering",
              leaders: [
                { id: ada, employeeId: "ada", leaderOf: [{ name: "Engineering" }] },
                { id: bob, employeeId: "bob", leaderOf: [{ name: "Engineering" }] },
              ],
            },
          },
        },
      });
      expect(await leaderRows()).toEqual([
        { department_id: pk(eng), member_id: pk(ada), corp_id: corp.corpPk },
        { department_id: pk(eng), member_id: pk(bob), corp_id: corp.corpPk },
      ]);
      expect(await gw.eventsSince(mark)).toEqual([
        {
          corp_id: corp.corpPk,
          type: "DEPARTMENT_UPDATED",
          department_id: pk(eng),
          member_id: null,
          scope_paths: [await pathOf(eng)],
          data: { changedFields: ["leaders"] },
        },
      ]);
      // Bob also leads Frontend: leaderOf lists both, shallowest first.
      await gw.data(corp.token, LEADERS, { input: { id: frontend, leaderIds: [bob, bob] } });
      const read = await gw.data(corp.token, `query($id: ID!) { member(id: $id) { leaderOf { name depth } } }`, { id: bob });
      expect(read).toEqual({
        member: {
          leaderOf: [
            { name: "Engineering", depth: 1 },
            { name: "Frontend", depth: 2 },
          ],
        },
      });
    });

    it("refuses a leader who is not a member of the department (BAD_USER_INPUT on input.leaderIds)", async () => {
      const message = "Every leader must be a member of the department.";
      await gw.expectRefused(
        () => gw.gql(corp.token, LEADERS, { input: { id: eng, leaderIds: [ada, cy] } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.leaderIds", message),
      );
      const foreign = await mkMember(other.token, "alien", [otherDept]);
      await gw.expectRefused(
        () => gw.gql(corp.token, LEADERS, { input: { id: eng, leaderIds: [foreign] } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.leaderIds", message),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, LEADERS, { input: { id: eng, leaderIds: ["not an id"] } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.leaderIds", "input.leaderIds is not a valid Member id."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, LEADERS, { input: { id: eng, leaderIds: [eng] } }),
        refused("updateDepartment", "NOT_FOUND", "input.leaderIds", "Member was not found or is outside your visibility scope."),
      );
    });

    it("rolls back a move when the leaders of the same update are refused", async () => {
      await gw.expectRefused(
        () => gw.gql(corp.token, UPDATE, { input: { id: frontend, parentId: corp.rootId, name: "Web", leaderIds: [ada] } }),
        refused("updateDepartment", "BAD_USER_INPUT", "input.leaderIds", "Every leader must be a member of the department."),
      );
    });

    it("clears leaders with an empty list", async () => {
      const res = await gw.data(corp.token, LEADERS, { input: { id: eng, leaderIds: [] } });
      expect(res).toEqual({ updateDepartment: { department: { name: "Engineering", leaders: [] } } });
      expect(await leaderRows()).toEqual([{ department_id: pk(frontend), member_id: pk(bob), corp_id: corp.corpPk }]);
      const read = await gw.data(corp.token, `query($id: ID!) { member(id: $id) { leaderOf { name } } }`, { id: ada });
      expect(read).toEqual({ member: { leaderOf: [] } });
    });
  });
});

describe("deleteDepartment", () => {
  it("deletes an empty department: row gone, DEPARTMENT_DELETED event", async () => {
    const path = await pathOf(mobile);
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, DELETE, { input: { id: mobile } });
    expect(res.body).toEqual({ data: { deleteDepartment: { deletedDepartmentId: mobile } } });
    expect(await gw.sql(`SELECT id FROM department WHERE id = $1`, [pk(mobile)])).toEqual([]);
    expect(await gw.eventsSince(mark)).toEqual([
      { corp_id: corp.corpPk, type: "DEPARTMENT_DELETED", department_id: pk(mobile), member_id: null, scope_paths: [path], data: { name: "Apps" } },
    ]);
    const read = await gw.data(corp.token, `query($id: ID!) { department(id: $id) { id } node(id: $id) { id } }`, { id: mobile });
    expect(read).toEqual({ department: null, node: null });
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: mobile } }),
      refused("deleteDepartment", "NOT_FOUND", "input.id", "Department was not found or is outside your visibility scope."),
    );
  });

  it("refuses a department with a sub-department (CONFLICT), the row stays", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: backend } }),
      refused("deleteDepartment", "CONFLICT", "input.id", "The department has sub-departments: move or delete them first."),
    );
    expect(await row(backend)).toMatchObject({ name: "Platform" });
  });

  it("refuses a department with a member (CONFLICT), the row stays", async () => {
    const sales = await mkDept(corp.token, "Sales");
    await mkMember(corp.token, "seller", [sales]);
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: sales } }),
      refused("deleteDepartment", "CONFLICT", "input.id", "The department has members: move or remove them first."),
    );
    expect(await row(sales)).toMatchObject({ name: "Sales", parent_id: corp.rootPk });
  });
});

describe("validation and ids", () => {
  it.each([
    ["empty", "", "input.name: name must not be blank or start or end with spaces"],
    ["65 characters", "x".repeat(65), "input.name: name must be shorter than or equal to 64 characters"],
    ["a leading space", " Sales", "input.name: name must not be blank or start or end with spaces"],
    ["a trailing space", "Sales ", "input.name: name must not be blank or start or end with spaces"],
    ["only blanks", "   ", "input.name: name must not be blank or start or end with spaces"],
  ])("refuses a name that is %s (BAD_USER_INPUT on input.name)", async (_what, name, message) => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name, parentId: eng } }),
      refused("createDepartment", "BAD_USER_INPUT", "input.name", message),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: data, name } }),
      refused("updateDepartment", "BAD_USER_INPUT", "input.name", message),
    );
  });

  it("accepts a name of exactly 64 characters", async () => {
    const name = "n".repeat(64);
    const id = await mkDept(corp.token, name, eng);
    expect(await row(id)).toMatchObject({ name, parent_id: pk(eng) });
    await gw.data(corp.token, DELETE, { input: { id } });
  });

  it("refuses a negative order (BAD_USER_INPUT on input.order)", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Neg", order: -1 } }),
      refused("createDepartment", "BAD_USER_INPUT", "input.order", "input.order: order must not be less than 0"),
    );
  });

  it("refuses malformed ids with BAD_USER_INPUT naming the field", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Orphan", parentId: "not-an-id!" } }),
      refused("createDepartment", "BAD_USER_INPUT", "input.parentId", "input.parentId is not a valid Department id."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: "xyz", name: "Whatever" } }),
      refused("updateDepartment", "BAD_USER_INPUT", "input.id", "input.id is not a valid Department id."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: data, parentId: "@@" } }),
      refused("updateDepartment", "BAD_USER_INPUT", "input.parentId", "input.parentId is not a valid Department id."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: "" } }),
      refused("deleteDepartment", "BAD_USER_INPUT", "input.id", "input.id is not a valid Department id."),
    );
    const q = await gw.gql(corp.token, `query($id: ID!) { department(id: $id) { name } }`, { id: "nope" });
    expect(failure(q)).toEqual({
      data: { department: null },
      message: "id is not a valid Department id.",
      path: ["department"],
      extensions: { code: "BAD_USER_INPUT", field: "id" },
    });
    const list = await gw.gql(corp.token, `query($id: ID!) { departments(parentId: $id) { totalCount } }`, { id: "nope" });
    expect(failure(list)).toEqual(refused("departments", "BAD_USER_INPUT", "parentId", "parentId is not a valid Department id."));
  });

  it("treats a member's id as a department id that does not exist (NOT_FOUND)", async () => {
    const member = toGlobalId("Member", "1");
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Orphan", parentId: member } }),
      refused("createDepartment", "NOT_FOUND", "input.parentId", "Department was not found or is outside your visibility scope."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Orphan", parentId: deptId("999999999") } }),
      refused("createDepartment", "NOT_FOUND", "input.parentId", "Department was not found or is outside your visibility scope."),
    );
  });

  it("never reveals or changes another corp's department (NOT_FOUND / null)", async () => {
    const notFound = "Department was not found or is outside your visibility scope.";
    const read = await gw.gql(corp.token, `query($id: ID!) { department(id: $id) { name } node(id: $id) { id } }`, { id: otherDept });
    expect(read.body).toEqual({ data: { department: null, node: null } });
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { name: "Implant", parentId: otherDept } }),
      refused("createDepartment", "NOT_FOUND", "input.parentId", notFound),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: otherDept, name: "Hacked" } }),
      refused("updateDepartment", "NOT_FOUND", "input.id", notFound),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: data, parentId: otherDept } }),
      refused("updateDepartment", "NOT_FOUND", "input.parentId", notFound),
    );
    await gw.expectRefused(() => gw.gql(corp.token, DELETE, { input: { id: otherDept } }), refused("deleteDepartment", "NOT_FOUND", "input.id", notFound));
    const list = await gw.gql(corp.token, `query($id: ID!) { departments(parentId: $id) { nodes { name } } }`, { id: otherDept });
    expect(failure(list)).toEqual(refused("departments", "NOT_FOUND", "parentId", notFound));
    expect(JSON.stringify(list.body)).not.toContain("Globex");
    expect(await row(otherDept)).toMatchObject({ name: "Globex Secret Lab", corp_id: other.corpPk, parent_id: other.rootPk });
  });
});

describe("departments(first, after)", () => {
  let pages: string;
  const PAGE = `query($parentId: ID, $first: Int, $after: String) {
    departments(parentId: $parentId, first: $first, after: $after) {
      edges { cursor node { name order } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }`;

  beforeAll(async () => {
    pages = await mkDept(corp.token, "Pages");
    for (const [name, order] of [
      ["P-a", 2],
      ["P-b", 0],
      ["P-c", 1],
      ["P-d", 0],
      ["P-e", 1],
    ] as const)
      await mkDept(corp.token, name, pages, order);
  });

  it("pages forwards in sibling order with cursors", async () => {
    const names = (res: Untyped) => res.departments.edges.map((e: Untyped) => e.node.name);
    const cursors = (res: Untyped) => {
      const edges = res.departments.edges;
      return { startCursor: edges[0]?.cursor ?? null, endCursor: edges[edges.length - 1]?.cursor ?? null };
    };

    const p1 = await gw.data(corp.token, PAGE, { parentId: pages, first: 2 });
    expect(names(p1)).toEqual(["P-b", "P-d"]);
    expect(p1.departments.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, ...cursors(p1) });
    expect(p1.departments.totalCount).toBe(5);

    const p2 = await gw.data(corp.token, PAGE, { parentId: pages, first: 2, after: p1.departments.pageInfo.endCursor });
    expect(names(p2)).toEqual(["P-c", "P-e"]);
    expect(p2.departments.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true, ...cursors(p2) });
    expect(p2.departments.totalCount).toBe(5);

    const p3 = await gw.data(corp.token, PAGE, { parentId: pages, first: 2, after: p2.departments.pageInfo.endCursor });
    expect(p3.departments.edges).toEqual([{ cursor: p3.departments.pageInfo.endCursor, node: { name: "P-a", order: 2 } }]);
    expect(p3.departments.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, ...cursors(p3) });

    const all = await gw.data(corp.token, PAGE, { parentId: pages, first: 100 });
    expect(names(all)).toEqual(["P-b", "P-d", "P-c", "P-e", "P-a"]);
    expect(all.departments.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    const byDefault = await gw.data(corp.token, PAGE, { parentId: pages });
    expect(names(byDefault)).toEqual(names(all));

    const top = await gw.data(corp.token, `{ departments { nodes { id name } totalCount } }`);
    expect(top).toEqual({ departments: { nodes: [{ id: corp.rootId, name: "Acme" }], totalCount: 1 } });
  });

  it("refuses first: 101 and a foreign cursor with BAD_USER_INPUT naming the argument", async () => {
    const tooMany = await gw.gql(corp.token, PAGE, { parentId: pages, first: 101 });
    expect(failure(tooMany)).toEqual(refused("departments", "BAD_USER_INPUT", "first", "first must be from 0 to 100."));
    const negative = await gw.gql(corp.token, PAGE, { parentId: pages, first: -1 });
    expect(failure(negative)).toEqual(refused("departments", "BAD_USER_INPUT", "first", "first must be from 0 to 100."));
    const bogus = await gw.gql(corp.token, PAGE, { parentId: pages, first: 2, after: "bogus" });
    expect(failure(bogus)).toEqual(refused("departments", "BAD_USER_INPUT", "after", "after is not a cursor of this list."));
    const nested = await gw.gql(corp.token, `query($id: ID!) { department(id: $id) { members(first: 101) { totalCount } } }`, { id: pages });
    expect(failure(nested)).toEqual({
      data: { department: null },
      message: "first must be from 0 to 100.",
      path: ["department", "members"],
      extensions: { code: "BAD_USER_INPUT", field: "first" },
    });
  });
});
