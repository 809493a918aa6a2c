// Usage rows are not in the event log, so a backup copies them (usage.ndjson) and a restore puts
// them back, into either provider; a damaged usage line is refused before anything is restored.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backup } from "../../src/backup/backup.ts";
import { DamagedBackupError } from "../../src/backup/manifest.ts";
import { rewriteBackupFile } from "../support/backups.ts";
import { restore } from "../../src/backup/restore.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { rowDate } from "../../src/db/sql.ts";
import { applyDownloadBatch, applyServingReport } from "../../src/usage/usageStore.ts";
import { createTestDatabase, openTestDatabase, providers } from "../support/databases.ts";

const PROVIDERS = await providers();
const H = Date.parse("2026-12-03T10:00:00Z");
const now = new Date("2026-12-03T12:00:00Z");

/** Every usage row, in key order, as plain values (dates as ISO text). */
async function dumpUsage(db: Database) {
  // Sorted here, not by the database: PostgreSQL's collation orders text unlike SQLite's.
  const norm = (rows: Record<string, unknown>[]) =>
    rows
      .map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [
            k,
            k.endsWith("_at") || k === "bucket_start"
              ? rowDate(v).toISOString()
              : v === null
                ? null
                : typeof v === "string" && !["count", "errors", "bytes", "reports"].includes(k)
                  ? v
                  : Number(v),
          ]),
        ),
      )
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return {
    buckets: norm(
      await db.query(
        `SELECT * FROM "usage_buckets" ORDER BY "granularity", "model_id", "bucket_start", "version", "series", "dimension", "consumer_id"`,
      ),
    ),
    metrics: norm(
      await db.query(
        `SELECT * FROM "usage_metrics" ORDER BY "granularity", "model_id", "bucket_start", "version", "environment", "name"`,
      ),
    ),
  };
}

describe.each(PROVIDERS)("usage in a backup of a %s registry", (provider) => {
  let source: Awaited<ReturnType<typeof openTestDatabase>>;
  const work = mkdtempSync(path.join(tmpdir(), "registro-usage-backup-"));
  const dir = path.join(work, "backup");
  let expected: Awaited<ReturnType<typeof dumpUsage>>;

  beforeAll(async () => {
    source = await openTestDatabase(provider);
    // More rows than one page of the backup's reads (5,000).
    const counts = Array.from({ length: 6_000 }, (_, i) => ({
      modelId: "m1",
      version: 1 + (i % 7),
      path: `file-${i % 11}.bin`,
      consumerId: `p${i % 13}`,
      hourStart: H - (i % 40) * 3_600_000,
      count: 1 + (i % 5),
      bytes: 1000 + i,
      lastAt: H - (i % 40) * 3_600_000 + 1000,
    }));
    await applyDownloadBatch(source.db, { id: "b1", counts }, now);
    await applyServingReport(
      source.db,
      {
        batchId: null,
        modelId: "m1",
        version: 2,
        environment: "prod-eu",
        windowStart: new Date(H),
        windowEnd: new Date(H + 300_000),
        requests: 10,
        errors: 1,
        latencyP50Ms: 12.25,
        latencyP99Ms: 99.5,
        metrics: [{ name: "gpu_util", value: 0.125 }],
      },
      now,
    );
    expected = await dumpUsage(source.db);
    expect(expected.buckets.length).toBeGreaterThan(5_000);
    await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: dir });
  });
  afterAll(async () => {
    await source?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it.each(PROVIDERS)("restores every usage row into %s", { timeout: 60_000 }, async (target) => {
    const database = await createTestDatabase(target);
    try {
      await restore({ from: dir, database: database.config, blobDir: path.join(work, `restored-${target}`) });
      const db = openDatabase(database.config);
      try {
        expect(await dumpUsage(db)).toEqual(expected);
      } finally {
        await db.close();
      }
    } finally {
      await database.destroy();
    }
  });

  it("refuses a backup whose usage file holds a line no backup writes, before restoring anything", async () => {
    const damaged = path.join(work, "damaged");
    rmSync(damaged, { recursive: true, force: true });
    await backup({ database: source.config, blobDir: path.join(work, "blobs"), to: damaged });
    await rewriteBackupFile(damaged, "usage.ndjson", (lines) => {
      lines[1] = lines[1]!.replace(/"count":(\d+)/, '"count":-$1');
    });
    const database = await createTestDatabase(provider);
    try {
      await expect(
        restore({ from: damaged, database: database.config, blobDir: path.join(work, "damaged-blobs") }),
      ).rejects.toThrow(new DamagedBackupError("usage.ndjson line 2 is not a usage bucket or metric"));
      const db = openDatabase(database.config);
      try {
        expect((await dumpUsage(db)).buckets).toEqual([]);
        expect(await db.query(`SELECT "position" FROM "events"`)).toEqual([]);
      } finally {
        await db.close();
      }
    } finally {
      await database.destroy();
    }
  });
});
