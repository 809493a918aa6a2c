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
import {
  AlreadyExistsError,
  DomainError,
  InvalidStateError,
  NotFoundError,
  UnsafeArtifactError,
  ValidationError,
} from "../errors.ts";
import { boundInspection, isBlockingVerdict, sameSignature, signatureProblem } from "../inspection.ts";
import type { InspectionOutcome, VersionSignature } from "../inspection.ts";
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
  checkTextDeep,
  checkVersionNumber,
  firstError,
} from "../validation.ts";
import { granteeKey } from "../modelPermissions.ts";
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
    case "InspectModelVersionArtifacts":
    case "SetModelVersionSignature":
      return { versions: [command.data.version], versionsInStage: null };
    default:
      return { versions: [], versionsInStage: null };
  }
}

export type Decision = RegisteredModelEvent[] | DomainError;

// Object.fromEntries defines properties (it never runs the `__proto__` setter); keys are checked anyway.
const toTags = (pairs: readonly KeyValue[]): Tags => Object.fromEntries(pairs.map((t) => [t.key, t.value]));
const toMetrics = (pairs: readonly Metric[]): Metrics =>
  Object.fromEntries(pairs.map((m) => [m.key, m.value]));

function liveVersion(state: RegisteredModelState, version: number): VersionState | DomainError {
  const invalid = checkVersionNumber("version", version);
  if (invalid) return invalid;
  const found = state.versions[version];
  if (!found) return new NotFoundError("ModelVersion", `${state.name} v${version}`);
  if (found.deleted)
    return new InvalidStateError(`version ${version} of ${state.name} is deleted; restore it first`);
  return found;
}

/** A live version still waiting for its artifacts; `refusal` says what a READY/FAILED one cannot do. */
function pendingVersion(
  state: RegisteredModelState,
  version: number,
  refusal: string,
): VersionState | DomainError {
  const target = liveVersion(state, version);
  if (target instanceof DomainError) return target;
  if (target.status !== "PENDING_REGISTRATION")
    return new InvalidStateError(`version ${target.version} is ${target.status} and ${refusal}`);
  return target;
}

/** At most this many blocking artifacts are listed in an error or an override event (all are counted). */
const MAX_LISTED_UNSAFE = 100;
/** At most this many artifacts are (re-)inspected by one command. */
export const MAX_INSPECTIONS_PER_COMMAND = 100;

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

/**
 * The events recording one inspection: always ModelVersionArtifactInspected (bounded), and a
 * ModelVersionSignatureSet when the file declares a signature and the version has none yet, or has
 * the one this same file gave earlier and it changed. A USER signature is never replaced, and the
 * first file that yields a signature keeps providing it (re-inspecting another file does not flap it).
 */
function inspectionEvents(
  version: number,
  current: VersionSignature | null,
  path: string,
  sha256: string,
  outcome: InspectionOutcome,
): { events: RegisteredModelEvent[]; signature: VersionSignature | null } {
  const bounded = boundInspection(outcome);
  const { signature, ...recorded } = bounded;
  const events: RegisteredModelEvent[] = [
    {
      type: "ModelVersionArtifactInspected",
      data: {
        version,
        path,
        sha256,
        format: recorded.format,
        formatVersion: recorded.formatVersion,
        producer: recorded.producer,
        metadata: recorded.metadata,
        verdict: recorded.verdict,
        findings: [...recorded.findings],
        inspector: recorded.inspector,
      },
    },
  ];
  const fills = current === null || (current.source === "INSPECTION" && current.path === path);
  if (signature === null || !fills || (current !== null && sameSignature(current, signature)))
    return { events, signature: current };
  events.push({ type: "ModelVersionSignatureSet", data: { version, signature, source: "INSPECTION", path } });
  return { events, signature: { ...signature, source: "INSPECTION", path } };
}

/**
 * What the client wrote in a command: everything but the inspection outcomes, which the server
 * derived from file bytes and which boundInspection makes storable instead of refusing them.
 */
function clientInput(command: RegisteredModelCommand): unknown {
  if (command.type === "AddModelVersionArtifact") {
    const { inspection: _derived, ...input } = command.data;
    return input;
  }
  if (command.type === "InspectModelVersionArtifacts")
    return {
      ...command.data,
      inspections: command.data.inspections.map(({ path, sha256 }) => ({ path, sha256 })),
    };
  return command.data;
}

export function decide(command: RegisteredModelCommand, state: RegisteredModelState): Decision {
  // Text a database cannot store is refused before any rule looks at it, the same on every provider.
  const unstorable = checkTextDeep("", clientInput(command));
  if (unstorable) return unstorable;
  if (command.type === "CreateRegisteredModel") {
    if (state.status !== "absent")
      return new InvalidStateError(`model stream ${command.data.modelId} already exists`);
    const { modelId, name, description, tags, creatorId } = command.data;
    const error = firstError(
      checkModelName("name", name),
      checkDescription("description", description),
      checkTags("tags", tags),
    );
    if (error) return error;
    return [
      {
        type: "RegisteredModelCreated",
        data: { modelId, name, description, tags: toTags(tags), ...(creatorId ? { creatorId } : {}) },
      },
    ];
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
      if (!Object.hasOwn(state.tags, key)) return new NotFoundError("Tag", `${state.name} tag '${key}'`);
      return [{ type: "RegisteredModelTagDeleted", data: { key } }];
    }

    case "SetRegisteredModelAlias": {
      const { alias } = command.data;
      const aliasError = checkAlias("alias", alias) ?? checkOverrideReason(command.data.overrideReason);
      if (aliasError) return aliasError;
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      if (target.status !== "READY")
        return new InvalidStateError(
          `version ${target.version} is ${target.status}; only READY versions get aliases`,
        );
      const previousVersion = (Object.hasOwn(state.aliases, alias) ? state.aliases[alias] : null) ?? null;
      if (previousVersion === target.version)
        return new InvalidStateError(`alias '${alias}' already points at version ${target.version}`);
      const gate = safetyGate(target, command.data.overrideReason, "ALIAS");
      if (gate instanceof DomainError) return gate;
      return [
        ...gate,
        { type: "RegisteredModelAliasSet", data: { alias, version: target.version, previousVersion } },
      ];
    }

    case "DeleteRegisteredModelAlias": {
      const { alias } = command.data;
      const version = Object.hasOwn(state.aliases, alias) ? state.aliases[alias] : undefined;
      if (version === undefined) return new NotFoundError("ModelAlias", `${state.name}@${alias}`);
      return [{ type: "RegisteredModelAliasDeleted", data: { alias, version } }];
    }

    case "GrantModelPermission": {
      const { grantee, permission } = command.data;
      const error = checkText("grantee.id", grantee.id, LIMITS.granteeIdMaxLength, true);
      if (error) return error;
      const key = granteeKey(grantee);
      const previous = (Object.hasOwn(state.grants, key) ? state.grants[key] : null) ?? null;
      if (previous === permission)
        return new InvalidStateError(`${grantee.kind.toLowerCase()} ${grantee.id} already has ${permission}`);
      return [{ type: "ModelPermissionGranted", data: { grantee, permission, previous } }];
    }

    case "RevokeModelPermission": {
      const { grantee } = command.data;
      const key = granteeKey(grantee);
      const held = Object.hasOwn(state.grants, key) ? state.grants[key] : undefined;
      if (held === undefined)
        return new NotFoundError(
          "ModelPermission",
          `${state.name} grant to ${grantee.kind.toLowerCase()} ${grantee.id}`,
        );
      return [{ type: "ModelPermissionRevoked", data: { grantee, permission: held } }];
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
        {
          type: "ModelVersionDescriptionUpdated",
          data: { version: target.version, description: command.data.description },
        },
      ];
    }

    case "LogModelVersionMetrics": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const error = checkMetrics("metrics", command.data.metrics);
      if (error) return error;
      if (command.data.metrics.length === 0) return new ValidationError("metrics", "must not be empty");
      return [
        {
          type: "ModelVersionMetricsLogged",
          data: { version: target.version, metrics: toMetrics(command.data.metrics) },
        },
      ];
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
      if (!Object.hasOwn(target.tags, key))
        return new NotFoundError("Tag", `${state.name} v${target.version} tag '${key}'`);
      return [{ type: "ModelVersionTagDeleted", data: { version: target.version, key } }];
    }

    case "TransitionModelVersionStage": {
      const { stage, comment, archiveExistingVersions } = command.data;
      if (!STAGES.includes(stage)) return new ValidationError("stage", `must be one of ${STAGES.join(", ")}`);
      const commentError =
        (comment === null ? null : checkText("comment", comment, LIMITS.commentMaxLength, false)) ??
        checkOverrideReason(command.data.overrideReason);
      if (commentError) return commentError;
      if (archiveExistingVersions && stage !== "Staging" && stage !== "Production")
        return new ValidationError(
          "archiveExistingVersions",
          "only applies to transitions to Staging or Production",
        );
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      if (target.stage === stage)
        return new InvalidStateError(`version ${target.version} is already in ${stage}`);
      if ((stage === "Staging" || stage === "Production") && target.status !== "READY")
        return new InvalidStateError(
          `version ${target.version} is ${target.status}; only READY versions move to ${stage}`,
        );
      const gate =
        stage === "Production" ? safetyGate(target, command.data.overrideReason, "TRANSITION") : [];
      if (gate instanceof DomainError) return gate;
      const archived = archiveExistingVersions
        ? Object.values(state.versions)
            .filter((v) => v.version !== target.version && v.stage === stage && !v.deleted)
            .sort((a, b) => a.version - b.version)
            .map((v) => ({ version: v.version, from: v.stage }))
        : [];
      return [
        ...gate,
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
      if (!target.deleted)
        return new InvalidStateError(`version ${target.version} of ${state.name} is not deleted`);
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
      const clash = conflictingArtifactPath(
        target.artifacts.map((a) => a.path),
        path,
      );
      if (clash === path)
        return new AlreadyExistsError("Artifact", `${state.name} v${target.version} ${path}`);
      if (clash !== null)
        return new ValidationError(
          "path",
          `conflicts with artifact '${clash}' (a path cannot be both a file and a folder)`,
        );
      if (target.artifacts.length >= ARTIFACT_LIMITS.maxArtifactsPerVersion)
        return new InvalidStateError(
          `version ${target.version} already has ${ARTIFACT_LIMITS.maxArtifactsPerVersion} artifacts`,
        );
      const added: RegisteredModelEvent = {
        type: "ModelVersionArtifactAdded",
        data: { version: target.version, path, role, size, sha256, mediaType },
      };
      const inspection = command.data.inspection ?? null;
      if (inspection === null) return [added];
      return [added, ...inspectionEvents(target.version, target.signature, path, sha256, inspection).events];
    }

    case "FinalizeModelVersion": {
      const target = pendingVersion(state, command.data.version, "cannot be finalized");
      if (target instanceof DomainError) return target;
      if (target.artifacts.length === 0)
        return new InvalidStateError(
          `version ${target.version} has no artifacts yet; upload at least one before finalizing`,
        );
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

    case "InspectModelVersionArtifacts": {
      // Inspection results are not part of the frozen artifact set: any non-deleted version may be re-inspected.
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const { inspections } = command.data;
      if (inspections.length === 0) return new ValidationError("paths", "must name at least one artifact");
      if (inspections.length > MAX_INSPECTIONS_PER_COMMAND)
        return new ValidationError("paths", `at most ${MAX_INSPECTIONS_PER_COMMAND} artifacts per call`);
      const seen = new Set<string>();
      let signature = target.signature;
      const events: RegisteredModelEvent[] = [];
      for (const [i, inspection] of inspections.entries()) {
        if (seen.has(inspection.path))
          return new ValidationError(`paths.${i}`, `duplicate path '${inspection.path}'`);
        seen.add(inspection.path);
        const artifact = target.artifacts.find((a) => a.path === inspection.path);
        if (!artifact)
          return new NotFoundError("Artifact", `${state.name} v${target.version} ${inspection.path}`);
        if (artifact.sha256 !== inspection.sha256)
          return new InvalidStateError(
            `artifact ${inspection.path} holds ${artifact.sha256}, not the inspected ${inspection.sha256}`,
          );
        const { path, sha256, ...outcome } = inspection;
        const recorded = inspectionEvents(target.version, signature, path, sha256, outcome);
        signature = recorded.signature;
        events.push(...recorded.events);
      }
      return events;
    }

    case "SetModelVersionSignature": {
      const target = liveVersion(state, command.data.version);
      if (target instanceof DomainError) return target;
      const { signature } = command.data;
      if (signature.inputs.length === 0 && signature.outputs.length === 0)
        return new ValidationError("signature", "must declare at least one input or output");
      const problem = signatureProblem(signature);
      if (problem) return new ValidationError(`signature.${problem.field}`, problem.message);
      const copy = (t: (typeof signature.inputs)[number]) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape === null ? null : [...t.shape],
      });
      return [
        {
          type: "ModelVersionSignatureSet",
          data: {
            version: target.version,
            signature: { inputs: signature.inputs.map(copy), outputs: signature.outputs.map(copy) },
            source: "USER",
            path: null,
          },
        },
      ];
    }
  }
}
