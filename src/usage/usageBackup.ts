// Usage rows in a backup (usage.ndjson): they are not in the event log, so a backup copies them
// and a restore inserts them. One JSON object per line, buckets then metrics, read in key order a
// page at a time from the backup's snapshot (a year of hourly buckets is a million rows: never all
// in memory). Applied batch ids are not copied: they matter only for retries in flight at the source.
import { z } from "zod";
import { rowDate } from "../db/sql.ts";
import type { SqlTx, SqlValue } from "../db/sql.ts";
import { quoted, tablePages as pages } from "../backup/tablePages.ts";

const BUCKET_KEY = [
  "granularity",
  "model_id",
  "bucket_start",
  "version",
  "series",
  "dimension",
  "consumer_id",
];
const BUCKET_COLUMNS = [
  ...BUCKET_KEY,
  "count",
  "errors",
  "bytes",
  "latency_p50_ms",
  "latency_p99_ms",
  "last_at",
];
const METRIC_KEY = ["granularity", "model_id", "bucket_start", "version", "environment", "name"];
const METRIC_COLUMNS = [...METRIC_KEY, "sum", "reports", "last", "last_at"];

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown) => rowDate(v).toISOString();

const bucketLine = z.strictObject({
  kind: z.literal("bucket"),
  granularity: z.enum(["HOUR", "DAY"]),
  bucketStart: z.iso.datetime(),
  modelId: z.string().min(1).max(200),
  version: z.number().int().min(1),
  series: z.enum(["DOWNLOADS", "SERVING"]),
  dimension: z.string().max(4096),
  consumerId: z.string().max(200),
  count: z.number().int().min(0),
  errors: z.number().int().min(0),
  bytes: z.number().int().min(0),
  latencyP50Ms: z.number().finite().nullable(),
  latencyP99Ms: z.number().finite().nullable(),
  lastAt: z.iso.datetime(),
});

const metricLine = z.strictObject({
  kind: z.literal("metric"),
  granularity: z.enum(["HOUR", "DAY"]),
  bucketStart: z.iso.datetime(),
  modelId: z.string().min(1).max(200),
  version: z.number().int().min(1),
  environment: z.string().min(1).max(64),
  name: z.string().min(1).max(64),
  sum: z.number().finite(),
  reports: z.number().int().min(0),
  last: z.number().finite(),
  lastAt: z.iso.datetime(),
});

const usageLine = z.discriminatedUnion("kind", [bucketLine, metricLine]);

/** The lines of usage.ndjson, from the backup's snapshot transaction. */
export async function* usageLines(tx: SqlTx): AsyncGenerator<string> {
  for await (const rows of pages(tx, "usage_buckets", BUCKET_KEY, BUCKET_COLUMNS))
    yield rows
      .map(
        (r) =>
          `${JSON.stringify({
            kind: "bucket",
            granularity: r.granularity,
            bucketStart: iso(r.bucket_start),
            modelId: r.model_id,
            version: num(r.version),
            series: r.series,
            dimension: r.dimension,
            consumerId: r.consumer_id,
            count: num(r.count),
            errors: num(r.errors),
            bytes: num(r.bytes),
            latencyP50Ms: numOrNull(r.latency_p50_ms),
            latencyP99Ms: numOrNull(r.latency_p99_ms),
            lastAt: iso(r.last_at),
          })}\n`,
      )
      .join("");
  for await (const rows of pages(tx, "usage_metrics", METRIC_KEY, METRIC_COLUMNS))
    yield rows
      .map(
        (r) =>
          `${JSON.stringify({
            kind: "metric",
            granularity: r.granularity,
            bucketStart: iso(r.bucket_start),
            modelId: r.model_id,
            version: num(r.version),
            environment: r.environment,
            name: r.name,
            sum: num(r.sum),
            reports: num(r.reports),
            last: num(r.last),
            lastAt: iso(r.last_at),
          })}\n`,
      )
      .join("");
}

/** One line of usage.ndjson as an INSERT (parameters in the order of the column lists above); a string says why the line is not one a backup writes. */
export function usageInsert(
  text: string,
): { table: "usage_buckets" | "usage_metrics"; sql: string; params: SqlValue[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  const parsed = usageLine.safeParse(json);
  if (!parsed.success) return "is not a usage bucket or metric";
  const u = parsed.data;
  if (u.kind === "bucket")
    return {
      table: "usage_buckets",
      sql: `INSERT INTO "usage_buckets" (${quoted(BUCKET_COLUMNS)}) VALUES (${BUCKET_COLUMNS.map(() => "?").join(", ")})`,
      params: [
        u.granularity,
        u.modelId,
        new Date(u.bucketStart),
        u.version,
        u.series,
        u.dimension,
        u.consumerId,
        u.count,
        u.errors,
        u.bytes,
        u.latencyP50Ms,
        u.latencyP99Ms,
        new Date(u.lastAt),
      ],
    };
  return {
    table: "usage_metrics",
    sql: `INSERT INTO "usage_metrics" (${quoted(METRIC_COLUMNS)}) VALUES (${METRIC_COLUMNS.map(() => "?").join(", ")})`,
    params: [
      u.granularity,
      u.modelId,
      new Date(u.bucketStart),
      u.version,
      u.environment,
      u.name,
      u.sum,
      u.reports,
      u.last,
      new Date(u.lastAt),
    ],
  };
}

/**
 * Repeated keys, found before anything is written: buckets and metrics are written in key order, so
 * the rows of one (granularity, model) are together and only their keys are kept at a time.
 */
export class UsageRowsCheck {
  private readonly kinds = new Map<string, { group: string | null; keys: Set<string>; done: Set<string> }>();

  /** A sentence saying why the line cannot be restored (its params as usageInsert made them), or null. */
  next(kind: "usage_buckets" | "usage_metrics", params: readonly SqlValue[]): string | null {
    const keyLength = kind === "usage_buckets" ? BUCKET_KEY.length : METRIC_KEY.length;
    const values = params.slice(0, keyLength).map((v) => (v instanceof Date ? v.toISOString() : String(v)));
    const group = JSON.stringify(values.slice(0, 2));
    const key = JSON.stringify(values.slice(2));
    let seen = this.kinds.get(kind);
    if (seen === undefined) this.kinds.set(kind, (seen = { group: null, keys: new Set(), done: new Set() }));
    if (seen.group !== group) {
      if (seen.done.has(group))
        return `is apart from the other rows of its model: not in the key order a backup writes`;
      if (seen.group !== null) seen.done.add(seen.group);
      seen.group = group;
      seen.keys = new Set();
    }
    if (seen.keys.has(key)) return `repeats the key of an earlier row of ${kind}`;
    seen.keys.add(key);
    return null;
  }
}
