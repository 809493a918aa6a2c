// What one operation (or one connection) may make the server do, beyond the shape bounds of
// operationLimits: pages of nested connections multiply, a WebSocket runs a bounded number of
// operations at once, and a subscription filter names a bounded number of models.
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_OPERATIONS_PER_CONNECTION } from "../../src/http/graphqlWebSocket.ts";
import { OPERATION_LIMITS } from "../../src/http/operationLimits.ts";
import { MAX_FILTER_VALUES } from "../../src/graphql/liveSubscription.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { record, wsClient } from "../subscriptions/support.ts";

/** `versions(first: n) { nodes { model { … } } }` nested `levels` deep under one model. */
const nested = (levels: number, first: string) => {
  let selection = "version";
  for (let i = 0; i < levels; i++)
    selection = `versions(first: ${first}) { nodes { ${i === 0 ? "" : "model { "}${selection}${i === 0 ? "" : " }"} } }`;
  return selection;
};

describe.each(await providers())("operation cost bounds (%s)", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
    await server.gql(`mutation { createRegisteredModel(input: { name: "cost" }) { __typename } }`);
  });
  afterAll(async () => server?.close());

  const post = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: await response.json() };
  };

  it("refuses nested pages whose product passes the item limit, literal, variable or in fragments", async () => {
    for (const [query, variables] of [
      [`{ registeredModel(name: "cost") { ${nested(3, "100")} } }`, undefined],
      [`query($n: Int) { registeredModel(name: "cost") { ${nested(3, "$n")} } }`, { n: 100 }],
      [
        `query { registeredModel(name: "cost") { ...V } }
         fragment V on RegisteredModel { versions(first: 200) { nodes { model { ...W } } } }
         fragment W on RegisteredModel { versions(first: 200) { nodes { version } } }`,
        undefined,
      ],
      // A variable's default counts when the request sends no value for it (200 × 200, not 50 × 50).
      [`query($n: Int = 200) { registeredModel(name: "cost") { ${nested(2, "$n")} } }`, undefined],
      [`query($n: Int = 200) { registeredModel(name: "cost") { ${nested(2, "$n")} } }`, {}],
      // nodes(ids:) counts its ids: 100 models × 10 × 10.
      [
        `query($ids: [ID!]!) { nodes(ids: $ids) { ... on RegisteredModel { ${nested(2, "10")} } } }`,
        {
          ids: Array.from({ length: 100 }, (_, i) => Buffer.from(`RegisteredModel:m${i}`).toString("base64")),
        },
      ],
      // Without `first`, a connection counts its default page (50): 50 × 50 × 50.
      [`{ registeredModel(name: "cost") { ${nested(3, "50").replaceAll("(first: 50)", "")} } }`, undefined],
    ] as const) {
      const { status, body } = await post(query, variables);
      expect(status, query).toBe(400);
      expect(body.data, query).toBeUndefined();
      expect(body.errors[0].extensions).toMatchObject({
        code: "MAX_ITEMS_EXCEEDED",
        limit: OPERATION_LIMITS.maxItems,
      });
    }
  });

  it("runs what the web interface asks: one page of 500 versions with their lists, small nested pages", async () => {
    for (const [query, variables] of [
      [
        `{ registeredModel(name: "cost") { tags { key } versions(first: 500) { nodes { version aliases
           metrics { key } artifacts { path } } } history(last: 100) { nodes { type } } } }`,
        undefined,
      ],
      [`query($n: Int) { registeredModel(name: "cost") { ${nested(3, "$n")} } }`, { n: 20 }],
      // Introspection walks types → fields → type → fields…: the schema's own lists, not refused.
      [getIntrospectionQuery(), undefined],
      [
        `{ registeredModel(name: "cost") { ${nested(2, "500").replace("(first: 500)", "(first: 0)")} } }`,
        undefined,
      ],
    ] as const) {
      const { status, body } = await post(query, variables);
      expect(body.errors, query).toBeUndefined();
      expect(status).toBe(200);
    }
  });

  it("refuses, before it runs, a path that passes a list without pagination twice", async () => {
    // model → aliases → version → model → …: ten aliases, five levels, returned 111,110 aliases, which
    // the item bound counted as five (a list without pagination is one item there).
    await server.gql(`mutation { createRegisteredModel(input: { name: "cycle" }) { __typename } }`);
    await server.gql(
      `mutation { createModelVersion(input: { name: "cycle", source: "s3://c/1" }) { __typename } }`,
    );
    for (let i = 0; i < 10; i++)
      await server.gql(
        `mutation { setRegisteredModelAlias(input: { name: "cycle", alias: "a${i}", version: 1 }) { __typename } }`,
      );
    for (const [selection, list] of [
      ["aliases { modelVersion { model { aliases { alias } } } }", "RegisteredModel.aliases"],
      [
        "aliases { modelVersion { reviewRequests { modelVersion { reviewRequests { id } } } } }",
        "ModelVersion.reviewRequests",
      ],
    ] as const) {
      const query = `{ registeredModel(name: "cycle") { ${selection} } }`;
      const { status, body } = await post(query);
      expect(status, query).toBe(400);
      expect(body.data, query).toBeUndefined();
      expect(body.errors[0].message, query).toContain(
        `nests ${list}, a list without pagination, inside itself`,
      );
      expect(body.errors[0].extensions).toMatchObject({ code: "MAX_ITEMS_EXCEEDED" });
    }
    // Through fragments alike.
    const fragments = await post(
      `{ registeredModel(name: "cycle") { aliases { ... on ModelAlias { modelVersion { ...M } } } } }
       fragment M on ModelVersion { model { aliases { alias } } }`,
    );
    expect(fragments.status).toBe(400);
    expect(fragments.body.errors[0].message).toContain("nests RegisteredModel.aliases");
    // Lists beside each other, or a path back to a type through other lists, run.
    const fine = await post(
      `{ registeredModel(name: "cycle") { name tags { key } aliases { alias modelVersion { version artifacts { path }
         model { name } } } } }`,
    );
    expect(fine.body.errors).toBeUndefined();
    expect(fine.body.data.registeredModel.aliases).toHaveLength(10);
  });

  it("refuses the same cycle in a subscription before it subscribes", async () => {
    const client = wsClient(server.graphqlUrl.replace("http:", "ws:"));
    try {
      const refused = record(
        client,
        `subscription { modelVersionStageChanged { modelVersion { model { aliases { modelVersion { model { aliases { alias } } } } } } } }`,
      );
      await refused.ended();
      expect(JSON.stringify(refused.error ?? refused.results)).toContain("MAX_ITEMS_EXCEEDED");
    } finally {
      await client.dispose();
    }
  });

  it(`a WebSocket runs at most ${MAX_OPERATIONS_PER_CONNECTION} operations at once; a completed one frees its place`, async () => {
    const client = wsClient(server.graphqlUrl.replace("http:", "ws:"));
    try {
      const live = Array.from({ length: MAX_OPERATIONS_PER_CONNECTION }, () =>
        record(client, "subscription { registryEvents { position } }"),
      );
      const refused = record(client, "{ __typename }");
      await refused.ended();
      expect(refused.error).toEqual([
        expect.objectContaining({
          extensions: { code: "TOO_MANY_OPERATIONS", limit: MAX_OPERATIONS_PER_CONNECTION },
        }),
      ]);
      expect(live.filter((r) => r.error !== undefined || r.completed)).toEqual([]);
      live[0]!.dispose();
      const admitted = record(client, "{ __typename }");
      await admitted.ended();
      expect(admitted.error).toBeUndefined();
      expect(admitted.data).toEqual([{ __typename: "Query" }]);
      for (const r of live) r.dispose();
    } finally {
      await client.dispose();
    }
  });

  it(`a subscription filter names at most ${MAX_FILTER_VALUES} models or model ids`, async () => {
    const client = wsClient(server.graphqlUrl.replace("http:", "ws:"));
    try {
      for (const field of ["models", "modelIds"]) {
        const values = Array.from({ length: 20_000 }, (_, i) => `m${i}`);
        const refused = record(
          client,
          `subscription($f: RegistryEventFilter) { registryEvents(filter: $f) { position } }`,
          { f: { [field]: values } },
        );
        await refused.ended();
        expect(JSON.stringify(refused.results)).toContain('"code":"BAD_USER_INPUT"');
        expect(JSON.stringify(refused.results)).toContain(`"field":"${field}"`);
      }
    } finally {
      await client.dispose();
    }
  });
});
