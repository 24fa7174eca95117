import type { RequestContext } from "../context";
import { Department } from "../entities/department.entity";
import { selectList } from "../db/scoped-db";
import { ViewerRole, type Viewer } from "../schema/directory.types";
import { App } from "../entities/app.entity";

/** Describes the caller: the answer of `viewer`. */
export class ViewerService {
  async describe(ctx: RequestContext): Promise<Viewer> {
    const p = ctx.caller;
    const [app] = await ctx.db.entities(App, `SELECT ${selectList(ctx.deps.dataSource, App, "a")} FROM app a WHERE a.corp_id = $1 AND a.id = $2`, [p.appId]);
    const member = p.member ? ((await ctx.loaders.member.load(p.member.id)) ?? null) : null;
    const role = !p.member
      ? ViewerRole.APP
      : p.member.isCorpAdmin
        ? ViewerRole.ADMIN
        : p.member.ledRoots.length
          ? ViewerRole.LEADER
          : ViewerRole.MEMBER;
    const visibleDepartments =
      p.visibleRoots === null
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
