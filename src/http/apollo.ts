import { randomUUID } from "node:crypto";
import type http from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { GraphQLSchema } from "graphql";
import type { RequestContext } from "../context";
import { DomainError } from "../errors/domain-error";
import { asGraphQLError, formatError } from "../errors/format";
import { checkOperation, type DocumentLimits } from "../limits/document-limits";
import type { DocumentCost } from "../limits/analyze";
import type { RateLimits } from "./rate-limits";
import { metricsPlugin } from "../metrics/apollo-plugin";
import type { Metrics } from "../metrics/metrics";

type Limits = DocumentLimits;

/** Request header that adds `extensions.diagnostics` (SQL statement count) to a response. */
export const DIAGNOSTICS_HEADER = "x-workgraph-debug";

/** Apollo's codes for a document that fails to parse or validate, or variables that fail to coerce. */
const DOCUMENT_ERROR_CODES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "LIMIT_EXCEEDED"]);

/**
 * The request id of each error Apollo is about to format (recorded in `didEncounterErrors`, which
 * sees the request's context): `formatError` itself gets no context. Not an AsyncLocalStorage:
 * that would put async hooks on every promise of every request.
 */
const errorRequestIds = new WeakMap<object, string>();

/**
 * Document caps (issue 11), then the rate limit (issue 13): after validation, before any resolver
 * or SQL runs, the document is checked and its requested cost taken from the caller's bucket (one
 * hook: Apollo runs plugins' hooks concurrently, and nothing may be charged for a refused document).
 * After execution the unused points are given back, and every response says what it cost.
 */
function documentCaps(limits: Limits, rateLimits: RateLimits): ApolloServerPlugin<RequestContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ document, request, contextValue, schema, operation }) => {
        // Apollo cannot run a subscription over HTTP: refused as the client's mistake, before any charge.
        if (operation?.operation === "subscription") {
          const wrongTransport = new DomainError(
            "BAD_USER_INPUT",
            "Subscriptions run over WebSocket (graphql-ws, `graphql-transport-ws`) at /graphql, not over HTTP.",
          );
          throw asGraphQLError(wrongTransport, 400);
        }
        let analysis: DocumentCost;
        try {
          analysis = checkOperation(schema, document, request.operationName, request.variables, contextValue.principal, limits);
        } catch (e) {
          if (e instanceof DomainError) throw asGraphQLError(e, e.code === "UNAUTHENTICATED" ? 401 : e.code === "EDITION_REQUIRED" ? 403 : 400);
          throw e;
        }
        await rateLimits.admit(contextValue, analysis);
      },
      // Synchronous up to the refund's store call, so that `contextValue.rateLimit.actual` is final
      // before the other plugins' `willSendResponse` (run concurrently, after this one starts) read it.
      willSendResponse: (requestContext) => rateLimits.respond(requestContext),
    }),
  };
}

/**
 * Every response `no-store`; the request id on each error; graphql-http's legacy rule (a JSON request
 * whose document fails to parse or validate gets 200 with the errors when the client accepts only
 * application/json); `extensions.diagnostics` on request.
 */
function responseShape(): ApolloServerPlugin<RequestContext> {
  return {
    requestDidStart: async () => ({
      didEncounterErrors: async ({ errors, contextValue }) => {
        for (const error of errors) errorRequestIds.set(error, contextValue.requestId);
      },
      willSendResponse: async ({ response, request, contextValue, errors }) => {
        if (!response.http.headers.has("cache-control")) response.http.headers.set("cache-control", "no-store");
        // Apollo negotiates the content-type only after this hook: without one yet, the legacy
        // format is what a client gets when it does not accept application/graphql-response+json.
        const type = response.http.headers.get("content-type");
        const legacy = type ? type.startsWith("application/json") : !(request.http?.headers.get("accept") ?? "").includes("application/graphql-response+json");
        const documentErrors = Boolean(errors?.length) && errors!.every((e) => DOCUMENT_ERROR_CODES.has(String(e.extensions?.code)));
        if (response.http.status === 400 && legacy && documentErrors) response.http.status = 200;
        if (request.http?.headers.get(DIAGNOSTICS_HEADER) === "sql" && response.body.kind === "single") {
          response.body.singleResult.extensions = {
            ...response.body.singleResult.extensions,
            diagnostics: { sqlStatements: contextValue.stats.statements },
          };
        }
      },
    }),
  };
}

/** Apollo Server for `/graphql` over HTTP, started; `drain` runs on stop (the WebSocket side); `metrics` records every operation. */
export async function startApollo(
  schema: GraphQLSchema,
  httpServer: http.Server,
  limits: Limits,
  rateLimits: RateLimits,
  drain: () => Promise<void>,
  metrics: Metrics,
): Promise<ApolloServer<RequestContext>> {
  const apollo = new ApolloServer<RequestContext>({
    schema,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: drain }) },
      ApolloServerPluginLandingPageDisabled(),
      // The cache-control plugin wraps every field resolver to collect hints; the schema has none, so
      // every response is `no-store`, which `responseShape` sets directly.
      ApolloServerPluginCacheControlDisabled(),
      documentCaps(limits, rateLimits),
      responseShape(),
      // Last: its willSendResponse reads the rate-limit charge as `documentCaps` settled it.
      metricsPlugin(metrics),
    ],
    csrfPrevention: true,
    // main.ts owns the signals: it drains, then closes the database and the embedded server.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // graphql-js stops reading a document at this many tokens (a LIMIT_EXCEEDED, see formatError).
    parseOptions: { maxTokens: limits.maxTokens },
    formatError: (_formatted, error) => formatError(error, (error !== null && typeof error === "object" && errorRequestIds.get(error)) || randomUUID()),
  });
  await apollo.start();
  return apollo;
}
