// Hostile text and keys over real HTTP, on both providers: NUL and unpaired surrogates in every
// class of text field get the same typed ValidationError on SQLite and PostgreSQL (never an internal
// error, never silently stored); queries and subscriptions refuse them with a VALIDATION error;
// reserved keys are refused without polluting anything; JSON depth is bounded; and names that
// Object.prototype also has (`toString`) are stored, listed and deleted like any other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/domain/validation.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { sseSubscribe } from "../subscriptions/support.ts";

const RESULT = `__typename ... on Error { code message } ... on ValidationError { field }`;

const UNSTORABLE = [
  ["NUL", "a\u0000b", /NUL \(U\+0000\)/],
  ["a lone high surrogate", "a\ud800b", /unpaired UTF-16 surrogates/],
  ["a lone low surrogate", "\udc00", /unpaired UTF-16 surrogates/],
] as const;

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const polluted = () => (({}) as Record<string, unknown>).polluted;

/** Every class of text field a mutation takes: [what, mutation, input with the text, field named]. */
function textFields(t: string): [string, string, Record<string, unknown>, string][] {
  const v = { name: "m", version: 1 };
  const p = { name: "p", version: 1 };
  return [
    ["a model name", "createRegisteredModel", { name: t }, "name"],
    ["a description", "createRegisteredModel", { name: "x", description: t }, "description"],
    ["a tag key", "createRegisteredModel", { name: "x", tags: [{ key: t, value: "v" }] }, "tags.0.key"],
    ["a tag value", "createRegisteredModel", { name: "x", tags: [{ key: "k", value: t }] }, "tags.0.value"],
    ["the name a command looks up", "updateRegisteredModel", { name: t, description: "d" }, "name"],
    ["the name of a deleted model", "restoreRegisteredModel", { name: t }, "name"],
    ["a new name", "renameRegisteredModel", { name: "m", newName: t }, "newName"],
    ["an updated description", "updateRegisteredModel", { name: "m", description: t }, "description"],
    ["a set tag key", "setRegisteredModelTag", { name: "m", key: t, value: "v" }, "key"],
    ["a set tag value", "setRegisteredModelTag", { name: "m", key: "k", value: t }, "value"],
    ["a deleted tag key", "deleteRegisteredModelTag", { name: "m", key: t }, "key"],
    ["an alias", "setRegisteredModelAlias", { ...v, alias: t }, "alias"],
    [
      "an override reason",
      "setRegisteredModelAlias",
      { ...v, alias: "champion", overrideReason: t },
      "overrideReason",
    ],
    ["a deleted alias", "deleteRegisteredModelAlias", { name: "m", alias: t }, "alias"],
    ["a source", "createModelVersion", { name: "m", source: t }, "source"],
    ["a run id", "createModelVersion", { name: "m", source: "s", runId: t }, "runId"],
    [
      "a version tag",
      "createModelVersion",
      { name: "m", source: "s", tags: [{ key: "k", value: t }] },
      "tags.0.value",
    ],
    ["a params value", "createModelVersion", { name: "m", source: "s", params: { lr: t } }, "params.lr"],
    [
      "a nested params value",
      "createModelVersion",
      { name: "m", source: "s", params: { a: [{ b: t }] } },
      "params.a.0.b",
    ],
    ["a params key", "createModelVersion", { name: "m", source: "s", params: { [t]: 1 } }, "params"],
    [
      "a nested params key",
      "createModelVersion",
      { name: "m", source: "s", params: { a: { [t]: 1 } } },
      "params.a",
    ],
    ["a metric name", "logModelVersionMetrics", { ...v, metrics: [{ key: t, value: 1 }] }, "metrics.0.key"],
    ["a version description", "updateModelVersion", { ...v, description: t }, "description"],
    ["a version tag key", "setModelVersionTag", { ...v, key: t, value: "v" }, "key"],
    ["a deleted version tag key", "deleteModelVersionTag", { ...v, key: t }, "key"],
    ["a stage comment", "transitionModelVersionStage", { ...v, stage: "STAGING", comment: t }, "comment"],
    [
      "a signature tensor name",
      "setModelVersionSignature",
      { ...v, signature: { inputs: [{ name: t }], outputs: [] } },
      "signature.inputs.0.name",
    ],
    [
      "a signature dimension",
      "setModelVersionSignature",
      { ...v, signature: { inputs: [{ name: "x", dtype: "f32", shape: [{ symbol: t }] }], outputs: [] } },
      "signature.inputs.0.shape.0",
    ],
    ["a failure reason", "failModelVersionRegistration", { ...p, reason: t }, "reason"],
    ["an artifact path to inspect", "inspectModelVersionArtifacts", { ...v, paths: [t] }, "paths.0"],
  ];
}

describe.each(await providers())("hostile input text on %s", (provider) => {
  let server: TestServer;

  async function mutate(field: string, input: Record<string, unknown>) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${RESULT} } }`,
      {
        input,
      },
    );
    expect(result.errors).toBeUndefined();
    return result.data[field];
  }

  async function model(name: string) {
    const result = await server.gql(
      `query($n: String!) { registeredModel(name: $n) { revision tags { key value } aliases { alias }
        versions { nodes { version description tags { key value } } } } }`,
      { n: name },
    );
    expect(result.errors).toBeUndefined();
    return result.data.registeredModel;
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
    expect((await mutate("createRegisteredModel", { name: "m" })).__typename).toBe("RegisteredModelPayload");
    expect((await mutate("createModelVersion", { name: "m", source: "s" })).__typename).toBe(
      "ModelVersionPayload",
    );
    expect((await mutate("createRegisteredModel", { name: "p" })).__typename).toBe("RegisteredModelPayload");
    expect(
      (await mutate("createModelVersion", { name: "p", source: "s", pendingArtifacts: true })).__typename,
    ).toBe("ModelVersionPayload");
  });
  afterAll(async () => server?.close());

  describe.each(UNSTORABLE)("%s", (_what, text, message) => {
    it.each(textFields(text))(
      "in %s is a ValidationError naming the field",
      async (_f, field, input, name) => {
        const result = await mutate(field, input);
        expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field: name });
        expect(result.message).toMatch(message);
      },
    );
  });

  it("was never stored: the models are as they were", async () => {
    expect(await model("m")).toEqual({
      revision: 2,
      tags: [],
      aliases: [],
      versions: { nodes: [{ version: 1, description: "", tags: [] }] },
    });
    expect(await model("x")).toBeNull();
  });

  it("in an inline literal is refused the same way", async () => {
    const literal = await server.gql(
      `mutation { createRegisteredModel(input: {name: "lit", description: "a\\u0000b"}) { ${RESULT} } }`,
    );
    expect(literal.data.createRegisteredModel).toMatchObject({
      __typename: "ValidationError",
      field: "description",
    });
    const params = await server.gql(
      `mutation { createModelVersion(input: {name: "m", source: "s", params: {a: {b: ["ok", "\\u0000"]}}}) { ${RESULT} } }`,
    );
    expect(params.data.createModelVersion).toMatchObject({
      __typename: "ValidationError",
      field: "params.a.b.1",
    });
  });

  it.each(UNSTORABLE)("in a query argument is a VALIDATION error: %s", async (_what, text) => {
    const cases: [string, Record<string, unknown>, string][] = [
      [`query($t: String!) { registeredModel(name: $t) { name } }`, { t: text }, "name"],
      [`query($t: String!) { modelVersion(name: $t, version: 1) { version } }`, { t: text }, "name"],
      [`query($t: String!) { modelVersionByAlias(name: "m", alias: $t) { version } }`, { t: text }, "alias"],
      [
        `query($t: String!) { registeredModels(filter: {nameContains: $t}) { nodes { name } } }`,
        { t: text },
        "filter.nameContains",
      ],
      [
        `query($t: String!) { registeredModels(filter: {tag: {key: "k", value: $t}}) { nodes { name } } }`,
        { t: text },
        "filter.tag.value",
      ],
      [
        `query($t: String!) { modelVersions(filter: {runId: $t}) { nodes { version } } }`,
        { t: text },
        "filter.runId",
      ],
      [
        `query($t: String!) { modelVersions(filter: {alias: $t}) { nodes { version } } }`,
        { t: text },
        "filter.alias",
      ],
      [`query($t: String!) { history(name: $t) { nodes { type } } }`, { t: text }, "name"],
      [
        `query($t: String!) { registeredModelAsOf(name: $t, at: "2030-01-01T00:00:00Z") { name } }`,
        { t: text },
        "name",
      ],
    ];
    for (const [query, variables, field] of cases) {
      const result = await server.gql(query, variables);
      expect(result.errors, query).toHaveLength(1);
      expect(result.errors![0]).toMatchObject({ extensions: { code: "VALIDATION", field } });
    }
  });

  it("hidden in a global id or a cursor is a VALIDATION error, not an internal one", async () => {
    for (const query of [
      `{ node(id: "${b64("RegisteredModel:a\u0000")}") { id } }`,
      `{ node(id: "${b64("ModelVersion:m\u0000:1")}") { id } }`,
      `{ nodes(ids: ["${b64("ModelVersion:a\u0000")}"]) { id } }`,
      `{ registeredModels(after: "${b64("GPC:S:a\u0000")}") { nodes { name } } }`,
      `{ modelVersions(before: "${b64("GPC:S:a\u0000")}") { nodes { version } } }`,
    ]) {
      const result = await server.gql(query);
      expect(result.errors?.[0], query).toMatchObject({ extensions: { code: "VALIDATION" } });
    }
  });

  it("names in a global id a type that is no Node: null, as for an object that does not exist", async () => {
    const model = await server.gql(`{ registeredModels(first: 1) { nodes { id } } }`);
    const real = model.data.registeredModels.nodes[0].id as string;
    for (const typename of ["__proto__", "toString", "Foo", "String", "ModelVersionArtifact", "Query"]) {
      const id = b64(`${typename}:x`);
      const one = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(one.errors, typename).toBeUndefined();
      expect(one.data.node, typename).toBeNull();
      const several = await server.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
        ids: [id, real, id],
      });
      expect(several.errors, typename).toBeUndefined();
      expect(several.data.nodes, typename).toEqual([null, { id: real }, null]);
    }
  });

  it("takes at most 100 ids in nodes(ids:)", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => b64(`RegistryEvent:${i + 1}`));
    const refused = await server.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "ids" } });
    const taken = await server.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids.slice(1) });
    expect(taken.errors).toBeUndefined();
    expect(taken.data.nodes).toHaveLength(100);
  });

  it("in a subscription argument ends the stream with a VALIDATION error", async () => {
    const sse = await sseSubscribe(
      server.graphqlUrl,
      `subscription($m: [String!]) { registryEvents(filter: {models: $m}) { type } }`,
      { m: ["ok", "a\u0000b"] },
    );
    try {
      await sse.finished();
      expect(sse.next()[0]?.errors?.[0]).toMatchObject({
        extensions: { code: "VALIDATION", field: "filter.models.1" },
      });
    } finally {
      await sse.close();
    }
  });

  describe("reserved keys", () => {
    it.each(["__proto__", "constructor", "prototype"])(
      "'%s' is refused as tag key, alias, metric and params key, via variables",
      async (key) => {
        const refused: [string, Record<string, unknown>, string][] = [
          ["createRegisteredModel", { name: "r", tags: [{ key, value: "x" }] }, "tags.0.key"],
          ["setRegisteredModelTag", { name: "m", key, value: "x" }, "key"],
          ["setModelVersionTag", { name: "m", version: 1, key, value: "x" }, "key"],
          ["setRegisteredModelAlias", { name: "m", version: 1, alias: key }, "alias"],
          [
            "logModelVersionMetrics",
            { name: "m", version: 1, metrics: [{ key, value: 1 }] },
            "metrics.0.key",
          ],
        ];
        for (const [field, input, name] of refused)
          expect(await mutate(field, input)).toMatchObject({ __typename: "ValidationError", field: name });
        // Raw JSON bodies, so the key is exactly what a hostile client sends.
        for (const [params, name] of [
          [`{"${key}": {"polluted": true}}`, `params.${key}`],
          [`{"a": [{"b": {"${key}": {"polluted": true}}}]}`, `params.a.0.b.${key}`],
        ]) {
          const response = await fetch(server.graphqlUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"query": "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { __typename ... on ValidationError { field } } }",
            "variables": {"i": {"name": "m", "source": "s", "params": ${params}}}}`,
          });
          expect(response.status).toBe(200);
          expect((await response.json()).data.createModelVersion).toEqual({
            __typename: "ValidationError",
            field: name,
          });
        }
        expect(polluted()).toBeUndefined();
      },
    );

    it("are refused in inline literals too, nested or not", async () => {
      for (const [params, name] of [
        [`{__proto__: {polluted: true}}`, "params.__proto__"],
        [`{x: {constructor: {prototype: {polluted: true}}}}`, "params.x.constructor"],
        [`{x: [{prototype: 1}]}`, "params.x.0.prototype"],
      ]) {
        const result = await server.gql(
          `mutation { createModelVersion(input: {name: "m", source: "s", params: ${params}}) { ${RESULT} } }`,
        );
        expect(result.data.createModelVersion).toMatchObject({ __typename: "ValidationError", field: name });
      }
      const tag = await server.gql(
        `mutation { createRegisteredModel(input: {name: "r", tags: [{key: "__proto__", value: "x"}]}) { ${RESULT} } }`,
      );
      expect(tag.data.createRegisteredModel).toMatchObject({
        __typename: "ValidationError",
        field: "tags.0.key",
      });
      expect(polluted()).toBeUndefined();
      expect((await model("m")).revision).toBe(2);
    });
  });

  it("names Object.prototype also has are ordinary tags and aliases: stored, listed, deleted", async () => {
    await mutate("createRegisteredModel", { name: "inherited", tags: [{ key: "valueOf", value: "1" }] });
    await mutate("createModelVersion", { name: "inherited", source: "s" });
    for (const key of ["toString", "hasOwnProperty"]) {
      expect((await mutate("setRegisteredModelTag", { name: "inherited", key, value: "v" })).__typename).toBe(
        "RegisteredModelPayload",
      );
      expect(
        (await mutate("setModelVersionTag", { name: "inherited", version: 1, key, value: "w" })).__typename,
      ).toBe("ModelVersionPayload");
    }
    expect(
      (
        await mutate("setRegisteredModelAlias", {
          name: "inherited",
          version: 1,
          alias: "toString",
          overrideReason: "test",
        })
      ).__typename,
    ).toBe("ModelVersionPayload");
    expect(await model("inherited")).toMatchObject({
      tags: [
        { key: "hasOwnProperty", value: "v" },
        { key: "toString", value: "v" },
        { key: "valueOf", value: "1" },
      ],
      aliases: [{ alias: "toString" }],
      versions: {
        nodes: [
          {
            tags: [
              { key: "hasOwnProperty", value: "w" },
              { key: "toString", value: "w" },
            ],
          },
        ],
      },
    });
    // Deleting them removes the rows (an `in` check would have found them on Object.prototype and kept them).
    await mutate("deleteRegisteredModelTag", { name: "inherited", key: "toString" });
    await mutate("deleteRegisteredModelTag", { name: "inherited", key: "valueOf" });
    await mutate("deleteModelVersionTag", { name: "inherited", version: 1, key: "toString" });
    await mutate("deleteRegisteredModelAlias", { name: "inherited", alias: "toString" });
    expect(await model("inherited")).toMatchObject({
      tags: [{ key: "hasOwnProperty", value: "v" }],
      aliases: [],
      versions: { nodes: [{ tags: [{ key: "hasOwnProperty", value: "w" }] }] },
    });
    // And deleting one that is not there changes nothing: no phantom event.
    for (const [field, type, input] of [
      [
        "deleteRegisteredModelTag",
        "DeleteRegisteredModelTagInput",
        { name: "inherited", key: "isPrototypeOf" },
      ],
      [
        "deleteRegisteredModelAlias",
        "DeleteRegisteredModelAliasInput",
        { name: "inherited", alias: "valueOf" },
      ],
    ] as const) {
      const result = await server.gql(
        `mutation($input: ${type}!) { ${field}(input: $input) { __typename ... on RegisteredModelPayload { events { type } } } }`,
        { input },
      );
      expect(result.data[field]).toEqual({ __typename: "RegisteredModelPayload", events: [] });
    }
  });

  describe("JSON depth", () => {
    const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    const createWithParams = (params: string) =>
      fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"query": "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { __typename ... on ValidationError { code field message } ... on ModelVersionPayload { modelVersion { params } } } }",
          "variables": {"i": {"name": "m", "source": "s", "params": ${params}}}}`,
      });

    it(`accepts ${LIMITS.jsonMaxDepth} levels and refuses one more`, async () => {
      const fits = await (await createWithParams(`{"a": ${nested(LIMITS.jsonMaxDepth - 1)}}`)).json();
      expect(fits.data.createModelVersion.__typename).toBe("ModelVersionPayload");
      expect(JSON.stringify(fits.data.createModelVersion.modelVersion.params)).toBe(
        `{"a":${nested(LIMITS.jsonMaxDepth - 1)}}`,
      );
      const over = await (await createWithParams(`{"a": ${nested(LIMITS.jsonMaxDepth)}}`)).json();
      expect(over.data.createModelVersion).toMatchObject({
        __typename: "ValidationError",
        code: "VALIDATION",
      });
      expect(over.data.createModelVersion.field).toMatch(/^params\.a(\.0)+$/);
    });

    it("refuses 100,000 levels with a ValidationError, and the server keeps answering", async () => {
      for (const params of [
        `{"deep": ${nested(100_000)}}`,
        `{"deep": ${'{"o":'.repeat(100_000)}1${"}".repeat(100_000)}}`,
      ]) {
        const response = await createWithParams(params);
        expect(response.status).toBe(200);
        const body = await response.json();
        expect(body.errors).toBeUndefined();
        expect(body.data.createModelVersion).toMatchObject({
          __typename: "ValidationError",
          code: "VALIDATION",
        });
        expect(body.data.createModelVersion.message).toContain(
          `more than ${LIMITS.jsonMaxDepth} levels deep`,
        );
      }
      expect((await model("m")).versions.nodes).toHaveLength(2);
    });
  });
});
