import { performance } from "node:perf_hooks";
import type { ApolloServerPlugin } from "@apollo/server";
import type { RateLimitCharge } from "../ratelimit/types";
import { errorCodes, operationOutcome, type Metrics } from "./metrics";

/** The part of the request context the plugin reads: the rate limiter's charge (`RequestContext.rateLimit`) and whether a token came. */
interface ChargedContext {
  rateLimit: RateLimitCharge | null;
  principal: unknown;
}

/**
 * Times every GraphQL operation over HTTP, from `requestDidStart` to `willSendResponse`, and records
 * it with its outcome and the codes of the errors its client gets (already formatted there), and
 * the rate-limit charge on the context. List it last among the plugins: its `willSendResponse`
 * then starts after theirs, so it reads the charge as the rate limiter settled it.
 */
export function metricsPlugin<T extends ChargedContext>(metrics: Metrics): ApolloServerPlugin<T> {
  return {
    requestDidStart: async () => {
      const started = performance.now();
      return {
        willSendResponse: async ({ response, request, operationName, operation, contextValue }) => {
          const result = response.body.kind === "single" ? response.body.singleResult : response.body.initialResult;
          const charge = contextValue.rateLimit;
          metrics.recordOperation({
            transport: "http",
            operationName: operationName ?? request.operationName,
            type: operation?.operation,
            outcome: operationOutcome(result, charge),
            seconds: (performance.now() - started) / 1000,
            errorCodes: errorCodes(result.errors),
            authenticated: contextValue.principal !== null,
          });
          if (charge) metrics.recordCharge(charge);
        },
      };
    },
  };
}
