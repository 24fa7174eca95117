import type { DocumentNode } from "graphql";

/**
 * Parsed and validated documents by their exact query text, least recently used first out: the
 * subscribers of one subscription text (issue 14: 10,000 sockets, a few distinct documents) share
 * one `DocumentNode` instead of each holding its own tokens and locations (~2 KiB each for a short
 * subscription), and each later subscribe skips the parse and validation. An entry stands for "this
 * text parsed within the token cap and passed validation against the schema", which depends on the
 * text alone (the schema is fixed for the process); what depends on the caller or the variables
 * (depth, cost, edition, scopes) is checked at every use. Bounded by entries and by the total
 * length of the texts it holds; documents are never mutated by graphql-js, so sharing them is safe.
 */
export class DocumentCache {
  /** By text; each entry keeps the text it was stored with (see `canonical`). */
  private readonly entries = new Map<string, { text: string; document: DocumentNode }>();
  private chars = 0;

  constructor(
    private readonly maxEntries = 500,
    /** Total length of the cached texts; a parsed document holds roughly 30 to 50 bytes per character. */
    private readonly maxChars = 256 * 1024,
  ) {}

  /** The cached document of `query`, now the most recently used; undefined when absent. */
  get(query: string): DocumentNode | undefined {
    const entry = this.entries.get(query);
    if (entry) {
      this.entries.delete(query);
      this.entries.set(query, entry);
    }
    return entry?.document;
  }

  /**
   * The cache's own copy of `query`'s text when it holds it (an equal string: a caller that keeps a
   * message's text can keep this one instead of its own copy).
   */
  canonical(query: string): string | undefined {
    return this.entries.get(query)?.text;
  }

  /** Remembers `document` as the parse of `query`, which passed validation; texts longer than a tenth of the budget are not kept. */
  set(query: string, document: DocumentNode): void {
    if (query.length > this.maxChars / 10 || this.entries.has(query)) return;
    this.entries.set(query, { text: query, document });
    this.chars += query.length;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
