import { serverAudits } from "graphql-http";
import { TestGateway } from "./harness";

describe("probe", () => {
  let gw: TestGateway;
  beforeAll(async () => { gw = await TestGateway.start(); });
  afterAll(() => gw.stop());
  it("runs", async () => {
    const audits = serverAudits({ url: `${gw.url}/graphql`, fetchFn: fetch });
    const out: string[] = [];
    for (const a of audits) {
      const r = await a.fn();
      out.push(`${r.status} ${r.id} ${r.name}${r.status !== "ok" ? " :: " + (r as any).reason + " :: " + JSON.stringify((r as any).response?.status) : ""}`);
    }
    console.log(out.join("\n"));
  });
});
