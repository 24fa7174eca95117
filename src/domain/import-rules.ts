/** Largest `csv` accepted inline by `importMembers`; larger files go to `POST /imports`. */
export const MAX_INLINE_CSV_BYTES = 5 * 1024 * 1024;
/** Largest `rows` list accepted by `importMembers`. */
export const MAX_INLINE_ROWS = 10_000;
/** REPLACE refuses to resign more than this share of the active members unless the caller raises it. */
export const DEFAULT_MAX_RESIGN_RATIO = 0.2;

/** One member of an import: the CSV's columns (the same as the GraphQL `ImportRowInput`). */
export interface ImportRow {
  employeeId: string;
  name: string;
  /** Department paths separated by `;`, the first the main department. */
  department: string;
  title?: string | null;
  extension?: string | null;
  mobile?: string | null;
  email?: string | null;
}
