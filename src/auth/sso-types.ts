import { createHash } from "node:crypto";
import { appSeesMemberSql } from "../policy/sql";
import type { TokenApp } from "./oauth-types";

/** Authorization codes live 5 minutes (issue 5; RFC 6749 §4.1.2 recommends at most 10). */
export const CODE_TTL_SECONDS = 300;
/** The authorization request parameters the sign-in form carries through its POST. */
export const AUTHORIZE_FORM_PARAMS = [
  "response_type",
  "client_id",
  "corp_id",
  "redirect_uri",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
] as const;

/** Scopes of OpenID Connect itself, next to Workgraph's own. */
export const OIDC_SCOPES = ["openid", "profile", "email"] as const;

/** What the sign-in form tells the person: always the same words for every failure (issue 5). */
export const SIGN_IN_FAILED = "Sign-in failed: the account or password is wrong, or the account is locked for a while after too many attempts.";

/** Domain label of `accessJti`; the SQL in `TokenRevocation.revokeFamily` derives the same value. */
export const ACCESS_JTI_LABEL = "workgraph-access-jti:";

/** The jti of the access token issued together with the refresh token whose hash is `refreshHash` (a UUID-shaped 128-bit digest). */
export function accessJti(refreshHash: string): string {
  const hex = createHash("sha256")
    .update(ACCESS_JTI_LABEL + refreshHash, "utf8")
    .digest("hex")
    .slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636). */
export interface AuthorizeRequest {
  app: TokenApp;
  redirectUri: string;
  scopes: string[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
}

/** An authorization error that goes back to the client's redirect URI. */
export class AuthorizeError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** The member columns sign-in and the ID token read. */
export interface MemberRow {
  id: string;
  name: string;
  employee_id: string;
  email: string | null;
  status: string;
  visible: boolean;
}

/** Is member `m` inside app `a`'s visibility (departments' subtrees, or listed by id)? */
export const VISIBLE_SQL = appSeesMemberSql("m.id");
