// Inspection as domain rules: what an inspection records, where a version's signature comes from,
// and how verdicts gate Production and aliases (with the written override), as given/when/then.
import { describe, expect, it } from "vitest";
import {
  InvalidStateError,
  NotFoundError,
  UnsafeArtifactError,
  ValidationError,
} from "../../src/domain/errors.ts";
import { INSPECTION_LIMITS, boundFindings, boundMetadata } from "../../src/domain/inspection.ts";
import type { InspectionOutcome, Signature, Verdict } from "../../src/domain/inspection.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { given } from "../support/decider.ts";
import {
  aliasSet,
  artifactAdded,
  artifactInspected,
  modelCreated,
  versionCreated,
} from "../support/events.ts";

const SHA = "a".repeat(64);
const ONNX_SIGNATURE: Signature = {
  inputs: [{ name: "x", dtype: "float32", shape: ["batch", 3] }],
  outputs: [{ name: "y", dtype: "float32", shape: ["batch", 4] }],
};
const PMML_SIGNATURE: Signature = {
  inputs: [{ name: "sepal_length", dtype: "double", shape: null }],
  outputs: [{ name: "species", dtype: "string", shape: null }],
};
const USER_SIGNATURE: Signature = {
  inputs: [{ name: "features", dtype: "float32", shape: [1, 16] }],
  outputs: [],
};

function outcome(verdict: Verdict = "SAFE", data: Partial<InspectionOutcome> = {}): InspectionOutcome {
  return {
    format: "ONNX",
    formatVersion: "8",
    producer: { framework: "pytorch", version: "2.1.0" },
    metadata: { nodeCount: 2 },
    verdict,
    findings:
      verdict === "SAFE"
        ? []
        : [{ severity: "CRITICAL", message: `${verdict} content`, location: "model.onnx@offset 11" }],
    signature: null,
    inspector: { version: "1.0.0" },
    ...data,
  };
}

const pending = versionCreated(1, { status: "PENDING_REGISTRATION" });
const finalized: RegisteredModelEvent = { type: "ModelVersionFinalized", data: { version: 1 } };

const add = (path: string, inspection: InspectionOutcome | null = null): RegisteredModelCommand => ({
  type: "AddModelVersionArtifact",
  data: {
    version: 1,
    path,
    role: "model",
    size: 42,
    sha256: SHA,
    mediaType: "application/octet-stream",
    inspection,
  },
});
const reinspect = (...inspections: [string, InspectionOutcome][]): RegisteredModelCommand => ({
  type: "InspectModelVersionArtifacts",
  data: { version: 1, inspections: inspections.map(([path, o]) => ({ ...o, path, sha256: SHA })) },
});
const toProduction = (
  overrideReason: string | null = null,
  stage: "Production" | "Staging" = "Production",
): RegisteredModelCommand => ({
  type: "TransitionModelVersionStage",
  data: { version: 1, stage, comment: null, archiveExistingVersions: false, overrideReason },
});
const setAlias = (overrideReason: string | null = null): RegisteredModelCommand => ({
  type: "SetRegisteredModelAlias",
  data: { alias: "champion", version: 1, overrideReason },
});
const signatureSet = (
  signature: Signature,
  source: "INSPECTION" | "USER",
  path: string | null,
): RegisteredModelEvent => ({
  type: "ModelVersionSignatureSet",
  data: { version: 1, signature, source, path },
});
const transitioned: RegisteredModelEvent = {
  type: "ModelVersionStageTransitioned",
  data: { version: 1, from: "None", to: "Production", comment: null, archived: [] },
};

/** A READY version whose artifacts have these latest verdicts (null: never inspected). */
function readyWith(...artifacts: [string, Verdict | null][]): RegisteredModelEvent[] {
  return [
    modelCreated(),
    pending,
    ...artifacts.flatMap(([path, verdict]) => [
      artifactAdded(path),
      ...(verdict === null ? [] : [artifactInspected(path, verdict)]),
    ]),
    finalized,
  ];
}

describe("recording inspections", () => {
  it("appends the artifact and its inspection in one decision", () => {
    given([modelCreated(), pending])
      .when(add("model.pkl", outcome("DANGEROUS", { format: "PICKLE", formatVersion: "4", producer: null })))
      .then([
        artifactAdded("model.pkl"),
        artifactInspected("model.pkl", "DANGEROUS", {
          format: "PICKLE",
          formatVersion: "4",
          producer: null,
          findings: [
            { severity: "CRITICAL", message: "DANGEROUS content", location: "model.onnx@offset 11" },
          ],
        }),
      ]);
  });

  it("appends only the artifact when nothing was inspected (inspection off)", () => {
    given([modelCreated(), pending])
      .when(add("model.bin"))
      .then([artifactAdded("model.bin")]);
  });

  it("re-inspects any non-deleted version, READY ones included, and the latest verdict counts", () => {
    const events = readyWith(["model.pkl", "UNSCANNABLE"]);
    given(events)
      .when(reinspect(["model.pkl", outcome("SAFE")]))
      .then([artifactInspected("model.pkl", "SAFE")]);
    expect(given([...events, artifactInspected("model.pkl", "SAFE")]).when(toProduction()).decision).toEqual([
      transitioned,
    ]);
  });

  it("refuses re-inspection of unknown paths, of other bytes, and of deleted versions", () => {
    const events = readyWith(["model.onnx", "SAFE"]);
    given(events)
      .when(reinspect(["nope.onnx", outcome()]))
      .then(NotFoundError, { resource: "Artifact" });
    given(events)
      .when({
        type: "InspectModelVersionArtifacts",
        data: { version: 1, inspections: [{ ...outcome(), path: "model.onnx", sha256: "b".repeat(64) }] },
      })
      .then(InvalidStateError);
    given(events).when(reinspect()).then(ValidationError, { field: "paths" });
    given([...events, { type: "ModelVersionDeleted", data: { version: 1, removedAliases: [] } }])
      .when(reinspect(["model.onnx", outcome()]))
      .then(InvalidStateError);
  });

  it("bounds what a hostile file can store: findings count and metadata size", () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({
      severity: i === 4321 ? ("CRITICAL" as const) : ("LOW" as const),
      message: `f${i}`,
      location: null,
    }));
    const huge = {
      tensors: Array.from({ length: 50_000 }, (_, i) => ({ name: `layer.${i}.weight`, shape: [i, 4096] })),
      template: "x".repeat(1_000_000),
    };
    const decision = given([modelCreated(), pending]).when(
      add("model.safetensors", outcome("SUSPICIOUS", { findings: many, metadata: huge })),
    ).decision;
    expect(decision).toBeInstanceOf(Array);
    const inspected = (decision as RegisteredModelEvent[])[1]!;
    expect(inspected.type).toBe("ModelVersionArtifactInspected");
    if (inspected.type !== "ModelVersionArtifactInspected") return;
    expect(inspected.data.findings).toHaveLength(INSPECTION_LIMITS.maxFindings);
    // The worst finding survives the cut, and a note counts what was dropped.
    expect(inspected.data.findings).toContainEqual({
      severity: "CRITICAL",
      message: "f4321",
      location: null,
    });
    expect(inspected.data.findings.at(-1)).toEqual({
      severity: "INFO",
      message: expect.stringContaining("4901 more findings"),
      location: null,
    });
    expect(JSON.stringify(inspected.data.metadata).length).toBeLessThanOrEqual(
      INSPECTION_LIMITS.metadataMaxChars,
    );
    expect(inspected.data.metadata.truncated).toMatchObject({
      limitChars: INSPECTION_LIMITS.metadataMaxChars,
    });
  });

  it("leaves small summaries and finding lists untouched", () => {
    const metadata = { a: 1, b: ["x", "y"] };
    expect(boundMetadata(metadata)).toBe(metadata);
    expect(boundFindings([{ severity: "LOW", message: "m", location: "l" }])).toEqual([
      { severity: "LOW", message: "m", location: "l" },
    ]);
  });
});

describe("signatures", () => {
  it("takes the signature of the first inspected file that records one", () => {
    given([modelCreated(), pending])
      .when(add("model.onnx", outcome("SAFE", { signature: ONNX_SIGNATURE })))
      .then([
        artifactAdded("model.onnx"),
        artifactInspected("model.onnx"),
        signatureSet(ONNX_SIGNATURE, "INSPECTION", "model.onnx"),
      ]);
  });

  it("keeps it when another file with a signature follows (no flapping between files)", () => {
    given([
      modelCreated(),
      pending,
      artifactAdded("model.onnx"),
      signatureSet(ONNX_SIGNATURE, "INSPECTION", "model.onnx"),
    ])
      .when(add("iris.pmml", outcome("SAFE", { format: "PMML", signature: PMML_SIGNATURE })))
      .then([artifactAdded("iris.pmml"), artifactInspected("iris.pmml", "SAFE", { format: "PMML" })]);
  });

  it("refreshes it when the same file is re-inspected and yields another one, and stays quiet when unchanged", () => {
    const base = [
      ...readyWith(["model.onnx", "SAFE"]),
      signatureSet(ONNX_SIGNATURE, "INSPECTION", "model.onnx"),
    ];
    given(base)
      .when(reinspect(["model.onnx", outcome("SAFE", { signature: ONNX_SIGNATURE })]))
      .then([artifactInspected("model.onnx")]);
    given(base)
      .when(reinspect(["model.onnx", outcome("SAFE", { signature: PMML_SIGNATURE })]))
      .then([artifactInspected("model.onnx"), signatureSet(PMML_SIGNATURE, "INSPECTION", "model.onnx")]);
  });

  it("never replaces a user-set signature with an inspected one", () => {
    given([modelCreated(), pending, signatureSet(USER_SIGNATURE, "USER", null)])
      .when(add("model.onnx", outcome("SAFE", { signature: ONNX_SIGNATURE })))
      .then([artifactAdded("model.onnx"), artifactInspected("model.onnx")]);
  });

  it("lets a user replace an inspected signature", () => {
    given([...readyWith(["model.onnx", "SAFE"]), signatureSet(ONNX_SIGNATURE, "INSPECTION", "model.onnx")])
      .when({ type: "SetModelVersionSignature", data: { version: 1, signature: USER_SIGNATURE } })
      .then([signatureSet(USER_SIGNATURE, "USER", null)]);
  });

  it("changes nothing to set the user signature the version has; the same one inspected becomes the user's", () => {
    given([...readyWith(), signatureSet(USER_SIGNATURE, "USER", null)])
      .when({ type: "SetModelVersionSignature", data: { version: 1, signature: USER_SIGNATURE } })
      .then([]);
    given([...readyWith(["model.onnx", "SAFE"]), signatureSet(ONNX_SIGNATURE, "INSPECTION", "model.onnx")])
      .when({ type: "SetModelVersionSignature", data: { version: 1, signature: ONNX_SIGNATURE } })
      .then([signatureSet(ONNX_SIGNATURE, "USER", null)]);
  });

  it.each([
    [{ inputs: [], outputs: [] }, "signature"],
    [{ inputs: [{ name: "", dtype: null, shape: null }], outputs: [] }, "signature.inputs.0.name"],
    [
      {
        inputs: [
          { name: "a", dtype: null, shape: null },
          { name: "a", dtype: null, shape: null },
        ],
        outputs: [],
      },
      "signature.inputs.1.name",
    ],
    [
      { inputs: [], outputs: [{ name: "y", dtype: "x".repeat(65), shape: null }] },
      "signature.outputs.0.dtype",
    ],
    [{ inputs: [{ name: "x", dtype: null, shape: [-1] }], outputs: [] }, "signature.inputs.0.shape.0"],
    [
      { inputs: [{ name: "x", dtype: null, shape: Array.from({ length: 65 }, () => 1) }], outputs: [] },
      "signature.inputs.0.shape",
    ],
    [
      {
        inputs: Array.from({ length: 1001 }, (_, i) => ({ name: `t${i}`, dtype: null, shape: null })),
        outputs: [],
      },
      "signature.inputs",
    ],
  ] as [Signature, string][])("refuses an invalid user signature (%#: %s)", (signature, field) => {
    given(readyWith())
      .when({ type: "SetModelVersionSignature", data: { version: 1, signature } })
      .then(ValidationError, { field });
  });

  it("records inspected signatures with unknown dimensions as symbols, and drops ones beyond the limits", () => {
    const odd: Signature = { inputs: [{ name: "x", dtype: "", shape: [-1, 3] }], outputs: [] };
    given([modelCreated(), pending])
      .when(add("model.onnx", outcome("SAFE", { signature: odd })))
      .then([
        artifactAdded("model.onnx"),
        artifactInspected("model.onnx"),
        signatureSet(
          { inputs: [{ name: "x", dtype: null, shape: ["?", 3] }], outputs: [] },
          "INSPECTION",
          "model.onnx",
        ),
      ]);
    const tooMany: Signature = {
      inputs: Array.from({ length: 1001 }, (_, i) => ({ name: `t${i}`, dtype: null, shape: null })),
      outputs: [],
    };
    given([modelCreated(), pending])
      .when(add("graph.pb", outcome("SAFE", { signature: tooMany })))
      .then([artifactAdded("graph.pb"), artifactInspected("graph.pb")]);
  });
});

describe("the safety gate", () => {
  it.each(["DANGEROUS", "UNSCANNABLE", null] as const)(
    "blocks Production for a %s artifact, naming it",
    (verdict) => {
      given(readyWith(["ok.onnx", "SAFE"], ["model.pkl", verdict]))
        .when(toProduction())
        .then(UnsafeArtifactError, {
          code: "UNSAFE_ARTIFACT",
          version: 1,
          action: "TRANSITION",
          artifacts: [{ path: "model.pkl", verdict }],
          total: 1,
        });
    },
  );

  it.each(["DANGEROUS", "UNSCANNABLE", null] as const)("blocks aliases for a %s artifact", (verdict) => {
    given(readyWith(["model.pkl", verdict]))
      .when(setAlias())
      .then(UnsafeArtifactError, { action: "ALIAS", artifacts: [{ path: "model.pkl", verdict }] });
  });

  it("lets SUSPICIOUS and SAFE artifacts through", () => {
    const events = readyWith(["model.pkl", "SUSPICIOUS"], ["model.onnx", "SAFE"]);
    given(events).when(toProduction()).then([transitioned]);
    given(events)
      .when(setAlias())
      .then([aliasSet("champion", 1)]);
  });

  it("does not gate Staging", () => {
    given(readyWith(["model.pkl", "DANGEROUS"]))
      .when(toProduction(null, "Staging"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 1, from: "None", to: "Staging", comment: null, archived: [] },
        },
      ]);
  });

  it("allows Production with a written reason, recording the override first", () => {
    given(readyWith(["model.pkl", "DANGEROUS"], ["legacy.bin", null], ["ok.onnx", "SAFE"]))
      .when(toProduction("reviewed by security: the pickle only runs in a sandbox"))
      .then([
        {
          type: "ModelVersionSafetyOverridden",
          data: {
            version: 1,
            reason: "reviewed by security: the pickle only runs in a sandbox",
            verdicts: [
              { path: "model.pkl", verdict: "DANGEROUS" },
              { path: "legacy.bin", verdict: null },
            ],
            total: 2,
            action: "TRANSITION",
          },
        },
        transitioned,
      ]);
  });

  it("allows an alias with a written reason", () => {
    given(readyWith(["model.pkl", "UNSCANNABLE"]))
      .when(setAlias("truncated upload re-checked by hand"))
      .then([
        {
          type: "ModelVersionSafetyOverridden",
          data: {
            version: 1,
            reason: "truncated upload re-checked by hand",
            verdicts: [{ path: "model.pkl", verdict: "UNSCANNABLE" }],
            total: 1,
            action: "ALIAS",
          },
        },
        aliasSet("champion", 1),
      ]);
  });

  it("records no override when nothing blocks", () => {
    given(readyWith(["model.onnx", "SAFE"]))
      .when(toProduction("just in case"))
      .then([transitioned]);
  });

  it.each(["", "   ", "x".repeat(5001)])("refuses a blank or overlong overrideReason (%#)", (reason) => {
    given(readyWith(["model.pkl", "DANGEROUS"]))
      .when(toProduction(reason))
      .then(ValidationError, { field: "overrideReason" });
    given(readyWith(["model.pkl", "DANGEROUS"]))
      .when(setAlias(reason))
      .then(ValidationError, { field: "overrideReason" });
  });

  it("follows the latest inspection: a re-inspection to SAFE lifts the block, one to DANGEROUS sets it", () => {
    const cleared = [...readyWith(["model.pkl", "UNSCANNABLE"]), artifactInspected("model.pkl", "SAFE")];
    given(cleared).when(toProduction()).then([transitioned]);
    given([...cleared, artifactInspected("model.pkl", "DANGEROUS")])
      .when(toProduction())
      .then(UnsafeArtifactError);
  });

  it("lists at most 100 blocking artifacts but counts them all", () => {
    const paths = Array.from({ length: 150 }, (_, i) => [`shard-${i}.bin`, null] as [string, null]);
    const decision = given(readyWith(...paths)).when(toProduction()).decision;
    expect(decision).toBeInstanceOf(UnsafeArtifactError);
    expect((decision as UnsafeArtifactError).artifacts).toHaveLength(100);
    expect((decision as UnsafeArtifactError).total).toBe(150);
  });
});
