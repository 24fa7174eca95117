import type { Pool } from "pg";
import type { Config } from "../config";
import { CrossCorpDb } from "../db/cross-corp";
import type { Principal } from "../policy/principal";
import { ClientAuthenticator } from "./client-auth";
import { ClientCredentialsGrant } from "./client-credentials";
import { ClientLookup } from "./client-lookup";
import type { AccessClaims } from "./oauth-types";
import { SigningKeys, type AccessGrant } from "./signing-keys";
import { TokenPrincipals } from "./token-principal";

/**
 * The token side of the gateway, composed of its parts: `keys` (signing keys, JWKS, signing and
 * verifying JWTs), `clients` (client authentication and IP ranges), `clientCredentials` (that
 * grant) and `principals` (a token → its `Principal`, with the app cache). The methods below only
 * forward to them, for the callers that need one of them (server, CLI, services, tests).
 */
export class TokenService {
  readonly keys: SigningKeys;
  readonly clients: ClientAuthenticator;
  readonly clientCredentials: ClientCredentialsGrant;
  readonly principals: TokenPrincipals;

  constructor(pool: Pool, config: Config) {
    const crossCorp = new CrossCorpDb(pool);
    this.keys = new SigningKeys(pool, crossCorp, config);
    this.clients = new ClientAuthenticator(pool, new ClientLookup(pool, crossCorp));
    this.clientCredentials = new ClientCredentialsGrant(pool, this.clients, this.keys);
    this.principals = new TokenPrincipals(pool, this.keys);
  }

  /** Loads the signing keys, generating one on the very first start. */
  init(): Promise<void> {
    return this.keys.init();
  }

  /** `keys rotate` (see `SigningKeys.rotate`). */
  rotateKeys(): Promise<{ kid: string; retired: string[] }> {
    return this.keys.rotate();
  }

  jwks(): Promise<{ keys: object[] }> {
    return this.keys.jwks();
  }

  sign(payload: object, opts: { audience: string; subject: string; expiresIn: number; jwtid?: string }): string {
    return this.keys.sign(payload, opts);
  }

  issue(grant: AccessGrant): { token: string; expiresIn: number } {
    return this.keys.issue(grant);
  }

  verify(token: string, opts: { ignoreExpiration?: boolean } = {}): Promise<AccessClaims> {
    return this.keys.verify(token, opts);
  }

  authenticate(token: string, ip?: string): Promise<Principal> {
    return this.principals.authenticate(token, ip);
  }

  /** Forgets cached app grants after an app changes (see `TokenPrincipals.invalidate`). */
  invalidate(clientId?: string, corpId?: string): void {
    this.principals.invalidate(clientId, corpId);
  }
}
