// MLflow's model-version RPCs: like the registered-model ones, each parses MLflow's request, runs
// the same command GraphQL runs (executeCommand: permissions, events, subscriptions, safety gate,
// reviews) or reads through the caller's scoped reader, and answers MLflow's JSON.
import { z } from "zod";
import type { Prisma } from "../db/database.ts";
import { NotFoundError } from "../domain/errors.ts";
import { MAX_VERSION_NUMBER } from "../domain/validation.ts";
import { MlflowError, mlflowErrorOf } from "./mlflowErrors.ts";
import { versionRoot } from "./proxyPaths.ts";
import { registerFromProxy, resolveProxySource } from "./registerFromProxy.ts";
import { versionTrainingRecord } from "./tracking/versionTrainingRecord.ts";
import { readsEverything } from "../access/modelAccess.ts";
import { VERSION_SELECT, modelVersionJson, sortedTags } from "./mlflowJson.ts";
import { versionPageSql } from "./versionPageSql.ts";
import type { Rpc, RpcContext } from "./mlflowRpc.ts";
import {
  invalid,
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
import { liveModel } from "./registeredModelRpcs.ts";
import {
  MatchBudget,
  SEARCH_MATCH_STEPS,
  VERSION_FILTER,
  isOrdering,
  parseFilter,
  rowMatches,
  storableEqualities,
} from "./searchFilter.ts";
import type { Comparison } from "./searchFilter.ts";

const versionRef = { name: str, version: versionParam };

/** The live version of a live model, or MLflow's RESOURCE_DOES_NOT_EXIST (the model's when it is missing). */
async function liveVersion(ctx: RpcContext, name: string, version: number) {
  const row = await ctx.access.reader.modelVersion.findFirst({
    where: { version, deleted: false, model: { name, deleted: false } },
    select: VERSION_SELECT,
  });
  if (row !== null) return row;
  await liveModel(ctx.access.reader, name);
  throw mlflowErrorOf(new NotFoundError("ModelVersion", `${name} v${version}`));
}

async function versionAnswer(ctx: RpcContext, name: string, version: number) {
  return { model_version: modelVersionJson(name, await liveVersion(ctx, name, version)) };
}

const createVersion: Rpc = async (params, ctx) => {
  const input = parse(
    {
      name: str,
      source: str,
      run_id: str.optional(),
      tags: tagList.optional(),
      run_link: str.optional(),
      description: str.optional(),
    },
    params,
  );
  // MLflow's clients send an empty run_id for a version without a run.
  const runId = input.run_id === undefined || input.run_id === "" ? null : input.run_id;
  const data = {
    source: input.source,
    runId,
    description: input.description ?? "",
    tags: input.tags ?? [],
    // A run tracked here lends the version its params and latest metrics.
    ...(await versionTrainingRecord(ctx.commands.db, runId)),
  };
  // Files logged through the artifact proxy become the version's artifacts; any other source is
  // recorded as text, as MLflow records it.
  const proxyPath = await resolveProxySource(input.source, ctx);
  if (proxyPath !== null)
    return versionAnswer(
      ctx,
      input.name,
      await registerFromProxy(ctx, ctx.artifacts, input.name, proxyPath, data),
    );
  const outcome = await run(ctx, live(input.name), { type: "CreateModelVersion", data });
  const created = outcome.events.find((e) => e.type === "ModelVersionCreated");
  const version = (created?.data as { version?: unknown } | undefined)?.version;
  const view = typeof version === "number" ? outcome.views.versions.get(version) : undefined;
  if (typeof version !== "number" || !view) throw new MlflowError("INTERNAL_ERROR", "internal error");
  // The command's own view is the committed version: answering from it spares a read per call
  // (an alias can only point at it once it exists, so it has none).
  return {
    model_version: modelVersionJson(input.name, { ...view, tags: sortedTags(view.tags), aliases: [] }),
  };
};

const getVersion: Rpc = async (params, ctx) => {
  const input = parse(versionRef, params);
  return versionAnswer(ctx, input.name, versionNumber(input.version));
};

const updateVersion: Rpc = async (params, ctx) => {
  const input = parse({ ...versionRef, description: str.optional() }, params);
  const version = versionNumber(input.version);
  // As for models: an update without a description changes nothing and answers the version.
  if (input.description !== undefined)
    await run(ctx, live(input.name), {
      type: "UpdateModelVersion",
      data: { version, description: input.description },
    });
  return versionAnswer(ctx, input.name, version);
};

const deleteVersion: Rpc = async (params, ctx) => {
  const input = parse(versionRef, params);
  await run(ctx, live(input.name), {
    type: "DeleteModelVersion",
    data: { version: versionNumber(input.version) },
  });
  return {};
};

const transitionStage: Rpc = async (params, ctx) => {
  const input = parse(
    { ...versionRef, stage: str, archive_existing_versions: z.boolean().optional() },
    params,
  );
  const version = versionNumber(input.version);
  await run(ctx, live(input.name), {
    type: "TransitionModelVersionStage",
    data: {
      version,
      stage: stageOf(input.stage),
      comment: null,
      archiveExistingVersions: input.archive_existing_versions ?? false,
    },
  });
  return versionAnswer(ctx, input.name, version);
};

const setVersionTag: Rpc = async (params, ctx) => {
  const input = parse({ ...versionRef, key: str, value: str }, params);
  await run(ctx, live(input.name), {
    type: "SetModelVersionTag",
    data: { version: versionNumber(input.version), key: input.key, value: input.value },
  });
  return {};
};

const deleteVersionTag: Rpc = async (params, ctx) => {
  const input = parse({ ...versionRef, key: str }, params);
  await run(ctx, live(input.name), {
    type: "DeleteModelVersionTag",
    data: { version: versionNumber(input.version), key: input.key },
  });
  return {};
};

const downloadUri: Rpc = async (params, ctx) => {
  const input = parse(versionRef, params);
  const version = versionNumber(input.version);
  await liveVersion(ctx, input.name, version);
  const model = await ctx.access.reader.registeredModel.findFirst({
    where: { name: input.name, deleted: false },
    select: { id: true },
  });
  if (model === null) throw mlflowErrorOf(new NotFoundError("RegisteredModel", input.name));
  // Resolved by the client against its own tracking URI (so it works behind proxies too), then
  // served by the artifact proxy's read-only view of registered versions.
  return { artifact_uri: `mlflow-artifacts:/${versionRoot(model.id, version)}` };
};

// ---- search -------------------------------------------------------------------------------------

/** MLflow's default and (here lower) ceiling for search_model_versions' max_results. */
export const DEFAULT_VERSION_RESULTS = 10_000;
export const MAX_VERSION_RESULTS = 10_000;

export type VersionOrderField = "name" | "version" | "createdAt" | "updatedAt";

const versionOrderField = (field: string): VersionOrderField | null =>
  field === "name"
    ? "name"
    : field === "version_number"
      ? "version"
      : field === "creation_timestamp"
        ? "createdAt"
        : field === "last_updated_timestamp" || field === "timestamp"
          ? "updatedAt"
          : null;

/** version_number is a number: it is compared with an integer (the parser refuses LIKE on it). */
function checkVersionComparisons(comparisons: readonly Comparison[]) {
  for (const c of comparisons) {
    if (c.on !== "version_number") continue;
    if (c.op === "IN" || !/^[0-9]{1,15}$/.test(c.value))
      throw invalid(
        `Invalid filter: version_number must be an integer, got '${c.op === "IN" ? "(...)" : c.value}'`,
      );
  }
}

/**
 * A version_number comparison as the column can hold it. Past the largest version number (the
 * column's integer), every version is below the value and none at or above it: PostgreSQL refused
 * such a bound as out of range, which the client got as a 500.
 */
function versionBound(op: "lt" | "lte" | "gt" | "gte" | "equals", value: string): Prisma.IntFilter {
  const bound = Number(value);
  if (bound <= MAX_VERSION_NUMBER) return { [op]: bound };
  return op === "lt" || op === "lte" ? { lte: MAX_VERSION_NUMBER } : { gt: MAX_VERSION_NUMBER };
}

/** version_number ranges narrow in the database too (the checks above made their values integers). */
const versionRanges = (comparisons: readonly Comparison[]): Prisma.ModelVersionWhereInput[] =>
  comparisons.flatMap((c): Prisma.ModelVersionWhereInput[] => {
    if (c.on !== "version_number" || c.op === "IN" || !isOrdering(c.op)) return [];
    const op = c.op === "<" ? "lt" : c.op === "<=" ? "lte" : c.op === ">" ? "gt" : "gte";
    return [{ version: versionBound(op, c.value) }];
  });

const equalityWhere = (c: ReturnType<typeof storableEqualities>[number]): Prisma.ModelVersionWhereInput => {
  switch (c.on) {
    case "tag":
      return { tags: { some: { key: c.key, value: c.value } } };
    case "name":
      return { model: { name: c.value } };
    case "run_id":
      return { runId: c.value };
    case "source_path":
      return { source: c.value };
    case "version_number":
      return { version: versionBound("equals", c.value) };
  }
};

const searchVersions: Rpc = async (params, ctx) => {
  const input = parse(searchShape, params);
  const filter = input.filter ?? "";
  const comparisons = parseFilter(filter, VERSION_FILTER);
  checkVersionComparisons(comparisons);
  const maxResults = maxResultsOf(input.max_results, DEFAULT_VERSION_RESULTS, MAX_VERSION_RESULTS);
  const clauses = orderByClauses(input.order_by);
  const orders = parseOrderBy(
    clauses,
    versionOrderField,
    "name, version_number, creation_timestamp, last_updated_timestamp or timestamp",
  );
  const hash = queryHash("model-versions/search", filter, clauses);
  const offset = readPageToken(input.page_token, hash);

  // MLflow's default order: name ascending, newest version first.
  const sortBy = [
    ...orders,
    { field: "name" as const, descending: false },
    { field: "version" as const, descending: true },
  ];
  const fast = await pageInDatabase(ctx, comparisons, sortBy, offset, maxResults);
  if (fast !== null) return answer(fast.versions, fast.more ? pageToken(offset + maxResults, hash) : null);

  // As for models: exact equalities narrow in the database, every comparison is checked here.
  const candidates = await ctx.access.reader.modelVersion.findMany({
    where: {
      deleted: false,
      model: { deleted: false },
      AND: [...storableEqualities(comparisons).map(equalityWhere), ...versionRanges(comparisons)],
    },
    select: {
      ref: true,
      version: true,
      source: true,
      runId: true,
      createdAt: true,
      updatedAt: true,
      model: { select: { name: true } },
      tags: { select: { key: true, value: true } },
    },
  });
  const budget = new MatchBudget(SEARCH_MATCH_STEPS);
  const matching = candidates.filter((v) =>
    rowMatches(
      comparisons,
      {
        fields: {
          name: v.model.name,
          run_id: v.runId,
          source_path: v.source,
          version_number: String(v.version),
        },
        tags: new Map(v.tags.map((t) => [t.key, t.value])),
      },
      budget,
    ),
  );
  const keyOf = (v: (typeof matching)[number], field: VersionOrderField) =>
    field === "name"
      ? v.model.name
      : field === "version"
        ? v.version
        : field === "createdAt"
          ? v.createdAt.getTime()
          : v.updatedAt.getTime();
  matching.sort((a, b) => {
    for (const order of sortBy) {
      const x = keyOf(a, order.field);
      const y = keyOf(b, order.field);
      if (x !== y) return (x < y ? -1 : 1) * (order.descending ? -1 : 1);
    }
    return 0;
  });
  const page = matching.slice(offset, offset + maxResults);
  const rows = await ctx.access.reader.modelVersion.findMany({
    where: { ref: { in: page.map((v) => v.ref) } },
    select: { ref: true, model: { select: { name: true } }, ...VERSION_SELECT },
  });
  const byRef = new Map(rows.map((r) => [r.ref, r]));
  const versions = page.flatMap((v) => {
    const row = byRef.get(v.ref);
    return row === undefined ? [] : [modelVersionJson(row.model.name, row)];
  });
  const next = offset + maxResults;
  return answer(versions, next < matching.length ? pageToken(next, hash) : null);
};

const answer = (versions: readonly unknown[], nextPageToken: string | null) => ({
  ...(versions.length > 0 ? { model_versions: versions } : {}),
  ...(nextPageToken !== null ? { next_page_token: nextPageToken } : {}),
});

/** Prisma takes a 32-bit skip. */
const MAX_SKIP = 2_147_483_647;

const databaseOrder = (order: { field: VersionOrderField; descending: boolean }) => {
  const direction = order.descending ? ("desc" as const) : ("asc" as const);
  return order.field === "name" ? { model: { name: direction } } : { [order.field]: direction };
};

/**
 * The page straight from the database, when the database alone can answer the filter: every
 * comparison an exact equality it stores (name, run_id, source_path, a tag), one of them on the
 * model's name. The name then orders nothing (MLflow's clients list a model's versions this way),
 * so the database's order is the one the filtering path below sorts into, and only the page is
 * read instead of every candidate. Null when the filtering path must answer.
 */
async function pageInDatabase(
  ctx: RpcContext,
  comparisons: readonly Comparison[],
  sortBy: readonly { field: VersionOrderField; descending: boolean }[],
  offset: number,
  maxResults: number,
): Promise<{ versions: unknown[]; more: boolean } | null> {
  const equalities = storableEqualities(comparisons);
  if (
    equalities.length !== comparisons.length ||
    equalities.some((c) => c.on === "version_number") ||
    !equalities.some((c) => c.on === "name")
  )
    return null;
  // A token's offset may be any safe integer; past the last row the page is empty either way.
  if (offset > MAX_SKIP) return { versions: [], more: false };
  const name = equalities.find((c) => c.on === "name")!.value;
  // Past Prisma when the caller may read every model: nothing to narrow, and Prisma's planning
  // of the three queries cost more than the rest of the request (see versionPageSql).
  if (readsEverything(ctx.access.rights)) {
    const rows = await versionPageSql(ctx.commands.db, name, equalities, sortBy, offset, maxResults + 1);
    const page = rows.length > maxResults ? rows.slice(0, maxResults) : rows;
    return { versions: page.map((row) => modelVersionJson(name, row)), more: rows.length > maxResults };
  }
  const rows = await ctx.access.reader.modelVersion.findMany({
    where: { deleted: false, model: { deleted: false }, AND: equalities.map(equalityWhere) },
    // Ordering by the one name would join every candidate to its model and sort them all.
    orderBy: [...sortBy.filter((o) => o.field !== "name").map(databaseOrder), { ref: "asc" }],
    skip: offset,
    take: maxResults + 1,
    // Every row is the named model's: selecting the relation would look the model up again per row.
    select: VERSION_SELECT,
  });
  const page = rows.length > maxResults ? rows.slice(0, maxResults) : rows;
  return { versions: page.map((row) => modelVersionJson(name, row)), more: rows.length > maxResults };
}

/** The RPCs by path (after the API prefix) and HTTP method. */
export const MODEL_VERSION_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ["model-versions/create", new Map([["POST", createVersion]])],
  ["model-versions/get", new Map([["GET", getVersion]])],
  ["model-versions/update", new Map([["PATCH", updateVersion]])],
  ["model-versions/delete", new Map([["DELETE", deleteVersion]])],
  ["model-versions/transition-stage", new Map([["POST", transitionStage]])],
  ["model-versions/set-tag", new Map([["POST", setVersionTag]])],
  ["model-versions/delete-tag", new Map([["DELETE", deleteVersionTag]])],
  ["model-versions/search", new Map([["GET", searchVersions]])],
  ["model-versions/get-download-uri", new Map([["GET", downloadUri]])],
]);
