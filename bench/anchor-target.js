"use strict";
// Target C of the shared serving harness (../shared/bench, see its README "Adding a target"): how
// it starts the Workgraph gateway and asks it the canonical queries. `npm run bench:anchors`
// prepares everything this file reads: the built gateway (bench/.build), a database loaded with
// the harness's export, an access token and the map from the harness's department ids to ours,
// all in bench/.work/anchors-state.json (or WORKGRAPH_BENCH_STATE).

const fs = require("node:fs");
const path = require("node:path");

const STATE = process.env.WORKGRAPH_BENCH_STATE || path.join(__dirname, ".work", "anchors-state.json");
if (!fs.existsSync(STATE)) throw new Error(`${STATE} is missing: run \`npm run bench:anchors\` in the Workgraph project`);
const state = JSON.parse(fs.readFileSync(STATE, "utf8"));

const globalId = (type, pk) => Buffer.from(`${type}:${pk}`, "utf8").toString("base64url");
const pkOf = (id) => Buffer.from(id, "base64url").toString("utf8").split(":")[1];
// Harness department id -> our global id, and back.
const toOurs = new Map(Object.entries(state.departments).map(([bench, pk]) => [bench, globalId("Department", pk)]));
const toBench = new Map(Object.entries(state.departments).map(([bench, pk]) => [pk, Number(bench)]));
const names = (xs) => xs.slice().sort();

module.exports = {
  label: `Workgraph gateway (${state.label})`,
  start: {
    command: process.execPath,
    args: [path.join(__dirname, ".build", "src", "main.js")],
    env: state.env,
  },
  url: `http://127.0.0.1:${state.port}/graphql`,
  readyUrl: `http://127.0.0.1:${state.port}/healthz`,
  headers: { authorization: `Bearer ${state.token}` },
  queries: {
    q1: {
      operationName: "Q1",
      document: "query Q1($id: ID!) { department(id: $id) { id name members(first: 50) { nodes { employeeId name title departments { name } } } } }",
      variables: (f) => {
        const id = toOurs.get(String(f.id));
        if (!id) throw new Error(`harness department ${f.id} is not in the gateway's database`);
        return { id };
      },
      normalize: (j) => {
        const d = j.data && j.data.department;
        if (!d) return null;
        return {
          department: { id: toBench.get(pkOf(d.id)), name: d.name },
          members: d.members.nodes.map((m) => ({
            employeeId: m.employeeId,
            name: m.name,
            title: m.title,
            departments: names(m.departments.map((x) => x.name)),
          })),
        };
      },
    },
  },
};
