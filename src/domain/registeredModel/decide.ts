// decide(command, state) -> events | error: every rule of the registry, with no I/O.
import {
  ARTIFACT_LIMITS,
  checkArtifactPath,
  checkArtifactRole,
  checkArtifactSize,
  checkMediaType,
  checkSha256,
  conflictingArtifactPath,
} from "../artifacts.ts";
import { AlreadyExistsError, DomainError, InvalidStateError, NotFoundError, ValidationError } from "../errors.ts";
import {
  LIMITS,
  checkAlias,
  checkDescription,
  checkMetrics,
  checkModelName,
  checkParams,
  checkTagKey,
  checkTagValue,
  checkTags,
  checkText,
  checkVersionNumber,
  firstError,
} from "../validation.ts";
import type { KeyValue, Metric, RegisteredModelCommand } from "./commands.ts";
import { STAGES } from "./events.ts";
import type { Metrics, RegisteredModelEvent, Stage, Tags } from "./events.ts";
import type { RegisteredModelState, VersionState } from "./state.ts";

/**
 * What part of the stream state a command needs. The application loads exactly this from the
 * projection, so decision cost does not grow with the number of versions.
 */
export interface StateNeeds {
  readonly versions: readonly number[];
  /** Load every live version currently in this stage (for `archiveExistingVersions`). */
  readonly versionsInStage: Stage | null;
}

export function stateNeeds(command: RegisteredModelCommand): StateNeeds {
  switch (command.type) {
    case "TransitionModelVersionStage":
      return {
        versions: [command.data.version],
        versionsInStage: command.data.archiveExistingVersions ? command.data.stage : null,
      };
    case "UpdateModelVersion":
    case "LogModelVersionMetrics":
    case "SetModelVersionTag":
    case "DeleteModelVersionTag":
    case "DeleteModelVersion":
    case "RestoreModelVersion":
    case "SetRegisteredModelAlias":
    case "AddModelVersionArtifact":
    case "FinalizeModelVersion":
    case "FailModelVersionRegistration":
      return { versions: [command.data.version], versionsInStage: null };
    default:
      return { versions: [], versionsInStage: null };
  }
}

export type Decision = RegisteredModelEvent[] | DomainError;

const toTags = (pairs: readonly KeyValue[]): Tags => Object.fromEntries(pairs.map((t) => [t.key, t.value]));
const toMetrics = (pairs: readonly Metric[]): Metrics => Object.fromEntries(pairs.map((m) => [m.key, m.value]));

function liveVersion(state: RegisteredModelState, version: number): VersionState | DomainError {
  const invalid = checkVersionNumber("version", version);
  if (invalid) return invalid;
  const found = state.versions[version];
  if (!found) return new NotFoundError("ModelVersion", `${state.name} v${version}`);
  if (found.deleted) return new InvalidStateError(`version ${version} of ${state.name} is deleted; restore it first`);
  return found;
}

/** A live version still waiting for its artifacts; `refusal` says what a READY/FAILED one cannot do. */
function pendingVersion(state: RegisteredModelState, version: number, refusal: string): VersionState | DomainError {
  const target = liveVersion(state, version);
  if (target instanceof DomainError) return target;
  if (target.status !== "PENDING_REGISTRATION")
    return new InvalidStateError(`version ${target.version} is ${target.status} and ${refusal}`);
  return target;
}

export function decide(command: RegisteredModelCommand, state: RegisteredModelState): Decision {
  if (command.type === "CreateRegisteredModel") {
    if (state.status !== "absent") return new InvalidStateError(`model stream ${command.data.modelId} already exists`);
    const { modelId, name, description, tags } = command.data;
    const error = firstError(checkModelName("name", name), checkDescription("description", description), checkTags("tags", tags));
    if (error) return error;
    return [{ type: "RegisteredModelCreated", data: { modelId, name, description, tags: toTags(tags) } }];
  }

  if (command.type === "RestoreRegisteredModel") {
    if (state.status === "live") return new InvalidStateError(`model ${state.name} is not deleted`);
    if (state.status === "absent") return new NotFoundError("RegisteredModel", state.name);
    return [{ type: "RegisteredModelRestored", data: { name: state.name } }];
  }

  if (state.status !== "live") return new NotFoundError("RegisteredModel", state.name);

  switch (command.type) {
    case "RenameRegisteredModel": {
      const { newName } = command.data;
      const error = checkModelName("newName", newName);
      if (error) return error;
      if (newName === state.name) return new ValidationError("newName", "is the model's current name");
      return [{ type: "RegisteredModelRenamed", data: { from: state.name, to: newName } }];
    }

    case "UpdateRegisteredModel": {
      const error = checkDescription("description", command.data.description);
      if (error) return error;
      return [{ type: "RegisteredModelDescriptionUpdated", data: { description: command.data.description } }];
    }

    case "DeleteRegisteredModel":
      return [{ type: "RegisteredModelDeleted", data: { name: state.name } }];

    case "SetRegisteredModelTag": {
      const { key, value } = command.data;
      const error = firstError(checkTagKey("key", key), checkTagValue("value", value));
      if (error) return error;
      return [{ type: "RegisteredModelTagSet", data: { key, value } }];
    }

    case "DeleteRegisteredModelTag": {
      const { key } = command.data;
      if (!(key in state.tags)) return new NotFoundError("Tag", `${state.name} tag '${key}'`);
      return [{ type: "RegisteredModelTagDeleted", data: { key } }];
    }

    case "SetRegisteredModelAlias": {
      const { alias } = command.data;
      const aliasError = checkAlias("alias", alias);
      if (aliasError) return aliasError;
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      if (target.status !== "READY")
        return new InvalidStateError(`version ${target.version} is ${target.status}; only READY versions get aliases`);
      const previousVersion = state.aliases[alias] ?? null;
      if (previousVersion === target.version)
        return new InvalidStateError(`alias '${alias}' already points at version ${target.version}`);
      return [{ type: "RegisteredModelAliasSet", data: { alias, version: target.version, previousVersion } }];
    }

    case "DeleteRegisteredModelAlias": {
      const { alias } = command.data;
      const version = state.aliases[alias];
      if (version === undefined) return new NotFoundError("ModelAlias", `${state.name}@${alias}`);
      return [{ type: "RegisteredModelAliasDeleted", data: { alias, version } }];
    }

    case "CreateModelVersion": {
      const { source, runId, description, tags, params, metrics } = command.data;
      const error = firstError(
        checkText("source", source, LIMITS.sourceMaxLength, true),
        runId === null ? null : checkText("runId", runId, LIMITS.runIdMaxLength, true),
        checkDescription("description", description),
        checkTags("tags", tags),
        checkParams("params", params),
        checkMetrics("metrics", metrics),
      );
      if (error) return error;
      return [
        {
          type: "ModelVersionCreated",
          data: {
            version: state.lastVersion + 1,
            source,
            runId,
            description,
            tags: toTags(tags),
            params,
            metrics: toMetrics(metrics),
            status: command.data.pendingArtifacts ? "PENDING_REGISTRATION" : "READY",
          },
        },
      ];
    }

    case "UpdateModelVersion": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const error = checkDescription("description", command.data.description);
      if (error) return error;
      return [
        { type: "ModelVersionDescriptionUpdated", data: { version: target.version, description: command.data.description } },
      ];
    }

    case "LogModelVersionMetrics": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const error = checkMetrics("metrics", command.data.metrics);
      if (error) return error;
      if (command.data.metrics.length === 0) return new ValidationError("metrics", "must not be empty");
      return [{ type: "ModelVersionMetricsLogged", data: { version: target.version, metrics: toMetrics(command.data.metrics) } }];
    }

    case "SetModelVersionTag": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const { key, value } = command.data;
      const error = firstError(checkTagKey("key", key), checkTagValue("value", value));
      if (error) return error;
      return [{ type: "ModelVersionTagSet", data: { version: target.version, key, value } }];
    }

    case "DeleteModelVersionTag": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const { key } = command.data;
      if (!(key in target.tags)) return new NotFoundError("Tag", `${state.name} v${target.version} tag '${key}'`);
      return [{ type: "ModelVersionTagDeleted", data: { version: target.version, key } }];
    }

    case "TransitionModelVersionStage": {
      const { stage, comment, archiveExistingVersions } = command.data;
      if (!STAGES.includes(stage)) return new ValidationError("stage", `must be one of ${STAGES.join(", ")}`);
      const commentError = comment === null ? null : checkText("comment", comment, LIMITS.commentMaxLength, false);
      if (commentError) return commentError;
      if (archiveExistingVersions && stage !== "Staging" && stage !== "Production")
        return new ValidationError("archiveExistingVersions", "only applies to transitions to Staging or Production");
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      if (target.stage === stage) return new InvalidStateError(`version ${target.version} is already in ${stage}`);
      if ((stage === "Staging" || stage === "Production") && target.status !== "READY")
        return new InvalidStateError(`version ${target.version} is ${target.status}; only READY versions move to ${stage}`);
      const archived =
        archiveExistingVersions
          ? Object.values(state.versions)
              .filter((v) => v.version !== target.version && v.stage === stage && !v.deleted)
              .sort((a, b) => a.version - b.version)
              .map((v) => ({ version: v.version, from: v.stage }))
          : [];
      return [
        {
          type: "ModelVersionStageTransitioned",
          data: { version: target.version, from: target.stage, to: stage, comment, archived },
        },
      ];
    }

    case "DeleteModelVersion": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const removedAliases = Object.entries(state.aliases)
        .filter(([, version]) => version === target.version)
        .map(([alias]) => alias)
        .sort();
      return [{ type: "ModelVersionDeleted", data: { version: target.version, removedAliases } }];
    }

    case "RestoreModelVersion": {
      const invalid = checkVersionNumber("version", command.data.version);
      if (invalid) return invalid;
      const target = state.versions[command.data.version];
      if (!target) return new NotFoundError("ModelVersion", `${state.name} v${command.data.version}`);
      if (!target.deleted) return new InvalidStateError(`version ${target.version} of ${state.name} is not deleted`);
      return [{ type: "ModelVersionRestored", data: { version: target.version } }];
    }

    case "AddModelVersionArtifact": {
      const { path, role, size, sha256, mediaType } = command.data;
      const error = firstError(
        checkArtifactPath("path", path),
        checkArtifactRole("role", role),
        checkArtifactSize("size", size),
        checkSha256("sha256", sha256),
        checkMediaType("mediaType", mediaType),
      );
      if (error) return error;
      const target = pendingVersion(state, command.data.version, "accepts no more artifacts");
      if (target instanceof DomainError) return target;
      const clash = conflictingArtifactPath(target.artifacts, path);
      if (clash === path) return new AlreadyExistsError("Artifact", `${state.name} v${target.version} ${path}`);
      if (clash !== null) return new ValidationError("path", `conflicts with artifact '${clash}' (a path cannot be both a file and a folder)`);
      if (target.artifacts.length >= ARTIFACT_LIMITS.maxArtifactsPerVersion)
        return new InvalidStateError(`version ${target.version} already has ${ARTIFACT_LIMITS.maxArtifactsPerVersion} artifacts`);
      return [{ type: "ModelVersionArtifactAdded", data: { version: target.version, path, role, size, sha256, mediaType } }];
    }

    case "FinalizeModelVersion": {
      const target = pendingVersion(state, command.data.version, "cannot be finalized");
      if (target instanceof DomainError) return target;
      if (target.artifacts.length === 0)
        return new InvalidStateError(`version ${target.version} has no artifacts yet; upload at least one before finalizing`);
      return [{ type: "ModelVersionFinalized", data: { version: target.version } }];
    }

    case "FailModelVersionRegistration": {
      const { reason } = command.data;
      const error = reason === null ? null : checkText("reason", reason, LIMITS.commentMaxLength, false);
      if (error) return error;
      const target = pendingVersion(state, command.data.version, "cannot be marked failed");
      if (target instanceof DomainError) return target;
      return [{ type: "ModelVersionRegistrationFailed", data: { version: target.version, reason } }];
    }
  }
}
