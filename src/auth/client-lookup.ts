import type { Pool } from "pg";
import type { CrossCorpDb } from "../db/cross-corp";
import { CorpDb } from "../db/scoped-db";
import { TOKEN_APP_COLUMNS, type TokenApp } from "./oauth-types";

/**
 * Finds the app behind an OAuth client id, for the token endpoints and the authorization
 * endpoint alike. A self-built app's client id names its corp, so that look-up crosses corps; a
 * vendor app's client id names the vendor app, installed (as an `app` row) in each corp that chose it.
 */
export class ClientLookup {
  constructor(
    private readonly pool: Pool,
    private readonly crossCorp: CrossCorpDb,
  ) {}

  /** A corp's own (self-built) app by its client id: across corps, the client id is what names the corp. */
  ownApp(clientId: string): Promise<TokenApp | undefined> {
    return this.crossCorp.one<TokenApp>(`SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.client_id = $1 AND a.vendor_app_id IS NULL`, [clientId]);
  }

  /** A vendor app by its client id (vendor apps belong to no corp). */
  vendorApp(clientId: string): Promise<{ id: string; secret_hash: string; redirect_uris: string[] } | undefined> {
    return this.crossCorp.one(`SELECT id, secret_hash, redirect_uris FROM vendor_app WHERE client_id = $1`, [clientId]);
  }

  /** The installation of vendor app `vendorId` in corp `corpPk`, if that corp installed it. */
  installation(corpPk: string, vendorId: string): Promise<TokenApp | undefined> {
    return new CorpDb(corpPk, this.pool).one<TokenApp>(`SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.corp_id = $1 AND a.vendor_app_id = $2`, [vendorId]);
  }
}
