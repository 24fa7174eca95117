import { TestGateway, type TestCorp } from "./harness";

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
