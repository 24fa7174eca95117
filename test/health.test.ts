import { TestGateway, type TestCorp } from "./harness";
import { toGlobalId } from "../src/schema/global-id";
import { HEADER, importCsv } from "./directory-files";

/**
 * Directory health (issue 4, source §1) over real HTTP: zombie departments, members UNACTIVATED for
 * more than 30 days, DISABLED and RESIGNED members, with counts and pages; visibility; tenancy.
 */

const HEALTH = `query($first: Int, $after: String, $days: Int) {
  directoryHealth {
    zombieDepartments(first: $first, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } }
    unactivatedMembers(first: $first, olderThanDays: $days) { totalCount nodes { employeeId status } }
    disabledMembers(first: $first) { totalCount nodes { employeeId } }
    resignedMembers(first: $first) { totalCount nodes { employeeId } }
  }
}`;
const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;

describe("directoryHealth", () => {
  let gw: TestGateway;
  let corp: TestCorp;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Health Corp");
    await importCsv(
      gw,
      corp.token,
      [HEADER, "H1,Old Invite,Sales,,,,", "H2,New Invite,Sales,,,,", "H3,Blocked,Sales/East,,,,", "H4,Gone,Ops,,,,", "H5,Active,Ops,,,,"].join("\n"),
    );
    await gw.sql(`UPDATE member SET created_at = now() - interval '40 days' WHERE corp_id = $1 AND employee_id IN ('H1', 'H3')`, [corp.corpPk]);
    await gw.sql(`UPDATE member SET status = 'DISABLED' WHERE corp_id = $1 AND employee_id = 'H3'`, [corp.corpPk]);
    await gw.sql(`UPDATE member SET status = 'RESIGNED' WHERE corp_id = $1 AND employee_id = 'H4'`, [corp.corpPk]);
    await gw.sql(`UPDATE member SET status = 'ACTIVE' WHERE corp_id = $1 AND employee_id = 'H5'`, [corp.corpPk]);
    // Zombies: Empty (no members, no children), Ops/Tree/Leaf (Leaf empty; Tree has a child so it is not).
    await importCsv(gw, corp.token, [HEADER, "Z1,Temp,Empty,,,,", "Z2,Temp,Ops/Tree/Leaf,,,,"].join("\n"));
    await gw.sql(`DELETE FROM member WHERE corp_id = $1 AND employee_id IN ('Z1', 'Z2')`, [corp.corpPk]);
  });
  afterAll(() => gw.stop());

  const departmentPk = async (name: string) =>
    (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = $2`, [corp.corpPk, name]))[0].id as string;

  it("lists zombie departments and redundant accounts with counts", async () => {
    const health = (await gw.data(corp.token, HEALTH)).directoryHealth;
    expect(health).toEqual({
      zombieDepartments: { totalCount: 2, nodes: [{ name: "Empty" }, { name: "Leaf" }], pageInfo: { hasNextPage: false, endCursor: expect.any(String) } },
      unactivatedMembers: { totalCount: 1, nodes: [{ employeeId: "H1", status: "UNACTIVATED" }] },
      disabledMembers: { totalCount: 1, nodes: [{ employeeId: "H3" }] },
      resignedMembers: { totalCount: 1, nodes: [{ employeeId: "H4" }] },
    });
    // olderThanDays: 0 includes the fresh invitation too.
    expect((await gw.data(corp.token, HEALTH, { days: 0 })).directoryHealth.unactivatedMembers.totalCount).toBe(2);
  });

  it("pages", async () => {
    const first = (await gw.data(corp.token, HEALTH, { first: 1 })).directoryHealth.zombieDepartments;
    expect(first).toMatchObject({ totalCount: 2, nodes: [{ name: "Empty" }], pageInfo: { hasNextPage: true } });
    const second = (await gw.data(corp.token, HEALTH, { first: 1, after: first.pageInfo.endCursor })).directoryHealth.zombieDepartments;
    expect(second).toMatchObject({ totalCount: 2, nodes: [{ name: "Leaf" }], pageInfo: { hasNextPage: false } });
  });

  it("is limited to the caller's visibility; a second corp sees only its own", async () => {
    const salesOnly = await gw.createApp(corp.corpPk, ["directory:read"], [await departmentPk("Sales")]);
    expect((await gw.data(salesOnly.token, HEALTH)).directoryHealth).toEqual({
      zombieDepartments: { totalCount: 0, nodes: [], pageInfo: { hasNextPage: false, endCursor: null } },
      unactivatedMembers: { totalCount: 1, nodes: [{ employeeId: "H1", status: "UNACTIVATED" }] },
      disabledMembers: { totalCount: 1, nodes: [{ employeeId: "H3" }] },
      resignedMembers: { totalCount: 0, nodes: [] },
    });
    const other = await gw.createCorp();
    expect((await gw.data(other.token, HEALTH)).directoryHealth).toEqual({
      zombieDepartments: { totalCount: 0, nodes: [], pageInfo: { hasNextPage: false, endCursor: null } },
      unactivatedMembers: { totalCount: 0, nodes: [] },
      disabledMembers: { totalCount: 0, nodes: [] },
      resignedMembers: { totalCount: 0, nodes: [] },
    });
  });

  it("needs directory:read, and an administrator or a leader behind a member token", async () => {
    const noScope = await gw.createApp(corp.corpPk, ["messages:read"]);
    expect((await gw.gql(noScope.token, HEALTH)).body.errors![0].extensions).toMatchObject({ code: "FORBIDDEN" });
    const active = (await gw.sql(`SELECT id::text FROM member WHERE corp_id = $1 AND employee_id = 'H5'`, [corp.corpPk]))[0].id;
    const plain = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, active);
    expect((await gw.gql(plain, HEALTH)).body.errors![0].extensions).toMatchObject({ code: "FORBIDDEN" });
    await gw.data(corp.token, UPDATE_DEPARTMENT, {
      input: { id: toGlobalId("Department", await departmentPk("Ops")), leaderIds: [toGlobalId("Member", active)] },
    });
    const leader = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, active);
    expect((await gw.data(leader, HEALTH)).directoryHealth.zombieDepartments.totalCount).toBe(2);
    expect((await gw.gql(null, HEALTH)).body.errors![0].extensions).toMatchObject({ code: "UNAUTHENTICATED" });
  });
});
