import type { Express } from "express";

/**
 * The client address of a request that express did not parse (a WebSocket upgrade), by express's
 * `trust proxy` rules, so it equals what `req.ip` gives an HTTP request.
 */
export function clientIpResolver(app: Express): (socketAddress: string | undefined, forwarded: string | string[] | undefined) => string | undefined {
  return (socketAddress, forwarded) => {
    const trust = app.get("trust proxy fn") as (addr: string, i: number) => boolean;
    const hops = [
      socketAddress ?? "",
      ...String(forwarded ?? "")
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean)
        .reverse(),
    ];
    let i = 0;
    while (i < hops.length - 1 && trust(hops[i], i)) i++;
    return hops[i] || undefined;
  };
}
