// Rules of where versions are served from: stage transitions, aliases, and the artifact safety
// gate that guards both.
import {
  DomainError,
  InvalidStateError,
  NotFoundError,
  UnsafeArtifactError,
  ValidationError,
} from "../../errors.ts";
import { isBlockingVerdict } from "../../inspection.ts";
import { LIMITS, checkAlias, checkRoom, checkText } from "../../validation.ts";
import type {
  DeleteRegisteredModelAlias,
  SetRegisteredModelAlias,
  TransitionModelVersionStage,
} from "../commands.ts";
import { ApprovalRequiredError } from "../../../reviews/domain/errors.ts";
import { checkBypassReason, guardProtectedTarget } from "../../../reviews/domain/protection.ts";
import { STAGES } from "../events.ts";
import type { RegisteredModelEvent } from "../events.ts";
import type { VersionState } from "../state.ts";
import { onLiveModel } from "./commandRule.ts";
import type { CommandRule } from "./commandRule.ts";
import { liveVersion } from "./liveVersion.ts";

/** At most this many blocking artifacts are listed in an error or an override event (all are counted). */
const MAX_LISTED_UNSAFE = 100;

function checkOverrideReason(reason: string | null | undefined): ValidationError | null {
  if (reason === null || reason === undefined) return null;
  if (reason.trim().length === 0)
    return new ValidationError(
      "overrideReason",
      "must not be blank: write why the unsafe artifacts are acceptable",
    );
  return checkText("overrideReason", reason, LIMITS.commentMaxLength, true);
}

/**
 * The safety gate of Production and aliases: artifacts whose latest verdict is DANGEROUS or
 * UNSCANNABLE, or that were never inspected (fail closed), block unless a reason is given; the
 * override is then recorded. SUSPICIOUS does not block.
 */
function safetyGate(
  target: VersionState,
  overrideReason: string | null | undefined,
  action: "TRANSITION" | "ALIAS",
): RegisteredModelEvent[] | UnsafeArtifactError {
  const blocking = target.artifacts.filter((a) => isBlockingVerdict(a.verdict));
  if (blocking.length === 0) return [];
  const verdicts = blocking
    .slice(0, MAX_LISTED_UNSAFE)
    .map((a) => ({ path: a.path, verdict: a.verdict as "DANGEROUS" | "UNSCANNABLE" | null }));
  if (overrideReason === null || overrideReason === undefined)
    return new UnsafeArtifactError(target.version, action, verdicts, blocking.length);
  return [
    {
      type: "ModelVersionSafetyOverridden",
      data: { version: target.version, reason: overrideReason, verdicts, total: blocking.length, action },
    },
  ];
}

export const transitionModelVersionStage: CommandRule<TransitionModelVersionStage> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError, UnsafeArtifactError, ApprovalRequiredError],
  decide(command, state) {
    const { stage, comment, archiveExistingVersions } = command.data;
    if (!STAGES.includes(stage)) return new ValidationError("stage", `must be one of ${STAGES.join(", ")}`);
    const commentError =
      (comment === null ? null : checkText("comment", comment, LIMITS.commentMaxLength, false)) ??
      checkOverrideReason(command.data.overrideReason) ??
      checkBypassReason(command.data.bypassReason);
    if (commentError) return commentError;
    if (archiveExistingVersions && stage !== "Staging" && stage !== "Production")
      return new ValidationError(
        "archiveExistingVersions",
        "only applies to transitions to Staging or Production",
      );
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const archived = archiveExistingVersions
      ? Object.values(state.versions)
          .filter((v) => v.version !== target.version && v.stage === stage && !v.deleted)
          .sort((a, b) => a.version - b.version)
          .map((v) => ({ version: v.version, from: v.stage }))
      : [];
    // Already there: nothing to record, unless others in the stage are to be archived. (The
    // comment of a transition that changes nothing is not recorded either.)
    if (target.stage === stage && archived.length === 0) return [];
    if ((stage === "Staging" || stage === "Production") && target.status !== "READY")
      return new InvalidStateError(
        `version ${target.version} is ${target.status}; only READY versions move to ${stage}`,
      );
    // Only a move INTO the protected stage is guarded (archiving others out of it is its consequence).
    const guard =
      target.stage === stage
        ? []
        : guardProtectedTarget(
            state.reviewPolicy,
            { kind: "STAGE", stage, archiveExistingVersions },
            target.version,
            command.data,
          );
    if (guard instanceof DomainError) return guard;
    const gate = stage === "Production" ? safetyGate(target, command.data.overrideReason, "TRANSITION") : [];
    if (gate instanceof DomainError) return gate;
    return [
      ...guard,
      ...gate,
      {
        type: "ModelVersionStageTransitioned",
        data: { version: target.version, from: target.stage, to: stage, comment, archived },
      },
    ];
  },
});

export const setRegisteredModelAlias: CommandRule<SetRegisteredModelAlias> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError, UnsafeArtifactError, ApprovalRequiredError],
  decide(command, state) {
    const { alias } = command.data;
    const aliasError =
      checkAlias("alias", alias) ??
      checkRoom("alias", state.aliases, alias, LIMITS.maxAliasesPerModel, "the model's aliases") ??
      checkOverrideReason(command.data.overrideReason) ??
      checkBypassReason(command.data.bypassReason);
    if (aliasError) return aliasError;
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    if (target.status !== "READY")
      return new InvalidStateError(
        `version ${target.version} is ${target.status}; only READY versions get aliases`,
      );
    const previousVersion = (Object.hasOwn(state.aliases, alias) ? state.aliases[alias] : null) ?? null;
    // Already pointing there: nothing is recorded, not even an override (nothing was overridden).
    if (previousVersion === target.version) return [];
    const guard = guardProtectedTarget(
      state.reviewPolicy,
      { kind: "ALIAS", alias },
      target.version,
      command.data,
    );
    if (guard instanceof DomainError) return guard;
    const gate = safetyGate(target, command.data.overrideReason, "ALIAS");
    if (gate instanceof DomainError) return gate;
    return [
      ...guard,
      ...gate,
      { type: "RegisteredModelAliasSet", data: { alias, version: target.version, previousVersion } },
    ];
  },
});

export const deleteRegisteredModelAlias: CommandRule<DeleteRegisteredModelAlias> = onLiveModel({
  errors: [ValidationError, ApprovalRequiredError],
  decide(command, state) {
    const { alias } = command.data;
    const bad = checkBypassReason(command.data.bypassReason);
    if (bad) return bad;
    const version = Object.hasOwn(state.aliases, alias) ? state.aliases[alias] : undefined;
    if (version === undefined) return [];
    const guard = guardProtectedTarget(
      state.reviewPolicy,
      { kind: "ALIAS", alias },
      version,
      command.data,
      true,
    );
    if (guard instanceof DomainError) return guard;
    return [...guard, { type: "RegisteredModelAliasDeleted", data: { alias, version } }];
  },
});
