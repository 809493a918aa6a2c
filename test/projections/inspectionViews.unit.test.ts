// Inspections and signatures in the read models: the artifact view carries its latest inspection,
// the version view its signature with its source, both rebuilt from events alone.
import { describe, expect, it } from "vitest";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { artifactAdded, artifactInspected, modelCreated, versionCreated } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";

describe("inspection in the read models", () => {
  const base = [
    recorded(modelCreated(), 1),
    recorded(versionCreated(1, { status: "PENDING_REGISTRATION" }), 2),
    recorded(artifactAdded("model.pkl"), 3),
    recorded(artifactAdded("model.onnx"), 4),
  ];

  it("starts uninspected, then shows the latest inspection with its time, replacing the previous one", () => {
    const before = applyEvents(emptyStreamViews("model-1"), base);
    expect(before.artifacts.get(1)?.map((a) => a.inspection)).toEqual([null, null]);

    const after = applyEvents(before, [
      recorded(artifactInspected("model.pkl", "UNSCANNABLE", { format: "PICKLE" }), 5),
      recorded(artifactInspected("model.pkl", "DANGEROUS", { format: "PICKLE", formatVersion: "4" }), 6),
    ]);
    const [pkl, onnx] = after.artifacts.get(1)!;
    expect(pkl!.inspection).toEqual({
      format: "PICKLE",
      formatVersion: "4",
      producer: { framework: "pytorch", version: "2.1.0" },
      metadata: { nodeCount: 2 },
      verdict: "DANGEROUS",
      findings: [{ severity: "CRITICAL", message: "DANGEROUS content", location: "model.pkl@offset 11" }],
      inspectedAt: minutesAfterT0(5),
    });
    // The untouched artifact keeps its object, so the writer skips its row.
    expect(onnx).toBe(before.artifacts.get(1)![1]);
    expect(after.versions.get(1)?.updatedAt).toEqual(minutesAfterT0(5));
  });

  it("ignores an inspection of bytes the artifact does not hold", () => {
    const views = applyEvents(emptyStreamViews("model-1"), [
      ...base,
      recorded(artifactInspected("model.pkl", "SAFE", { sha256: "f".repeat(64) }), 5),
    ]);
    expect(views.artifacts.get(1)?.[0]?.inspection).toBeNull();
  });

  it("keeps the version's signature with its source and file", () => {
    const signature = { inputs: [{ name: "x", dtype: "float32", shape: ["batch", 3] }], outputs: [] };
    const views = applyEvents(emptyStreamViews("model-1"), [
      ...base,
      recorded(
        {
          type: "ModelVersionSignatureSet",
          data: { version: 1, signature, source: "INSPECTION", path: "model.onnx" },
        },
        5,
      ),
    ]);
    expect(views.versions.get(1)?.signature).toEqual({
      ...signature,
      source: "INSPECTION",
      path: "model.onnx",
    });
  });
});
