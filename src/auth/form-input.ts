/** C0 control characters and DEL. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Whether `value` holds a control character (U+0000–U+001F or U+007F). No OAuth parameter may hold
 * one (RFC 6749 Appendix A: client ids, secrets, codes, tokens, state and scope are visible ASCII
 * and spaces), nor a login; PostgreSQL refuses U+0000 in text outright, so such a value is refused
 * before any lookup instead of failing the query (security review: a NUL answered 500).
 */
export function hasControlCharacter(value: string | undefined): boolean {
  return value !== undefined && CONTROL_CHARACTER.test(value);
}
