// What one operation (or one connection) may make the server do, beyond the shape bounds of
// operationLimits: pages of nested connections multiply, a WebSocket runs a bounded number of
// operations at once, and a subscription filter names a bounded number of models.
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_OPERATIONS_PER_CONNECTION } from "../../src/http/graphqlWebSocket.ts";
import { OPERATION_LIMITS } from "../../src/http/operationLimits.ts";
import { MAX_RESPONSE_CHARS } from "../../src/graphql/responseSizeBound.ts";
import { MAX_FILTER_VALUES } from "../../src/graphql/liveSubscription.ts";
import { providers } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";
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

  describe("a result that would serialise past the response bound", () => {
    // One version and its model with descriptions of 64 KiB each, named by 520 aliases: 8.5 MB
    // stored, within both item bounds (521 objects), and 68 million characters when every alias
    // repeats them. It was answered, 522 MB in 10 s for tags of 5 KB under 99 aliases.
    const LONG = "d".repeat(65_536);
    const REPEATED = "aliases { alias modelVersion { description model { description } } }";
    beforeAll(async () => {
      await server.gql(
        `mutation($d: String!) { createRegisteredModel(input: { name: "fat", description: $d }) { __typename } }`,
        { d: LONG },
      );
      await server.gql(
        `mutation($d: String!) { createModelVersion(input: { name: "fat", source: "s3://f/1", description: $d }) { __typename } }`,
        { d: LONG },
      );
      const aliases = Array.from({ length: 520 }, (_, i) => `a${i}`);
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let i = worker; i < aliases.length; i += 8)
            await server.gql(
              `mutation { setRegisteredModelAlias(input: { name: "fat", alias: "${aliases[i]}", version: 1 }) { __typename } }`,
            );
        }),
      );
      expect(520 * 2 * (LONG.length + 2)).toBeGreaterThan(MAX_RESPONSE_CHARS);
    }, 120_000);

    it("answers a query with RESPONSE_TOO_LARGE instead, and the same query with a smaller selection", async () => {
      const { status, body } = await post(`{ registeredModel(name: "fat") { ${REPEATED} } }`);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors).toEqual([
        expect.objectContaining({
          extensions: { code: "RESPONSE_TOO_LARGE", limit: MAX_RESPONSE_CHARS },
        }),
      ]);
      const smaller = await post(
        `{ registeredModel(name: "fat") { aliases { alias modelVersion { description } } } }`,
      );
      expect(smaller.status).toBe(200);
      expect(smaller.body.data.registeredModel.aliases).toHaveLength(520);
    });

    it("applies a mutation whose payload is too large, and says so", async () => {
      const { body } = await post(
        `mutation { setRegisteredModelTag(input: { name: "fat", key: "k", value: "v" }) {
           ... on RegisteredModelPayload { registeredModel { ${REPEATED} } } } }`,
      );
      expect(body.data).toBeUndefined();
      expect(body.errors[0].extensions).toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      expect(body.errors[0].message).toContain("The mutation was applied");
      const read = await post(`{ registeredModel(name: "fat") { tags { key value } } }`);
      expect(read.body.data.registeredModel.tags).toEqual([{ key: "k", value: "v" }]);
    });

    it("sends a subscriber RESPONSE_TOO_LARGE for an event past the bound; a smaller selection gets the event", async () => {
      const client = wsClient(server.graphqlUrl.replace("http:", "ws:"));
      try {
        const events = record(
          client,
          `subscription { modelVersionStageChanged(name: "fat") { stage modelVersion { model { ${REPEATED} } } } }`,
        );
        const small = record(client, `subscription { modelVersionStageChanged(name: "fat") { stage } }`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await server.gql(
          `mutation { transitionModelVersionStage(input: { name: "fat", version: 1, stage: STAGING }) { __typename } }`,
        );
        await small.waitFor(1);
        await eventually(() => events.results.length >= 1, 10_000, "the event");
        expect(events.results[0]).toEqual({
          errors: [
            expect.objectContaining({
              extensions: { code: "RESPONSE_TOO_LARGE", limit: MAX_RESPONSE_CHARS },
            }),
          ],
        });
        events.dispose();
        small.dispose();
      } finally {
        await client.dispose();
      }
    });
  });
});
