import type { Pool, PoolClient } from "pg";
import { isScope, type Scope } from "../auth/scopes";
import { hashSecret, newClientId, newSecret } from "../auth/secrets";
import { badInput, notFound } from "../errors/domain-error";
import { toGlobalId } from "../schema/global-id";

export interface AppCredentials {
  appPk: string;
  corpId: string;
  clientId: string;
  clientSecret: string;
}

/**
 * Apps of a corp: the clients that get tokens. The GraphQL apps API (issue 5) builds on this; for
 * now apps are made by the bootstrap CLI. The secret is returned once and stored hashed.
 */
export class AppService {
  constructor(private readonly pool: Pool) {}

  /** Creates an app with `scopes` over the subtrees of `departmentPks` (`null`: the whole corp). */
  async create(input: { corpPk: string; name: string; scopes: string[]; departmentPks: string[] | null }): Promise<AppCredentials> {
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length) throw badInput("scopes", `Unknown scopes: ${unknown.join(", ")}.`);
    const corp = await this.pool.query(`SELECT 1 FROM corp WHERE id = $1`, [input.corpPk]);
    if (!corp.rowCount) throw notFound("Corp", "corp");
    if (input.departmentPks) {
      const found = await this.pool.query(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1 AND id = ANY($2::bigint[])`, [
        input.corpPk,
        input.departmentPks,
      ]);
      if (found.rows[0].n !== new Set(input.departmentPks).size) throw notFound("A department of the corp", "departments");
    }
    const client = await this.pool.connect();
    try {
      return await this.insert(client, { ...input, scopes: input.scopes as Scope[] });
    } finally {
      client.release();
    }
  }

  /** Inserts the app row on `client` (joins the caller's transaction). */
  async insert(client: PoolClient, input: { corpPk: string; name: string; scopes: readonly Scope[]; departmentPks: string[] | null }): Promise<AppCredentials> {
    const clientId = newClientId();
    const clientSecret = newSecret();
    const row = await client.query<{ id: string }>(
      `INSERT INTO app (corp_id, name, client_id, secret_hash, scopes, visible_department_ids) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [input.corpPk, input.name, clientId, hashSecret(clientSecret), input.scopes, input.departmentPks],
    );
    return { appPk: row.rows[0].id, corpId: toGlobalId("Corp", input.corpPk), clientId, clientSecret };
  }
}
