// Consistency across a version's artifacts, end to end on both providers: files uploaded over HTTP
// PUT are inspected one by one, and `ModelVersion.consistencyFindings` reports what only shows
// when they are taken together (ONNX external data, SavedModel variables, tokenizer vs embedding).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`);

describe.each(await providers())("version consistency on %s", (provider) => {
  let server: TestServer;
  let modelCount = 0;

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  async function gqlOk(query: string, variables: Record<string, unknown>) {
    const result = await server.gql(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  /** A pending version holding these files; returns its consistency findings. */
  async function versionWith(files: [path: string, body: Buffer][]) {
    const name = `consistency ${++modelCount}`;
    await gqlOk(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
      n: name,
    });
    await gqlOk(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
      { n: name },
    );
    for (const [path, body] of files) {
      const res = await fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/1/${path}`, {
        method: "PUT",
        body: new Uint8Array(body),
      });
      expect(res.status).toBe(201);
    }
    const data = await gqlOk(
      `query($n: String!) { modelVersion(name: $n, version: 1) { consistencyFindings { severity message location } } }`,
      { n: name },
    );
    return data.modelVersion.consistencyFindings as { severity: string; message: string; location: string }[];
  }

  it("ONNX external data: missing, too short, then complete", async () => {
    const onnx = fixture("external_data.onnx");
    const weights = fixture("external_data_weights.bin");
    expect(await versionWith([["onnx/model.onnx", onnx]])).toEqual([
      {
        severity: "MEDIUM",
        message: `ONNX external data file "onnx/weights.bin" is not among this version's artifacts: upload it next to model.onnx`,
        location: "onnx/model.onnx:initializer model.embed_tokens.weight",
      },
    ]);
    const short = await versionWith([
      ["onnx/model.onnx", onnx],
      ["onnx/weights.bin", weights.subarray(0, 24)],
    ]);
    expect(short.map((f) => f.message)).toEqual([
      `ONNX external data for this tensor spans bytes 0–48 of "onnx/weights.bin", which has only 24 bytes (truncated or wrong file)`,
    ]);
    expect(
      await versionWith([
        ["onnx/model.onnx", onnx],
        ["onnx/weights.bin", weights],
      ]),
    ).toEqual([]);
  });

  it("SavedModel: a variables index without data shards", async () => {
    const findings = await versionWith([
      ["saved/saved_model.pb", fixture("saved_model.pb")],
      ["saved/variables/variables.index", Buffer.from("not really an index")],
    ]);
    expect(findings).toEqual([
      {
        severity: "MEDIUM",
        message: "SavedModel has saved/variables/variables.index but no variables.data-NNNNN-of-NNNNN shard",
        location: "saved/saved_model.pb",
      },
    ]);
  });

  it("a tokenizer with more tokens than the embedding has rows; fine against a larger one", async () => {
    const findings = await versionWith([
      ["tokenizer.json", fixture("tokenizer.json")],
      ["model.safetensors", fixture("embed_3rows.safetensors")],
    ]);
    expect(findings).toEqual([
      {
        severity: "MEDIUM",
        message:
          "Tokenizer tokenizer.json has 4 tokens but embedding model.safetensors:model.embed_tokens.weight has only 3 rows: token ids ≥ 3 would index past the matrix (tokenizer from another model?)",
        location: "tokenizer.json",
      },
    ]);
    expect(
      await versionWith([
        ["tokenizer.json", fixture("tokenizer.json")],
        ["model.onnx", fixture("external_data.onnx")],
        ["weights.bin", fixture("external_data_weights.bin")],
      ]),
    ).toEqual([]);
  });
});
