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
    readonly error:
      "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope" | "unauthorized_client" | "access_denied",
    readonly description: string,
    readonly status = error === "invalid_client" ? 401 : 400,
  ) {
    super(description);
  }
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

/** The token of an `Authorization: Bearer <token>` value, or null when the value is not one. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1] : null;
}
