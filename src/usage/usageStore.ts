// The usage tables (prisma/models/usage.prisma): additive writes, retention, and the reads behind
// the GraphQL fields. Every write is an upsert that adds (`count = count + excluded.count`), so
// instances flushing into one PostgreSQL database concurrently sum correctly, and every write of a
// batch happens in one transaction together with the batch's id, so a batch applied twice (a retry
// after an unknown commit outcome) changes nothing the second time.
import type { Database, Tx } from "../db/database.ts";
import { rowDate } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import type { DownloadBatch } from "./downloadCounter.ts";
import type { ServingLabels } from "./servingReport.ts";
import { DAY_MS, bucketStartMs } from "./timeBuckets.ts";
import type { Granularity } from "./timeBuckets.ts";

export type UsageSeries = "DOWNLOADS" | "SERVING";

interface BucketRow {
  readonly granularity: Granularity;
  readonly bucketStart: number;
  readonly modelId: string;
  readonly version: number;
  readonly series: UsageSeries;
  readonly dimension: string;
  readonly consumerId: string;
  count: number;
  readonly errors: number;
  bytes: number;
  readonly p50: number | null;
  readonly p99: number | null;
  lastAt: number;
}

const BUCKET_COLUMNS =
  '"granularity", "bucket_start", "model_id", "version", "series", "dimension", "consumer_id", "count", "errors", "bytes", "latency_p50_ms", "latency_p99_ms", "last_at"';
const BUCKET_KEY =
  '"granularity", "model_id", "bucket_start", "version", "series", "dimension", "consumer_id"';
const B = '"usage_buckets"';

// Medians are merged as a request-weighted mean, p99s as their maximum: approximations (the true
// quantiles of merged windows cannot be computed from quantiles alone); docs/usage.md says so.
/**
 * The most a bucket's count, errors or bytes reach: they saturate there. Clients decide what is added
 * (a serving report may say 10^12 requests, and reports are not limited in number), so sums must
 * neither overflow a BIGINT (PostgreSQL refuses the write, SQLite turns it into an inexact REAL) nor
 * pass what GraphQL's SafeInt can answer.
 */
export const MAX_USAGE_COUNT = Number.MAX_SAFE_INTEGER;

const saturatingSum = (column: string) =>
  `"${column}" = CASE WHEN ${B}."${column}" > ${MAX_USAGE_COUNT} - excluded."${column}" THEN ${MAX_USAGE_COUNT} ELSE ${B}."${column}" + excluded."${column}" END`;

const BUCKET_UPSERT = `ON CONFLICT (${BUCKET_KEY}) DO UPDATE SET
  ${saturatingSum("count")},
  ${saturatingSum("errors")},
  ${saturatingSum("bytes")},
  "latency_p50_ms" = CASE
    WHEN excluded."latency_p50_ms" IS NULL THEN ${B}."latency_p50_ms"
    WHEN ${B}."latency_p50_ms" IS NULL THEN excluded."latency_p50_ms"
    ELSE (${B}."latency_p50_ms" * ${B}."count" + excluded."latency_p50_ms" * excluded."count")
      / NULLIF(${B}."count" + excluded."count", 0) END,
  "latency_p99_ms" = CASE
    WHEN excluded."latency_p99_ms" IS NULL THEN ${B}."latency_p99_ms"
    WHEN ${B}."latency_p99_ms" IS NULL OR excluded."latency_p99_ms" > ${B}."latency_p99_ms" THEN excluded."latency_p99_ms"
    ELSE ${B}."latency_p99_ms" END,
  "last_at" = CASE WHEN excluded."last_at" > ${B}."last_at" THEN excluded."last_at" ELSE ${B}."last_at" END`;

const rowValues = (r: BucketRow): SqlValue[] => [
  r.granularity,
  new Date(r.bucketStart),
  r.modelId,
  r.version,
  r.series,
  r.dimension,
  r.consumerId,
  r.count,
  r.errors,
  r.bytes,
  r.p50,
  r.p99,
  new Date(r.lastAt),
];

// A few statement shapes only (each is prepared once and cached per connection).
const CHUNKS = [64, 16, 4, 1] as const;

async function upsertBuckets(tx: Tx, rows: readonly BucketRow[]): Promise<void> {
  let i = 0;
  for (const size of CHUNKS) {
    const values = `(${Array.from({ length: 13 }, () => "?").join(", ")})`;
    const sql = `INSERT INTO ${B} (${BUCKET_COLUMNS}) VALUES ${Array.from({ length: size }, () => values).join(", ")} ${BUCKET_UPSERT}`;
    for (; i + size <= rows.length; i += size)
      await tx.execute(sql, rows.slice(i, i + size).flatMap(rowValues));
  }
}

/** Records the batch id; false when it was applied before (then nothing else may be written). */
async function claimBatch(tx: Tx, id: string, now: Date): Promise<boolean> {
  const inserted = await tx.execute(
    `INSERT INTO "usage_applied_batches" ("id", "applied_at") VALUES (?, ?) ON CONFLICT ("id") DO NOTHING`,
    [id, now],
  );
  return inserted === 1;
}

/**
 * The batch's hourly rows and the daily rows they add up to. Several hours of one key fall in one
 * day: they are summed here, because one INSERT … ON CONFLICT may not touch a row twice (PostgreSQL).
 */
export function downloadRows(batch: DownloadBatch): BucketRow[] {
  const hours: BucketRow[] = [];
  const days = new Map<string, BucketRow>();
  for (const c of batch.counts) {
    const base = {
      modelId: c.modelId,
      version: c.version,
      series: "DOWNLOADS" as const,
      dimension: c.path,
      consumerId: c.consumerId,
      errors: 0,
      p50: null,
      p99: null,
    };
    hours.push({
      ...base,
      granularity: "HOUR",
      bucketStart: c.hourStart,
      count: c.count,
      bytes: c.bytes,
      lastAt: c.lastAt,
    });
    const dayStart = bucketStartMs("DAY", c.hourStart);
    const key = `${c.modelId}\u0000${c.version}\u0000${c.consumerId}\u0000${dayStart}\u0000${c.path}`;
    const day = days.get(key);
    if (day === undefined)
      days.set(key, {
        ...base,
        granularity: "DAY",
        bucketStart: dayStart,
        count: c.count,
        bytes: c.bytes,
        lastAt: c.lastAt,
      });
    else {
      day.count += c.count;
      day.bytes += c.bytes;
      day.lastAt = Math.max(day.lastAt, c.lastAt);
    }
  }
  return [...hours, ...days.values()];
}

/** Applies a batch of download counts in one transaction; a batch id applied before changes nothing. */
export async function applyDownloadBatch(db: Database, batch: DownloadBatch, now: Date): Promise<boolean> {
  const rows = downloadRows(batch);
  return db.write(async (tx) => {
    if (!(await claimBatch(tx, batch.id, now))) return false;
    await upsertBuckets(tx, rows);
    return true;
  });
}

export interface ServingRecord {
  /** Applied-batch id making retries idempotent; null: not idempotent. */
  readonly batchId: string | null;
  readonly modelId: string;
  readonly version: number;
  readonly environment: string;
  /** The window's start decides the bucket (windows are at most an hour long). */
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly requests: number;
  readonly errors: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly metrics: readonly { readonly name: string; readonly value: number }[];
}

const M = '"usage_metrics"';
const METRIC_UPSERT = `INSERT INTO ${M} ("granularity", "bucket_start", "model_id", "version", "environment", "name", "sum", "reports", "last", "last_at")
  VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
  ON CONFLICT ("granularity", "model_id", "bucket_start", "version", "environment", "name") DO UPDATE SET
  "sum" = ${M}."sum" + excluded."sum",
  "reports" = ${M}."reports" + excluded."reports",
  "last" = CASE WHEN excluded."last_at" >= ${M}."last_at" THEN excluded."last" ELSE ${M}."last" END,
  "last_at" = CASE WHEN excluded."last_at" >= ${M}."last_at" THEN excluded."last_at" ELSE ${M}."last_at" END`;

/** Adds one serving report to its hour and day; false when its batch id was applied before. */
export async function applyServingReport(db: Database, report: ServingRecord, now: Date): Promise<boolean> {
  return db.write(async (tx) => {
    if (report.batchId !== null && !(await claimBatch(tx, report.batchId, now))) return false;
    const rows = (["HOUR", "DAY"] as const).map((granularity): BucketRow => ({
      granularity,
      bucketStart: bucketStartMs(granularity, report.windowStart.getTime()),
      modelId: report.modelId,
      version: report.version,
      series: "SERVING",
      dimension: report.environment,
      consumerId: "",
      count: report.requests,
      errors: report.errors,
      bytes: 0,
      p50: report.requests > 0 ? report.latencyP50Ms : null,
      p99: report.requests > 0 ? report.latencyP99Ms : null,
      lastAt: report.windowEnd.getTime(),
    }));
    await upsertBuckets(tx, rows);
    for (const row of rows)
      for (const metric of report.metrics)
        await tx.execute(METRIC_UPSERT, [
          row.granularity,
          new Date(row.bucketStart),
          row.modelId,
          row.version,
          report.environment,
          metric.name,
          metric.value,
          metric.value,
          report.windowEnd,
        ]);
    return true;
  });
}

/**
 * The environments and custom metric names the serving reports of a model used on the UTC day
 * holding `at` (what ../servingReport.ts bounds), from the daily rows.
 */
export async function servingLabels(db: Database, modelId: string, at: Date): Promise<ServingLabels> {
  const params: SqlValue[] = [modelId, new Date(bucketStartMs("DAY", at.getTime()))];
  const [environments, names] = await Promise.all([
    db.query<{ v: unknown }>(
      `SELECT DISTINCT "dimension" AS "v" FROM ${B} WHERE "granularity" = 'DAY' AND "model_id" = ? AND "bucket_start" = ? AND "series" = 'SERVING'`,
      params,
    ),
    db.query<{ v: unknown }>(
      `SELECT DISTINCT "name" AS "v" FROM ${M} WHERE "granularity" = 'DAY' AND "model_id" = ? AND "bucket_start" = ?`,
      params,
    ),
  ]);
  return {
    environments: new Set(environments.map((r) => String(r.v))),
    metricNames: new Set(names.map((r) => String(r.v))),
  };
}

export interface Retention {
  /** How long hourly buckets are kept (ms). */
  readonly hourlyMs: number;
  /** How long daily buckets are kept (ms). */
  readonly dailyMs: number;
}

/** How long applied batch ids are remembered: far longer than any retry of a batch takes. */
export const APPLIED_BATCH_RETENTION_MS = 7 * DAY_MS;

/** Rows deleted per transaction, so a prune never holds the writers' lock for long. */
const PRUNE_CHUNK = 5_000;

const KEYS: Record<string, string> = {
  usage_buckets: BUCKET_KEY,
  usage_metrics: '"granularity", "model_id", "bucket_start", "version", "environment", "name"',
  usage_applied_batches: '"id"',
};

async function pruneTable(db: Database, table: string, where: string, params: SqlValue[]): Promise<number> {
  // By primary key (row values: SQLite's bucket tables have no rowid), a chunk at a time.
  const key = KEYS[table];
  let total = 0;
  for (;;) {
    const deleted = await db.write((tx) =>
      tx.execute(
        `DELETE FROM "${table}" WHERE (${key}) IN (SELECT ${key} FROM "${table}" WHERE ${where} LIMIT ${PRUNE_CHUNK})`,
        params,
      ),
    );
    total += deleted;
    if (deleted < PRUNE_CHUNK) return total;
  }
}

/** Deletes buckets older than the retention, and batch ids older than APPLIED_BATCH_RETENTION_MS. */
export async function pruneUsage(db: Database, now: Date, retention: Retention): Promise<number> {
  let deleted = 0;
  for (const [granularity, keep] of [
    ["HOUR", retention.hourlyMs],
    ["DAY", retention.dailyMs],
  ] as const) {
    // A bucket goes once all of it is older than the retention.
    const before = new Date(bucketStartMs(granularity, now.getTime() - keep));
    for (const table of ["usage_buckets", "usage_metrics"])
      deleted += await pruneTable(db, table, `"granularity" = ? AND "bucket_start" < ?`, [
        granularity,
        before,
      ]);
  }
  deleted += await pruneTable(db, "usage_applied_batches", `"applied_at" < ?`, [
    new Date(now.getTime() - APPLIED_BATCH_RETENTION_MS),
  ]);
  return deleted;
}

// ---- Reads -------------------------------------------------------------------------------------------

export interface UsageRange {
  readonly granularity: Granularity;
  readonly modelId: string;
  /** One version, or null for every version of the model. */
  readonly version: number | null;
  readonly from: Date;
  readonly to: Date;
  /** Serving rows of this environment only (downloads are unaffected); null: every environment. */
  readonly environment: string | null;
}

export interface UsagePoint {
  readonly start: Date;
  readonly downloads: number;
  readonly bytes: number;
  readonly requests: number;
  readonly errors: number;
  /** Sum of p50 × requests over rows with a p50, and the requests it weighs (for merging points). */
  readonly p50Weighted: number;
  readonly p50Weight: number;
  readonly latencyP99Ms: number | null;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const numOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function rangeWhere(range: UsageRange): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [range.granularity, range.modelId];
  let sql = `"granularity" = ? AND "model_id" = ?`;
  if (range.version !== null) {
    sql += ` AND "version" = ?`;
    params.push(range.version);
  }
  sql += ` AND "bucket_start" >= ? AND "bucket_start" < ?`;
  params.push(range.from, range.to);
  return { sql, params };
}

/** The buckets of a range with any usage, oldest first (downloads and serving merged per bucket). */
export async function usagePoints(db: Database, range: UsageRange): Promise<UsagePoint[]> {
  const where = rangeWhere(range);
  const environment = range.environment === null ? "" : ` AND ("series" = 'DOWNLOADS' OR "dimension" = ?)`;
  const rows = await db.query<Record<string, unknown>>(
    `SELECT "bucket_start" AS "start",
       SUM(CASE WHEN "series" = 'DOWNLOADS' THEN "count" ELSE 0 END) AS "downloads",
       SUM("bytes") AS "bytes",
       SUM(CASE WHEN "series" = 'SERVING' THEN "count" ELSE 0 END) AS "requests",
       SUM("errors") AS "errors",
       SUM("latency_p50_ms" * "count") AS "p50_weighted",
       SUM(CASE WHEN "latency_p50_ms" IS NULL THEN 0 ELSE "count" END) AS "p50_weight",
       MAX("latency_p99_ms") AS "p99"
     FROM ${B} WHERE ${where.sql}${environment}
     GROUP BY "bucket_start" ORDER BY "bucket_start"`,
    range.environment === null ? where.params : [...where.params, range.environment],
  );
  return rows.map((r) => ({
    start: rowDate(r.start),
    downloads: num(r.downloads),
    bytes: num(r.bytes),
    requests: num(r.requests),
    errors: num(r.errors),
    p50Weighted: num(r.p50_weighted),
    p50Weight: num(r.p50_weight),
    latencyP99Ms: numOrNull(r.p99),
  }));
}

export interface VersionUsageTotals {
  readonly version: number;
  readonly downloads: number;
  readonly bytes: number;
  readonly requests: number;
  readonly errors: number;
  readonly lastUsedAt: Date;
}

/** Per-version totals of a model's range, busiest first. */
export async function usageByVersion(db: Database, range: UsageRange): Promise<VersionUsageTotals[]> {
  const where = rangeWhere({ ...range, version: null });
  const environment = range.environment === null ? "" : ` AND ("series" = 'DOWNLOADS' OR "dimension" = ?)`;
  const rows = await db.query<Record<string, unknown>>(
    `SELECT "version",
       SUM(CASE WHEN "series" = 'DOWNLOADS' THEN "count" ELSE 0 END) AS "downloads",
       SUM("bytes") AS "bytes",
       SUM(CASE WHEN "series" = 'SERVING' THEN "count" ELSE 0 END) AS "requests",
       SUM("errors") AS "errors",
       MAX("last_at") AS "last_at"
     FROM ${B} WHERE ${where.sql}${environment}
     GROUP BY "version"`,
    range.environment === null ? where.params : [...where.params, range.environment],
  );
  return rows
    .map((r) => ({
      version: num(r.version),
      downloads: num(r.downloads),
      bytes: num(r.bytes),
      requests: num(r.requests),
      errors: num(r.errors),
      lastUsedAt: rowDate(r.last_at),
    }))
    .sort((a, b) => b.downloads + b.requests - (a.downloads + a.requests) || a.version - b.version);
}

export interface MetricPoint {
  readonly start: Date;
  readonly name: string;
  readonly sum: number;
  readonly reports: number;
  readonly last: number;
  readonly lastAt: Date;
}

/** Custom metrics of a range, per bucket and name (environments merged: sums added, latest `last`). */
export async function metricPoints(db: Database, range: UsageRange): Promise<MetricPoint[]> {
  const where = rangeWhere(range);
  const environment = range.environment === null ? "" : ` AND "environment" = ?`;
  const rows = await db.query<Record<string, unknown>>(
    `SELECT "bucket_start", "name", "sum", "reports", "last", "last_at" FROM ${M}
     WHERE ${where.sql}${environment} ORDER BY "bucket_start", "name"`,
    range.environment === null ? where.params : [...where.params, range.environment],
  );
  const merged = new Map<
    string,
    { start: Date; name: string; sum: number; reports: number; last: number; lastAt: Date }
  >();
  for (const r of rows) {
    const start = rowDate(r.bucket_start);
    const name = String(r.name);
    const lastAt = rowDate(r.last_at);
    const key = `${start.getTime()}\u0000${name}`;
    const known = merged.get(key);
    if (known === undefined)
      merged.set(key, { start, name, sum: num(r.sum), reports: num(r.reports), last: num(r.last), lastAt });
    else {
      known.sum += num(r.sum);
      known.reports += num(r.reports);
      if (lastAt >= known.lastAt) {
        known.last = num(r.last);
        known.lastAt = lastAt;
      }
    }
  }
  return [...merged.values()];
}

export type ConsumerOrder = "LAST_SEEN" | "DOWNLOADS";

export interface Consumer {
  readonly principalId: string;
  readonly downloads: number;
  readonly bytes: number;
  readonly lastSeenAt: Date;
}

/** Who downloaded a version (from the daily buckets, so as far back as they are kept). */
export async function versionConsumers(
  db: Database,
  version: { readonly modelId: string; readonly version: number },
  options: {
    readonly since: Date | null;
    readonly order: ConsumerOrder;
    readonly limit: number;
    readonly offset: number;
  },
): Promise<{ consumers: Consumer[]; totalCount: number }> {
  const params: SqlValue[] = [version.modelId, version.version];
  let where = `"granularity" = 'DAY' AND "model_id" = ? AND "version" = ? AND "series" = 'DOWNLOADS'`;
  if (options.since !== null) {
    where += ` AND "last_at" >= ?`;
    params.push(options.since);
  }
  const order =
    options.order === "LAST_SEEN"
      ? `MAX("last_at") DESC, "consumer_id"`
      : `SUM("count") DESC, MAX("last_at") DESC, "consumer_id"`;
  const [rows, counted] = await Promise.all([
    db.query<Record<string, unknown>>(
      `SELECT "consumer_id", SUM("count") AS "downloads", SUM("bytes") AS "bytes", MAX("last_at") AS "last_at"
       FROM ${B} WHERE ${where} GROUP BY "consumer_id" ORDER BY ${order} LIMIT ${options.limit} OFFSET ${options.offset}`,
      params,
    ),
    db.query<{ n: unknown }>(`SELECT COUNT(DISTINCT "consumer_id") AS "n" FROM ${B} WHERE ${where}`, params),
  ]);
  return {
    consumers: rows.map((r) => ({
      principalId: String(r.consumer_id),
      downloads: num(r.downloads),
      bytes: num(r.bytes),
      lastSeenAt: rowDate(r.last_at),
    })),
    totalCount: num(counted[0]?.n),
  };
}
