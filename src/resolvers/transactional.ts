import { UseMiddleware } from "type-graphql";
import type { RequestContext } from "../context";

/** Marks a mutation as one transaction: everything its service does commits or rolls back together. */
export function Transactional(): MethodDecorator {
  return UseMiddleware(({ context }, next) => (context as RequestContext).transaction(() => next()));
}
