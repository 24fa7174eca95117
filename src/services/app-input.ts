import { isScope } from "../policy/scopes";
import { parseCidr } from "../auth/network";
import { badInput } from "../errors/domain-error";

/* Validation of what an app is given: scopes, redirect URIs, IP ranges (the CLI and the apps API). */

const REDIRECT_LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function validScopes(scopes: string[], field: string, within?: readonly string[]): string[] {
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length) throw badInput(field, `Unknown scopes: ${unknown.join(", ")}.`);
  if (within) {
    const beyond = scopes.filter((s) => !within.includes(s));
    if (beyond.length) throw badInput(field, `The vendor app does not ask for: ${beyond.join(", ")}.`);
  }
  return [...new Set(scopes)];
}

export function validRedirectUris(uris: string[], field: string): string[] {
  for (const uri of uris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw badInput(field, `${uri} is not an absolute URL.`);
    }
    if (url.hash || uri.includes("#")) throw badInput(field, `${uri} must not have a fragment.`);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && REDIRECT_LOCAL_HOSTS.has(url.hostname))) {
      throw badInput(field, `${uri} must use https (http only for localhost).`);
    }
    if (uri.length > 2000) throw badInput(field, "A redirect URI may have at most 2,000 characters.");
  }
  return [...new Set(uris)];
}

export function validRanges(ranges: string[], field: string): string[] {
  return ranges.map((r) => {
    const cidr = parseCidr(r);
    if (!cidr) throw badInput(field, `${r} is not an IP range in CIDR notation (e.g. 203.0.113.0/24).`);
    return cidr;
  });
}
