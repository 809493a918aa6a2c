// Rules of model versions: registration of the next number, description, metrics, version tags,
// deletion and restoration.
import { ActiveDeploymentError } from "../../../deployments/domain/errors.ts";
import { environmentsServing } from "../../../deployments/domain/state.ts";
import { protectingRule } from "../../../reviews/domain/policy.ts";
import { DomainError, InvalidStateError, NotFoundError, ValidationError } from "../../errors.ts";
import {
  LIMITS,
  checkDescription,
  checkMetrics,
  checkParams,
  checkRoom,
  checkTagKey,
  checkTagValue,
  checkTags,
  checkText,
  firstError,
} from "../../validation.ts";
import type { RegisteredModelEvent } from "../events.ts";
import type {
  Metric,
  CreateModelVersion,
  DeleteModelVersion,
  DeleteModelVersionTag,
  LogModelVersionMetrics,
  RestoreModelVersion,
  SetModelVersionTag,
  UpdateModelVersion,
} from "../commands.ts";
import { onLiveModel } from "./commandRule.ts";
import type { CommandRule } from "./commandRule.ts";
import { toMetrics, toTags } from "./keyValues.ts";
import { existingVersion, liveVersion } from "./liveVersion.ts";

export const createModelVersion: CommandRule<CreateModelVersion> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
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
  },
});

export const updateModelVersion: CommandRule<UpdateModelVersion> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const error = checkDescription("description", command.data.description);
    if (error) return error;
    if (command.data.description === target.description) return [];
    return [
      {
        type: "ModelVersionDescriptionUpdated",
        data: { version: target.version, description: command.data.description },
      },
    ];
  },
});

export const logModelVersionMetrics: CommandRule<LogModelVersionMetrics> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const error = checkMetrics("metrics", command.data.metrics);
    if (error) return error;
    if (command.data.metrics.length === 0) return new ValidationError("metrics", "must not be empty");
    const logged = (m: Metric) => Object.hasOwn(target.metrics, m.key) && target.metrics[m.key] === m.value;
    if (command.data.metrics.every(logged)) return [];
    return [
      {
        type: "ModelVersionMetricsLogged",
        data: { version: target.version, metrics: toMetrics(command.data.metrics) },
      },
    ];
  },
});

export const setModelVersionTag: CommandRule<SetModelVersionTag> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const { key, value } = command.data;
    const error = firstError(
      checkTagKey("key", key),
      checkTagValue("value", value),
      checkRoom("key", target.tags, key, LIMITS.maxTagsPerEntity, `version ${target.version}'s tags`),
    );
    if (error) return error;
    if (Object.hasOwn(target.tags, key) && target.tags[key] === value) return [];
    return [{ type: "ModelVersionTagSet", data: { version: target.version, key, value } }];
  },
});

export const deleteModelVersionTag: CommandRule<DeleteModelVersionTag> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const { key } = command.data;
    if (!Object.hasOwn(target.tags, key)) return [];
    return [{ type: "ModelVersionTagDeleted", data: { version: target.version, key } }];
  },
});

/** Refused while environments serve the version (ActiveDeploymentError names them). */
export const deleteModelVersion: CommandRule<DeleteModelVersion> = onLiveModel({
  errors: [ValidationError, NotFoundError, ActiveDeploymentError],
  decide(command, state) {
    const target = existingVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    if (target.deleted) return [];
    const serving = environmentsServing(state.deployments, target.version);
    if (serving.length > 0) return new ActiveDeploymentError(target.version, serving);
    const removedAliases = Object.entries(state.aliases)
      .filter(([, version]) => version === target.version)
      .map(([alias]) => alias)
      .sort();
    return [{ type: "ModelVersionDeleted", data: { version: target.version, removedAliases } }];
  },
});

/**
 * A deleted version keeps its stage. Coming back into a stage the review policy protects now would
 * move it there without a review (the policy, or the versions in that stage, may have changed while
 * it was deleted), so it comes back Archived, in the same decision: moving it back takes a review.
 */
export const restoreModelVersion: CommandRule<RestoreModelVersion> = onLiveModel({
  errors: [ValidationError, NotFoundError],
  decide(command, state) {
    const target = existingVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    if (!target.deleted) return [];
    const restored: RegisteredModelEvent = {
      type: "ModelVersionRestored",
      data: { version: target.version },
    };
    const { stage } = target;
    if (
      (stage !== "Staging" && stage !== "Production") ||
      protectingRule(state.reviewPolicy, { kind: "STAGE", stage, archiveExistingVersions: false }) === null
    )
      return [restored];
    return [
      restored,
      {
        type: "ModelVersionStageTransitioned",
        data: {
          version: target.version,
          from: stage,
          to: "Archived",
          comment: `restored out of ${stage}, which the review policy protects: moving it back takes a review`,
          archived: [],
        },
      },
    ];
  },
});
