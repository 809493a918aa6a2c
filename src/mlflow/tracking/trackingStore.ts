// The tracking tables (prisma/models/mlflowTracking.prisma): experiments, runs with their params,
// tags and metric history, and MLflow 3 logged models. Plain rows, not events: a run is a staging
// area before registration, and nothing in the registry's history depends on it. Every write runs
// in one write transaction (db.write), so a batch is all or nothing and the checks it makes (a
// param's earlier value, a run's metric count) see exactly what it changes.
import type { Database, Tx } from "../../db/database.ts";
import type { SqlValue } from "../../db/sql.ts";
import { nestsDeeperThan } from "../../domain/validation.ts";
import { MlflowError } from "../mlflowErrors.ts";
import {
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  LIMITS,
  RUN_NAME_TAG,
  experimentArtifactLocation,
  invalid,
  loggedModelArtifactFolder,
  missing,
  validateRunName,
} from "./trackingRules.ts";
import type { RunStatus } from "./trackingRules.ts";

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface MetricInput {
  readonly key: string;
  /** Null for NaN. */
  readonly value: number | null;
  readonly timestamp: number;
  readonly step: number;
  readonly modelId: string;
  readonly datasetName: string;
  readonly datasetDigest: string;
}

export interface ExperimentRow {
  readonly id: number;
  readonly name: string;
  readonly artifactLocation: string;
  readonly lifecycleStage: string;
  readonly tags: readonly KeyValue[];
  readonly creationTime: number;
  readonly lastUpdateTime: number;
}

// ---- experiments --------------------------------------------------------------------------------

function experimentOf(row: {
  id: number;
  name: string;
  artifactLocation: string;
  lifecycleStage: string;
  tags: string;
  creationTime: bigint;
  lastUpdateTime: bigint;
}): ExperimentRow {
  return {
    id: row.id,
    name: row.name,
    artifactLocation: row.artifactLocation,
    lifecycleStage: row.lifecycleStage,
    tags: JSON.parse(row.tags) as KeyValue[],
    creationTime: Number(row.creationTime),
    lastUpdateTime: Number(row.lastUpdateTime),
  };
}

/** MLflow's server has experiment "0", "Default", from its first start; Registro makes it on first use. */
async function ensureDefaultExperiment(db: Database, now: number): Promise<void> {
  const found = await db.reader.mlflowExperiment.findUnique({
    where: { id: DEFAULT_EXPERIMENT_ID },
    select: { id: true },
  });
  if (found !== null) return;
  await db.write((tx) =>
    tx.execute(
      `INSERT INTO mlflow_experiments (id, name, artifact_location, lifecycle_stage, tags, creation_time, last_update_time, created_by)
       VALUES (?, ?, ?, 'active', '[]', ?, ?, '') ON CONFLICT DO NOTHING`,
      [DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, experimentArtifactLocation(0), now, now],
    ),
  );
}

export async function experimentById(db: Database, id: number, now: number): Promise<ExperimentRow> {
  if (id === DEFAULT_EXPERIMENT_ID) await ensureDefaultExperiment(db, now);
  const row = await db.reader.mlflowExperiment.findUnique({ where: { id } });
  if (row === null) throw missing(`No Experiment with id=${id} exists`);
  return experimentOf(row);
}

export async function experimentByName(db: Database, name: string, now: number): Promise<ExperimentRow> {
  if (name === DEFAULT_EXPERIMENT_NAME) await ensureDefaultExperiment(db, now);
  const row = await db.reader.mlflowExperiment.findUnique({ where: { name } });
  if (row === null) throw missing(`Could not find experiment with name '${name}'`);
  return experimentOf(row);
}

export async function createExperiment(
  db: Database,
  input: { name: string; tags: readonly KeyValue[]; now: number; createdBy: string },
): Promise<number> {
  // Taking the name "Default" before experiment 0 exists would leave the Default experiment nameless.
  if (input.name === DEFAULT_EXPERIMENT_NAME) await ensureDefaultExperiment(db, input.now);
  return db.write(async (tx) => {
    // Writers are serialised (db.write), so the next id cannot be taken twice.
    const taken = await tx.query<{ id: unknown }>(`SELECT id FROM mlflow_experiments WHERE name = ?`, [
      input.name,
    ]);
    if (taken.length > 0) throw new MlflowAlreadyExists(`Experiment(name=${input.name}) already exists.`);
    const highest = await tx.query<{ id: unknown }>(`SELECT MAX(id) AS id FROM mlflow_experiments`);
    const id = Math.max(Number(highest[0]?.id ?? 0), DEFAULT_EXPERIMENT_ID) + 1;
    await tx.execute(
      `INSERT INTO mlflow_experiments (id, name, artifact_location, lifecycle_stage, tags, creation_time, last_update_time, created_by)
       VALUES (?, ?, ?, 'active', ?, ?, ?, ?)`,
      [
        id,
        input.name,
        experimentArtifactLocation(id),
        JSON.stringify(input.tags),
        input.now,
        input.now,
        input.createdBy,
      ],
    );
    return id;
  });
}

class MlflowAlreadyExists extends MlflowError {
  constructor(message: string) {
    super("RESOURCE_ALREADY_EXISTS", message);
  }
}

// ---- runs ---------------------------------------------------------------------------------------

const RUN_SELECT = {
  id: true,
  experimentId: true,
  runName: true,
  userId: true,
  status: true,
  startTime: true,
  endTime: true,
  lifecycleStage: true,
  outputs: true,
  params: { select: { key: true, value: true }, orderBy: { key: "asc" } },
  tags: { select: { key: true, value: true }, orderBy: { key: "asc" } },
} as const;

export interface LatestMetric {
  readonly key: string;
  readonly value: number | null;
  readonly timestamp: number;
  readonly step: number;
}

export interface RunRow {
  readonly id: string;
  readonly experimentId: number;
  readonly runName: string;
  readonly userId: string;
  readonly status: string;
  readonly startTime: number;
  readonly endTime: number | null;
  readonly lifecycleStage: string;
  readonly outputs: readonly { model_id: string; step: number }[];
  readonly params: readonly KeyValue[];
  readonly tags: readonly KeyValue[];
  readonly metrics: readonly LatestMetric[];
}

/**
 * The latest value of each of a run's metrics, as MLflow's server picks it: highest step, then
 * latest timestamp, then largest value (NaN lowest).
 */
async function latestMetrics(db: Database, runId: string): Promise<LatestMetric[]> {
  const rows = await db.query<{ key: string; value: unknown; timestamp: unknown; step: unknown }>(
    `SELECT key, value, timestamp, step FROM (
       SELECT key, value, timestamp, step, ROW_NUMBER() OVER (
         PARTITION BY key ORDER BY step DESC, timestamp DESC, CASE WHEN value IS NULL THEN 0 ELSE 1 END DESC, value DESC, id DESC
       ) AS rank FROM mlflow_run_metrics WHERE run_id = ?
     ) ranked WHERE rank = 1 ORDER BY key`,
    [runId],
  );
  return rows.map((r) => ({
    key: r.key,
    value: r.value === null ? null : Number(r.value),
    timestamp: Number(r.timestamp),
    step: Number(r.step),
  }));
}

export async function runById(db: Database, runId: string): Promise<RunRow> {
  const row = await db.reader.mlflowRun.findUnique({ where: { id: runId }, select: RUN_SELECT });
  if (row === null) throw missing(`Run with id=${runId} not found`);
  return {
    ...row,
    startTime: Number(row.startTime),
    endTime: row.endTime === null ? null : Number(row.endTime),
    outputs: JSON.parse(row.outputs) as { model_id: string; step: number }[],
    metrics: await latestMetrics(db, runId),
  };
}

export async function createRun(
  db: Database,
  run: {
    id: string;
    experimentId: number;
    runName: string;
    userId: string;
    startTime: number;
    createdBy: string;
    /** Any `mlflow.runName` among them is replaced by the run's name. */
    tags: readonly KeyValue[];
    now: number;
  },
): Promise<void> {
  validateRunName(run.runName);
  await experimentById(db, run.experimentId, run.now);
  await db.write(async (tx) => {
    await tx.execute(
      `INSERT INTO mlflow_runs (id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, created_by, outputs)
       VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, 'active', ?, '[]')`,
      [run.id, run.experimentId, run.runName, run.userId, run.startTime, run.createdBy],
    );
    await upsertTags(tx, "mlflow_run_tags", "run_id", run.id, [
      ...run.tags.filter((t) => t.key !== RUN_NAME_TAG),
      { key: RUN_NAME_TAG, value: run.runName },
    ]);
  });
}

/** A run read inside the write transaction that changes it (missing: RESOURCE_DOES_NOT_EXIST). */
async function existingRun(tx: Tx, runId: string): Promise<{ experimentId: number; outputs: string }> {
  const rows = await tx.query<{ experiment_id: unknown; outputs: string }>(
    `SELECT experiment_id, outputs FROM mlflow_runs WHERE id = ?`,
    [runId],
  );
  const row = rows[0];
  if (row === undefined) throw missing(`Run with id=${runId} not found`);
  return { experimentId: Number(row.experiment_id), outputs: row.outputs };
}

export async function updateRun(
  db: Database,
  runId: string,
  change: { status?: RunStatus; endTime?: number; runName?: string },
): Promise<void> {
  await db.write(async (tx) => {
    await existingRun(tx, runId);
    if (change.status !== undefined)
      await tx.execute(`UPDATE mlflow_runs SET status = ? WHERE id = ?`, [change.status, runId]);
    if (change.endTime !== undefined)
      await tx.execute(`UPDATE mlflow_runs SET end_time = ? WHERE id = ?`, [change.endTime, runId]);
    if (change.runName !== undefined) await renameRun(tx, runId, change.runName);
  });
}

/**
 * MLflow keeps a run's name twice, in the run and in its `mlflow.runName` tag, and they are one
 * thing: every write of either (create's run_name aside, see createRun) comes here, so the name's
 * rule holds on every path and the two never differ. An empty name changes nothing, as in MLflow.
 */
async function renameRun(tx: Tx, runId: string, name: string): Promise<void> {
  validateRunName(name);
  if (name === "") return;
  await tx.execute(`UPDATE mlflow_runs SET run_name = ? WHERE id = ?`, [name, runId]);
  await upsertTags(tx, "mlflow_run_tags", "run_id", runId, [{ key: RUN_NAME_TAG, value: name }]);
}

/** Sets a run's tags; an `mlflow.runName` among them renames the run (MLflow's log_batch does too). */
async function setRunTags(tx: Tx, runId: string, tags: readonly KeyValue[]): Promise<void> {
  const named = tags.findLast((t) => t.key === RUN_NAME_TAG);
  await upsertTags(
    tx,
    "mlflow_run_tags",
    "run_id",
    runId,
    tags.filter((t) => t.key !== RUN_NAME_TAG),
  );
  if (named !== undefined) await renameRun(tx, runId, named.value);
}

type TagTable = "mlflow_run_tags" | "mlflow_logged_model_tags";
type ParamTable = "mlflow_run_params" | "mlflow_logged_model_params";

async function countRows(tx: Tx, table: string, owner: string, id: string): Promise<number> {
  const rows = await tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${owner} = ?`, [id]);
  return Number(rows[0]?.n ?? 0);
}

/** Sets tags (the last value of a key in the list wins, as MLflow's log-batch does). */
async function upsertTags(
  tx: Tx,
  table: TagTable,
  owner: "run_id" | "model_id",
  id: string,
  tags: readonly KeyValue[],
): Promise<void> {
  for (const tag of tags)
    await tx.execute(
      `INSERT INTO ${table} (${owner}, key, value) VALUES (?, ?, ?) ON CONFLICT (${owner}, key) DO UPDATE SET value = excluded.value`,
      [id, tag.key, tag.value],
    );
  if (tags.length > 0 && (await countRows(tx, table, owner, id)) > LIMITS.tagsPerEntity)
    throw invalid(
      `At most ${LIMITS.tagsPerEntity} tags may be set on one ${owner === "run_id" ? "run" : "logged model"}`,
    );
}

/**
 * Logs params: a key already logged with the same value is accepted (logging is idempotent); with
 * another value it is refused, as MLflow refuses to change a param.
 */
async function insertParams(
  tx: Tx,
  table: ParamTable,
  owner: "run_id" | "model_id",
  id: string,
  params: readonly KeyValue[],
): Promise<void> {
  const given = new Map<string, string>();
  for (const param of params) {
    const earlier = given.get(param.key);
    if (earlier !== undefined && earlier !== param.value)
      throw invalid(
        `Duplicate parameter keys have been submitted: [${param.key}]. Please ensure the request contains only one param value per param key.`,
      );
    given.set(param.key, param.value);
  }
  for (const [key, value] of given) {
    const rows = await tx.query<{ value: string }>(
      `SELECT value FROM ${table} WHERE ${owner} = ? AND key = ?`,
      [id, key],
    );
    const existing = rows[0];
    if (existing === undefined)
      await tx.execute(`INSERT INTO ${table} (${owner}, key, value) VALUES (?, ?, ?)`, [id, key, value]);
    else if (existing.value !== value)
      throw invalid(
        `Changing param values is not allowed. Param with key='${key}' was already logged with value='${existing.value}' for ${owner === "run_id" ? "run" : "logged model"} ID='${id}'. Attempted logging new value '${value}'.`,
      );
  }
  if (given.size > 0 && (await countRows(tx, table, owner, id)) > LIMITS.paramsPerEntity)
    throw invalid(
      `At most ${LIMITS.paramsPerEntity} params may be logged on one ${owner === "run_id" ? "run" : "logged model"}`,
    );
}

const METRIC_COLUMNS = "run_id, key, value, timestamp, step, model_id, dataset_name, dataset_digest";
const METRIC_CHUNK = 50;

async function insertMetrics(tx: Tx, runId: string, metrics: readonly MetricInput[]): Promise<void> {
  if (metrics.length === 0) return;
  const models = new Set(metrics.map((m) => m.modelId).filter((id) => id !== ""));
  for (const modelId of models) {
    const found = await tx.query(`SELECT id FROM mlflow_logged_models WHERE id = ?`, [modelId]);
    if (found.length === 0) throw missing(`Logged model with ID '${modelId}' not found.`);
  }
  for (let i = 0; i < metrics.length; i += METRIC_CHUNK) {
    const chunk = metrics.slice(i, i + METRIC_CHUNK);
    const values: SqlValue[] = chunk.flatMap((m) => [
      runId,
      m.key,
      m.value,
      m.timestamp,
      m.step,
      m.modelId,
      m.datasetName,
      m.datasetDigest,
    ]);
    await tx.execute(
      `INSERT INTO mlflow_run_metrics (${METRIC_COLUMNS}) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} ON CONFLICT DO NOTHING`,
      values,
    );
  }
  if ((await countRows(tx, "mlflow_run_metrics", "run_id", runId)) > LIMITS.metricValuesPerRun)
    throw invalid(
      `Run ${runId} would hold more than ${LIMITS.metricValuesPerRun} metric values; Registro bounds a run's metric history`,
    );
}

export async function logBatch(
  db: Database,
  runId: string,
  batch: { metrics: readonly MetricInput[]; params: readonly KeyValue[]; tags: readonly KeyValue[] },
): Promise<void> {
  await db.write(async (tx) => {
    await existingRun(tx, runId);
    await insertParams(tx, "mlflow_run_params", "run_id", runId, batch.params);
    await setRunTags(tx, runId, batch.tags);
    await insertMetrics(tx, runId, batch.metrics);
  });
}

export async function deleteRunTag(db: Database, runId: string, key: string): Promise<void> {
  await db.write(async (tx) => {
    await existingRun(tx, runId);
    const deleted = await tx.execute(`DELETE FROM mlflow_run_tags WHERE run_id = ? AND key = ?`, [
      runId,
      key,
    ]);
    if (deleted === 0) throw missing(`No tag with name: ${key} in run with id ${runId}`);
  });
}

const LOG_MODEL_HISTORY = "mlflow.log-model.history";

/**
 * Appends an MLmodel description to the run's `mlflow.log-model.history` tag, as MLflow's server
 * does. The model is nested at most LIMITS.jsonDepth levels (jsonFieldOf), so the history Registro
 * writes is at most one more. The tag is also any client's to set (set-tag, log-batch) and a
 * restore's (values up to LIMITS.logModelHistoryLength characters), so a value that is not such a
 * history (not JSON, not a list, or nested deeper than Registro writes one, which JSON.stringify,
 * recursing, may not manage to write back) is not extended but started again.
 */
export async function appendLoggedModel(db: Database, runId: string, model: unknown): Promise<void> {
  await db.write(async (tx) => {
    await existingRun(tx, runId);
    const rows = await tx.query<{ value: string }>(
      `SELECT value FROM mlflow_run_tags WHERE run_id = ? AND key = ?`,
      [runId, LOG_MODEL_HISTORY],
    );
    let history: unknown[] = [];
    try {
      const parsed: unknown = rows[0] === undefined ? [] : JSON.parse(rows[0].value);
      if (Array.isArray(parsed) && !nestsDeeperThan(parsed, LIMITS.jsonDepth + 1)) history = parsed;
    } catch {
      history = [];
    }
    const value = JSON.stringify([...history, model]);
    if (value.length > LIMITS.logModelHistoryLength)
      throw invalid(`The run's ${LOG_MODEL_HISTORY} would exceed ${LIMITS.logModelHistoryLength} characters`);
    await upsertTags(tx, "mlflow_run_tags", "run_id", runId, [{ key: LOG_MODEL_HISTORY, value }]);
  });
}

/** Records logged models as the run's outputs (MLflow 3), once per model and step. */
export async function logOutputs(
  db: Database,
  runId: string,
  models: readonly { modelId: string; step: number }[],
): Promise<void> {
  await db.write(async (tx) => {
    const run = await existingRun(tx, runId);
    const outputs = JSON.parse(run.outputs) as { model_id: string; step: number }[];
    for (const model of models) {
      const found = await tx.query(`SELECT id FROM mlflow_logged_models WHERE id = ?`, [model.modelId]);
      if (found.length === 0) throw missing(`Logged model with ID '${model.modelId}' not found.`);
      if (!outputs.some((o) => o.model_id === model.modelId && o.step === model.step))
        outputs.push({ model_id: model.modelId, step: model.step });
    }
    if (outputs.length > LIMITS.outputsPerRun)
      throw invalid(`At most ${LIMITS.outputsPerRun} model outputs may be logged on one run`);
    await tx.execute(`UPDATE mlflow_runs SET outputs = ? WHERE id = ?`, [JSON.stringify(outputs), runId]);
  });
}

export interface HistoryMetric extends LatestMetric {
  readonly datasetName: string;
  readonly datasetDigest: string;
}

/**
 * Every logged value of one metric of a run, oldest first. A value logged again linked to a logged
 * model (MLflow 3 does so when it logs a model) is one value of the history, as in MLflow.
 */
export async function metricHistory(
  db: Database,
  runId: string,
  key: string,
  offset: number,
  limit: number,
): Promise<HistoryMetric[]> {
  await runById(db, runId);
  const rows = await db.query<{
    value: unknown;
    timestamp: unknown;
    step: unknown;
    dataset_name: string;
    dataset_digest: string;
  }>(
    `SELECT value, timestamp, step, MAX(dataset_name) AS dataset_name, MAX(dataset_digest) AS dataset_digest, MIN(id) AS first
     FROM mlflow_run_metrics WHERE run_id = ? AND key = ?
     GROUP BY timestamp, step, value ORDER BY first LIMIT ? OFFSET ?`,
    [runId, key, limit, offset],
  );
  return rows.map((r) => ({
    key,
    value: r.value === null ? null : Number(r.value),
    timestamp: Number(r.timestamp),
    step: Number(r.step),
    datasetName: r.dataset_name,
    datasetDigest: r.dataset_digest,
  }));
}

// ---- logged models ------------------------------------------------------------------------------

export interface LoggedModelRow {
  readonly id: string;
  readonly experimentId: number;
  readonly name: string;
  readonly modelType: string;
  readonly sourceRunId: string;
  readonly status: string;
  readonly creationTime: number;
  readonly lastUpdateTime: number;
  readonly params: readonly KeyValue[];
  readonly tags: readonly KeyValue[];
  readonly metrics: readonly (HistoryMetric & { readonly runId: string })[];
}

const MODEL_SELECT = {
  id: true,
  experimentId: true,
  name: true,
  modelType: true,
  sourceRunId: true,
  status: true,
  creationTime: true,
  lastUpdateTime: true,
  params: { select: { key: true, value: true }, orderBy: { key: "asc" } },
  tags: { select: { key: true, value: true }, orderBy: { key: "asc" } },
} as const;

type ModelSelected = {
  id: string;
  experimentId: number;
  name: string;
  modelType: string;
  sourceRunId: string;
  status: string;
  creationTime: bigint;
  lastUpdateTime: bigint;
  params: KeyValue[];
  tags: KeyValue[];
};

/** Metrics linked to logged models (MLflow 3 links a run's metrics when it logs the model). */
async function modelMetrics(db: Database, modelIds: readonly string[]) {
  if (modelIds.length === 0) return new Map<string, LoggedModelRow["metrics"][number][]>();
  const rows = await db.reader.mlflowRunMetric.findMany({
    where: { modelId: { in: [...modelIds] } },
    orderBy: { id: "asc" },
    take: 1000 * modelIds.length,
  });
  const byModel = new Map<string, LoggedModelRow["metrics"][number][]>();
  for (const r of rows) {
    const list = byModel.get(r.modelId) ?? [];
    if (list.length < 1000)
      list.push({
        key: r.key,
        value: r.value,
        timestamp: Number(r.timestamp),
        step: Number(r.step),
        datasetName: r.datasetName,
        datasetDigest: r.datasetDigest,
        runId: r.runId,
      });
    byModel.set(r.modelId, list);
  }
  return byModel;
}

function loggedModelOf(row: ModelSelected, metrics: LoggedModelRow["metrics"]): LoggedModelRow {
  return {
    ...row,
    creationTime: Number(row.creationTime),
    lastUpdateTime: Number(row.lastUpdateTime),
    metrics,
  };
}

export async function loggedModelById(db: Database, modelId: string): Promise<LoggedModelRow> {
  const row = await db.reader.mlflowLoggedModel.findUnique({ where: { id: modelId }, select: MODEL_SELECT });
  if (row === null) throw missing(`Logged model with ID '${modelId}' not found.`);
  return loggedModelOf(row, (await modelMetrics(db, [modelId])).get(modelId) ?? []);
}

export async function createLoggedModel(
  db: Database,
  model: {
    id: string;
    experimentId: number;
    name: string;
    modelType: string;
    sourceRunId: string;
    params: readonly KeyValue[];
    tags: readonly KeyValue[];
    createdBy: string;
    now: number;
  },
): Promise<void> {
  await experimentById(db, model.experimentId, model.now);
  await db.write(async (tx) => {
    if (model.sourceRunId !== "") await existingRun(tx, model.sourceRunId);
    await tx.execute(
      `INSERT INTO mlflow_logged_models (id, experiment_id, name, model_type, source_run_id, status, creation_time, last_update_time, created_by)
       VALUES (?, ?, ?, ?, ?, 'LOGGED_MODEL_PENDING', ?, ?, ?)`,
      [
        model.id,
        model.experimentId,
        model.name,
        model.modelType,
        model.sourceRunId,
        model.now,
        model.now,
        model.createdBy,
      ],
    );
    await insertParams(tx, "mlflow_logged_model_params", "model_id", model.id, model.params);
    await upsertTags(tx, "mlflow_logged_model_tags", "model_id", model.id, model.tags);
  });
}

/** Marks a logged model changed now (missing: RESOURCE_DOES_NOT_EXIST). */
async function touchModel(tx: Tx, modelId: string, now: number): Promise<void> {
  const updated = await tx.execute(`UPDATE mlflow_logged_models SET last_update_time = ? WHERE id = ?`, [
    now,
    modelId,
  ]);
  if (updated === 0) throw missing(`Logged model with ID '${modelId}' not found.`);
}

export async function finalizeLoggedModel(db: Database, modelId: string, status: string, now: number) {
  await db.write(async (tx) => {
    await touchModel(tx, modelId, now);
    await tx.execute(`UPDATE mlflow_logged_models SET status = ? WHERE id = ?`, [status, modelId]);
  });
}

export async function setLoggedModelTags(
  db: Database,
  modelId: string,
  tags: readonly KeyValue[],
  now: number,
) {
  await db.write(async (tx) => {
    await touchModel(tx, modelId, now);
    await upsertTags(tx, "mlflow_logged_model_tags", "model_id", modelId, tags);
  });
}

export async function deleteLoggedModelTag(db: Database, modelId: string, key: string, now: number) {
  await db.write(async (tx) => {
    await touchModel(tx, modelId, now);
    const deleted = await tx.execute(`DELETE FROM mlflow_logged_model_tags WHERE model_id = ? AND key = ?`, [
      modelId,
      key,
    ]);
    if (deleted === 0) throw missing(`No tag with key '${key}' on logged model ${modelId}`);
  });
}

export async function logLoggedModelParams(
  db: Database,
  modelId: string,
  params: readonly KeyValue[],
  now: number,
) {
  await db.write(async (tx) => {
    await touchModel(tx, modelId, now);
    await insertParams(tx, "mlflow_logged_model_params", "model_id", modelId, params);
  });
}

export interface LoggedModelSearch {
  readonly experimentIds: readonly number[];
  /** Attribute equalities (name, source_run_id, model_type, status), AND-joined. */
  readonly equals: readonly {
    readonly field: "name" | "sourceRunId" | "modelType" | "status";
    readonly value: string;
  }[];
  readonly orderBy: readonly {
    readonly field: "creationTime" | "lastUpdateTime" | "name";
    readonly descending: boolean;
  }[];
  readonly offset: number;
  readonly limit: number;
}

/** One page (plus one row, to tell whether another page follows). */
export async function searchLoggedModels(db: Database, search: LoggedModelSearch): Promise<LoggedModelRow[]> {
  const rows = await db.reader.mlflowLoggedModel.findMany({
    where: {
      experimentId: { in: [...search.experimentIds] },
      AND: search.equals.map((e) => ({ [e.field]: e.value })),
    },
    orderBy: [
      ...search.orderBy.map((o) => ({ [o.field]: o.descending ? ("desc" as const) : ("asc" as const) })),
      { creationTime: "desc" as const },
      { id: "asc" as const },
    ],
    skip: search.offset,
    take: search.limit + 1,
    select: MODEL_SELECT,
  });
  const metrics = await modelMetrics(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => loggedModelOf(r, metrics.get(r.id) ?? []));
}

// ---- for registration (src/mlflow/registerFromProxy.ts) -------------------------------------------

/**
 * Where a logged model's files live under MLflow's artifact proxy (`<experiment>/models/<id>/artifacts`),
 * for a `models:/m-<id>` source; null when there is no such logged model.
 */
export async function loggedModelArtifactPath(
  db: Pick<Database, "reader">,
  modelId: string,
): Promise<string | null> {
  if (!/^m-[0-9a-f]{32}$/.test(modelId)) return null;
  const row = await db.reader.mlflowLoggedModel.findUnique({
    where: { id: modelId },
    select: { experimentId: true },
  });
  return row === null ? null : loggedModelArtifactFolder(row.experimentId, modelId);
}

export interface RunTrainingRecord {
  /** The run's params (a null-prototype record: keys are whatever the client logged). */
  readonly params: Record<string, string>;
  /** The latest value of each metric (NaN for a NaN value). */
  readonly metrics: Record<string, number>;
}

/** A run's params and latest metrics, for a version registered from it; null when there is no such run. */
export async function runTrainingRecord(db: Database, runId: string): Promise<RunTrainingRecord | null> {
  const run = await db.reader.mlflowRun.findUnique({
    where: { id: runId },
    select: { params: { select: { key: true, value: true } } },
  });
  if (run === null) return null;
  const params = Object.create(null) as Record<string, string>;
  for (const p of run.params) params[p.key] = p.value;
  const metrics = Object.create(null) as Record<string, number>;
  for (const m of await latestMetrics(db, runId)) metrics[m.key] = m.value ?? NaN;
  return { params, metrics };
}
