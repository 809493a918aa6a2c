// Uploads built to break the process, on both providers: a GraphQL multipart `map` that walks into
// `__proto__` (issue 8: it polluted Object.prototype and wedged every later request) and its
// variants are a 400 naming `map`, and the server keeps answering correctly; a model file whose
// header carries reserved keys, NUL and unpaired surrogates is inspected and recorded without
// polluting anything and without an internal error on PostgreSQL.
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const RESULT = `__typename ... on Error { code message } ... on ValidationError { field }`;
const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) {
  uploadModelVersionArtifact(input: $input) { ${RESULT} ... on UploadModelVersionArtifactPayload { artifact { path sha256 } } } }`;
const ARTIFACT = `path format verdict producer { framework } metadata findings { message location }`;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Every property an attack could have planted on Object.prototype. */
const PLANTED = ["expectedRevision", "polluted", "dtype", "shape", "data_offsets", "input", "file"];
const planted = () => PLANTED.filter((key) => key in {});

/** A safetensors file: 8-byte little-endian header length, the JSON header, the tensor bytes. */
function safetensors(header: string, data: Buffer): Buffer {
  const json = Buffer.from(header, "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

describe.each(await providers())("hostile uploads on %s", (provider) => {
  let server: TestServer;
  let models = 0;

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());
  afterEach(() => {
    // A test that polluted the process must not hide behind the next one.
    for (const key of planted()) delete (Object.prototype as Record<string, unknown>)[key];
  });

  async function pendingModel(): Promise<string> {
    const name = `hostile ${++models}`;
    const created = await server.gql(
      `mutation($n: String!) { createRegisteredModel(input: {name: $n}) { __typename } }`,
      {
        n: name,
      },
    );
    expect(created.data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    const version = await server.gql(
      `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
      { n: name },
    );
    expect(version.data.createModelVersion.__typename).toBe("ModelVersionPayload");
    return name;
  }

  /** Sends the parts in this order; `map` is sent as given (a string is sent verbatim). */
  function multipart(parts: [string, string | Blob][]) {
    const form = new FormData();
    for (const [name, value] of parts)
      if (typeof value === "string") form.append(name, value);
      else form.append(name, value, "file.bin");
    return fetch(server.graphqlUrl, { method: "POST", body: form, headers: { "x-registro-csrf": "1" } });
  }

  const operationsFor = (name: string, path = "f.bin") =>
    JSON.stringify({ query: UPLOAD, variables: { input: { name, version: 1, path, file: null }, f: null } });

  /** The server still serves GraphQL reads and writes and artifact transfers correctly. */
  async function stillHealthy() {
    expect(planted()).toEqual([]);
    const list = await server.gql(`{ registeredModels(first: 500) { nodes { name } } }`);
    expect(list.errors).toBeUndefined();
    const name = await pendingModel();
    const bytes = Buffer.from(`healthy ${name}`);
    const put = await fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/1/ok.bin`, {
      method: "PUT",
      body: new Uint8Array(bytes),
    });
    expect(put.status).toBe(201);
    const get = await fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/1/ok.bin`);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);
    const upload = await multipart([
      ["operations", operationsFor(name, "multi.bin")],
      ["map", JSON.stringify({ 0: ["variables.input.file"] })],
      ["0", new Blob([new Uint8Array(bytes)])],
    ]);
    expect(upload.status).toBe(200);
    expect((await upload.json()).data.uploadModelVersionArtifact).toMatchObject({
      __typename: "UploadModelVersionArtifactPayload",
      artifact: { path: "multi.bin", sha256: sha256(bytes) },
    });
  }

  it("refuses the issue's map through __proto__ with a 400 naming `map`, and nothing is polluted", async () => {
    const name = await pendingModel();
    const response = await multipart([
      ["operations", operationsFor(name)],
      ["map", JSON.stringify({ 0: ["variables.f", "__proto__.expectedRevision"] })],
      ["0", new Blob([new Uint8Array(Buffer.from("payload"))])],
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "VALIDATION", field: "map" } });
    expect(({} as Record<string, unknown>).expectedRevision).toBeUndefined();
    await stillHealthy();
  });

  it.each([
    ["constructor.prototype", ["variables.input.file", "constructor.prototype.polluted"]],
    ["a nested __proto__", ["variables.input.__proto__.polluted"]],
    ["a nested constructor.prototype", ["variables.input.constructor.prototype.polluted"]],
    ["prototype alone", ["variables.prototype"]],
    ["an array's length", ["variables.input.file", "variables.list.length"]],
    ["an index past the end", ["variables.list.5"]],
    ["a non-canonical index", ["variables.list.01"]],
    ["a path that does not exist", ["variables.input.nope"]],
    ["a path through a string", ["query.length"]],
    ["a value that is not a null placeholder", ["query"]],
    ["an empty segment", ["variables..file"]],
    ["an empty path", [""]],
    ["a path of 1,025 characters", [`variables.${"x".repeat(1015)}`]],
    ["a path of 65 segments", [Array.from({ length: 65 }, () => "a").join(".")]],
    ["101 paths for one file", Array.from({ length: 101 }, (_, i) => `variables.list.${i}`)],
  ])("refuses a map path through %s (400, field map)", async (_what, paths) => {
    const name = await pendingModel();
    const operations = JSON.parse(operationsFor(name)) as { variables: Record<string, unknown> };
    operations.variables.list = [null, null];
    const response = await multipart([
      ["operations", JSON.stringify(operations)],
      ["map", JSON.stringify({ 0: paths })],
      ["0", new Blob([new Uint8Array(Buffer.from("payload"))])],
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "VALIDATION", field: "map" } });
    expect(planted()).toEqual([]);
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"variables.input.file"'],
    ["null", "null"],
    ["a file with a path string instead of a list", '{"0": "variables.input.file"}'],
    ["a file with no paths", '{"0": []}'],
    ["a file with a number for a path", '{"0": [1]}'],
    ["one path for two files", '{"0": ["variables.input.file"], "1": ["variables.input.file"]}'],
    ["101 files", JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [i, [`v${i}`]])))],
  ])("refuses a map that is %s (400, field map)", async (_what, map) => {
    const name = await pendingModel();
    const response = await multipart([
      ["operations", operationsFor(name)],
      ["map", map],
      ["0", new Blob([new Uint8Array(Buffer.from("payload"))])],
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "VALIDATION", field: "map" } });
  });

  it("refuses a map before the operations, and operations nested deeper than any input", async () => {
    const name = await pendingModel();
    const early = await multipart([
      ["map", JSON.stringify({ 0: ["variables.input.file"] })],
      ["operations", operationsFor(name)],
      ["0", new Blob([new Uint8Array(Buffer.from("payload"))])],
    ]);
    expect(early.status).toBe(400);
    expect((await early.json()).error.code).toBe("VALIDATION");
    const deep = `{"query": "{ __typename }", "variables": {"x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}`;
    const tooDeep = await multipart([
      ["operations", deep],
      ["map", "{}"],
    ]);
    expect(tooDeep.status).toBe(400);
    expect((await tooDeep.json()).error).toMatchObject({ code: "VALIDATION", field: "multipart" });
    await stillHealthy();
  });

  it("treats a file part named __proto__ as a name like any other", async () => {
    const name = await pendingModel();
    const bytes = Buffer.from("named __proto__");
    const response = await multipart([
      ["operations", operationsFor(name, "proto.bin")],
      ["map", '{"__proto__": ["variables.input.file"]}'],
      ["__proto__", new Blob([new Uint8Array(bytes)])],
    ]);
    expect(response.status).toBe(200);
    expect((await response.json()).data.uploadModelVersionArtifact).toMatchObject({
      artifact: { path: "proto.bin", sha256: sha256(bytes) },
    });
    expect(planted()).toEqual([]);
  });

  it("answers NUL in an artifact URL's model name or path with a 400 VALIDATION, on PUT and GET", async () => {
    const name = await pendingModel();
    const model = encodeURIComponent(name);
    for (const [method, url, field] of [
      ["PUT", `/artifacts/a%00b/1/x.bin`, "name"],
      ["GET", `/artifacts/a%00b/1/x.bin`, "name"],
      ["GET", `/artifacts/a%00b@champion/x.bin`, "name"],
      ["PUT", `/artifacts/${model}/1/x%00.bin`, "path"],
      ["GET", `/artifacts/${model}/1/x%00.bin`, "path"],
    ] as const) {
      const response = await fetch(`${server.url}${url}`, {
        method,
        ...(method === "PUT" ? { body: new Uint8Array(Buffer.from("x")) } : {}),
      });
      expect(response.status, `${method} ${url}`).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "VALIDATION", field } });
    }
  });

  it("inspects a model file full of reserved keys, NUL and unpaired surrogates: stored safely, nothing polluted", async () => {
    const name = await pendingModel();
    // Escapes written into the file's JSON header, as an attacker would.
    const header =
      '{"__metadata__": {"__proto__": "p", "constructor": "c", "format": "pt\\u0000x", "key\\u0000": "value\\u0000", "lone": "a\\ud800b"},' +
      ' "__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},' +
      ' "constructor": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},' +
      ' "w\\u0000\\udc00": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}';
    const file = safetensors(header, Buffer.alloc(12));
    const put = await fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/1/model.safetensors`, {
      method: "PUT",
      body: new Uint8Array(file),
    });
    expect(put.status).toBe(201);
    expect(planted()).toEqual([]);

    const read = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { ${ARTIFACT} } } }`,
      {
        n: name,
      },
    );
    expect(read.errors).toBeUndefined();
    const [artifact] = read.data.modelVersion.artifacts;
    expect(artifact).toMatchObject({
      path: "model.safetensors",
      format: "SAFETENSORS",
      producer: { framework: "pt\ufffdx" },
    });
    const text = JSON.stringify(artifact);
    // JSON.stringify escapes NUL and unpaired surrogates only (pairs are written as they are).
    expect(text).not.toMatch(/\\u0000|\\ud[89a-f]/i);
    expect(artifact.metadata.userMetadata).toEqual({
      "[__proto__]": "p",
      "[constructor]": "c",
      format: "pt\ufffdx",
      "key\ufffd": "value\ufffd",
      lone: "a\ufffdb",
    });
    expect(artifact.metadata.tensors.map((t: { name: string }) => t.name).sort()).toEqual(
      ["__proto__", "constructor", "w\ufffd\ufffd"].sort(),
    );

    // Re-inspection records the same storable outcome again.
    const again = await server.gql(
      `mutation($n: String!) { inspectModelVersionArtifacts(input: {name: $n, version: 1}) { ${RESULT} } }`,
      { n: name },
    );
    expect(again.data.inspectModelVersionArtifacts.__typename).toBe("ModelVersionPayload");
    const history = await server.gql(
      `query($n: String!) { history(name: $n, first: 50) { nodes { type data } } }`,
      {
        n: name,
      },
    );
    const inspected = history.data.history.nodes.filter(
      (e: { type: string }) => e.type === "ModelVersionArtifactInspected",
    );
    expect(inspected).toHaveLength(2);
    expect(inspected[1].data.metadata.userMetadata).toEqual(artifact.metadata.userMetadata);
    await stillHealthy();
  });
});
