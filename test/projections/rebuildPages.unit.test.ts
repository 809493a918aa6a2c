// The rebuild's first pass reads the model log in pages sized by what the events weigh
// (src/projections/rebuild.ts, nextPageSize): 5,000 events of up to a megabyte each would hold
// gigabytes, two pages at a time.
import { describe, expect, it } from "vitest";
import { nextPageSize } from "../../src/projections/rebuild.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";

/** `count` rows whose event data is `bytes` characters long, as SQLite returns it (text). */
const rows = (count: number, bytes: number, data: (text: string) => unknown = (text) => text) =>
  Array.from(
    { length: count },
    (_, i) => ({ position: i + 1, data: data("x".repeat(bytes)) }) as ChainSqlRow,
  );

describe("the rebuild's page size", () => {
  it("grows fourfold at most per page, up to the largest page, while events are small", () => {
    expect(nextPageSize(rows(250, 300), 250, 5000)).toBe(1000);
    expect(nextPageSize(rows(1000, 300), 1000, 5000)).toBe(4000);
    expect(nextPageSize(rows(4000, 300), 4000, 5000)).toBe(5000);
  });

  it("shrinks to what 16 MiB holds when events are large, and never below a few events", () => {
    // 250 events of a megabyte: 16 of them fit.
    expect(nextPageSize(rows(250, 2 ** 20), 250, 5000)).toBe(15);
    expect(nextPageSize(rows(20, 64 * 2 ** 20), 250, 5000)).toBe(8);
    // A largest page below the floor is kept (tests read two events per page).
    expect(nextPageSize(rows(2, 64 * 2 ** 20), 2, 2)).toBe(2);
  });

  it("weighs PostgreSQL's parsed jsonb by its serialisation", () => {
    const parsed = rows(250, 2 ** 20, (text) => ({ description: text }));
    expect(nextPageSize(parsed, 250, 5000)).toBe(15);
  });

  it("keeps the size for an empty page (the last one)", () => {
    expect(nextPageSize([], 250, 5000)).toBe(1000);
  });
});
