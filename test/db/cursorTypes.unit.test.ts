// Cursors decoded from client text are checked against the types of their list's fields before
// Prisma sees them (src/db/cursorTypes.ts): scalar fields, compound keys, and cursors nested in the
// includes and selects of a query.
import { describe, expect, it } from "vitest";
import { argumentsHoldMistypedCursor, cursorMistyped } from "../../src/db/cursorTypes.ts";

describe("cursor types", () => {
  it("accepts cursors whose values fit their fields", () => {
    expect(cursorMistyped("ModelVersion", { ref: 42 })).toBe(false);
    expect(cursorMistyped("ModelVersion", { ref: -3 })).toBe(false);
    expect(cursorMistyped("RegisteredModel", { id: "0b5f7c52" })).toBe(false);
    expect(cursorMistyped("ModelVersionComment", { modelId_id: { modelId: "m", id: "c" } })).toBe(false);
    expect(
      cursorMistyped("ModelVersionDeployment", {
        modelId_environment_version: { modelId: "m", environment: "prod", version: 2 },
      }),
    ).toBe(false);
    expect(cursorMistyped("ModelVersionMetric", { versionRef_key: { versionRef: 7, key: "auc" } })).toBe(
      false,
    );
  });

  it("refuses values of another type, integers past 32 bits, and compounds of the wrong shape", () => {
    for (const cursor of [
      { ref: "abc" },
      { ref: 1.5 },
      { ref: 2 ** 31 },
      { ref: Number.NaN },
      { ref: null },
      { ref: {} },
      null,
      "ref",
      [1],
    ])
      expect(cursorMistyped("ModelVersion", cursor), JSON.stringify(cursor)).toBe(true);
    expect(cursorMistyped("RegisteredModel", { id: 7 })).toBe(true);
    for (const key of [
      { modelId: "m" },
      { modelId: "m", id: 1 },
      { modelId: "m", id: "c", extra: "x" },
      ["m", "c"],
      "m:c",
    ])
      expect(cursorMistyped("ModelVersionComment", { modelId_id: key }), JSON.stringify(key)).toBe(true);
  });

  it("finds a mistyped cursor nested in includes and selects", () => {
    expect(argumentsHoldMistypedCursor("ModelVersion", { where: { ref: 1 }, cursor: { ref: 1 } })).toBe(
      false,
    );
    expect(
      argumentsHoldMistypedCursor("RegisteredModel", {
        include: { versions: { select: { comments: { cursor: { modelId_id: { modelId: "m", id: 3 } } } } } },
      }),
    ).toBe(true);
    expect(
      argumentsHoldMistypedCursor("RegisteredModel", {
        include: {
          versions: { select: { comments: { cursor: { modelId_id: { modelId: "m", id: "c" } } } } },
        },
      }),
    ).toBe(false);
    // Not a model query (raw SQL), an unknown model, or arguments without cursors: nothing to check.
    expect(argumentsHoldMistypedCursor(undefined, { cursor: { ref: "x" } })).toBe(false);
    expect(argumentsHoldMistypedCursor("NoSuchModel", { cursor: { ref: "x" } })).toBe(false);
    expect(argumentsHoldMistypedCursor("ModelVersion", { where: { ref: "x" } })).toBe(false);
  });
});
