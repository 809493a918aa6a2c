// The usage tables on SQLite and PostgreSQL: a batch applied twice counts once, two counters on one
// database sum, hours roll up into days, serving latencies merge as documented, retention prunes.
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import type { DownloadBatch, DownloadCount } from "../../src/usage/downloadCounter.ts";
import {
  applyDownloadBatch,
  applyServingReport,
  metricPoints,
  pruneUsage,
  usagePoints,
  versionConsumers,
} from "../../src/usage/usageStore.ts";
import type { ServingRecord } from "../../src/usage/usageStore.ts";
import { DAY_MS } from "../../src/usage/timeBuckets.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const H10 = Date.parse("2026-12-03T10:00:00Z");
const now = new Date("2026-12-03T12:00:00Z");

const count = (over: Partial<DownloadCount> = {}): DownloadCount => ({
  modelId: "m1",
  version: 1,
  path: "model.onnx",
  consumerId: "p1",
  hourStart: H10,
  count: 1,
  bytes: 100,
  lastAt: H10 + 60_000,
  ...over,
});

const range = (
  granularity: "HOUR" | "DAY",
  over: { version?: number | null; environment?: string | null } = {},
) => ({
  granularity,
  modelId: "m1",
  version: 1,
  from: new Date("2026-12-01T00:00:00Z"),
  to: new Date("2026-12-05T00:00:00Z"),
  environment: null,
  ...over,
});

const serving = (over: Partial<ServingRecord> = {}): ServingRecord => ({
  batchId: null,
  modelId: "m1",
  version: 1,
  environment: "prod-eu",
  windowStart: new Date("2026-12-03T10:00:00Z"),
  windowEnd: new Date("2026-12-03T10:05:00Z"),
  requests: 100,
  errors: 1,
  latencyP50Ms: 10,
  latencyP99Ms: 50,
  metrics: [],
  ...over,
});

describe.each(await providers())("usage buckets on %s", (provider) => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });
  const open = async () => {
    const t = await openTestDatabase(provider);
    cleanup.push(t.close);
    return t;
  };

  it("counts a batch applied twice (same id, as after an unknown commit outcome) once", async () => {
    const { db } = await open();
    const batch: DownloadBatch = { id: "batch-1", counts: [count({ count: 3, bytes: 300 })] };
    expect(await applyDownloadBatch(db, batch, now)).toBe(true);
    expect(await applyDownloadBatch(db, batch, now)).toBe(false);
    const [hour] = await usagePoints(db, range("HOUR"));
    const [day] = await usagePoints(db, range("DAY"));
    expect(hour).toMatchObject({ start: new Date(H10), downloads: 3, bytes: 300, requests: 0 });
    expect(day).toMatchObject({ start: new Date("2026-12-03T00:00:00Z"), downloads: 3, bytes: 300 });
  });

  it("rolls hours up into days, and answers consumers from the days", async () => {
    const { db } = await open();
    await applyDownloadBatch(
      db,
      {
        id: "b1",
        counts: [
          count({ count: 2, bytes: 20 }),
          count({ hourStart: H10 + 3_600_000, count: 5, bytes: 50, lastAt: H10 + 3_700_000 }),
          count({ consumerId: "p2", count: 1, bytes: 10 }),
          count({ path: "weights.bin", count: 1, bytes: 1000 }),
        ],
      },
      now,
    );
    await applyDownloadBatch(db, { id: "b2", counts: [count({ count: 4, bytes: 40 })] }, now);
    const hours = await usagePoints(db, range("HOUR"));
    expect(hours.map((p) => [p.start.toISOString(), p.downloads, p.bytes])).toEqual([
      ["2026-12-03T10:00:00.000Z", 8, 1070],
      ["2026-12-03T11:00:00.000Z", 5, 50],
    ]);
    const days = await usagePoints(db, range("DAY"));
    expect(days.map((p) => [p.downloads, p.bytes])).toEqual([[13, 1120]]);
    const byDownloads = await versionConsumers(
      db,
      { modelId: "m1", version: 1 },
      { since: null, order: "DOWNLOADS", limit: 10, offset: 0 },
    );
    expect(byDownloads.totalCount).toBe(2);
    expect(
      byDownloads.consumers.map((c) => [c.principalId, c.downloads, c.bytes, c.lastSeenAt.toISOString()]),
    ).toEqual([
      ["p1", 12, 1110, new Date(H10 + 3_700_000).toISOString()],
      ["p2", 1, 10, new Date(H10 + 60_000).toISOString()],
    ]);
    const recent = await versionConsumers(
      db,
      { modelId: "m1", version: 1 },
      { since: new Date(H10 + 120_000), order: "LAST_SEEN", limit: 10, offset: 0 },
    );
    expect(recent.consumers.map((c) => c.principalId)).toEqual(["p1"]);
  });

  it("merges serving reports: counts add, p50 request-weighted, p99 the largest; metrics sum, last is latest", async () => {
    const { db } = await open();
    await applyServingReport(db, serving({ metrics: [{ name: "gpu_util", value: 0.5 }] }), now);
    await applyServingReport(
      db,
      serving({
        windowStart: new Date("2026-12-03T10:05:00Z"),
        windowEnd: new Date("2026-12-03T10:10:00Z"),
        requests: 300,
        errors: 3,
        latencyP50Ms: 20,
        latencyP99Ms: 40,
        metrics: [{ name: "gpu_util", value: 0.9 }],
      }),
      now,
    );
    await applyServingReport(
      db,
      serving({ environment: "staging", requests: 0, errors: 0, latencyP50Ms: null, latencyP99Ms: null }),
      now,
    );
    for (const granularity of ["HOUR", "DAY"] as const) {
      const [point] = await usagePoints(db, range(granularity));
      expect(point).toMatchObject({ requests: 400, errors: 4, latencyP99Ms: 50, downloads: 0 });
      expect(point!.p50Weighted / point!.p50Weight).toBeCloseTo((10 * 100 + 20 * 300) / 400);
      const [metric] = await metricPoints(db, range(granularity));
      expect(metric).toMatchObject({ name: "gpu_util", reports: 2, last: 0.9 });
      expect(metric!.sum).toBeCloseTo(1.4);
    }
    const staging = await usagePoints(db, range("HOUR", { environment: "staging" }));
    expect(staging.map((p) => [p.requests, p.latencyP99Ms])).toEqual([[0, null]]);
  });

  it("saturates a bucket's counts at 2^53 - 1 instead of overflowing them", async () => {
    const { db } = await open();
    // Clients choose what is added (10^12 requests a report, reports without limit): past 2^63 a
    // BIGINT overflows (PostgreSQL refused the report; SQLite made the count an inexact REAL).
    for (let i = 0; i < 3; i++)
      await applyServingReport(
        db,
        serving({ requests: 4e15, errors: 4e15, latencyP50Ms: 1, latencyP99Ms: 1 }),
        now,
      );
    await applyDownloadBatch(db, { id: "b-1", counts: [count({ count: 5e15, bytes: 5e15 })] }, now);
    await applyDownloadBatch(db, { id: "b-2", counts: [count({ count: 5e15, bytes: 5e15 })] }, now);
    const rows = await db.query<Record<string, unknown>>(
      `SELECT "granularity", "series", "count", "errors", "bytes" FROM "usage_buckets" ORDER BY "granularity", "series"`,
    );
    const max = Number.MAX_SAFE_INTEGER;
    expect(
      rows.map((r) => [r.granularity, r.series, Number(r.count), Number(r.errors), Number(r.bytes)]),
    ).toEqual([
      ["DAY", "DOWNLOADS", max, 0, max],
      ["DAY", "SERVING", max, max, 0],
      ["HOUR", "DOWNLOADS", max, 0, max],
      ["HOUR", "SERVING", max, max, 0],
    ]);
  });

  it("applies a serving report with a client report id once", async () => {
    const { db } = await open();
    expect(await applyServingReport(db, serving({ batchId: "serving:p:m1:r1" }), now)).toBe(true);
    expect(await applyServingReport(db, serving({ batchId: "serving:p:m1:r1" }), now)).toBe(false);
    const [point] = await usagePoints(db, range("HOUR"));
    expect(point!.requests).toBe(100);
  });

  it("prunes hourly and daily buckets past their retention, and old batch ids", async () => {
    const { db } = await open();
    const old = Date.parse("2026-10-01T05:00:00Z");
    await applyDownloadBatch(
      db,
      { id: "old", counts: [count({ hourStart: old, lastAt: old })] },
      new Date(old),
    );
    await applyDownloadBatch(db, { id: "new", counts: [count()] }, now);
    await applyServingReport(
      db,
      serving({
        windowStart: new Date(old),
        windowEnd: new Date(old + 60_000),
        metrics: [{ name: "x", value: 1 }],
      }),
      now,
    );
    const deleted = await pruneUsage(db, now, { hourlyMs: 30 * DAY_MS, dailyMs: 365 * DAY_MS });
    // The old hour of downloads, of serving, and its metric; and the old batch id.
    expect(deleted).toBe(4);
    const wide = { from: new Date("2026-09-01T00:00:00Z"), to: new Date("2026-12-05T00:00:00Z") };
    expect((await usagePoints(db, { ...range("HOUR"), ...wide })).map((p) => p.start.toISOString())).toEqual([
      "2026-12-03T10:00:00.000Z",
    ]);
    expect((await usagePoints(db, { ...range("DAY"), ...wide })).map((p) => p.start.toISOString())).toEqual([
      "2026-10-01T00:00:00.000Z",
      "2026-12-03T00:00:00.000Z",
    ]);
    // The old batch id is forgotten: the same id applies again (a retry is never that late).
    expect(await applyDownloadBatch(db, { id: "old", counts: [count()] }, now)).toBe(true);
    expect(
      await pruneUsage(db, new Date(now.getTime() + 400 * DAY_MS), {
        hourlyMs: 30 * DAY_MS,
        dailyMs: 365 * DAY_MS,
      }),
    ).toBeGreaterThan(0);
    expect(await usagePoints(db, { ...range("DAY"), from: new Date("2026-01-01T00:00:00Z") })).toEqual([]);
  });

  it.runIf(provider === "postgresql")(
    "sums what two counters flush concurrently into one database",
    async () => {
      const { db, config } = await open();
      const other = openDatabase(config);
      cleanup.push(() => other.close());
      const batches = (prefix: string) =>
        Array.from({ length: 20 }, (_, i) => ({
          id: `${prefix}-${i}`,
          counts: [
            count({ count: 1, bytes: 10 }),
            count({ consumerId: `c${i % 3}`, hourStart: H10 + 3_600_000, count: 2, bytes: 1 }),
          ],
        }));
      await Promise.all([
        ...batches("a").map((b) => applyDownloadBatch(db, b, now)),
        ...batches("b").map((b) => applyDownloadBatch(other, b, now)),
        // A retry of an applied batch from the other instance changes nothing.
        ...batches("a")
          .slice(0, 5)
          .map((b) => applyDownloadBatch(other, b, now).catch(() => false)),
      ]);
      const days = await usagePoints(db, range("DAY"));
      expect(days.map((p) => [p.downloads, p.bytes])).toEqual([[40 * 3, 40 * 11]]);
      const hours = await usagePoints(db, range("HOUR"));
      expect(hours.map((p) => p.downloads)).toEqual([40, 80]);
    },
  );
});
