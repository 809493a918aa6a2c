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

describe.each(await providers())("a model's versions page by page on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
    await server.gql(`mutation { createRegisteredModel(input: { name: "pages" }) { __typename } }`);
    for (let i = 1; i <= 7; i++)
      await server.gql(
        `mutation { createModelVersion(input: { name: "pages", source: "s3://p/${i}" }) { __typename } }`,
      );
    for (const version of [2, 5, 6])
      await server.gql(
        `mutation($v: Int!) { transitionModelVersionStage(input: { name: "pages", version: $v, stage: STAGING }) { __typename } }`,
        { v: version },
      );
    await server.gql(`mutation { deleteModelVersion(input: { name: "pages", version: 4 }) { __typename } }`);
    await server.gql(`mutation { createRegisteredModel(input: { name: "rich" }) { __typename } }`);
    await server.gql(`mutation { createModelVersion(input: { name: "rich", source: "s3://r/1", runId: "run-1",
      description: "first", tags: [{ key: "b", value: "2" }, { key: "a", value: "1" }],
      params: { lr: 0.1, layers: [1, 2] }, metrics: [{ key: "auc", value: 0.9 }] }) { __typename } }`);
    await server.gql(
      `mutation { createModelVersion(input: { name: "rich", source: "s3://r/2" }) { __typename } }`,
    );
    for (const alias of ["zeta", "alpha"])
      await server.gql(
        `mutation($a: String!) { setRegisteredModelAlias(input: { name: "rich", version: 1, alias: $a }) { __typename } }`,
        { a: alias },
      );
    await server.gql(`mutation { deleteModelVersion(input: { name: "rich", version: 2 }) { __typename } }`);
  });

  it("answers each version of a page as the version itself reads, one model or a list of them", async () => {
    const fields = `id version source runId stage status aliases tags { key value } description params
      metrics { key value } createdBy createdAt updatedAt deleted deletedAt`;
    const one = await server.gql(`{ registeredModel(name: "rich") {
      versions(includeDeleted: true, first: 5) { nodes { ${fields} } } } }`);
    const list = await server.gql(`{ registeredModels(filter: { nameContains: "rich" }) { nodes {
      versions(includeDeleted: true, first: 5) { nodes { ${fields} } } } } }`);
    const each = await server.gql(`{ v1: modelVersion(name: "rich", version: 1) { ${fields} }
      v2: modelVersion(name: "rich", version: 2) { ${fields} } }`);
    expect(one.errors ?? list.errors ?? each.errors).toBeUndefined();
    const expected = [each.data.v2, each.data.v1];
    expect(expected[1]).toMatchObject({ aliases: ["alpha", "zeta"], tags: [{ key: "a" }, { key: "b" }] });
    expect(expected[0]).toMatchObject({ deleted: true, deletedAt: expect.any(String) });
    expect(one.data.registeredModel.versions.nodes).toEqual(expected);
    expect(list.data.registeredModels.nodes[0].versions.nodes).toEqual(expected);
  });
  afterAll(async () => server?.close());

  type Page = { totalCount: number; nodes: { version: number }[]; pageInfo: Record<string, unknown> };
  async function page(args: string): Promise<Page> {
    const result = await server.gql(`{ registeredModel(name: "pages") { versions(${args}) {
      totalCount nodes { version } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`);
    expect(result.errors, args).toBeUndefined();
    return result.data.registeredModel.versions;
  }
  const versions = (p: Page) => p.nodes.map((n) => n.version);

  /** Every version in the order asked, walked forwards with `first`, then backwards with `last`. */
  async function walk(args: string, size: number) {
    const forwards: number[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page = await page(`${args} first: ${size}${after ? ` after: "${after}"` : ""}`);
      forwards.push(...versions(p));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor as string;
    }
    const backwards: number[] = [];
    let before: string | null = null;
    for (;;) {
      const p: Page = await page(`${args} last: ${size}${before ? ` before: "${before}"` : ""}`);
      backwards.unshift(...versions(p));
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor as string;
    }
    return { forwards, backwards };
  }

  it("walks newest first by default, oldest first with ASC, by stage, with deleted ones on request", async () => {
    const cases: [string, number[]][] = [
      ["", [7, 6, 5, 3, 2, 1]],
      ["direction: ASC", [1, 2, 3, 5, 6, 7]],
      ["stage: STAGING", [6, 5, 2]],
      ["includeDeleted: true", [7, 6, 5, 4, 3, 2, 1]],
      ["includeDeleted: true direction: ASC stage: NONE", [1, 3, 4, 7]],
    ];
    for (const [args, expected] of cases) {
      for (const size of [1, 2, 4, 10]) {
        const { forwards, backwards } = await walk(args, size);
        expect(forwards, `${args} by ${size}`).toEqual(expected);
        expect(backwards, `${args} backwards by ${size}`).toEqual(expected);
      }
      expect((await page(`${args} first: 1`)).totalCount, args).toBe(expected.length);
    }
    // A list of models pages each model's versions on its own.
    const list = await server.gql(
      `{ registeredModels(filter: { nameContains: "pages" }) { nodes { versions(first: 2) { nodes { version } } } } }`,
    );
    expect(list.data.registeredModels.nodes).toEqual([
      { versions: { nodes: [{ version: 7 }, { version: 6 }] } },
    ]);
  });
});
