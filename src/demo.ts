import type { AppDeps } from "./context";
import { RequestContext } from "./context";
import { ALL_SCOPES } from "./auth/scopes";
import { runInTransaction } from "./db/transaction";
import { Edition, MemberStatus } from "./schema/enums";

const REGIONS = ["Shanghai HQ", "Beijing", "Shenzhen", "Chengdu"];
const FUNCTIONS = ["Sales", "Engineering", "Operations"];
const TEAMS: Record<string, string[]> = {
  Sales: ["Key Accounts", "SMB", "Channel"],
  Engineering: ["Platform", "Mobile", "Data"],
  Operations: ["Finance", "People", "IT"],
};
const FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo"];
const GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yang", "Yan", "Tao", "Ming", "Chao", "Xiu", "Hui", "Qiang", "Ling", "Ping", "Bo", "Hong", "Xin"];
const TITLES: Record<string, string[]> = {
  Sales: ["Account Executive", "Sales Manager", "Solutions Consultant"],
  Engineering: ["Software Engineer", "Senior Engineer", "Engineering Manager"],
  Operations: ["Analyst", "Specialist", "Operations Manager"],
};

/**
 * `npm run cli -- demo`: a corp with a 4-level tree (root → 4 regions → 3 functions → 3 teams:
 * 52 departments below the root) and 500 members, each team with a leader, some members in two
 * departments. Loaded through the same services as the API, in one transaction, with its events.
 */
export async function loadDemo(deps: AppDeps): Promise<{ corpId: string; clientId: string; clientSecret: string }> {
  const corp = await deps.services.corps.create({ name: `Acme Demo ${new Date().toISOString().slice(0, 16).replace("T", " ")}`, edition: Edition.PROFESSIONAL });
  const ctx = new RequestContext(
    deps,
    { corpId: corp.corpPk, appId: corp.appPk, clientId: corp.clientId, scopes: new Set(ALL_SCOPES), visibleRoots: null, member: null },
    "demo",
  );
  const { departments, members } = deps.services;
  await runInTransaction(ctx, async () => {
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
  return { corpId: corp.corpId, clientId: corp.clientId, clientSecret: corp.clientSecret };
}
