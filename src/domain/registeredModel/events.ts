// Events of a registered model's stream. One stream per model holds the model's events and its
// versions' events, so rules spanning versions (archiving the other Production versions) are decided
// atomically. Payloads are versioned: a change of shape bumps the type's version below and adds the
// step that lifts the previous version to it (upcasters.ts), so old events still replay.

import type { ModelVersionCommentEvent } from "../../comments/domain/events.ts";
import type { ModelVersionDeploymentEvent } from "../../deployments/domain/events.ts";
import { DEPLOYMENT_EVENT_SCHEMA_VERSIONS } from "../../deployments/domain/events.ts";
import type { ArtifactRole } from "../artifacts.ts";
import type { Finding, Producer, Signature, SignatureSource, Verdict } from "../inspection.ts";
import type { Grantee, ModelPermission } from "../modelPermissions.ts";

import type { Stage } from "../stages.ts";
import type { ReviewEvent } from "../../reviews/domain/events.ts";
import { REVIEW_EVENT_SCHEMA_VERSIONS } from "../../reviews/domain/events.ts";

export { STAGES } from "../stages.ts";
export type { Stage } from "../stages.ts";

export const VERSION_STATUSES = ["PENDING_REGISTRATION", "READY", "FAILED_REGISTRATION"] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export type Tags = Record<string, string>;
export type Metrics = Record<string, number>;
export type Params = Record<string, unknown>;

interface Event<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

export type RegisteredModelCreated = Event<
  "RegisteredModelCreated",
  {
    modelId: string;
    name: string;
    description: string;
    tags: Tags;
    /** The principal that registered it, who manages it from then on (absent before authentication existed). */
    creatorId?: string;
  }
>;
export type RegisteredModelRenamed = Event<"RegisteredModelRenamed", { from: string; to: string }>;
export type RegisteredModelDescriptionUpdated = Event<
  "RegisteredModelDescriptionUpdated",
  { description: string }
>;
export type RegisteredModelTagSet = Event<"RegisteredModelTagSet", { key: string; value: string }>;
export type RegisteredModelTagDeleted = Event<"RegisteredModelTagDeleted", { key: string }>;
export type RegisteredModelDeleted = Event<"RegisteredModelDeleted", { name: string }>;
export type RegisteredModelRestored = Event<"RegisteredModelRestored", { name: string }>;
export type RegisteredModelAliasSet = Event<
  "RegisteredModelAliasSet",
  { alias: string; version: number; previousVersion: number | null }
>;
export type RegisteredModelAliasDeleted = Event<
  "RegisteredModelAliasDeleted",
  { alias: string; version: number }
>;

/** `grantee` now holds `permission` on the model (replacing `previous`, if it held one). */
export type ModelPermissionGranted = Event<
  "ModelPermissionGranted",
  { grantee: Grantee; permission: ModelPermission; previous: ModelPermission | null }
>;
/** `grantee` no longer holds the `permission` it had on the model. */
export type ModelPermissionRevoked = Event<
  "ModelPermissionRevoked",
  { grantee: Grantee; permission: ModelPermission }
>;

export type ModelVersionCreated = Event<
  "ModelVersionCreated",
  {
    version: number;
    source: string;
    runId: string | null;
    description: string;
    tags: Tags;
    params: Params;
    metrics: Metrics;
    status: VersionStatus;
  }
>;
export type ModelVersionDescriptionUpdated = Event<
  "ModelVersionDescriptionUpdated",
  { version: number; description: string }
>;
export type ModelVersionTagSet = Event<"ModelVersionTagSet", { version: number; key: string; value: string }>;
export type ModelVersionTagDeleted = Event<"ModelVersionTagDeleted", { version: number; key: string }>;
export type ModelVersionMetricsLogged = Event<
  "ModelVersionMetricsLogged",
  { version: number; metrics: Metrics }
>;
export type ModelVersionStageTransitioned = Event<
  "ModelVersionStageTransitioned",
  {
    version: number;
    from: Stage;
    to: Stage;
    comment: string | null;
    /** Versions moved to Archived by the same decision (`archiveExistingVersions`). */
    archived: { version: number; from: Stage }[];
  }
>;
export type ModelVersionDeleted = Event<
  "ModelVersionDeleted",
  {
    version: number;
    /** Aliases that pointed at the version and were removed with it. */ removedAliases: string[];
  }
>;
export type ModelVersionRestored = Event<"ModelVersionRestored", { version: number }>;
/** A file of a PENDING_REGISTRATION version; its bytes are in the blob store under `sha256`. */
export type ModelVersionArtifactAdded = Event<
  "ModelVersionArtifactAdded",
  { version: number; path: string; role: ArtifactRole; size: number; sha256: string; mediaType: string }
>;
/** PENDING_REGISTRATION -> READY: the artifact set is complete and frozen from now on. */
export type ModelVersionFinalized = Event<"ModelVersionFinalized", { version: number }>;
/** PENDING_REGISTRATION -> FAILED_REGISTRATION: the upload was abandoned. */
export type ModelVersionRegistrationFailed = Event<
  "ModelVersionRegistrationFailed",
  { version: number; reason: string | null }
>;

/**
 * What inspecting an artifact's bytes found. Appended with the artifact (upload) and again on every
 * re-inspection; the latest one is the artifact's current verdict. Bounded (see INSPECTION_LIMITS).
 */
export type ModelVersionArtifactInspected = Event<
  "ModelVersionArtifactInspected",
  {
    version: number;
    path: string;
    /** The bytes that were inspected (an artifact's content never changes; this makes it explicit). */
    sha256: string;
    format: string;
    formatVersion: string | null;
    producer: Producer | null;
    metadata: Record<string, unknown>;
    verdict: Verdict;
    findings: Finding[];
    inspector: { version: string };
  }
>;
/** A version's input/output signature was set, by a user or from an inspected artifact. */
export type ModelVersionSignatureSet = Event<
  "ModelVersionSignatureSet",
  {
    version: number;
    signature: Signature;
    source: SignatureSource;
    /** The artifact it came from (INSPECTION). */ path: string | null;
  }
>;
/**
 * A version with DANGEROUS or UNSCANNABLE (or never inspected) artifacts was promoted to Production
 * or aliased anyway; appended in the same decision as that change, with the written reason.
 */
export type ModelVersionSafetyOverridden = Event<
  "ModelVersionSafetyOverridden",
  {
    version: number;
    reason: string;
    /** The blocking artifacts at the time (the first 100); a null verdict means never inspected. */
    verdicts: { path: string; verdict: Verdict | null }[];
    /** How many artifacts blocked in all. */
    total: number;
    action: "TRANSITION" | "ALIAS";
  }
>;

export type RegisteredModelEvent =
  | RegisteredModelCreated
  | RegisteredModelRenamed
  | RegisteredModelDescriptionUpdated
  | RegisteredModelTagSet
  | RegisteredModelTagDeleted
  | RegisteredModelDeleted
  | RegisteredModelRestored
  | RegisteredModelAliasSet
  | RegisteredModelAliasDeleted
  | ModelPermissionGranted
  | ModelPermissionRevoked
  | ModelVersionCreated
  | ModelVersionDescriptionUpdated
  | ModelVersionTagSet
  | ModelVersionTagDeleted
  | ModelVersionMetricsLogged
  | ModelVersionStageTransitioned
  | ModelVersionDeleted
  | ModelVersionRestored
  | ModelVersionArtifactAdded
  | ModelVersionFinalized
  | ModelVersionRegistrationFailed
  | ModelVersionArtifactInspected
  | ModelVersionSignatureSet
  | ModelVersionSafetyOverridden
  | ModelVersionCommentEvent
  | ModelVersionDeploymentEvent
  | ReviewEvent;

export type RegisteredModelEventType = RegisteredModelEvent["type"];

/** Current payload schema version of each event type; bump it (and add its upcaster) when a payload changes shape. */
export const EVENT_SCHEMA_VERSIONS: Record<RegisteredModelEventType, number> = {
  RegisteredModelCreated: 2,
  RegisteredModelRenamed: 1,
  RegisteredModelDescriptionUpdated: 1,
  RegisteredModelTagSet: 1,
  RegisteredModelTagDeleted: 1,
  RegisteredModelDeleted: 1,
  RegisteredModelRestored: 1,
  RegisteredModelAliasSet: 1,
  RegisteredModelAliasDeleted: 1,
  ModelPermissionGranted: 1,
  ModelPermissionRevoked: 1,
  ModelVersionCreated: 3,
  ModelVersionDescriptionUpdated: 1,
  ModelVersionTagSet: 1,
  ModelVersionTagDeleted: 1,
  ModelVersionMetricsLogged: 1,
  ModelVersionStageTransitioned: 2,
  ModelVersionDeleted: 2,
  ModelVersionRestored: 1,
  ModelVersionArtifactAdded: 1,
  ModelVersionFinalized: 1,
  ModelVersionRegistrationFailed: 2,
  ModelVersionArtifactInspected: 1,
  ModelVersionSignatureSet: 1,
  ModelVersionSafetyOverridden: 1,
  ModelVersionCommentAdded: 1,
  ModelVersionCommentEdited: 1,
  ModelVersionCommentDeleted: 1,
  ...DEPLOYMENT_EVENT_SCHEMA_VERSIONS,
  ...REVIEW_EVENT_SCHEMA_VERSIONS,
};

export const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS) as RegisteredModelEventType[];

/** The versions whose own state an event changes (aliases belong to the model), so projections load only those. */
export function versionsTouchedBy(event: RegisteredModelEvent): number[] {
  switch (event.type) {
    case "ModelVersionStageTransitioned":
      return [event.data.version, ...event.data.archived.map((a) => a.version)];
    case "ModelVersionCreated":
    case "ModelVersionDescriptionUpdated":
    case "ModelVersionTagSet":
    case "ModelVersionTagDeleted":
    case "ModelVersionMetricsLogged":
    case "ModelVersionDeleted":
    case "ModelVersionRestored":
    case "ModelVersionArtifactAdded":
    case "ModelVersionFinalized":
    case "ModelVersionRegistrationFailed":
    case "ModelVersionArtifactInspected":
    case "ModelVersionSignatureSet":
      return [event.data.version];
    default:
      return [];
  }
}
