import type { TestGateway, Untyped } from "./harness";

/** Helpers the import, export and health suites share (HTTP file endpoints and job polling). */

export const JOB_FIELDS = `id status mode dryRun maxResignRatio total processed created updated resigned failed departmentsCreated reason
  errors(first: 100) { totalCount nodes { row field code message } }`;
export const IMPORT_JOB = `query($id: ID!) { importJob(id: $id) { ${JOB_FIELDS} } }`;
export const IMPORT_MEMBERS = `mutation($input: ImportMembersInput!) { importMembers(input: $input) { job { id status mode } } }`;

export const HEADER = "employeeId,name,department,title,extension,mobile,email";

/** POST /imports with a CSV body (string or stream); returns status and JSON body. */
export async function postCsv(
  gw: TestGateway,
  token: string | null,
  body: string | ReadableStream<Uint8Array>,
  query: Record<string, string> = { mode: "UPSERT" },
  contentType = "text/csv",
): Promise<{ status: number; body: Untyped }> {
  const headers: Record<string, string> = { "content-type": contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${gw.url}/imports?${new URLSearchParams(query)}`, {
    method: "POST",
    headers,
    body,
    ...(typeof body === "string" ? {} : { duplex: "half" }),
  } as RequestInit);
  return { status: res.status, body: await res.json() };
}

/** Polls importJob until it SUCCEEDED or FAILED. */
export async function waitForJob(gw: TestGateway, token: string, id: string, ms = 20000): Promise<Untyped> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = (await gw.data(token, IMPORT_JOB, { id })).importJob;
    if (job && (job.status === "SUCCEEDED" || job.status === "FAILED")) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Imports `csv` through POST /imports and waits for the job. */
export async function importCsv(gw: TestGateway, token: string, csv: string, query: Record<string, string> = { mode: "UPSERT" }): Promise<Untyped> {
  const res = await postCsv(gw, token, csv, query);
  if (res.status !== 202) throw new Error(`POST /imports: ${res.status} ${JSON.stringify(res.body)}`);
  return waitForJob(gw, token, res.body.job.id);
}

/** The corp's members as comparable rows (employee id order), with department paths by name. */
export async function directorySnapshot(gw: TestGateway, corpPk: string): Promise<unknown[]> {
  return gw.sql(
    `SELECT m.employee_id, m.name, m.title, m.extension, m.mobile, m.email, m.status, m.updated_at,
            (SELECT d.name FROM department d WHERE d.id = m.main_department_id) AS main,
            (SELECT array_agg(d.name ORDER BY d.name) FROM member_department md JOIN department d ON d.id = md.department_id WHERE md.member_id = m.id) AS departments
       FROM member m WHERE m.corp_id = $1 ORDER BY m.employee_id`,
    [corpPk],
  );
}

export async function eventCount(gw: TestGateway, corpPk: string): Promise<number> {
  return (await gw.sql<{ n: number }>(`SELECT count(*)::int AS n FROM event WHERE corp_id = $1`, [corpPk]))[0].n;
}
