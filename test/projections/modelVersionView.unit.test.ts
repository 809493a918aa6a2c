import { describe, expect, it } from "vitest";
import { evolveModelVersionView } from "../../src/projections/modelVersions/evolve.ts";
import { modelVersionId } from "../../src/projections/modelVersions/versionId.ts";
import type { ModelVersionView } from "../../src/projections/modelVersions/evolve.ts";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { transitioned, versionCreated, versionDeleted } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";

const fold = (events: RecordedEvent[], from: ModelVersionView | null = null) =>
  events.reduce(evolveModelVersionView, from);
const v2 = fold([
  recorded(
    versionCreated(2, { runId: "r", params: { lr: 0.1 }, metrics: { auc: 0.8 }, tags: { a: "1" } }),
    3,
    "model-1",
    "carol",
  ),
])!;

describe("evolveModelVersionView", () => {
  it("creates the view with a deterministic id, stage None", () => {
    expect(v2).toEqual({
      id: "model-1:2",
      modelId: "model-1",
      version: 2,
      stage: "None",
      status: "READY",
      source: "s3://models/fraud/2",
      runId: "r",
      description: "",
      params: { lr: 0.1 },
      metrics: { auc: 0.8 },
      deleted: false,
      deletedAt: null,
      createdAt: minutesAfterT0(2),
      updatedAt: minutesAfterT0(2),
      createdBy: "carol",
      tags: { a: "1" },
      signature: null,
      createdRevision: 3,
    });
    expect(modelVersionId("m", 7)).toBe("m:7");
  });

  it("returns null for events about a version it has never seen", () => {
    expect(
      fold([recorded({ type: "ModelVersionTagSet", data: { version: 2, key: "k", value: "v" } }, 1)]),
    ).toBeNull();
  });

  it("leaves the same object for events about other versions or the model", () => {
    for (const event of [
      recorded({ type: "ModelVersionTagSet", data: { version: 1, key: "k", value: "v" } }, 4),
      recorded(transitioned(1, "None", "Staging"), 4),
      recorded({ type: "RegisteredModelRenamed", data: { from: "a", to: "b" } }, 4),
      recorded(versionCreated(2), 4),
    ]) {
      expect(evolveModelVersionView(v2, event)).toBe(v2);
    }
  });

  it("applies description, tags and merged metrics, bumping updatedAt", () => {
    const view = fold(
      [
        recorded(
          { type: "ModelVersionDescriptionUpdated", data: { version: 2, description: "calibrated" } },
          4,
        ),
        recorded({ type: "ModelVersionTagSet", data: { version: 2, key: "b", value: "2" } }, 5),
        recorded({ type: "ModelVersionTagDeleted", data: { version: 2, key: "a" } }, 6),
        recorded(
          { type: "ModelVersionMetricsLogged", data: { version: 2, metrics: { auc: 0.9, f1: 0.7 } } },
          7,
        ),
      ],
      v2,
    );
    expect(view).toMatchObject({
      description: "calibrated",
      tags: { b: "2" },
      metrics: { auc: 0.9, f1: 0.7 },
      updatedAt: minutesAfterT0(6),
      createdAt: minutesAfterT0(2),
    });
  });

  it("moves the target to the new stage and archived versions to Archived", () => {
    expect(fold([recorded(transitioned(2, "None", "Production"), 4)], v2)?.stage).toBe("Production");
    const archiving = recorded(
      {
        type: "ModelVersionStageTransitioned",
        data: {
          version: 5,
          from: "None",
          to: "Production",
          comment: null,
          archived: [{ version: 2, from: "Production" }],
        },
      },
      5,
    );
    expect(fold([archiving], { ...v2, stage: "Production" })).toMatchObject({
      stage: "Archived",
      updatedAt: minutesAfterT0(4),
    });
  });

  it("records deletion time and clears it on restore", () => {
    const deleted = fold([recorded(versionDeleted(2), 4)], v2);
    expect(deleted).toMatchObject({ deleted: true, deletedAt: minutesAfterT0(3) });
    expect(
      fold([recorded({ type: "ModelVersionRestored", data: { version: 2 } }, 5)], deleted),
    ).toMatchObject({ deleted: false, deletedAt: null });
  });

  it("ignores a second ModelVersionCreated for an existing version", () => {
    expect(evolveModelVersionView(v2, recorded(versionCreated(2, { source: "other" }), 9))).toBe(v2);
  });
});
