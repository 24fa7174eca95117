import type { Request, Response } from "express";
import { DomainError } from "../errors/domain-error";
import { sendHttpError } from "../errors/http";
import { metricsAccess, type MetricsAccessConfig } from "./access";
import type { Metrics } from "./metrics";

/**
 * `GET /metrics`: the Prometheus text format, to the callers `metricsAccess` lets in; anyone else
 * gets 403 FORBIDDEN in the API's JSON error shape (before anything is collected).
 */
export function metricsEndpoint(metrics: Metrics, config: MetricsAccessConfig): (req: Request, res: Response) => Promise<void> {
  const allowed = metricsAccess(config);
  return async (req, res) => {
    if (!allowed({ socketAddress: req.socket.remoteAddress, clientIp: req.ip, headers: req.headers })) {
      return sendHttpError(
        res,
        new DomainError("FORBIDDEN", "GET /metrics answers loopback callers, the networks in METRICS_ALLOW_NETWORKS and the bearer token METRICS_TOKEN."),
      );
    }
    try {
      const text = await metrics.text();
      res.setHeader("cache-control", "no-store");
      res.setHeader("content-type", metrics.contentType);
      res.send(text);
    } catch (e) {
      sendHttpError(res, e);
    }
  };
}
