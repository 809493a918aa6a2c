// MLflow's tracking-server rules for what a client may log: ids, key names, value lengths and batch
// sizes, with the limits MLflow's own server enforces (mlflow/utils/validation.py). Pure: every
// violation is an MLflow INVALID_PARAMETER_VALUE, never a crash. Keys and values are client input
// and are only ever compared and stored as data.
import { randomBytes } from "node:crypto";
import { LIMITS as REGISTRY_LIMITS, nestsDeeperThan } from "../../domain/validation.ts";
import { MlflowError } from "../mlflowErrors.ts";

export const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);
export const missing = (message: string) => new MlflowError("RESOURCE_DOES_NOT_EXIST", message);

/** MLflow's server limits (log-batch request limits and entity sizes). */
export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  runNameLength: 250,
  experimentTags: 100,
  /** Registro's own bounds: MLflow sets none, a shared server needs them. */
  metricValuesPerRun: 100_000,
  outputsPerRun: 1000,
  tagsPerEntity: 1000,
  paramsPerEntity: 1000,
  logModelHistoryLength: 1_000_000,
  /**
   * Levels of nested objects and arrays in JSON a client sends as text (`model_json`), the bound
   * GraphQL's JSON inputs have: what is kept is written back whole by JSON.stringify, which
   * recurses, so a text nested thousands deep would overflow the stack on the way to the database.
   */
  jsonDepth: REGISTRY_LIMITS.jsonMaxDepth,
} as const;

/** The tag MLflow keeps a run's name in as well as in the run: the two are one thing. */
export const RUN_NAME_TAG = "mlflow.runName";

export const DEFAULT_EXPERIMENT_ID = 0;
export const DEFAULT_EXPERIMENT_NAME = "Default";

/** A new run id: 32 lowercase hex digits, as MLflow's uuid4().hex. */
export const newRunId = () => randomBytes(16).toString("hex");

/** A new logged model id: `m-` and 32 lowercase hex digits. */
export const newLoggedModelId = () => `m-${randomBytes(16).toString("hex")}`;

const isHex = (text: string) => [...text].every((c) => (c >= "0" && c <= "9") || (c >= "a" && c <= "f"));
const isDigits = (text: string) => text.length > 0 && [...text].every((c) => c >= "0" && c <= "9");

/** Characters MLflow allows in run ids (`[a-zA-Z0-9][\w-]*`), up to 256. */
function runIdShaped(text: string): boolean {
  if (text.length === 0 || text.length > 256) return false;
  return [...text].every((c) => /^[A-Za-z0-9_-]$/.test(c)) && text[0] !== "_" && text[0] !== "-";
}

/**
 * The run id of a request: `run_id`, or MLflow's deprecated `run_uuid`. A malformed id is refused;
 * a well-formed id that is not one of ours (32 lowercase hex) cannot exist, so it reads as missing.
 */
export function runIdOf(runId: string | undefined, runUuid: string | undefined): string {
  const id = runId !== undefined && runId !== "" ? runId : runUuid;
  if (id === undefined || id === "")
    throw invalid(
      "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
    );
  if (!runIdShaped(id)) throw invalid(`Invalid run ID: '${id.slice(0, 300)}'`);
  if (id.length !== 32 || !isHex(id)) throw missing(`Run with id=${id} not found`);
  return id;
}

/** An experiment id: a decimal string (MLflow also sends it as a string); a number is accepted. */
export function experimentIdOf(given: string | number): number {
  const text = String(given);
  if (!isDigits(text) || text.length > 15)
    throw invalid(`Invalid experiment ID: '${text.slice(0, 300)}'. It must be a decimal number`);
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id > 2_147_483_647) throw missing(`No Experiment with id=${text} exists`);
  return id;
}

/** A logged model id; one not of our shape (`m-` + 32 hex) cannot exist. */
export function loggedModelIdOf(given: string): string {
  if (given.length === 0 || given.length > 256) throw invalid("Invalid logged model ID: empty or too long");
  if (!given.startsWith("m-") || given.length !== 34 || !isHex(given.slice(2)))
    throw missing(`Logged model with ID '${given}' not found.`);
  return given;
}

/**
 * MLflow's rule for metric, param and tag names: alphanumerics, `_`, `-`, `.`, space, `/` and `:`,
 * at most 250 characters, and no path that would resolve to another name (`..`, a leading `/`).
 */
export function validateKey(kind: "metric" | "param" | "tag", key: string): void {
  const label = kind === "metric" ? "Metric" : kind === "param" ? "Param" : "Tag";
  if (key.length === 0) throw invalid(`${label} name must not be empty`);
  if (key.length > LIMITS.keyLength)
    throw invalid(`${label} name '${key.slice(0, 50)}…' exceeds the maximum length of ${LIMITS.keyLength}`);
  for (const c of key)
    if (!/^[A-Za-z0-9_\-. /:]$/.test(c))
      throw invalid(
        `Invalid ${kind} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons(:) and slashes (/).`,
      );
  const parts = key.split("/");
  if (key.startsWith("/") || parts.includes("..") || parts.includes("."))
    throw invalid(
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${key}'`,
    );
}

export function validateParamValue(key: string, value: string): void {
  if (value.length > LIMITS.paramValueLength)
    throw invalid(
      `Param value for key '${key}' had length ${value.length}, which exceeded length limit of ${LIMITS.paramValueLength}`,
    );
}

export function validateTagValue(key: string, value: string): void {
  if (value.length > LIMITS.tagValueLength)
    throw invalid(
      `Tag value for key '${key}' had length ${value.length}, which exceeded length limit of ${LIMITS.tagValueLength}`,
    );
}

/** A run's name, however it is given (run_name or the `mlflow.runName` tag, on any RPC). */
export function validateRunName(name: string): void {
  if (name.length > LIMITS.runNameLength)
    throw invalid(`Run name exceeds the maximum length of ${LIMITS.runNameLength}`);
}

/**
 * A JSON text a client sends in a string field (`model_json`), parsed. Refused when it is not JSON,
 * or when it nests deeper than LIMITS.jsonDepth (checked without recursing, so any depth is safe).
 * `context` opens both messages, as MLflow's own message for the field does.
 */
export function jsonFieldOf(field: string, text: string, context = ""): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`${context}${field} is not valid JSON`);
  }
  if (nestsDeeperThan(value, LIMITS.jsonDepth))
    throw invalid(
      `${context}${field} must not nest objects and arrays more than ${LIMITS.jsonDepth} levels deep`,
    );
  return value;
}

/** MLflow's log-batch request limits. */
export function validateBatchSizes(metrics: number, params: number, tags: number): void {
  if (metrics > LIMITS.metricsPerBatch)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.metricsPerBatch} metrics. Got ${metrics} metrics. Please split up metrics across multiple requests and try again.`,
    );
  if (params > LIMITS.paramsPerBatch)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.paramsPerBatch} params. Got ${params} params. Please split up params across multiple requests and try again.`,
    );
  if (tags > LIMITS.tagsPerBatch)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.tagsPerBatch} tags. Got ${tags} tags. Please split up tags across multiple requests and try again.`,
    );
  const total = metrics + params + tags;
  if (total > LIMITS.entitiesPerBatch)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.entitiesPerBatch} total params, metrics and tags. Got ${total}.`,
    );
}

/** An int64 as MLflow's proto-JSON sends it: a JSON number or a decimal string. */
export function int64Of(field: string, given: string | number | undefined, byDefault: number): number {
  if (given === undefined) return byDefault;
  const value = typeof given === "number" ? given : /^-?\d{1,16}$/.test(given) ? Number(given) : NaN;
  if (!Number.isSafeInteger(value)) throw invalid(`Invalid value for parameter '${field}': not an integer`);
  return value;
}

/** A double as proto-JSON sends it: a number, or "NaN", "Infinity", "-Infinity". Null stands for NaN. */
export function metricValueOf(key: string, given: string | number): number | null {
  if (typeof given === "number") return given;
  if (given === "NaN") return null;
  if (given === "Infinity") return Infinity;
  if (given === "-Infinity") return -Infinity;
  const value = given.length <= 40 ? Number(given) : NaN;
  if (given.trim() === "" || Number.isNaN(value))
    throw invalid(
      `Got invalid value ${given.slice(0, 50)} for metric '${key}' (timestamp=…). Please specify value as a valid double (64-bit floating point)`,
    );
  return value;
}

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A RunStatus by name, or by its proto number (1 to 5). */
export function runStatusOf(given: string | number): RunStatus {
  const byNumber = typeof given === "number" ? RUN_STATUSES[given - 1] : undefined;
  const status = byNumber ?? RUN_STATUSES.find((s) => s === given);
  if (status === undefined)
    throw invalid(`Invalid value for parameter 'status': ${String(given).slice(0, 50)} is not a run status`);
  return status;
}

export const LOGGED_MODEL_STATUSES = [
  "LOGGED_MODEL_STATUS_UNSPECIFIED",
  "LOGGED_MODEL_PENDING",
  "LOGGED_MODEL_READY",
  "LOGGED_MODEL_UPLOAD_FAILED",
] as const;

/** FinalizeLoggedModel accepts READY or UPLOAD_FAILED, by name or proto number. */
export function finalStatusOf(given: string | number): "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED" {
  const status = typeof given === "number" ? LOGGED_MODEL_STATUSES[given] : given;
  if (status === "LOGGED_MODEL_READY" || status === "LOGGED_MODEL_UPLOAD_FAILED") return status;
  throw invalid(
    `Invalid value for parameter 'status': ${String(given).slice(0, 50)}. It must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED`,
  );
}

export const experimentArtifactLocation = (experimentId: number) => `mlflow-artifacts:/${experimentId}`;
export const runArtifactUri = (experimentId: number, runId: string) =>
  `mlflow-artifacts:/${experimentId}/${runId}/artifacts`;
/** The logged model's folder under the artifact proxy, without the scheme. */
export const loggedModelArtifactFolder = (experimentId: number, modelId: string) =>
  `${experimentId}/models/${modelId}/artifacts`;
