import type { Client as WsClient } from "graphql-ws";
import { TestGateway, type TestCorp } from "./harness";
import { parseGlobalId } from "../src/schema/global-id";

const EVENTS = `subscription($after: String) { directoryEvents(after: $after) { cursor type occurredAt } }`;
const CREATE_DEPARTMENT = `mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id } } }`;
const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;

/**
 * A subscription outlives the token check at connect time: before delivering, the token is checked
 * again (here on every event: SUBSCRIPTION_RECHECK_SECONDS=0), so a disabled app or member, or a
 * withdrawn scope, stops the stream with a coded error instead of leaking further events.
 */
describe("subscriptions re-check their token", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let home: string;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    gw = await TestGateway.start({ SUBSCRIPTION_RECHECK_SECONDS: "0" });
    corp = await gw.createCorp("Recheck Corp");
    home = (await gw.data(corp.token, CREATE_DEPARTMENT, { input: { name: "Home" } })).createDepartment.department.id;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => gw.stop());

  const maxCursor = () => gw.eventMark(corp.corpPk);
  const touch = (name: string) => gw.data(corp.token, CREATE_DEPARTMENT, { input: { name, parentId: home } });

  it("ends with UNAUTHENTICATED once the app is disabled", async () => {
    const app = await gw.createApp(corp.corpPk, ["directory:read"]);
    const c = gw.wsClient(app.token);
    clients.push(c);
    const sub = gw.subscribe(c, EVENTS, { after: await maxCursor() });
    await touch("Before disable");
    await sub.waitFor(1);
    expect(sub.results[0].data.directoryEvents.type).toBe("DEPARTMENT_CREATED");
    await gw.sql(`UPDATE app SET enabled = false WHERE id = $1`, [app.appPk]);
    gw.deps.tokens.invalidate();
    await touch("After disable");
    await sub.waitFor(2);
    expect(sub.results).toHaveLength(1);
    expect(sub.completed).toBe(true);
    expect((sub.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
  });

  it("ends with UNAUTHENTICATED once the member is no longer active", async () => {
    const id = (await gw.data(corp.token, CREATE_MEMBER, { input: { employeeId: "M-1", name: "Mia Member", departmentIds: [home], status: "ACTIVE" } }))
      .createMember.member.id;
    const token = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, parseGlobalId(id)!.pk);
    const c = gw.wsClient(token);
    clients.push(c);
    const sub = gw.subscribe(c, EVENTS, { after: await maxCursor() });
    await touch("Member sees this");
    await sub.waitFor(1);
    await gw.sql(`UPDATE member SET status = 'RESIGNED' WHERE id = $1`, [parseGlobalId(id)!.pk]);
    await touch("Member must not see this");
    await sub.waitFor(2);
    expect(sub.results).toHaveLength(1);
    expect((sub.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
  });

  it("ends with FORBIDDEN once directory:read is withdrawn from the app", async () => {
    const app = await gw.createApp(corp.corpPk, ["directory:read", "messages:read"]);
    const c = gw.wsClient(app.token);
    clients.push(c);
    const sub = gw.subscribe(c, EVENTS, { after: await maxCursor() });
    await touch("Scoped in");
    await sub.waitFor(1);
    await gw.sql(`UPDATE app SET scopes = '{messages:read}' WHERE id = $1`, [app.appPk]);
    gw.deps.tokens.invalidate();
    await touch("Scoped out");
    await sub.waitFor(2);
    expect(sub.results).toHaveLength(1);
    expect((sub.error as Array<{ extensions: unknown }>)[0].extensions).toEqual({ code: "FORBIDDEN" });
  });

  it("stamps occurredAt at commit, so it never goes backwards along the cursor", async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => touch(`Parallel ${i}`)));
    const rows = await gw.sql<{ at: Date }>(`SELECT occurred_at AS at FROM event WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]);
    for (let i = 1; i < rows.length; i++) expect(rows[i].at.getTime()).toBeGreaterThanOrEqual(rows[i - 1].at.getTime());
  });
});
