import { describe, expect, it } from "vitest";
import {
  CorruptEventError,
  parseRegisteredModelEvent,
} from "../../src/domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS, EVENT_TYPES } from "../../src/domain/registeredModel/events.ts";
import { OMITTED_DEFAULTS, UPCASTERS, storedPayload } from "../../src/domain/registeredModel/upcasters.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import {
  aliasSet,
  artifactInspected,
  modelCreated,
  transitioned,
  versionCreated,
  versionDefaults,
  versionDeleted,
  versionNonDefaults,
} from "../support/events.ts";

const current: RegisteredModelEvent[] = [
  modelCreated("m", { tags: { a: "b" } }),
  { type: "RegisteredModelRenamed", data: { from: "m", to: "n" } },
  { type: "RegisteredModelDescriptionUpdated", data: { description: "d" } },
  { type: "RegisteredModelTagSet", data: { key: "k", value: "v" } },
  { type: "RegisteredModelTagDeleted", data: { key: "k" } },
  { type: "RegisteredModelDeleted", data: { name: "n" } },
  { type: "RegisteredModelRestored", data: { name: "n" } },
  aliasSet("champion", 2, 1),
  { type: "RegisteredModelAliasDeleted", data: { alias: "champion", version: 2 } },
  versionCreated(1, { params: { nested: { deep: [1, "two", null] } }, metrics: { auc: 0.5 }, runId: "r" }),
  { type: "ModelVersionDescriptionUpdated", data: { version: 1, description: "d" } },
  { type: "ModelVersionTagSet", data: { version: 1, key: "k", value: "v" } },
  { type: "ModelVersionTagDeleted", data: { version: 1, key: "k" } },
  { type: "ModelVersionMetricsLogged", data: { version: 1, metrics: { f1: 1 } } },
  {
    type: "ModelVersionStageTransitioned",
    data: {
      version: 2,
      from: "None",
      to: "Production",
      comment: "go",
      archived: [{ version: 1, from: "Production" }],
    },
  },
  versionDeleted(1, ["a"]),
  { type: "ModelVersionRestored", data: { version: 1 } },
  {
    type: "ModelVersionArtifactAdded",
    data: {
      version: 1,
      path: "model/weights.bin",
      role: "model",
      size: 3,
      sha256: "a".repeat(64),
      mediaType: "application/octet-stream",
    },
  },
  { type: "ModelVersionFinalized", data: { version: 1 } },
  { type: "ModelVersionRegistrationFailed", data: { version: 1, reason: "upload abandoned" } },
  artifactInspected("model.pkl", "DANGEROUS", {
    format: "PICKLE",
    producer: null,
    metadata: { imports: ["posix.system"], nested: { a: [1, null] } },
  }),
  {
    type: "ModelVersionSignatureSet",
    data: {
      version: 1,
      signature: {
        inputs: [{ name: "x", dtype: "float32", shape: ["batch", 3] }],
        outputs: [{ name: "y", dtype: null, shape: null }],
      },
      source: "INSPECTION",
      path: "model.onnx",
    },
  },
  {
    type: "ModelPermissionGranted",
    data: { grantee: { kind: "TEAM", id: "team-1" }, permission: "EDIT", previous: "READ" },
  },
  {
    type: "ModelPermissionRevoked",
    data: { grantee: { kind: "PRINCIPAL", id: "p-1" }, permission: "MANAGE" },
  },
  {
    type: "ModelVersionSafetyOverridden",
    data: {
      version: 1,
      reason: "sandboxed serving",
      verdicts: [
        { path: "model.pkl", verdict: "DANGEROUS" },
        { path: "old.bin", verdict: null },
      ],
      total: 2,
      action: "ALIAS",
    },
  },
  {
    type: "ModelVersionCommentAdded",
    data: { commentId: "c-1", version: 1, body: "**LGTM**\n\n<b>raw</b>", authorId: "p-1" },
  },
  { type: "ModelVersionCommentEdited", data: { commentId: "c-1", version: 1, body: "LGTM" } },
  { type: "ModelVersionCommentDeleted", data: { commentId: "c-1", version: 1 } },
  {
    type: "ModelVersionDeployed",
    data: { version: 1, environment: "prod-eu", endpoint: "https://serve.example/fraud", description: null },
  },
  {
    type: "ModelVersionDeploymentRetired",
    data: { version: 1, environment: "prod-eu", reason: "rolled back" },
  },
  {
    type: "ModelReviewPolicySet",
    data: {
      rules: [
        {
          stage: "Production",
          requiredApprovals: 2,
          reviewers: [{ kind: "TEAM", id: "t" }],
          allowSelfApproval: false,
        },
      ],
      previousRules: [
        {
          aliasPattern: "prod-*",
          requiredApprovals: 1,
          reviewers: [{ kind: "PRINCIPAL", id: "p" }],
          allowSelfApproval: true,
        },
      ],
    },
  },
  {
    type: "ReviewRequestOpened",
    data: {
      requestId: "r1",
      version: 1,
      target: { kind: "ALIAS", alias: "champion" },
      reason: "why",
      requesterId: "p",
      requiredApprovals: 1,
      reviewers: [{ kind: "PRINCIPAL", id: "q" }],
      allowSelfApproval: false,
    },
  },
  { type: "ReviewRequestApproved", data: { requestId: "r1", reviewerId: "q", comment: "ok" } },
  { type: "ReviewRequestRejected", data: { requestId: "r1", reviewerId: "q", comment: "no" } },
  { type: "ReviewRequestCancelled", data: { requestId: "r1", reason: "gone" } },
  { type: "ReviewRequestApplied", data: { requestId: "r1" } },
  { type: "ReviewRequestStaled", data: { requestId: "r1", reason: "version 1 was deleted" } },
  {
    type: "ReviewPolicyBypassed",
    data: {
      version: 1,
      target: { kind: "STAGE", stage: "Production", archiveExistingVersions: true },
      reason: "incident",
    },
  },
];

function corrupt(type: string, data: unknown, schemaVersion = 1): CorruptEventError {
  try {
    parseRegisteredModelEvent(type, schemaVersion, data);
  } catch (error) {
    if (error instanceof CorruptEventError) return error;
    throw error;
  }
  throw new Error(`${type} ${JSON.stringify(data)} parsed, expected CorruptEventError`);
}

describe("parseRegisteredModelEvent", () => {
  it("round-trips every current event type through JSON, at its current version and through every older one", () => {
    expect(new Set(current.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    for (const event of current) {
      const stored = JSON.parse(JSON.stringify(event.data)) as unknown;
      for (let version = 1; version <= EVENT_SCHEMA_VERSIONS[event.type]; version++)
        expect(parseRegisteredModelEvent(event.type, version, stored)).toEqual(event);
    }
  });

  it("has one upcaster per step from version 1 to the current version of every type", () => {
    for (const type of EVENT_TYPES)
      expect(UPCASTERS[type], type).toHaveLength(EVENT_SCHEMA_VERSIONS[type] - 1);
  });

  it("reads a version 1 model without a creator: no creator at version 2 either", () => {
    expect(
      parseRegisteredModelEvent("RegisteredModelCreated", 1, {
        modelId: "m",
        name: "m",
        description: "",
        tags: {},
      }),
    ).toEqual({
      type: "RegisteredModelCreated",
      data: { modelId: "m", name: "m", description: "", tags: {} },
    });
  });

  it("refuses a current-version payload that lacks a field: only version 1 was written without it", () => {
    const { status: _status, ...withoutStatus } = versionCreated(3, { status: "READY" }).data;
    expect(corrupt("ModelVersionCreated", withoutStatus, 2).issues).toContain("status");
    expect(
      corrupt("ModelVersionStageTransitioned", { version: 2, from: "None", to: "Staging", comment: null }, 2)
        .issues,
    ).toContain("archived");
    expect(corrupt("ModelVersionDeleted", { version: 4 }, 2).issues).toContain("removedAliases");
    expect(corrupt("ModelVersionRegistrationFailed", { version: 4 }, 2).issues).toContain("reason");
  });

  it("refuses versions it does not know: newer than the current one, or not a version at all", () => {
    const newer = corrupt("ModelVersionStageTransitioned", transitioned(2, "None", "Staging").data, 3);
    expect(newer).toMatchObject({ type: "ModelVersionStageTransitioned", schemaVersion: 3 });
    expect(newer.issues).toBe(
      "schema version 3 is newer than this registry reads (2); it was written by a newer release: upgrade the registry",
    );
    expect(corrupt("RegisteredModelTagSet", { key: "k", value: "v" }, 2).issues).toContain(
      "newer than this registry reads (1)",
    );
    expect(corrupt("RegisteredModelTagSet", { key: "k", value: "v" }, 0).issues).toContain("not a version");
    expect(corrupt("RegisteredModelTagSet", { key: "k", value: "v" }, 1.5).issues).toContain("not a version");
  });

  it("upcasts version 1 payloads written before a field existed, with its default", () => {
    const { status: _status, ...withoutStatus } = versionCreated(3, { status: "READY" }).data;
    expect(parseRegisteredModelEvent("ModelVersionCreated", 1, withoutStatus)).toEqual(
      versionCreated(3, { status: "READY" }),
    );

    const withoutArchived = { version: 2, from: "None", to: "Staging", comment: null };
    expect(parseRegisteredModelEvent("ModelVersionStageTransitioned", 1, withoutArchived)).toEqual(
      transitioned(2, "None", "Staging"),
    );

    expect(parseRegisteredModelEvent("ModelVersionDeleted", 1, { version: 4 })).toEqual(
      versionDeleted(4, []),
    );
    expect(parseRegisteredModelEvent("ModelVersionRegistrationFailed", 1, { version: 4 })).toEqual({
      type: "ModelVersionRegistrationFailed",
      data: { version: 4, reason: null },
    });
  });

  it("drops fields it does not know instead of trusting them", () => {
    const parsed = parseRegisteredModelEvent("RegisteredModelTagSet", 1, {
      key: "k",
      value: "v",
      injected: true,
    });
    expect(parsed).toEqual({ type: "RegisteredModelTagSet", data: { key: "k", value: "v" } });
  });

  it("throws CorruptEventError for an unknown type, with the type and schema version", () => {
    const error = corrupt("ModelTeleported", {}, 3);
    expect(error).toMatchObject({ type: "ModelTeleported", schemaVersion: 3, issues: "unknown event type" });
    expect(corrupt("toString", {}).issues).toBe("unknown event type");
  });

  it.each([
    ["RegisteredModelCreated", { modelId: "m", name: "n", description: "" }, "tags"],
    ["RegisteredModelRenamed", { from: "a", to: 7 }, "to"],
    ["ModelVersionCreated", { ...versionCreated(1).data, version: 0 }, "version"],
    ["ModelVersionCreated", { ...versionCreated(1).data, status: "DONE" }, "status"],
    ["ModelVersionMetricsLogged", { version: 1, metrics: { auc: "high" } }, "metrics"],
    ["ModelVersionStageTransitioned", { version: 1, from: "None", to: "Live", comment: null }, "to"],
    ["RegisteredModelAliasSet", { alias: "a", version: 1 }, "previousVersion"],
    ["ModelVersionDeleted", { version: 1.5 }, "version"],
    ["ModelVersionRestored", null, ""],
    ["ModelVersionRestored", "1", ""],
    ["ModelVersionArtifactInspected", { ...artifactInspected("m.pkl").data, verdict: "FINE" }, "verdict"],
    [
      "ModelVersionArtifactInspected",
      { ...artifactInspected("m.pkl").data, findings: [{ severity: "LOUD", message: "x", location: null }] },
      "findings",
    ],
    [
      "ModelVersionSignatureSet",
      { version: 1, signature: { inputs: [] }, source: "USER", path: null },
      "outputs",
    ],
    [
      "ModelVersionSafetyOverridden",
      { version: 1, reason: "r", verdicts: [], total: 0, action: "DEPLOY" },
      "action",
    ],
    ["ModelVersionCommentAdded", { commentId: "c", version: 1, body: "b" }, "authorId"],
    ["ModelVersionCommentEdited", { commentId: "c", version: 1, body: null }, "body"],
    ["ModelVersionCommentDeleted", { commentId: "", version: 1 }, "commentId"],
    ["ModelVersionDeployed", { version: 1, environment: "prod-eu", description: null }, "endpoint"],
    ["ModelVersionDeploymentRetired", { version: 1, environment: "", reason: null }, "environment"],
  ])("throws CorruptEventError for a damaged %s payload", (type, data, path) => {
    const error = corrupt(type, data);
    expect(error.type).toBe(type);
    expect(error.schemaVersion).toBe(1);
    expect(error.message).toContain(`stored event ${type} (schema 1)`);
    expect(error.issues).toContain(path);
  });
});

describe("payloads stored without their defaults", () => {
  const defaults = versionDefaults();
  const others = versionNonDefaults();
  const fields = Object.keys(defaults) as (keyof typeof defaults)[];

  it("leaves out of a version 3 ModelVersionCreated every field at its default, and reads it back whole", () => {
    expect(Object.keys(OMITTED_DEFAULTS.ModelVersionCreated!.defaults).sort()).toEqual([...fields].sort());
    const plain = versionCreated(3);
    expect(storedPayload("ModelVersionCreated", 3, plain.data)).toEqual({
      version: 3,
      source: "s3://models/fraud/3",
    });
    // Every mix of fields at their default and not: what is stored reads back as the event.
    for (let mask = 0; mask < 1 << fields.length; mask++) {
      const data = Object.fromEntries(
        fields.map((field, i) => [field, mask & (1 << i) ? others[field] : defaults[field]]),
      );
      const event = versionCreated(3, data);
      const stored = JSON.parse(
        JSON.stringify(storedPayload("ModelVersionCreated", 3, event.data)),
      ) as Record<string, unknown>;
      expect(Object.keys(stored).sort()).toEqual(
        ["source", "version", ...fields.filter((_, i) => mask & (1 << i))].sort(),
      );
      expect(parseRegisteredModelEvent("ModelVersionCreated", 3, stored)).toEqual(event);
    }
  });

  it("stores older versions and other types whole, and restores nothing a version 2 payload lacks", () => {
    const data = versionCreated(3).data;
    expect(storedPayload("ModelVersionCreated", 2, data)).toBe(data);
    const model = modelCreated("m").data;
    expect(storedPayload("RegisteredModelCreated", 2, model)).toBe(model);
    expect(storedPayload("toString", 1, model)).toBe(model);
    expect(corrupt("ModelVersionCreated", { version: 3, source: "s" }, 2).issues).toContain("description");
  });

  it("gives every event read its own empty objects", () => {
    const first = parseRegisteredModelEvent("ModelVersionCreated", 3, { version: 1, source: "s" });
    const second = parseRegisteredModelEvent("ModelVersionCreated", 3, { version: 2, source: "s" });
    if (first.type !== "ModelVersionCreated" || second.type !== "ModelVersionCreated")
      throw new Error("type");
    expect(first.data.params).not.toBe(second.data.params);
    expect(first.data.tags).not.toBe(second.data.tags);
  });

  it("still refuses a version 3 payload that lacks what has no default, or holds a wrong value", () => {
    expect(corrupt("ModelVersionCreated", { version: 3 }, 3).issues).toContain("source");
    expect(corrupt("ModelVersionCreated", { source: "s" }, 3).issues).toContain("version");
    expect(corrupt("ModelVersionCreated", { version: 3, source: "s", tags: null }, 3).issues).toContain(
      "tags",
    );
    expect(corrupt("ModelVersionCreated", { version: 3, source: "s", status: "LOST" }, 3).issues).toContain(
      "status",
    );
  });

  it("keeps a field named __proto__ a field of the stored payload, not its prototype", () => {
    const data = JSON.parse(
      '{"version":1,"source":"s","description":"","__proto__":{"polluted":true}}',
    ) as object;
    const stored = storedPayload("ModelVersionCreated", 3, data) as Record<string, unknown>;
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.hasOwn(stored, "__proto__")).toBe(true);
    expect(Object.hasOwn(stored, "description")).toBe(false);
    expect((stored as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
