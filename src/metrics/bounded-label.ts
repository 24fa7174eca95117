/**
 * A label whose values come from clients (operation names, error codes), kept bounded: a value is
 * used as itself only if it matches `pattern` and is among the first `limit` distinct values this
 * process admitted; anything else is `fallback`. Prometheus keeps one series per label value, so
 * an unbounded label would let any client grow the server's memory and every scrape without end.
 * First come, first kept: once `limit` names are in, new ones share `fallback` until the restart.
 */
export class BoundedLabel {
  private readonly admitted = new Set<string>();

  constructor(
    private readonly pattern: RegExp,
    readonly limit: number,
    readonly fallback: string,
  ) {}

  /** The label for `raw`; `admit: false` labels an unknown value `fallback` without admitting it. */
  value(raw: string, admit = true): string {
    if (this.admitted.has(raw)) return raw;
    if (!admit || this.admitted.size >= this.limit || !this.pattern.test(raw)) return this.fallback;
    this.admitted.add(raw);
    return raw;
  }
}
