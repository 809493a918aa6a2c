// Restore inserts the backup's events in batches closed by count or by size (src/backup/restore.ts):
// a backup of events of megabytes each must not be held 200 at a time.
import { describe, expect, it } from "vitest";
import { InsertBatches } from "../../src/backup/restore.ts";

/** Every batch the events of these sizes are inserted in, in order. */
function batchesOf(sizes: readonly number[], maxItems: number, maxChars: number): number[][] {
  const batches = new InsertBatches<number>(maxItems, maxChars);
  const inserted: number[][] = [];
  sizes.forEach((size, i) => {
    const full = batches.add(i, size);
    if (full !== null) inserted.push(full);
  });
  const rest = batches.rest();
  if (rest.length > 0) inserted.push(rest);
  return inserted;
}

describe("restore's insert batches", () => {
  it("close at the count when the events are small", () => {
    const batches = batchesOf(Array<number>(450).fill(300), 200, 16 * 1024 * 1024);
    expect(batches.map((b) => b.length)).toEqual([200, 200, 50]);
  });

  it("close at the size when the events are large, so no batch holds much more than the bound", () => {
    const fourMiB = 4 * 1024 * 1024;
    const batches = batchesOf(Array<number>(200).fill(fourMiB), 200, 16 * 1024 * 1024);
    expect(batches.map((b) => b.length)).toEqual(Array<number>(50).fill(4));
    // Every event once, in the file's order.
    expect(batches.flat()).toEqual([...Array(200).keys()]);
  });

  it("close as soon as an event passes the size bound, with that event", () => {
    expect(batchesOf([10, 100, 10, 10], 200, 50)).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});
