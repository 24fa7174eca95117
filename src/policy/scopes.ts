/**
 * The scope vocabulary: `resource:action` strings an app is granted and a token carries
 * (PRODUCT.md, "Auth"). Used in `@Authorized(...)` and shown in the schema's descriptions.
 */
export const SCOPES = {
  "directory:read": "Read departments and members within the app's visibility scope.",
  "directory:write": "Create, change and delete departments and members within the visibility scope.",
  "messages:read": "Read conversations and messages.",
  "messages:send": "Send messages.",
  "messages:audit":
    "The compliance audit of messages (issue 14): keep the corp's sensitive words and read the messages that contained one, across every conversation. Corp administrators only (an app on its own, or a corp administrator member), through an app that sees the whole corp.",
  "customers:read": "Read customers (external contacts) and their tags.",
  "customers:write": "Change customers and their tags.",
  "apps:admin": "Manage the corp's apps, their secrets and visibility.",
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export function isScope(value: string): value is Scope {
  return Object.prototype.hasOwnProperty.call(SCOPES, value);
}

/** The first of `scopes` the token lacks, or undefined when it carries them all. */
export function missingScope(granted: ReadonlySet<Scope>, scopes: readonly Scope[]): Scope | undefined {
  return scopes.find((scope) => !granted.has(scope));
}

/**
 * The FORBIDDEN answer to a token that lacks `scope`: names the scope to request and what the token
 * carries. Clients and tests rely on this wording.
 */
export function missingScopeMessage(scope: Scope, granted: ReadonlySet<Scope>): string {
  return `This operation needs the scope \`${scope}\`; the token carries: ${[...granted].join(" ") || "none"}.`;
}
