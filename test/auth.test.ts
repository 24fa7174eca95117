import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import jwt, { type JwtPayload } from "jsonwebtoken";
import { TestGateway, withCost, type TestCorp, type Untyped } from "./harness";
import { ALL_SCOPES } from "../src/policy/scopes";
import { TokenService } from "../src/auth/tokens";
import { toGlobalId } from "../src/schema/global-id";

/** The OAuth token endpoint, the tokens it issues, and how /graphql refuses bad ones. */

const ISSUER = "http://workgraph.test";
const b64url = (value: object | string) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A JWT assembled by hand, so that the header can be anything (alg none, HS256 confusion…). */
function rawJwt(header: object, payload: object, signer: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer(input)}`;
}

const now = () => Math.floor(Date.now() / 1000);

describe("auth", () => {
  let gw: TestGateway;
  let corp: TestCorp;
  let kid: string;
  let serverKey: KeyObject;
  let publicPem: string;

  beforeAll(async () => {
    gw = await TestGateway.start();
    corp = await gw.createCorp("Auth Corp");
    // Without WORKGRAPH_SECRET_KEY the private key is stored as plain PEM: tests use it to mint
    // tokens the server would never issue (expired, wrong audience, wrong issuer).
    const [row] = await gw.sql<{ kid: string; public_key: string; private_key: string; encrypted: boolean }>(
      "SELECT kid, public_key, private_key, encrypted FROM signing_key",
    );
    expect(row.encrypted).toBe(false);
    expect(row.private_key.startsWith("-----BEGIN PRIVATE KEY-----")).toBe(true);
    kid = row.kid;
    serverKey = createPrivateKey(row.private_key);
    publicPem = row.public_key;
  });
  afterAll(() => gw.stop());

  /** Claims as the server would issue them for the corp's admin app; override some to break them. */
  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = now();
    return {
      azp: corp.clientId,
      corp: corp.corpId,
      scope: ALL_SCOPES.join(" "),
      iat,
      exp: iat + 600,
      aud: "workgraph",
      iss: ISSUER,
      sub: corp.clientId,
      jti: "test-jti",
      ...overrides,
    };
  }

  const rs256 = (key: KeyObject) => (input: string) => cryptoSign("sha256", Buffer.from(input), key).toString("base64url");

  async function viewer(authorization: string | null) {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
    if (authorization !== null) headers.authorization = authorization;
    const res = await fetch(`${gw.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query: "{ viewer { role scopes app { clientId } } }" }) });
    return withCost({ status: res.status, headers: res.headers, body: (await res.json()) as Untyped });
  }

  describe("POST /oauth/token", () => {
    it("issues a bearer token for HTTP Basic client authentication", async () => {
      const res = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: corp.clientId, secret: corp.clientSecret });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("pragma")).toBe("no-cache");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(["access_token", "expires_in", "scope", "token_type"]);
      expect(res.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 7200, scope: ALL_SCOPES.join(" ") });
      const me = await viewer(`Bearer ${res.body.access_token}`);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ data: { viewer: { role: "APP", scopes: ALL_SCOPES, app: { clientId: corp.clientId } } } });
    });

    it("issues a bearer token for client_id and client_secret form fields", async () => {
      const res = await gw.tokenRequest({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: corp.clientSecret });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 7200, scope: ALL_SCOPES.join(" ") });
    });

    it("narrows the token to a requested subset of the granted scopes", async () => {
      const res = await gw.tokenRequest(
        { grant_type: "client_credentials", scope: "directory:read messages:read" },
        { id: corp.clientId, secret: corp.clientSecret },
      );
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe("directory:read messages:read");
      expect((jwt.decode(res.body.access_token) as JwtPayload).scope).toBe("directory:read messages:read");
      const me = await viewer(`Bearer ${res.body.access_token}`);
      expect(me.body.data.viewer.scopes).toEqual(["directory:read", "messages:read"]);
    });

    it("refuses a scope the app was not granted with invalid_scope", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read"]);
      const res = await gw.tokenRequest(
        { grant_type: "client_credentials", scope: "directory:read directory:write" },
        { id: app.clientId, secret: app.clientSecret },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.body).toEqual({ error: "invalid_scope", error_description: "The app is not granted: directory:write" });
      const unknown = await gw.tokenRequest({ grant_type: "client_credentials", scope: "root" }, { id: app.clientId, secret: app.clientSecret });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ error: "invalid_scope", error_description: "The app is not granted: root" });
    });

    it("refuses a wrong secret or an unknown client with 401 invalid_client and WWW-Authenticate", async () => {
      const expected = { error: "invalid_client", error_description: "Unknown client, wrong secret, or the app is disabled." };
      const wrongSecret = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: corp.clientId, secret: "not-the-secret" });
      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.headers.get("www-authenticate")).toBe('Basic realm="workgraph"');
      expect(wrongSecret.headers.get("cache-control")).toBe("no-store");
      expect(wrongSecret.body).toEqual(expected);

      const unknown = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: "wg_nobody", secret: corp.clientSecret });
      expect(unknown.status).toBe(401);
      expect(unknown.headers.get("www-authenticate")).toBe('Basic realm="workgraph"');
      expect(unknown.body).toEqual(expected);

      const formWrong = await gw.tokenRequest({ grant_type: "client_credentials", client_id: corp.clientId, client_secret: "nope" });
      expect(formWrong.status).toBe(401);
      expect(formWrong.body).toEqual(expected);

      const none = await gw.tokenRequest({ grant_type: "client_credentials" });
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Basic realm="workgraph"');
      expect(none.body).toEqual({
        error: "invalid_client",
        error_description: "Client authentication is required (HTTP Basic or client_id and client_secret).",
      });
    });

    it("refuses malformed HTTP Basic credentials with 401 invalid_client (not a 500)", async () => {
      for (const credentials of ["no-colon", "%zz:secret", `${corp.clientId}:%E0%A4%A`]) {
        const res = await fetch(`${gw.url}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(credentials).toString("base64") },
          body: "grant_type=client_credentials",
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Basic realm="workgraph"');
        expect(await res.json()).toEqual({ error: "invalid_client", error_description: "Malformed HTTP Basic credentials." });
      }
    });

    it("requires grant_type and supports only client_credentials", async () => {
      const missing = await gw.tokenRequest({}, { id: corp.clientId, secret: corp.clientSecret });
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ error: "invalid_request", error_description: "grant_type is required." });
      expect(missing.headers.get("www-authenticate")).toBeNull();

      const password = await gw.tokenRequest({ grant_type: "password", username: "a", password: "b" }, { id: corp.clientId, secret: corp.clientSecret });
      expect(password.status).toBe(400);
      expect(password.body).toEqual({ error: "unsupported_grant_type", error_description: "grant_type password is not supported." });
    });
  });

  describe("the access token", () => {
    it("is an RS256 JWT with the documented claims, verifiable with the JWKS key", async () => {
      const token = await gw.token(corp.clientId, corp.clientSecret, "directory:read");
      const decoded = jwt.decode(token, { complete: true })!;
      expect(decoded.header).toEqual({ alg: "RS256", typ: "JWT", kid });
      const payload = decoded.payload as JwtPayload;
      expect(payload).toEqual({
        iss: ISSUER,
        aud: "workgraph",
        sub: corp.clientId,
        azp: corp.clientId,
        corp: corp.corpId,
        scope: "directory:read",
        jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        iat: expect.any(Number),
        nbf: payload.iat,
        exp: expect.any(Number),
        app: toGlobalId("App", corp.appPk),
      });
      expect(payload.exp! - payload.iat!).toBe(7200);
      expect(Math.abs(payload.iat! - now())).toBeLessThanOrEqual(5);
      // Every token gets its own jti.
      const again = jwt.decode(await gw.token(corp.clientId, corp.clientSecret)) as JwtPayload;
      expect(again.jti).not.toBe(payload.jti);

      const res = await fetch(`${gw.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      const jwks = (await res.json()) as { keys: Array<Record<string, string>> };
      expect(jwks.keys).toHaveLength(1);
      const jwk = jwks.keys[0];
      expect(jwk).toEqual({ kty: "RSA", n: expect.any(String), e: "AQAB", kid, use: "sig", alg: "RS256" });
      // Only the public half is published.
      expect(Object.keys(jwk).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);

      const key = createPublicKey({ key: jwk as Untyped, format: "jwk" });
      expect(key.export({ type: "spki", format: "pem" })).toBe(publicPem);
      const [h, p, s] = token.split(".");
      expect(cryptoVerify("sha256", Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"))).toBe(true);
      expect(jwt.verify(token, key, { algorithms: ["RS256"], issuer: ISSUER, audience: "workgraph" })).toEqual(payload);
      // A changed payload no longer verifies.
      const tampered = `${h}.${b64url({ ...payload, scope: ALL_SCOPES.join(" ") })}.${s}`;
      expect(cryptoVerify("sha256", Buffer.from(tampered.split(".").slice(0, 2).join(".")), key, Buffer.from(s, "base64url"))).toBe(false);
    });

    it("is accepted when minted with the server's key and correct claims (control for the refusals below)", async () => {
      const token = rawJwt({ alg: "RS256", typ: "JWT", kid }, claims(), rs256(serverKey));
      const me = await viewer(`Bearer ${token}`);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ data: { viewer: { role: "APP", scopes: ALL_SCOPES, app: { clientId: corp.clientId } } } });
    });
  });

  describe("refusals on /graphql", () => {
    async function expectRefused(authorization: string, message: string) {
      const res = await viewer(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.body).toEqual({ errors: [{ message, extensions: { code: "UNAUTHENTICATED" } }] });
    }
    const INVALID = "The access token is invalid.";
    const MALFORMED = "The access token is malformed or was not issued by this server.";

    it("a token signed by another RSA key under the server's kid", async () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      await expectRefused(`Bearer ${rawJwt({ alg: "RS256", typ: "JWT", kid }, claims(), rs256(privateKey))}`, INVALID);
    });

    it("an unsigned token (alg none)", async () => {
      await expectRefused(`Bearer ${rawJwt({ alg: "none", typ: "JWT", kid }, claims(), () => "")}`, INVALID);
      // Without a kid it is not even looked at.
      await expectRefused(`Bearer ${rawJwt({ alg: "none", typ: "JWT" }, claims(), () => "")}`, MALFORMED);
    });

    it("an HS256 token keyed with the public key PEM (algorithm confusion)", async () => {
      const hmac = (input: string) => createHmac("sha256", publicPem).update(input).digest("base64url");
      await expectRefused(`Bearer ${rawJwt({ alg: "HS256", typ: "JWT", kid }, claims(), hmac)}`, INVALID);
    });

    it("an expired token", async () => {
      const t = now();
      await expectRefused(
        `Bearer ${rawJwt({ alg: "RS256", typ: "JWT", kid }, claims({ iat: t - 7300, exp: t - 100 }), rs256(serverKey))}`,
        "The access token has expired: request a new one.",
      );
    });

    it("a token for another audience", async () => {
      await expectRefused(`Bearer ${rawJwt({ alg: "RS256", typ: "JWT", kid }, claims({ aud: "other-api" }), rs256(serverKey))}`, INVALID);
    });

    it("a token from another issuer", async () => {
      await expectRefused(`Bearer ${rawJwt({ alg: "RS256", typ: "JWT", kid }, claims({ iss: "http://evil.test" }), rs256(serverKey))}`, INVALID);
    });

    it("a token with an unknown kid", async () => {
      await expectRefused(`Bearer ${rawJwt({ alg: "RS256", typ: "JWT", kid: "someone-else" }, claims(), rs256(serverKey))}`, MALFORMED);
    });

    it("a garbage string", async () => {
      await expectRefused("Bearer not-a-jwt", MALFORMED);
      await expectRefused("Bearer a.b.c", MALFORMED);
    });

    it("HTTP Basic credentials on /graphql", async () => {
      const basic = Buffer.from(`${corp.clientId}:${corp.clientSecret}`).toString("base64");
      await expectRefused(`Basic ${basic}`, "The Authorization header must be `Bearer <token>`.");
    });

    it("over graphql-ws, a refused token closes the connection at connection_init (4403 Forbidden)", async () => {
      const t = now();
      const expired = rawJwt({ alg: "RS256", typ: "JWT", kid }, claims({ iat: t - 7300, exp: t - 100 }), rs256(serverKey));
      const client = gw.wsClient(expired);
      try {
        const sub = gw.subscribe(client, "subscription { directoryEvents { type } }");
        await sub.waitFor(1);
        // No operation of that connection ever runs (issue 11): the socket is closed at once.
        expect(sub.results).toEqual([]);
        expect(sub.completed).toBe(true);
        expect(sub.error as { code: number; reason: string }).toMatchObject({ code: 4403, reason: "Forbidden" });
      } finally {
        await client.dispose();
      }
    });

    it("no token at all: 200 with an UNAUTHENTICATED error and no data", async () => {
      const res = await viewer(null);
      expect(res.status).toBe(200);
      expect(res.headers.get("www-authenticate")).toBeNull();
      expect(res.body).toEqual({
        data: null,
        errors: [
          {
            message: "A valid access token is required: send `Authorization: Bearer <token>`.",
            locations: [{ line: 1, column: 3 }],
            path: ["viewer"],
            extensions: { code: "UNAUTHENTICATED" },
          },
        ],
      });
    });

    it("a token of a disabled app, and the app's token requests", async () => {
      const app = await gw.createApp(corp.corpPk, ["directory:read"]);
      expect((await viewer(`Bearer ${app.token}`)).status).toBe(200);
      await gw.sql("UPDATE app SET enabled = false WHERE id = $1", [app.appPk]);
      gw.deps.tokens.invalidate(app.clientId);
      await expectRefused(`Bearer ${app.token}`, "The app of this token is disabled or no longer exists.");
      const res = await gw.tokenRequest({ grant_type: "client_credentials" }, { id: app.clientId, secret: app.clientSecret });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe("invalid_client");
      // Re-enabled, the very same token works again.
      await gw.sql("UPDATE app SET enabled = true WHERE id = $1", [app.appPk]);
      gw.deps.tokens.invalidate();
      expect((await viewer(`Bearer ${app.token}`)).status).toBe(200);
    });
  });

  describe("secrets at rest", () => {
    it("stores app secrets only as a SHA-256 hash", async () => {
      const rows = await gw.sql<{ secret_hash: string }>("SELECT secret_hash FROM app WHERE client_id = $1", [corp.clientId]);
      expect(rows).toHaveLength(1);
      expect(rows[0].secret_hash).not.toContain(corp.clientSecret);
      expect(rows[0].secret_hash).toBe("sha256$" + createHash("sha256").update(corp.clientSecret).digest("hex"));
    });

    it("encrypts the signing key with WORKGRAPH_SECRET_KEY, and tokens still work", async () => {
      const secretKey = "a-test-secret-key-123";
      const sealed = await TestGateway.start({ WORKGRAPH_SECRET_KEY: secretKey });
      try {
        const rows = await sealed.sql<{ kid: string; private_key: string; encrypted: boolean }>("SELECT kid, private_key, encrypted FROM signing_key");
        expect(rows).toHaveLength(1);
        expect(rows[0].encrypted).toBe(true);
        expect(rows[0].private_key.startsWith("v1.")).toBe(true);
        expect(rows[0].private_key.split(".")).toHaveLength(5);
        expect(rows[0].private_key).not.toContain("PRIVATE KEY");

        const other = await sealed.createCorp("Sealed Corp");
        const decoded = jwt.decode(other.token, { complete: true })!;
        expect(decoded.header.kid).toBe(rows[0].kid);
        const res = await sealed.gql(other.token, "{ viewer { role corp { name } } }");
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ data: { viewer: { role: "APP", corp: { name: "Sealed Corp" } } } });

        // A process with the wrong key, or none, refuses to start rather than mint new keys.
        const pool = sealed.deps.pool;
        await expect(new TokenService(pool, { ...sealed.config, secretKey: "another-secret-key-456" }).init()).rejects.toThrow(
          "WORKGRAPH_SECRET_KEY does not decrypt the token signing key",
        );
        await expect(new TokenService(pool, { ...sealed.config, secretKey: undefined }).init()).rejects.toThrow(
          "the token signing key is encrypted: set WORKGRAPH_SECRET_KEY to the value it was created with",
        );
        // The first gateway's tokens are not valid here (different key pair).
        const foreign = await sealed.gql(corp.token, "{ viewer { role } }");
        expect(foreign.status).toBe(401);
        expect(foreign.body).toEqual({
          errors: [{ message: "The access token is malformed or was not issued by this server.", extensions: { code: "UNAUTHENTICATED" } }],
        });
      } finally {
        await sealed.stop();
      }
    });
  });
});
