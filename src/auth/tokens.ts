import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Pool } from "pg";
import type { Config } from "../config";
import { CorpDb } from "../db/scoped-db";
import { forbidden, unauthenticated } from "../errors/domain-error";
import { log } from "../log";
import { parseGlobalId, toGlobalId } from "../schema/global-id";
import type { Principal } from "../policy/principal";
import { isScope, type Scope } from "../policy/scopes";
import { decryptAtRest, encryptAtRest, verifySecret } from "./secrets";
import { writeAudit, type AuditEntry } from "./audit";
import { ipAllowed } from "./network";

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
  nbf?: number;
  /** The app's global id: a token of an uninstalled (then reinstalled) app stays refused. */
  app?: string;
}

/** Clock skew tolerated on `exp`, `nbf` and `iat` (issue 5: at most 30 s). */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** OAuth 2.0 error of the token endpoint (RFC 6749 §5.2). */
export class OAuthError extends Error {
  constructor(
    readonly error: "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope" | "unauthorized_client" | "access_denied",
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
  /** Epoch ms of the app's last disable: tokens issued at or before it are refused (0: never disabled). */
  tokensValidAfter: number;
  allowedIpRanges: string[];
  /** The corp's revoked, unexpired access-token ids (RFC 7009), as of the cache entry. */
  revokedJtis: ReadonlySet<string>;
}

/** An app row as the token endpoint needs it. */
export interface TokenApp {
  id: string;
  corp_id: string;
  client_id: string;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | null;
  scopes: string[];
  enabled: boolean;
  public_client: boolean;
  allowed_ip_ranges: string[];
  redirect_uris: string[];
  vendor_app_id: string | null;
}

/** The columns of a `TokenApp` (table alias `a`). */
export const TOKEN_APP_COLUMNS = `a.id, a.corp_id, a.client_id, a.secret_hash, a.previous_secret_hash, a.previous_secret_expires_at, a.scopes,
  a.enabled, a.public_client, a.allowed_ip_ranges::text[] AS allowed_ip_ranges, a.redirect_uris, a.vendor_app_id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const APP_CACHE_MS = 5000;
/** How many verified tokens `verify` remembers (token text and claims, a few hundred bytes each). */
const VERIFIED_CACHE_SIZE = 10_000;

/** The token of an `Authorization: Bearer <token>` value, or null when the value is not one. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1] : null;
}

/**
 * Issues and verifies access tokens (RS256 JWTs with a `kid`), and turns a verified token into a
 * `Principal`. The key pair is generated on first start and kept in `signing_key`, the private key
 * encrypted with WORKGRAPH_SECRET_KEY when set. Verification pins RS256 and checks iss, aud, exp.
 */
export class TokenService {
  private publicKeys = new Map<string, KeyObject>();
  private signing: { kid: string; key: KeyObject } | undefined;
  private appCache = new Map<string, { until: number; grant: AppGrant }>();
  /** Tokens whose signature, issuer and audience verified, by token text, least recently used first. */
  private verified = new Map<string, { claims: AccessClaims; kid: string }>();

  constructor(
    private readonly pool: Pool,
    private readonly config: Config,
  ) {}

  private keysLoadedAt = 0;
  private keysLoading: Promise<void> | undefined;

  /** Loads the signing keys, generating one on the very first start (one instance wins the race). */
  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('signing-key', 0))");
      const current = await client.query("SELECT 1 FROM signing_key WHERE retired_at IS NULL");
      if (current.rowCount === 0) await this.insertKey(client);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    await this.loadKeys();
  }

  private async insertKey(client: { query: Pool["query"] }): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const kid = randomBytes(12).toString("base64url");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const secret = this.config.secretKey;
    if (!secret) log.warn("WORKGRAPH_SECRET_KEY is unset: the token signing key is stored unencrypted");
    await client.query("INSERT INTO signing_key (kid, public_key, private_key, encrypted, created_at) VALUES ($1, $2, $3, $4, clock_timestamp())", [
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
    const rows = (
      await this.pool.query(
        `SELECT kid, public_key, private_key, encrypted, retired_at FROM signing_key
          WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
          ORDER BY retired_at IS NULL DESC, created_at DESC`,
        [this.config.tokenTtlSeconds + CLOCK_TOLERANCE_SECONDS],
      )
    ).rows;
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
    this.publicKeys = new Map(rows.map((row) => [row.kid as string, createPublicKey(row.public_key)]));
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

  /**
   * `keys rotate`: retires the current key and makes a new one that signs from now on. The retired
   * key stays in the JWKS (and verifies) until every token it signed has expired.
   */
  async rotateKeys(): Promise<{ kid: string; retired: string[] }> {
    const client = await this.pool.connect();
    let result: { kid: string; retired: string[] };
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('signing-key', 0))");
      const retired = await client.query<{ kid: string }>("UPDATE signing_key SET retired_at = clock_timestamp() WHERE retired_at IS NULL RETURNING kid");
      const kid = await this.insertKey(client);
      await client.query("COMMIT");
      result = { kid, retired: retired.rows.map((r) => r.kid) };
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    await this.loadKeys();
    return result;
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
  issue(grant: { clientId: string; corpId: string; scopes: readonly string[]; memberId?: string; appPk?: string; jti?: string }): { token: string; expiresIn: number } {
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
   * Authenticates a client at an OAuth endpoint. A self-built app by its client id; a vendor app by
   * its client id plus `corpId` (the installation in that corp). The previous secret is accepted
   * until its grace period ends. Public clients have no secret: `secret` must be absent and PKCE
   * does the job. A corp that has not installed a vendor app looks exactly like one that does not
   * exist. `ip` (the caller's address) goes into the audit row of a refusal.
   */
  async authenticateClient(
    clientId: string,
    secret: string | undefined,
    opts: { corpId?: string | (() => Promise<string | undefined>); allowPublic?: boolean; ip?: string } = {},
  ): Promise<TokenApp> {
    const refused = new OAuthError("invalid_client", "Unknown client, wrong secret, or the app is disabled.");
    // Unscoped by design: the client id is what tells us the corp (a vendor's, with corp_id).
    const own = (await this.pool.query<TokenApp>(`SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.client_id = $1 AND a.vendor_app_id IS NULL`, [clientId])).rows[0];
    if (own) {
      const secretOk = secret !== undefined ? this.secretMatches(own, secret) : Boolean(opts.allowPublic && own.public_client);
      if (!own.enabled || !secretOk) {
        await this.audit(own.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: own.id, ip: opts.ip, detail: { reason: "client authentication failed" } });
        throw refused;
      }
      return own;
    }
    const vendor = (await this.pool.query<{ id: string; secret_hash: string }>(`SELECT id, secret_hash FROM vendor_app WHERE client_id = $1`, [clientId])).rows[0];
    if (!vendor || secret === undefined || !verifySecret(secret, vendor.secret_hash)) throw refused;
    // Only a vendor's client needs the corp: worked out (e.g. from the grant) only now.
    const corpId = typeof opts.corpId === "function" ? await opts.corpId() : opts.corpId;
    if (!corpId) throw new OAuthError("invalid_request", "A vendor app must name the corp: add corp_id (the corp's global id).");
    const notInstalled = new OAuthError("invalid_grant", "The app is not installed in this corp.");
    const corp = parseGlobalId(corpId);
    if (!corp || corp.type !== "Corp") throw notInstalled;
    const installed = await new CorpDb(corp.pk, this.pool).one<TokenApp>(
      `SELECT ${TOKEN_APP_COLUMNS} FROM app a WHERE a.corp_id = $1 AND a.vendor_app_id = $2`,
      [vendor.id],
    );
    if (!installed || !installed.enabled) throw notInstalled;
    return installed;
  }

  private secretMatches(app: TokenApp, secret: string): boolean {
    if (app.secret_hash && verifySecret(secret, app.secret_hash)) return true;
    return Boolean(
      app.previous_secret_hash && app.previous_secret_expires_at && app.previous_secret_expires_at.getTime() > Date.now() && verifySecret(secret, app.previous_secret_hash),
    );
  }

  /** Refuses (403, audited) a client calling from outside its allowed IP ranges. */
  async checkNetwork(app: TokenApp, ip: string | undefined): Promise<void> {
    if (ipAllowed(ip, app.allowed_ip_ranges)) return;
    await this.audit(app.corp_id, { action: "TOKEN_REFUSED", success: false, appPk: app.id, ip, detail: { reason: "IP address outside the allowed ranges" } });
    throw new OAuthError("access_denied", "The client's IP address is outside the app's allowed IP ranges.", 403);
  }

  /** The client-credentials grant: checks the app's secret and narrows scopes to `requested`. */
  async clientCredentials(clientId: string, secret: string, requested: string | undefined, opts: { corpId?: string; ip?: string } = {}) {
    const app = await this.authenticateClient(clientId, secret, { corpId: opts.corpId, ip: opts.ip });
    await this.checkNetwork(app, opts.ip);
    let scopes: string[] = app.scopes;
    if (requested !== undefined && requested.trim() !== "") {
      const asked = requested.trim().split(/\s+/);
      const refused = asked.filter((s) => !scopes.includes(s));
      if (refused.length) throw new OAuthError("invalid_scope", `The app is not granted: ${refused.join(" ")}`);
      scopes = asked;
    }
    const { token, expiresIn } = this.issue({ clientId, corpId: app.corp_id, scopes, appPk: app.id });
    await this.audit(app.corp_id, { action: "TOKEN_ISSUED", success: true, appPk: app.id, ip: opts.ip, detail: { grant: "client_credentials", scope: scopes.join(" ") } });
    return { access_token: token, token_type: "Bearer", expires_in: expiresIn, scope: scopes.join(" ") };
  }

  /** The display name of an app (the sign-in page). */
  async appName(corpPk: string, appPk: string): Promise<string | undefined> {
    return (await new CorpDb(corpPk, this.pool).one<{ name: string }>(`SELECT name FROM app WHERE corp_id = $1 AND id = $2`, [appPk]))?.name;
  }

  /** Appends an audit row outside any transaction (token endpoints). */
  async audit(corpPk: string, entry: AuditEntry): Promise<void> {
    await writeAudit(new CorpDb(corpPk, this.pool), entry);
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

  /** Verifies a bearer token and resolves who it speaks for, with current scopes and visibility. */
  async authenticate(token: string, ip?: string): Promise<Principal> {
    const claims = await this.verify(token);
    const corp = parseGlobalId(claims.corp);
    if (!corp || corp.type !== "Corp") throw unauthenticated("The access token is invalid.");
    const app = await this.appGrant(corp.pk, claims.azp);
    if (!app || !app.enabled) throw unauthenticated("The app of this token is disabled or no longer exists.");
    // iat has second precision: a token issued in the same second as the disable is refused too.
    if (claims.iat * 1000 <= app.tokensValidAfter) throw unauthenticated("The app of this token was disabled after the token was issued: request a new one.");
    if (claims.app !== undefined && claims.app !== toGlobalId("App", app.pk)) {
      throw unauthenticated("The app of this token was uninstalled or no longer exists.");
    }
    // A caller with no known address (an in-process call) is not network-checked.
    if (ip !== undefined && !ipAllowed(ip, app.allowedIpRanges)) throw forbidden("Your IP address is outside the app's allowed IP ranges.");
    const jti = typeof claims.jti === "string" && UUID.test(claims.jti) ? claims.jti : null;
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
    const db = new CorpDb(app.corpId, this.pool);
    if (claims.member) {
      const member = parseGlobalId(claims.member);
      if (!member || member.type !== "Member") throw unauthenticated("The access token is invalid.");
      const row = await db.one<{ is_corp_admin: boolean; status: string; led: string[]; sessions_revoked_at: Date | null; jti_revoked: boolean }>(
        `SELECT m.is_corp_admin, m.status,
                COALESCE(array_agg(d.path) FILTER (WHERE d.id IS NOT NULL), '{}') AS led,
                (SELECT c.sessions_revoked_at FROM member_credential c WHERE c.corp_id = $1 AND c.member_id = m.id) AS sessions_revoked_at,
                EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = $3::uuid AND r.corp_id = $1) AS jti_revoked
           FROM member m
           LEFT JOIN department_leader l ON l.member_id = m.id AND l.corp_id = $1
           LEFT JOIN department d ON d.id = l.department_id
          WHERE m.corp_id = $1 AND m.id = $2
          GROUP BY m.id`,
        [member.pk, jti],
      );
      if (!row || row.status !== "ACTIVE") throw unauthenticated("The member of this token is not active.");
      if (row.jti_revoked) throw unauthenticated("The access token was revoked.");
      // iat has second precision: a token issued in the same second as the revocation is refused too.
      if (row.sessions_revoked_at && claims.iat * 1000 <= row.sessions_revoked_at.getTime()) {
        throw unauthenticated("The member's sessions were revoked: sign in again.");
      }
      principal.member = { id: member.pk, isCorpAdmin: row.is_corp_admin, ledRoots: row.led };
    } else if (jti && app.revokedJtis.has(jti)) {
      // App tokens: the corp's revoked jtis come with the cached app grant (no statement per call).
      throw unauthenticated("The access token was revoked.");
    }
    return principal;
  }

  /** The app behind a token, cached for a few seconds (scope or visibility changes apply within that). */
  private async appGrant(corpId: string, clientId: string): Promise<AppGrant | undefined> {
    const cached = this.appCache.get(`${corpId}:${clientId}`);
    if (cached && cached.until > Date.now()) return cached.grant;
    const db = new CorpDb(corpId, this.pool);
    const row = await db.one<{ id: string; scopes: string[]; enabled: boolean; valid_after: Date | null; roots: string[] | null; ranges: string[]; revoked: string[] }>(
      `SELECT a.id, a.scopes, a.enabled, a.tokens_valid_after AS valid_after, a.allowed_ip_ranges::text[] AS ranges,
              ARRAY(SELECT r.jti::text FROM revoked_token r WHERE r.corp_id = $1 AND r.expires_at > now() - interval '1 minute') AS revoked,
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
      tokensValidAfter: row.valid_after?.getTime() ?? 0,
      allowedIpRanges: row.ranges,
      revokedJtis: new Set(row.revoked),
    };
    this.appCache.set(`${corpId}:${clientId}`, { until: Date.now() + APP_CACHE_MS, grant });
    return grant;
  }

  /**
   * Forgets cached app grants after an app changes (disabled, uninstalled, scopes, visibility, IP
   * ranges). Only this process's cache: other instances pick the change up within APP_CACHE_MS (5 s).
   */
  invalidate(clientId?: string, corpId?: string): void {
    if (clientId && corpId) this.appCache.delete(`${corpId}:${clientId}`);
    else if (clientId) {
      for (const key of [...this.appCache.keys()]) if (key.endsWith(`:${clientId}`)) this.appCache.delete(key);
    } else this.appCache.clear();
  }
}
