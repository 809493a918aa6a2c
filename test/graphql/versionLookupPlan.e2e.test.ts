// Since migration 20261218000000_version_children (#18) a version's id ("<model id>:<version>") is
// not indexed: a version named by its id is looked up by (model_id, version), pages continue from a
// cursor holding the version's integer `ref`, and the rows of a version's aliases, comments and
// deployments are found by its model and number. A lookup left on the id would still answer
// correctly, by reading every version of the registry: this checks the plans SQLite makes for the
// statements these reads send (node by id, malformed ids included, a model's pages after a cursor,
// a version's aliases, comments and deployments, the version a mutation returns). Any step that
// scans one of these tables whole fails it. PostgreSQL plans by its statistics and is not checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const TABLES = [
  "model_versions",
  "model_aliases",
  "model_version_comments",
  "model_version_deployments",
  "model_version_artifacts",
];

describe("reads that name a version on SQLite", () => {
  let server: TestServer;
  const statements: string[] = [];
  let recording = false;
  let versionIds: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("sqlite", {
      onReadQuery: (sql) => {
        if (recording) statements.push(sql);
      },
    });
    const ok = async (query: string, variables: Record<string, unknown>) => {
      const result = await server.gql(query, variables);
      expect(result.errors).toBeUndefined();
      return result.data;
    };
    await ok(`mutation { createRegisteredModel(input: { name: "plan" }) { __typename } }`, {});
    for (let v = 0; v < 5; v++)
      await ok(
        `mutation { createModelVersion(input: { name: "plan", source: "s3://plan" }) { __typename } }`,
        {},
      );
    await ok(
      `mutation { setRegisteredModelAlias(input: { name: "plan", version: 2, alias: "champion" }) { __typename } }`,
      {},
    );
    await ok(
      `mutation { addModelVersionComment(input: { name: "plan", version: 2, body: "looks good" }) { __typename } }`,
      {},
    );
    const data = await ok(`{ registeredModel(name: "plan") { versions(first: 10) { nodes { id } } } }`, {});
    versionIds = data.registeredModel.versions.nodes.map((n: { id: string }) => n.id);
    expect(versionIds).toHaveLength(5);
    // Statements sent past Prisma (model pages) are recorded too.
    const db = server.registro.db as { query: (sql: string, params?: unknown[]) => Promise<unknown[]> };
    const query = db.query.bind(db);
    db.query = (sql, params) => {
      if (recording) statements.push(sql);
      return query(sql, params);
    };
  });
  afterAll(async () => server?.close());

  async function plans(run: () => Promise<void>): Promise<string[]> {
    statements.length = 0;
    recording = true;
    try {
      await run();
    } finally {
      recording = false;
    }
    const touching = statements.filter((sql) => TABLES.some((table) => sql.includes(table)));
    expect(touching.length).toBeGreaterThan(0);
    const steps: string[] = [];
    for (const sql of touching) {
      const params = Array.from(sql.matchAll(/\?/g), () => 0);
      const plan = await server.registro.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
      steps.push(...plan.map((r) => `${r.detail}    <- ${sql.slice(0, 160)}`));
    }
    return steps;
  }
  const wholeScans = (steps: string[]) =>
    steps.filter((step) => TABLES.some((table) => new RegExp(`^SCAN (main\\.)?${table}\\b`).test(step)));

  it("finds versions by id through their model and number, even for ids that name none", async () => {
    const steps = await plans(async () => {
      const result = await server.gql(
        `query($ids: [ID!]!) { nodes(ids: $ids) { ... on ModelVersion { version aliases comments(first: 5) { nodes { body } } deployments(first: 5) { nodes { environment } } } } }`,
        {
          ids: [
            ...versionIds,
            // Well-formed global ids of versions that do not exist, or of ids that are not versions' at all.
            ...["x", "plan:0", "plan:01", "plan:-1", "plan:99999999999", `${"m".repeat(300)}:1`].map((id) =>
              Buffer.from(`ModelVersion:${id}`).toString("base64"),
            ),
          ],
        },
      );
      expect(result.errors).toBeUndefined();
      const nodes = (result.data as { nodes: ({ version: number; aliases: string[] } | null)[] }).nodes;
      expect(nodes.slice(0, 5).map((n) => n?.version)).toEqual([5, 4, 3, 2, 1]);
      expect(nodes.find((n) => n?.version === 2)?.aliases).toEqual(["champion"]);
      expect(nodes.slice(5)).toEqual(Array(6).fill(null));
    });
    expect(wholeScans(steps)).toEqual([]);
  });

  it("continues a model's pages from a cursor without reading other versions", async () => {
    const page = (after: string | null) =>
      server.gql(
        `query($after: String) { registeredModel(name: "plan") { versions(first: 2, after: $after) { nodes { version } pageInfo { endCursor } } } }`,
        { after },
      );
    const first = await page(null);
    const cursor = first.data.registeredModel.versions.pageInfo.endCursor as string;
    let second: Awaited<ReturnType<typeof page>> | undefined;
    const steps = await plans(async () => {
      second = await page(cursor);
    });
    expect(second!.data.registeredModel.versions.nodes.map((n: { version: number }) => n.version)).toEqual([
      3, 2,
    ]);
    expect(wholeScans(steps)).toEqual([]);
  });

  it("reads the version a mutation changed by its key", async () => {
    const steps = await plans(async () => {
      const result = await server.gql(
        `mutation { updateModelVersion(input: { name: "plan", version: 3, description: "d" }) { ... on ModelVersionPayload { modelVersion { version aliases model { name } } } } }`,
      );
      expect(result.errors).toBeUndefined();
    });
    expect(wholeScans(steps)).toEqual([]);
  });
});
