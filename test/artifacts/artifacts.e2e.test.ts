// Artifact storage end to end, on both providers: curl-style PUT and GraphQL multipart uploads,
// downloads by version, alias and stage (ranges, conditional requests, HEAD), digests, limits, path
// attacks, registration status rules, interrupted uploads, verify and garbage collection.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { utimes } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGc } from "../../src/cli/gcArtifacts.ts";
import { runVerify } from "../../src/cli/verifyArtifacts.ts";
import { createRegistro } from "../../src/registro.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import { LOCAL_ADMIN, folderStore, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { startUploadingProcess } from "../support/uploadingProcess.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
const LIMIT = 256 * 1024;

const RESULT = `__typename ... on Error { code message } ... on ValidationError { field }`;

/** Sends a request with the target exactly as given (fetch would normalise `..` and `%2e%2e` away). */
function rawRequest(
  url: string,
  method: string,
  target: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Uploads in progress in a temp folder (which also holds its owner file). */
const partFiles = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".part")) : [];

/** Waits until the server is writing the upload's temp file, hangs up, and checks the file is gone. */
async function hangUpMidUpload(req: http.ClientRequest, tmpDir: string): Promise<void> {
  for (let i = 0; i < 100 && partFiles(tmpDir).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(partFiles(tmpDir).length).toBe(1);
  req.destroy();
  for (let i = 0; i < 100 && partFiles(tmpDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(partFiles(tmpDir)).toEqual([]);
}

describe.each(await providers())("artifacts over HTTP on %s", (provider) => {
  let server: TestServer;
  let modelCount = 0;

  beforeAll(async () => {
    server = await startTestServer(provider, {
      artifacts: { maxArtifactBytes: LIMIT, maxRequestBytes: 2 * LIMIT },
    });
  });
  afterAll(async () => server?.close());

  const artifactUrl = (model: string, version: number | string, p: string) =>
    `${server.url}/artifacts/${encodeURIComponent(model)}/${version}/${p.split("/").map(encodeURIComponent).join("/")}`;

  async function put(
    model: string,
    version: number,
    p: string,
    body: Buffer | string,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(artifactUrl(model, version, p), {
      method: "PUT",
      body: typeof body === "string" ? body : new Uint8Array(body),
      headers,
    });
    return { status: response.status, headers: response.headers, json: await response.json() };
  }

  /** A fresh model (name with a space) and a version awaiting artifacts. */
  async function pendingModel(): Promise<string> {
    const name = `bert base ${++modelCount}`;
    const created = await server.gql(
      `mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`,
      { n: name },
    );
    expect(created.data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    const version = await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) {
        ${RESULT} ... on ModelVersionPayload { modelVersion { version status } } } }`,
      { n: name },
    );
    expect(version.data.createModelVersion.modelVersion).toEqual({
      version: 1,
      status: "PENDING_REGISTRATION",
    });
    return name;
  }

  async function versionMutation(field: string, input: Record<string, unknown>) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${RESULT}
        ... on ModelVersionPayload { modelVersion { version status stage aliases artifacts { path sha256 } } events { type data } } } }`,
      { input },
    );
    expect(result.errors).toBeUndefined();
    return result.data[field];
  }

  async function artifactEvents(name: string) {
    const result = await server.gql(
      `query($n: String!) { registeredModel(name: $n) { history(first: 100) { nodes { type data } } } }`,
      {
        n: name,
      },
    );
    expect(result.errors).toBeUndefined();
    return (result.data.registeredModel.history.nodes as { type: string }[]).filter(
      (e) => e.type === "ModelVersionArtifactAdded",
    );
  }

  /** Environment for the CLI commands, pointing at this server's database and data folder. */
  const cliEnv = () => ({
    DATABASE_URL:
      server.database.provider === "sqlite" ? `file:${server.database.file}` : server.database.url,
    DATA_DIR: server.dataDir,
  });

  async function blobCount() {
    let count = 0;
    for await (const _ of server.registro.blobs.list()) count++;
    return count;
  }

  function multipart(
    operations: unknown,
    files: Record<string, { data: Buffer; name: string; type?: string }>,
    map: Record<string, string[]>,
  ) {
    const form = new FormData();
    form.set("operations", JSON.stringify(operations));
    form.set("map", JSON.stringify(map));
    for (const [key, file] of Object.entries(files))
      form.set(
        key,
        new Blob([new Uint8Array(file.data)], { type: file.type ?? "application/octet-stream" }),
        file.name,
      );
    // Multipart bodies can be forged by other sites, so uploads carry the CSRF header.
    return fetch(server.graphqlUrl, { method: "POST", body: form, headers: { "x-registro-csrf": "1" } });
  }

  const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) { ${RESULT}
    ... on ArtifactDigestMismatchError { expected actual }
    ... on UploadModelVersionArtifactPayload { artifact { path role size sha256 mediaType createdBy downloadUrl } modelVersion { status }
      events { type } } } }`;

  it("round-trips a curl-style PUT and GET, with ETag, Repr-Digest and Content-Length", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(100_000);
    const digest = sha256(bytes);
    const uploaded = await put(name, 1, "model.onnx", bytes, { "x-checksum-sha256": digest.toUpperCase() });
    expect(uploaded.status).toBe(201);
    expect(uploaded.json.artifact).toMatchObject({
      model: name,
      version: 1,
      path: "model.onnx",
      role: "MODEL",
      size: 100_000,
      sha256: digest,
      mediaType: "application/onnx",
      createdBy: LOCAL_ADMIN,
      downloadUrl: `/artifacts/${encodeURIComponent(name)}/1/model.onnx`,
    });
    expect(uploaded.json.position).toBeGreaterThan(0);
    expect(uploaded.headers.get("location")).toBe(uploaded.json.artifact.downloadUrl);

    const response = await fetch(`${server.url}${uploaded.json.artifact.downloadUrl}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe(`"${digest}"`);
    expect(response.headers.get("content-length")).toBe("100000");
    expect(response.headers.get("repr-digest")).toBe(`sha-256=:${b64(digest)}:`);
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("accepts RFC 9530 Content-Digest and a role header; nested paths are listed on the version", async () => {
    const name = await pendingModel();
    const vocab = Buffer.from("[PAD]\n[UNK]\nhello\n");
    const uploaded = await put(name, 1, "tokenizer/vocab.txt", vocab, {
      "content-digest": `sha-512=:${Buffer.alloc(64).toString("base64")}:, sha-256=:${b64(sha256(vocab))}:`,
      "x-artifact-role": "vocabulary",
    });
    expect(uploaded.status).toBe(201);
    expect(uploaded.json.artifact).toMatchObject({
      role: "VOCABULARY",
      mediaType: "text/plain; charset=utf-8",
    });
    const listed = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { status artifacts { path role size sha256 mediaType createdBy downloadUrl } } }`,
      { n: name },
    );
    expect(listed.data.modelVersion.artifacts).toEqual([
      {
        path: "tokenizer/vocab.txt",
        role: "VOCABULARY",
        size: vocab.length,
        sha256: sha256(vocab),
        mediaType: "text/plain; charset=utf-8",
        createdBy: LOCAL_ADMIN,
        downloadUrl: `/artifacts/${encodeURIComponent(name)}/1/tokenizer/vocab.txt`,
      },
    ]);
  });

  it.each([
    ["X-Checksum-Sha256", (d: string) => ({ "x-checksum-sha256": d })],
    ["Content-Digest", (d: string) => ({ "content-digest": `sha-256=:${b64(d)}:` })],
  ])("rejects a %s mismatch and stores nothing", async (_header, headers) => {
    const name = await pendingModel();
    const before = await blobCount();
    const claimed = sha256("something else");
    const body = randomBytes(5000);
    const response = await put(name, 1, "model.bin", body, headers(claimed));
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({
      code: "DIGEST_MISMATCH",
      type: "ArtifactDigestMismatchError",
      expected: claimed,
      actual: sha256(body),
    });
    expect(await blobCount()).toBe(before);
    expect(await server.registro.blobs.has(sha256(body))).toBe(false);
    const version = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      { n: name },
    );
    expect(version.data.modelVersion.artifacts).toEqual([]);
  });

  it("stores a path of up to 2,048 bytes of UTF-8, on both databases, and refuses a longer one", async () => {
    const name = await pendingModel();
    const segment = (characters: number) => "模".repeat(characters); // three bytes each
    const fits = `${segment(227)}/${segment(227)}/${segment(226)}.b`; // 2,044 bytes
    const stored = await put(name, 1, fits, "x");
    expect(stored.status, JSON.stringify(stored.json)).toBe(201);
    for (const long of [
      `${segment(250)}/${segment(250)}/${segment(250)}`, // 2,252 bytes
      // 1,018 characters, 3,048 bytes: PostgreSQL refused its key with a 500.
      `${segment(255)}/${segment(255)}/${segment(255)}/${segment(250)}`,
    ]) {
      const refused = await put(name, 1, long, "x");
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatchObject({
        code: "VALIDATION",
        field: "path",
        message: expect.stringMatching(/2048 bytes of UTF-8/),
      });
    }
  });

  it("refuses malformed digests before reading the body", async () => {
    const name = await pendingModel();
    expect((await put(name, 1, "a.bin", "x", { "x-checksum-sha256": "nothex" })).json.error).toMatchObject({
      code: "VALIDATION",
      field: "X-Checksum-Sha256",
    });
    expect(
      (await put(name, 1, "a.bin", "x", { "content-digest": "sha-256=:AAAA:" })).json.error,
    ).toMatchObject({ code: "VALIDATION", field: "Content-Digest" });
  });

  it.each([
    ["..", "/x/1/../../etc/passwd"],
    ["%2e%2e", "/x/1/%2e%2e/%2E%2E/etc/passwd"],
    ["encoded slash traversal", "/x/1/a%2F..%2F..%2Fb"],
    ["absolute", "/x/1//etc/passwd"],
    ["backslash", "/x/1/..%5C..%5Cwindows"],
    ["NUL", "/x/1/a%00b"],
    ["newline", "/x/1/a%0Ab"],
    ["too deep", `/x/1/${Array.from({ length: 33 }, () => "d").join("/")}`],
    ["too long", `/x/1/${"a".repeat(300)}`],
    ["bad percent-encoding", "/x/1/%E0%A4%A"],
  ])("refuses a path attack (%s) on upload and download with 400", async (_kind, suffix) => {
    const name = await pendingModel();
    const target = `/artifacts/${encodeURIComponent(name)}${suffix.slice(2)}`;
    const upload = await rawRequest(server.url, "PUT", target, Buffer.from("evil"));
    expect(upload.status).toBe(400);
    expect(JSON.parse(upload.body.toString())).toMatchObject({ error: { code: "VALIDATION" } });
    const download = await rawRequest(server.url, "GET", target);
    expect(download.status).toBe(400);
    const version = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      { n: name },
    );
    expect(version.data.modelVersion.artifacts).toEqual([]);
  });

  it("refuses uploads above the size limit with 413, by Content-Length or while streaming", async () => {
    const name = await pendingModel();
    const before = await blobCount();
    const declared = await put(name, 1, "big.bin", randomBytes(LIMIT + 1));
    expect(declared.status).toBe(413);
    expect(declared.json.error).toMatchObject({ code: "TOO_LARGE", limit: LIMIT });
    // Chunked: no Content-Length, so the limit is enforced on the stream itself.
    const streamed = await fetch(artifactUrl(name, 1, "big.bin"), {
      method: "PUT",
      body: Readable.toWeb(Readable.from([randomBytes(LIMIT), randomBytes(1000)])) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: "TOO_LARGE" } });
    expect(await blobCount()).toBe(before);
    expect(partFiles(folderStore(server.registro).tmpDir)).toEqual([]);
    expect((await put(name, 1, "exact.bin", randomBytes(LIMIT))).status).toBe(201);
  });

  it("serves byte ranges (206), refuses unsatisfiable ones (416), answers HEAD and If-None-Match (304)", async () => {
    const name = await pendingModel();
    const bytes = Buffer.from("0123456789abcdefghij");
    await put(name, 1, "data.bin", bytes);
    const url = artifactUrl(name, 1, "data.bin");
    const etag = `"${sha256(bytes)}"`;

    const middle = await fetch(url, { headers: { range: "bytes=5-9" } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe("bytes 5-9/20");
    expect(middle.headers.get("content-length")).toBe("5");
    expect(await middle.text()).toBe("56789");

    const open = await fetch(url, { headers: { range: "bytes=15-" } });
    expect([open.status, open.headers.get("content-range"), await open.text()]).toEqual([
      206,
      "bytes 15-19/20",
      "fghij",
    ]);
    const suffix = await fetch(url, { headers: { range: "bytes=-3" } });
    expect([suffix.status, await suffix.text()]).toEqual([206, "hij"]);
    const clamped = await fetch(url, { headers: { range: "bytes=18-1000" } });
    expect([clamped.headers.get("content-range"), await clamped.text()]).toEqual(["bytes 18-19/20", "ij"]);

    const beyond = await fetch(url, { headers: { range: "bytes=20-30" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */20");
    expect(await beyond.json()).toMatchObject({ error: { code: "RANGE_NOT_SATISFIABLE" } });

    const staleIfRange = await fetch(url, { headers: { range: "bytes=0-1", "if-range": '"other"' } });
    expect([staleIfRange.status, (await staleIfRange.text()).length]).toEqual([200, 20]);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("20");
    expect(head.headers.get("etag")).toBe(etag);
    expect(await head.text()).toBe("");

    const notModified = await fetch(url, { headers: { "if-none-match": `"nope", ${etag}` } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(etag);
    expect((await fetch(url, { headers: { "if-none-match": '"nope"' } })).status).toBe(200);
  });

  it("evaluates If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since and If-Range in RFC 9110 order", async () => {
    const name = await pendingModel();
    const v1 = Buffer.from("weights: the first version");
    const v2 = Buffer.from("weights: a second version!");
    expect((await put(name, 1, "w.txt", v1)).status).toBe(201);
    await versionMutation("finalizeModelVersion", { name, version: 1 });
    await versionMutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" });
    const alias = `${server.url}/artifacts/${encodeURIComponent(name)}@champion/w.txt`;
    const first = await fetch(alias);
    expect(await first.text()).toBe(v1.toString());
    const e1 = first.headers.get("etag")!;
    expect(e1).toBe(`"${sha256(v1)}"`);

    // The alias moves to v2: same URL, other bytes.
    const created = await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s", pendingArtifacts: true }) { __typename } }`,
      { n: name },
    );
    expect(created.data.createModelVersion.__typename).toBe("ModelVersionPayload");
    expect((await put(name, 2, "w.txt", v2)).status).toBe(201);
    await versionMutation("finalizeModelVersion", { name, version: 2 });
    await versionMutation("setRegisteredModelAlias", { name, version: 2, alias: "champion" });
    const e2 = `"${sha256(v2)}"`;
    const lastModified = (await fetch(alias, { method: "HEAD" })).headers.get("last-modified")!;

    // A client resuming v1 must not get v2's tail: If-Match fails (412), on GET and HEAD alike.
    for (const method of ["GET", "HEAD"]) {
      for (const headers of [
        { range: "bytes=8-", "if-match": e1 } as Record<string, string>,
        { "if-match": `W/${e2}` },
        { "if-match": `${e1}, "other"` },
        { "if-unmodified-since": "Thu, 01 Jan 1970 00:00:00 GMT" },
        // If-Match and If-Unmodified-Since come before If-None-Match.
        { "if-match": e1, "if-none-match": e2 },
        { "if-unmodified-since": "Thu, 01 Jan 1970 00:00:00 GMT", "if-none-match": e2 },
      ]) {
        const refused = await fetch(alias, { method, headers });
        expect(refused.status, `${method} ${JSON.stringify(headers)}`).toBe(412);
        if (method === "GET")
          expect(await refused.json()).toMatchObject({ error: { code: "PRECONDITION_FAILED" } });
      }
    }
    const resumed = await fetch(alias, { headers: { range: "bytes=8-", "if-match": e2 } });
    expect([resumed.status, await resumed.text()]).toEqual([206, v2.subarray(8).toString()]);
    for (const headers of [
      { "if-match": "*" } as Record<string, string>,
      { "if-unmodified-since": lastModified },
    ]) {
      const served = await fetch(alias, { headers });
      expect([served.status, await served.text()]).toEqual([200, v2.toString()]);
    }
    // If-Range naming v1 gets the whole of v2, never a splice.
    const stale = await fetch(alias, { headers: { range: "bytes=8-", "if-range": e1 } });
    expect([stale.status, await stale.text()]).toEqual([200, v2.toString()]);

    for (const method of ["GET", "HEAD"]) {
      for (const headers of [
        { "if-none-match": e2 } as Record<string, string>,
        { "if-modified-since": lastModified },
        { "if-none-match": `"other", W/${e2}`, "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT" },
      ]) {
        const cached = await fetch(alias, { method, headers });
        expect(cached.status, `${method} ${JSON.stringify(headers)}`).toBe(304);
        expect(cached.headers.get("etag")).toBe(e2);
      }
    }
    // If-None-Match wins over If-Modified-Since.
    expect(
      (await fetch(alias, { headers: { "if-none-match": e1, "if-modified-since": lastModified } })).status,
    ).toBe(200);
    // A missing file is a 404 before any condition.
    const missing = await fetch(alias.replace(/w\.txt$/, "nothing.txt"), { headers: { "if-match": e1 } });
    expect(missing.status).toBe(404);

    // Rolled back to the older v1 (a second later, as Last-Modified counts): the alias URL changed
    // after the date the client holds, although v1's file is older than that date.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await versionMutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" });
    const rolledBack = await fetch(alias, { headers: { "if-modified-since": lastModified } });
    expect([rolledBack.status, await rolledBack.text()]).toEqual([200, v1.toString()]);
    expect(Date.parse(rolledBack.headers.get("last-modified")!)).toBeGreaterThan(Date.parse(lastModified));
    // By number the file's own date stands.
    const byNumber = await fetch(artifactUrl(name, 1, "w.txt"), {
      headers: { "if-modified-since": lastModified },
    });
    expect(byNumber.status).toBe(304);
  });

  it("answers unknown models, versions and paths with a JSON 404", async () => {
    const name = await pendingModel();
    await put(name, 1, "a.bin", "a");
    for (const url of [
      artifactUrl("no such model", 1, "a.bin"),
      artifactUrl(name, 7, "a.bin"),
      artifactUrl(name, 1, "b.bin"),
      `${server.url}/artifacts/${encodeURIComponent(name)}@ghost/a.bin`,
      artifactUrl(name, "Production", "a.bin"),
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(404);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect((await response.json()).error.code).toBe("NOT_FOUND");
    }
    const upload = await put("no such model", 1, "a.bin", "a");
    expect([upload.status, upload.json.error.code]).toEqual([404, "NOT_FOUND"]);
    expect((await put(name, 9, "a.bin", "a")).status).toBe(404);
  });

  it("stores identical bytes once, under two paths", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(4096);
    const before = await blobCount();
    expect((await put(name, 1, "a/weights.bin", bytes)).status).toBe(201);
    expect((await put(name, 1, "b/weights.bin", bytes)).status).toBe(201);
    expect(await blobCount()).toBe(before + 1);
    const a = Buffer.from(await (await fetch(artifactUrl(name, 1, "b/weights.bin"))).arrayBuffer());
    expect(a.equals(bytes)).toBe(true);
  });

  it("enforces registration status: no promotion or alias before READY, frozen after, FAILED stays out", async () => {
    const name = await pendingModel();
    const promote = await versionMutation("transitionModelVersionStage", {
      name,
      version: 1,
      stage: "PRODUCTION",
    });
    expect(promote.__typename).toBe("InvalidStateError");
    expect(
      (await versionMutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" })).__typename,
    ).toBe("InvalidStateError");
    expect((await versionMutation("finalizeModelVersion", { name, version: 1 })).__typename).toBe(
      "InvalidStateError",
    );

    const bytes = Buffer.from("weights v1");
    expect((await put(name, 1, "model.onnx", bytes)).status).toBe(201);
    const duplicate = await put(name, 1, "model.onnx", "again");
    expect([duplicate.status, duplicate.json.error.code]).toEqual([409, "ALREADY_EXISTS"]);

    const finalized = await versionMutation("finalizeModelVersion", { name, version: 1 });
    expect(finalized.modelVersion).toMatchObject({
      status: "READY",
      artifacts: [{ path: "model.onnx", sha256: sha256(bytes) }],
    });
    expect(finalized.events).toEqual([{ type: "ModelVersionFinalized", data: { version: 1 } }]);

    const late = await put(name, 1, "extra.bin", "too late");
    expect([late.status, late.json.error.code]).toEqual([409, "INVALID_STATE"]);
    expect(
      (await versionMutation("transitionModelVersionStage", { name, version: 1, stage: "PRODUCTION" }))
        .modelVersion.stage,
    ).toBe("PRODUCTION");
    expect(
      (await versionMutation("setRegisteredModelAlias", { name, version: 1, alias: "champion" })).modelVersion
        .aliases,
    ).toEqual(["champion"]);

    // Downloads by alias and by stage reach the same bytes.
    for (const url of [
      `${server.url}/artifacts/${encodeURIComponent(name)}@champion/model.onnx`,
      artifactUrl(name, "Production", "model.onnx"),
      artifactUrl(name, "production", "model.onnx"),
    ]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      expect(await response.text()).toBe("weights v1");
    }

    // A version whose upload is abandoned.
    const v2 = await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s", pendingArtifacts: true }) { __typename } }`,
      { n: name },
    );
    expect(v2.data.createModelVersion.__typename).toBe("ModelVersionPayload");
    const failed = await versionMutation("failModelVersionRegistration", {
      name,
      version: 2,
      reason: "GPU node died",
    });
    expect(failed.modelVersion.status).toBe("FAILED_REGISTRATION");
    expect(failed.events).toEqual([
      { type: "ModelVersionRegistrationFailed", data: { version: 2, reason: "GPU node died" } },
    ]);
    expect((await put(name, 2, "model.onnx", "x")).status).toBe(409);
    expect(
      (await versionMutation("transitionModelVersionStage", { name, version: 2, stage: "STAGING" }))
        .__typename,
    ).toBe("InvalidStateError");

    // A version created without pendingArtifacts is READY and takes no uploads.
    await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s" }) { __typename } }`,
      { n: name },
    );
    expect((await put(name, 3, "model.onnx", "x")).status).toBe(409);
  });

  it("uploads through GraphQL multipart, streamed to storage, with typed errors", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(50_000);
    const response = await multipart(
      {
        query: UPLOAD,
        variables: { input: { name, version: 1, path: "weights/model.safetensors", file: null } },
      },
      { 0: { data: bytes, name: "model.safetensors" } },
      { 0: ["variables.input.file"] },
    );
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "UploadModelVersionArtifactPayload",
      artifact: {
        path: "weights/model.safetensors",
        role: "MODEL",
        size: 50_000,
        sha256: sha256(bytes),
        mediaType: "application/vnd.safetensors",
        downloadUrl: `/artifacts/${encodeURIComponent(name)}/1/weights/model.safetensors`,
      },
      modelVersion: { status: "PENDING_REGISTRATION" },
      // The bytes are inspected before they are recorded: both events come from one decision.
      events: [{ type: "ModelVersionArtifactAdded" }, { type: "ModelVersionArtifactInspected" }],
    });
    const download = await fetch(`${server.url}${body.data.uploadModelVersionArtifact.artifact.downloadUrl}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);

    // A sibling `sha256` that does not match: typed error, nothing stored.
    const other = randomBytes(1000);
    const mismatch = await (
      await multipart(
        {
          query: UPLOAD,
          variables: { input: { name, version: 1, path: "other.bin", sha256: sha256("nope"), file: null } },
        },
        { f: { data: other, name: "other.bin" } },
        { f: ["variables.input.file"] },
      )
    ).json();
    expect(mismatch.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "ArtifactDigestMismatchError",
      code: "DIGEST_MISMATCH",
      actual: sha256(other),
    });
    expect(await server.registro.blobs.has(sha256(other))).toBe(false);

    // Domain refusals come back as typed union members.
    const badPath = await (
      await multipart(
        { query: UPLOAD, variables: { input: { name, version: 1, path: "../escape", file: null } } },
        { 0: { data: other, name: "x" } },
        { 0: ["variables.input.file"] },
      )
    ).json();
    expect(badPath.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "ValidationError",
      field: "path",
    });

    // Too large: 413 before GraphQL runs, nothing stored.
    const big = randomBytes(LIMIT + 10);
    const tooLarge = await multipart(
      { query: UPLOAD, variables: { input: { name, version: 1, path: "big.bin", file: null } } },
      { 0: { data: big, name: "big.bin" } },
      { 0: ["variables.input.file"] },
    );
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: { code: "TOO_LARGE" } });
    expect(await server.registro.blobs.has(sha256(big))).toBe(false);
  });

  it("answers 413 when the request passes its limit while a stored file part streams", async () => {
    const name = await pendingModel();
    const tmpDir = folderStore(server.registro).tmpDir;
    const before = await blobCount();
    // An unmapped part (read and discarded, but counted), then the file: the request's limit
    // (2 × LIMIT) is passed in the middle of the file, which alone is under the artifact's.
    const file = randomBytes(LIMIT - 10);
    const form = new FormData();
    form.set(
      "operations",
      JSON.stringify({
        query: UPLOAD,
        variables: { input: { name, version: 1, path: "f.bin", file: null } },
      }),
    );
    form.set("map", JSON.stringify({ file: ["variables.input.file"] }));
    form.set("padding", new Blob([new Uint8Array(randomBytes(LIMIT + LIMIT / 2))]), "padding.bin");
    form.set("file", new Blob([new Uint8Array(file)]), "f.bin");
    // Streamed, without a Content-Length (which would be refused before a byte is read).
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      body: Readable.toWeb(Readable.from([body.subarray(0, LIMIT), body.subarray(LIMIT)])) as ReadableStream,
      duplex: "half",
      headers: { "x-registro-csrf": "1", "content-type": encoded.headers.get("content-type") ?? "" },
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "TOO_LARGE" } });
    expect(await server.registro.blobs.has(sha256(file))).toBe(false);
    expect(await blobCount()).toBe(before);
    for (let i = 0; i < 100 && partFiles(tmpDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(partFiles(tmpDir)).toEqual([]);
  });

  it("counts an upload token only in the multipart request that issued it", async () => {
    const name = await pendingModel();
    const data = randomBytes(100);
    // The server puts a file's token wherever the map says, here into a version's params...
    const leaked = await (
      await multipart(
        {
          query: `mutation($p: JSONObject) { createModelVersion(input: { name: ${JSON.stringify(name)}, source: "s3://b/y", params: $p }) {
            __typename ... on ModelVersionPayload { modelVersion { params } } } }`,
          variables: { p: { a: null } },
        },
        { 0: { data, name: "f.bin" } },
        { 0: ["variables.p.a"] },
      )
    ).json();
    const token = leaked.data?.createModelVersion?.modelVersion?.params?.a as string;
    expect(token).toMatch(/^registro-upload:/);
    // ...where anyone who reads the model sees it: it must not attach the file anywhere else.
    const replayed = await server.gql(UPLOAD, {
      input: { name, version: 1, path: "replayed.bin", file: token },
    });
    expect(replayed.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/this multipart/),
      extensions: { code: "BAD_USER_INPUT" },
    });
    const artifacts = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      { n: name },
    );
    expect(artifacts.data.modelVersion.artifacts).toEqual([]);
  });

  it("refuses Upload values that are not multipart file parts", async () => {
    const name = await pendingModel();
    const forged = await server.gql(UPLOAD, {
      input: { name, version: 1, path: "x.bin", file: "registro-upload:e30.AAAA" },
    });
    expect(forged.errors?.[0]?.message).toContain("multipart");
    const plain = await server.gql(UPLOAD, {
      input: { name, version: 1, path: "x.bin", file: { sha256: "a".repeat(64), size: 1 } },
    });
    expect(plain.errors).toBeDefined();
  });

  it("leaves no blob, no temp file and no event when the client aborts mid-upload", async () => {
    const name = await pendingModel();
    const tmpDir = folderStore(server.registro).tmpDir;
    const before = await blobCount();
    const { hostname, port } = new URL(server.url);
    const req = http.request({
      hostname,
      port,
      method: "PUT",
      path: `/artifacts/${encodeURIComponent(name)}/1/partial.bin`,
      headers: { "content-length": String(200_000) },
    });
    req.on("error", () => undefined);
    req.write(randomBytes(100_000));
    await hangUpMidUpload(req, tmpDir);
    expect(await blobCount()).toBe(before);
    const version = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      { n: name },
    );
    expect(version.data.modelVersion.artifacts).toEqual([]);
    expect(await artifactEvents(name)).toEqual([]);
  });

  it("leaves no blob and no temp file when a GraphQL multipart upload is cut mid-file", async () => {
    const name = await pendingModel();
    const tmpDir = folderStore(server.registro).tmpDir;
    const before = await blobCount();
    const boundary = "registro-test-boundary";
    const operations = JSON.stringify({
      query: UPLOAD,
      variables: { input: { name, version: 1, path: "cut.bin", file: null } },
    });
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="cut.bin"\r\n\r\n`;
    const { hostname, port } = new URL(server.url);
    const req = http.request({
      hostname,
      port,
      method: "POST",
      path: "/graphql",
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": String(LIMIT),
        "x-registro-csrf": "1",
      },
    });
    req.on("error", () => undefined);
    req.write(head);
    req.write(randomBytes(100_000));
    await hangUpMidUpload(req, tmpDir);
    expect(await blobCount()).toBe(before);
    expect(await artifactEvents(name)).toEqual([]);
  });

  it("verify re-hashes blobs: exit 0 when sound, non-zero naming the sha of a corrupted or missing one", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(10_000);
    await put(name, 1, "verify-me.bin", bytes);
    const doomed = Buffer.from(`to be deleted ${provider}`);
    await put(name, 1, "doomed.bin", doomed);
    const env = cliEnv();
    const ok: string[] = [];
    expect(await runVerify([], env, (l) => ok.push(l))).toBe(0);
    expect(ok.at(-1)).toMatch(/^OK: /);

    const file = folderStore(server.registro).pathOf(sha256(bytes));
    const fd = openSync(file, "r+");
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, 5000);
    writeSync(fd, Buffer.from([one[0]! ^ 0xff]), 0, 1, 5000);
    closeSync(fd);
    rmSync(folderStore(server.registro).pathOf(sha256(doomed)));

    const out: string[] = [];
    expect(await runVerify([], env, (l) => out.push(l))).toBe(1);
    const text = out.join("\n");
    expect(text).toContain(`CORRUPT ${sha256(bytes)}`);
    expect(text).toContain(`MISSING ${sha256(doomed)}`);
    expect(text).toContain("doomed.bin");
    // Repair both for the other tests: a re-upload of the same bytes heals the stored copy.
    await server.registro.blobs.put(Readable.from([bytes]));
    await server.registro.blobs.put(Readable.from([doomed]));
  });

  it("gc removes only unreferenced blobs older than the retention, dry run by default", async () => {
    const name = await pendingModel();
    const kept = Buffer.from(`referenced ${provider}`);
    await put(name, 1, "kept.bin", kept);
    // Referenced by a version that is later deleted: still restorable, so still kept.
    await versionMutation("deleteModelVersion", { name, version: 1 });
    const orphan = await server.registro.blobs.put(
      Readable.from([Buffer.from(`never attached ${provider}`)]),
    );
    const env = cliEnv();

    // Pointed at another store (another registry's, or a host's own folder), both tools refuse:
    // every blob there would look unreferenced to gc, and every artifact missing to verify.
    const elsewhere = { ...env, ARTIFACT_DIR: path.join(server.dataDir, "another-store") };
    // One at a time: a second rejection while the first is awaited would go unhandled.
    for (const tool of [
      () => runGc(["--older-than", "0s", "--delete"], elsewhere, () => {}),
      () => runVerify([], elsewhere, () => {}),
    ])
      await expect(tool()).rejects.toThrow(/is not the one this database's artifacts live in/);

    const young: string[] = [];
    expect(await runGc(["--older-than", "7d", "--delete"], env, (l) => young.push(l))).toBe(0);
    expect(await server.registro.blobs.has(orphan.sha256)).toBe(true);

    // Just landed: an upload may be about to reference it, so even a zero retention keeps it.
    const landing: string[] = [];
    expect(await runGc(["--older-than", "0s", "--delete"], env, (l) => landing.push(l))).toBe(0);
    expect(landing.join("\n")).not.toContain(orphan.sha256);
    expect(await server.registro.blobs.has(orphan.sha256)).toBe(true);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(folderStore(server.registro).pathOf(orphan.sha256), anHourAgo, anHourAgo);

    const dry: string[] = [];
    expect(await runGc(["--older-than", "0s"], env, (l) => dry.push(l))).toBe(0);
    expect(dry.join("\n")).toContain(`would delete ${orphan.sha256}`);
    expect(await server.registro.blobs.has(orphan.sha256)).toBe(true);

    const real: string[] = [];
    expect(await runGc(["--older-than", "0s", "--delete"], env, (l) => real.push(l))).toBe(0);
    expect(real.join("\n")).toContain(`deleted ${orphan.sha256}`);
    expect(await server.registro.blobs.has(orphan.sha256)).toBe(false);
    expect(await server.registro.blobs.has(sha256(kept))).toBe(true);
    await versionMutation("restoreModelVersion", { name, version: 1 });
    expect(await (await fetch(artifactUrl(name, 1, "kept.bin"))).text()).toBe(`referenced ${provider}`);
  });
});

describe.each(await providers())("artifact storage across a restart on %s", (provider) => {
  it("removes temp files of uploads interrupted by a crash when a server starts, not those of live instances", async () => {
    const database = await createTestDatabase(provider);
    const dataDir = path.join(tmpdir(), `registro-restart-${randomBytes(4).toString("hex")}`);
    const blobsDir = path.join(dataDir, "blobs");
    const logger = pino({ level: "silent" });
    try {
      const first = await createRegistro({ database: database.config, dataDir, logger });
      await first.blobs.put(Readable.from([Buffer.from("complete")]));
      await first.close();
      // What a process killed mid-upload leaves behind: a partial temp file, no blob, no event.
      const crashed = await startUploadingProcess(blobsDir);
      await crashed.kill();
      // Another instance sharing the folder, halfway through an upload of its own.
      const live = await startUploadingProcess(blobsDir);
      try {
        const second = await createRegistro({ database: database.config, dataDir, logger });
        try {
          expect(existsSync(crashed.tmpDir)).toBe(false);
          expect(partFiles(live.tmpDir)).toHaveLength(1);
          expect(await second.blobs.has(sha256("complete"))).toBe(true);
          const stored = await live.finish();
          expect(await second.blobs.has(stored)).toBe(true);
          const events = await second.db.reader.event.count({
            where: { eventType: { name: "ModelVersionArtifactAdded" } },
          });
          expect(events).toBe(0);
        } finally {
          await second.close();
        }
      } finally {
        await live.kill().catch(() => undefined);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await database.destroy();
    }
  });
});
