// Connections have the names clients expect and count what they page through: `totalCount` on every
// connection agrees with the items a full walk returns, whatever page size is asked for.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../src/graphql/schema.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

describe("connection types", () => {
  it("are named after their node, with edges of the same name and totalCount", () => {
    for (const node of ["ModelVersion", "RegisteredModel", "RegistryEvent"]) {
      const connection = schema.getType(`${node}Connection`);
      expect(connection, node).toBeDefined();
      expect(Object.keys((connection as { getFields(): object }).getFields()).sort()).toEqual([
        "edges",
        "nodes",
        "pageInfo",
        "totalCount",
      ]);
      expect(schema.getType(`${node}Edge`), node).toBeDefined();
    }
    // No connection type is named after the field that returns it any more.
    const stale = Object.keys(schema.getTypeMap()).filter((name) =>
      /^(Query|RegisteredModel)\w+Connection/.test(name),
    );
    expect(stale).toEqual([]);
  });
});

describe.each(await providers())("totalCount on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
    for (const name of ["count-a", "count-b"]) {
      await server.gql(`mutation($n: String!) { createRegisteredModel(input: {name: $n}) { __typename } }`, {
        n: name,
      });
    }
    for (let i = 0; i < 3; i++)
      await server.gql(
        `mutation { createModelVersion(input: {name: "count-a", source: "s3://x/${i}"}) { __typename } }`,
      );
  });
  afterAll(async () => server?.close());

  it("counts all pages of versions, history and models, however small the page", async () => {
    const result = await server.gql(`{
      registeredModel(name: "count-a") {
        versions(first: 1) { totalCount nodes { version } }
        history(first: 1) { totalCount }
      }
      history(name: "count-a", first: 2) { totalCount }
      modelVersions(first: 1, filter: { name: "count-a" }) { totalCount }
      registeredModels(first: 1, filter: { nameContains: "count-" }) { totalCount }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      registeredModel: { versions: { totalCount: 3, nodes: [{ version: 3 }] }, history: { totalCount: 4 } },
      history: { totalCount: 4 },
      modelVersions: { totalCount: 3 },
      registeredModels: { totalCount: 2 },
    });
    const missing = await server.gql(
      `{ history(name: "no-such-model", first: 1) { totalCount nodes { type } } }`,
    );
    expect(missing.data).toEqual({ history: { totalCount: 0, nodes: [] } });
  });
});
