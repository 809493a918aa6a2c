// MLflow's registered-model RPCs over HTTP against a real server, on both providers: the wire format
// from fixtures written from MLflow's REST documentation (test/fixtures/mlflow/), the same models
// GraphQL sees, search with filters, order and page tokens, hostile input, and authentication.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { PREFIXES, allPages, call, fixture, freshName, get, play, post } from "../support/mlflow.ts";
import type { FixtureRequest } from "../support/mlflow.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";

describe.each(await providers())("MLflow registered models on %s", (provider) => {
  let server: TestServer;
  const api = (request: FixtureRequest, headers?: Record<string, string>) =>
    call(server, PREFIXES[0], request, headers);

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(PREFIXES)("plays a model's lifecycle under %s", async (prefix) => {
    await play(server, prefix, fixture("registeredModelLifecycle").steps!, {
      model: freshName("life"),
      user: LOCAL_ADMIN,
    });
  });

  it("serves aliases and latest versions per stage", async () => {
    const model = freshName("alias");
    expect((await api(post("registered-models/create", { name: model }))).status).toBe(200);
    for (const [source, runId] of [
      ["s3://bucket/model/1", "run-1"],
      ["s3://bucket/model/2", null],
    ] as const) {
      const created = await server.gql(
        `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { __typename } }`,
        { input: { name: model, source, runId } },
      );
      expect(created.data?.createModelVersion.__typename).toBe("ModelVersionPayload");
    }
    const moved = await server.gql(
      `mutation { transitionModelVersionStage(input: { name: "${model}", version: 1, stage: STAGING }) { __typename } }`,
    );
    expect(moved.data?.transitionModelVersionStage.__typename, JSON.stringify(moved)).toBe(
      "ModelVersionPayload",
    );
    await play(server, PREFIXES[1], fixture("registeredModelAliases").steps!, { model, user: LOCAL_ADMIN });
  });

  it("refuses bad requests with MLflow's error codes and statuses", async () => {
    const model = freshName("errors");
    expect((await api(post("registered-models/create", { name: model }))).status).toBe(200);
    await play(server, PREFIXES[0], fixture("registeredModelErrors").cases!, { model });
    // The forged POST changed nothing.
    const after = await api(get("registered-models/get", [["name", model]]));
    expect(after.body.registered_model.tags).toBeUndefined();
  });

  it("creates the same model GraphQL sees, and sees the models GraphQL creates", async () => {
    const viaMlflow = freshName("to-graphql");
    const created = await api(
      post("registered-models/create", { name: viaMlflow, tags: [{ key: "k", value: "v" }] }),
    );
    const seen = await server.gql(
      `query($name: String!) { registeredModel(name: $name) { name createdAt createdBy tags { key value } } }`,
      { name: viaMlflow },
    );
    expect(seen.data?.registeredModel).toEqual({
      name: viaMlflow,
      createdAt: new Date(created.body.registered_model.creation_timestamp as number).toISOString(),
      createdBy: LOCAL_ADMIN,
      tags: [{ key: "k", value: "v" }],
    });
    // The MLflow call appended the same event a GraphQL mutation appends.
    const history = await server.gql(`query($name: String!) { history(name: $name) { nodes { type } } }`, {
      name: viaMlflow,
    });
    expect(history.data?.history.nodes).toEqual([{ type: "RegisteredModelCreated" }]);

    const viaGraphql = freshName("from-graphql");
    await server.gql(
      `mutation($input: CreateRegisteredModelInput!) { createRegisteredModel(input: $input) { __typename } }`,
      { input: { name: viaGraphql, description: "made in GraphQL" } },
    );
    const got = await api(get("registered-models/get", [["name", viaGraphql]]));
    expect(got.body.registered_model).toMatchObject({ name: viaGraphql, description: "made in GraphQL" });
  });

  describe("search", () => {
    const group = freshName("search");
    const names = ["alpha", "Beta", "gamma", "delta", "epsilon"].map((n) => `${group}-${n}`);
    const search = (query: [string, string][]) => api(get("registered-models/search", query));
    const namesOf = (body: { registered_models?: { name: string }[] }) =>
      (body.registered_models ?? []).map((m) => m.name);

    beforeAll(async () => {
      for (const [i, name] of names.entries()) {
        const tags = [{ key: "tier", value: i % 2 === 0 ? "gold" : "silver" }];
        if (i === 2) tags.push({ key: "odd key", value: "yes" });
        expect((await api(post("registered-models/create", { name, tags }))).status).toBe(200);
      }
    });

    it("filters with =, !=, LIKE and ILIKE on names and tags, AND-joined", async () => {
      const cases: [string, string[]][] = [
        [`name = '${group}-gamma'`, [names[2]!]],
        [`name LIKE '${group}-%a'`, [names[0]!, names[1]!, names[2]!, names[3]!]],
        [`name LIKE '${group}-b%'`, []],
        [`name ILIKE '${group}-b%'`, [names[1]!]],
        [`name LIKE '${group}-_eta'`, [names[1]!]],
        [`name LIKE "${group}-%" AND tags.tier = 'gold'`, [names[0]!, names[2]!, names[4]!]],
        [`name LIKE '${group}-%' and tags.tier != "gold"`, [names[1]!, names[3]!]],
        [`name LIKE '${group}-%' AND tags.\`odd key\` = 'yes'`, [names[2]!]],
        [`name LIKE '${group}-%' AND \`tags.tier\` ILIKE 'SIL%'`, [names[1]!, names[3]!]],
        [`name != '${group}-alpha' AND name LIKE '${group}%'`, names.slice(1).sort()],
      ];
      for (const [filter, expected] of cases) {
        const found = await search([["filter", filter]]);
        expect(found.status, filter).toBe(200);
        expect(namesOf(found.body).sort(), filter).toEqual([...expected].sort());
      }
    });

    it("orders by name or last update, both ways", async () => {
      const filter: [string, string] = ["filter", `name LIKE '${group}-%'`];
      const byName = await search([filter, ["order_by", "name DESC"]]);
      expect(namesOf(byName.body)).toEqual([...names].sort().reverse());
      // The last one created was updated last.
      const byTime = await search([
        filter,
        ["order_by", "last_updated_timestamp DESC"],
        ["order_by", "name"],
      ]);
      expect(namesOf(byTime.body)[0]).toBe(names[4]);
      const byAlias = await search([filter, ["order_by", "timestamp ASC"]]);
      expect(namesOf(byAlias.body)[0]).toBe(names[0]);
    });

    it("pages with opaque tokens bound to their query", async () => {
      const filter: [string, string] = ["filter", `name LIKE '${group}-%'`];
      const { items, pages } = await allPages(search, [filter, ["max_results", "2"]], namesOf);
      expect(pages).toBe(3);
      expect(items).toEqual([...names].sort());

      const first = await search([filter, ["max_results", "2"]]);
      const other = await search([
        ["filter", `name LIKE '${group}-%' AND tags.tier = 'gold'`],
        ["page_token", first.body.next_page_token as string],
      ]);
      expect(other.status).toBe(400);
      expect(other.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("reads max_results as MLflow does: decimal digits only", async () => {
      for (const given of ["0x10", "1e3", "1.0", " 5", "5 ", "+5", "-1", "0", ""]) {
        const refused = await search([["max_results", given]]);
        expect({ status: refused.status, code: refused.body.error_code }, given).toEqual({
          status: 400,
          code: "INVALID_PARAMETER_VALUE",
        });
      }
      expect((await search([["max_results", "5"]])).status).toBe(200);
    });

    it("refuses hostile filters quickly and answers weird strings exactly", async () => {
      const huge = await search([["filter", `name LIKE '${"%".repeat(5000)}'`]]);
      expect(huge.status).toBe(400);
      expect(huge.body).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/4096/),
      });
      // The worst case of the wildcard matcher within the bound still answers.
      const wild = await search([["filter", `name LIKE '${"%_".repeat(1000)}x'`]]);
      expect(wild.status).toBe(200);
      for (const filter of [
        "name = '\u0000\u202e\ud83d\ude00'",
        'name = "\'"',
        "tags.__proto__ = 'x'",
        "name LIKE '%' AND AND",
        "name IN ('a')",
        "name = 'a' OR name = 'b'",
        "((((",
      ]) {
        const found = await search([["filter", filter]]);
        expect([200, 400], filter).toContain(found.status);
        if (found.status === 400) expect(found.body.error_code, filter).toBe("INVALID_PARAMETER_VALUE");
        else expect(found.body, filter).toEqual({});
      }
    });
  });

  it("keeps tag values of MLflow's 5,000 characters, on both databases", async () => {
    // 5,000 random bytes, which compression cannot shrink: past what a PostgreSQL btree entry holds
    // (it answered 500).
    const value = randomBytes(3750).toString("base64");
    const model = freshName("longtag");
    expect((await api(post("registered-models/create", { name: model }))).status).toBe(200);
    expect((await api(post("registered-models/set-tag", { name: model, key: "k", value }))).status).toBe(200);
    const created = await api(post("model-versions/create", { name: model, source: "s3://b/m" }));
    expect(created.status).toBe(200);
    const tagged = await api(post("model-versions/set-tag", { name: model, version: "1", key: "k", value }));
    expect(tagged.status).toBe(200);
    const got = await api(get("registered-models/get", [["name", model]]));
    expect(got.body.registered_model.tags).toEqual([{ key: "k", value }]);
    const version = await api(
      get("model-versions/get", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    expect(version.body.model_version.tags).toEqual([{ key: "k", value }]);
  });

  it("treats __proto__ and constructor as plain fields, never as object keys", async () => {
    const model = freshName("proto");
    const raw = `{"__proto__": {"name": "polluted"}, "constructor": {"prototype": {"x": 1}}, "name": "${model}", "tags": [{"key": "k", "value": "v", "__proto__": {"key": "z"}}]}`;
    const created = await api({ method: "POST", path: "registered-models/create", rawBody: raw });
    expect(created.status).toBe(200);
    expect(created.body.registered_model.tags).toEqual([{ key: "k", value: "v" }]);
    // Registro reserves these tag keys (a documented difference from MLflow).
    const reserved = await api(
      post("registered-models/set-tag", { name: model, key: "__proto__", value: "v" }),
    );
    expect(reserved.status).toBe(400);
    expect(reserved.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(({} as Record<string, unknown>).name).toBeUndefined();
    const onlyProto = await api({
      method: "POST",
      path: "registered-models/create",
      rawBody: '{"__proto__": {"name": "x"}}',
    });
    expect(onlyProto.body.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("answers HEAD on a GET endpoint with GET's status and headers, no body; Allow names HEAD", async () => {
    const model = freshName("head");
    expect((await api(post("registered-models/create", { name: model }))).status).toBe(200);
    const head = (name: string) =>
      fetch(`${server.url}${PREFIXES[0]}registered-models/get?name=${encodeURIComponent(name)}`, {
        method: "HEAD",
      });
    const found = await head(model);
    expect([found.status, found.headers.get("content-type")]).toEqual([
      200,
      "application/json; charset=utf-8",
    ]);
    expect(await found.text()).toBe("");
    expect((await head(freshName("missing"))).status).toBe(404);
    const wrong = await fetch(`${server.url}${PREFIXES[0]}registered-models/create`, { method: "HEAD" });
    expect([wrong.status, wrong.headers.get("allow")]).toEqual([405, "POST"]);
    const put = await fetch(`${server.url}${PREFIXES[0]}registered-models/get`, { method: "PUT" });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
  });

  it("refuses bodies over 1 MiB", async () => {
    const big = await api(
      post("registered-models/create", { name: "x", description: "d".repeat(1024 * 1024 + 1) }),
    );
    expect(big.status).toBe(400);
    expect(big.body.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("accepts a token as Bearer and as Basic's password, and answers bad credentials in MLflow's shape", async () => {
    const account = await createServiceAccount((...args) => server.gql(...args), freshName("mlflow-client"));
    const token = account.headers.authorization!.slice("Bearer ".length);
    const model = freshName("auth");
    const asBearer = await api(post("registered-models/create", { name: model }), account.headers);
    expect(asBearer.body.registered_model.user_id).toMatch(/^mlf-mlflow-client/);
    const basic = `Basic ${Buffer.from(`ignored-user:${token}`).toString("base64")}`;
    const asBasic = await api(get("registered-models/get", [["name", model]]), { authorization: basic });
    expect(asBasic.status).toBe(200);
    expect(asBasic.body.registered_model.name).toBe(model);
    // The member may not change a model it was given no permission on: MLflow's PERMISSION_DENIED.
    const adminModel = freshName("not-theirs");
    await api(post("registered-models/create", { name: adminModel }));
    const denied = await api(post("registered-models/set-tag", { name: adminModel, key: "k", value: "v" }), {
      authorization: basic,
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error_code).toBe("PERMISSION_DENIED");
    const wrong = await api(get("registered-models/get", [["name", model]]), {
      authorization: `Basic ${Buffer.from("user:rgo_not_a_real_token").toString("base64")}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({
      error_code: "UNAUTHENTICATED",
      message: expect.stringMatching(/not accepted/),
    });
  });
});

describe("MLflow without credentials where they are required", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", { auth: { mode: "required" } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers 401 with MLflow's error body on both prefixes, and the server's elsewhere", async () => {
    for (const prefix of PREFIXES) {
      const answer = await call(server, prefix, get("registered-models/search"));
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        error_code: "UNAUTHENTICATED",
        message: expect.stringMatching(/authentication required/),
      });
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    const other = await fetch(`${server.url}/artifacts/x/1/y`);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
  });
});
