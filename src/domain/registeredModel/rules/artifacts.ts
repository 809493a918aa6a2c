// Rules of a version's files: registration (add, finalize, give up), inspection results and the
// version's signature.
import {
  ARTIFACT_LIMITS,
  checkNewArtifactPath,
  checkArtifactRole,
  checkArtifactSize,
  checkMediaType,
  checkSha256,
  conflictingArtifactPath,
} from "../../artifacts.ts";
import {
  AlreadyExistsError,
  DomainError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from "../../errors.ts";
import { boundInspection, sameSignature, signatureProblem } from "../../inspection.ts";
import type { InspectionOutcome, VersionSignature } from "../../inspection.ts";
import { LIMITS, checkText, firstError } from "../../validation.ts";
import type {
  AddModelVersionArtifact,
  FailModelVersionRegistration,
  FinalizeModelVersion,
  InspectModelVersionArtifacts,
  SetModelVersionSignature,
} from "../commands.ts";
import type { RegisteredModelEvent } from "../events.ts";
import type { RegisteredModelState, VersionState } from "../state.ts";
import { onLiveModel } from "./commandRule.ts";
import type { CommandRule } from "./commandRule.ts";
import { liveVersion } from "./liveVersion.ts";

/** At most this many artifacts are (re-)inspected by one command. */
export const MAX_INSPECTIONS_PER_COMMAND = 100;

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

/** The status of a version that exists and is not deleted, for the rules where a repeat does nothing. */
function statusOf(state: RegisteredModelState, version: number): VersionState["status"] | undefined {
  const found = Object.hasOwn(state.versions, version) ? state.versions[version] : undefined;
  return found && !found.deleted ? found.status : undefined;
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

export const addModelVersionArtifact: CommandRule<AddModelVersionArtifact> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError, AlreadyExistsError],
  // The inspection outcome was derived from file bytes by the server; boundInspection makes it
  // storable instead of refusing it.
  clientInput: ({ data: { inspection: _derived, ...input } }) => input,
  decide(command, state) {
    const { path, role, size, sha256, mediaType } = command.data;
    const error = firstError(
      checkNewArtifactPath("path", path),
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
    if (clash === path) return new AlreadyExistsError("Artifact", `${state.name} v${target.version} ${path}`);
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
  },
});

export const finalizeModelVersion: CommandRule<FinalizeModelVersion> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    if (statusOf(state, command.data.version) === "READY") return [];
    const target = pendingVersion(state, command.data.version, "cannot be finalized");
    if (target instanceof DomainError) return target;
    if (target.artifacts.length === 0)
      return new InvalidStateError(
        `version ${target.version} has no artifacts yet; upload at least one before finalizing`,
      );
    return [{ type: "ModelVersionFinalized", data: { version: target.version } }];
  },
});

export const failModelVersionRegistration: CommandRule<FailModelVersionRegistration> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const { reason } = command.data;
    const error = reason === null ? null : checkText("reason", reason, LIMITS.commentMaxLength, false);
    if (error) return error;
    // Failed already: the first reason stays (a retry's reason is not news).
    if (statusOf(state, command.data.version) === "FAILED_REGISTRATION") return [];
    const target = pendingVersion(state, command.data.version, "cannot be marked failed");
    if (target instanceof DomainError) return target;
    return [{ type: "ModelVersionRegistrationFailed", data: { version: target.version, reason } }];
  },
});

export const inspectModelVersionArtifacts: CommandRule<InspectModelVersionArtifacts> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  // Only the paths and digests are the client's; the outcomes were derived from file bytes.
  clientInput: ({ data }) => ({
    ...data,
    inspections: data.inspections.map(({ path, sha256 }) => ({ path, sha256 })),
  }),
  decide(command, state) {
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
  },
});

export const setModelVersionSignature: CommandRule<SetModelVersionSignature> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const target = liveVersion(state, command.data.version);
    if (target instanceof DomainError) return target;
    const { signature } = command.data;
    if (signature.inputs.length === 0 && signature.outputs.length === 0)
      return new ValidationError("signature", "must declare at least one input or output");
    const problem = signatureProblem(signature);
    if (problem) return new ValidationError(`signature.${problem.field}`, problem.message);
    if (target.signature?.source === "USER" && sameSignature(target.signature, signature)) return [];
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
  },
});
