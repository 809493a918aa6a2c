// MLflow's model-version RPCs over HTTP against a real server, on both providers: the wire format
// from fixtures written from MLflow's REST documentation (test/fixtures/mlflow/), the same versions
// GraphQL sees, stage transitions that archive, search with filters, order and page tokens, and
// hostile input.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { PREFIXES, allPages, call, fixture, freshName, get, play, post } from "../support/mlflow.ts";
import type { FixtureRequest } from "../support/mlflow.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";

describe.each(await providers())("MLflow model versions on %s", (provider) => {
  let server: TestServer;
  const api = (request: FixtureRequest) => call(server, PREFIXES[0], request);

  async function createVersion(name: string, source: string, extra: Record<string, unknown> = {}) {
    const created = await api(post("model-versions/create", { name, source, ...extra }));
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.model_version as Record<string, unknown>;
  }

  async function createModel(name: string) {
    expect((await api(post("registered-models/create", { name }))).status).toBe(200);
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(PREFIXES)("plays a version's lifecycle under %s", async (prefix) => {
    await play(server, prefix, fixture("modelVersionLifecycle").steps!, {
      model: freshName("life"),
      user: LOCAL_ADMIN,
    });
  });

  it("refuses bad requests with MLflow's error codes and statuses", async () => {
    const model = freshName("errors");
    await createModel(model);
    await createVersion(model, "s3://bucket/m/1");
    await play(server, PREFIXES[0], fixture("modelVersionErrors").cases!, { model });
    // None of the refused requests changed the version.
    const after = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(after.body.model_version).toMatchObject({ version: "1", current_stage: "None" });
    expect(after.body.model_version.tags).toBeUndefined();
    const versions = await api(get("model-versions/search", [["filter", `name = '${model}'`]]));
    expect(versions.body.model_versions).toHaveLength(1);
  });

  it("answers a create exactly as a get of the version answers it (tags in the same order)", async () => {
    const model = freshName("answer");
    await createModel(model);
    const created = await createVersion(model, "s3://bucket/m/1", {
      run_id: "run-1",
      description: "d",
      tags: ["b", "a", "B", "_z", "a2"].map((key) => ({ key, value: `v-${key}` })),
    });
    const got = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(created).toEqual(got.body.model_version);
    expect((created.tags as { key: string }[]).map((t) => t.key)).toEqual(["B", "_z", "a", "a2", "b"]);
  });

  it("creates the version GraphQL sees, and sees the versions GraphQL creates", async () => {
    const model = freshName("graphql");
    await createModel(model);
    const viaMlflow = await createVersion(model, "s3://bucket/m/1", {
      run_id: "run-7",
      tags: [{ key: "k", value: "v" }],
      description: "from mlflow",
    });
    const seen = await server.gql(
      `query($name: String!) { modelVersion(name: $name, version: 1) { version stage status source runId description createdAt createdBy tags { key value } } }`,
      { name: model },
    );
    expect(seen.data?.modelVersion).toEqual({
      version: 1,
      stage: "NONE",
      status: "READY",
      source: "s3://bucket/m/1",
      runId: "run-7",
      description: "from mlflow",
      createdAt: new Date(viaMlflow.creation_timestamp as number).toISOString(),
      createdBy: LOCAL_ADMIN,
      tags: [{ key: "k", value: "v" }],
    });

    const viaGraphql = await server.gql(
      `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { __typename } }`,
      { input: { name: model, source: "s3://bucket/m/2", runId: "run-8", description: "from graphql" } },
    );
    expect(viaGraphql.data?.createModelVersion.__typename).toBe("ModelVersionPayload");
    const got = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "2"],
      ]),
    );
    expect(got.body.model_version).toMatchObject({
      name: model,
      version: "2",
      current_stage: "None",
      status: "READY",
      source: "s3://bucket/m/2",
      run_id: "run-8",
      description: "from graphql",
    });
  });

  it("archives the previous Production version with archive_existing_versions", async () => {
    const model = freshName("archive");
    await createModel(model);
    await createVersion(model, "s3://bucket/m/1");
    await createVersion(model, "s3://bucket/m/2");
    const transition = (version: string, archive: boolean) =>
      api(
        post("model-versions/transition-stage", {
          name: model,
          version,
          stage: "PRODUCTION",
          archive_existing_versions: archive,
        }),
      );
    const first = await transition("1", false);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.model_version.current_stage).toBe("Production");
    const second = await transition("2", true);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.model_version.current_stage).toBe("Production");

    const old = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(old.body.model_version.current_stage).toBe("Archived");
    const seen = await server.gql(
      `query($name: String!) { registeredModel(name: $name) { versions { nodes { version stage } } } }`,
      { name: model },
    );
    const stages = Object.fromEntries(
      (seen.data?.registeredModel.versions.nodes as { version: number; stage: string }[]).map((v) => [
        v.version,
        v.stage,
      ]),
    );
    expect(stages).toEqual({ 1: "ARCHIVED", 2: "PRODUCTION" });
    const latest = await api(
      get("registered-models/get-latest-versions", [
        ["name", model],
        ["stages", "production"],
      ]),
    );
    expect(latest.body.model_versions.map((v: { version: string }) => v.version)).toEqual(["2"]);
  });

  it("answers the safety gate's refusal of Production as INVALID_PARAMETER_VALUE, and changes nothing", async () => {
    const model = freshName("gate");
    await createModel(model);
    const pending = await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
      { n: model },
    );
    expect(pending.data?.createModelVersion.__typename).toBe("ModelVersionPayload");
    const pickle = readFileSync(new URL("../fixtures/inspection/files/eval_p1.pkl", import.meta.url));
    const put = await fetch(`${server.url}/artifacts/${encodeURIComponent(model)}/1/model.pkl`, {
      method: "PUT",
      body: new Uint8Array(pickle),
    });
    expect(put.status).toBeLessThan(300);
    const finalized = await server.gql(
      `mutation($n: String!) { finalizeModelVersion(input: { name: $n, version: 1 }) { __typename } }`,
      { n: model },
    );
    expect(finalized.data?.finalizeModelVersion.__typename).toBe("ModelVersionPayload");

    const refused = await api(
      post("model-versions/transition-stage", {
        name: model,
        version: "1",
        stage: "Production",
        archive_existing_versions: false,
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error_code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("model.pkl"),
    });
    const after = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(after.body.model_version.current_stage).toBe("None");
    // Staging is not gated.
    const staged = await api(
      post("model-versions/transition-stage", { name: model, version: "1", stage: "Staging" }),
    );
    expect(staged.body.model_version?.current_stage).toBe("Staging");
  });

  it("answers a stage protected by a review policy as INVALID_STATE, and changes nothing", async () => {
    const model = freshName("review");
    await createModel(model);
    await createVersion(model, "s3://bucket/m/1");
    const reviewer = await createServiceAccount(
      (query, variables, headers) => server.gql(query, variables, headers),
      freshName("reviewer"),
    );
    const policy = await server.gql(
      `mutation($n: String!, $m: ID!) { setModelReviewPolicy(input: { name: $n, rules: [
        { stage: PRODUCTION, requiredApprovals: 1, reviewers: [{ principalId: $m }] }] }) { __typename } }`,
      { n: model, m: reviewer.id },
    );
    expect(policy.data?.setModelReviewPolicy.__typename, JSON.stringify(policy)).not.toMatch(/Error/);
    const refused = await api(
      post("model-versions/transition-stage", { name: model, version: "1", stage: "production" }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe("INVALID_STATE");
    const after = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(after.body.model_version.current_stage).toBe("None");
  });

  describe("search", () => {
    const group = freshName("search");
    const models = [`${group}-a`, `${group}-b`];
    const search = (query: [string, string][]) => api(get("model-versions/search", query));
    const idsOf = (body: { model_versions?: { name: string; version: string }[] }) =>
      (body.model_versions ?? []).map((v) => `${v.name.slice(group.length + 1)}/${v.version}`);
    const mine = `name LIKE '${group}-%'`;

    beforeAll(async () => {
      for (const model of models) {
        await createModel(model);
        for (const n of [1, 2, 3])
          await createVersion(model, `s3://bucket/${model}/${n}`, {
            run_id: `run-${n}`,
            tags: n === 2 ? [{ key: "tier", value: "Gold" }] : [],
          });
      }
    });

    it("filters on name, run_id (IN too), source_path, version_number and tags", async () => {
      const cases: [string, string[]][] = [
        [`name = '${group}-a'`, ["a/3", "a/2", "a/1"]],
        [`${mine} AND run_id IN ('run-1', 'run-3')`, ["a/3", "a/1", "b/3", "b/1"]],
        [`${mine} AND run_id != 'run-1'`, ["a/3", "a/2", "b/3", "b/2"]],
        [`source_path = 's3://bucket/${group}-b/2'`, ["b/2"]],
        [`${mine} AND source_path LIKE '%/3'`, ["a/3", "b/3"]],
        [`${mine} AND version_number = 2`, ["a/2", "b/2"]],
        [`${mine} AND version_number != '2'`, ["a/3", "a/1", "b/3", "b/1"]],
        [`${mine} AND version_number > 1`, ["a/3", "a/2", "b/3", "b/2"]],
        [`${mine} AND version_number >= 2 AND version_number < '3'`, ["a/2", "b/2"]],
        [`name = '${group}-a' AND version_number <= 1`, ["a/1"]],
        // Past the largest version number (PostgreSQL's integer): all versions are below, none at or above.
        [`${mine} AND version_number >= 999999999999999`, []],
        [`${mine} AND version_number = 2147483648`, []],
        [`${mine} AND version_number > 2147483647`, []],
        [`${mine} AND version_number < 3000000000`, ["a/3", "a/2", "a/1", "b/3", "b/2", "b/1"]],
        [`${mine} AND version_number <= 2147483648`, ["a/3", "a/2", "a/1", "b/3", "b/2", "b/1"]],
        [`${mine} AND tags.tier ILIKE 'gold'`, ["a/2", "b/2"]],
        [`${mine} AND tags.tier LIKE 'gold'`, []],
        [`${mine} AND name ILIKE '%-B'`, ["b/3", "b/2", "b/1"]],
      ];
      for (const [filter, expected] of cases) {
        const found = await search([["filter", filter]]);
        expect(found.status, filter).toBe(200);
        expect(idsOf(found.body), filter).toEqual(expected);
      }
    });

    it("orders by name, version_number and timestamps, both ways", async () => {
      const ordered = async (...orderBy: string[]) =>
        idsOf(
          (await search([["filter", mine], ...orderBy.map((o): [string, string] => ["order_by", o])])).body,
        );
      expect(await ordered("version_number ASC", "name DESC")).toEqual([
        "b/1",
        "a/1",
        "b/2",
        "a/2",
        "b/3",
        "a/3",
      ]);
      expect(await ordered("name DESC")).toEqual(["b/3", "b/2", "b/1", "a/3", "a/2", "a/1"]);
      expect(await ordered("creation_timestamp ASC")).toEqual(["a/1", "a/2", "a/3", "b/1", "b/2", "b/3"]);
      expect(await ordered("creation_timestamp DESC")).toEqual(["b/3", "b/2", "b/1", "a/3", "a/2", "a/1"]);
      const touched = await api(
        post("model-versions/set-tag", { name: models[0], version: "1", key: "touched", value: "1" }),
      );
      expect(touched.status).toBe(200);
      expect((await ordered("last_updated_timestamp DESC"))[0]).toBe("a/1");
    });

    it("pages and orders a search by exact name in the database as the filtering path does", async () => {
      // Only exact equalities, one on the name: answered by one page query (see pageInDatabase).
      const byName: [string, string] = ["filter", `name = '${group}-a'`];
      const { items, pages } = await allPages(search, [byName, ["max_results", "2"]], idsOf);
      expect(pages).toBe(2);
      expect(items).toEqual(["a/3", "a/2", "a/1"]);
      const ordered = async (filter: string, ...orderBy: string[]) =>
        idsOf(
          (await search([["filter", filter], ...orderBy.map((o): [string, string] => ["order_by", o])])).body,
        );
      expect(await ordered(`name = '${group}-a'`, "creation_timestamp ASC")).toEqual(["a/1", "a/2", "a/3"]);
      expect(await ordered(`name = '${group}-b'`, "version_number ASC")).toEqual(["b/1", "b/2", "b/3"]);
      expect(await ordered(`name = '${group}-b' AND tags.tier = 'Gold'`)).toEqual(["b/2"]);
      expect(await ordered(`name = '${group}-b' AND run_id = 'run-3'`)).toEqual(["b/3"]);
      expect(await ordered(`name = '${group}-b' AND tags.tier = 'gold'`)).toEqual([]);
      // A page that reaches the last version carries no token.
      const last = await search([byName, ["max_results", "3"]]);
      expect(last.body.next_page_token).toBeUndefined();
    });

    it("pages with opaque tokens bound to their query", async () => {
      const filter: [string, string] = ["filter", mine];
      const { items, pages } = await allPages(search, [filter, ["max_results", "4"]], idsOf);
      expect(pages).toBe(2);
      expect(items).toEqual(["a/3", "a/2", "a/1", "b/3", "b/2", "b/1"]);

      const first = await search([filter, ["max_results", "2"]]);
      for (const foreign of [
        [["filter", `${mine} AND run_id = 'run-1'`]],
        [filter, ["order_by", "name DESC"]],
      ] as [string, string][][]) {
        const other = await search([...foreign, ["page_token", first.body.next_page_token as string]]);
        expect(other.status).toBe(400);
        expect(other.body.error_code).toBe("INVALID_PARAMETER_VALUE");
      }
      // A registered-model search's token is not a version search's.
      const modelPage = await api(get("registered-models/search", [filter, ["max_results", "1"]]));
      const crossed = await search([filter, ["page_token", modelPage.body.next_page_token as string]]);
      expect(crossed.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("refuses hostile filters quickly and answers weird strings exactly", async () => {
      const huge = await search([["filter", `run_id IN (${"'x',".repeat(1050)}'y')`]]);
      expect(huge.status).toBe(400);
      expect(huge.body).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/4096/),
      });
      const many = await search([["filter", `run_id IN (${"'x',".repeat(150)}'y')`]]);
      expect(many.body).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/100/),
      });
      for (const filter of [
        "run_id = '\u0000\u202e\ud83d\ude00'",
        "source_path = '\u0000'",
        "tags.__proto__ = 'x'",
        "run_id IN ()",
        "run_id IN ('a'",
        "run_id IN ('a',)",
        "version_number = 99999999999999999999",
        "version_number = 'x'",
        "version_number > '-1'",
        "version_number LIKE '1'",
        "name > 'a'",
        "name = 'a' OR name = 'b'",
      ]) {
        const found = await search([["filter", filter]]);
        expect([200, 400], filter).toContain(found.status);
        if (found.status === 400) expect(found.body.error_code, filter).toBe("INVALID_PARAMETER_VALUE");
        else expect(found.body, filter).toEqual({});
      }
      const wrongTypes = await api({
        method: "POST",
        path: "model-versions/set-tag",
        body: { name: models[0], version: 1.5, key: "k", value: 3 },
      });
      expect(wrongTypes.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    });
  });
});

describe("MLflow version search by name for a caller who may not read every model", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Without a default permission a member reads only the models it was granted.
    server = await startTestServer("sqlite", { auth: { defaultModelPermission: null } });
  });
  afterAll(async () => server?.close());

  it("answers the versions of a granted model, and none of a model it may not read", async () => {
    const api = (request: FixtureRequest, headers: Record<string, string> = {}) =>
      call(server, PREFIXES[0], request, headers);
    const member = await createServiceAccount((...args) => server.gql(...args), freshName("reader"));
    const [granted, hidden] = [freshName("granted"), freshName("hidden")];
    for (const name of [granted, hidden]) {
      expect((await api(post("registered-models/create", { name }))).status).toBe(200);
      for (const n of [1, 2, 3])
        expect((await api(post("model-versions/create", { name, source: `s3://b/${n}` }))).status).toBe(200);
    }
    const grant = await server.gql(
      `mutation($input: GrantModelPermissionInput!) { grantModelPermission(input: $input) { __typename } }`,
      { input: { name: granted, principalId: member.id, permission: "READ" } },
    );
    expect(grant.errors).toBeUndefined();
    const search = (name: string) =>
      api(
        get("model-versions/search", [
          ["filter", `name = '${name}'`],
          ["max_results", "2"],
        ]),
        member.headers,
      );
    const seen = await search(granted);
    expect(seen.status).toBe(200);
    expect(seen.body.model_versions.map((v: { version: string }) => v.version)).toEqual(["3", "2"]);
    expect(seen.body.next_page_token).toEqual(expect.any(String));
    const unseen = await search(hidden);
    expect(unseen.status).toBe(200);
    expect(unseen.body).toEqual({});
  });
});
