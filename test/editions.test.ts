import { randomUUID } from "node:crypto";
import { Kind, isObjectType, parse, type FieldDefinitionNode, type GraphQLSchema } from "graphql";
import type { Client as WsClient } from "graphql-ws";
import { TestGateway, type TestCorp, type Untyped } from "./harness";
import { HEADER, IMPORT_MEMBERS, postCsv, waitForJob } from "./directory-files";
import { buildWorkgraphSchema, printWorkgraphSchema } from "../src/schema/build";
import { Edition } from "../src/domain/enums";
import { FEATURES, Feature } from "../src/domain/editions";

/**
 * Editions declared once, in the schema code (issue 13, item 4): every field the printed SDL marks
 * `@requiresEdition` answers EDITION_REQUIRED to a BASIC corp, before anything of the operation
 * runs (HTTP 403, nothing written), and works for a PROFESSIONAL one; the REST routes follow the
 * same catalog; `corp { features }` lists it.
 */

/** A field of the SDL carrying `@requiresEdition`, by its coordinate (`Mutation.importMembers`). */
interface Declared {
  coordinate: string;
  type: string;
  field: string;
  edition: string;
  feature: Feature;
}

/** Every `@requiresEdition` of the printed schema, read from the SDL text as a client would. */
async function declaredInSdl(): Promise<{ schema: GraphQLSchema; sdl: string; declared: Declared[] }> {
  const schema = await buildWorkgraphSchema();
  const sdl = printWorkgraphSchema(schema);
  const declared: Declared[] = [];
  for (const definition of parse(sdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    for (const field of (definition.fields ?? []) as FieldDefinitionNode[]) {
      const directive = field.directives?.find((d) => d.name.value === "requiresEdition");
      if (!directive) continue;
      const arg = (name: string) => {
        const value = directive.arguments?.find((a) => a.name.value === name)?.value;
        return value?.kind === Kind.ENUM ? value.value : undefined;
      };
      declared.push({
        coordinate: `${definition.name.value}.${field.name.value}`,
        type: definition.name.value,
        field: field.name.value,
        edition: arg("edition")!,
        feature: arg("feature") as Feature,
      });
    }
  }
  return { schema, sdl, declared };
}

/** A document that calls the field, made for `corp` (which may mean preparing something first). */
type Call = (gw: TestGateway, corp: TestCorp) => Promise<{ query: string; variables?: Record<string, unknown> }>;

const IMPORT_JOB_EVENTS = `subscription($id: ID!) { importJobEvents(id: $id) { id status } }`;

/** One minimal valid call per declared field. A field the SDL declares and this table lacks fails the suite. */
const CALLS: Record<string, Call> = {
  "Mutation.importMembers": async () => ({ query: IMPORT_MEMBERS, variables: { input: { mode: "UPSERT", csv: `${HEADER}\nED1,Eda,Editions,,,,` } } }),
  "Mutation.exportMembers": async () => ({ query: `mutation { exportMembers(input: {}) { url expiresAt } }` }),
  "Query.importJob": async () => ({ query: `query($id: ID!) { importJob(id: $id) { id status } }`, variables: { id: randomUUID() } }),
  "Subscription.importJobEvents": async (gw, corp) => {
    // A PROFESSIONAL corp follows a job of its own (once the corp's other imports are done: one at a
    // time); a BASIC one cannot start any, so any id will do.
    const { edition } = (await gw.data(corp.token, `{ corp { edition } }`)).corp;
    if (edition === Edition.BASIC) return { query: IMPORT_JOB_EVENTS, variables: { id: randomUUID() } };
    await settled(gw, corp);
    const job = (await gw.data(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: `${HEADER}\nED2,Eda,Editions,,,,` } })).importMembers.job;
    return { query: IMPORT_JOB_EVENTS, variables: { id: job.id } };
  },
};

/** Waits for the corp's import jobs to finish. */
async function settled(gw: TestGateway, corp: TestCorp): Promise<void> {
  for (const job of await gw.sql(`SELECT id::text FROM import_job WHERE corp_id = $1`, [corp.corpPk])) await waitForJob(gw, corp.token, job.id);
}

const refusal = (field: string, feature: Feature, have = "BASIC") =>
  `\`${field}\` needs the ${FEATURES[feature].edition} edition (${FEATURES[feature].name}); this corp has ${have}.`;

describe("editions", () => {
  let gw: TestGateway;
  let basic: TestCorp;
  let professional: TestCorp;
  let declared: Declared[];
  let sdl: string;
  let schema: GraphQLSchema;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    ({ schema, sdl, declared } = await declaredInSdl());
    gw = await TestGateway.start();
    basic = await gw.createCorp("Basic Editions", Edition.BASIC);
    professional = await gw.createCorp("Professional Editions", Edition.PROFESSIONAL);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => gw.stop());

  /** Every row of the corp a refused call could have written: the directory, the event log, jobs, exports, audit. */
  const written = async (corp: TestCorp) => ({
    directory: Object.entries(await gw.snapshot()).map(([table, rows]) => [
      table,
      (rows as Untyped[]).filter((r) => (table === "corp" ? r.id : r.corp_id) === corp.corpPk),
    ]),
    jobs: await gw.sql(`SELECT * FROM import_job WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]),
    exports: await gw.sql(`SELECT * FROM member_export WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]),
    audit: await gw.sql(`SELECT * FROM audit_log WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]),
  });

  /** Runs a document over graphql-ws (query, mutation or subscription) and answers its first result, or its errors. */
  const overWebSocket = async (token: string, query: string, variables?: Record<string, unknown>) => {
    const client = gw.wsClient(token);
    clients.push(client);
    const sub = gw.subscribe(client, query, variables);
    await sub.waitFor(1, 10000);
    sub.stop();
    return { result: sub.results[0] as { data?: Untyped; errors?: Untyped[] } | undefined, errors: sub.error as Untyped[] | undefined };
  };

  /** Calls a declared field the way its root type is served: subscriptions over WebSocket, the rest over HTTP. */
  const call = async (d: Declared, corp: TestCorp) => {
    const { query, variables } = await CALLS[d.coordinate](gw, corp);
    if (d.type === "Subscription") return { ws: await overWebSocket(corp.token, query, variables) };
    return { http: await gw.gql(corp.token, query, variables) };
  };

  it("the SDL declares the directive and marks bulk import and exports, each with the catalog's edition and the sentence", () => {
    expect(sdl).toContain("directive @requiresEdition(");
    expect(sdl).toMatch(/directive @requiresEdition\([\s\S]*?edition: Edition![\s\S]*?feature: Feature![\s\S]*?\) on FIELD_DEFINITION/);
    expect(declared.map((d) => `${d.coordinate} ${d.feature}`).sort()).toEqual([
      "Mutation.exportMembers EXPORTS",
      "Mutation.importMembers BULK_IMPORT",
      "Query.importJob BULK_IMPORT",
      "Subscription.importJobEvents BULK_IMPORT",
    ]);
    for (const d of declared) expect(d.edition).toBe(FEATURES[d.feature].edition);
    // The playground's docs: each declared field's description says it.
    for (const d of declared) {
      const type = schema.getType(d.type);
      expect(isObjectType(type) && type.getFields()[d.field].description).toContain("Needs the PROFESSIONAL edition (else EDITION_REQUIRED).");
    }
  });

  it("has a call in this suite for every declared field", () => {
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.map((d) => d.coordinate).filter((c) => !(c in CALLS))).toEqual([]);
  });

  it("BASIC: every declared field answers EDITION_REQUIRED (HTTP 403) before anything runs, and writes nothing", async () => {
    for (const d of declared) {
      const before = await written(basic);
      const { http, ws } = await call(d, basic);
      if (http) {
        expect({ field: d.coordinate, status: http.status }).toEqual({ field: d.coordinate, status: 403 });
        expect(http.body.data).toBeUndefined();
        expect(http.body.errors).toHaveLength(1);
        expect(http.body.errors![0].message).toBe(refusal(d.field, d.feature));
        expect(http.body.errors![0].extensions).toMatchObject({ code: "EDITION_REQUIRED" });
      } else {
        expect(ws!.result).toBeUndefined();
        expect(ws!.errors).toHaveLength(1);
        expect(ws!.errors![0]).toMatchObject({ message: refusal(d.field, d.feature), extensions: { code: "EDITION_REQUIRED" } });
      }
      expect(await written(basic)).toEqual(before);
    }
  });

  it("PROFESSIONAL: every declared field works", async () => {
    for (const d of declared) {
      const { http, ws } = await call(d, professional);
      if (http) {
        expect({ field: d.coordinate, status: http.status, errors: http.body.errors }).toEqual({ field: d.coordinate, status: 200, errors: undefined });
        expect(http.body.data).toHaveProperty(d.field);
      } else {
        expect(ws!.errors).toBeUndefined();
        expect(ws!.result?.errors).toBeUndefined();
        expect(ws!.result?.data[d.field]).toMatchObject({ id: expect.any(String) });
      }
    }
    // Let the jobs started above finish before the gateway stops.
    await settled(gw, professional);
  });

  it("refuses the whole document, whatever else it asks, and only for fields it would run", async () => {
    const mixed = `query($id: ID!) { viewer { role } ...F } fragment F on Query { job: importJob(id: $id) { id } }`;
    const before = await written(basic);
    const res = await gw.gql(basic.token, mixed, { id: randomUUID() });
    expect(res.status).toBe(403);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([expect.objectContaining({ message: refusal("importJob", Feature.BULK_IMPORT) })]);
    expect(await written(basic)).toEqual(before);
    // Left out by @skip: nothing of the edition is asked.
    const skipped = await gw.gql(basic.token, `query($id: ID!) { viewer { role } importJob(id: $id) @skip(if: true) { id } }`, { id: randomUUID() });
    expect(skipped.status).toBe(200);
    expect(skipped.body.errors).toBeUndefined();
    expect(skipped.body.data).toEqual({ viewer: { role: "APP" } });
  });

  it("over WebSocket: a mutation on BASIC is refused and the socket stays usable; PROFESSIONAL succeeds", async () => {
    const client = gw.wsClient(basic.token);
    clients.push(client);
    const before = await written(basic);
    const refused = gw.subscribe(client, `mutation { exportMembers(input: {}) { url } }`);
    await refused.waitFor(1);
    expect(refused.results).toEqual([]);
    expect(refused.error).toEqual([expect.objectContaining({ message: refusal("exportMembers", Feature.EXPORTS), extensions: { code: "EDITION_REQUIRED" } })]);
    expect(await written(basic)).toEqual(before);
    const after = gw.subscribe(client, `{ corp { edition } }`);
    expect((await after.waitFor(1))[0].data).toEqual({ corp: { edition: "BASIC" } });

    const { result } = await overWebSocket(professional.token, `mutation { exportMembers(input: {}) { url } }`);
    expect(result?.errors).toBeUndefined();
    expect(result?.data.exportMembers.url).toMatch(/\/exports\//);
  });

  it("REST: POST /imports and GET /exports/:id answer 403 EDITION_REQUIRED on BASIC, before the scope or the export is looked at", async () => {
    const readOnly = await gw.createApp(basic.corpPk, ["directory:read"]);
    const before = await written(basic);
    const imported = await postCsv(gw, basic.token, `${HEADER}\nB1,Bee,Team,,,,`);
    expect(imported).toEqual({
      status: 403,
      body: { errors: [{ message: refusal("POST /imports", Feature.BULK_IMPORT), extensions: { code: "EDITION_REQUIRED" } }] },
    });
    expect((await postCsv(gw, readOnly.token, `${HEADER}\nB1,Bee,Team,,,,`)).body.errors[0].extensions.code).toBe("EDITION_REQUIRED");
    const download = await fetch(`${gw.url}/exports/${randomUUID()}`, { headers: { authorization: `Bearer ${basic.token}` } });
    expect(download.status).toBe(403);
    expect(await download.json()).toEqual({
      errors: [{ message: refusal("GET /exports/:id", Feature.EXPORTS), extensions: { code: "EDITION_REQUIRED" } }],
    });
    expect(await written(basic)).toEqual(before);
  });

  it("a corp moved down to BASIC can no longer download an export it made, nor follow its import jobs", async () => {
    const corp = await gw.createCorp("Downgraded Editions", Edition.PROFESSIONAL);
    const { url } = (await gw.data(corp.token, `mutation { exportMembers(input: {}) { url } }`)).exportMembers;
    const path = new URL(url).pathname;
    const get = () => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${corp.token}` } });
    expect((await get()).status).toBe(200);
    await gw.sql(`UPDATE corp SET edition = 'BASIC' WHERE id = $1`, [corp.corpPk]);
    gw.deps.tokens.invalidate();
    const res = await get();
    expect(res.status).toBe(403);
    expect(((await res.json()) as Untyped).errors[0].extensions.code).toBe("EDITION_REQUIRED");
    const job = await gw.gql(corp.token, `query($id: ID!) { importJob(id: $id) { id } }`, { id: randomUUID() });
    expect(job.body.errors![0].extensions).toMatchObject({ code: "EDITION_REQUIRED" });
  });

  it("corp { edition features } lists the catalog with what each corp has", async () => {
    const query = `{ corp { edition features { key enabled edition } } }`;
    expect(await gw.data(basic.token, query)).toEqual({
      corp: {
        edition: "BASIC",
        features: [
          { key: "BULK_IMPORT", enabled: false, edition: "PROFESSIONAL" },
          { key: "EXPORTS", enabled: false, edition: "PROFESSIONAL" },
          { key: "CUSTOMER_EVENTS", enabled: false, edition: "PROFESSIONAL" },
          { key: "WEBHOOKS", enabled: false, edition: "PROFESSIONAL" },
        ],
      },
    });
    expect(await gw.data(professional.token, query)).toEqual({
      corp: {
        edition: "PROFESSIONAL",
        features: [
          { key: "BULK_IMPORT", enabled: true, edition: "PROFESSIONAL" },
          { key: "EXPORTS", enabled: true, edition: "PROFESSIONAL" },
          { key: "CUSTOMER_EVENTS", enabled: true, edition: "PROFESSIONAL" },
          { key: "WEBHOOKS", enabled: true, edition: "PROFESSIONAL" },
        ],
      },
    });
    const described = await gw.data(basic.token, `{ corp { features { key description } } }`);
    for (const f of described.corp.features) expect(f.description).toBe(FEATURES[f.key as Feature].description);
  });
});
