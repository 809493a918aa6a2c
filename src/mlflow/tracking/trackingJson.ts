// Tracking rows as MLflow's proto-JSON: snake_case, int64 as JSON numbers (as MLflow's
// proto_json_utils writes them), doubles as numbers or "NaN"/"Infinity", empty lists left out.
import type {
  ExperimentRow,
  HistoryMetric,
  KeyValue,
  LatestMetric,
  LoggedModelRow,
  RunRow,
} from "./trackingStore.ts";
import { loggedModelArtifactFolder, runArtifactUri } from "./trackingRules.ts";

const list = <K extends string, V>(key: K, items: readonly V[]) =>
  (items.length > 0 ? { [key]: items } : {}) as Partial<Record<K, V[]>>;

const text = <K extends string>(key: K, value: string) =>
  (value === "" ? {} : { [key]: value }) as Partial<Record<K, string>>;

const pairs = (items: readonly KeyValue[]) => items.map((i) => ({ key: i.key, value: i.value }));

/** A double as proto-JSON writes it. */
export function doubleJson(value: number | null): number | string {
  if (value === null || Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value;
}

export function experimentJson(e: ExperimentRow) {
  return {
    experiment_id: String(e.id),
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    ...list("tags", pairs(e.tags)),
  };
}

export function runInfoJson(r: RunRow) {
  return {
    run_id: r.id,
    run_uuid: r.id,
    run_name: r.runName,
    experiment_id: String(r.experimentId),
    ...text("user_id", r.userId),
    status: r.status,
    start_time: r.startTime,
    ...(r.endTime === null ? {} : { end_time: r.endTime }),
    artifact_uri: runArtifactUri(r.experimentId, r.id),
    lifecycle_stage: r.lifecycleStage,
  };
}

const metricJson = (m: LatestMetric) => ({
  key: m.key,
  value: doubleJson(m.value),
  timestamp: m.timestamp,
  step: m.step,
});

export function runJson(r: RunRow) {
  return {
    info: runInfoJson(r),
    data: {
      ...list("metrics", r.metrics.map(metricJson)),
      ...list("params", pairs(r.params)),
      ...list("tags", pairs(r.tags)),
    },
    inputs: {},
    outputs: list(
      "model_outputs",
      r.outputs.map((o) => ({ model_id: o.model_id, step: o.step })),
    ),
  };
}

export const historyMetricJson = (runId: string, m: HistoryMetric) => ({
  ...metricJson(m),
  ...text("dataset_name", m.datasetName),
  ...text("dataset_digest", m.datasetDigest),
  run_id: runId,
});

export function loggedModelJson(m: LoggedModelRow) {
  return {
    info: {
      model_id: m.id,
      experiment_id: String(m.experimentId),
      name: m.name,
      creation_timestamp_ms: m.creationTime,
      last_updated_timestamp_ms: m.lastUpdateTime,
      artifact_uri: `mlflow-artifacts:/${loggedModelArtifactFolder(m.experimentId, m.id)}`,
      status: m.status,
      ...text("model_type", m.modelType),
      ...text("source_run_id", m.sourceRunId),
      ...list("tags", pairs(m.tags)),
    },
    data: {
      ...list("params", pairs(m.params)),
      ...list(
        "metrics",
        m.metrics.map((x) => ({ ...historyMetricJson(x.runId, x), model_id: m.id })),
      ),
    },
  };
}
