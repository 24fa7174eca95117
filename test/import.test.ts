import { connect } from "node:net";
import { TestGateway, type TestCorp, type Untyped } from "./harness";
import { Edition } from "../src/domain/enums";
import { toGlobalId } from "../src/schema/global-id";
import { directorySnapshot, eventCount, HEADER, IMPORT_JOB, IMPORT_MEMBERS, importCsv, postCsv, waitForJob } from "./directory-files";

/**
 * Batch import (issue 4) over real HTTP: `POST /imports` and `importMembers`, UPSERT and REPLACE,
 * row errors, the all-or-nothing and resign-ratio rules, dry runs, one job per corp, events,
 * permissions, editions, tenancy, and recovery of interrupted jobs.
 */

const CREATE_MEMBER = `mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }`;
const UPDATE_DEPARTMENT = `mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id } } }`;

describe("batch import", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const members = (corp: TestCorp) =>
    gw.sql(
      `SELECT m.employee_id, m.name, m.title, m.extension, m.mobile, m.email, m.status,
              (SELECT d.path FROM department d WHERE d.id = m.main_department_id) AS main_path,
              (SELECT array_agg(d.name ORDER BY d.name) FROM member_department md JOIN department d ON d.id = md.department_id WHERE md.member_id = m.id) AS departments
         FROM member m WHERE m.corp_id = $1 ORDER BY m.employee_id`,
      [corp.corpPk],
    );
  const departmentNames = async (corp: TestCorp) =>
    (await gw.sql<{ name: string; depth: number }>(`SELECT name, depth FROM department WHERE corp_id = $1 ORDER BY depth, name`, [corp.corpPk])).map(
      (d) => `${d.depth}:${d.name}`,
    );

  /**
   * Starts `POST /imports` on a raw socket with a chunked body whose first chunk is `first`;
   * `send` writes one more chunk. `answer()` waits (at most `ms`) for the server to close the
   * connection and gives the status, the JSON body and the time since the request started.
   */
  const rawUpload = (token: string, first: string | Buffer) => {
    const { port } = new URL(gw.url);
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => (answer += d.toString()));
    // Writes after the server closed the connection fail; the answer is what counts.
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const started = Date.now();
    const chunk = (data: string | Buffer) =>
      Buffer.concat([Buffer.from(`${Buffer.byteLength(data).toString(16)}\r\n`), Buffer.from(data), Buffer.from("\r\n")]);
    socket.write(
      `POST /imports?mode=UPSERT HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
    );
    socket.write(chunk(first));
    return {
      send: (data: string | Buffer) => socket.writable && socket.write(chunk(data)),
      destroy: () => socket.destroy(),
      answer: async (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${answer}`)), ms)))]);
        } finally {
          clearTimeout(timer);
        }
        const elapsed = Date.now() - started;
        return { elapsed, status: Number(answer.slice(9, 12)), body: JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) };
      },
    };
  };

  describe("UPSERT", () => {
    it("creates members and missing departments; invalid rows are reported by row and field, valid ones land", async () => {
      const corp = await gw.createCorp("Upsert Corp");
      const csv = [
        HEADER,
        "E1,Ada Lovelace,Shanghai/Sales;Beijing,Engineer,8001,+8613800000001,ADA@example.com",
        "E2,Bob,Shanghai/Sales,,,,",
        "bad id!,Carol,Shanghai,,,,",
        "E4,Dan,Shanghai,,,,not-an-email",
        "E5,Eve,,,,,",
        "E1,Ada Again,Shanghai,,,,",
        `E7,"Quoted, Name",Shanghai/Sales,"Title with ""quotes""",,,`,
      ].join("\n");
      const job = await importCsv(gw, corp.token, csv);
      expect(job).toMatchObject({
        status: "SUCCEEDED",
        mode: "UPSERT",
        dryRun: false,
        total: 7,
        processed: 7,
        created: 3,
        updated: 0,
        resigned: 0,
        failed: 4,
        departmentsCreated: 3,
        reason: null,
      });
      expect(job.errors.nodes).toEqual([
        { row: 3, field: "employeeId", code: "BAD_USER_INPUT", message: "employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'" },
        { row: 4, field: "email", code: "BAD_USER_INPUT", message: "email must be an email address" },
        { row: 5, field: "department", code: "BAD_USER_INPUT", message: "A member needs at least one department." },
        { row: 6, field: "employeeId", code: "CONFLICT", message: "The employee id is also on row 1." },
      ]);
      expect(job.errors.totalCount).toBe(4);
      expect(await departmentNames(corp)).toEqual(["0:Upsert Corp", "1:Beijing", "1:Shanghai", "2:Sales"]);
      const rows = await members(corp);
      expect(rows.map((r: Untyped) => [r.employee_id, r.name, r.title, r.extension, r.mobile, r.email, r.status, r.departments])).toEqual([
        ["E1", "Ada Lovelace", "Engineer", "8001", "+8613800000001", "ada@example.com", "UNACTIVATED", ["Beijing", "Sales"]],
        ["E2", "Bob", null, null, null, null, "UNACTIVATED", ["Sales"]],
        ["E7", "Quoted, Name", 'Title with "quotes"', null, null, null, "UNACTIVATED", ["Sales"]],
      ]);
      // The main department is the first path.
      const sales = (await gw.sql(`SELECT path FROM department WHERE corp_id = $1 AND name = 'Sales'`, [corp.corpPk]))[0].path;
      expect(rows[0].main_path).toBe(sales);
    });

    it("reports the same messages createMember gives for the same values (one set of rules)", async () => {
      const corp = await gw.createCorp();
      for (const [field, value] of [
        ["name", " padded"],
        ["mobile", "12"],
        ["extension", "x1"],
      ] as const) {
        const res = await gw.gql(corp.token, CREATE_MEMBER, { input: { employeeId: "E1", name: "Ok", departmentIds: [corp.rootId], [field]: value } });
        const apiMessage = res.body.errors![0].message.replace(`input.${field}: `, "");
        const cells = { name: "Ok", mobile: "", extension: "", [field]: value };
        const job = await importCsv(gw, corp.token, `${HEADER}\nE1,${cells.name},/,,${cells.extension},${cells.mobile},`);
        expect(job.errors.nodes).toEqual([{ row: 1, field, code: "BAD_USER_INPUT", message: apiMessage }]);
        expect(res.body.errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: `input.${field}` });
      }
    });

    it("updates only what changed, moves members between departments, and reinstates resigned members", async () => {
      const corp = await gw.createCorp();
      await importCsv(gw, corp.token, `${HEADER}\nE1,Ada,A;B,Eng,,,\nE2,Bob,A,,,,\nE3,Cy,B,,,,`);
      await gw.sql(`UPDATE member SET status = 'RESIGNED' WHERE corp_id = $1 AND employee_id = 'E3'`, [corp.corpPk]);
      const before = await directorySnapshot(gw, corp.corpPk);
      const job = await importCsv(gw, corp.token, `${HEADER}\nE1,Ada,B;A,Eng,,,\nE2,Bob,A,Boss,,,\nE3,Cy,B,,,,`);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 0, updated: 3, failed: 0 });
      const after = (await directorySnapshot(gw, corp.corpPk)) as Untyped[];
      // E1: only the main department changed (same set); E2: title; E3: back from RESIGNED.
      expect(after.map((r) => [r.employee_id, r.title, r.status, r.main, r.departments])).toEqual([
        ["E1", "Eng", "UNACTIVATED", "B", ["A", "B"]],
        ["E2", "Boss", "UNACTIVATED", "A", ["A"]],
        ["E3", null, "UNACTIVATED", "B", ["B"]],
      ]);
      expect(before).not.toEqual(after);
      const events = await gw.sql(`SELECT type, data FROM event WHERE corp_id = $1 AND type IN ('MEMBER_UPDATED', 'MEMBER_STATUS_CHANGED') ORDER BY id`, [
        corp.corpPk,
      ]);
      expect(events).toEqual([
        { type: "MEMBER_UPDATED", data: { changedFields: ["mainDepartment"] } },
        { type: "MEMBER_UPDATED", data: { changedFields: ["title"] } },
        { type: "MEMBER_STATUS_CHANGED", data: { from: "RESIGNED", to: "UNACTIVATED" } },
      ]);
      // The same file again changes nothing.
      const again = await importCsv(gw, corp.token, `${HEADER}\nE1,Ada,B;A,Eng,,,\nE2,Bob,A,Boss,,,\nE3,Cy,B,,,,`);
      expect(again).toMatchObject({ status: "SUCCEEDED", created: 0, updated: 0 });
      expect(await directorySnapshot(gw, corp.corpPk)).toEqual(after);
    });

    it("new members are created in file order (their ids, hence the default member order, follow the rows)", async () => {
      const corp = await gw.createCorp("Order Corp");
      // A job's own connection picks this up: hash joins and aggregates spill into batches (as a
      // 100,000-row file does at the default work_mem), which is what scrambles an unsorted plan.
      await gw.sql(`ALTER DATABASE ${gw.database} SET work_mem = '64kB'`);
      const ids = Array.from({ length: 3000 }, (_, i) => `Z${String((i * 7919) % 10000).padStart(5, "0")}`);
      let rows: { employee_id: string }[];
      try {
        const job = await importCsv(
          gw,
          corp.token,
          [HEADER, ...ids.map((id, i) => `${id},Member ${i},${["Odd", "Even/Deep;Odd", "Third;Odd;Even"][i % 3]},,,,`)].join("\n"),
        );
        expect(job).toMatchObject({ status: "SUCCEEDED", created: 3000, failed: 0 });
        rows = await gw.sql<{ employee_id: string }>(`SELECT employee_id FROM member WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]);
      } finally {
        await gw.sql(`ALTER DATABASE ${gw.database} RESET work_mem`);
      }
      expect(rows.map((r) => r.employee_id)).toEqual(ids);
    });

    it("importMembers takes inline rows and csv; the job is answered at once", async () => {
      const corp = await gw.createCorp();
      const res = await gw.data(corp.token, IMPORT_MEMBERS, {
        input: { mode: "UPSERT", rows: [{ employeeId: "R1", name: "Row One", department: "Ops", mobile: "+8613800000009" }] },
      });
      expect(res.importMembers.job).toMatchObject({ mode: "UPSERT" });
      expect(["QUEUED", "RUNNING", "SUCCEEDED"]).toContain(res.importMembers.job.status);
      const job = await waitForJob(gw, corp.token, res.importMembers.job.id);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 1, departmentsCreated: 1 });
      const viaCsv = await gw.data(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: `${HEADER}\nR2,Row Two,Ops,,,,` } });
      expect(await waitForJob(gw, corp.token, viaCsv.importMembers.job.id)).toMatchObject({ status: "SUCCEEDED", created: 1, departmentsCreated: 0 });
      const both = await gw.gql(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: HEADER, rows: [] } });
      expect(both.body.errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.csv" });
      const ratio = await gw.gql(corp.token, IMPORT_MEMBERS, { input: { mode: "REPLACE", csv: HEADER, maxResignRatio: 1.5 } });
      expect(ratio.body.errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.maxResignRatio" });
    });

    it("department paths: escapes, the root as `/`, the 15-level limit", async () => {
      const corp = await gw.createCorp("Paths Corp");
      const deep = Array.from({ length: 15 }, (_, i) => `L${i + 1}`).join("/");
      const csv = [
        HEADER,
        `P1,Root Person,/,,,,`,
        `P2,Slashy,R&D\\/Labs;Semi\\;Colon,,,,`,
        `P3,Deep,${deep},,,,`,
        `P4,Too Deep,${deep}/L16,,,,`,
        `P5,Empty,A//B,,,,`,
      ].join("\n");
      const job = await importCsv(gw, corp.token, csv);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 3, failed: 2 });
      expect(job.errors.nodes.map((e: Untyped) => [e.row, e.field, e.code])).toEqual([
        [4, "department", "LIMIT_EXCEEDED"],
        [5, "department", "BAD_USER_INPUT"],
      ]);
      const names = await gw.sql(`SELECT name FROM department WHERE corp_id = $1 AND depth = 1 ORDER BY name`, [corp.corpPk]);
      expect(names.map((n: Untyped) => n.name)).toEqual(["L1", "R&D/Labs", "Semi;Colon"]);
      const root = await gw.sql(`SELECT m.main_department_id::text AS d FROM member m WHERE m.corp_id = $1 AND m.employee_id = 'P1'`, [corp.corpPk]);
      expect(root[0].d).toBe(corp.rootPk);
      expect((await gw.sql(`SELECT max(depth)::int AS d FROM department WHERE corp_id = $1`, [corp.corpPk]))[0].d).toBe(15);
    });
  });

  describe("REPLACE", () => {
    const seed = async (corp: TestCorp, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `M${i + 1},Member ${i + 1},Team,,,,`);
      return importCsv(gw, corp.token, [HEADER, ...lines].join("\n"));
    };

    it("a file with one invalid row changes nothing and says why", async () => {
      const corp = await gw.createCorp();
      await seed(corp, 5);
      const before = await directorySnapshot(gw, corp.corpPk);
      const events = await eventCount(gw, corp.corpPk);
      const csv = [HEADER, "M1,Renamed,Team,,,,", "M2,Member 2,Team,,,,bad-email", "M9,New,Team,,,,"].join("\n");
      const job = await importCsv(gw, corp.token, csv, { mode: "REPLACE", maxResignRatio: "1" });
      expect(job).toMatchObject({ status: "FAILED", created: 0, updated: 0, resigned: 0, failed: 1 });
      expect(job.reason).toBe("1 of 3 rows are invalid (see errors); a REPLACE changes nothing unless every row is valid.");
      expect(job.errors.nodes).toEqual([{ row: 2, field: "email", code: "BAD_USER_INPUT", message: "email must be an email address" }]);
      expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
      expect(await eventCount(gw, corp.corpPk)).toBe(events);
    });

    it("over maxResignRatio changes nothing and says why; a raised ratio lets it through; resigned, never deleted", async () => {
      const corp = await gw.createCorp();
      await seed(corp, 10);
      const before = await directorySnapshot(gw, corp.corpPk);
      const events = await eventCount(gw, corp.corpPk);
      const half = [HEADER, ...Array.from({ length: 5 }, (_, i) => `M${i + 1},Member ${i + 1},Team,,,,`)].join("\n");
      const refused = await importCsv(gw, corp.token, half, { mode: "REPLACE" });
      expect(refused).toMatchObject({ status: "FAILED", resigned: 0, created: 0, updated: 0, maxResignRatio: 0.2 });
      expect(refused.reason).toBe(
        "The file would resign 5 of 10 active members (50.0%), more than maxResignRatio 0.2; nothing was changed. If that is intended, import again with a higher maxResignRatio.",
      );
      expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
      expect(await eventCount(gw, corp.corpPk)).toBe(events);

      const allowed = await importCsv(gw, corp.token, half, { mode: "REPLACE", maxResignRatio: "0.5" });
      expect(allowed).toMatchObject({ status: "SUCCEEDED", resigned: 5, created: 0, updated: 0, reason: null });
      const rows = await gw.sql(`SELECT employee_id, status FROM member WHERE corp_id = $1 ORDER BY id`, [corp.corpPk]);
      expect(rows).toHaveLength(10);
      expect(rows.filter((r: Untyped) => r.status === "RESIGNED").map((r: Untyped) => r.employee_id)).toEqual(["M6", "M7", "M8", "M9", "M10"]);
      const resignEvents = await gw.sql(`SELECT data FROM event WHERE corp_id = $1 AND type = 'MEMBER_STATUS_CHANGED' ORDER BY id`, [corp.corpPk]);
      expect(resignEvents).toHaveLength(5);
      expect(resignEvents[0].data).toEqual({ from: "UNACTIVATED", to: "RESIGNED" });
    });

    it("a dry run reports what would happen and changes nothing", async () => {
      const corp = await gw.createCorp();
      await seed(corp, 5);
      const before = await directorySnapshot(gw, corp.corpPk);
      const events = await eventCount(gw, corp.corpPk);
      const departments = await gw.sql(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1`, [corp.corpPk]);
      const csv = [HEADER, "M1,Renamed,Team,,,,", "M2,Member 2,Team,,,,", "M3,Member 3,Team,,,,", "M4,Member 4,Team,,,,", "N1,New,Fresh/Dept,,,,"].join("\n");
      const job = await importCsv(gw, corp.token, csv, { mode: "REPLACE", dryRun: "true" });
      expect(job).toMatchObject({
        status: "SUCCEEDED",
        dryRun: true,
        total: 5,
        processed: 5,
        created: 1,
        updated: 1,
        resigned: 1,
        failed: 0,
        departmentsCreated: 2,
      });
      expect(await directorySnapshot(gw, corp.corpPk)).toEqual(before);
      expect(await eventCount(gw, corp.corpPk)).toBe(events);
      expect(await gw.sql(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1`, [corp.corpPk])).toEqual(departments);
    });
  });

  describe("jobs", () => {
    it("two imports of one corp never run at once (CONFLICT), whichever endpoint; another corp is not blocked", async () => {
      const corp = await gw.createCorp();
      const other = await gw.createCorp();
      let push!: (chunk: string | null) => void;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(new TextEncoder().encode(chunk)));
        },
      });
      push(`${HEADER}\nS1,Slow,Team,,,,\n`);
      const slow = postCsv(gw, corp.token, body);
      // Wait until the first job is visible, then try a second one.
      let running: Untyped[] = [];
      for (let i = 0; i < 100 && !running.length; i++) {
        running = await gw.sql(`SELECT id, status FROM import_job WHERE corp_id = $1 AND status IN ('QUEUED', 'RUNNING')`, [corp.corpPk]);
        if (!running.length) await new Promise((r) => setTimeout(r, 20));
      }
      expect(running).toHaveLength(1);
      const second = await postCsv(gw, corp.token, `${HEADER}\nS2,Other,Team,,,,`);
      expect(second.status).toBe(409);
      expect(second.body.errors[0].extensions.code).toBe("CONFLICT");
      const viaGraphql = await gw.gql(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: HEADER } });
      expect(viaGraphql.body.errors![0].extensions?.code).toBe("CONFLICT");
      expect(await importCsv(gw, other.token, `${HEADER}\nO1,Other Corp,Team,,,,`)).toMatchObject({ status: "SUCCEEDED", created: 1 });
      push("S3,Slow Too,Team,,,,\n");
      push(null);
      const first = await slow;
      expect(first.status).toBe(202);
      expect(first.body.job.id).toBe(running[0].id);
      expect(await waitForJob(gw, corp.token, first.body.job.id)).toMatchObject({ status: "SUCCEEDED", created: 2 });
      // Once it is done, the next import may start.
      expect(await importCsv(gw, corp.token, `${HEADER}\nS2,Other,Team,,,,`)).toMatchObject({ status: "SUCCEEDED", created: 1 });
    });

    it("a job left RUNNING by a dead gateway is marked FAILED with a reason, never left RUNNING", async () => {
      const corp = await gw.createCorp();
      const [orphan] = await gw.sql(
        `INSERT INTO import_job (corp_id, app_id, status, mode, max_resign_ratio) VALUES ($1, $2, 'RUNNING', 'REPLACE', 0.2) RETURNING id`,
        [corp.corpPk, corp.appPk],
      );
      expect(await gw.deps.services.imports.recoverInterrupted()).toBe(1);
      const job = (await gw.data(corp.token, IMPORT_JOB, { id: orphan.id })).importJob;
      expect(job).toMatchObject({
        status: "FAILED",
        reason: "The gateway running this import stopped before it finished; nothing was applied. Submit the file again.",
      });
      // A live job (its runner holds the lock) is left alone.
      expect(await gw.deps.services.imports.recoverInterrupted()).toBe(0);
    });

    it("a body that is not the CSV format: 400 naming the problem, the job FAILED with the reason", async () => {
      const corp = await gw.createCorp();
      const res = await postCsv(gw, corp.token, "employeeId,name,colour\nE1,Ada,red");
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toEqual({
        message: 'Unknown column "colour" in the header; the columns are employeeId,name,department,title,extension,mobile,email.',
        extensions: { code: "BAD_USER_INPUT", field: "body" },
      });
      const [job] = await gw.sql(`SELECT status, reason FROM import_job WHERE corp_id = $1`, [corp.corpPk]);
      expect(job).toEqual({
        status: "FAILED",
        reason: 'Unknown column "colour" in the header; the columns are employeeId,name,department,title,extension,mobile,email.',
      });
      const quote = await postCsv(gw, corp.token, `${HEADER}\nE1,"unterminated,Team,,,,`);
      expect(quote.status).toBe(400);
      expect(quote.body.errors[0]).toEqual({
        message:
          "The file is not valid CSV: row 1, column 2 (name): a quoted value starts here and its closing quote never comes (the file ends inside it). Nothing was applied.",
        extensions: { code: "BAD_USER_INPUT", field: "body" },
      });
      expect(quote.body.job.id).toEqual(expect.any(String));
      expect((await postCsv(gw, corp.token, HEADER, { mode: "SIDEWAYS" })).body.errors[0].extensions).toEqual({ code: "BAD_USER_INPUT", field: "mode" });
      expect((await postCsv(gw, corp.token, HEADER, { mode: "UPSERT" }, "application/json")).status).toBe(400);
      expect((await postCsv(gw, null, HEADER)).status).toBe(401);
      // An empty file (header only) is a job with nothing to do.
      expect(await importCsv(gw, corp.token, HEADER)).toMatchObject({ status: "SUCCEEDED", total: 0, created: 0, reason: null });
    });

    it("importJobEvents streams the job's progress until it ends", async () => {
      const corp = await gw.createCorp();
      let push!: (chunk: string | null) => void;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(new TextEncoder().encode(chunk)));
        },
      });
      push(`${HEADER}\nW1,Watched,Team,,,,\n`);
      const posted = postCsv(gw, corp.token, body);
      let id: string | undefined;
      for (let i = 0; i < 100 && !id; i++) {
        id = (await gw.sql(`SELECT id FROM import_job WHERE corp_id = $1`, [corp.corpPk]))[0]?.id;
        if (!id) await new Promise((r) => setTimeout(r, 20));
      }
      const client = gw.wsClient(corp.token);
      const sub = gw.subscribe(client, `subscription($id: ID!) { importJobEvents(id: $id) { id status total created } }`, { id });
      await sub.waitFor(1);
      push(null);
      expect((await posted).status).toBe(202);
      for (let i = 0; i < 200 && !sub.completed; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sub.completed).toBe(true);
      const seen = sub.results.map((r) => r.data.importJobEvents);
      expect(seen[0]).toMatchObject({ id, status: "RUNNING" });
      expect(seen[seen.length - 1]).toEqual({ id, status: "SUCCEEDED", total: 1, created: 1 });
      const other = await gw.createCorp();
      const foreign = gw.subscribe(gw.wsClient(other.token), `subscription($id: ID!) { importJobEvents(id: $id) { id } }`, { id });
      await foreign.waitFor(1);
      expect(foreign.results[0].errors![0].extensions.code).toBe("NOT_FOUND");
      await client.dispose();
    });
  });

  describe("events", () => {
    it("an import's changes reach directoryEvents subscribers like any other change", async () => {
      const corp = await gw.createCorp();
      const client = gw.wsClient(corp.token);
      const sub = gw.subscribe(client, `subscription { directoryEvents { type memberId departmentId member { employeeId } department { name } } }`);
      await new Promise((r) => setTimeout(r, 200));
      await importCsv(gw, corp.token, `${HEADER}\nV1,Vee,Live,,,,\nV2,Wes,Live,,,,`);
      const results = await sub.waitFor(3);
      expect(results.map((r) => r.data.directoryEvents)).toEqual([
        { type: "DEPARTMENT_CREATED", memberId: null, departmentId: expect.any(String), member: null, department: { name: "Live" } },
        { type: "MEMBER_CREATED", memberId: expect.any(String), departmentId: null, member: { employeeId: "V1" }, department: null },
        { type: "MEMBER_CREATED", memberId: expect.any(String), departmentId: null, member: { employeeId: "V2" }, department: null },
      ]);
      await client.dispose();
    });
  });

  describe("permissions and tenancy", () => {
    it("needs the PROFESSIONAL edition", async () => {
      const basic = await gw.createCorp("Basic Corp", Edition.BASIC);
      const res = await postCsv(gw, basic.token, `${HEADER}\nB1,Bee,Team,,,,`);
      expect(res.status).toBe(403);
      expect(res.body.errors[0].extensions.code).toBe("EDITION_REQUIRED");
      const gql = await gw.gql(basic.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: HEADER } });
      expect(gql.body.errors![0].extensions?.code).toBe("EDITION_REQUIRED");
      expect(await gw.sql(`SELECT * FROM import_job WHERE corp_id = $1`, [basic.corpPk])).toEqual([]);
    });

    it("needs directory:write; a second corp and a restricted app see nothing of the job", async () => {
      const corp = await gw.createCorp();
      const job = await importCsv(gw, corp.token, `${HEADER}\nT1,Tee,Team,,,,`);
      const readOnly = await gw.createApp(corp.corpPk, ["directory:read"]);
      const refused = await postCsv(gw, readOnly.token, `${HEADER}\nT2,Two,Team,,,,`);
      expect(refused.status).toBe(403);
      expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");
      const other = await gw.createCorp();
      expect((await gw.data(other.token, IMPORT_JOB, { id: job.id })).importJob).toBeNull();
      const team = (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = 'Team'`, [corp.corpPk]))[0].id;
      const restricted = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [team]);
      expect((await gw.data(restricted.token, IMPORT_JOB, { id: job.id })).importJob).toBeNull();
      expect((await gw.data(corp.token, IMPORT_JOB, { id: "not-a-uuid" })).importJob).toBeNull();
    });

    it("a restricted app may touch only members and departments within its visibility", async () => {
      const corp = await gw.createCorp();
      await importCsv(gw, corp.token, `${HEADER}\nA1,In,Inside,,,,\nA2,Out,Outside,,,,`);
      const inside = (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = 'Inside'`, [corp.corpPk]))[0].id;
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [inside]);
      const csv = [HEADER, "A1,In Renamed,Inside,,,,", "A2,Out Renamed,Inside,,,,", "A3,New Out,Outside,,,,", "A4,New In,Inside/Sub,,,,"].join("\n");
      const job = await importCsv(gw, app.token, csv);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 1, updated: 1, failed: 2, departmentsCreated: 1 });
      // A2 is a member the app cannot see: its employee id is taken, as createMember would say.
      expect(job.errors.nodes.map((e: Untyped) => [e.row, e.field, e.code, e.message])).toEqual([
        [2, "employeeId", "CONFLICT", "A member with this employee id already exists in the corp."],
        [3, "department", "FORBIDDEN", 'Department "Outside" is outside the part of the directory you may manage.'],
      ]);
      // REPLACE by the restricted app resigns only members within its reach.
      const replace = await importCsv(gw, app.token, `${HEADER}\nA4,New In,Inside/Sub,,,,`, { mode: "REPLACE", maxResignRatio: "1" });
      expect(replace).toMatchObject({ status: "SUCCEEDED", resigned: 1 });
      const statuses = await gw.sql(`SELECT employee_id, status FROM member WHERE corp_id = $1 ORDER BY employee_id`, [corp.corpPk]);
      expect(statuses).toEqual([
        { employee_id: "A1", status: "RESIGNED" },
        { employee_id: "A2", status: "UNACTIVATED" },
        { employee_id: "A4", status: "UNACTIVATED" },
      ]);
    });

    it("leaders import within the subtrees they lead; plain members may not import", async () => {
      const corp = await gw.createCorp();
      await importCsv(gw, corp.token, `${HEADER}\nL1,Leader,Sales,,,,\nL2,Seller,Sales/East,,,,\nL3,Plain,Ops,,,,\nL4,Opsy,Ops,,,,`);
      await gw.sql(`UPDATE member SET status = 'ACTIVE' WHERE corp_id = $1`, [corp.corpPk]);
      const ids = Object.fromEntries(
        (await gw.sql(`SELECT employee_id, id::text FROM member WHERE corp_id = $1`, [corp.corpPk])).map((r: Untyped) => [r.employee_id, r.id]),
      );
      const sales = (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = 'Sales'`, [corp.corpPk]))[0].id;
      await gw.data(corp.token, UPDATE_DEPARTMENT, { input: { id: toGlobalId("Department", sales), leaderIds: [toGlobalId("Member", ids.L1)] } });
      const leader = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, ids.L1);
      const csv = [
        HEADER,
        "L2,Seller Renamed,Sales/East,,,,",
        "L5,New Seller,Sales,,,,",
        "L4,Stolen,Sales,,,,",
        "L6,Elsewhere,Ops,,,,",
        "L7,Invented,Sales/West,,,,",
      ].join("\n");
      const job = await importCsv(gw, leader, csv);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 1, updated: 1, failed: 3 });
      expect(job.errors.nodes.map((e: Untyped) => [e.row, e.field, e.code])).toEqual([
        [3, "employeeId", "FORBIDDEN"],
        [4, "department", "FORBIDDEN"],
        [5, "department", "FORBIDDEN"],
      ]);
      const plain = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, ids.L3);
      const refused = await postCsv(gw, plain, `${HEADER}\nL8,Nope,Ops,,,,`);
      expect(refused.status).toBe(403);
      expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");
      // The admin app sees the leader's job; the leader does not see the admin's.
      expect((await gw.data(corp.token, IMPORT_JOB, { id: job.id })).importJob.id).toBe(job.id);
      const adminJob = (await gw.sql(`SELECT id FROM import_job WHERE corp_id = $1 AND member_id IS NULL ORDER BY created_at LIMIT 1`, [corp.corpPk]))[0].id;
      expect((await gw.data(leader, IMPORT_JOB, { id: adminJob })).importJob).toBeNull();
    });
  });
  describe("CSV syntax errors and rows with several problems (issue 10)", () => {
    const jobErrors = (jobId: string) => gw.sql(`SELECT row_number, field, code FROM import_job_error WHERE job_id = $1 ORDER BY row_number, field`, [jobId]);

    it("a stray quote answers 400 naming row 1 and its column; the job FAILED with that reason and row; nothing applied", async () => {
      const corp = await gw.createCorp();
      const res = await postCsv(gw, corp.token, `employeeId,name,department\nE1,Ad"a,/\n`);
      const message =
        'The file is not valid CSV: row 1 (line 2 of the file), column 2 (name): a quote (") inside a value that does not start with one; quote the whole value and double each quote inside it, e.g. "Ad""a". Nothing was applied.';
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errors: [{ message, extensions: { code: "BAD_USER_INPUT", field: "body" } }], job: { id: expect.any(String) } });
      const job = (await gw.data(corp.token, IMPORT_JOB, { id: res.body.job.id })).importJob;
      expect(job).toMatchObject({ status: "FAILED", reason: message, failed: 1, created: 0 });
      expect(job.errors.nodes).toEqual([{ row: 1, field: "name", code: "BAD_USER_INPUT", message }]);
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
    });

    it("counts rows as the README does: a quoted line break and a blank line do not shift the row number", async () => {
      const corp = await gw.createCorp();
      // Lines: 1 header, 2–3 row 1 (a quoted line break), 4 blank, 5 row 2, 6 row 3.
      const res = await postCsv(gw, corp.token, `${HEADER}\nE1,"Two\nLines",/,,,,\n\nE2,Bob,/,,,,\nE3,"Ca"rol,/,,,,\n`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].message).toBe(
        'The file is not valid CSV: row 3 (line 6 of the file), column 2 (name): a quoted value goes on after its closing quote; double each quote inside a quoted value, e.g. "Ad""a". Nothing was applied.',
      );
      expect(await jobErrors(res.body.job.id)).toEqual([{ row_number: 3, field: "name", code: "BAD_USER_INPUT" }]);
      // In the header: no row number.
      const header = await postCsv(gw, corp.token, `employeeId,"name\nE1,Ada,/\n`);
      expect(header.status).toBe(400);
      expect(header.body.errors[0].message).toMatch(/^The file is not valid CSV: the header: a quoted value starts here/);
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
    });

    it("importMembers with inline csv: BAD_USER_INPUT on input.csv naming the row; the job FAILED", async () => {
      const corp = await gw.createCorp();
      const res = await gw.gql(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: `employeeId,name,department\nE1,Ada,/\nE2,Ad"a,/\n` } });
      expect(res.body.errors![0]).toMatchObject({
        message: expect.stringMatching(/^The file is not valid CSV: row 2 \(line 3 of the file\), column 2 \(name\): a quote/),
        extensions: { code: "BAD_USER_INPUT", field: "input.csv" },
      });
      expect(await gw.sql(`SELECT status, failed FROM import_job WHERE corp_id = $1`, [corp.corpPk])).toEqual([{ status: "FAILED", failed: 1 }]);
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
    });

    it("reports every problem of a row, one error per field, in column order", async () => {
      const corp = await gw.createCorp();
      const csv = [
        HEADER,
        "E1,Ada,Team,,,,ada@example.com",
        "bad id!,Carol,Team,,12ab,,not-an-email",
        "E1, Padded,Team//Sub,,,+86138000000099999999999,ada@example.com",
        "E4,Dan,Team,,,,",
      ].join("\n");
      const job = await importCsv(gw, corp.token, csv);
      expect(job).toMatchObject({ status: "SUCCEEDED", total: 4, created: 2, failed: 2 });
      expect(job.errors.totalCount).toBe(8);
      expect(job.errors.nodes).toEqual([
        { row: 2, field: "employeeId", code: "BAD_USER_INPUT", message: "employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'" },
        { row: 2, field: "extension", code: "BAD_USER_INPUT", message: "extension must be 1–32 digits, '+', '-', '*' or '#'" },
        { row: 2, field: "email", code: "BAD_USER_INPUT", message: "email must be an email address" },
        { row: 3, field: "employeeId", code: "CONFLICT", message: "The employee id is also on row 1." },
        { row: 3, field: "name", code: "BAD_USER_INPUT", message: "name must not be blank or start or end with spaces" },
        { row: 3, field: "department", code: "BAD_USER_INPUT", message: 'department path "Team//Sub" has an empty name (use "/" alone for the root)' },
        { row: 3, field: "mobile", code: "BAD_USER_INPUT", message: "mobile must be an optional '+' and 5–20 digits" },
        { row: 3, field: "email", code: "CONFLICT", message: "The email address is also on row 1." },
      ]);
      // Paging walks the errors of one row too.
      const page = async (after?: string) =>
        (
          await gw.data(
            corp.token,
            `query($id: ID!, $after: String) { importJob(id: $id) { errors(first: 3, after: $after) { pageInfo { endCursor hasNextPage } nodes { row field } } } }`,
            { id: job.id, after },
          )
        ).importJob.errors;
      const first = await page();
      const second = await page(first.pageInfo.endCursor);
      expect([...first.nodes, ...second.nodes].map((e: Untyped) => `${e.row}:${e.field}`)).toEqual([
        "2:employeeId",
        "2:extension",
        "2:email",
        "3:employeeId",
        "3:name",
        "3:department",
      ]);
      expect(
        (await gw.sql(`SELECT employee_id FROM member WHERE corp_id = $1 ORDER BY employee_id`, [corp.corpPk])).map((r: Untyped) => r.employee_id),
      ).toEqual(["E1", "E4"]);
    });
  });

  describe("a stalled or trickling upload (issue 11, finding 15; import review, finding 1)", () => {
    const stalledReason =
      "The upload sent less than 16 KiB in 1 s and was abandoned; nothing was applied. Send the whole file at once, at least 16 KiB every 1 s.";

    /** Runs `work` with IMPORT_IDLE_TIMEOUT_SECONDS=1. */
    const withIdleTimeout = async (work: () => Promise<void>) => {
      const config = gw.deps.config as { importIdleTimeoutSeconds: number };
      const saved = config.importIdleTimeoutSeconds;
      config.importIdleTimeoutSeconds = 1;
      try {
        await work();
      } finally {
        config.importIdleTimeoutSeconds = saved;
      }
    };

    it("times out after IMPORT_IDLE_TIMEOUT_SECONDS: 408, the job FAILED, the corp's lock released", async () => {
      const corp = await gw.createCorp();
      await withIdleTimeout(async () => {
        const upload = rawUpload(corp.token, `${HEADER}\nS1,Stalled,Team,,,,\n`);
        // While the upload hangs, the corp's import lock is held.
        await new Promise((r) => setTimeout(r, 300));
        expect((await postCsv(gw, corp.token, `${HEADER}\nS2,Other,Team,,,,`)).status).toBe(409);
        const res = await upload.answer(6000);
        expect(res.elapsed).toBeLessThan(5000);
        expect(res.status).toBe(408);
        expect(res.body).toEqual({
          errors: [{ message: stalledReason, extensions: { code: "BAD_USER_INPUT", field: "body" } }],
          job: { id: expect.any(String) },
        });
        expect(await gw.sql(`SELECT status, reason FROM import_job WHERE id = $1`, [res.body.job.id])).toEqual([{ status: "FAILED", reason: stalledReason }]);
        expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
        upload.destroy();
        // The lock is free: the next import runs.
        expect(await importCsv(gw, corp.token, `${HEADER}\nS2,Other,Team,,,,`)).toMatchObject({ status: "SUCCEEDED", created: 1 });
      });
    });

    it("a trickle (one byte every 0.6 s with a 1 s timeout) is abandoned just the same: 408 within a few seconds, the lock released", async () => {
      const corp = await gw.createCorp();
      await withIdleTimeout(async () => {
        const upload = rawUpload(corp.token, `${HEADER}\n`);
        const row = "S1,Trickle,Team,,,,\n".repeat(10);
        let sent = 0;
        const trickle = setInterval(() => upload.send(row[sent++ % row.length]), 600);
        let res: Awaited<ReturnType<typeof upload.answer>>;
        try {
          res = await upload.answer(8000);
        } finally {
          clearInterval(trickle);
          upload.destroy();
        }
        expect(sent).toBeGreaterThan(0);
        expect(res.elapsed).toBeLessThan(4000);
        expect(res.status).toBe(408);
        expect(res.body.errors[0]).toEqual({ message: stalledReason, extensions: { code: "BAD_USER_INPUT", field: "body" } });
        expect(await gw.sql(`SELECT status, reason FROM import_job WHERE id = $1`, [res.body.job.id])).toEqual([{ status: "FAILED", reason: stalledReason }]);
        expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
        expect(await importCsv(gw, corp.token, `${HEADER}\nS2,Other,Team,,,,`)).toMatchObject({ status: "SUCCEEDED", created: 1 });
      });
    });

    it("an upload that keeps delivering (20 KiB every 0.3 s for longer than the timeout) and a large file at once are unaffected", async () => {
      const corp = await gw.createCorp();
      await withIdleTimeout(async () => {
        const rows = Array.from({ length: 4000 }, (_, i) => `F${String(i).padStart(5, "0")},Member Number ${i},Team/Sub,,,,\n`).join("");
        const slices: string[] = [];
        for (let i = 0; i < rows.length; i += 20 * 1024) slices.push(rows.slice(i, i + 20 * 1024));
        expect(slices.length).toBeGreaterThanOrEqual(6);
        const upload = rawUpload(corp.token, `${HEADER}\n`);
        for (const slice of slices) {
          await new Promise((r) => setTimeout(r, 300));
          upload.send(slice);
        }
        upload.send("");
        const res = await upload.answer(10000);
        upload.destroy();
        expect(res.elapsed).toBeGreaterThan(1500);
        expect(res.status).toBe(202);
        expect(await waitForJob(gw, corp.token, res.body.job.id)).toMatchObject({ status: "SUCCEEDED", created: 4000, failed: 0 });
        const big = Array.from({ length: 6000 }, (_, i) => `G${i},Member Number ${i},Team/Sub,,,,`).join("\n");
        expect(await importCsv(gw, corp.token, `${HEADER}\n${big}`)).toMatchObject({ status: "SUCCEEDED", created: 6000, failed: 0 });
      });
    });
  });

  describe("bytes that are not UTF-8 (import review, finding 2)", () => {
    const notUtf8 = (where: string) =>
      `The file is not valid UTF-8: ${where}: bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252?); save the file as UTF-8. Nothing was applied.`;
    const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
    /** Sends `body` in chunks of `size` bytes, a few milliseconds apart (so they arrive as separate chunks). */
    const uploadInChunks = async (token: string, body: Buffer, size: number) => {
      const upload = rawUpload(token, body.subarray(0, size));
      for (let i = size; i < body.length; i += size) {
        await new Promise((r) => setTimeout(r, 3));
        upload.send(body.subarray(i, i + size));
      }
      upload.send("");
      try {
        return await upload.answer(10000);
      } finally {
        upload.destroy();
      }
    };

    it("a file with the byte 0xFF in a name: 400 naming the row and column, the job FAILED, nothing applied", async () => {
      const corp = await gw.createCorp();
      const res = await postCsv(gw, corp.token, new Blob([bytes(`${HEADER}\nE1,Ada,Team,,,,\nE2,Bo`, [0xff], "b,Team,,,,\nE3,Cy,Team,,,,\n")]).stream());
      const message = notUtf8("row 2, column 2 (name)");
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errors: [{ message, extensions: { code: "BAD_USER_INPUT", field: "body" } }], job: { id: expect.any(String) } });
      const job = (await gw.data(corp.token, IMPORT_JOB, { id: res.body.job.id })).importJob;
      expect(job).toMatchObject({ status: "FAILED", reason: message, failed: 1, created: 0 });
      expect(job.errors.nodes).toEqual([{ row: 2, field: "name", code: "BAD_USER_INPUT", message }]);
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
      expect(await gw.sql(`SELECT name FROM department WHERE corp_id = $1 AND depth > 0`, [corp.corpPk])).toEqual([]);
      // A U+FFFD the file really holds (well-formed UTF-8) is a character like any other.
      expect(await importCsv(gw, corp.token, `${HEADER}\nE1,Bo\uFFFDb,Team,,,,\n`)).toMatchObject({ status: "SUCCEEDED", created: 1 });
      expect((await members(corp)).map((m: Untyped) => m.name)).toEqual(["Bo\uFFFDb"]);
    });

    it("refuses every kind of ill-formed UTF-8: overlong, encoded surrogates, beyond U+10FFFF, stray continuation bytes, a sequence cut off by the end of the file, in the header", async () => {
      const corp = await gw.createCorp();
      const refused = async (body: Buffer) => {
        const res = await postCsv(gw, corp.token, new Blob([body]).stream());
        expect(res.status).toBe(400);
        return res.body.errors[0].message;
      };
      for (const bad of [
        [0xc0, 0xaf],
        [0xe0, 0x80, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf5, 0x80, 0x80, 0x80],
        [0x80],
        [0xe4, 0xb8, 0x41],
      ]) {
        expect(await refused(bytes(`${HEADER}\nE1,Ada,Team,,,,\nE2,Bo`, bad, "b,Team,,,,\n"))).toBe(notUtf8("row 2, column 2 (name)"));
      }
      // Cut off by the end of the file (the last row has no line break).
      expect(await refused(bytes(`${HEADER}\nE1,Ada,Team,,,,\nE2,Bob,Team,Eng`, [0xe4, 0xb8]))).toBe(notUtf8("row 2, column 4 (title)"));
      // Latin-1 in the header; a UTF-16 file (its BOM is not UTF-8).
      expect(await refused(bytes("employeeId,name,department,t", [0xee], "tre\nE1,Ada,Team,x\n"))).toBe(
        "The file is not valid UTF-8: the header: bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252?); save the file as UTF-8. Nothing was applied.",
      );
      expect(await refused(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\nE1,Ada,Team,,,,\n`, "utf16le")]))).toMatch(
        /^The file is not valid UTF-8: the header/,
      );
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
    });

    it("a valid multi-byte file split across chunk boundaries imports; an invalid byte after split characters is found on its row", async () => {
      const corp = await gw.createCorp();
      const rows = ["E1,张三,研发/测试,工程师,,,", "E2,Zoë Ünal 🎉,Straße,,,,", "E3,Ελένη,研发,,,,", "E4,𝔊𝔯𝔞𝔭𝔥,Straße,🚀,,,"];
      const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${HEADER}\r\n${rows.join("\r\n")}\r\n`)]);
      // Chunks of 5 bytes: the BOM and many characters are cut in two.
      const cut = Array.from({ length: Math.floor(body.length / 5) }, (_, i) => body[(i + 1) * 5]).filter((b) => b !== undefined && (b & 0xc0) === 0x80);
      expect(cut.length).toBeGreaterThan(5);
      const res = await uploadInChunks(corp.token, body, 5);
      expect(res.status).toBe(202);
      expect(await waitForJob(gw, corp.token, res.body.job.id)).toMatchObject({ status: "SUCCEEDED", created: 4, failed: 0 });
      expect((await members(corp)).map((m: Untyped) => [m.employee_id, m.name, m.title, m.departments])).toEqual([
        ["E1", "张三", "工程师", ["测试"]],
        ["E2", "Zoë Ünal 🎉", null, ["Straße"]],
        ["E3", "Ελένη", null, ["研发"]],
        ["E4", "𝔊𝔯𝔞𝔭𝔥", "🚀", ["Straße"]],
      ]);
      // The same rows with an invalid byte in row 4, in chunks of 4 and 7 bytes.
      const bad = Buffer.concat([body.subarray(0, body.length - 8), Buffer.from([0xff]), body.subarray(body.length - 8)]);
      for (const size of [4, 7]) {
        const refused = await uploadInChunks(corp.token, bad, size);
        expect(refused.status).toBe(400);
        expect(refused.body.errors[0].message).toBe(notUtf8("row 4, column 4 (title)"));
      }
    });

    it("importMembers: inline csv holding a lone surrogate is BAD_USER_INPUT on input.csv naming the row; rows holding one are row errors", async () => {
      const corp = await gw.createCorp();
      const res = await gw.gql(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: `${HEADER}\nE1,Ada 🎉,Team,,,,\nE2,Bo\udcffb,Team,,,,\n` } });
      expect(res.body.errors![0]).toMatchObject({ message: notUtf8("row 2, column 2 (name)"), extensions: { code: "BAD_USER_INPUT", field: "input.csv" } });
      expect(await gw.sql(`SELECT status, failed FROM import_job WHERE corp_id = $1`, [corp.corpPk])).toEqual([{ status: "FAILED", failed: 1 }]);
      expect(await gw.sql(`SELECT * FROM member WHERE corp_id = $1`, [corp.corpPk])).toEqual([]);
      // Well-formed text (a surrogate pair is one character) imports.
      const ok = await gw.data(corp.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", csv: `${HEADER}\nE1,Ada 🎉,Team,,,,\n` } });
      expect(await waitForJob(gw, corp.token, ok.importMembers.job.id)).toMatchObject({ status: "SUCCEEDED", created: 1 });
      const rows = await gw.data(corp.token, IMPORT_MEMBERS, {
        input: {
          mode: "UPSERT",
          rows: [
            { employeeId: "E2", name: "Bo\ud800b", department: "Team" },
            { employeeId: "E3", name: "Cy 🚀", department: "Team" },
          ],
        },
      });
      const job = await waitForJob(gw, corp.token, rows.importMembers.job.id);
      expect(job).toMatchObject({ status: "SUCCEEDED", created: 1, failed: 1 });
      expect(job.errors.nodes).toEqual([{ row: 1, field: "name", code: "BAD_USER_INPUT", message: "name is not valid Unicode: it holds a lone surrogate" }]);
      expect((await members(corp)).map((m: Untyped) => m.name)).toEqual(["Ada 🎉", "Cy 🚀"]);
    });
  });

  describe("a restricted app cannot tell invisible from missing (issue 11, finding 7)", () => {
    it("dry runs and createMember answer alike for invisible and missing departments and for taken values", async () => {
      const corp = await gw.createCorp();
      await importCsv(
        gw,
        corp.token,
        [
          HEADER,
          "V1,Visible,A-Sales/A-SalesEast,,,+8613800000001,v1@example.com",
          "H1,Hidden,B-Eng,,,+8613800000002,h1@example.com",
          "H2,Above,A-Sales,,,,",
        ].join("\n"),
      );
      const east = (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = 'A-SalesEast'`, [corp.corpPk]))[0].id;
      const app = await gw.createApp(corp.corpPk, ["directory:read", "directory:write"], [east]);
      expect(
        (
          await gw.data(app.token, `query($id: ID!) { node(id: $id) { id } }`, {
            id: toGlobalId("Department", (await gw.sql(`SELECT id::text FROM department WHERE corp_id = $1 AND name = 'A-Sales'`, [corp.corpPk]))[0].id),
          })
        ).node,
      ).toBeNull();

      const dryRun = async (rows: string[]) => {
        const started = await gw.data(app.token, IMPORT_MEMBERS, { input: { mode: "UPSERT", dryRun: true, csv: [HEADER, ...rows].join("\n") } });
        return (await waitForJob(gw, app.token, started.importMembers.job.id)).errors.nodes;
      };
      const errors = await dryRun([
        "N1,New,B-Eng,,,,", // exists, invisible
        "N2,New,B-Nope,,,,", // missing
        "N3,New,A-Sales,,,,", // exists, invisible (the parent of what the app sees)
        "N4,New,A-Nope,,,,", // missing
        "N5,New,A-Sales/Sub,,,,", // missing under an invisible department
        "N6,New,A-Nope/Sub,,,,", // missing under a missing one
        "H1,New,A-Sales/A-SalesEast,,,,", // an invisible member's employee id
        "N8,New,A-Sales/A-SalesEast,,,,h1@example.com", // an invisible member's email
        "N9,New,A-Sales/A-SalesEast,,,,v1@example.com", // a visible member's email
        "N10,New,A-Sales/A-SalesEast,,,+8613800000002,", // an invisible member's mobile
        "N11,New,A-Sales/A-SalesEast,,,+8613800000001,", // a visible member's mobile
      ]);
      const byRow = new Map(errors.map((e: Untyped) => [e.row, e]));
      const same = (a: number, b: number, valueA: string, valueB: string) => {
        const [x, y] = [byRow.get(a) as Untyped, byRow.get(b) as Untyped];
        expect(x).toBeDefined();
        expect({ ...x, row: 0, message: x.message.replace(valueA, "<v>") }).toEqual({ ...y, row: 0, message: y.message.replace(valueB, "<v>") });
      };
      expect(byRow.get(1)).toEqual({
        row: 1,
        field: "department",
        code: "FORBIDDEN",
        message: 'Department "B-Eng" is outside the part of the directory you may manage.',
      });
      same(1, 2, "B-Eng", "B-Nope");
      same(3, 4, "A-Sales", "A-Nope");
      same(5, 6, "A-Sales/Sub", "A-Nope/Sub");
      same(3, 5, "A-Sales", "A-Sales/Sub");
      // Values the database keeps unique: the answer createMember gives, whoever holds them.
      const taken = { row: 7, field: "employeeId", code: "CONFLICT", message: "A member with this employee id already exists in the corp." };
      expect(byRow.get(7)).toEqual(taken);
      same(8, 9, "", "");
      same(10, 11, "", "");
      expect(byRow.get(8)).toMatchObject({ field: "email", code: "CONFLICT", message: "Another member of the corp already has this email address." });
      expect(errors).toHaveLength(11);
      expect(JSON.stringify(errors)).not.toMatch(/Hidden|H1\b|B-Eng\/|does not exist/);

      // createMember: the same answers for an invisible and a visible holder.
      const create = (input: Record<string, unknown>) =>
        gw.gql(app.token, CREATE_MEMBER, { input: { name: "New", departmentIds: [toGlobalId("Department", east)], ...input } }).then((r) => r.body.errors);
      expect(await create({ employeeId: "H1" })).toEqual(await create({ employeeId: "V1" }));
      expect((await create({ employeeId: "H1" }))![0]).toMatchObject({ message: taken.message, extensions: { code: "CONFLICT", field: "input.employeeId" } });
      expect(await create({ employeeId: "N1", email: "h1@example.com" })).toEqual(await create({ employeeId: "N1", email: "v1@example.com" }));
      expect(await create({ employeeId: "N1", mobile: "+8613800000002" })).toEqual(await create({ employeeId: "N1", mobile: "+8613800000001" }));
      expect(await gw.sql(`SELECT employee_id FROM member WHERE corp_id = $1 ORDER BY employee_id`, [corp.corpPk])).toEqual([
        { employee_id: "H1" },
        { employee_id: "H2" },
        { employee_id: "V1" },
      ]);
    });
  });
});
