import type { AuthChecker } from "type-graphql";
import type { RequestContext } from "../context";
import { requireScopes } from "../policy/require";
import type { Scope } from "../policy/scopes";

/**
 * The `authChecker` behind `@Authorized(...scopes)` (passed to `buildSchema` in `schema/build.ts`):
 * a field declared with scopes needs a principal (else UNAUTHENTICATED, with the reason its token
 * was refused) whose token carries every one of them (else FORBIDDEN naming the first missing one).
 * `@Authorized()` without scopes needs a principal only. type-graphql runs it before the field's
 * other middlewares (the transaction of `@Transactional()`) and before validating the arguments;
 * on a subscription, when it subscribes. Refusals are thrown here, never answered with `false`
 * (which would become type-graphql's own error, outside our closed codes).
 */
export const scopeAuthChecker: AuthChecker<RequestContext, Scope> = ({ context }, scopes) => {
  requireScopes(context.caller, scopes);
  return true;
};
