// Automatic persisted queries (Apollo's protocol, through Yoga's APQ plugin): a client sends a
// document's sha256 instead of the document; the first time, the server answers
// PERSISTED_QUERY_NOT_FOUND, the client sends both, and the server keeps the pair. The plugin checks
// that the hash is the document's, so nobody can plant a different document under someone else's
// hash. Its default store is bounded by count only, which lets large documents pin memory (see
// ./documentCache.ts for the same lesson); this one is bounded by the text it keeps, least recently
// used first. Each instance keeps its own: behind a load balancer a client may be asked for a
// document once per instance, which the protocol handles.
import { useAPQ } from "@graphql-yoga/plugin-apq";
import type { Plugin } from "graphql-yoga";

export interface PersistedQueryLimits {
  /** Documents longer than this (UTF-16 units) are never kept: their clients keep sending them. */
  readonly maxDocumentLength: number;
  /** The documents kept add up to at most this. */
  readonly maxTotalLength: number;
}

export const DEFAULT_PERSISTED_QUERY_LIMITS: PersistedQueryLimits = {
  maxDocumentLength: 64 * 1024,
  maxTotalLength: 4 * 1024 * 1024,
};

export class PersistedQueryStore {
  readonly #documents = new Map<string, string>();
  #total = 0;

  constructor(readonly limits: PersistedQueryLimits = DEFAULT_PERSISTED_QUERY_LIMITS) {}

  get size(): number {
    return this.#documents.size;
  }

  get(hash: string): string | null {
    const document = this.#documents.get(hash);
    if (document === undefined) return null;
    this.#documents.delete(hash);
    this.#documents.set(hash, document);
    return document;
  }

  set(hash: string, document: string): void {
    if (document.length > this.limits.maxDocumentLength) return;
    const previous = this.#documents.get(hash);
    if (previous !== undefined) {
      this.#documents.delete(hash);
      this.#total -= previous.length;
    }
    this.#documents.set(hash, document);
    this.#total += document.length;
    for (const [oldest, text] of this.#documents) {
      if (this.#total <= this.limits.maxTotalLength) break;
      this.#documents.delete(oldest);
      this.#total -= text.length;
    }
  }
}

export const persistedQueriesPlugin = (store = new PersistedQueryStore()): Plugin => useAPQ({ store });
