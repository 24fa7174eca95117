import type { Pool } from "pg";
import { CorpDb } from "../db/scoped-db";
import { CrossCorpDb } from "../db/cross-corp";
import { isScope, type Scope } from "../policy/scopes";
import { hashSecret, newClientId, newSecret } from "../auth/secrets";
import { badInput, notFound } from "../errors/domain-error";
import { validRedirectUris } from "./app-input";

export interface AppCredentials {
  appPk: string;
  corpPk: string;
  clientId: string;
  clientSecret: string;
}

/**
 * Apps as the bootstrap CLI and corp creation make them: a corp's apps, the clients that get tokens,
 * and vendor apps (global). Corp administrators manage apps through the GraphQL apps API
 * (`AppApiService`). The secret is returned once and stored hashed.
 */
export class AppService {
  constructor(private readonly pool: Pool) {}

  /** Creates an app with `scopes` over the subtrees of `departmentPks` (`null`: the whole corp). */
  async create(input: { corpPk: string; name: string; scopes: string[]; departmentPks: string[] | null }): Promise<AppCredentials> {
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length) throw badInput("scopes", `Unknown scopes: ${unknown.join(", ")}.`);
    const db = new CorpDb(input.corpPk, this.pool);
    if (!(await db.one(`SELECT 1 FROM corp WHERE id = $1`))) throw notFound("Corp", "corp");
    if (input.departmentPks) {
      const found = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM department WHERE corp_id = $1 AND id = ANY($2::bigint[])`, [
        input.departmentPks,
      ]);
      if (found?.n !== new Set(input.departmentPks).size) throw notFound("A department of the corp", "departments");
    }
    return this.insert(db, { ...input, scopes: input.scopes as Scope[] });
  }

  /**
   * Registers a vendor app (CLI `vendor-app create`): global, not a corp's. Corps install it with
   * `installApp`; the vendor then gets tokens with client_credentials plus `corp_id`.
   */
  async createVendorApp(input: { name: string; scopes: string[]; redirectUris?: string[] }): Promise<{ clientId: string; clientSecret: string }> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100) throw badInput("name", "The name must be 1–100 characters.");
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length || input.scopes.length === 0) throw badInput("scopes", `Give known scopes${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}.`);
    const redirectUris = validRedirectUris(input.redirectUris ?? [], "redirectUris");
    const clientId = newClientId();
    const clientSecret = newSecret();
    // Vendor apps are global, not a corp's.
    await new CrossCorpDb(this.pool).exec(`INSERT INTO vendor_app (name, client_id, secret_hash, scopes, redirect_uris) VALUES ($1, $2, $3, $4, $5)`, [
      name,
      clientId,
      hashSecret(clientSecret),
      [...new Set(input.scopes)],
      redirectUris,
    ]);
    return { clientId, clientSecret };
  }

  /** Inserts the app row on `client` (joins the caller's transaction). */
  async insert(db: CorpDb, input: { name: string; scopes: readonly Scope[]; departmentPks: string[] | null }): Promise<AppCredentials> {
    const clientId = newClientId();
    const clientSecret = newSecret();
    const row = await db.one<{ id: string }>(
      `INSERT INTO app (corp_id, name, client_id, secret_hash, scopes, visible_department_ids) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [input.name, clientId, hashSecret(clientSecret), input.scopes, input.departmentPks],
    );
    return { appPk: row!.id, corpPk: db.corpId, clientId, clientSecret };
  }
}
