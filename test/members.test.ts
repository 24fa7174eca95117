import { TestGateway, failure, pk, refused, type TestCorp, type Untyped } from "./harness";
import { toGlobalId } from "../src/schema/global-id";

/**
 * Member mutations and queries end to end: exact results, error codes and fields, and the rows
 * (member, member_department, department_leader, event) left in the database.
 */

const MEMBER = `id employeeId name title extension mobile email status isCorpAdmin departments { id } mainDepartment { id } leaderOf { id }`;
const CREATE = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { ${MEMBER} } } }`;
const UPDATE = `mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { ${MEMBER} } } }`;
const SET_STATUS = `mutation($input: SetMemberStatusInput!) { setMemberStatus(input: $input) { member { id status } } }`;
const DELETE = `mutation($input: DeleteMemberInput!) { deleteMember(input: $input) { deletedMemberId } }`;
const SET_LEADERS = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;

let gw: TestGateway;
let corp: TestCorp;
let other: TestCorp;
let sales: string;
let east: string;
let support: string;
let foreignDept: string;
let foreignMember: string;

beforeAll(async () => {
  gw = await TestGateway.start();
  [corp, other] = await Promise.all([gw.createCorp("Initech"), gw.createCorp("Umbrella")]);
  sales = await mkDept(corp.token, "Sales");
  east = await mkDept(corp.token, "East", sales);
  support = await mkDept(corp.token, "Support");
  foreignDept = await mkDept(other.token, "Umbrella Labs");
  foreignMember = (
    await gw.data(other.token, CREATE, {
      input: { employeeId: "U-1", name: "Umbrella Person", departmentIds: [foreignDept], email: "taken@elsewhere.test" },
    })
  ).createMember.member.id;
});
afterAll(() => gw.stop());

// ---------------------------------------------------------------------------------------------
// Helpers

const mkDept = (token: string, name: string, parentId?: string) => gw.createDepartment(token, { name, parentId });
const mkMember = (token: string, input: Record<string, unknown>) => gw.createMember(token, input);

async function memberRow(id: string) {
  const rows = await gw.sql(
    `SELECT id, corp_id, employee_id, name, title, extension, mobile, email, status, is_corp_admin, main_department_id FROM member WHERE id = $1`,
    [pk(id)],
  );
  return rows[0];
}

async function departmentRows(id: string) {
  return gw.sql(`SELECT member_id, department_id, corp_id FROM member_department WHERE member_id = $1 ORDER BY department_id`, [pk(id)]);
}

async function pathOf(id: string): Promise<string> {
  return (await gw.sql(`SELECT path FROM department WHERE id = $1`, [pk(id)]))[0].path;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// ---------------------------------------------------------------------------------------------

describe("createMember", () => {
  it("creates a member with every field: result, rows and a MEMBER_CREATED event", async () => {
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, CREATE, {
      input: {
        employeeId: "E-001",
        name: "Ada Lovelace",
        departmentIds: [sales, support],
        mainDepartmentId: support,
        title: "Engineer",
        extension: "8001#",
        mobile: "+8613800000001",
        email: "Ada.Lovelace@Example.COM",
        status: "ACTIVE",
        isCorpAdmin: true,
      },
    });
    const [created] = await gw.sql(`SELECT id FROM member WHERE corp_id = $1 AND employee_id = 'E-001'`, [corp.corpPk]);
    const id = toGlobalId("Member", created.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: {
        createMember: {
          member: {
            id,
            employeeId: "E-001",
            name: "Ada Lovelace",
            title: "Engineer",
            extension: "8001#",
            mobile: "+8613800000001",
            email: "ada.lovelace@example.com",
            status: "ACTIVE",
            isCorpAdmin: true,
            departments: [{ id: support }, { id: sales }],
            mainDepartment: { id: support },
            leaderOf: [],
          },
        },
      },
    });
    expect(await memberRow(id)).toEqual({
      id: pk(id),
      corp_id: corp.corpPk,
      employee_id: "E-001",
      name: "Ada Lovelace",
      title: "Engineer",
      extension: "8001#",
      mobile: "+8613800000001",
      email: "ada.lovelace@example.com",
      status: "ACTIVE",
      is_corp_admin: true,
      main_department_id: pk(support),
    });
    expect(await departmentRows(id)).toEqual([
      { member_id: pk(id), department_id: pk(sales), corp_id: corp.corpPk },
      { member_id: pk(id), department_id: pk(support), corp_id: corp.corpPk },
    ]);
    expect(await gw.eventsSince(mark)).toEqual([
      {
        corp_id: corp.corpPk,
        type: "MEMBER_CREATED",
        member_id: pk(id),
        department_id: null,
        scope_paths: [await pathOf(sales), await pathOf(support)],
        data: {},
      },
    ]);
    const times = await gw.data(corp.token, `query($id: ID!) { member(id: $id) { createdAt updatedAt } }`, { id });
    expect(times.member.createdAt).toMatch(ISO);
    expect(times.member.updatedAt).toBe(times.member.createdAt);
  });

  it("applies defaults: UNACTIVATED, not an admin, main department = the first, optional fields null", async () => {
    const res = await gw.data(corp.token, CREATE, { input: { employeeId: "E-002", name: "Babbage", departmentIds: [east, sales] } });
    const id = res.createMember.member.id;
    expect(res).toEqual({
      createMember: {
        member: {
          id,
          employeeId: "E-002",
          name: "Babbage",
          title: null,
          extension: null,
          mobile: null,
          email: null,
          status: "UNACTIVATED",
          isCorpAdmin: false,
          departments: [{ id: east }, { id: sales }],
          mainDepartment: { id: east },
          leaderOf: [],
        },
      },
    });
    expect(await memberRow(id)).toMatchObject({
      status: "UNACTIVATED",
      is_corp_admin: false,
      main_department_id: pk(east),
      title: null,
      email: null,
      mobile: null,
    });
    expect((await departmentRows(id)).map((r) => r.department_id)).toEqual([pk(sales), pk(east)]);
  });

  it("refuses a duplicate employeeId with CONFLICT on input.employeeId; the database is unchanged", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { employeeId: "E-001", name: "Impostor", departmentIds: [sales] } }),
      refused("createMember", "CONFLICT", "input.employeeId", "A member with this employee id already exists in the corp."),
    );
  });

  it("refuses a duplicate email (any case) or mobile with CONFLICT", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { employeeId: "E-003", name: "Copy", departmentIds: [sales], email: "ADA.LOVELACE@example.com" } }),
      refused("createMember", "CONFLICT", "input.email", "Another member of the corp already has this email address."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { employeeId: "E-003", name: "Copy", departmentIds: [sales], mobile: "+8613800000001" } }),
      refused("createMember", "CONFLICT", "input.mobile", "Another member of the corp already has this mobile number."),
    );
  });

  it("keeps employee ids, emails and mobiles unique per corp only", async () => {
    const id = await mkMember(other.token, {
      employeeId: "E-001",
      name: "Other Ada",
      departmentIds: [foreignDept],
      email: "ada.lovelace@example.com",
      mobile: "+8613800000001",
    });
    expect(await memberRow(id)).toMatchObject({ corp_id: other.corpPk, employee_id: "E-001", email: "ada.lovelace@example.com" });
  });

  describe("validation", () => {
    const valid = () => ({ employeeId: "V-1", name: "Valid Name", departmentIds: [sales] as string[] });
    const idMessage = "input.employeeId: employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'";
    const blankName = "input.name: name must not be blank or start or end with spaces";

    it.each([
      ["employeeId with a space", { employeeId: "E 1" }, "input.employeeId", idMessage],
      ["empty employeeId", { employeeId: "" }, "input.employeeId", idMessage],
      ["employeeId of 65 characters", { employeeId: "e".repeat(65) }, "input.employeeId", idMessage],
      ["employeeId with a slash", { employeeId: "a/b" }, "input.employeeId", idMessage],
      ["empty name", { name: "" }, "input.name", blankName],
      ["name with a leading space", { name: " Ada" }, "input.name", blankName],
      ["name of 65 characters", { name: "n".repeat(65) }, "input.name", "input.name: name must be shorter than or equal to 64 characters"],
      ["title of 129 characters", { title: "t".repeat(129) }, "input.title", "input.title: title must be shorter than or equal to 128 characters"],
      ["extension with a letter", { extension: "12a" }, "input.extension", "input.extension: extension must be 1–32 digits, '+', '-', '*' or '#'"],
      ["mobile of 4 digits", { mobile: "1234" }, "input.mobile", "input.mobile: mobile must be an optional '+' and 5–20 digits"],
      ["mobile with a space", { mobile: "+86 13800000000" }, "input.mobile", "input.mobile: mobile must be an optional '+' and 5–20 digits"],
      ["malformed email", { email: "not-an-email" }, "input.email", "input.email: email must be an email address"],
      ["empty departmentIds", { departmentIds: [] }, "input.departmentIds", "input.departmentIds: departmentIds needs at least one department"],
      [
        "21 departments",
        { departmentIds: Array.from({ length: 21 }, (_, i) => toGlobalId("Department", String(i + 1))) },
        "input.departmentIds",
        "input.departmentIds: departmentIds must contain no more than 20 elements",
      ],
    ])("refuses %s (BAD_USER_INPUT naming the field)", async (_what, change, field, message) => {
      await gw.expectRefused(() => gw.gql(corp.token, CREATE, { input: { ...valid(), ...change } }), refused("createMember", "BAD_USER_INPUT", field, message));
    });

    it("refuses bad department references naming the field", async () => {
      await gw.expectRefused(
        () => gw.gql(corp.token, CREATE, { input: { ...valid(), departmentIds: [sales], mainDepartmentId: support } }),
        refused("createMember", "BAD_USER_INPUT", "input.mainDepartmentId", "The main department must be one of the member's departments."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, CREATE, { input: { ...valid(), mainDepartmentId: "garbage!" } }),
        refused("createMember", "BAD_USER_INPUT", "input.mainDepartmentId", "input.mainDepartmentId is not a valid Department id."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, CREATE, { input: { ...valid(), departmentIds: [sales, "garbage!"] } }),
        refused("createMember", "BAD_USER_INPUT", "input.departmentIds", "input.departmentIds is not a valid Department id."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, CREATE, { input: { ...valid(), departmentIds: [sales, sales] } }),
        refused("createMember", "BAD_USER_INPUT", "input.departmentIds", "A department is listed twice."),
      );
      await gw.expectRefused(
        () => gw.gql(corp.token, CREATE, { input: { ...valid(), departmentIds: [toGlobalId("Department", "987654321")] } }),
        refused("createMember", "NOT_FOUND", "input.departmentIds", "A department of input.departmentIds was not found or is outside your visibility scope."),
      );
    });

    it("accepts the boundaries", async () => {
      const id = await mkMember(corp.token, {
        employeeId: "a.B_c-d@9" + "x".repeat(55),
        name: "n".repeat(64),
        departmentIds: [sales],
        title: "t".repeat(128),
        extension: "+-*#0123456789",
        mobile: "12345",
        email: "X@Y.example",
      });
      expect(await memberRow(id)).toMatchObject({ employee_id: "a.B_c-d@9" + "x".repeat(55), name: "n".repeat(64), mobile: "12345", email: "x@y.example" });
      await gw.data(corp.token, DELETE, { input: { id } });
    });
  });
});

describe("updateMember", () => {
  let una: string;

  beforeAll(async () => {
    una = await mkMember(corp.token, {
      employeeId: "U-1",
      name: "Una",
      departmentIds: [support, sales],
      email: "una@initech.test",
      mobile: "+100000001",
      title: "Agent",
    });
  });

  it("changes profile fields: result, row and MEMBER_UPDATED with changedFields", async () => {
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, UPDATE, { input: { id: una, name: "Una Smith", title: "Lead", extension: "12#", email: "Una.Smith@Initech.TEST" } });
    expect(res.body).toEqual({
      data: {
        updateMember: {
          member: {
            id: una,
            employeeId: "U-1",
            name: "Una Smith",
            title: "Lead",
            extension: "12#",
            mobile: "+100000001",
            email: "una.smith@initech.test",
            status: "UNACTIVATED",
            isCorpAdmin: false,
            departments: [{ id: support }, { id: sales }],
            mainDepartment: { id: support },
            leaderOf: [],
          },
        },
      },
    });
    expect(await memberRow(una)).toEqual({
      id: pk(una),
      corp_id: corp.corpPk,
      employee_id: "U-1",
      name: "Una Smith",
      title: "Lead",
      extension: "12#",
      mobile: "+100000001",
      email: "una.smith@initech.test",
      status: "UNACTIVATED",
      is_corp_admin: false,
      main_department_id: pk(support),
    });
    expect(await gw.eventsSince(mark)).toEqual([
      {
        corp_id: corp.corpPk,
        type: "MEMBER_UPDATED",
        member_id: pk(una),
        department_id: null,
        scope_paths: [await pathOf(support), await pathOf(sales)],
        data: { changedFields: ["name", "title", "extension", "email"] },
      },
    ]);
    const [t] = await gw.sql(`SELECT updated_at > created_at AS later FROM member WHERE id = $1`, [pk(una)]);
    expect(t.later).toBe(true);
  });

  it("clears optional fields with null; changes nothing (and records nothing) for equal values", async () => {
    const mark = await gw.eventMark();
    const res = await gw.data(corp.token, UPDATE, { input: { id: una, title: null, extension: null } });
    expect(res.updateMember.member).toMatchObject({ title: null, extension: null, email: "una.smith@initech.test" });
    expect(await memberRow(una)).toMatchObject({ title: null, extension: null });
    expect((await gw.eventsSince(mark)).map((e) => e.data)).toEqual([{ changedFields: ["title", "extension"] }]);

    const before = await gw.snapshot();
    const same = await gw.data(corp.token, UPDATE, {
      input: { id: una, name: "Una Smith", email: "UNA.SMITH@initech.test", title: null, departmentIds: [sales, support] },
    });
    expect(same.updateMember.member).toMatchObject({ name: "Una Smith", email: "una.smith@initech.test", mainDepartment: { id: support } });
    expect(await gw.snapshot()).toEqual(before);
  });

  it("moves the main department to the first one when the departments no longer include it", async () => {
    const mark = await gw.eventMark();
    const res = await gw.data(corp.token, UPDATE, { input: { id: una, departmentIds: [east, sales] } });
    expect(res.updateMember.member).toMatchObject({ departments: [{ id: east }, { id: sales }], mainDepartment: { id: east } });
    expect(await memberRow(una)).toMatchObject({ main_department_id: pk(east) });
    expect(await departmentRows(una)).toEqual([
      { member_id: pk(una), department_id: pk(sales), corp_id: corp.corpPk },
      { member_id: pk(una), department_id: pk(east), corp_id: corp.corpPk },
    ]);
    expect(await gw.eventsSince(mark)).toEqual([
      {
        corp_id: corp.corpPk,
        type: "MEMBER_UPDATED",
        member_id: pk(una),
        department_id: null,
        scope_paths: [await pathOf(support), await pathOf(sales), await pathOf(east)],
        data: { changedFields: ["departments", "mainDepartment"] },
      },
    ]);
  });

  it("changes the main department among the member's departments", async () => {
    const mark = await gw.eventMark();
    const res = await gw.data(corp.token, UPDATE, { input: { id: una, mainDepartmentId: sales } });
    expect(res.updateMember.member).toMatchObject({ departments: [{ id: sales }, { id: east }], mainDepartment: { id: sales } });
    expect(await memberRow(una)).toMatchObject({ main_department_id: pk(sales) });
    expect((await gw.eventsSince(mark)).map((e) => e.data)).toEqual([{ changedFields: ["mainDepartment"] }]);
    // Replacing departments and choosing the main one at once.
    await gw.data(corp.token, UPDATE, { input: { id: una, departmentIds: [sales, support], mainDepartmentId: support } });
    expect(await memberRow(una)).toMatchObject({ main_department_id: pk(support) });
    expect((await departmentRows(una)).map((r) => r.department_id)).toEqual([pk(sales), pk(support)]);
  });

  it("refuses a main department outside the departments, and no department at all", async () => {
    const message = "The main department must be one of the member's departments.";
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, mainDepartmentId: east } }),
      refused("updateMember", "BAD_USER_INPUT", "input.mainDepartmentId", message),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, departmentIds: [east], mainDepartmentId: sales } }),
      refused("updateMember", "BAD_USER_INPUT", "input.mainDepartmentId", message),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, departmentIds: [] } }),
      refused("updateMember", "BAD_USER_INPUT", "input.departmentIds", "input.departmentIds: departmentIds needs at least one department"),
    );
  });

  it("refuses duplicates of another member's employeeId, email or mobile with CONFLICT", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, employeeId: "E-001" } }),
      refused("updateMember", "CONFLICT", "input.employeeId", "A member with this employee id already exists in the corp."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, email: "Ada.Lovelace@example.com" } }),
      refused("updateMember", "CONFLICT", "input.email", "Another member of the corp already has this email address."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, mobile: "+8613800000001" } }),
      refused("updateMember", "CONFLICT", "input.mobile", "Another member of the corp already has this mobile number."),
    );
  });

  it("validates changed fields and ids", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, email: "nope" } }),
      refused("updateMember", "BAD_USER_INPUT", "input.email", "input.email: email must be an email address"),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, name: "" } }),
      refused("updateMember", "BAD_USER_INPUT", "input.name", "input.name: name must not be blank or start or end with spaces"),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, employeeId: "a b" } }),
      refused("updateMember", "BAD_USER_INPUT", "input.employeeId", "input.employeeId: employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'"),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: "x", name: "X" } }),
      refused("updateMember", "BAD_USER_INPUT", "input.id", "input.id is not a valid Member id."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: foreignMember, name: "Stolen" } }),
      refused("updateMember", "NOT_FOUND", "input.id", "Member was not found or is outside your visibility scope."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, UPDATE, { input: { id: una, departmentIds: [foreignDept] } }),
      refused("updateMember", "NOT_FOUND", "input.departmentIds", "A department of input.departmentIds was not found or is outside your visibility scope."),
    );
  });

  it("grants administrator rights, and drops leadership of a department the member leaves", async () => {
    let mark = await gw.eventMark();
    await gw.data(corp.token, UPDATE, { input: { id: una, isCorpAdmin: true } });
    expect(await memberRow(una)).toMatchObject({ is_corp_admin: true });
    expect((await gw.eventsSince(mark)).map((e) => e.data)).toEqual([{ changedFields: ["isCorpAdmin"] }]);

    await gw.data(corp.token, SET_LEADERS, { input: { id: sales, leaderIds: [una] } });
    await gw.data(corp.token, SET_LEADERS, { input: { id: support, leaderIds: [una] } });
    expect(await gw.sql(`SELECT department_id FROM department_leader WHERE member_id = $1 ORDER BY department_id`, [pk(una)])).toEqual([
      { department_id: pk(sales) },
      { department_id: pk(support) },
    ]);
    mark = await gw.eventMark();
    const res = await gw.data(corp.token, UPDATE, { input: { id: una, departmentIds: [support, east] } });
    expect(res.updateMember.member).toMatchObject({
      departments: [{ id: support }, { id: east }],
      mainDepartment: { id: support },
      leaderOf: [{ id: support }],
    });
    expect(await gw.sql(`SELECT department_id FROM department_leader WHERE member_id = $1`, [pk(una)])).toEqual([{ department_id: pk(support) }]);
    expect((await gw.eventsSince(mark)).map((e) => [e.type, e.data])).toEqual([["MEMBER_UPDATED", { changedFields: ["departments"] }]]);
  });
});

describe("setMemberStatus", () => {
  let sam: string;

  beforeAll(async () => {
    sam = await mkMember(corp.token, { employeeId: "S-1", name: "Sam", departmentIds: [east] });
  });

  it("changes the status with MEMBER_STATUS_CHANGED {from, to}", async () => {
    for (const [from, to] of [
      ["UNACTIVATED", "ACTIVE"],
      ["ACTIVE", "DISABLED"],
      ["DISABLED", "RESIGNED"],
    ]) {
      const mark = await gw.eventMark();
      const res = await gw.gql(corp.token, SET_STATUS, { input: { id: sam, status: to } });
      expect(res.body).toEqual({ data: { setMemberStatus: { member: { id: sam, status: to } } } });
      expect(await memberRow(sam)).toMatchObject({ status: to });
      expect(await gw.eventsSince(mark)).toEqual([
        { corp_id: corp.corpPk, type: "MEMBER_STATUS_CHANGED", member_id: pk(sam), department_id: null, scope_paths: [await pathOf(east)], data: { from, to } },
      ]);
    }
  });

  it("records nothing when the status does not change; refuses unknown states and members", async () => {
    const before = await gw.snapshot();
    const res = await gw.gql(corp.token, SET_STATUS, { input: { id: sam, status: "RESIGNED" } });
    expect(res.body).toEqual({ data: { setMemberStatus: { member: { id: sam, status: "RESIGNED" } } } });
    expect(await gw.snapshot()).toEqual(before);

    const bad = await gw.gql(corp.token, SET_STATUS, { input: { id: sam, status: "FIRED" } });
    expect(bad.status).toBe(400);
    expect(bad.body.data).toBeUndefined();
    expect(bad.body.errors).toHaveLength(1);
    expect(bad.body.errors![0].extensions).toEqual({ code: "BAD_USER_INPUT" });
    expect(await gw.snapshot()).toEqual(before);

    await gw.expectRefused(
      () => gw.gql(corp.token, SET_STATUS, { input: { id: foreignMember, status: "DISABLED" } }),
      refused("setMemberStatus", "NOT_FOUND", "input.id", "Member was not found or is outside your visibility scope."),
    );
  });
});

describe("deleteMember", () => {
  it("deletes the member, their department links and leaderships, with MEMBER_DELETED", async () => {
    const zed = await mkMember(corp.token, { employeeId: "Z-1", name: "Zed", departmentIds: [east, support] });
    await gw.data(corp.token, SET_LEADERS, { input: { id: east, leaderIds: [zed] } });
    const mark = await gw.eventMark();
    const res = await gw.gql(corp.token, DELETE, { input: { id: zed } });
    expect(res.body).toEqual({ data: { deleteMember: { deletedMemberId: zed } } });
    expect(await gw.sql(`SELECT id FROM member WHERE id = $1`, [pk(zed)])).toEqual([]);
    expect(await departmentRows(zed)).toEqual([]);
    expect(await gw.sql(`SELECT * FROM department_leader WHERE member_id = $1`, [pk(zed)])).toEqual([]);
    expect(await gw.eventsSince(mark)).toEqual([
      {
        corp_id: corp.corpPk,
        type: "MEMBER_DELETED",
        member_id: pk(zed),
        department_id: null,
        scope_paths: [await pathOf(east), await pathOf(support)],
        data: { employeeId: "Z-1", name: "Zed" },
      },
    ]);
    const read = await gw.data(corp.token, `query($id: ID!) { member(id: $id) { id } memberByEmployeeId(employeeId: "Z-1") { id } }`, { id: zed });
    expect(read).toEqual({ member: null, memberByEmployeeId: null });
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: zed } }),
      refused("deleteMember", "NOT_FOUND", "input.id", "Member was not found or is outside your visibility scope."),
    );
    await gw.expectRefused(
      () => gw.gql(corp.token, DELETE, { input: { id: foreignMember } }),
      refused("deleteMember", "NOT_FOUND", "input.id", "Member was not found or is outside your visibility scope."),
    );
  });
});

describe("transactions", () => {
  it("a createMember with a department of another corp leaves every table as it was", async () => {
    await gw.expectRefused(
      () => gw.gql(corp.token, CREATE, { input: { employeeId: "T-1", name: "Tx", departmentIds: [sales, foreignDept], email: "tx@initech.test" } }),
      refused("createMember", "NOT_FOUND", "input.departmentIds", "A department of input.departmentIds was not found or is outside your visibility scope."),
    );
    expect(await gw.sql(`SELECT count(*)::int AS n FROM member WHERE employee_id = 'T-1'`)).toEqual([{ n: 0 }]);
  });

  it("an updateMember hitting a unique email after other changes leaves every table as it was", async () => {
    const tia = await mkMember(corp.token, { employeeId: "T-2", name: "Tia", departmentIds: [sales], title: "Clerk" });
    await gw.data(corp.token, SET_LEADERS, { input: { id: sales, leaderIds: [tia] } });
    const before = await gw.snapshot();
    const res = await gw.gql(corp.token, UPDATE, {
      input: { id: tia, name: "Tia Renamed", title: "Boss", employeeId: "T-2b", departmentIds: [support, east], email: "ada.lovelace@example.com" },
    });
    expect(failure(res)).toEqual(refused("updateMember", "CONFLICT", "input.email", "Another member of the corp already has this email address."));
    expect(await gw.snapshot()).toEqual(before);
    expect(await memberRow(tia)).toMatchObject({ name: "Tia", title: "Clerk", employee_id: "T-2", email: null, main_department_id: pk(sales) });
    expect(await gw.sql(`SELECT department_id FROM department_leader WHERE member_id = $1`, [pk(tia)])).toEqual([{ department_id: pk(sales) }]);
  });
});

describe("queries", () => {
  let dir: TestCorp;
  let north: string;
  let city: string;
  let south: string;
  const m: string[] = [];

  const LIST = `query($filter: MemberFilter, $first: Int, $after: String, $last: Int, $before: String) {
    members(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { employeeId } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }`;
  const ids = (res: Untyped) => res.members.edges.map((e: Untyped) => e.node.employeeId);
  const list = (vars: Record<string, unknown>) => gw.data(dir.token, LIST, vars);
  const cursors = (res: Untyped) => {
    const edges = res.members.edges;
    return { startCursor: edges[0]?.cursor ?? null, endCursor: edges[edges.length - 1]?.cursor ?? null };
  };

  beforeAll(async () => {
    dir = await gw.createCorp("Directory Co");
    north = await mkDept(dir.token, "North");
    city = await mkDept(dir.token, "City", north);
    south = await mkDept(dir.token, "South");
    const people: Array<Record<string, unknown>> = [
      { employeeId: "D01", name: "Alice Archer", departmentIds: [north], status: "ACTIVE", email: "alice@dir.test", mobile: "13900000001" },
      { employeeId: "D02", name: "Bob Baker", departmentIds: [city], status: "ACTIVE" },
      { employeeId: "D03", name: "Carol Clark", departmentIds: [north, city], status: "DISABLED" },
      { employeeId: "D04", name: "Dan Dawson", departmentIds: [south], status: "ACTIVE", email: "Dan@Dir.Test" },
      { employeeId: "D05", name: "Eve Evans", departmentIds: [south, north], status: "RESIGNED" },
      { employeeId: "D06", name: "Frank Fisher", departmentIds: [city], mobile: "13900000006" },
      { employeeId: "D_07", name: "Grace Gray", departmentIds: [south], status: "ACTIVE", title: "100% done" },
    ];
    for (const p of people) m.push(await mkMember(dir.token, p));
  });

  it("member(id) and memberByEmployeeId return the member; unknown and foreign ones are null", async () => {
    const res = await gw.data(
      dir.token,
      `query($id: ID!, $foreign: ID!) {
        member(id: $id) { ${MEMBER} }
        byEmployeeId: memberByEmployeeId(employeeId: "D05") { id name mainDepartment { name } departments { name } }
        missing: memberByEmployeeId(employeeId: "D99") { id }
        foreignByEmployeeId: memberByEmployeeId(employeeId: "U-1") { id }
        foreign: member(id: $foreign) { id }
      }`,
      { id: m[0], foreign: foreignMember },
    );
    expect(res).toEqual({
      member: {
        id: m[0],
        employeeId: "D01",
        name: "Alice Archer",
        title: null,
        extension: null,
        mobile: "13900000001",
        email: "alice@dir.test",
        status: "ACTIVE",
        isCorpAdmin: false,
        departments: [{ id: north }],
        mainDepartment: { id: north },
        leaderOf: [],
      },
      byEmployeeId: { id: m[4], name: "Eve Evans", mainDepartment: { name: "South" }, departments: [{ name: "South" }, { name: "North" }] },
      missing: null,
      foreignByEmployeeId: null,
      foreign: null,
    });
    const bad = await gw.gql(dir.token, `{ member(id: "bad id") { id } }`);
    expect(failure(bad)).toEqual({
      data: { member: null },
      message: "id is not a valid Member id.",
      path: ["member"],
      extensions: { code: "BAD_USER_INPUT", field: "id" },
    });
  });

  it("filters by department (with or without sub-departments), status and search", async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{}, ["D01", "D02", "D03", "D04", "D05", "D06", "D_07"]],
      [{ departmentId: north }, ["D01", "D03", "D05"]],
      [{ departmentId: north, includeSubdepartments: false }, ["D01", "D03", "D05"]],
      [{ departmentId: north, includeSubdepartments: true }, ["D01", "D02", "D03", "D05", "D06"]],
      [{ departmentId: city }, ["D02", "D03", "D06"]],
      [{ departmentId: dir.rootId, includeSubdepartments: true }, ["D01", "D02", "D03", "D04", "D05", "D06", "D_07"]],
      [{ departmentId: dir.rootId }, []],
      [{ status: "ACTIVE" }, ["D01", "D02", "D04", "D_07"]],
      [{ status: "UNACTIVATED" }, ["D06"]],
      [{ search: "ARCH" }, ["D01"]],
      [{ search: "dir.test" }, ["D01", "D04"]],
      [{ search: "1390000000" }, ["D01", "D06"]],
      [{ search: "d_0" }, ["D_07"]],
      [{ search: "%" }, []],
      [{ search: "  eve  " }, ["D05"]],
      [{ departmentId: north, includeSubdepartments: true, status: "ACTIVE" }, ["D01", "D02"]],
      [{ departmentId: south, search: "a" }, ["D04", "D05", "D_07"]],
    ];
    for (const [filter, expected] of cases) {
      const res = await list({ filter });
      expect({ filter, ids: ids(res), totalCount: res.members.totalCount }).toEqual({ filter, ids: expected, totalCount: expected.length });
    }
  });

  it("refuses a foreign or malformed filter.departmentId", async () => {
    const foreign = await gw.gql(dir.token, LIST, { filter: { departmentId: foreignDept } });
    expect(failure(foreign)).toEqual(refused("members", "NOT_FOUND", "filter.departmentId", "Department was not found or is outside your visibility scope."));
    const malformed = await gw.gql(dir.token, LIST, { filter: { departmentId: "x" } });
    expect(failure(malformed)).toEqual(refused("members", "BAD_USER_INPUT", "filter.departmentId", "filter.departmentId is not a valid Department id."));
  });

  it("pages forwards with first/after", async () => {
    const p1 = await list({ first: 3 });
    expect(ids(p1)).toEqual(["D01", "D02", "D03"]);
    expect(p1.members.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, ...cursors(p1) });
    expect(p1.members.totalCount).toBe(7);
    const p2 = await list({ first: 3, after: p1.members.pageInfo.endCursor });
    expect(ids(p2)).toEqual(["D04", "D05", "D06"]);
    expect(p2.members.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true, ...cursors(p2) });
    expect(p2.members.totalCount).toBe(7);
    const p3 = await list({ first: 3, after: p2.members.pageInfo.endCursor });
    expect(ids(p3)).toEqual(["D_07"]);
    expect(p3.members.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, ...cursors(p3) });
    const end = await list({ first: 3, after: p3.members.pageInfo.endCursor });
    expect(end.members).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null }, totalCount: 7 });
    // Filters and paging combine.
    const f1 = await list({ filter: { departmentId: north, includeSubdepartments: true }, first: 2 });
    expect(ids(f1)).toEqual(["D01", "D02"]);
    const f2 = await list({ filter: { departmentId: north, includeSubdepartments: true }, first: 2, after: f1.members.pageInfo.endCursor });
    expect(ids(f2)).toEqual(["D03", "D05"]);
    expect(f2.members.pageInfo.hasNextPage).toBe(true);
    expect(f2.members.totalCount).toBe(5);
  });

  it("pages backwards with last/before", async () => {
    const p1 = await list({ last: 3 });
    expect(ids(p1)).toEqual(["D05", "D06", "D_07"]);
    expect(p1.members.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, ...cursors(p1) });
    expect(p1.members.totalCount).toBe(7);
    const p2 = await list({ last: 3, before: p1.members.pageInfo.startCursor });
    expect(ids(p2)).toEqual(["D02", "D03", "D04"]);
    expect(p2.members.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true, ...cursors(p2) });
    const p3 = await list({ last: 3, before: p2.members.pageInfo.startCursor });
    expect(ids(p3)).toEqual(["D01"]);
    expect(p3.members.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, ...cursors(p3) });
    // A backward page's cursors work forwards too.
    const again = await list({ first: 2, after: p3.members.pageInfo.endCursor });
    expect(ids(again)).toEqual(["D02", "D03"]);
  });

  it("refuses bad page arguments naming the argument", async () => {
    expect(failure(await gw.gql(dir.token, LIST, { first: 101 }))).toEqual(refused("members", "BAD_USER_INPUT", "first", "first must be from 0 to 100."));
    expect(failure(await gw.gql(dir.token, LIST, { last: 101 }))).toEqual(refused("members", "BAD_USER_INPUT", "last", "last must be from 0 to 100."));
    expect(failure(await gw.gql(dir.token, LIST, { first: 1, last: 1 }))).toEqual(
      refused("members", "BAD_USER_INPUT", "last", "Give either first or last, not both."),
    );
    expect(failure(await gw.gql(dir.token, LIST, { first: 1, after: "nope" }))).toEqual(
      refused("members", "BAD_USER_INPUT", "after", "after is not a cursor of this list."),
    );
    expect(failure(await gw.gql(dir.token, LIST, { last: 1, before: "nope" }))).toEqual(
      refused("members", "BAD_USER_INPUT", "before", "before is not a cursor of this list."),
    );
    expect(failure(await gw.gql(dir.token, LIST, { filter: { search: "s".repeat(65) } }))).toEqual(
      refused("members", "BAD_USER_INPUT", "filter.search", "filter.search: search must be shorter than or equal to 64 characters"),
    );
  });

  it("memberCount and Department.members with and without sub-departments", async () => {
    const res = await gw.data(
      dir.token,
      `query($north: ID!, $root: ID!) {
        north: department(id: $north) {
          memberCount
          all: memberCount(includeSubdepartments: true)
          members { nodes { employeeId } totalCount }
          subtree: members(includeSubdepartments: true, first: 4) { nodes { employeeId } totalCount pageInfo { hasNextPage } }
        }
        root: department(id: $root) { memberCount all: memberCount(includeSubdepartments: true) children { name memberCount } }
      }`,
      { north, root: dir.rootId },
    );
    expect(res).toEqual({
      north: {
        memberCount: 3,
        all: 5,
        members: { nodes: [{ employeeId: "D01" }, { employeeId: "D03" }, { employeeId: "D05" }], totalCount: 3 },
        subtree: {
          nodes: [{ employeeId: "D01" }, { employeeId: "D02" }, { employeeId: "D03" }, { employeeId: "D05" }],
          totalCount: 5,
          pageInfo: { hasNextPage: true },
        },
      },
      root: {
        memberCount: 0,
        all: 7,
        children: [
          { name: "North", memberCount: 3 },
          { name: "South", memberCount: 3 },
        ],
      },
    });
    void south;
    void city;
  });
});
