// A version registered through MLflow with the id of a run this registry tracks carries that run's
// training record: its params and the latest value of each metric, as GraphQL's createModelVersion
// takes them. MLflow's own registry keeps them only on the run; copying them makes them part of the
// version's history (the ModelVersionCreated event), searchable and comparable like any version's.
//
// The run holds what MLflow's rules allow, which is wider than a version's: what a version cannot
// hold is left out rather than refusing a registration MLflow would accept (docs/mlflow.md):
// non-finite metric values, reserved keys, and a part (params or metrics) beyond a version's bounds.
import type { Database } from "../../db/database.ts";
import { LIMITS, checkMetrics, checkParams, isForbiddenKey } from "../../domain/validation.ts";
import { runTrainingRecord } from "./trackingStore.ts";

export interface VersionTrainingRecord {
  readonly params: Record<string, string>;
  readonly metrics: { key: string; value: number }[];
}

const NONE: VersionTrainingRecord = { params: {}, metrics: [] };

/** The run's params and latest metrics as a version holds them; nothing for a run not tracked here. */
export async function versionTrainingRecord(
  db: Database,
  runId: string | null,
): Promise<VersionTrainingRecord> {
  if (runId === null) return NONE;
  // Most registrations name runs tracked elsewhere (or none at all): one raw indexed probe, past
  // Prisma's per-query planning, keeps them as fast as before this record existed.
  const tracked = await db.query("SELECT 1 AS found FROM mlflow_runs WHERE id = ?", [runId]);
  if (tracked.length === 0) return NONE;
  const record = await runTrainingRecord(db, runId);
  if (record === null) return NONE;
  const paramEntries = Object.entries(record.params).filter(([key]) => !isForbiddenKey(key));
  const params = Object.fromEntries(paramEntries) as Record<string, string>;
  const metrics = Object.entries(record.metrics)
    .filter(([key, value]) => Number.isFinite(value) && !isForbiddenKey(key))
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, LIMITS.maxMetricsPerCommand);
  return {
    params: checkParams("params", params) === null ? params : {},
    metrics: checkMetrics("metrics", metrics) === null ? metrics : [],
  };
}
