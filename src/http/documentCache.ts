// Yoga caches parsed documents (and parse errors) keyed by the document's text, in LRUs of 1,000
// entries each. Bounded by count only, that is a memory amplifier: 1,000 distinct documents of a few
// hundred kilobytes each (under every operation limit, or refused with an error that keeps the whole
// source) pinned hundreds of megabytes, and the fuzz run ended in an out-of-memory crash. This cache
// is bounded by the text it holds: long documents are not cached at all (clients that send them
// are rare and pay only a parse), and the total is capped, evicting the least recently used.

export interface DocumentCacheLimits {
  /** Documents longer than this (in UTF-16 units) are parsed every time, never cached. */
  readonly maxDocumentLength: number;
  /** The cached documents' text adds up to at most this. */
  readonly maxTotalLength: number;
}

export const DEFAULT_DOCUMENT_CACHE_LIMITS: DocumentCacheLimits = {
  maxDocumentLength: 16 * 1024,
  maxTotalLength: 2 * 1024 * 1024,
};

export class DocumentCache<T> {
  // Each entry with the text it counts against the bounds.
  readonly #entries = new Map<string, { readonly value: T; readonly size: number }>();
  #total = 0;

  /**
   * `sizeOf` is the text an entry holds: the document itself (its key) by default; a cache keyed by
   * something else (a persisted query's hash) counts the document it stores instead.
   */
  constructor(
    readonly limits: DocumentCacheLimits = DEFAULT_DOCUMENT_CACHE_LIMITS,
    private readonly sizeOf: (key: string, value: T) => number = (key) => key.length,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The text of all cached documents, in UTF-16 units. */
  get totalLength(): number {
    return this.#total;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Most recently used last: eviction takes from the front.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: T): void {
    const size = this.sizeOf(key, value);
    if (size > this.limits.maxDocumentLength) return;
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#entries.delete(key);
      this.#total -= previous.size;
    }
    this.#entries.set(key, { value, size });
    this.#total += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#total <= this.limits.maxTotalLength) break;
      this.#entries.delete(oldest);
      this.#total -= entry.size;
    }
  }
}
