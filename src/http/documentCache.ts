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
  readonly #entries = new Map<string, T>();
  #total = 0;

  constructor(readonly limits: DocumentCacheLimits = DEFAULT_DOCUMENT_CACHE_LIMITS) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The text of all cached documents, in UTF-16 units. */
  get totalLength(): number {
    return this.#total;
  }

  get(key: string): T | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    // Most recently used last: eviction takes from the front.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: T): void {
    if (key.length > this.limits.maxDocumentLength) return;
    if (this.#entries.delete(key)) this.#total -= key.length;
    this.#entries.set(key, value);
    this.#total += key.length;
    for (const oldest of this.#entries.keys()) {
      if (this.#total <= this.limits.maxTotalLength) break;
      this.#entries.delete(oldest);
      this.#total -= oldest.length;
    }
  }
}
