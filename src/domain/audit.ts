/** Audit actions (issue 5): what `auditLog` can show and filter on. */
export const AUDIT_ACTIONS = [
  "TOKEN_ISSUED",
  "TOKEN_REFUSED",
  "TOKEN_REVOKED",
  "SIGN_IN",
  "PASSWORD_SET",
  "APP_CREATED",
  "APP_UPDATED",
  "APP_SECRET_ROTATED",
  "APP_VISIBILITY_SET",
  "APP_DISABLED",
  "APP_RATE_LIMIT_SET",
  "APP_INSTALLED",
  "APP_UNINSTALLED",
  "ACTIVATION_LINK_CREATED",
  "MEMBER_SESSIONS_REVOKED",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
