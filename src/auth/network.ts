import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * Apps' allowed IP ranges (source §7, issue 5). Ranges are CIDRs as PostgreSQL prints `cidr`
 * (`10.0.0.0/8`, `2001:db8::/32`); an empty list allows every address. IPv4-mapped IPv6 addresses
 * (`::ffff:10.1.2.3`, what a dual-stack socket reports) are compared as IPv4.
 */
const lists = new Map<string, BlockList>();

function blockList(ranges: readonly string[]): BlockList {
  const key = ranges.join(",");
  let list = lists.get(key);
  if (!list) {
    list = new BlockList();
    for (const range of ranges) {
      const [net, bits] = range.split("/");
      const type = isIPv4(net) ? "ipv4" : "ipv6";
      list.addSubnet(net, bits === undefined ? (type === "ipv4" ? 32 : 128) : Number(bits), type);
    }
    if (lists.size > 1000) lists.clear();
    lists.set(key, list);
  }
  return list;
}

/** Normalises a socket address: strips the IPv4-mapped prefix. */
export function normalizeIp(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

/** True when `ranges` is empty or `ip` lies in one of them; an unknown address is refused. */
export function ipAllowed(ip: string | undefined, ranges: readonly string[]): boolean {
  if (ranges.length === 0) return true;
  const address = normalizeIp(ip);
  if (!address) return false;
  if (isIPv4(address)) return blockList(ranges).check(address, "ipv4");
  if (isIPv6(address)) return blockList(ranges).check(address, "ipv6");
  return false;
}

/** Validates a CIDR (or a single address) as an app's allowed range; returns it normalised or undefined. */
export function parseCidr(text: string): string | undefined {
  const [net, bits, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const max = isIPv4(net) ? 32 : isIPv6(net) ? 128 : 0;
  if (!max) return undefined;
  if (bits === undefined) return `${net}/${max}`;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return `${net}/${Number(bits)}`;
}
