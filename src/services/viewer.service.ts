import type { RequestContext } from "../context";
import { Department } from "../entities/department.entity";
import { selectList } from "../db/scoped-db";
import { ViewerRole } from "../domain/enums";
import type { Corp } from "../entities/corp.entity";
import { App } from "../entities/app.entity";
import { Member } from "../entities/member.entity";
import { isCorpAdministrator, isLeader, seesWholeCorp } from "../policy";

/** Who the caller is and what they may do (the API shows it as `viewer`). */
export interface CallerDescription {
  corp: Corp;
  app: App;
  /** The member acting through the app; null for an app on its own. */
  member: Member | null;
  role: ViewerRole;
  scopes: string[];
  /** The tops of the caller's visibility; null when it sees the whole corp. */
  visibleDepartments: Department[] | null;
}

/** Describes the caller: the answer of `viewer`. */
export class ViewerService {
  async describe(ctx: RequestContext): Promise<CallerDescription> {
    const p = ctx.caller;
    const [app] = await ctx.db.entities(App, `SELECT ${selectList(ctx.deps.dataSource, App, "a")} FROM app a WHERE a.corp_id = $1 AND a.id = $2`, [p.appId]);
    // The caller themselves, visible or not (an app may let a member sign in without seeing their department).
    const member = p.member
      ? ((
          await ctx.db.entities(Member, `SELECT ${selectList(ctx.deps.dataSource, Member, "m")} FROM member m WHERE m.corp_id = $1 AND m.id = $2`, [
            p.member.id,
          ])
        )[0] ?? null)
      : null;
    const role = !p.member ? ViewerRole.APP : isCorpAdministrator(p) ? ViewerRole.ADMIN : isLeader(p) ? ViewerRole.LEADER : ViewerRole.MEMBER;
    const visibleDepartments = seesWholeCorp(p)
      ? null
      : await ctx.db.entities(
          Department,
          `SELECT ${selectList(ctx.deps.dataSource, Department, "d")} FROM department d
              WHERE d.corp_id = $1 AND d.path = ANY($2::text[]) ORDER BY d.depth, d."order", d.id`,
          [p.visibleRoots],
        );
    return {
      corp: await ctx.services.corps.current(ctx),
      app,
      member,
      role,
      scopes: [...p.scopes],
      visibleDepartments,
    };
  }
}
