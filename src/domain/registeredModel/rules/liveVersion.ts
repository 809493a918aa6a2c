// The version a command addresses: one that exists, or one that also is not deleted.
import { DomainError, InvalidStateError, NotFoundError } from "../../errors.ts";
import type { ValidationError } from "../../errors.ts";
import { checkVersionNumber } from "../../validation.ts";
import type { RegisteredModelState, VersionState } from "../state.ts";

/** Refuses a malformed number (ValidationError) and an unknown version (NotFound). */
export function existingVersion(
  state: RegisteredModelState,
  version: number,
): VersionState | ValidationError | NotFoundError {
  const invalid = checkVersionNumber("version", version);
  if (invalid) return invalid;
  return state.versions[version] ?? new NotFoundError("ModelVersion", `${state.name} v${version}`);
}

/** As existingVersion, and refuses a deleted version (InvalidState). */
export function liveVersion(state: RegisteredModelState, version: number): VersionState | DomainError {
  const found = existingVersion(state, version);
  if (found instanceof DomainError) return found;
  if (found.deleted)
    return new InvalidStateError(`version ${version} of ${state.name} is deleted; restore it first`);
  return found;
}
