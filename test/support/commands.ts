// Command builders: valid by default, so each test states only what it is about.
import type {
  CreateModelVersion,
  CreateRegisteredModel,
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
