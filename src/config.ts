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
  trustProxy: boolean | number | string;
  refreshTokenTtlSeconds: number;
  appSecretGraceSeconds: number;
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
    description:
      "PostgreSQL connection string. Unset: an embedded PostgreSQL is started with its data in EMBEDDED_PG_DIR.",
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
    description:
      "Encrypts the token signing key at rest (AES-256-GCM, key derived with scrypt). Unset: the key is stored unencrypted and a warning is logged.",
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
