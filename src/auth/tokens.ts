import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Pool } from "pg";
import type { Config } from "../config";
import { CorpDb } from "../db/scoped-db";
import { unauthenticated } from "../errors/domain-error";
import { log } from "../log";
import { parseGlobalId, toGlobalId } from "../schema/global-id";
import type { Principal } from "./principal";
import { isScope, type Scope } from "./scopes";
import { decryptAtRest, encryptAtRest, verifySecret } from "./secrets";

/** Claims of a Workgraph access token (RFC 9068 style). */
export interface AccessClaims {
  iss: string;
  aud: string;
  /** The app's client id; for a member acting through an app (SSO), the member's global id. */
  sub: string;
  /** The app (client id) the token was issued to. */
  azp: string;
  /** The corp's global id. */
  corp: string;
  /** Space-separated scopes. */
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  /** The member's global id when a member acts through the app. */
  member?: string;
}

/** OAuth 2.0 error of the token endpoint (RFC 6749 §5.2). */
export class OAuthError extends Error {
  constructor(
    readonly error: "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope",
    readonly description: string,
    readonly status = error === "invalid_client" ? 401 : 400,
  ) {
    super(description);
  }
}

interface AppGrant {
  pk: string;
  corpId: string;
  clientId: string;
  scopes: Scope[];
  visibleRoots: string[] | null;
  enabled: boolean;
}

const APP_CACHE_MS = 5000;

/**
 * Issues and verifies access tokens (RS256 JWTs with a `kid`), and turns a verified token into a
 * `Principal`. The key pair is generated on first start and kept in `signing_key`, the private key
 * encrypted with WORKGRAPH_SECRET_KEY when set. Verification pins RS256 and checks iss, aud, exp.
 */
export class TokenService {
  private publicKeys = new Map<string, KeyObject>();
  private signing: { kid: string; key: KeyObject } | undefined;
  private appCache = new Map<string, { until: number; grant: AppGrant }>();

  constructor(
    private readonly pool: Pool,
    private readonly config: Config,
  ) {}

  /** Loads the signing key, generating one on the very first start (one instance wins the race). */
  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('signing-key', 0))");
      let rows = (await client.query("SELECT kid, public_key, private_key, encrypted FROM signing_key ORDER BY created_at DESC")).rows;
      if (rows.length === 0) {
        const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const kid = randomBytes(12).toString("base64url");
        const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
        const secret = this.config.secretKey;
        if (!secret) log.warn("WORKGRAPH_SECRET_KEY is unset: the token signing key is stored unencrypted");
        await client.query("INSERT INTO signing_key (kid, public_key, private_key, encrypted) VALUES ($1, $2, $3, $4)", [
          kid,
          publicKey.export({ type: "spki", format: "pem" }).toString(),
          secret ? encryptAtRest(pem, secret) : pem,
          Boolean(secret),
        ]);
        rows = (await client.query("SELECT kid, public_key, private_key, encrypted FROM signing_key ORDER BY created_at DESC")).rows;
      }
      await client.query("COMMIT");
      for (const row of rows) this.publicKeys.set(row.kid, createPublicKey(row.public_key));
      const newest = rows[0];
      if (newest.encrypted && !this.config.secretKey) {
        throw new Error("the token signing key is encrypted: set WORKGRAPH_SECRET_KEY to the value it was created with");
      }
      let pem: string;
      try {
        pem = newest.encrypted ? decryptAtRest(newest.private_key, this.config.secretKey!) : newest.private_key;
      } catch {
        throw new Error("WORKGRAPH_SECRET_KEY does not decrypt the token signing key");
      }
      this.signing = { kid: newest.kid, key: createPrivateKey(pem) };
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Public keys as a JSON Web Key Set (served at /.well-known/jwks.json). */
  jwks(): { keys: object[] } {
    return {
      keys: [...this.publicKeys].map(([kid, key]) => ({ ...key.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" })),
    };
  }

  /** Signs an access token for an app (and, with SSO, a member acting through it). */
  issue(grant: { clientId: string; corpId: string; scopes: readonly string[]; memberId?: string }): { token: string; expiresIn: number } {
    if (!this.signing) throw new Error("TokenService.init() was not called");
    const expiresIn = this.config.tokenTtlSeconds;
    const payload: Partial<AccessClaims> = {
      azp: grant.clientId,
      corp: toGlobalId("Corp", grant.corpId),
      scope: grant.scopes.join(" "),
    };
    if (grant.memberId) payload.member = toGlobalId("Member", grant.memberId);
    const token = jwt.sign(payload, this.signing.key, {
      algorithm: "RS256",
      keyid: this.signing.kid,
      issuer: this.config.publicUrl,
      audience: this.config.tokenAudience,
      subject: payload.member ?? grant.clientId,
      expiresIn,
      jwtid: randomUUID(),
    });
    return { token, expiresIn };
  }

  /** The client-credentials grant: checks the app's secret and narrows scopes to `requested`. */
  async clientCredentials(clientId: string, secret: string, requested: string | undefined) {
    // Unscoped by design: the client id is what tells us the corp.
    const row = (
      await this.pool.query("SELECT id, corp_id, secret_hash, scopes, enabled FROM app WHERE client_id = $1", [clientId])
    ).rows[0];
    if (!row || !row.enabled || !verifySecret(secret, row.secret_hash)) {
      throw new OAuthError("invalid_client", "Unknown client, wrong secret, or the app is disabled.");
    }
    let scopes: string[] = row.scopes;
    if (requested !== undefined && requested.trim() !== "") {
      const asked = requested.trim().split(/\s+/);
      const refused = asked.filter((s) => !scopes.includes(s));
      if (refused.length) throw new OAuthError("invalid_scope", `The app is not granted: ${refused.join(" ")}`);
      scopes = asked;
    }
    const { token, expiresIn } = this.issue({ clientId, corpId: row.corp_id, scopes });
    return { access_token: token, token_type: "Bearer", expires_in: expiresIn, scope: scopes.join(" ") };
  }

  /** Verifies signature (RS256 only), issuer, audience and expiry. */
  verify(token: string): AccessClaims {
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded && typeof decoded === "object" ? decoded.header.kid : undefined;
    const key = kid ? this.publicKeys.get(kid) : undefined;
    if (!key) throw unauthenticated("The access token is malformed or was not issued by this server.");
    let claims: AccessClaims;
    try {
      claims = jwt.verify(token, key, {
        algorithms: ["RS256"],
        issuer: this.config.publicUrl,
        audience: this.config.tokenAudience,
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

  /** Verifies a bearer token and resolves who it speaks for, with current scopes and visibility. */
  async authenticate(token: string): Promise<Principal> {
    const claims = this.verify(token);
    const corp = parseGlobalId(claims.corp);
    if (!corp || corp.type !== "Corp") throw unauthenticated("The access token is invalid.");
    const app = await this.appGrant(corp.pk, claims.azp);
    if (!app || !app.enabled) throw unauthenticated("The app of this token is disabled or no longer exists.");
    const granted = new Set(app.scopes);
    const scopes = new Set(claims.scope.split(" ").filter((s): s is Scope => isScope(s) && granted.has(s)));
    const principal: Principal = {
      corpId: app.corpId,
      appId: app.pk,
      clientId: app.clientId,
      scopes,
      visibleRoots: app.visibleRoots,
      member: null,
    };
    if (claims.member) {
      const member = parseGlobalId(claims.member);
      if (!member || member.type !== "Member") throw unauthenticated("The access token is invalid.");
      const db = new CorpDb(app.corpId, this.pool);
      const row = await db.one<{ is_corp_admin: boolean; status: string; led: string[] }>(
        `SELECT m.is_corp_admin, m.status,
                COALESCE(array_agg(d.path) FILTER (WHERE d.id IS NOT NULL), '{}') AS led
           FROM member m
           LEFT JOIN department_leader l ON l.member_id = m.id AND l.corp_id = $1
           LEFT JOIN department d ON d.id = l.department_id
          WHERE m.corp_id = $1 AND m.id = $2
          GROUP BY m.id`,
        [member.pk],
      );
      if (!row || row.status !== "ACTIVE") throw unauthenticated("The member of this token is not active.");
      principal.member = { id: member.pk, isCorpAdmin: row.is_corp_admin, ledRoots: row.led };
    }
    return principal;
  }

  /** The app behind a token, cached for a few seconds (scope or visibility changes apply within that). */
  private async appGrant(corpId: string, clientId: string): Promise<AppGrant | undefined> {
    const cached = this.appCache.get(clientId);
    if (cached && cached.until > Date.now() && cached.grant.corpId === corpId) return cached.grant;
    const db = new CorpDb(corpId, this.pool);
    const row = await db.one<{ id: string; scopes: string[]; enabled: boolean; roots: string[] | null }>(
      `SELECT a.id, a.scopes, a.enabled,
              CASE WHEN a.visible_department_ids IS NULL THEN NULL
                   ELSE COALESCE((SELECT array_agg(d.path) FROM department d
                                   WHERE d.corp_id = $1 AND d.id = ANY(a.visible_department_ids)), '{}') END AS roots
         FROM app a WHERE a.corp_id = $1 AND a.client_id = $2`,
      [clientId],
    );
    if (!row) return undefined;
    const grant: AppGrant = {
      pk: row.id,
      corpId,
      clientId,
      scopes: row.scopes.filter(isScope),
      visibleRoots: row.roots,
      enabled: row.enabled,
    };
    this.appCache.set(clientId, { until: Date.now() + APP_CACHE_MS, grant });
    return grant;
  }

  /** Forgets cached app grants (after an app changes). */
  invalidate(clientId?: string): void {
    if (clientId) this.appCache.delete(clientId);
    else this.appCache.clear();
  }
}
