// Text and keys a client sends: what no database can store (NUL, unpaired UTF-16 surrogates) is
// refused in every text field of every command with a ValidationError naming the field; keys that
// would reach JavaScript's object machinery are refused; JSON input is bounded in depth; and what an
// inspected file says is made storable instead of refused.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/domain/errors.ts";
import { boundInspection } from "../../src/domain/inspection.ts";
import type { InspectionOutcome } from "../../src/domain/inspection.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { parseRegisteredModelEvent } from "../../src/domain/registeredModel/eventSchemas.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import {
  LIMITS,
  checkJson,
  checkParams,
  checkStorableText,
  checkTextDeep,
  isForbiddenKey,
  nestsDeeperThan,
  unstorableText,
} from "../../src/domain/validation.ts";
import { createModel, createVersion, transition } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { aliasSet, artifactAdded, modelCreated, versionCreated } from "../support/events.ts";

const UNSTORABLE = [
  ["NUL", "a\u0000b"],
  ["a lone high surrogate", "a\ud800b"],
  ["a lone low surrogate", "\udc00"],
  ["a high surrogate at the end", "x\ud800"],
  ["a reversed pair", "\udc00\ud800"],
] as const;

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

const SHA = "a".repeat(64);
const live: RegisteredModelEvent[] = [modelCreated(), versionCreated(1)];
const pending: RegisteredModelEvent[] = [
  modelCreated(),
  versionCreated(1, { status: "PENDING_REGISTRATION" }),
];

/** Every text field of every command, with the state it is valid in and the field the error names. */
function textFields(text: string): [string, RegisteredModelEvent[], RegisteredModelCommand, string][] {
  const v = { version: 1 };
  return [
    ["model name", [], createModel(text), "name"],
    ["model description", [], createModel("m", { description: text }), "description"],
    ["model tag key", [], createModel("m", { tags: [{ key: text, value: "v" }] }), "tags.0.key"],
    ["model tag value", [], createModel("m", { tags: [{ key: "k", value: text }] }), "tags.0.value"],
    ["new name", live, { type: "RenameRegisteredModel", data: { newName: text } }, "newName"],
    [
      "description update",
      live,
      { type: "UpdateRegisteredModel", data: { description: text } },
      "description",
    ],
    ["tag key", live, { type: "SetRegisteredModelTag", data: { key: text, value: "v" } }, "key"],
    ["tag value", live, { type: "SetRegisteredModelTag", data: { key: "k", value: text } }, "value"],
    ["deleted tag key", live, { type: "DeleteRegisteredModelTag", data: { key: text } }, "key"],
    ["alias", live, { type: "SetRegisteredModelAlias", data: { alias: text, ...v } }, "alias"],
    [
      "alias override reason",
      live,
      { type: "SetRegisteredModelAlias", data: { alias: "champion", overrideReason: text, ...v } },
      "overrideReason",
    ],
    ["deleted alias", live, { type: "DeleteRegisteredModelAlias", data: { alias: text } }, "alias"],
    ["source", live, createVersion({ source: text }), "source"],
    ["run id", live, createVersion({ runId: text }), "runId"],
    ["version description", live, createVersion({ description: text }), "description"],
    ["version tag key", live, createVersion({ tags: [{ key: text, value: "v" }] }), "tags.0.key"],
    ["version tag value", live, createVersion({ tags: [{ key: "k", value: text }] }), "tags.0.value"],
    ["params value", live, createVersion({ params: { lr: text } }), "params.lr"],
    ["nested params value", live, createVersion({ params: { a: { b: [1, text] } } }), "params.a.b.1"],
    ["params key", live, createVersion({ params: { [text]: 1 } }), "params"],
    ["nested params key", live, createVersion({ params: { a: [{ [text]: 1 }] } }), "params.a.0"],
    ["metric name", live, createVersion({ metrics: [{ key: text, value: 1 }] }), "metrics.0.key"],
    [
      "version description update",
      live,
      { type: "UpdateModelVersion", data: { description: text, ...v } },
      "description",
    ],
    [
      "logged metric name",
      live,
      { type: "LogModelVersionMetrics", data: { metrics: [{ key: text, value: 1 }], ...v } },
      "metrics.0.key",
    ],
    [
      "version tag key (set)",
      live,
      { type: "SetModelVersionTag", data: { key: text, value: "v", ...v } },
      "key",
    ],
    [
      "version tag value (set)",
      live,
      { type: "SetModelVersionTag", data: { key: "k", value: text, ...v } },
      "value",
    ],
    ["deleted version tag key", live, { type: "DeleteModelVersionTag", data: { key: text, ...v } }, "key"],
    ["transition comment", live, transition(1, "Staging", false, text), "comment"],
    [
      "transition override reason",
      live,
      {
        type: "TransitionModelVersionStage",
        data: { ...transition(1, "Production").data, overrideReason: text },
      },
      "overrideReason",
    ],
    [
      "artifact path",
      pending,
      {
        type: "AddModelVersionArtifact",
        data: {
          path: text,
          role: "model",
          size: 1,
          sha256: SHA,
          mediaType: "application/octet-stream",
          ...v,
        },
      },
      "path",
    ],
    [
      "artifact media type",
      pending,
      {
        type: "AddModelVersionArtifact",
        data: {
          path: "m.bin",
          role: "model",
          size: 1,
          sha256: SHA,
          mediaType: `text/plain; x=${text}`,
          ...v,
        },
      },
      "mediaType",
    ],
    [
      "failure reason",
      pending,
      { type: "FailModelVersionRegistration", data: { reason: text, ...v } },
      "reason",
    ],
    [
      "signature tensor name",
      live,
      {
        type: "SetModelVersionSignature",
        data: { signature: { inputs: [{ name: text, dtype: null, shape: null }], outputs: [] }, ...v },
      },
      "signature.inputs.0.name",
    ],
    [
      "signature dtype",
      live,
      {
        type: "SetModelVersionSignature",
        data: { signature: { inputs: [], outputs: [{ name: "y", dtype: text, shape: null }] }, ...v },
      },
      "signature.outputs.0.dtype",
    ],
    [
      "signature dimension symbol",
      live,
      {
        type: "SetModelVersionSignature",
        data: { signature: { inputs: [{ name: "x", dtype: null, shape: [1, text] }], outputs: [] }, ...v },
      },
      "signature.inputs.0.shape.1",
    ],
  ];
}

describe("text no database can store", () => {
  it.each(UNSTORABLE)("is recognised: %s", (_what, text) => {
    expect(unstorableText(text)).toMatch(/NUL|surrogate/);
    expect(checkStorableText("f", text)).toMatchObject({ field: "f", code: "VALIDATION" });
  });

  it("keeps every well-formed text, surrogate pairs included", () => {
    for (const text of [
      "",
      "plain",
      "🤖 emoji pair",
      "\ud83e\udd16",
      "中文",
      "e\u0301",
      "tab\tnew\nline",
      "\u007f\u0085",
    ])
      expect(unstorableText(text)).toBeNull();
  });

  describe.each(UNSTORABLE)("containing %s", (what, text) => {
    it.each(textFields(text))("is refused in the %s, naming the field", (_field, events, command, field) => {
      const refused = given(events).when(command);
      refused.then(ValidationError, { field });
      expect((refused.decision as ValidationError).message).toMatch(
        what === "NUL" ? /NUL \(U\+0000\)/ : /unpaired UTF-16 surrogates/,
      );
    });
  });

  it.each(textFields("fine_text"))(
    "accepts ordinary text in the %s (the cases above are reached)",
    (_f, events, command) => {
      const decision = given(events).when(command).decision;
      expect(decision, decision instanceof Error ? decision.message : "").toBeInstanceOf(Array);
      // Tag and alias deletions of a name that was never set change nothing; everything else records events.
      const deletesNothing =
        command.type === "DeleteRegisteredModelTag" ||
        command.type === "DeleteModelVersionTag" ||
        command.type === "DeleteRegisteredModelAlias";
      expect((decision as unknown[]).length > 0).toBe(!deletesNothing);
    },
  );

  it("walks any depth of a command without recursion, and bounds it", () => {
    expect(checkTextDeep("", { a: [{ b: "ok" }] })).toBeNull();
    expect(checkTextDeep("", { a: [{ b: "n\u0000" }] })?.field).toBe("a.0.b");
    expect(checkTextDeep("input", { [`k\ud800`]: 1 })).toMatchObject({ field: "input" });
    expect(checkTextDeep("", nested(100_000))?.message).toContain(`${LIMITS.jsonMaxDepth} levels`);
  });
});

describe("reserved keys", () => {
  const RESERVED = ["__proto__", "constructor", "prototype"];

  it.each(RESERVED)("'%s' is refused as a tag key, metric name, alias and params key at any depth", (key) => {
    expect(isForbiddenKey(key)).toBe(true);
    given([])
      .when(createModel("m", { tags: [{ key, value: "x" }] }))
      .then(ValidationError, { field: "tags.0.key" });
    given(live)
      .when({ type: "SetRegisteredModelTag", data: { key, value: "x" } })
      .then(ValidationError, { field: "key" });
    given(live)
      .when({ type: "SetModelVersionTag", data: { version: 1, key, value: "x" } })
      .then(ValidationError, { field: "key" });
    given(live)
      .when(createVersion({ metrics: [{ key, value: 1 }] }))
      .then(ValidationError, { field: "metrics.0.key" });
    given(live)
      .when({ type: "SetRegisteredModelAlias", data: { alias: key, version: 1 } })
      .then(ValidationError, { field: "alias" });
    // As JSON.parse and GraphQL literals build them: own properties, on ordinary and prototype-less objects.
    const top = JSON.parse(`{"${key}": {"polluted": true}}`) as Record<string, unknown>;
    given(live)
      .when(createVersion({ params: top }))
      .then(ValidationError, { field: `params.${key}` });
    const deep = JSON.parse(`{"a": [{"b": {"${key}": {"polluted": true}}}]}`) as Record<string, unknown>;
    given(live)
      .when(createVersion({ params: deep }))
      .then(ValidationError, { field: `params.a.0.b.${key}` });
    const literal = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(literal, key, { value: { polluted: true }, enumerable: true });
    given(live)
      .when(createVersion({ params: literal }))
      .then(ValidationError, { field: `params.${key}` });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("names inherited from Object.prototype are ordinary keys: set, found and deleted as data", () => {
    for (const key of ["toString", "valueOf", "hasOwnProperty", "__defineGetter__", "isPrototypeOf"]) {
      // Not set, so not found: deleting it changes nothing.
      given(live).when({ type: "DeleteRegisteredModelTag", data: { key } }).then([]);
      given(live)
        .when({ type: "DeleteModelVersionTag", data: { version: 1, key } })
        .then([]);
      given(live)
        .when({ type: "DeleteRegisteredModelAlias", data: { alias: key } })
        .then([]);
      given(live)
        .when({ type: "SetRegisteredModelAlias", data: { alias: key, version: 1 } })
        .then([{ type: "RegisteredModelAliasSet", data: { alias: key, version: 1, previousVersion: null } }]);
      const tagged: RegisteredModelEvent[] = [
        ...live,
        { type: "RegisteredModelTagSet", data: { key, value: "v" } },
      ];
      given(tagged)
        .when({ type: "DeleteRegisteredModelTag", data: { key } })
        .then([{ type: "RegisteredModelTagDeleted", data: { key } }]);
      given([...live, aliasSet(key, 1)])
        .when({ type: "DeleteRegisteredModelAlias", data: { alias: key } })
        .then([{ type: "RegisteredModelAliasDeleted", data: { alias: key, version: 1 } }]);
    }
  });
});

describe("JSON input (params)", () => {
  it(`nests at most ${LIMITS.jsonMaxDepth} levels`, () => {
    const atLimit = { a: nested(LIMITS.jsonMaxDepth - 1) } as Record<string, unknown>;
    expect(checkParams("params", atLimit)).toBeNull();
    const over = { a: nested(LIMITS.jsonMaxDepth) } as Record<string, unknown>;
    expect(checkParams("params", over)?.message).toContain(`more than ${LIMITS.jsonMaxDepth} levels deep`);
    given(live)
      .when(createVersion({ params: over }))
      .then(ValidationError);
  });

  it("refuses hostile depth (100,000 levels of arrays or objects) with an error, not a stack overflow", () => {
    let objects: unknown = 1;
    for (let i = 0; i < 100_000; i++) objects = { o: objects };
    for (const value of [nested(100_000), objects]) {
      const refused = given(live).when(createVersion({ params: { deep: value } }));
      refused.then(ValidationError);
      expect((refused.decision as ValidationError).field).toMatch(/^params\.deep/);
    }
  });

  it("holds only JSON values: finite numbers, plain objects", () => {
    expect(checkParams("params", { a: [1, "x", null, true, { b: -0.5 }] })).toBeNull();
    expect(checkParams("params", { a: [Number.POSITIVE_INFINITY] })?.field).toBe("params.a.0");
    expect(checkParams("params", { a: Number.NaN })?.field).toBe("params.a");
    expect(checkParams("params", { a: new Date(0) })?.field).toBe("params.a");
    expect(checkParams("params", { a: undefined })?.field).toBe("params.a");
    expect(
      checkJson(
        "j",
        Array.from({ length: 11 }, () => 0),
        10,
      )?.message,
    ).toContain("at most 10 values");
  });

  it("nestsDeeperThan measures objects and arrays alike, at any depth", () => {
    expect(nestsDeeperThan({ a: [{}] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: [] }] }, 3)).toBe(true);
    expect(nestsDeeperThan(nested(1_000_000), 70)).toBe(true);
    expect(nestsDeeperThan("text", 0)).toBe(false);
  });
});

describe("what an inspected file says is made storable, not refused", () => {
  const hostile = (): InspectionOutcome => ({
    format: "SAFETENSORS\u0000",
    formatVersion: "1\ud800",
    producer: { framework: "torch\u0000", version: "\udc00" },
    metadata: {
      ...(JSON.parse(
        '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}',
      ) as object),
      [`key\u0000`]: `value\u0000`,
      lone: "a\ud800b",
      nested: { prototype: [`x\udc00`], deep: nested(100) },
      big: 10n,
      inf: Number.POSITIVE_INFINITY,
    },
    verdict: "SUSPICIOUS",
    findings: [{ severity: "LOW", message: "global os.system\u0000", location: "data.pkl@\ud800" }],
    signature: { inputs: [{ name: "in\u0000put", dtype: "f\ud800", shape: [1, "n\u0000"] }], outputs: [] },
    inspector: { version: "1" },
  });

  it("replaces NUL and unpaired surrogates with U+FFFD and renames reserved keys, at any depth", () => {
    const bounded = boundInspection(hostile());
    expect(checkTextDeep("", bounded)).toBeNull();
    expect(bounded).toMatchObject({
      format: "SAFETENSORS\ufffd",
      formatVersion: "1\ufffd",
      producer: { framework: "torch\ufffd", version: "\ufffd" },
      findings: [{ message: "global os.system\ufffd", location: "data.pkl@\ufffd" }],
      signature: { inputs: [{ name: "in\ufffdput", dtype: "f\ufffd", shape: [1, "n\ufffd"] }] },
    });
    const metadata = bounded.metadata;
    expect(Object.keys(metadata).sort()).toEqual(
      ["[__proto__]", "[constructor]", "big", "inf", "key\ufffd", "lone", "nested"].sort(),
    );
    expect(metadata["[constructor]"]).toEqual({ "[prototype]": { polluted: true } });
    expect(metadata.lone).toBe("a\ufffdb");
    expect(metadata.big).toBe("10");
    expect(metadata.inf).toBeNull();
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(JSON.stringify(metadata)).not.toMatch(/\\u0000|\\ud[89ab]|\\ud[c-f]/i);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("survives the log: an inspected event read back equals what was decided (nothing dropped)", () => {
    const decided = given(pending).when({
      type: "AddModelVersionArtifact",
      data: {
        version: 1,
        path: "model.safetensors",
        role: "model",
        size: 1,
        sha256: SHA,
        mediaType: "application/octet-stream",
        inspection: hostile(),
      },
    }).decision as RegisteredModelEvent[];
    expect(decided.map((e) => e.type)).toEqual([
      "ModelVersionArtifactAdded",
      "ModelVersionArtifactInspected",
      "ModelVersionSignatureSet",
    ]);
    for (const event of decided) {
      const stored: unknown = JSON.parse(JSON.stringify(event.data));
      expect(parseRegisteredModelEvent(event.type, 1, stored)).toEqual(event);
    }
  });

  it("never cuts a surrogate pair in half when clipping", () => {
    const long = `${"a".repeat(254)}🤖🤖`;
    const bounded = boundInspection({ ...hostile(), formatVersion: long });
    expect(unstorableText(bounded.formatVersion!)).toBeNull();
    expect(bounded.formatVersion!.endsWith("…")).toBe(true);
  });

  it("is recorded on re-inspection too", () => {
    const decided = given([...live, artifactAdded("model.bin")]).when({
      type: "InspectModelVersionArtifacts",
      data: { version: 1, inspections: [{ ...hostile(), path: "model.bin", sha256: SHA }] },
    }).decision;
    expect(decided).toBeInstanceOf(Array);
    expect(checkTextDeep("", decided)).toBeNull();
  });
});
