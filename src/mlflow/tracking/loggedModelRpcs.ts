// MLflow 3's logged-model RPCs: `log_model` creates a logged model (PENDING), uploads its files to
// the model's own artifact folder, links the run's metrics, and finalizes it (READY);
// `register_model("runs:/<run>/<name>")` finds it again by searching the run's experiment, and
// records the registered version in the model's `mlflow.modelVersions` tag.
import { z } from "zod";
import type { Rpc, RpcContext } from "../mlflowRpc.ts";
import { maxResultsOf, pageToken, parse, queryHash, readPageToken, str } from "../mlflowRpc.ts";
import { loggedModelJson } from "./trackingJson.ts";
import { db, keyValues, now, paramsOf, requireWriter, tagsOf } from "./trackingRpc.ts";
import {
  LIMITS,
  experimentIdOf,
  finalStatusOf,
  invalid,
  loggedModelIdOf,
  newLoggedModelId,
  runIdOf,
  validateKey,
} from "./trackingRules.ts";
import type { LoggedModelSearch } from "./trackingStore.ts";
import {
  createLoggedModel,
  deleteLoggedModelTag,
  finalizeLoggedModel,
  logLoggedModelParams,
  loggedModelById,
  searchLoggedModels,
  setLoggedModelTags,
} from "./trackingStore.ts";

async function modelAnswer(ctx: RpcContext, modelId: string) {
  return { model: loggedModelJson(await loggedModelById(db(ctx), modelId)) };
}

function limitedParams(given: readonly { key: string; value: string }[] | undefined) {
  if ((given?.length ?? 0) > LIMITS.paramsPerBatch)
    throw invalid(`At most ${LIMITS.paramsPerBatch} params may be logged in one request`);
  return paramsOf(given);
}

function limitedTags(given: readonly { key: string; value: string }[] | undefined) {
  if ((given?.length ?? 0) > LIMITS.tagsPerBatch)
    throw invalid(`At most ${LIMITS.tagsPerBatch} tags may be set in one request`);
  return tagsOf(given);
}

const createLoggedModelRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse(
    {
      experiment_id: z.union([str, z.number()]),
      name: str.optional(),
      model_type: str.optional(),
      source_run_id: str.optional(),
      params: keyValues.optional(),
      tags: keyValues.optional(),
    },
    params,
  );
  const id = newLoggedModelId();
  const name = input.name === undefined || input.name === "" ? `model-${id.slice(2, 10)}` : input.name;
  if (name.length > LIMITS.keyLength)
    throw invalid(`Logged model name exceeds ${LIMITS.keyLength} characters`);
  if ((input.model_type ?? "").length > LIMITS.keyLength)
    throw invalid(`model_type exceeds ${LIMITS.keyLength} characters`);
  const sourceRunId =
    input.source_run_id === undefined || input.source_run_id === ""
      ? ""
      : runIdOf(input.source_run_id, undefined);
  await createLoggedModel(db(ctx), {
    id,
    experimentId: experimentIdOf(input.experiment_id),
    name,
    modelType: input.model_type ?? "",
    sourceRunId,
    params: limitedParams(input.params),
    tags: limitedTags(input.tags),
    createdBy: ctx.principalId,
    now: now(ctx),
  });
  return modelAnswer(ctx, id);
};

const getLoggedModelRpc: Rpc = async (params, ctx) => {
  const input = parse({ model_id: str }, params);
  return modelAnswer(ctx, loggedModelIdOf(input.model_id));
};

const finalizeLoggedModelRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ model_id: str, status: z.union([str, z.number()]) }, params);
  const modelId = loggedModelIdOf(input.model_id);
  await finalizeLoggedModel(db(ctx), modelId, finalStatusOf(input.status), now(ctx));
  return modelAnswer(ctx, modelId);
};

const setLoggedModelTagsRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ model_id: str, tags: keyValues.optional() }, params);
  const modelId = loggedModelIdOf(input.model_id);
  await setLoggedModelTags(db(ctx), modelId, limitedTags(input.tags), now(ctx));
  return modelAnswer(ctx, modelId);
};

const deleteLoggedModelTagRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ model_id: str, tag_key: str }, params);
  validateKey("tag", input.tag_key);
  await deleteLoggedModelTag(db(ctx), loggedModelIdOf(input.model_id), input.tag_key, now(ctx));
  return {};
};

const logLoggedModelParamsRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ model_id: str, params: keyValues.optional() }, params);
  await logLoggedModelParams(db(ctx), loggedModelIdOf(input.model_id), limitedParams(input.params), now(ctx));
  return {};
};

// ---- search -------------------------------------------------------------------------------------

const FILTER_FIELDS = new Map<string, LoggedModelSearch["equals"][number]["field"]>([
  ["name", "name"],
  ["source_run_id", "sourceRunId"],
  ["model_type", "modelType"],
  ["status", "status"],
]);

const ORDER_FIELDS = new Map<string, LoggedModelSearch["orderBy"][number]["field"]>([
  ["creation_timestamp", "creationTime"],
  ["creation_time", "creationTime"],
  ["last_updated_timestamp", "lastUpdateTime"],
  ["name", "name"],
]);

/**
 * The part of MLflow's logged-model filter grammar Registro serves: AND-joined equalities on
 * `name`, `source_run_id`, `model_type` and `status` with single-quoted values. Anything else
 * (params, metrics, other comparators) is refused rather than silently ignored.
 */
function parseFilter(filter: string): LoggedModelSearch["equals"] {
  if (filter.trim() === "") return [];
  if (filter.length > 1000) throw invalid("Invalid filter: longer than 1000 characters");
  return filter.split(/ and /i).map((clause) => {
    const match = /^\s*`?([a-z_]+)`?\s*=\s*'([^']*)'\s*$/.exec(clause);
    const field = match === null ? undefined : FILTER_FIELDS.get(match[1] ?? "");
    if (match === null || field === undefined)
      throw invalid(
        `Unsupported filter clause '${clause.trim().slice(0, 100)}': Registro serves AND-joined equalities on name, source_run_id, model_type and status, e.g. "source_run_id = '<run id>'"`,
      );
    return { field, value: match[2] ?? "" };
  });
}

const SEARCH_DEFAULT = 50;
const SEARCH_MAX = 1000;

const searchLoggedModelsRpc: Rpc = async (params, ctx) => {
  const input = parse(
    {
      experiment_ids: z.array(z.union([str, z.number()])).max(100),
      filter: str.optional(),
      max_results: z.union([str, z.number()]).optional(),
      order_by: z
        .array(z.object({ field_name: str, ascending: z.boolean().optional() }).passthrough())
        .max(10)
        .optional(),
      page_token: str.optional(),
      datasets: z.array(z.unknown()).max(0, "dataset-scoped search is not served").optional(),
    },
    params,
  );
  if (input.experiment_ids.length === 0)
    throw invalid("experiment_ids must contain at least one experiment ID");
  const experimentIds = input.experiment_ids.map(experimentIdOf);
  const equals = parseFilter(input.filter ?? "");
  const orderBy = (input.order_by ?? []).map((o) => {
    const field = ORDER_FIELDS.get(o.field_name);
    if (field === undefined)
      throw invalid(
        `Invalid order_by field '${o.field_name.slice(0, 100)}': order by creation_timestamp, last_updated_timestamp or name`,
      );
    return { field, descending: o.ascending === false };
  });
  const limit = maxResultsOf(input.max_results, SEARCH_DEFAULT, SEARCH_MAX);
  const hash = queryHash(
    "logged-models/search",
    JSON.stringify([experimentIds, equals]),
    orderBy.map((o) => `${o.field} ${o.descending}`),
  );
  const offset = readPageToken(input.page_token, hash);
  const rows = await searchLoggedModels(db(ctx), { experimentIds, equals, orderBy, offset, limit });
  const shown = rows.slice(0, limit);
  return {
    ...(shown.length > 0 ? { models: shown.map(loggedModelJson) } : {}),
    ...(rows.length > limit ? { next_page_token: pageToken(offset + limit, hash) } : {}),
  };
};

export const LOGGED_MODEL_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ["logged-models", new Map([["POST", createLoggedModelRpc]])],
  ["logged-models/search", new Map([["POST", searchLoggedModelsRpc]])],
  [
    "logged-models/{model_id}",
    new Map([
      ["GET", getLoggedModelRpc],
      ["PATCH", finalizeLoggedModelRpc],
    ]),
  ],
  ["logged-models/{model_id}/tags", new Map([["PATCH", setLoggedModelTagsRpc]])],
  ["logged-models/{model_id}/tags/{tag_key}", new Map([["DELETE", deleteLoggedModelTagRpc]])],
  ["logged-models/{model_id}/params", new Map([["POST", logLoggedModelParamsRpc]])],
]);
