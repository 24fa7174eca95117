"use strict";
// The benchmark's deterministic directory (seeded PRNG: the same seed gives the same file):
// 1,000 departments in a tree 15 levels deep (a chain guarantees the depth, the rest hang under
// random parents above the 15th level) and 100,000 members, each in 1-3 departments (50/30/20 %),
// the first one main, written as one import-format CSV (the file `POST /imports` takes).

const fs = require("node:fs");
const { IMPORT_HEADER, ROOT, escapeName, line } = require("./csv");

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = [
  "Sales",
  "Engineering",
  "Finance",
  "HR",
  "Legal",
  "Operations",
  "Marketing",
  "Support",
  "Research",
  "Logistics",
  "Quality",
  "Data",
  "Security",
  "Procurement",
];
const CITIES = [
  "Shanghai",
  "Beijing",
  "Shenzhen",
  "Guangzhou",
  "Hangzhou",
  "Chengdu",
  "Wuhan",
  "Nanjing",
  "Tianjin",
  "Suzhou",
  "Chongqing",
  "Hong Kong",
  "Singapore",
  "Berlin",
];
const FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao"];
const GIVEN = [
  "Wei",
  "Fang",
  "Na",
  "Min",
  "Jing",
  "Li",
  "Qiang",
  "Lei",
  "Jun",
  "Yang",
  "Yong",
  "Yan",
  "Jie",
  "Tao",
  "Ming",
  "Chao",
  "Xia",
  "Ping",
  "Gang",
  "Hua",
];
const TITLES = [
  "Engineer",
  "Senior Engineer",
  "Staff Engineer",
  "Manager",
  "Director",
  "Accountant",
  "Analyst",
  "Designer",
  "Sales Representative",
  "Support Agent",
  "Recruiter",
  "Counsel",
];

/**
 * Writes the CSV to `file`. Returns { departments, members, memberships, maxDepth }.
 * Department paths: names below the root, `/`-joined (the importer's format).
 */
async function generate(file, { seed = 1, departments = 1000, members = 100000, maxDepth = 15 } = {}) {
  const rnd = mulberry32(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  // Department 0 is the root (depth 0, path "/").
  const depts = [{ depth: 0, path: ROOT }];
  const add = (parent) => {
    const id = depts.length;
    const name = `${pick(KINDS)} ${pick(CITIES)} ${String(id).padStart(4, "0")}`; // unique: the number
    const p = depts[parent];
    depts.push({ depth: p.depth + 1, path: p.path === ROOT ? escapeName(name) : `${p.path}/${escapeName(name)}` });
  };
  for (let d = 1; d <= maxDepth; d++) add(d - 1); // the chain: depth 1..15
  const shallow = () => {
    for (;;) {
      const i = Math.floor(rnd() * depts.length);
      if (depts[i].depth < maxDepth) return i;
    }
  };
  while (depts.length < departments) add(shallow());

  const out = fs.createWriteStream(file);
  const write = (s) => (out.write(s) ? null : new Promise((r) => out.once("drain", r)));
  await write(line(IMPORT_HEADER));
  let memberships = 0;
  for (let i = 1; i <= members; i++) {
    const r = rnd();
    const n = r < 0.5 ? 1 : r < 0.8 ? 2 : 3;
    const mine = new Set();
    while (mine.size < n) mine.add(1 + Math.floor(rnd() * (departments - 1))); // any but the root
    memberships += n;
    const family = pick(FAMILY);
    const given = pick(GIVEN);
    const w = write(
      line([
        `E${String(i).padStart(6, "0")}`,
        `${family} ${given}`,
        [...mine].map((d) => depts[d].path).join(";"),
        pick(TITLES),
        String(1000 + Math.floor(rnd() * 9000)),
        "",
        `${given}.${family}.${i}@corp.example`.toLowerCase(),
      ]),
    );
    if (w) await w;
  }
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  return { departments, members, memberships, maxDepth: Math.max(...depts.map((d) => d.depth)) };
}

module.exports = { generate };
