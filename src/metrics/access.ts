import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ipAllowed } from "../auth/network";
import { bearerToken } from "../auth/oauth-types";

const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/** What `/metrics` sees of a request. */
export interface MetricsRequest {
  /** The TCP peer's address. */
  socketAddress: string | undefined;
  /** The client address by the `TRUST_PROXY` rules (express's `req.ip`), as everywhere else in the gateway. */
  clientIp: string | undefined;
  headers: IncomingHttpHeaders;
}

/** Who may read `/metrics` besides loopback callers (config `METRICS_ALLOW_NETWORKS`, `METRICS_TOKEN`). */
export interface MetricsAccessConfig {
  metricsAllowNetworks: readonly string[];
  metricsToken: string | undefined;
}

const isLoopback = (ip: string | undefined) => ip !== undefined && ipAllowed(ip, LOOPBACK);

/** The addresses of RFC 7239 `Forwarded: for=…` (`for="[::1]:80"` → `::1`); obfuscated or `unknown` ones stay as they are. */
function forwardedFor(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)/gi)].map((m) => {
    const value = m[1].replace(/^"|"$/g, "");
    const bracketed = /^\[([^\]]+)\]/.exec(value);
    if (bracketed) return bracketed[1];
    return /^\d+\.\d+\.\d+\.\d+:\d+$/.test(value) ? value.slice(0, value.lastIndexOf(":")) : value;
  });
}

/**
 * True when the request comes from this machine and from no one else: its TCP peer is a loopback
 * address, and so is every client address a proxy reported for it (X-Forwarded-For, X-Real-IP,
 * Forwarded). Decided on the socket, not on `req.ip` alone, and without regard to `TRUST_PROXY`:
 * a reverse proxy on this machine connects from loopback, but the outsider it forwards appears in
 * one of those headers, and an outsider connecting directly cannot change its socket's address.
 * (A local proxy that reports its client in no header at all cannot be told apart: give it a
 * METRICS_TOKEN, or do not proxy /metrics.)
 */
export function fromLoopback(req: MetricsRequest): boolean {
  if (!isLoopback(req.socketAddress)) return false;
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(",") : value;
  };
  const reported = [...(header("x-forwarded-for") ?? "").split(","), ...(header("x-real-ip") ?? "").split(","), ...forwardedFor(header("forwarded"))]
    .map((a) => a.trim())
    .filter(Boolean);
  return reported.every(isLoopback);
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Decides who may read `/metrics`: a request presenting a bearer token is let in only with
 * `metricsToken` (compared in constant time: both sides are hashed first, so neither length nor
 * content leaks through timing), whatever its address; a wrong token is refused even from
 * loopback, as the API refuses a present but invalid token. Without a token: loopback callers
 * (see `fromLoopback`) and clients in `metricsAllowNetworks` (by `clientIp`, the TRUST_PROXY rules
 * that also apply to apps' allowed IP ranges).
 */
export function metricsAccess(config: MetricsAccessConfig): (req: MetricsRequest) => boolean {
  const expected = config.metricsToken === undefined ? undefined : digest(config.metricsToken);
  return (req) => {
    if (req.headers.authorization !== undefined) {
      const token = bearerToken(req.headers.authorization);
      return expected !== undefined && token !== null && timingSafeEqual(digest(token), expected);
    }
    if (fromLoopback(req)) return true;
    return config.metricsAllowNetworks.length > 0 && ipAllowed(req.clientIp, config.metricsAllowNetworks);
  };
}
