import { TestGateway, expectOneError, pk, type TestApp, type TestCorp, type Untyped } from "./harness";

/**
 * Form results for the sender (issue 14, item 2): `FormContent.results` gives the member who sent a
 * form, or the app that sent it on its own, every submission (member, answers, submittedAt) paged
 * by member id with `totalCount`, and a summary per field (answers per field, counts per option,
 * smallest / largest / mean number). Anyone else reads null there, as `readReceipt`; another corp
 * sees nothing; a recalled form has no results; a page of messages with their forms' results costs
 * the same statements for 1 and for 4 forms.
 */

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }`;
const SUBMIT = `mutation($input: SubmitFormInput!) { submitForm(input: $input) { message { id } } }`;
const RECALL = `mutation($input: RecallMessageInput!) { recallMessage(input: $input) { message { id } } }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { conversation { id } } }`;
const RESULTS = `results {
  submissionCount
  submissions(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { memberId member { employeeId } submittedAt answers { fieldIndex text number choices } }
  }
  summary { fieldIndex label type answerCount min max average options { index text count } }
}`;
const MESSAGE = `query($id: ID!, $first: Int, $after: String) {
  message(id: $id) { id content { __typename ... on FormContent { title submissionCount ${RESULTS} } } }
}`;
const HISTORY = `query($c: ID!, $first: Int, $after: String, $last: Int) {
  messages(conversationId: $c, last: $last) { nodes { seq content { ... on FormContent { ${RESULTS} } } } }
}`;

const FIELDS = [
  { label: "Name", type: "TEXT", required: true },
  { label: "Guests", type: "NUMBER" },
  { label: "Meal", type: "CHOICE", options: ["Fish", "Veg"], required: true },
  { label: "Days", type: "MULTIPLE_CHOICE", options: ["Mon", "Tue", "Wed"] },
];

describe("form results", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let beta: TestCorp;
  let salesApp: TestApp;
  let sales: string;
  const m: Record<string, string> = {};
  const t: Record<string, string> = {};
  let betaMemberToken: string;
  let group: string;
  let form: string;
  let seq = 0;

  const send = async (token: string, conversationId: string, content: Record<string, unknown>) =>
    (await gw.data(token, SEND, { input: { conversationId, clientMessageId: `f-${++seq}`, ...content } })).sendMessage.message.id as string;
  const submit = (token: string, messageId: string, answers: unknown[]) => gw.data(token, SUBMIT, { input: { messageId, answers } });
  const read = async (token: string, id: string, first?: number, after?: string) => (await gw.data(token, MESSAGE, { id, first, after })).message;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Acme");
    sales = await gw.createDepartment(corp.token, { name: "Sales" });
    for (const name of ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]) {
      m[name] = await gw.createMember(corp.token, { employeeId: name, name, departmentIds: [sales], status: "ACTIVE" });
      t[name] = gw.memberToken(corp.corpPk, { clientId: corp.clientId }, pk(m[name]));
    }
    salesApp = await gw.createApp(corp.corpPk, ["messages:read", "messages:send", "directory:read"], [pk(sales)]);
    beta = await gw.createCorp("Beta");
    const betaMember = await gw.createMember(beta.token, { employeeId: "alice", name: "Beta Alice", departmentIds: [beta.rootId], status: "ACTIVE" });
    betaMemberToken = gw.memberToken(beta.corpPk, { clientId: beta.clientId }, pk(betaMember));
    group = (await gw.data(t.alice, CREATE_GROUP, { input: { name: "Offsite", memberIds: [m.bob, m.carol, m.dave, m.erin] } })).createGroup.conversation.id;
    form = await send(t.alice, group, { form: { title: "Offsite", fields: FIELDS } });
    await submit(t.carol, form, [
      { fieldIndex: 0, text: "Carol" },
      { fieldIndex: 1, number: 2 },
      { fieldIndex: 2, choices: [1] },
      { fieldIndex: 3, choices: [0, 2] },
    ]);
    await submit(t.bob, form, [
      { fieldIndex: 3, choices: [2] },
      { fieldIndex: 0, text: "Bob" },
      { fieldIndex: 2, choices: [0] },
    ]);
    await submit(t.erin, form, [
      { fieldIndex: 0, text: "Erin" },
      { fieldIndex: 1, number: 5 },
      { fieldIndex: 2, choices: [1] },
    ]);
  });
  afterAll(() => gw.stop());

  it("the sending member reads every submission with its exact answers, and a summary per field", async () => {
    const message = await read(t.alice, form, 10);
    const rows = await gw.sql<{ member_id: string; submitted_at: Date }>(
      `SELECT member_id::text, submitted_at FROM message_form_submission WHERE message_id = $1 ORDER BY member_id`,
      [pk(form)],
    );
    const at = (name: string) => rows.find((r) => r.member_id === pk(m[name]))!.submitted_at.toISOString();
    expect(message.content.results).toEqual({
      submissionCount: 3,
      submissions: {
        totalCount: 3,
        pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
        // By member id: bob, carol, erin were created in that order.
        nodes: [
          {
            memberId: m.bob,
            member: { employeeId: "bob" },
            submittedAt: at("bob"),
            answers: [
              { fieldIndex: 0, text: "Bob", number: null, choices: null },
              { fieldIndex: 2, text: null, number: null, choices: [0] },
              { fieldIndex: 3, text: null, number: null, choices: [2] },
            ],
          },
          {
            memberId: m.carol,
            member: { employeeId: "carol" },
            submittedAt: at("carol"),
            answers: [
              { fieldIndex: 0, text: "Carol", number: null, choices: null },
              { fieldIndex: 1, text: null, number: 2, choices: null },
              { fieldIndex: 2, text: null, number: null, choices: [1] },
              { fieldIndex: 3, text: null, number: null, choices: [0, 2] },
            ],
          },
          {
            memberId: m.erin,
            member: { employeeId: "erin" },
            submittedAt: at("erin"),
            answers: [
              { fieldIndex: 0, text: "Erin", number: null, choices: null },
              { fieldIndex: 1, text: null, number: 5, choices: null },
              { fieldIndex: 2, text: null, number: null, choices: [1] },
            ],
          },
        ],
      },
      summary: [
        { fieldIndex: 0, label: "Name", type: "TEXT", answerCount: 3, min: null, max: null, average: null, options: [] },
        { fieldIndex: 1, label: "Guests", type: "NUMBER", answerCount: 2, min: 2, max: 5, average: 3.5, options: [] },
        {
          fieldIndex: 2,
          label: "Meal",
          type: "CHOICE",
          answerCount: 3,
          min: null,
          max: null,
          average: null,
          options: [
            { index: 0, text: "Fish", count: 1 },
            { index: 1, text: "Veg", count: 2 },
          ],
        },
        {
          fieldIndex: 3,
          label: "Days",
          type: "MULTIPLE_CHOICE",
          answerCount: 2,
          min: null,
          max: null,
          average: null,
          options: [
            { index: 0, text: "Mon", count: 1 },
            { index: 1, text: "Tue", count: 0 },
            { index: 2, text: "Wed", count: 2 },
          ],
        },
      ],
    });
  });

  it("pages the submissions by member id with totalCount, and refuses a cursor of another list", async () => {
    const first = (await read(t.alice, form, 2)).content.results.submissions;
    expect(first.nodes.map((n: Untyped) => n.member.employeeId)).toEqual(["bob", "carol"]);
    expect(first).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const second = (await read(t.alice, form, 2, first.pageInfo.endCursor)).content.results.submissions;
    expect(second.nodes.map((n: Untyped) => n.member.employeeId)).toEqual(["erin"]);
    expect(second).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });
    expectOneError(await gw.gql(t.alice, MESSAGE, { id: form, first: 2, after: "not-a-cursor" }), "BAD_USER_INPUT", "after");
    expectOneError(await gw.gql(t.alice, MESSAGE, { id: form, first: 101 }), "BAD_USER_INPUT", "first");
    // The page size is part of the document's cost, as for every connection.
    const cost = async (first: number) => (await gw.gql(t.alice, MESSAGE, { id: form, first })).cost!.requestedQueryCost as number;
    expect(await cost(50)).toBeGreaterThan(await cost(5));
  });

  it("a member of the group who did not send it (a submitter or not) reads null there, as for readReceipt", async () => {
    for (const token of [t.bob, t.dave]) {
      const message = await read(token, form, 10);
      expect(message.content).toMatchObject({ __typename: "FormContent", title: "Offsite", submissionCount: 3, results: null });
      const history = (await gw.data(token, HISTORY, { c: group, last: 5 })).messages.nodes;
      expect(history.map((n: Untyped) => n.content.results)).toEqual([null]);
    }
  });

  it("another corp sees nothing: the message is null, the history NOT_FOUND", async () => {
    for (const token of [beta.token, betaMemberToken]) {
      expect(await read(token, form, 10)).toBeNull();
      expectOneError(await gw.gql(token, HISTORY, { c: group, last: 5 }), "NOT_FOUND", "conversationId");
    }
  });

  it("an app that sent a form on its own reads its results; the group's owner does not", async () => {
    const deals = (await gw.data(salesApp.token, CREATE_GROUP, { input: { name: "Deals", ownerId: m.alice, memberIds: [m.bob, m.carol] } })).createGroup
      .conversation.id;
    const poll = await send(salesApp.token, deals, { form: { title: "Forecast", fields: [{ label: "Amount", type: "NUMBER", required: true }] } });
    await submit(t.bob, poll, [{ fieldIndex: 0, number: 1200.5 }]);
    await submit(t.alice, poll, [{ fieldIndex: 0, number: 800 }]);
    const results = (await read(salesApp.token, poll, 10)).content.results;
    expect(results.submissions.nodes.map((n: Untyped) => [n.memberId, n.answers])).toEqual([
      [m.alice, [{ fieldIndex: 0, text: null, number: 800, choices: null }]],
      [m.bob, [{ fieldIndex: 0, text: null, number: 1200.5, choices: null }]],
    ]);
    expect(results.summary).toEqual([{ fieldIndex: 0, label: "Amount", type: "NUMBER", answerCount: 2, min: 800, max: 1200.5, average: 1000.25, options: [] }]);
    expect((await read(t.alice, poll, 10)).content.results).toBeNull();
    // A member token through the same app is the member, not the app: not the sender.
    const aliceThroughApp = gw.memberToken(corp.corpPk, { clientId: salesApp.clientId }, pk(m.alice));
    expect((await read(aliceThroughApp, poll, 10)).content.results).toBeNull();
  });

  it("a recalled form has no results for anyone (its content is gone), the submissions stay stored", async () => {
    const quick = await send(t.alice, group, { form: { title: "Quick", fields: [{ label: "Ok", type: "CHOICE", options: ["Yes", "No"], required: true }] } });
    await submit(t.bob, quick, [{ fieldIndex: 0, choices: [0] }]);
    expect((await read(t.alice, quick, 10)).content.results.submissionCount).toBe(1);
    await gw.data(t.alice, RECALL, { input: { id: quick } });
    expect((await read(t.alice, quick, 10)).content).toBeNull();
    expect(await gw.sql(`SELECT count(*)::int AS n FROM message_form_submission WHERE message_id = $1`, [pk(quick)])).toEqual([{ n: 1 }]);
  });

  it("a page of messages with their forms' results costs the same statements for 1 and for 4 forms", async () => {
    const room = (await gw.data(t.alice, CREATE_GROUP, { input: { name: "Count", memberIds: [m.bob, m.carol, m.dave, m.erin, m.frank, m.gina] } })).createGroup
      .conversation.id;
    const statements = async () => {
      const res = await gw.gql(t.alice, HISTORY, { c: room, last: 4, first: 6 }, { debugSql: true });
      expect(res.body.errors).toBeUndefined();
      return res.body.extensions!.diagnostics.sqlStatements as number;
    };
    const addForm = async (n: number) => {
      const id = await send(t.alice, room, { form: { title: `Form ${n}`, fields: FIELDS } });
      for (const name of ["bob", "carol", "dave", "erin", "frank", "gina"]) {
        await submit(t[name], id, [
          { fieldIndex: 0, text: `${name} ${n}` },
          { fieldIndex: 1, number: n },
          { fieldIndex: 2, choices: [n % 2] },
        ]);
      }
    };
    await addForm(1);
    const one = await statements();
    for (const n of [2, 3, 4]) await addForm(n);
    expect(await statements()).toBe(one);
    const nodes = (await gw.data(t.alice, HISTORY, { c: room, last: 4, first: 6 })).messages.nodes;
    expect(nodes.map((n: Untyped) => n.content.results.submissions.totalCount)).toEqual([6, 6, 6, 6]);
    expect(nodes.map((n: Untyped) => n.content.results.summary[1].average)).toEqual([1, 2, 3, 4]);
  });
});
