// Two Registro processes on one PostgreSQL database sharing one bucket (s3rver), as in
// docs/operations.md: bytes uploaded through one are served by the other with the same headers, a
// wrong digest stores nothing, gc leaves another instance's upload in flight alone, an instance
// killed mid-upload leaves nothing visible, an instance with its own folder is refused at start,
// presigned downloads redirect to a URL that serves the bytes, and without the bucket transfers fail
// while events go on. The tests run in order on the same
// instances (A is killed in the fourth). Removing a dead instance's temporary space takes its
// heartbeat going a day stale, which is not a setting, so here only its being left alone is shown.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";
import { startS3Server } from "../support/s3Server.ts";
import type { S3TestServer } from "../support/s3Server.ts";
import { startServerProcess } from "../support/serverProcess.ts";
import type { ServerProcess } from "../support/serverProcess.ts";

const postgres = (await providers()).includes("postgresql");

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const reprDigest = (hex: string) => `sha-256=:${Buffer.from(hex, "hex").toString("base64")}:`;
const blobKey = (hex: string) => `sha256/${hex.slice(0, 2)}/${hex}`;

/** A PUT whose body the test writes itself, so it can stop (or die) halfway through. */
function streamingPut(url: string, target: string, size: number, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  const request = http.request({
    hostname,
    port,
    method: "PUT",
    path: target,
    headers: { "content-length": size, ...headers },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on("response", (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += String(chunk)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.on("error", reject);
  });
  // Tests that kill the server, or fail before the answer, must not leave a rejection unhandled.
  answer.catch(() => undefined);
  const write = (chunk: Buffer) =>
    new Promise<void>((resolve, reject) =>
      request.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
  return { request, answer, write };
}

describe.skipIf(!postgres)("two instances on one PostgreSQL database and one bucket", () => {
  let database: TestDatabase;
  let s3: S3TestServer;
  let bucket: S3Client;
  let databaseUrl: string;
  const servers: ServerProcess[] = [];
  const folders: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  const folder = () => {
    const dir = mkdtempSync(path.join(tmpdir(), "registro-object-store-"));
    folders.push(dir);
    return dir;
  };
  /** The instances' settings: the shared database and bucket, parts of S3's minimum size. */
  const settings = () => ({
    ...s3.env,
    S3_PART_SIZE: "5MiB",
    DATABASE_URL: databaseUrl,
    DATA_DIR: folder(),
    LOG_LEVEL: "warn",
  });
  const start = async (extra: Record<string, string> = {}) => {
    const server = await startServerProcess({ ...settings(), ...extra });
    servers.push(server);
    return server;
  };
  const keys = async (): Promise<string[]> => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await bucket.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
      token = page.NextContinuationToken;
    } while (token);
    return found.sort();
  };
  const graphql = async (server: ServerProcess, query: string) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  const artifactPaths = async (server: ServerProcess, version: number) => {
    const data = (await graphql(
      server,
      `{ modelVersion(name: "shared", version: ${version}) { artifacts { path } } }`,
    )) as { modelVersion: { artifacts: { path: string }[] } };
    return data.modelVersion.artifacts.map((artifact) => artifact.path);
  };
  const put = (server: ServerProcess, target: string, body: Buffer, digest: string) =>
    fetch(`${server.url}${target}`, {
      method: "PUT",
      body: new Uint8Array(body),
      headers: { "x-checksum-sha256": digest },
    });

  beforeAll(async () => {
    [database, s3] = await Promise.all([createTestDatabase("postgresql"), startS3Server()]);
    databaseUrl = (database.config as { url: string }).url;
    bucket = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    // Together, on a service that ignores If-None-Match (s3rver): the database picks the store's id
    // on a first start, so both write the same one.
    [a, b] = await Promise.all([start(), start()]);
    await graphql(
      a,
      `
        mutation {
          createRegisteredModel(input: { name: "shared" }) {
            __typename
          }
        }
      `,
    );
    for (let i = 0; i < 2; i++)
      await graphql(
        a,
        `
          mutation {
            createModelVersion(input: { name: "shared", source: "s3://x", pendingArtifacts: true }) {
              __typename
            }
          }
        `,
      );
  });
  afterAll(async () => {
    await Promise.all(
      servers
        .filter((server) => server.child.exitCode === null && server.child.signalCode === null)
        .map(async (server) => {
          const exited = new Promise((resolve) => server.child.once("exit", resolve));
          server.child.kill("SIGTERM");
          await exited;
        }),
    );
    bucket?.destroy();
    await s3?.close();
    await database?.destroy();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  const model = randomBytes(11 * MiB + 123);
  const modelSha = sha256(model);

  it("serves through one instance what was uploaded through the other, whole and by range, with the same headers", async () => {
    const uploaded = await put(a, "/artifacts/shared/1/model.bin", model, modelSha);
    expect(uploaded.status).toBe(201);
    expect(await keys()).toContain(blobKey(modelSha));

    const fromB = await fetch(`${b.url}/artifacts/shared/1/model.bin`);
    expect(fromB.status).toBe(200);
    expect(sha256(Buffer.from(await fromB.arrayBuffer()))).toBe(modelSha);
    const fromA = await fetch(`${a.url}/artifacts/shared/1/model.bin`);
    await fromA.arrayBuffer();
    for (const response of [fromA, fromB]) {
      expect(response.headers.get("etag")).toBe(`"${modelSha}"`);
      expect(response.headers.get("repr-digest")).toBe(reprDigest(modelSha));
      expect(response.headers.get("content-length")).toBe(String(model.length));
    }

    const range = "bytes=5242800-5242999"; // across the boundary of the first part
    const partB = await fetch(`${b.url}/artifacts/shared/1/model.bin`, { headers: { range } });
    const partA = await fetch(`${a.url}/artifacts/shared/1/model.bin`, { headers: { range } });
    expect(partB.status).toBe(206);
    expect(Buffer.from(await partB.arrayBuffer())).toEqual(model.subarray(5242800, 5243000));
    await partA.arrayBuffer();
    for (const response of [partA, partB]) {
      expect(response.headers.get("content-range")).toBe(`bytes 5242800-5242999/${model.length}`);
      expect(response.headers.get("etag")).toBe(`"${modelSha}"`);
      expect(response.headers.get("repr-digest")).toBe(reprDigest(modelSha));
    }
  });

  it("refuses bytes that do not match the declared digest, and stores nothing", async () => {
    const bytes = randomBytes(6 * MiB);
    const declared = sha256(randomBytes(16));
    const before = await keys();
    const refused = await put(b, "/artifacts/shared/1/wrong.bin", bytes, declared);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    const after = (await keys()).filter((key) => !key.startsWith("tmp/"));
    expect(after).toEqual(before.filter((key) => !key.startsWith("tmp/")));
    expect(after).not.toContain(blobKey(sha256(bytes)));
    expect(after).not.toContain(blobKey(declared));
    expect(await artifactPaths(a, 1)).toEqual(["model.bin"]);
  });

  it("garbage collection leaves another instance's upload in flight alone", async () => {
    const bytes = randomBytes(12 * MiB);
    // No announced digest: the bytes go to A's temporary space, which gc must recognise as live.
    const upload = streamingPut(a.url, "/artifacts/shared/1/inflight.bin", bytes.length);
    await upload.write(bytes.subarray(0, 7 * MiB));
    const heartbeats = async () => (await keys()).filter((key) => key.startsWith("tmp/instances/"));
    const live = await eventually(
      async () => {
        const found = await heartbeats();
        return found.length > 0 ? found : null;
      },
      10_000,
      "A's heartbeat",
    );

    // As an operator runs it: another process, with the instances' settings and credentials.
    const gc = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/gcArtifacts.ts", "--older-than", "0s", "--delete"],
      { cwd: ROOT, env: { ...process.env, ...settings() } },
    );
    expect(gc.stdout).toMatch(/referenced blobs kept/);
    // A live instance's temporary space is not a gone instance's leftovers.
    expect(await heartbeats()).toEqual(live);

    await upload.write(bytes.subarray(7 * MiB));
    upload.request.end();
    expect((await upload.answer).status).toBe(201);
    const served = await fetch(`${b.url}/artifacts/shared/1/inflight.bin`);
    expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(sha256(bytes));
    // The referenced blob of the first test is still there too.
    expect(await keys()).toContain(blobKey(modelSha));
  });

  it("an instance killed mid-upload leaves nothing visible, only its temporary space", async () => {
    const bytes = randomBytes(12 * MiB);
    const visible = async () => (await keys()).filter((key) => !key.startsWith("tmp/"));
    const before = await visible();
    const upload = streamingPut(a.url, "/artifacts/shared/2/crash.bin", bytes.length, {
      "x-checksum-sha256": sha256(bytes),
    });
    await upload.write(bytes.subarray(0, 7 * MiB));
    const killed = new Promise((resolve) => a.child.once("exit", resolve));
    a.child.kill("SIGKILL");
    await killed;
    upload.request.destroy();

    expect(await visible()).toEqual(before);
    expect(await artifactPaths(b, 2)).toEqual([]);
    // The same bytes, sent again through the surviving instance, land whole.
    expect((await put(b, "/artifacts/shared/2/crash.bin", bytes, sha256(bytes))).status).toBe(201);
    expect(await artifactPaths(b, 2)).toEqual(["crash.bin"]);
  });

  it("refuses to start an instance whose blob store is a folder, naming both stores", async () => {
    const refused = startServerProcess({
      DATABASE_URL: databaseUrl,
      DATA_DIR: folder(),
      BLOB_STORE: "filesystem",
      LOG_LEVEL: "warn",
    });
    await expect(refused).rejects.toThrow(/filesystem .*s3:\/\/registro-test/s);
  });

  it("with presigned downloads, answers 307 to a URL that serves the bytes", async () => {
    const c = await start({ S3_PRESIGNED_DOWNLOADS: "60s" });
    const redirect = await fetch(`${c.url}/artifacts/shared/1/model.bin`, { redirect: "manual" });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("etag")).toBe(`"${modelSha}"`);
    const location = redirect.headers.get("location")!;
    expect(location.startsWith(s3.endpoint)).toBe(true);
    const bytes = await fetch(location);
    expect(bytes.status).toBe(200);
    expect(sha256(Buffer.from(await bytes.arrayBuffer()))).toBe(modelSha);
    const part = await fetch(location, { headers: { range: "bytes=0-99" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(model.subarray(0, 100));
  });

  it("when the bucket goes away, transfers fail and /readyz says so, while the registry's events go on", async () => {
    await s3.close();
    // An answer, not a hang nor a cut connection: a typed error worth retrying.
    const download = await fetch(`${b.url}/artifacts/shared/1/model.bin`);
    expect(download.status).toBe(503);
    expect(download.headers.get("retry-after")).toBe("5");
    expect(((await download.json()) as { error: { code: string } }).error.code).toBe(
      "BLOB_STORE_UNAVAILABLE",
    );
    const upload = await fetch(`${b.url}/artifacts/shared/1/other.bin`, { method: "PUT", body: "bytes" });
    expect(upload.status).toBe(503);
    expect(((await upload.json()) as { error: { code: string } }).error.code).toBe("BLOB_STORE_UNAVAILABLE");
    // GraphQL: the field that reads the store says so; the rest of the answer stands.
    const integrity = await fetch(`${b.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: '{ modelVersion(name: "shared", version: 1) { version artifacts { path integrity } } }',
      }),
    });
    const answer = (await integrity.json()) as {
      data: { modelVersion: { version: number } | null } | null;
      errors?: { extensions: { code: string } }[];
    };
    expect(answer.errors?.map((e) => e.extensions.code)).toContain("BLOB_STORE_UNAVAILABLE");
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(503);
    const report = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    expect(report.checks.blobStore?.ok).toBe(false);
    expect(report.checks.database?.ok).toBe(true);
    const tagged = (await graphql(
      b,
      `
        mutation {
          setRegisteredModelTag(input: { name: "shared", key: "bucket", value: "down" }) {
            __typename
          }
        }
      `,
    )) as { setRegisteredModelTag: { __typename: string } };
    expect(tagged.setRegisteredModelTag.__typename).toBe("RegisteredModelPayload");
  });
});
