// The parse cache is bounded by the text it holds, not only by its count.
import { describe, expect, it } from "vitest";
import { DocumentCache } from "../../src/http/documentCache.ts";

describe("DocumentCache", () => {
  const limits = { maxDocumentLength: 10, maxTotalLength: 25 };

  it("never caches a document longer than the limit", () => {
    const cache = new DocumentCache<number>(limits);
    cache.set("x".repeat(11), 1);
    expect(cache.get("x".repeat(11))).toBeUndefined();
    expect(cache.totalLength).toBe(0);
  });

  it("evicts the least recently used until the total fits", () => {
    const cache = new DocumentCache<number>(limits);
    cache.set("aaaaaaaaaa", 1);
    cache.set("bbbbbbbbbb", 2);
    expect(cache.get("aaaaaaaaaa")).toBe(1); // a is now the most recently used
    cache.set("cccccccccc", 3); // 30 > 25: b goes
    expect(cache.get("bbbbbbbbbb")).toBeUndefined();
    expect(cache.get("aaaaaaaaaa")).toBe(1);
    expect(cache.get("cccccccccc")).toBe(3);
    expect(cache.totalLength).toBe(20);
  });

  it("counts a key set twice once", () => {
    const cache = new DocumentCache<number>(limits);
    cache.set("abc", 1);
    cache.set("abc", 2);
    expect(cache.get("abc")).toBe(2);
    expect(cache.totalLength).toBe(3);
    expect(cache.size).toBe(1);
  });

  it("stays within its bound under many distinct documents", () => {
    const cache = new DocumentCache<number>({ maxDocumentLength: 100, maxTotalLength: 1_000 });
    for (let i = 0; i < 10_000; i++) cache.set(`{ a${i} ${"b".repeat(i % 90)} }`, i);
    expect(cache.totalLength).toBeLessThanOrEqual(1_000);
  });
});
