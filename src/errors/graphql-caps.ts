import type { GraphQLError } from "graphql";
import { limitExceeded, type DomainError } from "./domain-error";

// graphql 16 spells it "more that"; 17 "more than".
const TOKENS_MESSAGE = /Document contains more tha[nt] (\d+) tokens/;

/**
 * The two caps graphql-js enforces itself, as the LIMIT_EXCEEDED they are (undefined for any other
 * error): the token cap while parsing, and its MaxIntrospectionDepthRule (part of validation since
 * 16.9: lists of schema elements nested more than 3 deep, e.g. `fields { type { fields { … } } }`).
 */
export function documentCapError(error: GraphQLError): DomainError | undefined {
  const tokens = TOKENS_MESSAGE.exec(error.message);
  if (tokens) {
    const maximum = Number(tokens[1]);
    return limitExceeded(`The document has more than ${maximum.toLocaleString("en-US")} tokens; the largest allowed is ${maximum.toLocaleString("en-US")}.`, {
      limit: "tokens",
      maximum: maximum,
    });
  }
  if (error.message === "Maximum introspection depth exceeded") {
    return limitExceeded("The introspection nests lists of schema elements more than 3 deep (e.g. fields of the types of fields).", {
      limit: "introspection",
      maximum: 3,
    });
  }
  return undefined;
}
