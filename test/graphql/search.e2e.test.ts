// Search end to end, on both providers: `modelVersions` filtered by metric thresholds, several tags,
// status, artifact verdict and format, creator and text, sorted by a metric (versions without it
// last) and paged both ways; `registeredModels` by a version's stage, an alias, several tags and
// text; `totalCount` with every filter; only what the caller may read; hostile input refused with
// BAD_USER_INPUT (or VALIDATION, for text no database can hold) or matched literally.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));

interface VersionNode {
  version: number;
  model: { name: string; modelId: string };
  metrics: { key: string; value: number }[];
}

/** `model:version`, the way the expectations below name versions. */
const key = (node: VersionNode) => `${node.model.name}:${node.version}`;
const auc = (node: VersionNode) => node.metrics.find((m) => m.key === "auc")?.value ?? null;

const VERSIONS = `query($filter: ModelVersionFilter, $orderBy: ModelVersionOrder, $first: Int, $after: String, $last: Int, $before: String) {
  modelVersions(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { version model { name modelId } metrics { key value } }
  }
}`;

const MODELS = `query($filter: RegisteredModelFilter) {
  registeredModels(filter: $filter) { totalCount nodes { name } }
}`;

describe.each(await providers())("search on %s", (provider) => {
  let server: TestServer;
  let adminId: string;
  let bot: { id: string; secret: string };
  let viewer: { id: string; secret: string };

  async function ok(query: string, variables: Record<string, unknown> = {}, token?: string) {
    const result = await server.gql(
      query,
      variables,
      token === undefined ? undefined : { authorization: `Bearer ${token}` },
    );
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    return result.data;
  }

  async function mutate(field: string, input: Record<string, unknown>, token?: string) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const data = await ok(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { __typename ... on Error { message } } }`,
      { input },
      token,
    );
    expect(data[field].__typename, JSON.stringify(data[field])).toMatch(/Payload$/);
  }

  async function account(displayName: string, role: string, scopes: string[]) {
    const created = await ok(
      `mutation($n: String!, $r: RegistryRole!) { createServiceAccount(input: { displayName: $n, role: $r }) { ... on PrincipalPayload { principal { id } } } }`,
      { n: displayName, r: role },
    );
    const id = created.createServiceAccount.principal.id as string;
    const token = await ok(
      `mutation($id: ID!, $s: [TokenScope!]!) { createApiToken(input: { principalId: $id, name: "t", scopes: $s }) { ... on CreateApiTokenPayload { secret } } }`,
      { id, s: scopes },
    );
    return { id, secret: token.createApiToken.secret as string };
  }

  const model = (
    name: string,
    description: string,
    tags: { key: string; value: string }[] = [],
    token?: string,
  ) => mutate("createRegisteredModel", { name, description, tags }, token);
  const version = (name: string, input: Record<string, unknown> = {}, token?: string) =>
    mutate("createModelVersion", { name, source: "s3://models/x", ...input }, token);
  const stage = (name: string, v: number, to: string) =>
    mutate("transitionModelVersionStage", { name, version: v, stage: to });
  const upload = async (name: string, v: number, path: string, fixture: string) => {
    const response = await fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/${v}/${path}`, {
      method: "PUT",
      body: new Uint8Array(readFileSync(`${FIXTURES}${fixture}`)),
    });
    expect(response.status).toBe(201);
  };

  async function versions(variables: Record<string, unknown>, token?: string) {
    const data = await ok(VERSIONS, variables, token);
    const connection = data.modelVersions as {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string };
      nodes: VersionNode[];
    };
    return { ...connection, keys: connection.nodes.map(key) };
  }

  /** Matching versions, sorted by key (for filters, where order is not the point). */
  async function matching(filter: Record<string, unknown>) {
    const result = await versions({ filter, first: 100 });
    // totalCount counts exactly what the pages list, whatever the filter.
    expect(result.totalCount).toBe(result.nodes.length);
    return result.keys.sort();
  }

  async function refusal(query: string, variables: Record<string, unknown> = {}) {
    const result = (await server.gql(query, variables)) as {
      data?: unknown;
      errors?: { message: string; extensions: { code: string; field?: string } }[];
    };
    expect(result.errors, JSON.stringify(result)).toHaveLength(1);
    return result.errors![0]!;
  }

  beforeAll(async () => {
    // Private by default: what a caller without grants finds is part of what is tested.
    server = await startTestServer(provider, { auth: { defaultModelPermission: null } });
    const first = await ok(
      `mutation { createRegisteredModel(input: { name: "fraud-detector", description: "Card fraud scoring", tags: [{ key: "team", value: "risk" }, { key: "tier", value: "gold" }] }) { ... on RegisteredModelPayload { events { actor { id } } } } }`,
    );
    adminId = first.createRegisteredModel.events[0].actor.id as string;
    bot = await account("trainer-bot", "MEMBER", ["READ", "WRITE"]);
    viewer = await account("dashboard", "VIEWER", ["READ"]);

    await version("fraud-detector", {
      description: "baseline",
      metrics: [
        { key: "auc", value: 0.91 },
        // A double that needs 17 significant digits: 0.1 + 0.2.
        { key: "f1", value: 0.30000000000000004 },
      ],
      tags: [
        { key: "framework", value: "xgboost" },
        { key: "env", value: "prod" },
      ],
    });
    await version("fraud-detector", {
      description: "100% recall variant",
      metrics: [{ key: "auc", value: 0.95 }],
      tags: [{ key: "framework", value: "xgboost" }],
    });
    await version("fraud-detector", {
      description: "under_score test",
      tags: [{ key: "framework", value: "lightgbm" }],
    });
    await stage("fraud-detector", 1, "STAGING");
    await stage("fraud-detector", 2, "STAGING");
    await mutate("setRegisteredModelAlias", { name: "fraud-detector", version: 2, alias: "champion" });

    await model("churn_100%", "Predicts churn", [{ key: "team", value: "growth" }]);
    await version("churn_100%", {
      description: "Ä first",
      metrics: [
        { key: "auc", value: 0.88 },
        { key: "latency_ms", value: 12 },
      ],
    });
    await stage("churn_100%", 1, "STAGING");
    await version("churn_100%", { metrics: [{ key: "auc", value: 0.95 }], pendingArtifacts: true });
    await upload("churn_100%", 2, "model.onnx", "model.onnx");

    await model("ranker", "Search ranking for the Ärzte catalogue", [{ key: "team", value: "risk" }]);
    await version("ranker", {
      description: "huge",
      metrics: [
        { key: "auc", value: 1e300 },
        { key: "f1", value: -5 },
      ],
    });
    await stage("ranker", 1, "PRODUCTION");
    await version("ranker", { metrics: [{ key: "auc", value: 0.99 }] });
    await stage("ranker", 2, "STAGING");
    await mutate("deleteModelVersion", { name: "ranker", version: 2 });
    await version("ranker", { pendingArtifacts: true });
    await upload("ranker", 3, "model.pkl", "os_system_p4.pkl");

    await model("private-model", "Owned by the bot", [], bot.secret);
    await version(
      "private-model",
      { description: "bot registered", metrics: [{ key: "auc", value: 0.97 }] },
      bot.secret,
    );
  }, 120_000);
  afterAll(async () => server?.close());

  it("filters by metric thresholds: gt, gte, lt, lte, eq, several metrics, and a metric merely logged", async () => {
    expect(await matching({ metrics: [{ key: "auc", gte: 0.9 }] })).toEqual([
      "churn_100%:2",
      "fraud-detector:1",
      "fraud-detector:2",
      "private-model:1",
      "ranker:1",
    ]);
    expect(await matching({ metrics: [{ key: "auc", gte: 0.9 }], includeDeleted: true })).toContain(
      "ranker:2",
    );
    expect(await matching({ metrics: [{ key: "auc", gt: 0.91, lt: 1 }] })).toEqual([
      "churn_100%:2",
      "fraud-detector:2",
      "private-model:1",
    ]);
    expect(await matching({ metrics: [{ key: "auc", eq: 0.95 }] })).toEqual([
      "churn_100%:2",
      "fraud-detector:2",
    ]);
    expect(await matching({ metrics: [{ key: "auc", lte: 0.91 }] })).toEqual([
      "churn_100%:1",
      "fraud-detector:1",
    ]);
    expect(
      await matching({
        metrics: [
          { key: "auc", gte: 0.9 },
          { key: "f1", gte: 0.25 },
        ],
      }),
    ).toEqual(["fraud-detector:1"]);
    // Bounds reach the database as the exact doubles they are.
    expect(await matching({ metrics: [{ key: "f1", eq: 0.30000000000000004 }] })).toEqual([
      "fraud-detector:1",
    ]);
    expect(await matching({ metrics: [{ key: "f1", eq: 0.3 }] })).toEqual([]);
    expect(await matching({ metrics: [{ key: "f1", gt: 0.3, lt: 0.30000000000000004 }] })).toEqual([]);
    expect(await matching({ metrics: [{ key: "f1", lt: 0 }] })).toEqual(["ranker:1"]);
    expect(await matching({ metrics: [{ key: "latency_ms" }] })).toEqual(["churn_100%:1"]);
    // The largest finite doubles are ordinary bounds.
    expect(await matching({ metrics: [{ key: "auc", gte: 1.7976931348623157e308 }] })).toEqual([]);
    expect(await matching({ metrics: [{ key: "f1", gt: -1.7976931348623157e308, lt: 0 }] })).toEqual([
      "ranker:1",
    ]);
    expect(await matching({ metrics: [{ key: "auc", gt: 1e299, lte: 1.7976931348623157e308 }] })).toEqual([
      "ranker:1",
    ]);
  });

  it("filters by several tags at once, all of which must match", async () => {
    expect(
      await matching({
        tags: [
          { key: "framework", value: "xgboost" },
          { key: "env", value: "prod" },
        ],
      }),
    ).toEqual(["fraud-detector:1"]);
    expect(await matching({ tags: [{ key: "framework" }] })).toEqual([
      "fraud-detector:1",
      "fraud-detector:2",
      "fraud-detector:3",
    ]);
    expect(
      await matching({
        tag: { key: "framework", value: "xgboost" },
        tags: [{ key: "env", value: "staging" }],
      }),
    ).toEqual([]);
  });

  it("filters by status, artifact verdict and artifact format", async () => {
    expect(await matching({ status: "PENDING_REGISTRATION" })).toEqual(["churn_100%:2", "ranker:3"]);
    expect(await matching({ status: "READY", stage: "STAGING" })).toEqual([
      "churn_100%:1",
      "fraud-detector:1",
      "fraud-detector:2",
    ]);
    expect(await matching({ artifactVerdict: "DANGEROUS" })).toEqual(["ranker:3"]);
    expect(await matching({ artifactVerdict: "SAFE" })).toEqual(["churn_100%:2"]);
    expect(await matching({ artifactFormat: "ONNX" })).toEqual(["churn_100%:2"]);
    expect(await matching({ artifactFormat: "PICKLE", artifactVerdict: "DANGEROUS" })).toEqual(["ranker:3"]);
    // Both conditions hold for one and the same artifact.
    expect(await matching({ artifactFormat: "PICKLE", artifactVerdict: "SAFE" })).toEqual([]);
  });

  it("filters by creator: principal id or display name as recorded", async () => {
    expect(await matching({ createdById: bot.id })).toEqual(["private-model:1"]);
    expect(await matching({ createdBy: "trainer-bot" })).toEqual(["private-model:1"]);
    const byAdmin = await matching({ createdById: adminId });
    expect(byAdmin).toHaveLength(7);
    expect(byAdmin).not.toContain("private-model:1");
    expect(await matching({ createdBy: LOCAL_ADMIN })).toEqual(byAdmin);
    expect(await matching({ createdBy: "nobody" })).toEqual([]);
  });

  it("finds text in the model's name or the version's description, ignoring case, wildcards taken literally", async () => {
    expect(await matching({ text: "FRAUD" })).toEqual([
      "fraud-detector:1",
      "fraud-detector:2",
      "fraud-detector:3",
    ]);
    expect(await matching({ text: "Recall" })).toEqual(["fraud-detector:2"]);
    // `%` and `_` match only themselves (as LIKE wildcards they would match everything).
    expect(await matching({ text: "%" })).toEqual(["churn_100%:1", "churn_100%:2", "fraud-detector:2"]);
    expect(await matching({ text: "_" })).toEqual(["churn_100%:1", "churn_100%:2", "fraud-detector:3"]);
    expect(await matching({ text: "100%" })).toEqual(["churn_100%:1", "churn_100%:2", "fraud-detector:2"]);
    expect(await matching({ text: "c_ll" })).toEqual([]); // "call" in "recall" under LIKE
    expect(await matching({ text: "e%t" })).toEqual([]); // "e…t" under LIKE
    expect(await matching({ text: "\\" })).toEqual([]);
    expect(await matching({ text: "'; DROP TABLE model_versions; --" })).toEqual([]);
    // PostgreSQL folds every letter; SQLite's LIKE only ASCII ones (documented).
    expect(await matching({ text: "ä first" })).toEqual(provider === "postgresql" ? ["churn_100%:1"] : []);
    expect(await matching({ text: "Ä first" })).toEqual(["churn_100%:1"]);
  });

  it("sorts by a metric, versions without it last (newest first), and answers 'the best auc in Staging'", async () => {
    const desc = await versions({ orderBy: { metric: "auc", direction: "DESC" }, first: 100 });
    expect(desc.totalCount).toBe(8);
    expect(desc.nodes.map(auc)).toEqual([1e300, 0.97, 0.95, 0.95, 0.91, 0.88, null, null]);
    expect(desc.keys.slice(0, 2)).toEqual(["ranker:1", "private-model:1"]);
    expect(desc.keys.slice(2, 4).sort()).toEqual(["churn_100%:2", "fraud-detector:2"]);
    // Without auc, newest first: ranker:3 was registered after fraud-detector:3.
    expect(desc.keys.slice(6)).toEqual(["ranker:3", "fraud-detector:3"]);
    const asc = await versions({ orderBy: { metric: "auc", direction: "ASC" }, first: 100 });
    expect(asc.nodes.map(auc)).toEqual([0.88, 0.91, 0.95, 0.95, 0.97, 1e300, null, null]);
    // Ties are broken by id, so both directions list the tied pair in opposite orders.
    expect(asc.keys.slice(2, 4)).toEqual(desc.keys.slice(2, 4).reverse());
    expect(asc.keys.slice(6)).toEqual(desc.keys.slice(6));

    const best = await versions({
      filter: { stage: "STAGING" },
      orderBy: { metric: "auc", direction: "DESC" },
      first: 1,
    });
    expect(best.keys).toEqual(["fraud-detector:2"]);
    expect(best.totalCount).toBe(3);
    expect(best.pageInfo.hasNextPage).toBe(true);

    const thresholded = await versions({
      filter: { metrics: [{ key: "auc", gte: 0.9, lt: 1 }] },
      orderBy: { metric: "auc", direction: "DESC" },
      first: 100,
    });
    expect(thresholded.nodes.map(auc)).toEqual([0.97, 0.95, 0.95, 0.91]);
    expect(thresholded.totalCount).toBe(4);
  });

  it("pages through a metric order forwards and backwards without losing or repeating a version", async () => {
    const orderBy = { metric: "auc", direction: "DESC" };
    const all = (await versions({ orderBy, first: 100 })).keys;
    for (const size of [1, 2, 4]) {
      const forward: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page++) {
        const result = await versions({ orderBy, first: size, after });
        expect(result.totalCount).toBe(all.length);
        forward.push(...result.keys);
        if (!result.pageInfo.hasNextPage) break;
        after = result.pageInfo.endCursor;
      }
      expect(forward).toEqual(all);

      const backward: string[] = [];
      let before: string | undefined;
      for (let page = 0; page < 20; page++) {
        const result = await versions({ orderBy, last: size, before });
        backward.unshift(...result.keys);
        if (!result.pageInfo.hasPreviousPage) break;
        before = result.pageInfo.startCursor;
      }
      expect(backward).toEqual(all);
    }
  });

  it("filters models by a live version's stage, an alias, several tags and text", async () => {
    const models = async (filter: Record<string, unknown>) => {
      const data = await ok(MODELS, { filter });
      const connection = data.registeredModels as { totalCount: number; nodes: { name: string }[] };
      expect(connection.totalCount).toBe(connection.nodes.length);
      return connection.nodes.map((n) => n.name);
    };
    // ranker's only Staging version is deleted: it does not count.
    expect(await models({ stage: "STAGING" })).toEqual(["churn_100%", "fraud-detector"]);
    expect(await models({ stage: "PRODUCTION" })).toEqual(["ranker"]);
    expect(await models({ stage: "ARCHIVED" })).toEqual([]);
    expect(await models({ alias: "champion" })).toEqual(["fraud-detector"]);
    expect(
      await models({
        tags: [
          { key: "team", value: "risk" },
          { key: "tier", value: "gold" },
        ],
      }),
    ).toEqual(["fraud-detector"]);
    expect(await models({ tags: [{ key: "team", value: "risk" }] })).toEqual(["fraud-detector", "ranker"]);
    expect(await models({ text: "SCORING" })).toEqual(["fraud-detector"]);
    expect(await models({ text: "%" })).toEqual(["churn_100%"]);
    expect(await models({ text: "_" })).toEqual(["churn_100%"]);
    expect(await models({ text: "r_nk" })).toEqual([]);
    expect(await models({ nameContains: "_1" })).toEqual(["churn_100%"]);
    expect(await models({ text: "bot", stage: "NONE" })).toEqual(["private-model"]);
  });

  it("lists and counts only what the caller may read, in filters and the metric order alike", async () => {
    const search = {
      filter: { metrics: [{ key: "auc", gte: 0.5 }] },
      orderBy: { metric: "auc", direction: "DESC" },
    };
    expect((await versions({ ...search, first: 10 }, viewer.secret)).totalCount).toBe(0);
    await mutate("grantModelPermission", { name: "ranker", principalId: viewer.id, permission: "READ" });
    const seen = await versions({ orderBy: { metric: "auc", direction: "DESC" }, first: 10 }, viewer.secret);
    expect(seen.keys).toEqual(["ranker:1", "ranker:3"]);
    expect(seen.totalCount).toBe(2);
    const bots = await versions({ orderBy: { metric: "auc", direction: "DESC" }, first: 10 }, bot.secret);
    expect(bots.keys).toEqual(["private-model:1"]);
    const models = await ok(MODELS, { filter: { text: "r" } }, viewer.secret);
    expect(models.registeredModels).toEqual({ totalCount: 1, nodes: [{ name: "ranker" }] });
  });

  it("refuses what it cannot mean with BAD_USER_INPUT, naming the argument", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        `{ modelVersions(filter: { metrics: [{ key: "auc", gte: 1e999 }] }) { totalCount } }`,
        {},
        "filter.metrics.0.gte",
      ],
      [
        `{ modelVersions(filter: { metrics: [{ key: "auc", lt: -1e999 }] }) { nodes { version } } }`,
        {},
        "filter.metrics.0.lt",
      ],
      [
        VERSIONS,
        { filter: { metrics: Array.from({ length: 21 }, () => ({ key: "auc" })) } },
        "filter.metrics",
      ],
      [
        VERSIONS,
        { filter: { tags: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}` })) } },
        "filter.tags",
      ],
      [VERSIONS, { filter: { metrics: [{ key: "a".repeat(251) }] } }, "filter.metrics.0.key"],
      [VERSIONS, { filter: { metrics: [{ key: "" }] } }, "filter.metrics.0.key"],
      [VERSIONS, { filter: { tags: [{ key: "" }] } }, "filter.tags.0.key"],
      [VERSIONS, { filter: { text: "" } }, "filter.text"],
      [VERSIONS, { filter: { text: "x".repeat(257) } }, "filter.text"],
      [VERSIONS, { filter: { text: "\u{F0025}" } }, "filter.text"],
      [VERSIONS, { orderBy: { metric: "auc", field: "VERSION" } }, "orderBy"],
      [VERSIONS, { orderBy: { metric: "" } }, "orderBy.metric"],
      [MODELS, { filter: { text: "" } }, "filter.text"],
      [MODELS, { filter: { tags: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}` })) } }, "filter.tags"],
    ];
    for (const [query, variables, field] of cases) {
      const error = await refusal(query, variables);
      expect(error.extensions, `${field}: ${error.message}`).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
    // Text no database can hold is refused like every other argument of that kind.
    const nul = await refusal(VERSIONS, { filter: { text: "a\u0000b" } });
    expect(nul.extensions).toMatchObject({ code: "VALIDATION", field: "filter.text" });
  });
});
