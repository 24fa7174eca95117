import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Pool } from "pg";
import type { Config } from "../config";
import type { CrossCorpDb } from "../db/cross-corp";
import { transaction } from "../db/transaction";
import { unauthenticated } from "../errors/domain-error";
import { log } from "../log";
import { toGlobalId } from "../schema/global-id";
import { CLOCK_TOLERANCE_SECONDS, type AccessClaims } from "./oauth-types";
import { decryptAtRest, encryptAtRest } from "./secrets";

/** How many verified tokens `verify` remembers (token text and claims, a few hundred bytes each). */
const VERIFIED_CACHE_SIZE = 10_000;

/** The advisory lock that orders key creation and rotation between instances. */
const KEY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('signing-key', 0))";

/** The grant an access token is issued for: an app, and with SSO a member acting through it. */
export interface AccessGrant {
  clientId: string;
  corpId: string;
  scopes: readonly string[];
  memberId?: string;
  appPk?: string;
  jti?: string;
}

/**
 * The token signing keys (RS256, with a `kid`) and every JWT of ours: signing access and ID tokens,
 * verifying them, the JWKS. The key pair is generated on first start and kept in `signing_key`
 * (not a corp's row: read through the cross-corp handle), the private key encrypted with
 * WORKGRAPH_SECRET_KEY when set. Verification pins RS256 and checks iss, aud, exp.
 */
export class SigningKeys {
  private publicKeys = new Map<string, KeyObject>();
  private signing: { kid: string; key: KeyObject } | undefined;
  /** Tokens whose signature, issuer and audience verified, by token text, least recently used first. */
  private verified = new Map<string, { claims: AccessClaims; kid: string }>();
  private keysLoadedAt = 0;
  private keysLoading: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly crossCorp: CrossCorpDb,
    private readonly config: Config,
  ) {}

  /** Loads the signing keys, generating one on the very first start (one instance wins the race). */
  async init(): Promise<void> {
    await transaction(this.pool, null, async (tx) => {
      await tx.crossCorp.exec(KEY_LOCK);
      const current = await tx.crossCorp.one("SELECT 1 FROM signing_key WHERE retired_at IS NULL");
      if (!current) await this.insertKey(tx.crossCorp);
    });
    await this.loadKeys();
  }

  /**
   * `keys rotate`: retires the current key and makes a new one that signs from now on. The retired
   * key stays in the JWKS (and verifies) until every token it signed has expired.
   */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const result = await transaction(this.pool, null, async (tx) => {
      await tx.crossCorp.exec(KEY_LOCK);
      const retired = await tx.crossCorp.rows<{ kid: string }>("UPDATE signing_key SET retired_at = clock_timestamp() WHERE retired_at IS NULL RETURNING kid");
      return { kid: await this.insertKey(tx.crossCorp), retired: retired.map((r) => r.kid) };
    });
    await this.loadKeys();
    return result;
  }

  private async insertKey(crossCorp: CrossCorpDb): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const kid = randomBytes(12).toString("base64url");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const secret = this.config.secretKey;
    if (!secret) log.warn("WORKGRAPH_SECRET_KEY is unset: the token signing key is stored unencrypted");
    await crossCorp.exec("INSERT INTO signing_key (kid, public_key, private_key, encrypted, created_at) VALUES ($1, $2, $3, $4, clock_timestamp())", [
      kid,
      publicKey.export({ type: "spki", format: "pem" }).toString(),
      secret ? encryptAtRest(pem, secret) : pem,
      Boolean(secret),
    ]);
    return kid;
  }

  /**
   * Reads the keys in force: the current one (signs) and retired ones still inside the lifetime of
   * the tokens they signed plus the clock tolerance (verify, and stay in the JWKS).
   */
  private async loadKeys(): Promise<void> {
    const rows = await this.crossCorp.rows<{ kid: string; public_key: string; private_key: string; encrypted: boolean; retired_at: Date | null }>(
      `SELECT kid, public_key, private_key, encrypted, retired_at FROM signing_key
        WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
        ORDER BY retired_at IS NULL DESC, created_at DESC`,
      [this.config.tokenTtlSeconds + CLOCK_TOLERANCE_SECONDS],
    );
    const newest = rows[0];
    if (!newest || newest.retired_at) throw new Error("no current token signing key: run the gateway once to create one");
    if (newest.encrypted && !this.config.secretKey) {
      throw new Error("the token signing key is encrypted: set WORKGRAPH_SECRET_KEY to the value it was created with");
    }
    let pem: string;
    try {
      pem = newest.encrypted ? decryptAtRest(newest.private_key, this.config.secretKey!) : newest.private_key;
    } catch {
      throw new Error("WORKGRAPH_SECRET_KEY does not decrypt the token signing key");
    }
    this.publicKeys = new Map(rows.map((row) => [row.kid, createPublicKey(row.public_key)]));
    if (this.signing?.kid !== newest.kid) this.signing = { kid: newest.kid, key: createPrivateKey(pem) };
    this.keysLoadedAt = Date.now();
  }

  /**
   * Re-reads the keys when they are older than `maxAgeMs` (another instance or `keys rotate` may
   * have changed them): a minute for signing, 5 s when a token names an unknown `kid`.
   */
  private async refreshKeys(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.keysLoadedAt < maxAgeMs) return;
    this.keysLoading ??= this.loadKeys()
      .catch((e: unknown) => log.warn(`could not reload signing keys: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => (this.keysLoading = undefined));
    await this.keysLoading;
  }

  /** Public keys as a JSON Web Key Set (served at /.well-known/jwks.json), retired ones included. */
  async jwks(): Promise<{ keys: object[] }> {
    await this.refreshKeys(60_000);
    return {
      keys: [...this.publicKeys].map(([kid, key]) => ({ ...key.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" })),
    };
  }

  /** Signs any JWT of ours (RS256, current key, our issuer): access and ID tokens. */
  sign(payload: object, opts: { audience: string; subject: string; expiresIn: number; jwtid?: string }): string {
    if (!this.signing) throw new Error("TokenService.init() was not called");
    void this.refreshKeys(60_000);
    const now = Math.floor(Date.now() / 1000);
    return jwt.sign({ ...payload, nbf: now }, this.signing.key, {
      algorithm: "RS256",
      keyid: this.signing.kid,
      issuer: this.config.publicUrl,
      audience: opts.audience,
      subject: opts.subject,
      expiresIn: opts.expiresIn,
      jwtid: opts.jwtid ?? randomUUID(),
    });
  }

  /** Signs an access token for an app (and, with SSO, a member acting through it). */
  issue(grant: AccessGrant): { token: string; expiresIn: number } {
    const expiresIn = this.config.tokenTtlSeconds;
    const payload: Partial<AccessClaims> = {
      azp: grant.clientId,
      corp: toGlobalId("Corp", grant.corpId),
      scope: grant.scopes.join(" "),
    };
    if (grant.memberId) payload.member = toGlobalId("Member", grant.memberId);
    if (grant.appPk) payload.app = toGlobalId("App", grant.appPk);
    const token = this.sign(payload, { audience: this.config.tokenAudience, subject: payload.member ?? grant.clientId, expiresIn, jwtid: grant.jti });
    return { token, expiresIn };
  }

  /**
   * Verifies signature (RS256 only), issuer, audience and expiry. A token that verified is
   * remembered (an LRU of VERIFIED_CACHE_SIZE tokens) while its key is in force, so the RSA check
   * runs once per token, not once per request; expiry is still checked on every call.
   */
  async verify(token: string, opts: { ignoreExpiration?: boolean } = {}): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      this.verified.delete(token);
      const live = opts.ignoreExpiration || Math.floor(Date.now() / 1000) < cached.claims.exp + CLOCK_TOLERANCE_SECONDS;
      if (live && this.publicKeys.has(cached.kid)) {
        this.verified.set(token, cached); // most recently used last
        return cached.claims;
      }
    }
    const claims = await this.verifySignature(token, opts);
    if (!opts.ignoreExpiration) {
      this.verified.set(token, { claims, kid: (jwt.decode(token, { complete: true }) as jwt.Jwt).header.kid! });
      if (this.verified.size > VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    }
    return claims;
  }

  private async verifySignature(token: string, opts: { ignoreExpiration?: boolean }): Promise<AccessClaims> {
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded && typeof decoded === "object" ? decoded.header.kid : undefined;
    if (kid && !this.publicKeys.has(kid)) await this.refreshKeys(5000);
    const key = kid ? this.publicKeys.get(kid) : undefined;
    if (!key) throw unauthenticated("The access token is malformed or was not issued by this server.");
    let claims: AccessClaims;
    try {
      claims = jwt.verify(token, key, {
        algorithms: ["RS256"],
        issuer: this.config.publicUrl,
        audience: this.config.tokenAudience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        ignoreExpiration: opts.ignoreExpiration,
      }) as AccessClaims;
    } catch (e) {
      const expired = e instanceof jwt.TokenExpiredError;
      throw unauthenticated(expired ? "The access token has expired: request a new one." : "The access token is invalid.");
    }
    if (typeof claims.exp !== "number" || typeof claims.corp !== "string" || typeof claims.azp !== "string" || typeof claims.scope !== "string") {
      throw unauthenticated("The access token is invalid.");
    }
    return claims;
  }
}
