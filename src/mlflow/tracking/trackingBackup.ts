// MLflow tracking rows in a backup (mlflow-tracking.ndjson): they are not in the event log, so a
// backup copies them and a restore inserts them. One JSON object per line, `{table, row}`, parents
// before children (experiments, runs and their params, tags and metrics, logged models and theirs),
// each table read in key order a page at a time from the backup's snapshot. A metric row's own id
// is not copied: the restore inserts a run's values in their logged order and the target numbers
// them. Every line is checked against its table's shape before anything is restored.
import { z } from "zod";
import { quoted, tablePages } from "../../backup/tablePages.ts";
import type { SqlTx, SqlValue } from "../../db/sql.ts";
import { LIMITS } from "./trackingRules.ts";

const text = (max: number) => z.string().max(max);
const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const signedInt = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const runId = z.string().regex(/^[0-9a-f]{32}$/);
const modelId = z.string().regex(/^m-[0-9a-f]{32}$/);
const key = text(LIMITS.keyLength).min(1);
/**
 * A column Registro fills with JSON text and parses again on every read, trusting it (experiment
 * tags, run outputs): a line's text must parse to what Registro writes there. Anything else (not a
 * list, other members, or a value nested thousands deep that answering the row would overflow the
 * stack writing back) would break every read of the row, so the line is refused. zod stops at the
 * first member of the wrong type, so a deep value is never walked.
 */
const jsonText = (max: number, shape: z.ZodType) =>
  text(max).refine((value) => {
    try {
      return shape.safeParse(JSON.parse(value)).success;
    } catch {
      return false;
    }
  });

/** A double as the line stores it: JSON has no NaN or infinities. */
const double = z.union([z.number(), z.literal("NaN"), z.literal("Infinity"), z.literal("-Infinity")]);

interface TableCopy {
  readonly table: string;
  readonly key: readonly string[];
  /** Columns read, in line order; `id` of metrics is read for paging only. */
  readonly columns: readonly string[];
  /** Columns written back. */
  readonly restored: readonly string[];
  readonly shape: z.ZodObject;
}

const TABLES: readonly TableCopy[] = [
  {
    table: "mlflow_experiments",
    key: ["id"],
    columns: [
      "id",
      "name",
      "artifact_location",
      "lifecycle_stage",
      "tags",
      "creation_time",
      "last_update_time",
      "created_by",
    ],
    shape: z.strictObject({
      id: int,
      name: text(LIMITS.experimentNameLength).min(1),
      artifact_location: text(100),
      lifecycle_stage: text(20),
      tags: jsonText(2_000_000, z.array(z.strictObject({ key: z.string(), value: z.string() }))),
      creation_time: signedInt,
      last_update_time: signedInt,
      created_by: text(200),
    }),
  },
  {
    table: "mlflow_runs",
    key: ["id"],
    columns: [
      "id",
      "experiment_id",
      "run_name",
      "user_id",
      "status",
      "start_time",
      "end_time",
      "lifecycle_stage",
      "created_by",
      "outputs",
    ],
    shape: z.strictObject({
      id: runId,
      experiment_id: int,
      run_name: text(LIMITS.runNameLength),
      user_id: text(1000),
      status: z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]),
      start_time: signedInt,
      end_time: signedInt.nullable(),
      lifecycle_stage: text(20),
      created_by: text(200),
      outputs: jsonText(200_000, z.array(z.strictObject({ model_id: modelId, step: signedInt }))),
    }),
  },
  ...(["mlflow_run_params", "mlflow_run_tags"] as const).map((table) => ({
    table,
    key: ["run_id", "key"],
    columns: ["run_id", "key", "value"],
    shape: z.strictObject({ run_id: runId, key, value: text(LIMITS.logModelHistoryLength) }),
  })),
  {
    table: "mlflow_run_metrics",
    key: ["id"],
    columns: [
      "id",
      "run_id",
      "key",
      "value",
      "timestamp",
      "step",
      "model_id",
      "dataset_name",
      "dataset_digest",
    ],
    restored: ["run_id", "key", "value", "timestamp", "step", "model_id", "dataset_name", "dataset_digest"],
    shape: z.strictObject({
      run_id: runId,
      key,
      value: double,
      timestamp: signedInt,
      step: signedInt,
      model_id: z.union([z.literal(""), modelId]),
      dataset_name: text(500),
      dataset_digest: text(100),
    }),
  },
  {
    table: "mlflow_logged_models",
    key: ["id"],
    columns: [
      "id",
      "experiment_id",
      "name",
      "model_type",
      "source_run_id",
      "status",
      "creation_time",
      "last_update_time",
      "created_by",
    ],
    shape: z.strictObject({
      id: modelId,
      experiment_id: int,
      name: text(LIMITS.keyLength).min(1),
      model_type: text(LIMITS.keyLength),
      source_run_id: z.union([z.literal(""), runId]),
      status: z.enum(["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"]),
      creation_time: signedInt,
      last_update_time: signedInt,
      created_by: text(200),
    }),
  },
  ...(["mlflow_logged_model_params", "mlflow_logged_model_tags"] as const).map((table) => ({
    table,
    key: ["model_id", "key"],
    columns: ["model_id", "key", "value"],
    shape: z.strictObject({ model_id: modelId, key, value: text(LIMITS.tagValueLength) }),
  })),
].map((t) => ({ restored: t.columns, ...t }));

const BY_TABLE = new Map(TABLES.map((t) => [t.table, t]));

// BIGINT columns come back as strings from pg (ids of runs and models are text and stay so).
const NUMERIC = new Set([
  "experiment_id",
  "creation_time",
  "last_update_time",
  "start_time",
  "end_time",
  "timestamp",
  "step",
]);

/** A row as the driver returns it, as the line's plain JSON values. */
function lineValue(column: string, value: unknown): unknown {
  if (value === null || value === undefined) return column === "value" ? "NaN" : null;
  if (column === "value" && typeof value !== "string") {
    const n = Number(value);
    return Number.isNaN(n) ? "NaN" : n === Infinity ? "Infinity" : n === -Infinity ? "-Infinity" : n;
  }
  return NUMERIC.has(column) || typeof value === "bigint" ? Number(value) : value;
}

/** The lines of mlflow-tracking.ndjson, from the backup's snapshot transaction. */
export async function* trackingLines(tx: SqlTx): AsyncGenerator<string> {
  for (const copy of TABLES)
    for await (const rows of tablePages(tx, copy.table, copy.key, copy.columns))
      yield rows
        .map((r) => {
          const row = new Map<string, unknown>();
          for (const column of copy.restored) row.set(column, lineValue(column, r[column]));
          return `${JSON.stringify({ table: copy.table, row: Object.fromEntries(row) })}\n`;
        })
        .join("");
}

const lineShape = z.strictObject({ table: z.string(), row: z.record(z.string(), z.unknown()) });

const storedDouble = (value: unknown): SqlValue =>
  value === "NaN"
    ? null
    : value === "Infinity"
      ? Infinity
      : value === "-Infinity"
        ? -Infinity
        : (value as number);

/** One line as an INSERT; a string says why the line is not one a backup writes. */
export function trackingInsert(
  line: string,
): { table: string; row: Readonly<Record<string, unknown>>; sql: string; params: SqlValue[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return "is not JSON";
  }
  const parsed = lineShape.safeParse(json);
  const copy = parsed.success ? BY_TABLE.get(parsed.data.table) : undefined;
  if (!parsed.success || copy === undefined) return "is not a row of an MLflow tracking table";
  const row = copy.shape.safeParse(parsed.data.row);
  if (!row.success) return `is not a row of ${copy.table}`;
  const values = row.data;
  return {
    table: copy.table,
    row: values,
    sql: `INSERT INTO "${copy.table}" (${quoted(copy.restored)}) VALUES (${copy.restored.map(() => "?").join(", ")})`,
    params: copy.restored.map((c) =>
      copy.table === "mlflow_run_metrics" && c === "value"
        ? storedDouble(values[c])
        : (values[c] as SqlValue),
    ),
  };
}

/**
 * What the target's keys and foreign keys would refuse, found before anything is written: a row
 * whose key repeats one before it, or a child whose parent (run, logged model) is not in the file.
 * Parents' ids are kept (one per experiment, run and logged model); children are written in key
 * order, so the rows of one parent are together and only that parent's keys are kept at a time.
 * Metric values (ordered by id, not by key) are left to the target's unique index, which fails the
 * restore's one transaction, so nothing is written either.
 */
export class TrackingRowsCheck {
  private readonly ids = new Map<string, Set<unknown>>();
  private readonly names = new Set<unknown>();
  private readonly children = new Map<string, { parent: unknown; keys: Set<unknown>; done: Set<unknown> }>();

  /** A sentence saying why the row cannot be restored, or null. */
  next(table: string, row: Readonly<Record<string, unknown>>): string | null {
    switch (table) {
      case "mlflow_experiments":
        if (this.names.has(row.name))
          return `repeats the name of an earlier experiment (${JSON.stringify(row.name)})`;
        this.names.add(row.name);
        return this.unique(table, row.id);
      case "mlflow_runs":
      case "mlflow_logged_models":
        return this.unique(table, row.id);
      case "mlflow_run_params":
      case "mlflow_run_tags":
      case "mlflow_run_metrics":
        return this.child(table, "mlflow_runs", "run_id", row);
      case "mlflow_logged_model_params":
      case "mlflow_logged_model_tags":
        return this.child(table, "mlflow_logged_models", "model_id", row);
      default:
        return null;
    }
  }

  private unique(table: string, id: unknown): string | null {
    let ids = this.ids.get(table);
    if (ids === undefined) this.ids.set(table, (ids = new Set()));
    if (ids.has(id)) return `repeats the id of an earlier row of ${table} (${JSON.stringify(id)})`;
    ids.add(id);
    return null;
  }

  private child(table: string, parentTable: string, column: string, row: Readonly<Record<string, unknown>>) {
    const parent = row[column];
    if (!this.ids.get(parentTable)?.has(parent))
      return `belongs to ${JSON.stringify(parent)}, which is not a row of ${parentTable} before it`;
    if (table === "mlflow_run_metrics") return null;
    let group = this.children.get(table);
    if (group === undefined)
      this.children.set(table, (group = { parent: undefined, keys: new Set(), done: new Set() }));
    if (group.parent !== parent) {
      if (group.done.has(parent))
        return `is apart from the other rows of ${JSON.stringify(parent)}: not in the key order a backup writes`;
      group.done.add(group.parent);
      group.parent = parent;
      group.keys = new Set();
    }
    if (group.keys.has(row.key))
      return `repeats the key ${JSON.stringify(row.key)} of ${JSON.stringify(parent)} in ${table}`;
    group.keys.add(row.key);
    return null;
  }
}
