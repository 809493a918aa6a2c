// MLflow's tracking calls over HTTP against one real server per provider: the exact requests an
// MLflow 2.x and an MLflow 3.x client make from `start_run` through `log_model` to
// `register_model` (fixtures in test/fixtures/mlflow/), MLflow's limits and error codes, hostile
// keys, and who may write.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { PREFIXES, call, fixture, freshName, get, play, post } from "../support/mlflow.ts";
import type { FixtureRequest } from "../support/mlflow.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";

describe.each(await providers())("MLflow tracking on %s", (provider) => {
  let server: TestServer;
  const api = (request: FixtureRequest, headers?: Record<string, string>) =>
    call(server, PREFIXES[0], request, headers);
  const patch = (path: string, body: unknown): FixtureRequest => ({ method: "PATCH", path, body });

  async function newRun(experimentId = "0") {
    const created = await api(post("runs/create", { experiment_id: experimentId, start_time: 1 }));
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.run.info.run_id as string;
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(PREFIXES)("replays an MLflow 2.x client's log_model → register_model under %s", async (prefix) => {
    await play(server, prefix, fixture("trackingMlflow2LogModel").steps!, { experiment: freshName("exp2") });
  });

  it("replays an MLflow 3.x client's log_model → register_model, logged models included", async () => {
    const vars: Record<string, string> = { run_name: freshName("run3"), registered: freshName("reg3") };
    await play(server, PREFIXES[1], fixture("trackingMlflow3LogModel").steps!, vars);
    // The client's own search: the run's experiment, unfiltered, a page at a time.
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await api(
        post("logged-models/search", { experiment_ids: ["0"], ...(token ? { page_token: token } : {}) }),
      );
      expect(page.status).toBe(200);
      found.push(...(page.body.models ?? []).map((m: any) => m.info.model_id));
      token = page.body.next_page_token;
    } while (token !== undefined);
    expect(found).toContain(vars.model_id);
    // A tag the client no longer wants, and params logged on the model later.
    expect(
      (await api({ method: "DELETE", path: `logged-models/${vars.model_id}/tags/mlflow.user` })).status,
    ).toBe(200);
    expect(
      (
        await api(
          post(`logged-models/${vars.model_id}/params`, {
            model_id: vars.model_id,
            params: [{ key: "seed", value: "7" }],
          }),
        )
      ).status,
    ).toBe(200);
    const model = await api(get(`logged-models/${vars.model_id}`));
    expect(model.body.model.info.tags.map((t: any) => t.key)).not.toContain("mlflow.user");
    expect(model.body.model.data.params).toContainEqual({ key: "seed", value: "7" });
  });

  it("answers MLflow's error codes for missing and malformed ids", async () => {
    const unknownRun = "0123456789abcdef0123456789abcdef";
    const cases: [FixtureRequest, number, string, RegExp][] = [
      [
        get("runs/get", [["run_id", unknownRun]]),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        /Run with id=0123.* not found/,
      ],
      [get("runs/get", [["run_id", "../../etc"]]), 400, "INVALID_PARAMETER_VALUE", /Invalid run ID/],
      [get("runs/get"), 400, "INVALID_PARAMETER_VALUE", /required parameter 'run_id'/],
      [get("experiments/get", [["experiment_id", "abc"]]), 400, "INVALID_PARAMETER_VALUE", /decimal/],
      [get("experiments/get", [["experiment_id", "987654"]]), 404, "RESOURCE_DOES_NOT_EXIST", /id=987654/],
      [get("logged-models/m-0123456789abcdef0123456789abcdef"), 404, "RESOURCE_DOES_NOT_EXIST", /not found/],
      [get("logged-models/not-a-model"), 404, "RESOURCE_DOES_NOT_EXIST", /not found/],
      [get("logged-models/%E0%A4%A"), 400, "INVALID_PARAMETER_VALUE", /Malformed path parameter/],
      [post("runs/log-batch", { run_id: unknownRun }), 404, "RESOURCE_DOES_NOT_EXIST", /not found/],
      [{ method: "PATCH", path: "logged-models/search", body: {} }, 405, "BAD_REQUEST", /use POST/],
      [{ method: "GET", path: "runs/search" }, 404, "ENDPOINT_NOT_FOUND", /No API endpoint/],
      [
        post("experiments/create", { name: "x", artifact_location: "s3://elsewhere" }),
        400,
        "INVALID_PARAMETER_VALUE",
        /chosen by Registro/,
      ],
      [post("experiments/create", { name: "" }), 400, "INVALID_PARAMETER_VALUE", /non-empty/],
    ];
    for (const [request, status, code, message] of cases) {
      const answer = await api(request);
      expect({ status: answer.status, code: answer.body.error_code }, request.path).toEqual({ status, code });
      expect(answer.body.message).toMatch(message);
    }
    const name = freshName("dup");
    expect((await api(post("experiments/create", { name }))).status).toBe(200);
    const again = await api(post("experiments/create", { name }));
    expect({ status: again.status, code: again.body.error_code }).toEqual({
      status: 400,
      code: "RESOURCE_ALREADY_EXISTS",
    });
  });

  it("enforces MLflow's limits with INVALID_PARAMETER_VALUE and writes nothing of a refused batch", async () => {
    const runId = await newRun();
    const metric = (i: number) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 });
    const refusals: [unknown, RegExp][] = [
      [{ metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }, /at most 1000 metrics/],
      [
        { params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "v" })) },
        /at most 100 params/,
      ],
      [{ tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: "v" })) }, /at most 100 tags/],
      [
        {
          metrics: Array.from({ length: 950 }, (_, i) => metric(i)),
          params: Array.from({ length: 51 }, (_, i) => ({ key: `p${i}`, value: "v" })),
        },
        /at most 1000 total/,
      ],
      [{ params: [{ key: "long", value: "x".repeat(6001) }] }, /exceeded length limit of 6000/],
      [{ tags: [{ key: "long", value: "x".repeat(8001) }] }, /exceeded length limit of 8000/],
      [{ params: [{ key: "k".repeat(251), value: "v" }] }, /maximum length of 250/],
      [{ params: [{ key: "../escape", value: "v" }] }, /must not resolve to other names/],
      [{ tags: [{ key: "bad\u0001key", value: "v" }] }, /Invalid tag name/],
      [{ tags: [{ key: "bad\u0000key", value: "v" }] }, /'tags\.0\.key': must not contain NUL/],
      [{ params: [{ key: "k", value: "lone \ud800" }] }, /'params\.0\.value': .*unpaired UTF-16 surrogates/],
      [{ metrics: [{ key: "m", value: "lots", timestamp: 1 }] }, /valid double/],
      [{ metrics: [{ key: "m", value: 1, timestamp: "soon" }] }, /not an integer/],
      [
        {
          metrics: [
            metric(1),
            { key: "m", value: 1, timestamp: 1, model_id: "m-0123456789abcdef0123456789abcdef" },
          ],
        },
        /not found/,
      ],
      [
        {
          params: [
            { key: "a", value: "1" },
            { key: "a", value: "2" },
          ],
        },
        /Duplicate parameter keys/,
      ],
    ];
    for (const [batch, message] of refusals) {
      const answer = await api(post("runs/log-batch", { run_id: runId, ...(batch as object) }));
      expect(answer.status, String(message)).toBeGreaterThanOrEqual(400);
      expect(answer.status, String(message)).toBeLessThan(500);
      expect(answer.body.message).toMatch(message);
    }
    const untouched = await api(get("runs/get", [["run_id", runId]]));
    expect(untouched.body.run.data.metrics).toBeUndefined();
    expect(untouched.body.run.data.params).toBeUndefined();

    // A param never changes value; logging the same value again is fine.
    expect((await api(post("runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" }))).status).toBe(
      200,
    );
    expect((await api(post("runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" }))).status).toBe(
      200,
    );
    const changed = await api(post("runs/log-parameter", { run_id: runId, key: "lr", value: "0.2" }));
    expect({ status: changed.status, code: changed.body.error_code }).toEqual({
      status: 400,
      code: "INVALID_PARAMETER_VALUE",
    });
    expect(changed.body.message).toMatch(/Changing param values is not allowed/);
  });

  it("refuses text no database can hold (NUL, unpaired surrogates) in every string, on every RPC", async () => {
    const runId = await newRun();
    const refused: FixtureRequest[] = [
      post("runs/create", { experiment_id: "0", run_name: "a\u0000b" }),
      post("experiments/create", { name: `${freshName("sur")}\ud800` }),
      post("runs/set-tag", { run_id: runId, key: "k", value: "\udfff" }),
      post("runs/log-parameter", { run_id: runId, key: "k", value: "a\u0000" }),
      post("runs/update", { run_id: runId, run_name: "\ud800x" }),
      post("logged-models", { experiment_id: "0", name: "m\u0000" }),
      post("logged-models/search", { experiment_ids: ["0"], filter: "name = 'a\u0000b'" }),
      post("registered-models/create", { name: "m\u0000" }),
      post("model-versions/create", { name: "m", source: "s3://b/m", run_id: "a\u0000b" }),
      get("registered-models/get", [["name", "a\u0000b"]]),
      // (A query string cannot carry a lone surrogate: percent-encoding is UTF-8's.)
      post("registered-models/get-latest-versions", { name: "a\ud800b" }),
      get("model-versions/get", [
        ["name", "a\u0000b"],
        ["version", "1"],
      ]),
      get("experiments/get-by-name", [["experiment_name", "a\u0000b"]]),
    ];
    for (const request of refused) {
      const answer = await api(request);
      const label = `${request.method} ${request.path} ${JSON.stringify(request.body ?? request.query)}`;
      expect({ status: answer.status, code: answer.body.error_code }, label).toEqual({
        status: 400,
        code: "INVALID_PARAMETER_VALUE",
      });
      expect(answer.body.message, label).toMatch(/must not contain (NUL|unpaired UTF-16 surrogates)/);
    }
    // Nothing of it was stored: the run kept its name, and has no tag or param.
    const run = (await api(get("runs/get", [["run_id", runId]]))).body.run;
    expect(run.data.tags ?? []).not.toContainEqual(expect.objectContaining({ key: "k" }));
    expect(run.data.params).toBeUndefined();
  });

  it("cuts a metric's dataset name at 500 units without splitting a character", async () => {
    const runId = await newRun();
    const name = `${"a".repeat(499)}\u{1f600}`;
    const logged = await api(
      post("runs/log-metric", { run_id: runId, key: "m", value: 1, timestamp: 1, dataset_name: name }),
    );
    expect(logged.status).toBe(200);
    const history = await api(
      get("metrics/get-history", [
        ["run_id", runId],
        ["metric_key", "m"],
      ]),
    );
    expect(history.body.metrics[0].dataset_name).toBe("a".repeat(499));
  });

  it("stores hostile keys as data and keeps a metric's history", async () => {
    const runId = await newRun();
    const hostile = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    const logged = await api(
      post("runs/log-batch", {
        run_id: runId,
        params: hostile.map((key) => ({ key, value: `p-${key}` })),
        tags: hostile.map((key) => ({ key, value: `t-${key}` })),
        metrics: [
          ...hostile.map((key) => ({ key, value: 1, timestamp: 10, step: 0 })),
          { key: "loss", value: 3, timestamp: 10, step: 0 },
          { key: "loss", value: "NaN", timestamp: 11, step: 1 },
          { key: "loss", value: 1.5, timestamp: 12, step: 2 },
          { key: "loss", value: 1.5, timestamp: 12, step: 2 },
        ],
      }),
    );
    expect(logged.status, JSON.stringify(logged.body)).toBe(200);
    const run = await api(get("runs/get", [["run_id", runId]]));
    for (const key of hostile) {
      expect(run.body.run.data.params).toContainEqual({ key, value: `p-${key}` });
      expect(run.body.run.data.tags).toContainEqual({ key, value: `t-${key}` });
    }
    expect(run.body.run.data.metrics).toContainEqual({ key: "loss", value: 1.5, timestamp: 12, step: 2 });
    const history = await api(
      get("metrics/get-history", [
        ["run_id", runId],
        ["metric_key", "loss"],
        ["max_results", "2"],
      ]),
    );
    expect(history.body.metrics.map((m: any) => m.value)).toEqual([3, "NaN"]);
    const rest = await api(
      get("metrics/get-history", [
        ["run_id", runId],
        ["metric_key", "loss"],
        ["max_results", "2"],
        ["page_token", history.body.next_page_token],
      ]),
    );
    // The value logged twice is one value of the history.
    expect(rest.body).toEqual({
      metrics: [{ key: "loss", value: 1.5, timestamp: 12, step: 2, run_id: runId }],
    });
    expect(Object.prototype.hasOwnProperty.call({}, "p-__proto__")).toBe(false);
    // Deleting a tag that is not there is MLflow's RESOURCE_DOES_NOT_EXIST.
    expect((await api(post("runs/delete-tag", { run_id: runId, key: "__proto__" }))).status).toBe(200);
    expect((await api(post("runs/delete-tag", { run_id: runId, key: "__proto__" }))).body.error_code).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );
  });

  it("gives a version registered with a tracked run's id the run's params and latest metrics", async () => {
    const runId = await newRun();
    const logged = await api(
      post("runs/log-batch", {
        run_id: runId,
        params: [
          { key: "lr", value: "0.01" },
          { key: "depth", value: "7" },
          { key: "__proto__", value: "left out" },
        ],
        metrics: [
          { key: "auc", value: 0.8, timestamp: 1, step: 0 },
          { key: "auc", value: 0.9, timestamp: 2, step: 1 },
          { key: "loss", value: 0.5, timestamp: 1, step: 0 },
          { key: "loss", value: "NaN", timestamp: 2, step: 1 },
        ],
      }),
    );
    expect(logged.status, JSON.stringify(logged.body)).toBe(200);
    const model = freshName("from-run");
    expect((await api(post("registered-models/create", { name: model }))).status).toBe(200);
    const created = await api(
      post("model-versions/create", { name: model, source: "s3://b/m", run_id: runId }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    // An id this registry does not track is recorded as text, as before: nothing to copy.
    const untracked = await api(
      post("model-versions/create", { name: model, source: "s3://b/m", run_id: "elsewhere" }),
    );
    expect(untracked.status).toBe(200);
    const seen = await server.gql(
      `query($name: String!) { registeredModel(name: $name) { versions { nodes { version runId params metrics { key value } } } } }`,
      { name: model },
    );
    const versions = seen.data.registeredModel.versions.nodes;
    const byNumber = new Map(versions.map((v: any) => [v.version, v]));
    // The latest auc (highest step), loss's latest value is NaN, which a version cannot hold: left out.
    expect(byNumber.get(1)).toEqual({
      version: 1,
      runId,
      params: { depth: "7", lr: "0.01" },
      metrics: [{ key: "auc", value: 0.9 }],
    });
    expect(byNumber.get(2)).toEqual({ version: 2, runId: "elsewhere", params: {}, metrics: [] });
  });

  it("refuses malformed logged-model and run requests", async () => {
    const runId = await newRun();
    const created = await api(post("logged-models", { experiment_id: "0", source_run_id: runId }));
    expect(created.status).toBe(200);
    const modelId = created.body.model.info.model_id as string;
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    const cases: [FixtureRequest, string, RegExp][] = [
      [
        patch(`logged-models/${modelId}`, { model_id: modelId, status: "LOGGED_MODEL_PENDING" }),
        "INVALID_PARAMETER_VALUE",
        /READY or/,
      ],
      [
        post("logged-models", { experiment_id: "0", source_run_id: "fedcba9876543210fedcba9876543210" }),
        "RESOURCE_DOES_NOT_EXIST",
        /not found/,
      ],
      [
        post("runs/outputs", {
          run_id: runId,
          models: [{ model_id: "m-ffffffffffffffffffffffffffffffff", step: 0 }],
        }),
        "RESOURCE_DOES_NOT_EXIST",
        /not found/,
      ],
      [
        post("runs/log-model", { run_id: runId, model_json: "{not json" }),
        "INVALID_PARAMETER_VALUE",
        /not valid JSON/,
      ],
      [
        post("runs/log-model", { run_id: runId, model_json: '{"artifact_path":"m"}' }),
        "INVALID_PARAMETER_VALUE",
        /missing mandatory fields/,
      ],
      [post("runs/update", { run_id: runId, status: "DONE" }), "INVALID_PARAMETER_VALUE", /not a run status/],
      [
        post("logged-models/search", { experiment_ids: ["0"], filter: "metrics.accuracy > 0.9" }),
        "INVALID_PARAMETER_VALUE",
        /Unsupported filter/,
      ],
      [post("logged-models/search", { experiment_ids: [] }), "INVALID_PARAMETER_VALUE", /at least one/],
    ];
    for (const [request, code, message] of cases) {
      const answer = await api(request);
      expect(answer.body.error_code, request.path).toBe(code);
      expect(answer.body.message).toMatch(message);
    }
  });

  it("refuses a model_json nested deeper than 64 levels", async () => {
    const runId = await newRun();
    const modelJson = (levels: number) =>
      `{"artifact_path":"a","flavors":{},"utc_time_created":"x","run_id":"y","d":${"[".repeat(levels)}${"]".repeat(levels)}}`;
    const history = async () =>
      (await api(get("runs/get", [["run_id", runId]]))).body.run.data.tags.find(
        (t: any) => t.key === "mlflow.log-model.history",
      )?.value as string | undefined;
    // The model object is one level, so 63 arrays inside it are the 64 levels GraphQL's JSON allows.
    expect((await api(post("runs/log-model", { run_id: runId, model_json: modelJson(63) }))).status).toBe(
      200,
    );
    for (const levels of [5000, 64]) {
      const refused = await api(post("runs/log-model", { run_id: runId, model_json: modelJson(levels) }));
      expect({ status: refused.status, code: refused.body.error_code }, String(levels)).toEqual({
        status: 400,
        code: "INVALID_PARAMETER_VALUE",
      });
      expect(refused.body.message).toMatch(/model_json must not nest objects and arrays more than 64 levels/);
    }
    expect(JSON.parse((await history())!)).toHaveLength(1);
  });

  it("refuses a run name over 250 characters however it is given", async () => {
    const runId = await newRun();
    const before = (await api(get("runs/get", [["run_id", runId]]))).body.run.info.run_name as string;
    const long = "n".repeat(251);
    const attempts: FixtureRequest[] = [
      post("runs/set-tag", { run_id: runId, key: "mlflow.runName", value: "n".repeat(5000) }),
      post("runs/set-tag", { run_id: runId, key: "mlflow.runName", value: long }),
      post("runs/log-batch", { run_id: runId, tags: [{ key: "mlflow.runName", value: long }] }),
      post("runs/update", { run_id: runId, run_name: long }),
      post("runs/create", { experiment_id: "0", tags: [{ key: "mlflow.runName", value: long }] }),
      post("runs/create", { experiment_id: "0", run_name: long }),
    ];
    for (const request of attempts) {
      const refused = await api(request);
      expect({ status: refused.status, code: refused.body.error_code }, request.path).toEqual({
        status: 400,
        code: "INVALID_PARAMETER_VALUE",
      });
      expect(refused.body.message).toMatch(/Run name exceeds the maximum length of 250/);
    }
    const after = await api(get("runs/get", [["run_id", runId]]));
    expect(after.body.run.info.run_name).toBe(before);
    expect(after.body.run.data.tags).toContainEqual({ key: "mlflow.runName", value: before });
    const longest = "n".repeat(250);
    expect(
      (await api(post("runs/set-tag", { run_id: runId, key: "mlflow.runName", value: longest }))).status,
    ).toBe(200);
    expect((await api(get("runs/get", [["run_id", runId]]))).body.run.info.run_name).toBe(longest);
  });

  it("renames a run from an mlflow.runName tag in log-batch, as set-tag does", async () => {
    const runId = await newRun();
    const batch = await api(
      post("runs/log-batch", {
        run_id: runId,
        tags: [
          { key: "mlflow.runName", value: "first" },
          { key: "team", value: "ml" },
          { key: "mlflow.runName", value: "batchname" },
        ],
      }),
    );
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    const run = (await api(get("runs/get", [["run_id", runId]]))).body.run;
    expect(run.info.run_name).toBe("batchname");
    expect(run.data.tags).toContainEqual({ key: "mlflow.runName", value: "batchname" });
    expect(run.data.tags).toContainEqual({ key: "team", value: "ml" });
  });

  it("lets any authenticated caller read and only callers who may register models write", async () => {
    const account = await createServiceAccount((...args) => server.gql(...args), freshName("reader"));
    const readOnly = await server.gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: account.id, name: "read-only", scopes: ["READ"] } },
    );
    const headers = { authorization: `Bearer ${readOnly.data.createApiToken.secret as string}` };
    const runId = await newRun();
    expect((await api(get("runs/get", [["run_id", runId]]), headers)).status).toBe(200);
    const refused = await api(post("runs/log-parameter", { run_id: runId, key: "a", value: "b" }), headers);
    expect({ status: refused.status, code: refused.body.error_code }).toEqual({
      status: 403,
      code: "PERMISSION_DENIED",
    });
    // Another member with a write token may write to a run it did not create (MLflow has no run ACL).
    const written = await api(
      post("runs/set-tag", { run_id: runId, key: "by", value: "member" }),
      account.headers,
    );
    expect(written.status).toBe(200);
    const anonymous = await fetch(new URL(`${PREFIXES[0]}runs/get?run_id=${runId}`, server.url), {
      headers: { authorization: "Bearer nope" },
    });
    expect(anonymous.status).toBe(401);
  });
});
