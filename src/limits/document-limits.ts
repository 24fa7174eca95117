import {
  GraphQLError,
  Kind,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
} from "graphql";
import type { Config } from "../config";
import type { Principal } from "../policy/principal";
import { requireFeature } from "../policy/require";
import { limitExceeded, unauthenticated } from "../errors/domain-error";
import { documentCapError } from "../errors/graphql-caps";
import { analyzeOperation, SATURATED, type DocumentCost } from "./analyze";
import { checkNoNul } from "./text-input";

/**
 * Caps on a single operation, checked before any resolver or SQL runs, the same way over HTTP and
 * WebSocket (issue 11): the document's size and tokens while it is read, then its depth, aliases
 * and cost. A refused document costs a parse and one walk of its text.
 */
export interface DocumentLimits {
  maxCost: number;
  /** A subscription's selection runs once per event: its own, lower cap. */
  maxSubscriptionCost: number;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDocumentBytes: number;
}

export function documentLimits(config: Config): DocumentLimits {
  return {
    maxCost: config.maxQueryCost,
    maxSubscriptionCost: config.maxSubscriptionCost,
    maxDepth: config.maxQueryDepth,
    maxAliases: config.maxQueryAliases,
    maxTokens: config.maxQueryTokens,
    maxDocumentBytes: config.maxDocumentBytes,
  };
}

const fmt = (n: number) => (n >= SATURATED ? "more than 10^12" : n.toLocaleString("en-US"));

/**
 * Without a token there is nothing to ask but `__typename` (everything else is refused), so an
 * anonymous document is held to 2 KB: validating a large one costs CPU that nobody is accountable for.
 */
export const ANONYMOUS_DOCUMENT_BYTES = 2048;

/** The document text's size; checked before it is parsed. */
export function checkDocumentSize(query: unknown, limits: DocumentLimits, anonymous = false): void {
  if (typeof query !== "string") return;
  const maximum = anonymous ? Math.min(ANONYMOUS_DOCUMENT_BYTES, limits.maxDocumentBytes) : limits.maxDocumentBytes;
  // Cheap upper bound first: a UTF-8 character is at most 3 bytes per UTF-16 unit.
  if (query.length * 3 <= maximum) return;
  const bytes = Buffer.byteLength(query, "utf8");
  if (bytes > maximum) {
    const who = anonymous ? " without an access token" : "";
    throw limitExceeded(`The document is ${fmt(bytes)} bytes; the largest allowed${who} is ${fmt(maximum)}.`, {
      limit: "size",
      maximum: maximum,
      actual: bytes,
    });
  }
}

/** Parses with the token cap (graphql-js stops reading at the cap). */
export function parseDocument(query: string, limits: DocumentLimits): DocumentNode {
  checkDocumentSize(query, limits);
  try {
    return parse(query, { maxTokens: limits.maxTokens });
  } catch (e) {
    if (e instanceof GraphQLError) throw documentCapError(e) ?? e;
    throw e;
  }
}

/**
 * Checks a parsed, validated operation against the caps and answers its analysis. Introspection
 * needs a token: an anonymous caller may ask `__typename` and nothing else of the schema. A field
 * that needs a feature the principal's edition lacks (`@RequiresFeature`, `schema/edition.ts`)
 * refuses the whole operation with EDITION_REQUIRED naming the first such field, so nothing of it
 * runs (anonymous callers are refused by the fields' scopes instead).
 */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  principal: Principal | null,
  limits: DocumentLimits,
): DocumentCost {
  const authenticated = principal !== null;
  const operation = getOperationAST(document, operationName);
  if (!operation) return { cost: 0, depth: 0, aliases: 0, introspection: false };
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  // Coerced as execution will see them: a variable's default counts, not only what the client sent.
  // Variables that fail to coerce are refused by execution itself, before any resolver runs.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return { cost: 0, depth: 0, aliases: 0, introspection: false };
  checkNoNul(document, coerced.coerced);
  const { requirements, ...result } = analyzeOperation(schema, operation, fragments, coerced.coerced);
  if (result.introspection && !authenticated) {
    throw unauthenticated("Introspection (`__schema`, `__type`) needs an access token: send `Authorization: Bearer <token>`.");
  }
  if (result.depth > limits.maxDepth) {
    throw limitExceeded(`The document is ${result.depth} fields deep; the deepest allowed is ${limits.maxDepth}.`, {
      limit: "depth",
      maximum: limits.maxDepth,
      actual: result.depth,
    });
  }
  if (result.aliases > limits.maxAliases) {
    throw limitExceeded(`The document has ${fmt(result.aliases)} aliased fields; at most ${limits.maxAliases} are allowed.`, {
      limit: "aliases",
      maximum: limits.maxAliases,
      actual: result.aliases,
    });
  }
  if (operation.operation === "subscription" && result.cost > limits.maxSubscriptionCost) {
    throw limitExceeded(
      `The subscription's selection costs ${fmt(result.cost)} points per event; the largest allowed is ${fmt(limits.maxSubscriptionCost)}. Select fewer fields per event and query details separately.`,
      { limit: "cost", maximum: limits.maxSubscriptionCost, actual: result.cost },
    );
  }
  if (result.cost > limits.maxCost) {
    throw limitExceeded(
      `The query costs ${fmt(result.cost)} points; the largest allowed is ${fmt(limits.maxCost)}. Ask for fewer items (\`first\`/\`last\`) or fewer nested lists.`,
      { limit: "cost", maximum: limits.maxCost, actual: result.cost },
    );
  }
  if (principal) for (const r of requirements) requireFeature(principal, r.feature, `\`${r.field}\``);
  return result;
}

/**
 * The whole pre-execution check of a WebSocket operation (Apollo does its parse and validation
 * itself and calls `checkOperation` from a plugin): size, tokens, validation, caps.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  principal: Principal | null,
  limits: DocumentLimits,
): { document: DocumentNode; cost: DocumentCost } | { errors: readonly GraphQLError[] } {
  const document = parseDocument(payload.query, limits);
  const errors = validate(schema, document);
  if (errors.length) {
    const cap = errors.map(documentCapError).find((e) => e !== undefined);
    if (cap) throw cap;
    return { errors };
  }
  return { document, cost: checkOperation(schema, document, payload.operationName, payload.variables, principal, limits) };
}
