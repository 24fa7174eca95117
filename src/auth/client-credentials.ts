import type { Pool } from "pg";
import { writeAuditNow } from "../services/audit";
import type { ClientAuthenticator } from "./client-auth";
import { OAuthError } from "./oauth-types";
import type { SigningKeys } from "./signing-keys";

/** The OAuth client-credentials grant (RFC 6749 §4.4): an app's own token. */
export class ClientCredentialsGrant {
  constructor(
    private readonly pool: Pool,
    private readonly clients: ClientAuthenticator,
    private readonly keys: SigningKeys,
  ) {}

  /** Checks the app's secret and network, narrows its scopes to `requested` and issues the token. */
  async grant(clientId: string, secret: string, requested: string | undefined, opts: { corpId?: string; ip?: string } = {}) {
    const app = await this.clients.authenticate(clientId, secret, { corpId: opts.corpId, ip: opts.ip });
    await this.clients.checkNetwork(app, opts.ip);
    let scopes: string[] = app.scopes;
    if (requested !== undefined && requested.trim() !== "") {
      const asked = requested.trim().split(/\s+/);
      const refused = asked.filter((s) => !scopes.includes(s));
      if (refused.length) throw new OAuthError("invalid_scope", `The app is not granted: ${refused.join(" ")}`);
      scopes = asked;
    }
    const { token, expiresIn } = this.keys.issue({ clientId, corpId: app.corp_id, scopes, appPk: app.id });
    const detail = { grant: "client_credentials", scope: scopes.join(" ") };
    await writeAuditNow(this.pool, app.corp_id, { action: "TOKEN_ISSUED", success: true, appPk: app.id, ip: opts.ip, detail });
    return { access_token: token, token_type: "Bearer", expires_in: expiresIn, scope: scopes.join(" ") };
  }
}
