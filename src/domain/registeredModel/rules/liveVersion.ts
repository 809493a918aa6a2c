// The version a command addresses, when it must exist and not be deleted.
import type { DomainError } from "../../errors.ts";
import { InvalidStateError, NotFoundError } from "../../errors.ts";
import { checkVersionNumber } from "../../validation.ts";
import type { RegisteredModelState, VersionState } from "../state.ts";

/** Refuses a malformed number (ValidationError), an unknown version (NotFound) and a deleted one (InvalidState). */
export function liveVersion(state: RegisteredModelState, version: number): VersionState | DomainError {
  const invalid = checkVersionNumber("version", version);
  if (invalid) return invalid;
  const found = state.versions[version];
  if (!found) return new NotFoundError("ModelVersion", `${state.name} v${version}`);
  if (found.deleted)
    return new InvalidStateError(`version ${version} of ${state.name} is deleted; restore it first`);
  return found;
}
