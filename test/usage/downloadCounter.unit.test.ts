// The in-memory download counter: keys, bucket boundaries, the key cap, retries of a failed batch
// under the same id, and the flush at close.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DownloadCounter } from "../../src/usage/downloadCounter.ts";
import type { DownloadBatch } from "../../src/usage/downloadCounter.ts";
import { downloadRows } from "../../src/usage/usageStore.ts";
import { bucketStartMs } from "../../src/usage/timeBuckets.ts";

const logger = pino({ level: "silent" });

function counter(options: { maxKeys?: number; fail?: () => boolean } = {}) {
  const applied: DownloadBatch[] = [];
  const attempts: string[] = [];
  let n = 0;
  const c = new DownloadCounter({
    logger,
    flushIntervalMs: 60_000,
    maxKeys: options.maxKeys ?? 100,
    newBatchId: () => `batch-${++n}`,
    apply: (batch) => {
      attempts.push(batch.id);
      if (options.fail?.()) return Promise.reject(new Error("database unreachable"));
      applied.push(batch);
      return Promise.resolve();
    },
  });
  return { c, applied, attempts };
}

const download = (over: Partial<Parameters<DownloadCounter["record"]>[0]> = {}) => ({
  modelId: "m1",
  version: 1,
  path: "model.onnx",
  consumerId: "p1",
  bytes: 100,
  at: new Date("2026-12-03T10:15:00Z"),
  ...over,
});

describe("the download counter", () => {
  it("adds downloads of one key within an hour, and keeps keys apart by version, path, consumer and hour", async () => {
    const { c, applied } = counter();
    c.record(download());
    c.record(download({ bytes: 50, at: new Date("2026-12-03T10:59:59.999Z") }));
    c.record(download({ version: 2 }));
    c.record(download({ path: "other.bin" }));
    c.record(download({ consumerId: "p2" }));
    c.record(download({ at: new Date("2026-12-03T11:00:00Z") }));
    expect(c.pendingKeys).toBe(5);
    await c.flush();
    expect(applied).toHaveLength(1);
    const counts = applied[0]!.counts;
    expect(counts).toHaveLength(5);
    const first = counts.find(
      (k) =>
        k.version === 1 &&
        k.path === "model.onnx" &&
        k.consumerId === "p1" &&
        k.hourStart === Date.parse("2026-12-03T10:00:00Z"),
    );
    expect(first).toMatchObject({ count: 2, bytes: 150, lastAt: Date.parse("2026-12-03T10:59:59.999Z") });
    expect(c.pendingKeys).toBe(0);
  });

  it("cuts buckets at UTC hours and days", () => {
    expect(bucketStartMs("HOUR", Date.parse("2026-12-03T23:59:59.999Z"))).toBe(
      Date.parse("2026-12-03T23:00:00Z"),
    );
    expect(bucketStartMs("DAY", Date.parse("2026-12-03T23:59:59.999Z"))).toBe(
      Date.parse("2026-12-03T00:00:00Z"),
    );
    expect(bucketStartMs("DAY", Date.parse("2026-12-04T00:00:00Z"))).toBe(Date.parse("2026-12-04T00:00:00Z"));
  });

  it("rolls a batch's hours up into day rows, summing the hours of one day", () => {
    const rows = downloadRows({
      id: "b",
      counts: [
        {
          modelId: "m",
          version: 1,
          path: "a",
          consumerId: "p",
          hourStart: Date.parse("2026-12-03T10:00:00Z"),
          count: 2,
          bytes: 20,
          lastAt: Date.parse("2026-12-03T10:30:00Z"),
        },
        {
          modelId: "m",
          version: 1,
          path: "a",
          consumerId: "p",
          hourStart: Date.parse("2026-12-03T23:00:00Z"),
          count: 3,
          bytes: 30,
          lastAt: Date.parse("2026-12-03T23:10:00Z"),
        },
        {
          modelId: "m",
          version: 1,
          path: "a",
          consumerId: "p",
          hourStart: Date.parse("2026-12-04T00:00:00Z"),
          count: 1,
          bytes: 10,
          lastAt: Date.parse("2026-12-04T00:01:00Z"),
        },
      ],
    });
    const days = rows.filter((r) => r.granularity === "DAY");
    expect(rows.filter((r) => r.granularity === "HOUR")).toHaveLength(3);
    expect(
      days.map((d) => [
        new Date(d.bucketStart).toISOString(),
        d.count,
        d.bytes,
        new Date(d.lastAt).toISOString(),
      ]),
    ).toEqual([
      ["2026-12-03T00:00:00.000Z", 5, 50, "2026-12-03T23:10:00.000Z"],
      ["2026-12-04T00:00:00.000Z", 1, 10, "2026-12-04T00:01:00.000Z"],
    ]);
  });

  it("forces a flush when the key cap is reached, and drops (and counts) downloads while full and failing", async () => {
    let failing = true;
    const { c, applied, attempts } = counter({ maxKeys: 3, fail: () => failing });
    for (let i = 0; i < 3; i++) c.record(download({ consumerId: `p${i}` }));
    // The third key reached the cap: a flush started (and fails); its keys stay as the unapplied batch.
    await expect(c.flush()).rejects.toThrow("unreachable");
    expect(attempts[0]).toBe("batch-1");
    for (let i = 3; i < 6; i++) c.record(download({ consumerId: `p${i}` }));
    c.record(download({ consumerId: "one too many" }));
    expect(c.dropped).toBe(1);
    expect(c.pendingKeys).toBe(6);
    failing = false;
    await c.flush();
    expect(applied.map((b) => [b.id, b.counts.length])).toEqual([
      ["batch-1", 3],
      ["batch-2", 3],
    ]);
    expect(c.pendingKeys).toBe(0);
  });

  it("does not pile up flushes while full and failing: forced flushes are spaced, callers share one", async () => {
    const { c, attempts } = counter({ maxKeys: 2, fail: () => true });
    for (let i = 0; i < 1_000; i++) c.record(download({ consumerId: `p${i}` }));
    const asked = Array.from({ length: 100 }, () => c.flush());
    expect(new Set(asked).size).toBe(1);
    await Promise.all(asked.map((p) => p.catch(() => "failed")));
    // The forced flush (the cap reached), and the one all 100 callers shared.
    expect(attempts.length).toBeLessThanOrEqual(4);
    expect(c.dropped).toBe(998 - 2);
  });

  it("retries a failed batch under the same id, with exactly its counts", async () => {
    let fail = true;
    const { c, applied, attempts } = counter({ fail: () => fail });
    c.record(download());
    await expect(c.flush()).rejects.toThrow();
    c.record(download({ consumerId: "later" }));
    fail = false;
    await c.flush();
    expect(attempts).toEqual(["batch-1", "batch-1", "batch-2"]);
    expect(applied.map((b) => b.counts.map((k) => k.consumerId))).toEqual([["p1"], ["later"]]);
  });

  it("flushes what is pending when closed", async () => {
    const { c, applied } = counter();
    c.start();
    c.record(download());
    await c.close();
    expect(applied).toHaveLength(1);
    expect(applied[0]!.counts[0]).toMatchObject({ count: 1, bytes: 100 });
  });
});
