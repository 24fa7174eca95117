/** Collects positional parameters for raw SQL; `$1` is always the corp (see CorpDb). */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly offset = 2) {}

  /** Adds `value`; returns its placeholder (`$2`, `$3`, …). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length + this.offset - 1}`;
  }
}

/** Escapes `%`, `_` and `\` for a LIKE pattern. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
