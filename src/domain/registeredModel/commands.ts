// Commands on a registered model's stream. Ids come in with the command (the domain makes none);
// time and the acting identity travel as event metadata, added by the application layer.
import type { ModelVersionCommentCommand } from "../../comments/domain/commands.ts";
import type { ModelVersionDeploymentCommand } from "../../deployments/domain/commands.ts";
import type { ArtifactRole } from "../artifacts.ts";
import type { InspectionOutcome, Signature } from "../inspection.ts";
import type { Grantee, ModelPermission } from "../modelPermissions.ts";
import type { ReviewCommand } from "../../reviews/domain/commands.ts";
import type { Params, Stage } from "./events.ts";

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface Metric {
  readonly key: string;
  readonly value: number;
}

type Command<Type extends string, Data = Record<string, never>> = {
  readonly type: Type;
  readonly data: Data;
};

export type CreateRegisteredModel = Command<
  "CreateRegisteredModel",
  {
    modelId: string;
    name: string;
    description: string;
    tags: readonly KeyValue[];
    /** The principal registering it (it gets MANAGE); absent or null for the registry itself. */
    creatorId?: string | null;
  }
>;
export type RenameRegisteredModel = Command<"RenameRegisteredModel", { newName: string }>;
export type UpdateRegisteredModel = Command<"UpdateRegisteredModel", { description: string }>;
export type DeleteRegisteredModel = Command<"DeleteRegisteredModel">;
export type RestoreRegisteredModel = Command<"RestoreRegisteredModel">;
export type SetRegisteredModelTag = Command<"SetRegisteredModelTag", KeyValue>;
export type DeleteRegisteredModelTag = Command<"DeleteRegisteredModelTag", { key: string }>;
export type SetRegisteredModelAlias = Command<
  "SetRegisteredModelAlias",
  {
    alias: string;
    version: number;
    /** Needed when the version has blocking artifacts (see gating). */ overrideReason?: string | null;
  } & ProtectedChange
>;
export type DeleteRegisteredModelAlias = Command<
  "DeleteRegisteredModelAlias",
  { alias: string } & ProtectedChange
>;

/** How a change to a target protected by the model's review policy is allowed (../../reviews/). */
export interface ProtectedChange {
  /** Set by the application only, when an approved review request applies the change: its id. */
  readonly viaReview?: string | null;
  /** An admin's written reason to change a protected target without review (recorded). */
  readonly bypassReason?: string | null;
}

/** Gives a principal or team a permission on the model, replacing the one it held. */
export type GrantModelPermission = Command<
  "GrantModelPermission",
  { grantee: Grantee; permission: ModelPermission }
>;
export type RevokeModelPermission = Command<"RevokeModelPermission", { grantee: Grantee }>;

export type CreateModelVersion = Command<
  "CreateModelVersion",
  {
    source: string;
    runId: string | null;
    description: string;
    tags: readonly KeyValue[];
    params: Params;
    metrics: readonly Metric[];
    /** Artifacts will follow: the version starts PENDING_REGISTRATION instead of READY. */
    pendingArtifacts?: boolean;
  }
>;
export type UpdateModelVersion = Command<"UpdateModelVersion", { version: number; description: string }>;
export type LogModelVersionMetrics = Command<
  "LogModelVersionMetrics",
  { version: number; metrics: readonly Metric[] }
>;
export type SetModelVersionTag = Command<"SetModelVersionTag", { version: number } & KeyValue>;
export type DeleteModelVersionTag = Command<"DeleteModelVersionTag", { version: number; key: string }>;
export type TransitionModelVersionStage = Command<
  "TransitionModelVersionStage",
  {
    version: number;
    stage: Stage;
    comment: string | null;
    archiveExistingVersions: boolean;
    /** Needed to move a version with blocking artifacts to Production (see gating). */
    overrideReason?: string | null;
  } & ProtectedChange
>;
export type DeleteModelVersion = Command<"DeleteModelVersion", { version: number }>;
export type RestoreModelVersion = Command<"RestoreModelVersion", { version: number }>;
/**
 * Records a file whose bytes are already in the blob store (the caller stored and hashed them), and,
 * when the caller inspected them, what the inspection found (appended in the same decision).
 */
export type AddModelVersionArtifact = Command<
  "AddModelVersionArtifact",
  {
    version: number;
    path: string;
    role: ArtifactRole;
    size: number;
    sha256: string;
    mediaType: string;
    inspection?: InspectionOutcome | null;
  }
>;
/** Records fresh inspections of stored artifacts (e.g. after a scanner upgrade). */
export type InspectModelVersionArtifacts = Command<
  "InspectModelVersionArtifacts",
  {
    version: number;
    inspections: readonly (InspectionOutcome & { readonly path: string; readonly sha256: string })[];
  }
>;
/** Sets a version's signature explicitly; a user-set signature is never replaced by inspection. */
export type SetModelVersionSignature = Command<
  "SetModelVersionSignature",
  { version: number; signature: Signature }
>;
export type FinalizeModelVersion = Command<"FinalizeModelVersion", { version: number }>;
export type FailModelVersionRegistration = Command<
  "FailModelVersionRegistration",
  { version: number; reason: string | null }
>;

export type RegisteredModelCommand =
  | CreateRegisteredModel
  | RenameRegisteredModel
  | UpdateRegisteredModel
  | DeleteRegisteredModel
  | RestoreRegisteredModel
  | SetRegisteredModelTag
  | DeleteRegisteredModelTag
  | SetRegisteredModelAlias
  | DeleteRegisteredModelAlias
  | GrantModelPermission
  | RevokeModelPermission
  | CreateModelVersion
  | UpdateModelVersion
  | LogModelVersionMetrics
  | SetModelVersionTag
  | DeleteModelVersionTag
  | TransitionModelVersionStage
  | DeleteModelVersion
  | RestoreModelVersion
  | AddModelVersionArtifact
  | FinalizeModelVersion
  | FailModelVersionRegistration
  | InspectModelVersionArtifacts
  | SetModelVersionSignature
  | ModelVersionCommentCommand
  | ModelVersionDeploymentCommand
  | ReviewCommand;

export type RegisteredModelCommandType = RegisteredModelCommand["type"];
