import type { AuthChecker } from "type-graphql";
import { RequestContext } from "../context";
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

/** Scopes declared with `@ScopedField`, by resolver class and method (read by `schema/build.ts`). */
const inlineScopes = new Map<object, Map<string, readonly Scope[]>>();

/** The scopes `@ScopedField` declared on `resolverClass.method`, if any. */
export function scopedFieldScopes(resolverClass: object, method: string): readonly Scope[] | undefined {
  return inlineScopes.get(resolverClass)?.get(method);
}

/**
 * `@Authorized(...scopes)` for field resolvers that run once per item of a list (`Department.parent`
 * for every department of a page): the same check (`requireScopes`) and the same sentence in the
 * schema's description, but made synchronously inside the resolver's own call. type-graphql runs an
 * `@Authorized` field through its async middleware chain, several promises per value: measured +17 %
 * CPU per request on a members page with their departments' parents and ancestors (issue 12). The
 * method must take the `RequestContext` (`@Ctx()`).
 */
export function ScopedField(...scopes: Scope[]): MethodDecorator {
  return (target, method, descriptor) => {
    const resolverClass = target.constructor;
    if (!inlineScopes.has(resolverClass)) inlineScopes.set(resolverClass, new Map());
    inlineScopes.get(resolverClass)!.set(String(method), scopes);
    const resolve = descriptor.value as unknown as (...args: unknown[]) => unknown;
    const checked = function (this: unknown, ...args: unknown[]) {
      const ctx = args.find((arg): arg is RequestContext => arg instanceof RequestContext);
      if (!ctx) throw new Error(`@ScopedField on ${resolverClass.name}.${String(method)} needs an @Ctx() parameter`);
      requireScopes(ctx.caller, scopes);
      return resolve.apply(this, args);
    };
    descriptor.value = checked as unknown as typeof descriptor.value;
    return descriptor;
  };
}
