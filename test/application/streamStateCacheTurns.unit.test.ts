// PostgreSQL's stream state cache (src/application/streamStateCache.ts): commands of one instance on
// one stream take turns, and a command may be decided on the state the one before it will leave once
// that one's writes are queued for their commit. What is remembered then is provisional: it must
// never be taken for committed state by a command that did not take it, and a write that runs again
// (its group commit failed) must not leave its first head behind.
import { describe, expect, it } from "vitest";
import { StreamStateCache } from "../../src/application/streamStateCache.ts";
import type { StreamViews } from "../../src/projections/streamViews.ts";
import { headAt } from "../support/cachedHeads.ts";

/** A stream at `revision` holding the given versions (number → description). */
const viewsWith = (revision: number, versions: Record<number, string>) =>
  ({
    streamId: "s",
    model: { revision },
    versions: new Map(
      Object.entries(versions).map(([v, d]) => [Number(v), { version: Number(v), description: d }]),
    ),
    artifacts: new Map(Object.keys(versions).map((v) => [Number(v), []])),
    comments: new Map(),
    reviews: new Map(),
    deployments: new Map(),
  }) as unknown as StreamViews;

const needs = (...versions: number[]) => ({ versions, versionsInStage: null, openReviews: false });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("turns on a stream", () => {
  it("lets a command that can take the state go on once the one before is queued, one that must read once it is done", async () => {
    const cache = new StreamStateCache();
    cache.remember("s", 0, headAt(1), viewsWith(1, { 1: "one" }), null);
    const first = await cache.turn("s", needs(1));
    expect(first.cached?.head.revision).toBe(1);
    const order: string[] = [];
    const taking = cache.turn("s", needs(2)).then((turn) => {
      order.push(`taking:${turn.cached?.head.revision ?? "read"}`);
      return turn;
    });
    const reading = taking.then(() =>
      cache.turn("s", null).then((turn) => {
        order.push("reading");
        return turn;
      }),
    );
    await settle();
    expect(order).toEqual([]);
    // The first's writes are queued: it remembers the state they will leave.
    cache.remember(
      "s",
      1,
      headAt(2, "2".repeat(64)),
      viewsWith(2, { 1: "one", 2: "two" }),
      first.cached,
      true,
    );
    first.queued();
    const second = await taking;
    expect(second.cached?.head.hash).toBe("2".repeat(64));
    second.queued();
    second.end();
    await settle();
    // The third reads everything: it waits for the first to be done, not only queued.
    expect(order).toEqual(["taking:2"]);
    first.end();
    (await reading).end();
    expect(order).toEqual(["taking:2", "reading"]);
  });

  it("makes one that cannot use the state left wait until the one before is done, then take what it left", async () => {
    const cache = new StreamStateCache();
    const first = await cache.turn("s", needs(1));
    const next = cache.turn("s", needs(1));
    cache.remember("s", 0, headAt(1), viewsWith(1, { 2: "two" }), null, true);
    first.queued();
    let went = false;
    void next.then(() => (went = true));
    await settle();
    // Version 1 is not in what the first will leave: the next waits for the first to be done.
    expect(went).toBe(false);
    cache.remember("s", 0, headAt(1), viewsWith(1, { 1: "one" }), null);
    first.end();
    expect((await next).cached?.views.versions.get(1)).toMatchObject({ description: "one" });
  });
});

describe("provisional entries", () => {
  it("are never the base of a command that decided on their revision without taking them", () => {
    const cache = new StreamStateCache();
    // Queued, never to commit: its version 5 was never written.
    cache.remember("s", 1, headAt(2, "a".repeat(64)), viewsWith(2, { 5: "never written" }), null, true);
    // Another command read revision 2 from the database and committed revision 3.
    cache.remember("s", 2, headAt(3, "b".repeat(64)), viewsWith(3, { 6: "six" }), null);
    expect(cache.take("s", needs(5))).toBeNull();
    expect(cache.take("s", needs(6))).not.toBeNull();
  });

  it("are the base of others once confirmed: their command committed them", () => {
    const cache = new StreamStateCache();
    cache.remember("s", 1, headAt(2, "a".repeat(64)), viewsWith(2, { 5: "five" }), null, true);
    cache.confirm("s", "a".repeat(64));
    cache.remember("s", 2, headAt(3, "b".repeat(64)), viewsWith(3, { 6: "six" }), null);
    expect(cache.take("s", needs(5, 6))?.views.versions.get(5)).toMatchObject({ description: "five" });
  });

  it("give way to committed state of their revision, and are forgotten when their write runs again", () => {
    const cache = new StreamStateCache();
    cache.remember("s", 1, headAt(2, "a".repeat(64)), viewsWith(2, { 5: "first run" }), null, true);
    cache.remember("s", 1, headAt(2, "b".repeat(64)), viewsWith(2, { 5: "committed" }), null);
    expect(cache.take("s", needs(5))?.head.hash).toBe("b".repeat(64));

    cache.remember("s", 1, headAt(2, "c".repeat(64)), viewsWith(2, { 5: "first run" }), null, true);
    // Only the provisional entry with that head goes.
    cache.forgetProvisional("s", "d".repeat(64));
    expect(cache.size).toBe(1);
    cache.forgetProvisional("s", "c".repeat(64));
    expect(cache.size).toBe(0);
  });

  it("are committed state once put back by a command that took one and whose guard committed", () => {
    const cache = new StreamStateCache();
    cache.remember("s", 1, headAt(2, "a".repeat(64)), viewsWith(2, { 5: "five" }), null, true);
    const taken = cache.take("s", needs(5));
    expect(taken).not.toBeNull();
    // Its command appended nothing; its guard held: the head is the stream's.
    cache.restore("s", taken!);
    cache.remember("s", 2, headAt(3, "b".repeat(64)), viewsWith(3, { 6: "six" }), null);
    expect(cache.take("s", needs(5, 6))?.views.versions.get(5)).toMatchObject({ description: "five" });
  });

  it("tell whether the stream's entry is the one with a head", () => {
    const cache = new StreamStateCache();
    expect(cache.holds("s", "a".repeat(64))).toBe(false);
    cache.remember("s", 1, headAt(2, "a".repeat(64)), viewsWith(2, { 5: "five" }), null, true);
    expect(cache.holds("s", "a".repeat(64))).toBe(true);
    expect(cache.holds("s", "b".repeat(64))).toBe(false);
  });
});
