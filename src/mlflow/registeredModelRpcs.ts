// MLflow's registered-model RPCs: each parses MLflow's request, runs the same command GraphQL runs
// (executeCommand: permissions, events, subscriptions, safety gate) or reads through the caller's
// scoped reader, and answers MLflow's JSON.
import { z } from "zod";
import { newRegisteredModel } from "../application/newRegisteredModel.ts";
import type { Db, Prisma } from "../db/database.ts";
import { NotFoundError } from "../domain/errors.ts";
import { STAGES } from "../domain/stages.ts";
import { MlflowError, mlflowErrorOf } from "./mlflowErrors.ts";
import { MODEL_SELECT, VERSION_SELECT, modelVersionJson, registeredModelJson } from "./mlflowJson.ts";
import type { Rpc, RpcContext } from "./mlflowRpc.ts";
import {
  live,
  maxResultsOf,
  orderByClauses,
  pageToken,
  parse,
  parseOrderBy,
  queryHash,
  readPageToken,
  run,
  searchShape,
  stageOf,
  str,
  tagList,
  versionNumber,
  versionParam,
} from "./mlflowRpc.ts";
import {
  MatchBudget,
  SEARCH_MATCH_STEPS,
  modelMatches,
  parseFilter,
  storableEqualities,
} from "./searchFilter.ts";

export type { Rpc, RpcContext } from "./mlflowRpc.ts";

export async function liveModel(reader: Db, name: string) {
  const row = await reader.registeredModel.findFirst({
    where: { name, deleted: false },
    select: MODEL_SELECT,
  });
  if (row === null) throw mlflowErrorOf(new NotFoundError("RegisteredModel", name));
  return row;
}

async function modelAnswer(ctx: RpcContext, name: string) {
  return { registered_model: registeredModelJson(await liveModel(ctx.access.reader, name)) };
}

const createModel: Rpc = async (params, ctx) => {
  const input = parse({ name: str, tags: tagList.optional(), description: str.optional() }, params);
  const { ref, command } = newRegisteredModel({ ...input, creatorId: ctx.principalId });
  await run(ctx, ref, command);
  return modelAnswer(ctx, input.name);
};

const getModel: Rpc = async (params, ctx) => modelAnswer(ctx, parse({ name: str }, params).name);

const renameModel: Rpc = async (params, ctx) => {
  const input = parse({ name: str, new_name: str }, params);
  await run(ctx, live(input.name), { type: "RenameRegisteredModel", data: { newName: input.new_name } });
  return modelAnswer(ctx, input.new_name);
};

const updateModel: Rpc = async (params, ctx) => {
  const input = parse({ name: str, description: str.optional() }, params);
  // MLflow's update without a description changes nothing and answers the model.
  if (input.description !== undefined)
    await run(ctx, live(input.name), {
      type: "UpdateRegisteredModel",
      data: { description: input.description },
    });
  return modelAnswer(ctx, input.name);
};

const deleteModel: Rpc = async (params, ctx) => {
  const input = parse({ name: str }, params);
  await run(ctx, live(input.name), { type: "DeleteRegisteredModel", data: {} });
  return {};
};

const setTag: Rpc = async (params, ctx) => {
  const input = parse({ name: str, key: str, value: str }, params);
  await run(ctx, live(input.name), {
    type: "SetRegisteredModelTag",
    data: { key: input.key, value: input.value },
  });
  return {};
};

const deleteTag: Rpc = async (params, ctx) => {
  const input = parse({ name: str, key: str }, params);
  await run(ctx, live(input.name), { type: "DeleteRegisteredModelTag", data: { key: input.key } });
  return {};
};

const setAlias: Rpc = async (params, ctx) => {
  const input = parse({ name: str, alias: str, version: versionParam }, params);
  await run(ctx, live(input.name), {
    type: "SetRegisteredModelAlias",
    data: { alias: input.alias, version: versionNumber(input.version) },
  });
  return {};
};

const deleteAlias: Rpc = async (params, ctx) => {
  const input = parse({ name: str, alias: str }, params);
  await run(ctx, live(input.name), { type: "DeleteRegisteredModelAlias", data: { alias: input.alias } });
  return {};
};

const getByAlias: Rpc = async (params, ctx) => {
  const input = parse({ name: str, alias: str }, params);
  const alias = await ctx.access.reader.modelAlias.findFirst({
    where: { alias: input.alias, model: { name: input.name, deleted: false } },
    select: { model: { select: { name: true } }, target: { select: VERSION_SELECT } },
  });
  if (alias === null) {
    await liveModel(ctx.access.reader, input.name);
    throw new MlflowError("INVALID_PARAMETER_VALUE", `Registered model alias ${input.alias} not found.`);
  }
  return { model_version: modelVersionJson(alias.model.name, alias.target) };
};

const stageList = z.array(str).max(STAGES.length * 4);

const getLatestVersions: Rpc = async (params, ctx) => {
  const input = parse({ name: str, stages: stageList.optional() }, params);
  const stages = (input.stages ?? []).map(stageOf);
  const model = await liveModel(ctx.access.reader, input.name);
  const latest = model.versions
    .filter((v) => stages.length === 0 || stages.includes(v.stage as (typeof STAGES)[number]))
    .sort((a, b) => a.version - b.version);
  return latest.length === 0 ? {} : { model_versions: latest.map((v) => modelVersionJson(model.name, v)) };
};

// ---- search -------------------------------------------------------------------------------------

export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 1000;

const modelOrderField = (field: string) =>
  field === "name"
    ? "name"
    : field === "last_updated_timestamp" || field === "timestamp"
      ? "updatedAt"
      : null;

const searchModels: Rpc = async (params, ctx) => {
  const input = parse(searchShape, params);
  const filter = input.filter ?? "";
  const comparisons = parseFilter(filter);
  const maxResults = maxResultsOf(input.max_results, DEFAULT_MAX_RESULTS, MAX_MAX_RESULTS);
  const clauses = orderByClauses(input.order_by);
  const orders = parseOrderBy(clauses, modelOrderField, "name, last_updated_timestamp or timestamp");
  const hash = queryHash("registered-models/search", filter, clauses);
  const offset = readPageToken(input.page_token, hash);

  // Exact equalities narrow the rows in the database; every comparison is then checked here, the
  // same way on both providers (LIKE's case rules differ between SQLite and PostgreSQL).
  const where: Prisma.RegisteredModelWhereInput = {
    deleted: false,
    AND: storableEqualities(comparisons).map((c): Prisma.RegisteredModelWhereInput =>
      c.on === "tag" ? { tags: { some: { key: c.key, value: c.value } } } : { name: c.value },
    ),
  };
  const candidates = await ctx.access.reader.registeredModel.findMany({
    where,
    select: { id: true, name: true, updatedAt: true, tags: { select: { key: true, value: true } } },
  });
  const budget = new MatchBudget(SEARCH_MATCH_STEPS);
  const matching = candidates.filter((m) =>
    modelMatches(comparisons, { name: m.name, tags: new Map(m.tags.map((t) => [t.key, t.value])) }, budget),
  );
  const sortBy = [...orders, { field: "name" as const, descending: false }];
  matching.sort((a, b) => {
    for (const order of sortBy) {
      const x = order.field === "name" ? a.name : a.updatedAt.getTime();
      const y = order.field === "name" ? b.name : b.updatedAt.getTime();
      if (x !== y) return (x < y ? -1 : 1) * (order.descending ? -1 : 1);
    }
    return 0;
  });
  const page = matching.slice(offset, offset + maxResults);
  const rows = await ctx.access.reader.registeredModel.findMany({
    where: { id: { in: page.map((m) => m.id) } },
    select: { id: true, ...MODEL_SELECT },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const models = page.flatMap((m) => {
    const row = byId.get(m.id);
    return row === undefined ? [] : [registeredModelJson(row)];
  });
  const next = offset + maxResults;
  return {
    ...(models.length > 0 ? { registered_models: models } : {}),
    ...(next < matching.length ? { next_page_token: pageToken(next, hash) } : {}),
  };
};

/** The RPCs by path (after the API prefix) and HTTP method. */
export const REGISTERED_MODEL_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ["registered-models/create", new Map([["POST", createModel]])],
  ["registered-models/get", new Map([["GET", getModel]])],
  ["registered-models/rename", new Map([["POST", renameModel]])],
  ["registered-models/update", new Map([["PATCH", updateModel]])],
  ["registered-models/delete", new Map([["DELETE", deleteModel]])],
  ["registered-models/search", new Map([["GET", searchModels]])],
  ["registered-models/set-tag", new Map([["POST", setTag]])],
  ["registered-models/delete-tag", new Map([["DELETE", deleteTag]])],
  [
    "registered-models/alias",
    new Map([
      ["POST", setAlias],
      ["DELETE", deleteAlias],
      ["GET", getByAlias],
    ]),
  ],
  [
    "registered-models/get-latest-versions",
    new Map([
      ["GET", getLatestVersions],
      ["POST", getLatestVersions],
    ]),
  ],
]);
