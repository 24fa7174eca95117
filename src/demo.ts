import type { AppDeps } from "./context";
import { RequestContext } from "./context";
import { ALL_SCOPES } from "./policy/scopes";
import { toGlobalId } from "./schema/global-id";

import { Edition, MemberStatus } from "./domain/enums";

const REGIONS = ["Shanghai HQ", "Beijing", "Shenzhen", "Chengdu"];
const FUNCTIONS = ["Sales", "Engineering", "Operations"];
const TEAMS: Record<string, string[]> = {
  Sales: ["Key Accounts", "SMB", "Channel"],
  Engineering: ["Platform", "Mobile", "Data"],
  Operations: ["Finance", "People", "IT"],
};
const FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo"];
const GIVEN = [
  "Wei",
  "Fang",
  "Na",
  "Min",
  "Jing",
  "Lei",
  "Jun",
  "Yang",
  "Yan",
  "Tao",
  "Ming",
  "Chao",
  "Xiu",
  "Hui",
  "Qiang",
  "Ling",
  "Ping",
  "Bo",
  "Hong",
  "Xin",
];
const TITLES: Record<string, string[]> = {
  Sales: ["Account Executive", "Sales Manager", "Solutions Consultant"],
  Engineering: ["Software Engineer", "Senior Engineer", "Engineering Manager"],
  Operations: ["Analyst", "Specialist", "Operations Manager"],
};

/**
 * `npm run cli -- demo`: a corp with a 4-level tree (root → 4 regions → 3 functions each → 3 teams
 * each: 53 departments with the root, 52 below it) and 500 members, each team with a leader, some members in two
 * departments. Loaded through the same services as the API, in one transaction, with its events.
 */
export interface DemoCorp {
  corpId: string;
  clientId: string;
  clientSecret: string;
  name: string;
  /** Counted in the database after loading: departments including the root, its levels, members, team leaders. */
  departments: number;
  levels: number;
  regions: number;
  functions: number;
  teams: number;
  members: number;
  leaders: number;
}

export async function loadDemo(deps: AppDeps): Promise<DemoCorp> {
  const name = `Acme Demo ${new Date().toISOString().slice(0, 19).replace("T", " ")}`;
  const corp = await deps.services.corps.create({ name, edition: Edition.PROFESSIONAL });
  const ctx = new RequestContext(
    deps,
    {
      corpId: corp.corpPk,
      appId: corp.appPk,
      clientId: corp.clientId,
      scopes: new Set(ALL_SCOPES),
      visibleRoots: null,
      member: null,
      edition: Edition.PROFESSIONAL,
      appRateLimit: null,
    },
    "demo",
  );
  const { departments, members } = deps.services;
  await ctx.transaction(async () => {
    const teams: { pk: string; fn: string }[] = [];
    for (const [r, region] of REGIONS.entries()) {
      const regionDept = await departments.create(ctx, { name: region, order: r });
      for (const [f, fn] of FUNCTIONS.entries()) {
        const fnDept = await departments.create(ctx, { name: fn, parentPk: regionDept.pk, order: f });
        for (const [t, team] of TEAMS[fn].entries()) {
          const teamDept = await departments.create(ctx, { name: team, parentPk: fnDept.pk, order: t });
          teams.push({ pk: teamDept.pk, fn });
        }
      }
    }
    const leaders = new Map<string, string>();
    for (let i = 0; i < 500; i++) {
      const team = teams[i % teams.length];
      const second = i % 10 === 9 ? teams[(i * 7 + 3) % teams.length] : undefined;
      const name = `${FAMILY[i % FAMILY.length]} ${GIVEN[(i * 7) % GIVEN.length]}`;
      const employeeId = `E${String(i + 1).padStart(4, "0")}`;
      const member = await members.create(ctx, {
        employeeId,
        name,
        title: TITLES[team.fn][i % 3],
        extension: String(8000 + i),
        mobile: `+86138${String(10000000 + i * 37).slice(-8)}`,
        email: `${employeeId.toLowerCase()}@acme.example`,
        departmentPks: second && second.pk !== team.pk ? [team.pk, second.pk] : [team.pk],
        status: i % 25 === 24 ? MemberStatus.UNACTIVATED : MemberStatus.ACTIVE,
        isCorpAdmin: i === 0,
      });
      if (!leaders.has(team.pk)) leaders.set(team.pk, member.pk);
    }
    for (const [teamPk, memberPk] of leaders) await departments.update(ctx, teamPk, { leaderPks: [memberPk] });
  });
  const counts = await ctx.db.one<{ departments: number; levels: number; regions: number; functions: number; teams: number; members: number; leaders: number }>(
    `SELECT (SELECT count(*)::int FROM department WHERE corp_id = $1) AS departments,
            (SELECT count(DISTINCT depth)::int FROM department WHERE corp_id = $1) AS levels,
            (SELECT count(*)::int FROM department WHERE corp_id = $1 AND depth = 1) AS regions,
            (SELECT count(*)::int FROM department WHERE corp_id = $1 AND depth = 2) AS functions,
            (SELECT count(*)::int FROM department WHERE corp_id = $1 AND depth = 3) AS teams,
            (SELECT count(*)::int FROM member WHERE corp_id = $1) AS members,
            (SELECT count(*)::int FROM department_leader WHERE corp_id = $1) AS leaders`,
  );
  return { corpId: toGlobalId("Corp", corp.corpPk), clientId: corp.clientId, clientSecret: corp.clientSecret, name, ...counts! };
}
