import { serverAudits, type AuditFail, type AuditResult } from "graphql-http";
import { TestGateway, type Untyped } from "./harness";

/**
 * GraphQL over HTTP conformance: the `graphql-http` server audits against POST/GET /graphql.
 * Every MUST passes; the SHOULD/MAY audits that do not are pinned below, so a change either way
 * is noticed (and the README's list can be updated).
 */

/**
 * Audits that do not pass, by id. All three are GET requests without a `content-type` or a
 * preflight header: Apollo's CSRF prevention (`csrfPrevention: true`) refuses them with 400. A GET
 * with `apollo-require-preflight` (or `x-apollo-operation-name`) works; see the last test.
 */
const EXPECTED_NOT_OK = [
  { id: "5A70", name: "MAY accept application/x-www-form-urlencoded formatted GET requests", status: "notice" },
  { id: "D6D5", name: "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/graphql-response+json", status: "notice" },
  { id: "6A70", name: "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/json", status: "notice" },
];

const level = (name: string) => name.split(" ")[0];
const failing = (r: AuditResult): r is AuditFail => r.status !== "ok";

describe("GraphQL over HTTP conformance (graphql-http 1.23.1 server audits)", () => {
  let gw: TestGateway;
  let results: AuditResult[];
  let authorization: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    // The audits are about the protocol; some introspect (`__type`), which needs a token (issue 11).
    const { token } = await gw.createCorp("Audit Corp");
    authorization = `Bearer ${token}`;
    const fetchFn = (input: string | URL | Request, init: RequestInit = {}) =>
      fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init.headers).entries()), authorization } });
    const audits = serverAudits({ url: `${gw.url}/graphql`, fetchFn });
    results = [];
    for (const audit of audits) results.push(await audit.fn());
  });
  afterAll(() => gw.stop());

  it("runs every audit", () => {
    expect(results.length).toBe(61);
    expect(new Set(results.map((r) => r.id)).size).toBe(results.length);
    expect(results.every((r) => ["MUST", "SHOULD", "MAY"].includes(level(r.name)))).toBe(true);
  });

  it("passes every MUST audit", () => {
    const must = results.filter((r) => level(r.name) === "MUST");
    expect(must.length).toBe(13);
    const failed = must.filter(failing).map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }));
    expect(failed).toEqual([]);
  });

  it("fails exactly the pinned SHOULD/MAY audits", () => {
    const notOk = results.filter(failing).filter((r) => level(r.name) !== "MUST");
    // eslint-disable-next-line no-console -- lists the audits that do not pass, the suite's report
    console.log(`SHOULD/MAY audits not passing (${notOk.length}):\n` + notOk.map((r) => `  ${r.status} ${r.id} ${r.name}: ${r.reason}`).join("\n"));
    expect(notOk.map((r) => ({ id: r.id, name: r.name, status: r.status }))).toEqual(EXPECTED_NOT_OK);
    for (const r of notOk) expect(r.reason).toBe("Response status code is not 200");
  });

  it("refuses those GETs as a CSRF precaution, and answers a GET with a preflight header", async () => {
    const url = `${gw.url}/graphql?query=${encodeURIComponent("query Q($n: String!) { __type(name: $n) { name } }")}&variables=${encodeURIComponent(JSON.stringify({ n: "Query" }))}`;
    const blocked = await fetch(url, { headers: { accept: "application/json", authorization } });
    expect(blocked.status).toBe(400);
    const body = (await blocked.json()) as Untyped;
    expect(body.errors[0].extensions).toEqual({ code: "BAD_USER_INPUT" });
    expect(body.errors[0].message).toMatch(/^This operation has been blocked as a potential Cross-Site Request Forgery \(CSRF\)\./);

    const allowed = await fetch(url, { headers: { accept: "application/json", "apollo-require-preflight": "true", authorization } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ data: { __type: { name: "Query" } }, extensions: { cost: expect.objectContaining({ requestedQueryCost: 10 }) } });
  });
});
