// Artifact inspection end to end, on both providers: real fixture files uploaded over HTTP PUT and
// GraphQL multipart are recognised, summarised and graded before they are recorded; the version's
// signature is extracted; DANGEROUS/UNSCANNABLE artifacts gate Production and aliases unless a
// written override is given; re-inspection appends new events.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import { errorSelection } from "../support/mutationResult.ts";
import type { TestServer } from "../support/server.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`);

const ARTIFACT = `path format formatVersion producer { framework version } metadata verdict findings { severity message location } inspectedAt`;
const TENSOR = `name dtype shape { size symbol }`;
const SIGNATURE = `signature { source path inputs { ${TENSOR} } outputs { ${TENSOR} } }`;

describe.each(await providers())("artifact inspection on %s", (provider) => {
  let server: TestServer;
  let modelCount = 0;

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  const put = async (model: string, version: number, path: string, body: Buffer) => {
    const response = await fetch(`${server.url}/artifacts/${encodeURIComponent(model)}/${version}/${path}`, {
      method: "PUT",
      body: new Uint8Array(body),
    });
    return { status: response.status, json: await response.json() };
  };

  async function gqlOk(query: string, variables: Record<string, unknown>) {
    const result = await server.gql(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  async function pendingModel(): Promise<string> {
    const name = `inspected ${++modelCount}`;
    await gqlOk(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
      n: name,
    });
    const created = await gqlOk(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
      { n: name },
    );
    expect(created.createModelVersion.__typename).toBe("ModelVersionPayload");
    return name;
  }

  async function version(name: string, number = 1) {
    const data = await gqlOk(
      `query($n: String!, $v: Int!) { modelVersion(name: $n, version: $v) { stage aliases ${SIGNATURE} artifacts { ${ARTIFACT} } } }`,
      {
        n: name,
        v: number,
      },
    );
    return data.modelVersion;
  }

  async function history(name: string) {
    const data = await gqlOk(`query($n: String!) { history(name: $n, first: 200) { nodes { type data } } }`, {
      n: name,
    });
    return data.history.nodes as { type: string; data: any }[];
  }

  async function mutation(field: string, input: Record<string, unknown>) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const data = await gqlOk(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${errorSelection(field)}
        ... on ModelVersionPayload { modelVersion { stage aliases ${SIGNATURE} artifacts { path verdict inspectedAt } } events { type data } } } }`,
      { input },
    );
    return data[field];
  }

  it("recognises an ONNX upload, answers the PUT with the verdict, and extracts the version's signature", async () => {
    const name = await pendingModel();
    const uploaded = await put(name, 1, "model.onnx", fixture("model.onnx"));
    expect(uploaded.status).toBe(201);
    expect(uploaded.json.artifact).toMatchObject({
      format: "ONNX",
      formatVersion: "8",
      producer: { framework: "pytorch", version: "2.1.0" },
      verdict: "SAFE",
      findings: [],
      metadata: expect.objectContaining({ opsetImports: [{ domain: "", version: 17 }], parameterCount: 12 }),
      inspectedAt: expect.any(String),
    });
    expect(uploaded.json.signature).toMatchObject({ source: "INSPECTION", path: "model.onnx" });
    expect(uploaded.json.positions).toHaveLength(3);

    const v = await version(name);
    expect(v.artifacts).toEqual([
      expect.objectContaining({
        path: "model.onnx",
        format: "ONNX",
        formatVersion: "8",
        producer: { framework: "pytorch", version: "2.1.0" },
        verdict: "SAFE",
        findings: [],
        metadata: expect.objectContaining({ graphName: "main_graph", opTypes: { MatMul: 1, Relu: 1 } }),
      }),
    ]);
    expect(Date.parse(v.artifacts[0].inspectedAt)).toBeGreaterThan(0);
    expect(v.signature).toEqual({
      source: "INSPECTION",
      path: "model.onnx",
      inputs: [
        {
          name: "x",
          dtype: "float32",
          shape: [
            { size: null, symbol: "batch" },
            { size: 3, symbol: null },
          ],
        },
      ],
      outputs: [
        {
          name: "y",
          dtype: "float32",
          shape: [
            { size: null, symbol: "batch" },
            { size: 4, symbol: null },
          ],
        },
      ],
    });

    const events = await history(name);
    expect(events.map((e) => e.type).slice(-3)).toEqual([
      "ModelVersionArtifactAdded",
      "ModelVersionArtifactInspected",
      "ModelVersionSignatureSet",
    ]);
    expect(events.at(-2)!.data).toMatchObject({
      version: 1,
      path: "model.onnx",
      format: "ONNX",
      verdict: "SAFE",
      inspector: { version: expect.any(String) },
      sha256: uploaded.json.artifact.sha256,
    });
  });

  it("grades a malicious pickle DANGEROUS with located findings, reads safetensors and PMML, and fails closed on a truncated file", async () => {
    const name = await pendingModel();
    for (const [path, file] of [
      ["model.pkl", "os_system_p4.pkl"],
      ["weights/model.safetensors", "model.safetensors"],
      ["iris.pmml", "iris.pmml"],
      ["broken.safetensors", "truncated.safetensors"],
    ]) {
      expect((await put(name, 1, path!, fixture(file!))).status).toBe(201);
    }
    const byPath = Object.fromEntries(((await version(name)).artifacts as any[]).map((a) => [a.path, a]));
    expect(byPath["model.pkl"]).toMatchObject({ format: "PICKLE", formatVersion: "4", verdict: "DANGEROUS" });
    expect(byPath["model.pkl"].findings).toContainEqual({
      severity: "CRITICAL",
      message: expect.stringContaining("posix.system"),
      location: expect.stringMatching(/model\.pkl@offset \d+/),
    });
    expect(byPath["weights/model.safetensors"]).toMatchObject({ format: "SAFETENSORS", verdict: "SAFE" });
    expect(byPath["weights/model.safetensors"].metadata).toMatchObject({
      tensorCount: 2,
      parameterCount: 7,
      tensors: [
        { name: "embed.weight", dtype: "F32", shape: [2, 2] },
        { name: "position_ids", dtype: "I64", shape: [3] },
      ],
    });
    expect(byPath["iris.pmml"]).toMatchObject({
      format: "PMML",
      formatVersion: "4.4",
      verdict: "SAFE",
      producer: { framework: "SkLearn2PMML package" },
    });
    expect(byPath["broken.safetensors"]).toMatchObject({ format: "SAFETENSORS", verdict: "UNSCANNABLE" });
    expect(byPath["broken.safetensors"].findings[0].message).toMatch(/truncated/);

    // PMML records a signature: active fields in, target and output fields out.
    const v = await version(name);
    expect(v.signature).toMatchObject({
      source: "INSPECTION",
      path: "iris.pmml",
      inputs: [
        { name: "sepal_length", dtype: "double", shape: null },
        { name: "sepal_width", dtype: "double", shape: null },
      ],
      outputs: [
        { name: "species", dtype: "string" },
        { name: "probability(setosa)", dtype: "double" },
      ],
    });
  });

  it("gates Production and aliases on DANGEROUS/UNSCANNABLE artifacts, allows them with a recorded override, and not Staging", async () => {
    const name = await pendingModel();
    await put(name, 1, "model.pkl", fixture("eval_p1.pkl"));
    await put(name, 1, "broken.safetensors", fixture("truncated.safetensors"));
    await put(name, 1, "model.onnx", fixture("model.onnx"));
    expect((await mutation("finalizeModelVersion", { name, version: 1 })).__typename).toBe(
      "ModelVersionPayload",
    );

    const refused = await mutation("transitionModelVersionStage", { name, version: 1, stage: "PRODUCTION" });
    expect(refused).toMatchObject({
      __typename: "UnsafeArtifactError",
      code: "UNSAFE_ARTIFACT",
      version: 1,
      action: "TRANSITION",
      total: 2,
      artifacts: [
        { path: "model.pkl", verdict: "DANGEROUS" },
        { path: "broken.safetensors", verdict: "UNSCANNABLE" },
      ],
    });
    const aliasRefused = await mutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" });
    expect(aliasRefused).toMatchObject({ __typename: "UnsafeArtifactError", action: "ALIAS", total: 2 });
    expect(
      (
        await mutation("setRegisteredModelAlias", {
          name,
          version: 1,
          alias: "champion",
          overrideReason: "  ",
        })
      ).__typename,
    ).toBe("ValidationError");
    expect((await version(name)).stage).toBe("NONE");

    const staging = await mutation("transitionModelVersionStage", { name, version: 1, stage: "STAGING" });
    expect(staging.modelVersion.stage).toBe("STAGING");

    const reason = "eval pickle is loaded only in the sandboxed scorer; ticket SEC-42";
    const promoted = await mutation("transitionModelVersionStage", {
      name,
      version: 1,
      stage: "PRODUCTION",
      overrideReason: reason,
    });
    expect(promoted.__typename).toBe("ModelVersionPayload");
    expect(promoted.modelVersion.stage).toBe("PRODUCTION");
    expect(promoted.events.map((e: { type: string }) => e.type)).toEqual([
      "ModelVersionSafetyOverridden",
      "ModelVersionStageTransitioned",
    ]);
    expect(promoted.events[0].data).toEqual({
      version: 1,
      reason,
      action: "TRANSITION",
      total: 2,
      verdicts: [
        { path: "model.pkl", verdict: "DANGEROUS" },
        { path: "broken.safetensors", verdict: "UNSCANNABLE" },
      ],
    });

    const aliased = await mutation("setRegisteredModelAlias", {
      name,
      version: 1,
      alias: "champion",
      overrideReason: reason,
    });
    expect(aliased.modelVersion.aliases).toEqual(["champion"]);
    expect(aliased.events.map((e: { type: string }) => e.type)).toEqual([
      "ModelVersionSafetyOverridden",
      "RegisteredModelAliasSet",
    ]);

    const overrides = (await history(name)).filter((e) => e.type === "ModelVersionSafetyOverridden");
    expect(overrides.map((e) => [e.data.action, e.data.reason])).toEqual([
      ["TRANSITION", reason],
      ["ALIAS", reason],
    ]);
  });

  it("lets a SUSPICIOUS artifact through the gate", async () => {
    const name = await pendingModel();
    const uploaded = await put(name, 1, "helper.pkl", fixture("unknown_global_p3.pkl"));
    expect(uploaded.json.artifact.verdict).toBe("SUSPICIOUS");
    await mutation("finalizeModelVersion", { name, version: 1 });
    expect(
      (await mutation("transitionModelVersionStage", { name, version: 1, stage: "PRODUCTION" })).modelVersion
        .stage,
    ).toBe("PRODUCTION");
    expect(
      (await mutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" })).modelVersion
        .aliases,
    ).toEqual(["champion"]);
  });

  it("re-inspects stored artifacts on demand, on a READY version, appending new events", async () => {
    const name = await pendingModel();
    await put(name, 1, "model.onnx", fixture("model.onnx"));
    await put(name, 1, "model.pkl", fixture("os_system_p4.pkl"));
    await mutation("finalizeModelVersion", { name, version: 1 });
    const first = (await version(name)).artifacts.find((a: any) => a.path === "model.onnx").inspectedAt;

    const one = await mutation("inspectModelVersionArtifacts", { name, version: 1, paths: ["model.onnx"] });
    expect(one.__typename).toBe("ModelVersionPayload");
    // Same bytes, same signature: only the inspection is recorded again.
    expect(one.events.map((e: { type: string; data: any }) => [e.type, e.data.path, e.data.verdict])).toEqual(
      [["ModelVersionArtifactInspected", "model.onnx", "SAFE"]],
    );
    const again = one.modelVersion.artifacts.find((a: any) => a.path === "model.onnx").inspectedAt;
    expect(Date.parse(again)).toBeGreaterThanOrEqual(Date.parse(first));

    const all = await mutation("inspectModelVersionArtifacts", { name, version: 1 });
    expect(all.events.map((e: { data: any }) => e.data.path)).toEqual(["model.onnx", "model.pkl"]);
    const inspected = (await history(name)).filter((e) => e.type === "ModelVersionArtifactInspected");
    expect(inspected).toHaveLength(5);

    const missing = await mutation("inspectModelVersionArtifacts", { name, version: 1, paths: ["nope.bin"] });
    expect(missing).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
  });

  it("inspects GraphQL multipart uploads too, and a user-set signature wins over inspection", async () => {
    const name = await pendingModel();
    const set = await mutation("setModelVersionSignature", {
      name,
      version: 1,
      signature: {
        inputs: [{ name: "features", dtype: "float32", shape: [{ size: 1 }, { symbol: "n" }] }],
        outputs: [{ name: "score" }],
      },
    });
    expect(set.modelVersion.signature).toEqual({
      source: "USER",
      path: null,
      inputs: [
        {
          name: "features",
          dtype: "float32",
          shape: [
            { size: 1, symbol: null },
            { size: null, symbol: "n" },
          ],
        },
      ],
      outputs: [{ name: "score", dtype: null, shape: null }],
    });
    const invalid = await mutation("setModelVersionSignature", {
      name,
      version: 1,
      signature: { inputs: [{ name: "x", shape: [{ size: 1, symbol: "n" }] }], outputs: [] },
    });
    expect(invalid).toMatchObject({ __typename: "ValidationError", field: "signature.inputs.0.shape.0" });

    const form = new FormData();
    form.set(
      "operations",
      JSON.stringify({
        query: `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) { ${errorSelection("uploadModelVersionArtifact")}
          ... on UploadModelVersionArtifactPayload { artifact { ${ARTIFACT} } modelVersion { ${SIGNATURE} } events { type } } } }`,
        variables: { input: { name, version: 1, path: "model.onnx", file: null } },
      }),
    );
    form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
    form.set("0", new Blob([new Uint8Array(fixture("model.onnx"))]), "model.onnx");
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      body: form,
      headers: { "x-registro-csrf": "1" },
    });
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    const payload = body.data.uploadModelVersionArtifact;
    expect(payload.artifact).toMatchObject({
      format: "ONNX",
      verdict: "SAFE",
      producer: { framework: "pytorch" },
    });
    // The file records a signature, but the user's stays.
    expect(payload.events).toEqual([
      { type: "ModelVersionArtifactAdded" },
      { type: "ModelVersionArtifactInspected" },
    ]);
    expect(payload.modelVersion.signature).toMatchObject({ source: "USER", inputs: [{ name: "features" }] });
  });
});
