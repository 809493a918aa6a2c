// The registry over real HTTP, on both providers: every mutation, the queries frontends build on,
// and the typed errors clients branch on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const MODEL = `registeredModel { name description revision deleted tags { key value } aliases { alias version } }
  events { type revision actor { id displayName kind credential { kind tokenId jti issuer } } data }`;
const VERSION = `modelVersion { version stage status source runId description aliases deleted params
  tags { key value } metrics { key value } model { name } }
  archivedVersions { version stage }
  events { type revision data }`;

describe.each(await providers())("registry over HTTP on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  async function mutate(field: string, input: Record<string, unknown>, payloadType: string, payload: string) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${errorSelection(field)} ... on ${payloadType} { ${payload} } } }`,
      { input },
    );
    expect(result.errors).toBeUndefined();
    return result.data[field];
  }
  const modelMutation = (field: string, input: Record<string, unknown>) =>
    mutate(field, input, "RegisteredModelPayload", MODEL);
  const versionMutation = (field: string, input: Record<string, unknown>) =>
    mutate(field, input, "ModelVersionPayload", VERSION);

  it("registers a model, versions it, tags, promotes and aliases it, and reads it all back", async () => {
    const created = await modelMutation("createRegisteredModel", {
      name: "fraud-detector",
      description: "Card fraud",
      tags: [{ key: "team", value: "risk" }],
    });
    expect(created.__typename).toBe("RegisteredModelPayload");
    expect(created.registeredModel).toMatchObject({
      name: "fraud-detector",
      revision: 1,
      tags: [{ key: "team", value: "risk" }],
    });
    expect(created.events).toEqual([
      {
        type: "RegisteredModelCreated",
        revision: 1,
        actor: {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          displayName: LOCAL_ADMIN,
          kind: "USER",
          credential: { kind: "LOCAL", tokenId: null, jti: null, issuer: null },
        },
        data: expect.objectContaining({ name: "fraud-detector", tags: { team: "risk" } }),
      },
    ]);

    const v1 = await versionMutation("createModelVersion", {
      name: "fraud-detector",
      source: "s3://models/fraud/1",
      runId: "run-1",
      params: { lr: 0.01, layers: [64, 32] },
      metrics: [{ key: "auc", value: 0.91 }],
      tags: [{ key: "framework", value: "xgboost" }],
    });
    expect(v1.modelVersion).toMatchObject({
      version: 1,
      stage: "NONE",
      status: "READY",
      runId: "run-1",
      params: { lr: 0.01, layers: [64, 32] },
      metrics: [{ key: "auc", value: 0.91 }],
      model: { name: "fraud-detector" },
    });
    const v2 = await versionMutation("createModelVersion", {
      name: "fraud-detector",
      source: "s3://models/fraud/2",
    });
    expect(v2.modelVersion.version).toBe(2);

    await versionMutation("transitionModelVersionStage", {
      name: "fraud-detector",
      version: 1,
      stage: "PRODUCTION",
    });
    const promoted = await versionMutation("transitionModelVersionStage", {
      name: "fraud-detector",
      version: 2,
      stage: "PRODUCTION",
      comment: "better AUC",
      archiveExistingVersions: true,
    });
    expect(promoted.modelVersion.stage).toBe("PRODUCTION");
    expect(promoted.archivedVersions).toEqual([{ version: 1, stage: "ARCHIVED" }]);
    expect(promoted.events).toEqual([
      {
        type: "ModelVersionStageTransitioned",
        revision: 5,
        data: {
          version: 2,
          from: "None",
          to: "Production",
          comment: "better AUC",
          archived: [{ version: 1, from: "Production" }],
        },
      },
    ]);

    const aliased = await versionMutation("setRegisteredModelAlias", {
      name: "fraud-detector",
      version: 2,
      alias: "champion",
    });
    expect(aliased.modelVersion.aliases).toEqual(["champion"]);
    const moved = await versionMutation("setRegisteredModelAlias", {
      name: "fraud-detector",
      version: 1,
      alias: "champion",
    });
    expect(moved.events[0].data).toEqual({ alias: "champion", version: 1, previousVersion: 2 });

    await versionMutation("logModelVersionMetrics", {
      name: "fraud-detector",
      version: 2,
      metrics: [
        { key: "auc", value: 0.95 },
        { key: "f1", value: 0.7 },
      ],
    });
    await versionMutation("setModelVersionTag", {
      name: "fraud-detector",
      version: 2,
      key: "validated",
      value: "yes",
    });
    await versionMutation("deleteModelVersionTag", { name: "fraud-detector", version: 2, key: "validated" });
    await versionMutation("updateModelVersion", {
      name: "fraud-detector",
      version: 2,
      description: "retrained",
    });
    await modelMutation("setRegisteredModelTag", { name: "fraud-detector", key: "owner", value: "ana" });
    await modelMutation("deleteRegisteredModelTag", { name: "fraud-detector", key: "team" });
    await modelMutation("updateRegisteredModel", { name: "fraud-detector", description: "Card fraud v2" });

    const read = await server.gql(`{
      registeredModel(name: "fraud-detector") {
        id name description revision tags { key value } aliases { alias version modelVersion { version } }
        latestVersions { version stage }
        versions(first: 10) { totalCount: edges { node { version stage description metrics { key value } } } }
      }
      byAlias: modelVersionByAlias(name: "fraud-detector", alias: "champion") { version stage }
      one: modelVersion(name: "fraud-detector", version: 2) { version description tags { key } }
    }`);
    expect(read.errors).toBeUndefined();
    const model = read.data.registeredModel;
    expect(model).toMatchObject({
      name: "fraud-detector",
      description: "Card fraud v2",
      revision: 14,
      tags: [{ key: "owner", value: "ana" }],
      aliases: [{ alias: "champion", version: 1, modelVersion: { version: 1 } }],
      latestVersions: [
        { version: 1, stage: "ARCHIVED" },
        { version: 2, stage: "PRODUCTION" },
      ],
    });
    expect(model.versions.totalCount.map((e: any) => e.node.version)).toEqual([2, 1]);
    expect(model.versions.totalCount[0].node.metrics).toEqual([
      { key: "auc", value: 0.95 },
      { key: "f1", value: 0.7 },
    ]);
    expect(read.data.byAlias).toEqual({ version: 1, stage: "ARCHIVED" });
    expect(read.data.one).toEqual({ version: 2, description: "retrained", tags: [] });
    // A stage named 100,000 times is one stage (the list once passed the database's parameter limit).
    const repeated = await server.gql(
      `query($stages: [Stage!]) { registeredModel(name: "fraud-detector") { latestVersions(stages: $stages) { version } } }`,
      { stages: [...Array.from({ length: 100_000 }, () => "PRODUCTION"), "ARCHIVED"] },
    );
    expect(repeated.errors).toBeUndefined();
    expect(repeated.data.registeredModel.latestVersions).toEqual([{ version: 1 }, { version: 2 }]);

    const node = await server.gql(
      `query($id: ID!) { node(id: $id) { __typename ... on RegisteredModel { name } } }`,
      { id: model.id },
    );
    expect(node.data.node).toEqual({ __typename: "RegisteredModel", name: "fraud-detector" });
    // Every Node type's id, as served, finds its object again.
    const served = await server.gql(
      `{ registeredModel(name: "fraud-detector") { id versions(first: 1) { nodes { id version } } history(first: 1) { nodes { id position } } } }`,
    );
    const { id: modelId, versions, history } = served.data.registeredModel;
    const found = await server.gql(
      `query($ids: [ID!]!) { nodes(ids: $ids) { __typename
         ... on RegisteredModel { name } ... on ModelVersion { version } ... on RegistryEvent { position } } }`,
      { ids: [modelId, versions.nodes[0].id, history.nodes[0].id] },
    );
    expect(found.data.nodes).toEqual([
      { __typename: "RegisteredModel", name: "fraud-detector" },
      { __typename: "ModelVersion", version: versions.nodes[0].version },
      { __typename: "RegistryEvent", position: history.nodes[0].position },
    ]);
  });

  it("keeps the full history, oldest first, paginated", async () => {
    const page1 = await server.gql(
      `{ history(name: "fraud-detector", first: 3) { edges { cursor node { revision type actor { displayName } } } pageInfo { hasNextPage endCursor } } }`,
    );
    const types = page1.data.history.edges.map((e: any) => e.node.type);
    expect(types).toEqual(["RegisteredModelCreated", "ModelVersionCreated", "ModelVersionCreated"]);
    expect(page1.data.history.pageInfo.hasNextPage).toBe(true);
    const page2 = await server.gql(
      `query($after: String) { history(name: "fraud-detector", first: 100, after: $after) { nodes { revision } pageInfo { hasNextPage } } }`,
      {
        after: page1.data.history.pageInfo.endCursor,
      },
    );
    expect(page2.data.history.nodes.map((n: any) => n.revision)).toEqual(
      Array.from({ length: 11 }, (_, i) => i + 4),
    );
    expect(page2.data.history.pageInfo.hasNextPage).toBe(false);
    const onModel = await server.gql(
      `{ registeredModel(name: "fraud-detector") { history(first: 1) { nodes { type position occurredAt } } } }`,
    );
    expect(onModel.data.registeredModel.history.nodes[0].type).toBe("RegisteredModelCreated");
  });

  it("returns typed errors that name the field, the resource, or the revisions", async () => {
    const invalidName = await modelMutation("createRegisteredModel", { name: "a/b" });
    expect(invalidName).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field: "name" });
    const badTag = await modelMutation("createRegisteredModel", {
      name: "ok",
      tags: [{ key: "", value: "x" }],
    });
    expect(badTag).toMatchObject({ __typename: "ValidationError", field: "tags.0.key" });
    const duplicate = await modelMutation("createRegisteredModel", { name: "fraud-detector" });
    expect(duplicate).toMatchObject({
      __typename: "AlreadyExistsError",
      code: "ALREADY_EXISTS",
      resource: "RegisteredModel",
      key: "fraud-detector",
    });
    const missing = await versionMutation("createModelVersion", { name: "nope", source: "s3://x" });
    expect(missing).toMatchObject({ __typename: "NotFoundError", resource: "RegisteredModel", key: "nope" });
    const missingVersion = await versionMutation("transitionModelVersionStage", {
      name: "fraud-detector",
      version: 99,
      stage: "STAGING",
    });
    expect(missingVersion).toMatchObject({ __typename: "NotFoundError", resource: "ModelVersion" });
    const stale = await modelMutation("updateRegisteredModel", {
      name: "fraud-detector",
      description: "x",
      expectedRevision: 1,
    });
    expect(stale).toMatchObject({
      __typename: "ConcurrencyError",
      code: "CONCURRENCY_CONFLICT",
      expectedRevision: 1,
      actualRevision: 14,
    });
    const reserved = await versionMutation("setRegisteredModelAlias", {
      name: "fraud-detector",
      version: 1,
      alias: "latest",
    });
    expect(reserved).toMatchObject({ __typename: "ValidationError", field: "alias" });
    const infinite = await server.gql(
      `mutation { logModelVersionMetrics(input: {name: "fraud-detector", version: 1, metrics: [{key: "x", value: 1e400}]}) { __typename ... on ValidationError { field } } }`,
    );
    expect(infinite.data.logModelVersionMetrics).toEqual({
      __typename: "ValidationError",
      field: "metrics.0.value",
    });
    const pinned = await modelMutation("setRegisteredModelTag", {
      name: "fraud-detector",
      key: "k",
      value: "v",
      expectedRevision: 14,
    });
    expect(pinned.registeredModel.revision).toBe(15);
  });

  it("deletes and restores without losing anything, and never reuses version numbers", async () => {
    await modelMutation("createRegisteredModel", { name: "churn" });
    for (let i = 0; i < 3; i++)
      await versionMutation("createModelVersion", { name: "churn", source: `s3://churn/${i}` });
    await versionMutation("setRegisteredModelAlias", { name: "churn", version: 3, alias: "candidate" });
    const deleted = await versionMutation("deleteModelVersion", { name: "churn", version: 3 });
    expect(deleted.modelVersion).toMatchObject({ deleted: true, aliases: [] });
    expect(deleted.events[0].data).toEqual({ version: 3, removedAliases: ["candidate"] });
    const blocked = await versionMutation("transitionModelVersionStage", {
      name: "churn",
      version: 3,
      stage: "STAGING",
    });
    expect(blocked).toMatchObject({ __typename: "InvalidStateError", code: "INVALID_STATE" });
    const v4 = await versionMutation("createModelVersion", { name: "churn", source: "s3://churn/4" });
    expect(v4.modelVersion.version).toBe(4);
    const restored = await versionMutation("restoreModelVersion", { name: "churn", version: 3 });
    expect(restored.modelVersion.deleted).toBe(false);

    await modelMutation("deleteRegisteredModel", { name: "churn" });
    const gone = await server.gql(
      `{ registeredModels { nodes { name } } modelVersion(name: "churn", version: 1) { version } registeredModel(name: "churn") { deleted } }`,
    );
    expect(gone.data.registeredModels.nodes.map((n: any) => n.name)).not.toContain("churn");
    expect(gone.data.modelVersion).toBeNull();
    expect(gone.data.registeredModel).toEqual({ deleted: true });
    await modelMutation("createRegisteredModel", { name: "churn" });
    const clash = await modelMutation("restoreRegisteredModel", { name: "churn" });
    expect(clash).toMatchObject({ __typename: "AlreadyExistsError" });
    await modelMutation("renameRegisteredModel", { name: "churn", newName: "churn-new" });
    const back = await modelMutation("restoreRegisteredModel", { name: "churn" });
    expect(back.registeredModel).toMatchObject({ name: "churn", deleted: false });
    const versions = await server.gql(
      `{ registeredModel(name: "churn") { versions(includeDeleted: true) { nodes { version } } } }`,
    );
    expect(versions.data.registeredModel.versions.nodes.map((n: any) => n.version)).toEqual([4, 3, 2, 1]);
  });

  it("filters, sorts and paginates models and versions", async () => {
    for (const name of ["zeta", "alpha", "mid"]) {
      await modelMutation("createRegisteredModel", {
        name: `list-${name}`,
        tags: name === "mid" ? [{ key: "tier", value: "gold" }] : [],
      });
      await versionMutation("createModelVersion", {
        name: `list-${name}`,
        source: "s3://x",
        runId: `run-${name}`,
        tags: [{ key: "tier", value: name }],
      });
    }
    const byName = await server.gql(
      `{ registeredModels(filter: {nameContains: "list-"}, first: 2) { nodes { name } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(byName.data.registeredModels.nodes.map((n: any) => n.name)).toEqual(["list-alpha", "list-mid"]);
    const next = await server.gql(
      `query($after: String) { registeredModels(filter: {nameContains: "list-"}, first: 2, after: $after) { nodes { name } } }`,
      {
        after: byName.data.registeredModels.pageInfo.endCursor,
      },
    );
    expect(next.data.registeredModels.nodes.map((n: any) => n.name)).toEqual(["list-zeta"]);
    const desc = await server.gql(
      `{ registeredModels(filter: {nameContains: "list-"}, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { name } } }`,
    );
    expect(desc.data.registeredModels.nodes.map((n: any) => n.name)).toEqual([
      "list-mid",
      "list-alpha",
      "list-zeta",
    ]);
    const tagged = await server.gql(
      `{ registeredModels(filter: {tag: {key: "tier", value: "gold"}}) { nodes { name } } }`,
    );
    expect(tagged.data.registeredModels.nodes).toEqual([{ name: "list-mid" }]);
    const versions = await server.gql(
      `{ modelVersions(filter: {runId: "run-zeta"}) { nodes { version model { name } } } }`,
    );
    expect(versions.data.modelVersions.nodes).toEqual([{ version: 1, model: { name: "list-zeta" } }]);
    const prod = await server.gql(
      `{ modelVersions(filter: {name: "fraud-detector", stage: PRODUCTION}) { nodes { version } } }`,
    );
    expect(prod.data.modelVersions.nodes).toEqual([{ version: 2 }]);
    const byTag = await server.gql(
      `{ modelVersions(filter: {tag: {key: "tier", value: "alpha"}}) { nodes { model { name } } } }`,
    );
    expect(byTag.data.modelVersions.nodes).toEqual([{ model: { name: "list-alpha" } }]);
    const future = await server.gql(
      `{ modelVersions(filter: {createdAfter: "2999-01-01T00:00:00Z"}) { nodes { version } } }`,
    );
    expect(future.data.modelVersions.nodes).toEqual([]);
    const aliasFilter = await server.gql(
      `{ modelVersions(filter: {alias: "champion"}) { nodes { version model { name } } } }`,
    );
    expect(aliasFilter.data.modelVersions.nodes).toEqual([{ version: 1, model: { name: "fraud-detector" } }]);
  });

  it("answers hostile input with GraphQL errors, not crashes", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    const wrongType = await server.gql(
      `mutation { createRegisteredModel(input: {name: 42}) { __typename } }`,
    );
    expect(wrongType.errors?.length).toBeGreaterThan(0);
    const huge = await server.gql(`{ registeredModels(first: 100000) { nodes { name } } }`);
    expect(huge.errors?.[0]?.message ?? "").not.toMatch(/Unexpected error/);
    const control = await modelMutation("createRegisteredModel", { name: "bad\u0000name" });
    expect(control).toMatchObject({ __typename: "ValidationError", field: "name" });
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok" });
    const unknown = await fetch(`${server.url}/nope`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("NOT_FOUND");
  });
});
