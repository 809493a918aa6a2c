// MLflow's registered-model RPCs: each parses MLflow's request, runs the same command GraphQL runs
// (executeCommand: permissions, events, subscriptions, safety gate) or reads through the caller's
// scoped reader, and answers MLflow's JSON.
import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { executeCommand } from "../application/executeCommand.ts";
import type { CommandDeps, CommandMetadata, ModelRef } from "../application/executeCommand.ts";
import type { RequestAccess } from "../access/scopedReader.ts";
import type { Db, Prisma } from "../db/database.ts";
import { DomainError, NotFoundError } from "../domain/errors.ts";
import type { RegisteredModelCommand } from "../domain/registeredModel/commands.ts";
import { STAGES } from "../domain/stages.ts";
import { unstorableText } from "../domain/validation.ts";
import { MlflowError, mlflowErrorOf } from "./mlflowErrors.ts";
import { MODEL_SELECT, VERSION_SELECT, modelVersionJson, registeredModelJson } from "./mlflowJson.ts";
import type { Params } from "./mlflowRequest.ts";
import {
  MAX_FILTER_LENGTH,
  MatchBudget,
  SEARCH_MATCH_STEPS,
  modelMatches,
  parseFilter,
} from "./searchFilter.ts";

export interface RpcContext {
  readonly commands: CommandDeps;
  readonly metadata: CommandMetadata;
  readonly access: RequestAccess;
  readonly principalId: string;
}

export type Rpc = (params: Params, ctx: RpcContext) => Promise<unknown>;

const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

const str = z.string();

/** Reads MLflow's request with a zod shape: unknown fields are ignored, wrong types refused. */
function parse<T extends z.ZodRawShape>(shape: T, params: Params): z.infer<z.ZodObject<T>> {
  for (const [field, schema] of Object.entries(shape))
    if (!(schema instanceof z.ZodOptional) && params.get(field) === undefined)
      throw invalid(
        `Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`,
      );
  const picked = new Map<string, unknown>();
  for (const field of Object.keys(shape)) {
    const value = params.get(field);
    if (value !== undefined) picked.set(field, value);
  }
  const result = z.object(shape).safeParse(Object.fromEntries(picked));
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    throw invalid(`Invalid value for parameter '${field}': ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}

const tagList = z.array(z.object({ key: str, value: str })).max(1000);

async function run(ctx: RpcContext, ref: ModelRef, command: RegisteredModelCommand): Promise<void> {
  const outcome = await executeCommand(ctx.commands, ref, command, ctx.metadata);
  if (outcome instanceof DomainError) throw mlflowErrorOf(outcome);
}

async function liveModel(reader: Db, name: string) {
  const row = await reader.registeredModel.findFirst({
    where: { name, deleted: false },
    select: MODEL_SELECT,
  });
  if (row === null) throw mlflowErrorOf(new NotFoundError("RegisteredModel", name));
  return row;
}

const live = (name: string): ModelRef => ({ kind: "live", name });

async function modelAnswer(ctx: RpcContext, name: string) {
  return { registered_model: registeredModelJson(await liveModel(ctx.access.reader, name)) };
}

const createModel: Rpc = async (params, ctx) => {
  const input = parse({ name: str, tags: tagList.optional(), description: str.optional() }, params);
  const modelId = randomUUID();
  await run(
    ctx,
    { kind: "new", modelId },
    {
      type: "CreateRegisteredModel",
      data: {
        modelId,
        name: input.name,
        description: input.description ?? "",
        tags: input.tags ?? [],
        creatorId: ctx.principalId,
      },
    },
  );
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

/** MLflow sends version numbers as strings (and some clients as numbers). */
function versionNumber(value: string | number): number {
  const text = String(value);
  let digits = text.length > 0 && text.length <= 15;
  for (const c of text) if (c < "0" || c > "9") digits = false;
  const version = digits ? Number(text) : NaN;
  if (!Number.isSafeInteger(version) || version < 1)
    throw invalid(`Invalid value for parameter 'version': '${text}' is not a version number`);
  return version;
}

const versionParam = z.union([str, z.number()]);

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
  const stages = (input.stages ?? []).map((given) => {
    const stage = STAGES.find((s) => s.toLowerCase() === given.toLowerCase());
    if (stage === undefined)
      throw invalid(`Invalid Model Version stage: ${given}. Value must be one of ${STAGES.join(", ")}.`);
    return stage;
  });
  const model = await liveModel(ctx.access.reader, input.name);
  const latest = model.versions
    .filter((v) => stages.length === 0 || stages.includes(v.stage as (typeof STAGES)[number]))
    .sort((a, b) => a.version - b.version);
  return latest.length === 0 ? {} : { model_versions: latest.map((v) => modelVersionJson(model.name, v)) };
};

// ---- search -------------------------------------------------------------------------------------

export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 1000;

interface Order {
  readonly field: "name" | "updatedAt";
  readonly descending: boolean;
}

function parseOrderBy(clauses: readonly string[]): Order[] {
  if (clauses.length > 10) throw invalid("Invalid order_by: at most 10 clauses");
  return clauses.map((clause) => {
    if (clause.length > 200) throw invalid("Invalid order_by clause: too long");
    const words = clause
      .trim()
      .split(" ")
      .filter((w) => w !== "");
    const [rawField, rawDirection, ...rest] = words;
    const field = (rawField ?? "").replaceAll("`", "").toLowerCase();
    const direction = (rawDirection ?? "ASC").toUpperCase();
    const mapped =
      field === "name"
        ? "name"
        : field === "last_updated_timestamp" || field === "timestamp"
          ? "updatedAt"
          : null;
    if (mapped === null || rest.length > 0 || (direction !== "ASC" && direction !== "DESC"))
      throw invalid(
        `Invalid order_by clause '${clause}': order by name, last_updated_timestamp or timestamp, optionally ASC or DESC`,
      );
    return { field: mapped, descending: direction === "DESC" };
  });
}

/** A page token: where the next page starts, bound to the query it was made for. */
function queryHash(filter: string, orderBy: readonly string[]): string {
  return createHash("sha256")
    .update(JSON.stringify(["registered-models/search", filter, orderBy]))
    .digest("base64url")
    .slice(0, 22);
}

const tokenShape = z.object({ offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), query: str });

function readPageToken(token: string, hash: string): number {
  const refuse = () => invalid("Invalid page_token: it is malformed or was made for another search");
  if (token.length > 200) throw refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  const parsed = tokenShape.safeParse(decoded);
  if (!parsed.success || parsed.data.query !== hash) throw refuse();
  return parsed.data.offset;
}

const pageToken = (offset: number, hash: string) =>
  Buffer.from(JSON.stringify({ offset, query: hash })).toString("base64url");

const searchModels: Rpc = async (params, ctx) => {
  const input = parse(
    {
      filter: str.optional(),
      max_results: z.union([str, z.number()]).optional(),
      order_by: z.union([str, z.array(str)]).optional(),
      page_token: str.optional(),
    },
    params,
  );
  const filter = input.filter ?? "";
  if (filter.length > MAX_FILTER_LENGTH)
    throw invalid(`Invalid filter: longer than ${MAX_FILTER_LENGTH} characters`);
  const comparisons = parseFilter(filter);
  const maxResults = input.max_results === undefined ? DEFAULT_MAX_RESULTS : Number(input.max_results);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_MAX_RESULTS)
    throw invalid(
      `Invalid value for max_results: it must be an integer from 1 to ${MAX_MAX_RESULTS}, got ${String(input.max_results)}`,
    );
  const orderByClauses =
    input.order_by === undefined ? [] : Array.isArray(input.order_by) ? input.order_by : [input.order_by];
  const orders = parseOrderBy(orderByClauses);
  const hash = queryHash(filter, orderByClauses);
  const offset =
    input.page_token === undefined || input.page_token === "" ? 0 : readPageToken(input.page_token, hash);

  // Exact equalities narrow the rows in the database; every comparison is then checked here, the
  // same way on both providers (LIKE's case rules differ between SQLite and PostgreSQL).
  const where: Prisma.RegisteredModelWhereInput = {
    deleted: false,
    AND: comparisons.flatMap((c): Prisma.RegisteredModelWhereInput[] =>
      // A text the database cannot hold (NUL) matches nothing stored; it is checked here only.
      c.op !== "=" || unstorableText(c.value) !== null || (c.on === "tag" && unstorableText(c.key) !== null)
        ? []
        : c.on === "name"
          ? [{ name: c.value }]
          : [{ tags: { some: { key: c.key, value: c.value } } }],
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
  const sortBy: Order[] = [...orders, { field: "name", descending: false }];
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
