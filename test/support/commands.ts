// Command builders: valid by default, so each test states only what it is about.
import type {
  CreateModelVersion,
  CreateRegisteredModel,
  RegisteredModelCommandType,
  TransitionModelVersionStage,
} from "../../src/domain/registeredModel/commands.ts";
import type { Stage } from "../../src/domain/registeredModel/events.ts";

export function createModel(
  name = "fraud-detector",
  data: Partial<CreateRegisteredModel["data"]> = {},
): CreateRegisteredModel {
  return {
    type: "CreateRegisteredModel",
    data: { modelId: "model-1", name, description: "", tags: [], ...data },
  };
}

export function createVersion(data: Partial<CreateModelVersion["data"]> = {}): CreateModelVersion {
  return {
    type: "CreateModelVersion",
    data: {
      source: "s3://models/fraud/new",
      runId: null,
      description: "",
      tags: [],
      params: {},
      metrics: [],
      ...data,
    },
  };
}

export function transition(
  version: number,
  stage: Stage,
  archiveExistingVersions = false,
  comment: string | null = null,
): TransitionModelVersionStage {
  return { type: "TransitionModelVersionStage", data: { version, stage, comment, archiveExistingVersions } };
}

/** Every command type, once (the record makes a type added to the domain a compile error here). */
const EVERY_TYPE: Record<RegisteredModelCommandType, true> = {
  CreateRegisteredModel: true,
  RenameRegisteredModel: true,
  UpdateRegisteredModel: true,
  DeleteRegisteredModel: true,
  RestoreRegisteredModel: true,
  SetRegisteredModelTag: true,
  DeleteRegisteredModelTag: true,
  SetRegisteredModelAlias: true,
  DeleteRegisteredModelAlias: true,
  GrantModelPermission: true,
  RevokeModelPermission: true,
  CreateModelVersion: true,
  UpdateModelVersion: true,
  LogModelVersionMetrics: true,
  SetModelVersionTag: true,
  DeleteModelVersionTag: true,
  TransitionModelVersionStage: true,
  DeleteModelVersion: true,
  RestoreModelVersion: true,
  AddModelVersionArtifact: true,
  FinalizeModelVersion: true,
  FailModelVersionRegistration: true,
  InspectModelVersionArtifacts: true,
  SetModelVersionSignature: true,
  AddModelVersionComment: true,
  EditModelVersionComment: true,
  DeleteModelVersionComment: true,
  RecordModelVersionDeployment: true,
  RetireModelVersionDeployment: true,
  SetModelReviewPolicy: true,
  OpenReviewRequest: true,
  ApproveReviewRequest: true,
  RejectReviewRequest: true,
  CancelReviewRequest: true,
};
export const COMMAND_TYPES = Object.keys(EVERY_TYPE) as RegisteredModelCommandType[];
