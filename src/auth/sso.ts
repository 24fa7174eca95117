import type { Pool } from "pg";
import type { Config } from "../config";
import { CrossCorpDb } from "../db/cross-corp";
import type { EventLog } from "../events/log";
import { MemberCredentialService } from "../services/member-credential.service";
import { Activation } from "./activation";
import { Authorization } from "./authorization";
import { ClientLookup } from "./client-lookup";
import { MemberGrants } from "./member-grants";
import { SignIn } from "./sign-in";
import { TokenRevocation } from "./token-revocation";
import type { TokenService } from "./tokens";

/**
 * The OpenID Connect provider's rules (issue 5), composed of one part per flow: `authorization`
 * (validating requests, redirects, page names), `signIn` (member sign-in with lock and password
 * rotation, issuing codes), `grants` (code exchange, refresh-token rotation, userinfo),
 * `revocation` (revoke and introspect) and `activation` (activation links). Protocol plumbing
 * (HTTP, HTML) is in `oidc.ts`. Rows are reached through `CorpDb` once the corp is known; look-ups
 * by a secret's hash before that go through the labelled `CrossCorpDb`.
 */
export class SsoService {
  readonly authorization: Authorization;
  readonly signIn: SignIn;
  readonly grants: MemberGrants;
  readonly revocation: TokenRevocation;
  readonly activation: Activation;

  constructor(pool: Pool, config: Config, tokens: TokenService, events: EventLog) {
    const crossCorp = new CrossCorpDb(pool);
    const credentials = new MemberCredentialService(events);
    this.authorization = new Authorization(pool, new ClientLookup(pool, crossCorp), config);
    this.signIn = new SignIn(pool, crossCorp, this.authorization, credentials);
    this.revocation = new TokenRevocation(pool, config, tokens.keys, tokens.principals);
    this.grants = new MemberGrants(pool, crossCorp, config, tokens.keys, this.revocation);
    this.activation = new Activation(pool, crossCorp, credentials);
  }
}
