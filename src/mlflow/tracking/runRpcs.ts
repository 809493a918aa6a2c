// MLflow's run RPCs on the way from `mlflow.start_run()` through `log_model` to `register_model`:
// create, get and update a run, log params, metrics and tags (singly and in batches), record a
// logged model (MLflow 2's `runs/log-model`, MLflow 3's `runs/outputs`) and read a metric's history
// (MLflow 3 reads it to link the run's metrics to the model it logs).
import { z } from "zod";
import { storablePrefix } from "../../domain/validation.ts";
import type { Rpc, RpcContext } from "../mlflowRpc.ts";
import { maxResultsOf, pageToken, parse, queryHash, readPageToken, str } from "../mlflowRpc.ts";
import { historyMetricJson, runInfoJson, runJson } from "./trackingJson.ts";
import { db, int64Param, keyValues, now, paramsOf, requireWriter, tagsOf } from "./trackingRpc.ts";
import {
  LIMITS,
  RUN_NAME_TAG,
  experimentIdOf,
  int64Of,
  invalid,
  jsonFieldOf,
  loggedModelIdOf,
  metricValueOf,
  newRunId,
  runIdOf,
  runStatusOf,
  validateBatchSizes,
  validateKey,
} from "./trackingRules.ts";
import type { MetricInput } from "./trackingStore.ts";
import {
  appendLoggedModel,
  createRun,
  deleteRunTag,
  logBatch,
  logOutputs,
  metricHistory,
  runById,
  updateRun,
} from "./trackingStore.ts";

const runRef = { run_id: str.optional(), run_uuid: str.optional() };

async function runAnswer(ctx: RpcContext, runId: string) {
  return { run: runJson(await runById(db(ctx), runId)) };
}

const createRunRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse(
    {
      experiment_id: z.union([str, z.number()]),
      user_id: str.optional(),
      run_name: str.optional(),
      start_time: int64Param.optional(),
      tags: keyValues.optional(),
    },
    params,
  );
  const experimentId = experimentIdOf(input.experiment_id);
  const tags = tagsOf(input.tags);
  if (tags.length > LIMITS.tagsPerBatch)
    throw invalid(`A run can be created with at most ${LIMITS.tagsPerBatch} tags`);
  const id = newRunId();
  // MLflow keeps the name in the run and in its `mlflow.runName` tag; a client may give either.
  const named = input.run_name ?? tags.findLast((t) => t.key === RUN_NAME_TAG)?.value ?? "";
  const runName = named === "" ? `run-${id.slice(0, 8)}` : named;
  const time = now(ctx);
  await createRun(db(ctx), {
    id,
    experimentId,
    runName,
    userId: input.user_id ?? "",
    startTime: int64Of("start_time", input.start_time, time),
    createdBy: ctx.principalId,
    tags,
    now: time,
  });
  return runAnswer(ctx, id);
};

const getRunRpc: Rpc = async (params, ctx) => {
  const input = parse(runRef, params);
  return runAnswer(ctx, runIdOf(input.run_id, input.run_uuid));
};

const updateRunRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse(
    {
      ...runRef,
      status: z.union([str, z.number()]).optional(),
      end_time: int64Param.optional(),
      run_name: str.optional(),
    },
    params,
  );
  const runId = runIdOf(input.run_id, input.run_uuid);
  await updateRun(db(ctx), runId, {
    ...(input.status === undefined ? {} : { status: runStatusOf(input.status) }),
    ...(input.end_time === undefined ? {} : { endTime: int64Of("end_time", input.end_time, 0) }),
    ...(input.run_name === undefined ? {} : { runName: input.run_name }),
  });
  return { run_info: runInfoJson(await runById(db(ctx), runId)) };
};

/** One metric as log-batch lists it and log-metric sends it (beside the run's id). */
const metricFields = {
  key: str,
  value: z.union([z.number(), str]),
  timestamp: int64Param,
  step: int64Param.optional(),
  model_id: str.optional(),
  dataset_name: str.optional(),
  dataset_digest: str.optional(),
};

const metricShape = z.object(metricFields);

function metricOf(m: z.infer<typeof metricShape>): MetricInput {
  validateKey("metric", m.key);
  return {
    key: m.key,
    value: metricValueOf(m.key, m.value),
    timestamp: int64Of("timestamp", m.timestamp, 0),
    step: int64Of("step", m.step, 0),
    modelId: m.model_id === undefined || m.model_id === "" ? "" : loggedModelIdOf(m.model_id),
    // Cut to MLflow's lengths without splitting a character (a lone half is stored as U+FFFD).
    datasetName: storablePrefix(m.dataset_name ?? "", 500),
    datasetDigest: storablePrefix(m.dataset_digest ?? "", 100),
  };
}

const logBatchRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse(
    {
      run_id: str,
      metrics: z.array(metricShape).max(10_000).optional(),
      params: keyValues.optional(),
      tags: keyValues.optional(),
    },
    params,
  );
  const runId = runIdOf(input.run_id, undefined);
  validateBatchSizes(input.metrics?.length ?? 0, input.params?.length ?? 0, input.tags?.length ?? 0);
  await logBatch(db(ctx), runId, {
    metrics: (input.metrics ?? []).map(metricOf),
    params: paramsOf(input.params),
    tags: tagsOf(input.tags),
  });
  return {};
};

const logParamRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ ...runRef, key: str, value: str }, params);
  const runId = runIdOf(input.run_id, input.run_uuid);
  await logBatch(db(ctx), runId, { metrics: [], params: paramsOf([input]), tags: [] });
  return {};
};

const logMetricRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ ...runRef, ...metricFields }, params);
  const runId = runIdOf(input.run_id, input.run_uuid);
  await logBatch(db(ctx), runId, { metrics: [metricOf(input)], params: [], tags: [] });
  return {};
};

const setTagRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ ...runRef, key: str, value: str }, params);
  const runId = runIdOf(input.run_id, input.run_uuid);
  // An `mlflow.runName` tag renames the run (logBatch sees to it, as for log-batch's tags).
  await logBatch(db(ctx), runId, { metrics: [], params: [], tags: tagsOf([input]) });
  return {};
};

const deleteTagRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ run_id: str, key: str }, params);
  const runId = runIdOf(input.run_id, undefined);
  validateKey("tag", input.key);
  await deleteRunTag(db(ctx), runId, input.key);
  return {};
};

/** Fields MLflow's server requires in `model_json` before it records the model in the run. */
const MODEL_JSON_FIELDS = ["artifact_path", "flavors", "utc_time_created", "run_id"] as const;

const logModelRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ run_id: str, model_json: str }, params);
  const runId = runIdOf(input.run_id, undefined);
  const model = jsonFieldOf("model_json", input.model_json, "Malformed model info. \n ");
  if (model === null || typeof model !== "object" || Array.isArray(model))
    throw invalid("Malformed model info. \n model_json must be a JSON object");
  const absent = MODEL_JSON_FIELDS.filter((f) => !Object.hasOwn(model, f));
  if (absent.length > 0)
    throw invalid(`Model json is missing mandatory fields: [${absent.map((f) => `'${f}'`).join(", ")}]`);
  await appendLoggedModel(db(ctx), runId, model);
  return {};
};

const logOutputsRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse(
    {
      run_id: str,
      models: z
        .array(z.object({ model_id: str, step: int64Param }))
        .max(LIMITS.outputsPerRun)
        .optional(),
    },
    params,
  );
  const runId = runIdOf(input.run_id, undefined);
  await logOutputs(
    db(ctx),
    runId,
    (input.models ?? []).map((m) => ({
      modelId: loggedModelIdOf(m.model_id),
      step: int64Of("step", m.step, 0),
    })),
  );
  return {};
};

/** Values per page of a metric's history when the client does not ask for fewer. */
const HISTORY_PAGE = 25_000;

const getMetricHistoryRpc: Rpc = async (params, ctx) => {
  const input = parse(
    {
      ...runRef,
      metric_key: str,
      max_results: z.union([str, z.number()]).optional(),
      page_token: str.optional(),
    },
    params,
  );
  const runId = runIdOf(input.run_id, input.run_uuid);
  validateKey("metric", input.metric_key);
  const limit = maxResultsOf(input.max_results, HISTORY_PAGE, HISTORY_PAGE);
  const hash = queryHash("metrics/get-history", `${runId}/${input.metric_key}`, []);
  const offset = readPageToken(input.page_token, hash);
  const page = await metricHistory(db(ctx), runId, input.metric_key, offset, limit + 1);
  const shown = page.slice(0, limit);
  return {
    ...(shown.length > 0 ? { metrics: shown.map((m) => historyMetricJson(runId, m)) } : {}),
    ...(page.length > limit ? { next_page_token: pageToken(offset + limit, hash) } : {}),
  };
};

export const RUN_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ["runs/create", new Map([["POST", createRunRpc]])],
  ["runs/get", new Map([["GET", getRunRpc]])],
  ["runs/update", new Map([["POST", updateRunRpc]])],
  ["runs/log-batch", new Map([["POST", logBatchRpc]])],
  ["runs/log-parameter", new Map([["POST", logParamRpc]])],
  ["runs/log-metric", new Map([["POST", logMetricRpc]])],
  ["runs/set-tag", new Map([["POST", setTagRpc]])],
  ["runs/delete-tag", new Map([["POST", deleteTagRpc]])],
  ["runs/log-model", new Map([["POST", logModelRpc]])],
  ["runs/outputs", new Map([["POST", logOutputsRpc]])],
  ["metrics/get-history", new Map([["GET", getMetricHistoryRpc]])],
]);
