// MLflow's error answers: `{error_code, message}` with MLflow's own codes and statuses. Registro's
// typed domain errors map to them in exactly one function (mlflowErrorOf).
import type { DomainError } from "../domain/errors.ts";
import type { ServerRefusal } from "../http/bodyDeadline.ts";
import {
  AlreadyExistsError,
  ConcurrencyError,
  NotFoundError,
  PermissionDeniedError,
  UnsafeArtifactError,
  ValidationError,
} from "../domain/errors.ts";

export type MlflowErrorCode =
  | "RESOURCE_DOES_NOT_EXIST"
  | "RESOURCE_ALREADY_EXISTS"
  | "INVALID_PARAMETER_VALUE"
  | "INVALID_STATE"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "ENDPOINT_NOT_FOUND"
  | "BAD_REQUEST"
  | "TEMPORARILY_UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "REQUEST_LIMIT_EXCEEDED"
  | "INTERNAL_ERROR";

const STATUS: Record<MlflowErrorCode, number> = {
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  INVALID_STATE: 400,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  ENDPOINT_NOT_FOUND: 404,
  BAD_REQUEST: 400,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
};

export class MlflowError extends Error {
  readonly status: number;
  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string,
    status?: number,
    /** Headers the answer must carry (`Allow` on a 405). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "MlflowError";
    this.status = status ?? STATUS[errorCode];
  }

  get body() {
    return { error_code: this.errorCode, message: this.message };
  }
}

const RESOURCE_NAMES: Partial<Record<NotFoundError["resource"], string>> = {
  RegisteredModel: "Registered Model",
  ModelVersion: "Model Version",
  ModelAlias: "Registered model alias",
};

/** The MLflow error a Registro domain error is to an MLflow client. */
/** MLflow's words for a missing version, from Registro's key `<model> v<number>`; null for other keys. */
function versionNotFound(key: string): string | null {
  const at = key.lastIndexOf(" v");
  const number = key.slice(at + 2);
  if (at < 0 || number === "" || [...number].some((c) => c < "0" || c > "9")) return null;
  return `Model Version (name=${key.slice(0, at)}, version=${number}) not found`;
}

export function mlflowErrorOf(error: DomainError): MlflowError {
  const missingVersion =
    error instanceof NotFoundError && error.resource === "ModelVersion" ? versionNotFound(error.key) : null;
  if (missingVersion !== null) return new MlflowError("RESOURCE_DOES_NOT_EXIST", missingVersion);
  if (error instanceof NotFoundError)
    return new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `${RESOURCE_NAMES[error.resource] ?? error.resource} with name=${error.key} not found`,
    );
  if (error instanceof AlreadyExistsError)
    return new MlflowError(
      "RESOURCE_ALREADY_EXISTS",
      `${error.resource === "RegisteredModel" ? "Registered Model" : error.resource} (name=${error.key}) already exists.`,
    );
  if (error instanceof ValidationError) return new MlflowError("INVALID_PARAMETER_VALUE", error.message);
  if (error instanceof PermissionDeniedError) return new MlflowError("PERMISSION_DENIED", error.message);
  // Registro's safety gate has no MLflow counterpart; the closest is a refused parameter value.
  if (error instanceof UnsafeArtifactError) return new MlflowError("INVALID_PARAMETER_VALUE", error.message);
  // A concurrent writer won; MLflow has no optimistic concurrency, so the client sees a state error.
  if (error instanceof ConcurrencyError) return new MlflowError("INVALID_STATE", error.message);
  // The rest (invalid state, approval required, integrity) are refusals of the request as it stands.
  return new MlflowError("INVALID_STATE", error.message);
}

/**
 * A refusal the server answers itself on an MLflow path (Route.errorBody: before the route runs, or
 * the body deadline while it reads), as MLflow's error with the same HTTP status. The codes are
 * names of MLflow's ErrorCode enum, which MLflow's client turns into its own exception (an unknown
 * name would lose the code).
 */
export function mlflowRefusalOf(refusal: ServerRefusal): MlflowError {
  switch (refusal.code) {
    case "UNAUTHENTICATED":
      return new MlflowError("UNAUTHENTICATED", refusal.message, refusal.status);
    // The body stopped arriving or arrived too slowly: a retry over a better link can succeed.
    case "REQUEST_TIMEOUT":
      return new MlflowError("DEADLINE_EXCEEDED", refusal.message, refusal.status);
    // MLflow's clients retry this code (with back-off) as they do 429.
    case "RATE_LIMITED":
      return new MlflowError("REQUEST_LIMIT_EXCEEDED", refusal.message, refusal.status);
    // HOST_NOT_ALLOWED (the client names a host this registry does not answer for) and the rest.
    default:
      return new MlflowError(
        refusal.status >= 500 ? "TEMPORARILY_UNAVAILABLE" : "BAD_REQUEST",
        refusal.message,
        refusal.status,
      );
  }
}
