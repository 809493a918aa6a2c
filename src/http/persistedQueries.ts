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
import { DocumentCache } from "./documentCache.ts";
import type { DocumentCacheLimits } from "./documentCache.ts";

export const DEFAULT_PERSISTED_QUERY_LIMITS: DocumentCacheLimits = {
  maxDocumentLength: 64 * 1024,
  maxTotalLength: 4 * 1024 * 1024,
};

/** Documents by their sha256, bounded like Yoga's document cache by the text they hold. */
export class PersistedQueryStore {
  readonly #documents: DocumentCache<string>;

  constructor(limits: DocumentCacheLimits = DEFAULT_PERSISTED_QUERY_LIMITS) {
    this.#documents = new DocumentCache<string>(limits, (_hash, document) => document.length);
  }

  get size(): number {
    return this.#documents.size;
  }

  get(hash: string): string | null {
    return this.#documents.get(hash) ?? null;
  }

  set(hash: string, document: string): void {
    this.#documents.set(hash, document);
  }
}

export const persistedQueriesPlugin = (store = new PersistedQueryStore()): Plugin => useAPQ({ store });
