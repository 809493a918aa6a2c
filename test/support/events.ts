// Event builders for domain scenarios: the defaults are the boring, valid case.
import type { Verdict } from "../../src/domain/inspection.ts";
import type {
  ModelVersionArtifactInspected,
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

/** A version's fields beside its number and source, each at its default (fresh objects each call). */
export const versionDefaults = () =>
  ({
    runId: null,
    description: "",
    tags: {},
    params: {},
    metrics: {},
    status: "READY",
  }) satisfies Omit<ModelVersionCreated["data"], "version" | "source">;

/** The same fields, none at its default. */
export const versionNonDefaults = () =>
  ({
    runId: "run-7",
    description: "trained on May",
    tags: { team: "risk" },
    params: { lr: 0.01 },
    metrics: { auc: 0.9 },
    status: "PENDING_REGISTRATION",
  }) satisfies Omit<ModelVersionCreated["data"], "version" | "source">;

export function versionCreated(
  version: number,
  data: Partial<ModelVersionCreated["data"]> = {},
): ModelVersionCreated {
  return {
    type: "ModelVersionCreated",
    data: { version, source: `s3://models/fraud/${version}`, ...versionDefaults(), ...data },
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

export function artifactAdded(path: string, version = 1, sha256 = "a".repeat(64)): RegisteredModelEvent {
  return {
    type: "ModelVersionArtifactAdded",
    data: { version, path, role: "model", size: 42, sha256, mediaType: "application/octet-stream" },
  };
}

export function artifactInspected(
  path: string,
  verdict: Verdict = "SAFE",
  data: Partial<ModelVersionArtifactInspected["data"]> = {},
): ModelVersionArtifactInspected {
  return {
    type: "ModelVersionArtifactInspected",
    data: {
      version: 1,
      path,
      sha256: "a".repeat(64),
      format: "ONNX",
      formatVersion: "8",
      producer: { framework: "pytorch", version: "2.1.0" },
      metadata: { nodeCount: 2 },
      verdict,
      findings:
        verdict === "SAFE"
          ? []
          : [{ severity: "CRITICAL", message: `${verdict} content`, location: `${path}@offset 11` }],
      inspector: { version: "1.0.0" },
      ...data,
    },
  };
}
