// Event builders for domain scenarios: the defaults are the boring, valid case.
import type {
  ModelVersionCreated,
  RegisteredModelCreated,
  RegisteredModelEvent,
  Stage,
} from "../../src/domain/registeredModel/events.ts";

export function modelCreated(
  name = "fraud-detector",
  data: Partial<RegisteredModelCreated["data"]> = {},
): RegisteredModelCreated {
  return {
    type: "RegisteredModelCreated",
    data: { modelId: "model-1", name, description: "", tags: {}, ...data },
  };
}

export function versionCreated(
  version: number,
  data: Partial<ModelVersionCreated["data"]> = {},
): ModelVersionCreated {
  return {
    type: "ModelVersionCreated",
    data: {
      version,
      source: `s3://models/fraud/${version}`,
      runId: null,
      description: "",
      tags: {},
      params: {},
      metrics: {},
      status: "READY",
      ...data,
    },
  };
}

export function transitioned(version: number, from: Stage, to: Stage): RegisteredModelEvent {
  return { type: "ModelVersionStageTransitioned", data: { version, from, to, comment: null, archived: [] } };
}

export function versionDeleted(version: number, removedAliases: string[] = []): RegisteredModelEvent {
  return { type: "ModelVersionDeleted", data: { version, removedAliases } };
}

export function aliasSet(
  alias: string,
  version: number,
  previousVersion: number | null = null,
): RegisteredModelEvent {
  return { type: "RegisteredModelAliasSet", data: { alias, version, previousVersion } };
}
