/**
 * The policy: who may do what, each rule named once. `principal.ts` holds the caller and the rules
 * in memory, `sql.ts` their SQL forms for lists, `require.ts` the refusals a client gets, `scopes.ts`
 * the scope vocabulary. Resolvers declare scopes with `@Authorized(scope)`; services and loaders
 * apply visibility and roles through these functions only.
 */
export * from "./principal";
export * from "./scopes";
export * from "./sql";
export * from "./require";
