import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

/**
 * App secrets are 256-bit random strings, so a fast one-way hash (SHA-256) is enough: there is
 * nothing to brute-force, unlike a human password; a slow KDF would only slow down token requests.
 */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** The hex SHA-256 of a single-use secret (codes, refresh tokens, activation links are stored by it). */
export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** A new 256-bit opaque secret (an authorization code, a refresh token, an activation link). */
export const opaque = () => randomBytes(32).toString("base64url");

export function hashSecret(secret: string): string {
  return "sha256$" + createHash("sha256").update(secret, "utf8").digest("hex");
}

export function verifySecret(secret: string, stored: string): boolean {
  const expected = Buffer.from(stored, "utf8");
  const actual = Buffer.from(hashSecret(secret), "utf8");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A public client id: `wg_` and 24 random characters. */
export function newClientId(): string {
  return "wg_" + randomBytes(18).toString("base64url");
}

/** AES-256-GCM with a key derived from WORKGRAPH_SECRET_KEY by scrypt; output `v1.salt.iv.tag.data`. */
export function encryptAtRest(plain: string, secretKey: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secretKey, salt, 32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", salt, iv, cipher.getAuthTag(), data].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

export function decryptAtRest(sealed: string, secretKey: string): string {
  const [version, salt, iv, tag, data] = sealed.split(".");
  if (version !== "v1") throw new Error("unknown encryption version");
  const key = scryptSync(secretKey, Buffer.from(salt, "base64url"), 32);
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
}
