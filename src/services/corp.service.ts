import type { Pool } from "pg";
import type { RequestContext } from "../context";
import { transaction } from "../db/transaction";
import { Corp } from "../entities/corp.entity";
import { selectList } from "../db/scoped-db";
import { badInput, notFound } from "../errors/domain-error";
import { Edition } from "../domain/enums";
import { ALL_SCOPES } from "../policy/scopes";
import { CrossCorpDb } from "../db/cross-corp";
import type { DataSource } from "typeorm";
import type { AppService, AppCredentials } from "./app.service";

export interface CreatedCorp extends AppCredentials {
  rootDepartmentPk: string;
}

/** Corps (tenants). Creating one also creates its root department and an administrator app. */
export class CorpService {
  constructor(
    private readonly pool: Pool,
    private readonly dataSource: DataSource,
    private readonly apps: AppService,
  ) {
    this.crossCorp = new CrossCorpDb(pool);
  }

  /** Corps by name cross corps by definition (the CLI's duplicate check). */
  private readonly crossCorp: CrossCorpDb;

  /** The caller's corp. */
  async current(ctx: RequestContext): Promise<Corp> {
    const [corp] = await ctx.db.entities(Corp, `SELECT ${selectList(this.dataSource, Corp, "c")} FROM corp c WHERE c.id = $1`);
    if (!corp) throw notFound("Corp");
    return corp;
  }

  /** Corps whose name is `name` (case and surrounding blanks ignored), oldest first: the CLI's duplicate check. */
  async findByName(name: string): Promise<{ corpPk: string; name: string; edition: Edition }[]> {
    const rows = await this.crossCorp.rows<{ id: string; name: string; edition: Edition }>(
      `SELECT id::text, name, edition FROM corp WHERE lower(name) = lower($1) ORDER BY id`,
      [name.trim()],
    );
    return rows.map((r) => ({ corpPk: r.id, name: r.name, edition: r.edition }));
  }

  /**
   * Bootstrap (CLI, tests): a corp, its root department named after it, and an app holding every
   * scope over the whole corp, in one transaction. Not reachable through the API.
   */
  async create(input: { name: string; edition: Edition }): Promise<CreatedCorp> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 64) throw badInput("name", "The corp name must be 1–64 characters.");
    if (!Object.values(Edition).includes(input.edition)) {
      throw badInput("edition", `The edition must be one of ${Object.values(Edition).join(", ")}.`);
    }
    return transaction(this.pool, null, async (tx) => {
      const corp = (await tx.crossCorp.one<{ id: string }>(`INSERT INTO corp (name, edition) VALUES ($1, $2) RETURNING id`, [name, input.edition]))!;
      const db = tx.forCorp(corp.id);
      const root = (await db.one<{ id: string }>(
        `WITH next AS (SELECT nextval(pg_get_serial_sequence('department', 'id')) AS id)
         INSERT INTO department (id, corp_id, parent_id, name, "order", depth, path)
         SELECT next.id, $1, NULL, $2, 0, 0, '/' || next.id || '/' FROM next RETURNING id`,
        [name],
      ))!;
      const credentials = await this.apps.insert(db, { name: `${name} administrator`, scopes: ALL_SCOPES, departmentPks: null });
      return { ...credentials, corpPk: corp.id, rootDepartmentPk: root.id };
    });
  }
}
