import { describe, expect, it } from "vitest";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { LIMITS } from "../../src/domain/validation.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { createVersion } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { aliasSet, modelCreated, versionCreated, versionDeleted } from "../support/events.ts";

const deletedModel: RegisteredModelEvent = {
  type: "RegisteredModelDeleted",
  data: { name: "fraud-detector" },
};

describe("CreateModelVersion", () => {
  it("creates version 1 with params, metrics and tags, READY", () => {
    given([modelCreated()])
      .when(
        createVersion({
          source: "s3://b/1",
          runId: "run-7",
          description: "first",
          tags: [{ key: "framework", value: "xgboost" }],
          params: { depth: 6, features: ["amount", "country"] },
          metrics: [
            { key: "auc", value: 0.91 },
            { key: "loss", value: -0.5 },
          ],
        }),
      )
      .then([
        {
          type: "ModelVersionCreated",
          data: {
            version: 1,
            source: "s3://b/1",
            runId: "run-7",
            description: "first",
            tags: { framework: "xgboost" },
            params: { depth: 6, features: ["amount", "country"] },
            metrics: { auc: 0.91, loss: -0.5 },
            status: "READY",
          },
        },
      ]);
  });

  it("numbers versions after the highest ever assigned, never reusing a deleted number", () => {
    given([modelCreated(), versionCreated(1), versionCreated(2)])
      .when(createVersion())
      .then([
        expect.objectContaining({
          type: "ModelVersionCreated",
          data: expect.objectContaining({ version: 3 }),
        }),
      ]);
    given([modelCreated(), versionCreated(1), versionCreated(2), versionDeleted(2)])
      .when(createVersion())
      .then([expect.objectContaining({ data: expect.objectContaining({ version: 3 }) })]);
    given([
      modelCreated(),
      versionCreated(1),
      versionDeleted(1),
      { type: "ModelVersionRestored", data: { version: 1 } },
    ])
      .when(createVersion())
      .then([expect.objectContaining({ data: expect.objectContaining({ version: 2 }) })]);
  });

  it("validates source, runId, description, tags, params and metrics by field", () => {
    const m = [modelCreated()];
    given(m)
      .when(createVersion({ source: "" }))
      .then(ValidationError, { field: "source" });
    given(m)
      .when(createVersion({ source: "x".repeat(4097) }))
      .then(ValidationError, { field: "source" });
    given(m)
      .when(createVersion({ source: "s3://a\nb" }))
      .then(ValidationError, { field: "source" });
    given(m)
      .when(createVersion({ runId: "" }))
      .then(ValidationError, { field: "runId" });
    given(m)
      .when(createVersion({ runId: "r".repeat(257) }))
      .then(ValidationError, { field: "runId" });
    given(m)
      .when(createVersion({ description: "d".repeat(65_537) }))
      .then(ValidationError, { field: "description" });
    given(m)
      .when(createVersion({ tags: [{ key: "k", value: "v".repeat(5001) }] }))
      .then(ValidationError, { field: "tags.0.value" });
    given(m)
      .when(createVersion({ params: [] as unknown as Record<string, unknown> }))
      .then(ValidationError, { field: "params" });
    given(m)
      .when(createVersion({ params: { blob: "x".repeat(256 * 1024) } }))
      .then(ValidationError, { field: "params" });
    given(m)
      .when(createVersion({ metrics: [{ key: "auc", value: Number.NaN }] }))
      .then(ValidationError, { field: "metrics.0.value" });
    given(m)
      .when(
        createVersion({
          metrics: [
            { key: "ok", value: 1 },
            { key: "inf", value: Number.POSITIVE_INFINITY },
          ],
        }),
      )
      .then(ValidationError, { field: "metrics.1.value" });
  });

  it("refuses a version for a deleted model", () => {
    given([modelCreated(), deletedModel])
      .when(createVersion())
      .then(NotFoundError, { resource: "RegisteredModel" });
  });
});

describe("UpdateModelVersion", () => {
  it("updates the description of a live version", () => {
    given([modelCreated(), versionCreated(1)])
      .when({ type: "UpdateModelVersion", data: { version: 1, description: "better" } })
      .then([{ type: "ModelVersionDescriptionUpdated", data: { version: 1, description: "better" } }]);
  });

  it("changes nothing when the description is the one it has", () => {
    given([modelCreated(), versionCreated(1, { description: "first" })])
      .when({ type: "UpdateModelVersion", data: { version: 1, description: "first" } })
      .then([]);
    given([
      modelCreated(),
      versionCreated(1),
      { type: "ModelVersionDescriptionUpdated", data: { version: 1, description: "better" } },
    ])
      .when({ type: "UpdateModelVersion", data: { version: 1, description: "better" } })
      .then([]);
  });

  it("refuses unknown, deleted and malformed versions", () => {
    given([modelCreated(), versionCreated(1)])
      .when({ type: "UpdateModelVersion", data: { version: 2, description: "" } })
      .then(NotFoundError, { resource: "ModelVersion", key: "fraud-detector v2" });
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when({ type: "UpdateModelVersion", data: { version: 1, description: "" } })
      .then(InvalidStateError, { message: expect.stringContaining("deleted") });
    given([modelCreated(), versionCreated(1)])
      .when({ type: "UpdateModelVersion", data: { version: 0, description: "" } })
      .then(ValidationError, { field: "version" });
    given([modelCreated(), versionCreated(1)])
      .when({ type: "UpdateModelVersion", data: { version: 1.5, description: "" } })
      .then(ValidationError, { field: "version" });
  });
});

describe("LogModelVersionMetrics", () => {
  it("logs finite metrics", () => {
    given([modelCreated(), versionCreated(1)])
      .when({ type: "LogModelVersionMetrics", data: { version: 1, metrics: [{ key: "f1", value: 0.8 }] } })
      .then([{ type: "ModelVersionMetricsLogged", data: { version: 1, metrics: { f1: 0.8 } } }]);
  });

  it("changes nothing when every metric already has the value logged, and records all when one differs", () => {
    const logged = [
      modelCreated(),
      versionCreated(1, { metrics: { auc: 0.9 } }),
      { type: "ModelVersionMetricsLogged", data: { version: 1, metrics: { f1: 0.8 } } },
    ] satisfies RegisteredModelEvent[];
    const log = (metrics: { key: string; value: number }[]) =>
      ({ type: "LogModelVersionMetrics", data: { version: 1, metrics } }) as const;
    given(logged)
      .when(
        log([
          { key: "f1", value: 0.8 },
          { key: "auc", value: 0.9 },
        ]),
      )
      .then([]);
    given(logged)
      .when(
        log([
          { key: "f1", value: 0.8 },
          { key: "auc", value: 0.91 },
        ]),
      )
      .then([{ type: "ModelVersionMetricsLogged", data: { version: 1, metrics: { f1: 0.8, auc: 0.91 } } }]);
    given(logged)
      .when(log([{ key: "loss", value: 0.8 }]))
      .then([{ type: "ModelVersionMetricsLogged", data: { version: 1, metrics: { loss: 0.8 } } }]);
  });

  it("refuses empty, non-finite and duplicate metrics", () => {
    const m = [modelCreated(), versionCreated(1)];
    given(m)
      .when({ type: "LogModelVersionMetrics", data: { version: 1, metrics: [] } })
      .then(ValidationError, { field: "metrics" });
    given(m)
      .when({
        type: "LogModelVersionMetrics",
        data: { version: 1, metrics: [{ key: "x", value: Number.NEGATIVE_INFINITY }] },
      })
      .then(ValidationError, { field: "metrics.0.value" });
    given(m)
      .when({
        type: "LogModelVersionMetrics",
        data: {
          version: 1,
          metrics: [
            { key: "x", value: 1 },
            { key: "x", value: 2 },
          ],
        },
      })
      .then(ValidationError, { field: "metrics.1.key" });
    given(m)
      .when({ type: "LogModelVersionMetrics", data: { version: 1, metrics: [{ key: "", value: 1 }] } })
      .then(ValidationError, { field: "metrics.0.key" });
  });
});

describe("model version tags", () => {
  it("sets and deletes a tag", () => {
    given([modelCreated(), versionCreated(1)])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k", value: "v" } })
      .then([{ type: "ModelVersionTagSet", data: { version: 1, key: "k", value: "v" } }]);
    given([modelCreated(), versionCreated(1, { tags: { k: "v" } })])
      .when({ type: "DeleteModelVersionTag", data: { version: 1, key: "k" } })
      .then([{ type: "ModelVersionTagDeleted", data: { version: 1, key: "k" } }]);
  });

  it(`a version holds at most ${LIMITS.maxTagsPerEntity} tags: a new key past them is refused, a held one still changes`, () => {
    const tags = Object.fromEntries(
      Array.from({ length: LIMITS.maxTagsPerEntity }, (_, i) => [`k${i}`, "v"]),
    );
    given([modelCreated(), versionCreated(1, { tags })])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "one-more", value: "v" } })
      .then(ValidationError, { field: "key" });
    given([modelCreated(), versionCreated(1, { tags })])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k7", value: "w" } })
      .then([{ type: "ModelVersionTagSet", data: { version: 1, key: "k7", value: "w" } }]);
  });

  it("changes nothing to set a tag to its value or delete a missing one", () => {
    given([modelCreated(), versionCreated(1, { tags: { k: "v" } })])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k", value: "v" } })
      .then([]);
    given([modelCreated(), versionCreated(1, { tags: { k: "v" } })])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k", value: "w" } })
      .then([{ type: "ModelVersionTagSet", data: { version: 1, key: "k", value: "w" } }]);
    given([modelCreated(), versionCreated(1)])
      .when({ type: "DeleteModelVersionTag", data: { version: 1, key: "k" } })
      .then([]);
    // A deleted version is still refused: the command names something that cannot change.
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when({ type: "DeleteModelVersionTag", data: { version: 1, key: "k" } })
      .then(InvalidStateError);
  });

  it("validates key and value", () => {
    given([modelCreated(), versionCreated(1)])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k".repeat(251), value: "" } })
      .then(ValidationError, { field: "key" });
    given([modelCreated(), versionCreated(1)])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k", value: "v".repeat(5001) } })
      .then(ValidationError, { field: "value" });
  });

  it("refuses tag changes on a deleted version", () => {
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when({ type: "SetModelVersionTag", data: { version: 1, key: "k", value: "v" } })
      .then(InvalidStateError);
  });
});

describe("DeleteModelVersion / RestoreModelVersion", () => {
  it("deletes a version and removes the aliases pointing at it, sorted, in the same event", () => {
    given([
      modelCreated(),
      versionCreated(1),
      versionCreated(2),
      aliasSet("prod", 1),
      aliasSet("champion", 1),
      aliasSet("next", 2),
    ])
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then([versionDeleted(1, ["champion", "prod"])]);
  });

  it("refuses to delete an unknown version; deleting a deleted one changes nothing", () => {
    given([modelCreated()])
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then(NotFoundError, { resource: "ModelVersion" });
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then([]);
  });

  it("restores a deleted version; restoring a live one changes nothing", () => {
    given([modelCreated(), versionCreated(1), versionDeleted(1)])
      .when({ type: "RestoreModelVersion", data: { version: 1 } })
      .then([{ type: "ModelVersionRestored", data: { version: 1 } }]);
    given([modelCreated(), versionCreated(1)])
      .when({ type: "RestoreModelVersion", data: { version: 1 } })
      .then([]);
    given([modelCreated()])
      .when({ type: "RestoreModelVersion", data: { version: 4 } })
      .then(NotFoundError, { resource: "ModelVersion" });
    given([modelCreated()])
      .when({ type: "RestoreModelVersion", data: { version: -1 } })
      .then(ValidationError, { field: "version" });
  });
});
