// The artifact read model and the status changes of the version view, folded without a database.
import { describe, expect, it } from "vitest";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { evolveVersionArtifacts } from "../../src/projections/modelVersionArtifacts/evolve.ts";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { modelCreated, versionCreated } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";

const added = (path: string, version = 1, sha256 = "b".repeat(64)): RegisteredModelEvent => ({
  type: "ModelVersionArtifactAdded",
  data: { version, path, role: "model", size: 7, sha256, mediaType: "application/onnx" },
});

describe("artifact projection", () => {
  it("lists a version's artifacts in order, with who added them and when", () => {
    const views = applyEvents(emptyStreamViews("model-1"), [
      recorded(modelCreated(), 1),
      recorded(versionCreated(1, { status: "PENDING_REGISTRATION" }), 2),
      recorded(added("model.onnx"), 3, "model-1", "bob"),
      recorded(added("tokenizer/vocab.txt"), 4),
      recorded({ type: "ModelVersionFinalized", data: { version: 1 } }, 5),
    ]);
    expect(views.artifacts.get(1)).toEqual([
      {
        modelId: "model-1",
        version: 1,
        path: "model.onnx",
        role: "model",
        size: 7,
        sha256: "b".repeat(64),
        mediaType: "application/onnx",
        createdAt: minutesAfterT0(2),
        createdBy: "bob",
        inspection: null,
      },
      expect.objectContaining({
        path: "tokenizer/vocab.txt",
        createdBy: "alice",
        createdAt: minutesAfterT0(3),
      }),
    ]);
    expect(views.versions.get(1)).toMatchObject({ status: "READY", updatedAt: minutesAfterT0(4) });
  });

  it("marks failed registrations and leaves other versions' artifacts alone", () => {
    const views = applyEvents(emptyStreamViews("model-1"), [
      recorded(modelCreated(), 1),
      recorded(versionCreated(1, { status: "PENDING_REGISTRATION" }), 2),
      recorded(versionCreated(2, { status: "PENDING_REGISTRATION" }), 3),
      recorded(added("a.bin", 2), 4),
      recorded({ type: "ModelVersionRegistrationFailed", data: { version: 1, reason: null } }, 5),
    ]);
    expect(views.versions.get(1)?.status).toBe("FAILED_REGISTRATION");
    expect(views.artifacts.get(1)).toEqual([]);
    expect(views.artifacts.get(2)?.map((a) => a.path)).toEqual(["a.bin"]);
  });

  it("returns the same list for unrelated events and ignores a replayed duplicate", () => {
    const list = evolveVersionArtifacts(1, [], recorded(added("x"), 3));
    expect(evolveVersionArtifacts(1, list, recorded(added("y", 2), 4))).toBe(list);
    expect(evolveVersionArtifacts(1, list, recorded(added("x"), 5))).toBe(list);
    expect(evolveVersionArtifacts(1, list, recorded(modelCreated(), 1))).toBe(list);
  });
});
