import { parseCidr } from "./auth/network";

/**
 * The one typed, validated configuration object. Every setting has an environment variable, a
 * default, a description and a secrecy flag; the README's configuration table is generated from
 * the same list (`npm run cli -- config`). The process refuses to start on an invalid value and
 * names the variable.
 */
export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  databaseUrl: string | undefined;
  embeddedPgDir: string;
  embeddedPgPort: number;
  secretKey: string | undefined;
  tokenTtlSeconds: number;
  tokenAudience: string;
  subscriptionRecheckSeconds: number;
  logLevel: LogLevel;
  playground: boolean;
  importIdleTimeoutSeconds: number;
  trustProxy: boolean | number | string;
  refreshTokenTtlSeconds: number;
  appSecretGraceSeconds: number;
  maxQueryCost: number;
  maxQueryDepth: number;
  maxQueryAliases: number;
  maxQueryTokens: number;
  maxListItems: number;
  maxDocumentBytes: number;
  wsMaxPayloadBytes: number;
  wsMaxOperations: number;
  maxSubscriptionCost: number;
  redisUrl: string | undefined;
  rateLimitScale: number;
  signinIpLimitPerMinute: number;
  tokenIpLimitPerMinute: number;
  metricsAllowNetworks: string[];
  metricsToken: string | undefined;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  description: string;
  secret?: boolean;
  /** Shown in the README; `undefined` means "unset". */
  defaultText: string;
  parse(raw: string | undefined, partial: Partial<Config>): Config[K];
}

class ConfigError extends Error {}

function int(env: string, min: number, max: number, fallback: number) {
  return (raw: string | undefined) => {
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${env} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
}

function bool(env: string, fallback: boolean) {
  return (raw: string | undefined) => {
    if (raw === undefined || raw === "") return fallback;
    if (["1", "true", "yes", "on"].includes(raw.toLowerCase())) return true;
    if (["0", "false", "no", "off"].includes(raw.toLowerCase())) return false;
    throw new ConfigError(`${env} must be true or false, got "${raw}"`);
  };
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Order matters: `publicUrl` defaults from `port`. */
export const SETTINGS: readonly Setting<keyof Config>[] = [
  {
    key: "port",
    env: "PORT",
    description: "TCP port of the HTTP and WebSocket endpoints.",
    defaultText: "4000",
    parse: int("PORT", 0, 65535, 4000),
  },
  {
    key: "host",
    env: "HOST",
    description: "Interface to listen on.",
    defaultText: "0.0.0.0",
    parse: (raw) => raw || "0.0.0.0",
  },
  {
    key: "publicUrl",
    env: "PUBLIC_URL",
    description: "Base URL clients use to reach the gateway; the `iss` of every token.",
    defaultText: "http://localhost:<PORT>",
    parse: (raw, partial) => {
      const value = raw || `http://localhost:${partial.port}`;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL, got "${value}"`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL, got "${value}"`);
      }
      return value.replace(/\/+$/, "");
    },
  },
  {
    key: "databaseUrl",
    env: "DATABASE_URL",
    description: "PostgreSQL connection string. Unset: an embedded PostgreSQL is started with its data in EMBEDDED_PG_DIR.",
    secret: true,
    defaultText: "unset (embedded)",
    parse: (raw) => {
      if (!raw) return undefined;
      if (!/^postgres(ql)?:\/\//.test(raw)) {
        throw new ConfigError("DATABASE_URL must start with postgres:// or postgresql://");
      }
      return raw;
    },
  },
  {
    key: "embeddedPgDir",
    env: "EMBEDDED_PG_DIR",
    description: "Data directory of the embedded PostgreSQL (kept across restarts).",
    defaultText: ".data/pg",
    parse: (raw) => raw || ".data/pg",
  },
  {
    key: "embeddedPgPort",
    env: "EMBEDDED_PG_PORT",
    description: "Port of the embedded PostgreSQL (loopback only).",
    defaultText: "54329",
    parse: int("EMBEDDED_PG_PORT", 1024, 65535, 54329),
  },
  {
    key: "secretKey",
    env: "WORKGRAPH_SECRET_KEY",
    description: "Encrypts the token signing key at rest (AES-256-GCM, key derived with scrypt). Unset: the key is stored unencrypted and a warning is logged.",
    secret: true,
    defaultText: "unset",
    parse: (raw) => {
      if (!raw) return undefined;
      if (raw.length < 16) throw new ConfigError("WORKGRAPH_SECRET_KEY must be at least 16 characters");
      return raw;
    },
  },
  {
    key: "tokenTtlSeconds",
    env: "TOKEN_TTL_SECONDS",
    description: "Lifetime of access tokens, in seconds.",
    defaultText: "7200",
    parse: int("TOKEN_TTL_SECONDS", 60, 86400, 7200),
  },
  {
    key: "tokenAudience",
    env: "TOKEN_AUDIENCE",
    description: "The `aud` of access tokens; verification refuses any other.",
    defaultText: "workgraph",
    parse: (raw) => raw || "workgraph",
  },
  {
    key: "subscriptionRecheckSeconds",
    env: "SUBSCRIPTION_RECHECK_SECONDS",
    description:
      "How often, at most, an open subscription re-checks its token before delivering (expiry, app disabled, member no longer active, scope withdrawn); a failed check ends it with UNAUTHENTICATED or FORBIDDEN.",
    defaultText: "5",
    parse: int("SUBSCRIPTION_RECHECK_SECONDS", 0, 3600, 5),
  },
  {
    key: "logLevel",
    env: "LOG_LEVEL",
    description: "One of debug, info, warn, error, silent.",
    defaultText: "info",
    parse: (raw) => {
      const value = (raw || "info") as LogLevel;
      if (!LOG_LEVELS.includes(value)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
      return value;
    },
  },
  {
    key: "playground",
    env: "PLAYGROUND",
    description: "Serve the GraphiQL playground on GET /graphql for browsers.",
    defaultText: "true",
    parse: bool("PLAYGROUND", true),
  },
  {
    key: "importIdleTimeoutSeconds",
    env: "IMPORT_IDLE_TIMEOUT_SECONDS",
    description:
      "The window in which an upload to POST /imports must send at least 16 KiB (or finish), in seconds: the timer restarts only once 16 KiB arrived since it last did, so neither a pause nor a trickle holds the import; then it is answered 408, the job FAILED (nothing applied) and the corp's import lock released. Time the gateway itself is busy with the rows is not counted.",
    defaultText: "30",
    parse: int("IMPORT_IDLE_TIMEOUT_SECONDS", 1, 3600, 30),
  },
  {
    key: "trustProxy",
    env: "TRUST_PROXY",
    description:
      "Whether to take the client IP (for apps' allowed IP ranges and the audit log) from X-Forwarded-For: `false` (use the TCP peer), a number of proxy hops, or a comma-separated list of trusted proxy addresses/CIDRs (or `loopback`, `uniquelocal`). `true` trusts any sender of the header: only behind a proxy that overwrites it.",
    defaultText: "false",
    parse: (raw) => {
      if (raw === undefined || raw === "" || raw.toLowerCase() === "false") return false;
      if (raw.toLowerCase() === "true") return true;
      if (/^[0-9]+$/.test(raw)) return Number(raw);
      const items = raw.split(",").map((x) => x.trim());
      if (items.some((x) => !/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/[0-9]{1,3})?)$/.test(x))) {
        throw new ConfigError(`TRUST_PROXY must be false, true, a hop count or a list of addresses/CIDRs, got "${raw}"`);
      }
      return items.join(",");
    },
  },
  {
    key: "refreshTokenTtlSeconds",
    env: "REFRESH_TOKEN_TTL_SECONDS",
    description: "Lifetime of SSO refresh tokens, in seconds (each use rotates the token; the family keeps the original sign-in time).",
    defaultText: "2592000",
    parse: int("REFRESH_TOKEN_TTL_SECONDS", 60, 31536000, 2592000),
  },
  {
    key: "appSecretGraceSeconds",
    env: "APP_SECRET_GRACE_SECONDS",
    description: "After `rotateAppSecret`, how long the previous secret keeps working, in seconds (0: not at all).",
    defaultText: "86400",
    parse: int("APP_SECRET_GRACE_SECONDS", 0, 2592000, 86400),
  },
  {
    key: "maxQueryCost",
    env: "MAX_QUERY_COST",
    description:
      "Largest cost of one operation, in points (object 1, scalar 0, mutation 10, lists × `first`/`last` or their declared size; see Security). A costlier document is refused with LIMIT_EXCEEDED before it runs.",
    defaultText: "1000",
    parse: int("MAX_QUERY_COST", 1, 1000000, 1000),
  },
  {
    key: "maxQueryDepth",
    env: "MAX_QUERY_DEPTH",
    description: "Deepest selection of one operation, in field levels with fragments flattened (graphql's standard introspection query is 15).",
    defaultText: "15",
    parse: int("MAX_QUERY_DEPTH", 1, 100, 15),
  },
  {
    key: "maxQueryAliases",
    env: "MAX_QUERY_ALIASES",
    description: "Most aliased fields in one operation (fragments counted as often as they are spread).",
    defaultText: "30",
    parse: int("MAX_QUERY_ALIASES", 0, 10000, 30),
  },
  {
    key: "maxListItems",
    env: "MAX_LIST_ITEMS",
    description:
      "Most items the plain lists of one operation may return together (a department's children, a member's departments, …: the cost analysis counts them at their typical size, real data may be larger); past it those fields answer LIMIT_EXCEEDED.",
    defaultText: "10000",
    parse: int("MAX_LIST_ITEMS", 100, 10000000, 10000),
  },
  {
    key: "maxQueryTokens",
    env: "MAX_QUERY_TOKENS",
    description: "Most lexical tokens in one document; parsing stops there (names, punctuation, values each count one).",
    defaultText: "3000",
    parse: int("MAX_QUERY_TOKENS", 100, 1000000, 3000),
  },
  {
    key: "maxDocumentBytes",
    env: "MAX_DOCUMENT_BYTES",
    description: "Largest GraphQL document (the `query` text, not its variables), in bytes.",
    defaultText: "32768",
    parse: int("MAX_DOCUMENT_BYTES", 1024, 10485760, 32768),
  },
  {
    key: "wsMaxOperations",
    env: "WS_MAX_OPERATIONS",
    description: "Most operations (subscriptions included) running at once on one WebSocket connection; one more is refused with LIMIT_EXCEEDED.",
    defaultText: "100",
    parse: int("WS_MAX_OPERATIONS", 1, 100000, 100),
  },
  {
    key: "maxSubscriptionCost",
    env: "MAX_SUBSCRIPTION_COST",
    description:
      "Largest cost of a subscription's selection, in points: it runs once per event (a resumed stream replays every missed event), so it is held lower than MAX_QUERY_COST.",
    defaultText: "100",
    parse: int("MAX_SUBSCRIPTION_COST", 1, 1000000, 100),
  },
  {
    key: "wsMaxPayloadBytes",
    env: "WS_MAX_PAYLOAD_BYTES",
    description:
      "Largest WebSocket message (a document with its variables), in bytes; a larger frame closes the socket (1009). Send large imports to POST /imports instead.",
    defaultText: "1048576",
    parse: int("WS_MAX_PAYLOAD_BYTES", 4096, 67108864, 1048576),
  },
  {
    key: "redisUrl",
    env: "REDIS_URL",
    description:
      "Redis shared by several gateway instances (redis:// or rediss://). Unset: one instance, everything in memory. It carries the query-cost buckets (see Rate limits), the per-IP throttles of sign-in and the OAuth client endpoints, and the event notifications between instances; when Redis is unreachable, or leaves a command unanswered for 250 ms, each instance falls back to counting in memory and to reading the log every 2 s, and /readyz reports Redis as degraded.",
    secret: true,
    defaultText: "unset",
    parse: (raw) => {
      if (!raw) return undefined;
      if (!/^rediss?:\/\//.test(raw)) throw new ConfigError("REDIS_URL must start with redis:// or rediss://");
      return raw;
    },
  },
  {
    key: "rateLimitScale",
    env: "RATE_LIMIT_SCALE",
    description:
      "Multiplies every edition's query-cost bucket and refill rate (BASIC 1,000 points and 50/s, PROFESSIONAL 10,000 and 500/s; see Rate limits): for a deployment selling larger tiers, or a benchmark measuring the gateway rather than its limits. The charging itself is the same work at any scale.",
    defaultText: "1",
    parse: int("RATE_LIMIT_SCALE", 1, 1000000, 1),
  },
  {
    key: "signinIpLimitPerMinute",
    env: "SIGNIN_IP_LIMIT_PER_MINUTE",
    description:
      "Sign-in and activation form posts accepted per client IP (IPv6: per /64) per minute; more get 429 with Retry-After before any password is checked or attempt counted. Against password spraying, which the per-account lockout does not stop.",
    defaultText: "30",
    parse: int("SIGNIN_IP_LIMIT_PER_MINUTE", 1, 100000, 30),
  },
  {
    key: "tokenIpLimitPerMinute",
    env: "TOKEN_IP_LIMIT_PER_MINUTE",
    description:
      "Requests to the endpoints that authenticate a client (POST /oauth/token, /oauth/revoke, /oauth/introspect: one budget) accepted per client IP (IPv6: per /64) per minute; more get 429 `slow_down` with Retry-After before the client secret is checked.",
    defaultText: "300",
    parse: int("TOKEN_IP_LIMIT_PER_MINUTE", 1, 1000000, 300),
  },
  {
    key: "metricsAllowNetworks",
    env: "METRICS_ALLOW_NETWORKS",
    description:
      "Networks (comma-separated CIDRs, e.g. `10.0.0.0/8, fd00::/8`) whose clients may read GET /metrics, besides loopback callers; the client address is the one TRUST_PROXY gives, as for apps' allowed IP ranges. Anyone else needs METRICS_TOKEN or gets 403.",
    defaultText: "unset (loopback only)",
    parse: (raw) => {
      const items = (raw ?? "")
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
      const networks = items.map(parseCidr);
      const bad = items.filter((_, i) => networks[i] === undefined);
      if (bad.length) throw new ConfigError(`METRICS_ALLOW_NETWORKS must be comma-separated CIDRs or addresses, got "${bad.join('", "')}"`);
      return networks as string[];
    },
  },
  {
    key: "metricsToken",
    env: "METRICS_TOKEN",
    description:
      "A bearer token that opens GET /metrics from any address (`Authorization: Bearer <token>`, compared in constant time; at least 16 printable characters). A request presenting any other token is refused, even from loopback.",
    secret: true,
    defaultText: "unset",
    parse: (raw) => {
      if (!raw) return undefined;
      if (raw.length < 16 || !/^[\x21-\x7e]+$/.test(raw)) throw new ConfigError("METRICS_TOKEN must be at least 16 printable characters without spaces");
      return raw;
    },
  },
];

/** Reads and validates every setting; throws one error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const partial: Partial<Config> = {};
  const problems: string[] = [];
  for (const setting of SETTINGS) {
    try {
      (partial as Record<string, unknown>)[setting.key] = setting.parse(env[setting.env], partial);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length) throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  return partial as Config;
}
