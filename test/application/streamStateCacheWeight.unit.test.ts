// PostgreSQL's stream state cache (src/application/streamStateCache.ts) is bounded by what its entries
// weigh, not only by how many there are: a version's params, description and tags can reach about a
// megabyte each, and 1,000 streams of 32 such versions would otherwise fill the instance's memory.
import { describe, expect, it } from "vitest";
import {
  MAX_CACHED_WEIGHT,
  MAX_ENTRY_WEIGHT,
  StreamStateCache,
} from "../../src/application/streamStateCache.ts";
import type { StreamViews } from "../../src/projections/streamViews.ts";
import { headAt } from "../support/cachedHeads.ts";

const MiB = 1024 * 1024;

/** A stream at `revision` whose one version has a description of `size` characters. */
const viewsWith = (streamId: string, revision: number, size: number) =>
  ({
    streamId,
    model: { revision },
    versions: new Map([[1, { version: 1, description: "d".repeat(size) }]]),
    artifacts: new Map([[1, []]]),
    comments: new Map(),
    reviews: new Map(),
    deployments: new Map(),
  }) as unknown as StreamViews;

const needsVersion = { versions: [1], versionsInStage: null, openReviews: false };

describe("the stream state cache's weight", () => {
  it("drops the least recently remembered streams to stay under its bound", () => {
    const cache = new StreamStateCache();
    for (let i = 0; i < 60; i++) {
      cache.remember(`s${i}`, 0, headAt(1), viewsWith(`s${i}`, 1, MiB), null);
      expect(cache.weight).toBeLessThanOrEqual(MAX_CACHED_WEIGHT);
    }
    expect(cache.size).toBeGreaterThan(20);
    expect(cache.size).toBeLessThan(MAX_CACHED_WEIGHT / MiB);
    // The newest are kept, the oldest gone.
    expect(cache.take("s59", needsVersion)).not.toBeNull();
    expect(cache.take("s0", needsVersion)).toBeNull();
  });

  it("does not keep an entry heavier than its own bound, and forgets the stream's older one", () => {
    const cache = new StreamStateCache();
    cache.remember("big", 0, headAt(1), viewsWith("big", 1, 10), null);
    expect(cache.size).toBe(1);
    cache.remember("big", 1, headAt(2), viewsWith("big", 2, MAX_ENTRY_WEIGHT), null);
    expect(cache.size).toBe(0);
    expect(cache.weight).toBe(0);
  });

  it("counts down what it hands out and what it forgets", () => {
    const cache = new StreamStateCache();
    cache.remember("a", 0, headAt(1), viewsWith("a", 1, 1000), null);
    cache.remember("b", 0, headAt(1), viewsWith("b", 1, 2000), null);
    const both = cache.weight;
    expect(both).toBeGreaterThan(3000);
    const taken = cache.take("a", needsVersion);
    expect(taken).not.toBeNull();
    expect(cache.weight).toBeLessThan(both);
    cache.restore("a", taken!);
    expect(cache.weight).toBe(both);
    cache.forget("a");
    cache.forget("b");
    expect(cache.weight).toBe(0);
  });

  it("weighs params by what they hold, and does not keep a view nested past its bound or cyclic", () => {
    const cache = new StreamStateCache();
    const withParams = (params: unknown) =>
      ({
        ...viewsWith("p", 1, 0),
        versions: new Map([[1, { version: 1, params }]]),
      }) as unknown as StreamViews;
    cache.remember("p", 0, headAt(1), withParams({ lr: "0.1" }), null);
    const small = cache.weight;
    cache.forget("p");
    cache.remember("p", 0, headAt(1), withParams({ lr: "0.1", vocabulary: "w".repeat(100_000) }), null);
    expect(cache.weight - small).toBeGreaterThanOrEqual(100_000);
    cache.forget("p");
    let deep: unknown = "leaf";
    for (let i = 0; i < 100; i++) deep = { deeper: deep };
    cache.remember("p", 0, headAt(1), withParams(deep), null);
    expect(cache.size).toBe(0);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => cache.remember("p", 0, headAt(1), withParams(cyclic), null)).not.toThrow();
    expect(cache.size).toBe(0);
    expect(cache.weight).toBe(0);
  });
});
