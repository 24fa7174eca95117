/** Relay page size limits (PRODUCT.md: at most 100 a page). */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
