// What every MLflow RPC shares: its context, reading MLflow's request with a zod shape, running a
// command as GraphQL does, version numbers as MLflow sends them, stages, max_results and page
// tokens bound to the search they were made for.
import { createHash } from "node:crypto";
import { z } from "zod";
import { executeCommand } from "../application/executeCommand.ts";
import type {
  CommandDeps,
  CommandMetadata,
  CommandOutcome,
  ModelRef,
} from "../application/executeCommand.ts";
import type { RequestAccess } from "../access/scopedReader.ts";
import { DomainError } from "../domain/errors.ts";
import type { RegisteredModelCommand } from "../domain/registeredModel/commands.ts";
import { STAGES } from "../domain/stages.ts";
import { checkVersionNumber, unstorableText } from "../domain/validation.ts";
import { MlflowError, mlflowErrorOf } from "./mlflowErrors.ts";
import type { Params } from "./mlflowRequest.ts";
import type { ProxyArtifacts } from "./registerFromProxy.ts";

export interface RpcContext {
  readonly commands: CommandDeps;
  readonly metadata: CommandMetadata;
  readonly access: RequestAccess;
  readonly principalId: string;
  /** The blob store and inspector, for versions registered from the artifact proxy's files. */
  readonly artifacts: ProxyArtifacts;
}

export type Rpc = (params: Params, ctx: RpcContext) => Promise<unknown>;

export const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

/**
 * A string field of MLflow's requests, every RPC's. Text no database can hold (NUL, unpaired UTF-16
 * surrogates) is refused here, before a rule or a statement sees it: PostgreSQL refused NUL with an
 * error the client got as a 500, and both databases stored a lone surrogate as U+FFFD, so two names
 * that differ only there became one.
 */
export const str = z.string().superRefine((text, ctx) => {
  const problem = unstorableText(text);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});

/** Reads MLflow's request with a zod shape: unknown fields are ignored, wrong types refused. */
export function parse<T extends z.ZodRawShape>(shape: T, params: Params): z.infer<z.ZodObject<T>> {
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

export const tagList = z.array(z.object({ key: str, value: str })).max(1000);

export async function run(
  ctx: RpcContext,
  ref: ModelRef,
  command: RegisteredModelCommand,
): Promise<CommandOutcome> {
  const outcome = await executeCommand(ctx.commands, ref, command, ctx.metadata);
  if (outcome instanceof DomainError) throw mlflowErrorOf(outcome);
  return outcome;
}

export const live = (name: string): ModelRef => ({ kind: "live", name });

/** MLflow sends version numbers as strings (and some clients as numbers). */
export function versionNumber(value: string | number): number {
  const text = String(value);
  let digits = text.length > 0 && text.length <= 15;
  for (const c of text) if (c < "0" || c > "9") digits = false;
  const version = digits ? Number(text) : NaN;
  if (checkVersionNumber("version", version) !== null)
    throw invalid(`Invalid value for parameter 'version': '${text}' is not a version number`);
  return version;
}

export const versionParam = z.union([str, z.number()]);

/** A stage as MLflow accepts it: any letter case. */
export function stageOf(given: string): (typeof STAGES)[number] {
  const stage = STAGES.find((s) => s.toLowerCase() === given.toLowerCase());
  if (stage === undefined)
    throw invalid(`Invalid Model Version stage: ${given}. Value must be one of ${STAGES.join(", ")}.`);
  return stage;
}

// ---- search -------------------------------------------------------------------------------------

export const searchShape = {
  filter: str.optional(),
  max_results: z.union([str, z.number()]).optional(),
  order_by: z.union([str, z.array(str)]).optional(),
  page_token: str.optional(),
};

export function maxResultsOf(given: string | number | undefined, byDefault: number, max: number): number {
  // Digits only, as MLflow's parser reads an integer: Number() would take "0x10", "1e3" or " 5".
  const maxResults =
    given === undefined
      ? byDefault
      : typeof given === "number" || /^[0-9]{1,15}$/.test(given)
        ? Number(given)
        : NaN;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > max)
    throw invalid(
      `Invalid value for max_results: it must be an integer from 1 to ${max}, got ${String(given)}`,
    );
  return maxResults;
}

export const orderByClauses = (given: string | readonly string[] | undefined): readonly string[] =>
  given === undefined ? [] : typeof given === "string" ? [given] : given;

/** Splits `order_by` clauses into a field (lowercase, backquotes dropped) and a direction. */
export function parseOrderBy<F>(
  clauses: readonly string[],
  fieldOf: (name: string) => F | null,
  fieldNames: string,
): { readonly field: F; readonly descending: boolean }[] {
  if (clauses.length > 10) throw invalid("Invalid order_by: at most 10 clauses");
  return clauses.map((clause) => {
    if (clause.length > 200) throw invalid("Invalid order_by clause: too long");
    const words = clause
      .trim()
      .split(" ")
      .filter((w) => w !== "");
    const [rawField, rawDirection, ...rest] = words;
    const field = fieldOf((rawField ?? "").replaceAll("`", "").toLowerCase());
    const direction = (rawDirection ?? "ASC").toUpperCase();
    if (field === null || rest.length > 0 || (direction !== "ASC" && direction !== "DESC"))
      throw invalid(`Invalid order_by clause '${clause}': order by ${fieldNames}, optionally ASC or DESC`);
    return { field, descending: direction === "DESC" };
  });
}

/** A page token: where the next page starts, bound to the search and query it was made for. */
export function queryHash(rpc: string, filter: string, orderBy: readonly string[]): string {
  return createHash("sha256")
    .update(JSON.stringify([rpc, filter, orderBy]))
    .digest("base64url")
    .slice(0, 22);
}

const tokenShape = z.object({ offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), query: str });

export function readPageToken(token: string | undefined, hash: string): number {
  if (token === undefined || token === "") return 0;
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

export const pageToken = (offset: number, hash: string) =>
  Buffer.from(JSON.stringify({ offset, query: hash })).toString("base64url");
