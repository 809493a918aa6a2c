// List fields must load their data without N+1 queries: the number of read queries for a page of
// models (with their tags, aliases, versions, version tags, aliases and metrics) may not grow with
// the number of models or versions on the page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const PAGE = `query($first: Int!, $prefix: String!) {
  registeredModels(first: $first, filter: { nameContains: $prefix }) {
    nodes {
      name tags { key value } aliases { alias modelVersion { version stage } }
      latestVersions { version stage }
      versions(first: 10) { nodes { version stage tags { key } aliases metrics { key value } model { name } } }
    }
  }
}`;

const VERSIONS = `query($first: Int!) {
  modelVersions(first: $first) { nodes { version tags { key } aliases model { name tags { key } } artifacts { path } } }
}`;

describe.each(await providers())("read queries per page on %s", (provider) => {
  let server: TestServer;
  let queries = 0;
  beforeAll(async () => {
    // The subscription tailer reads the events table on its own schedule; only projection reads count.
    server = await startTestServer(provider, {
      onReadQuery: (sql) => {
        if (!/\bevents\b/.test(sql)) queries++;
      },
    });
    for (let m = 0; m < 12; m++) {
      const name = `np1-${String(m).padStart(2, "0")}`;
      await server.gql(
        `mutation($n: String!) { createRegisteredModel(input: { name: $n, tags: [{ key: "team", value: "a" }] }) { __typename } }`,
        { n: name },
      );
      for (let v = 0; v < 3; v++) {
        await server.gql(
          `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://x", tags: [{ key: "k", value: "v" }], metrics: [{ key: "auc", value: 0.9 }] }) { __typename } }`,
          { n: name },
        );
      }
      await server.gql(
        `mutation($n: String!) { transitionModelVersionStage(input: { name: $n, version: 2, stage: STAGING }) { __typename } }`,
        { n: name },
      );
      await server.gql(
        `mutation($n: String!) { setRegisteredModelAlias(input: { name: $n, version: 3, alias: "champion" }) { __typename } }`,
        { n: name },
      );
    }
  });
  afterAll(async () => server?.close());

  async function count(query: string, variables: Record<string, unknown>) {
    queries = 0;
    const result = await server.gql(query, variables);
    expect(result.errors).toBeUndefined();
    return { queries, data: result.data };
  }

  it("a page of 12 models costs the same number of queries as a page of 2", async () => {
    const small = await count(PAGE, { first: 2, prefix: "np1-" });
    const large = await count(PAGE, { first: 12, prefix: "np1-" });
    expect(small.data.registeredModels.nodes).toHaveLength(2);
    expect(large.data.registeredModels.nodes).toHaveLength(12);
    expect(large.data.registeredModels.nodes[0].versions.nodes).toHaveLength(3);
    expect(large.data.registeredModels.nodes[0].aliases).toEqual([
      { alias: "champion", modelVersion: { version: 3, stage: "NONE" } },
    ]);
    expect(large.queries).toBe(small.queries);
    expect(large.queries).toBeLessThanOrEqual(12);
  });

  it("a page of 36 versions costs the same number of queries as a page of 3", async () => {
    const small = await count(VERSIONS, { first: 3 });
    const large = await count(VERSIONS, { first: 36 });
    expect(large.data.modelVersions.nodes).toHaveLength(36);
    expect(large.queries).toBe(small.queries);
  });
});
