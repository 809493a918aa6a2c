// Damaged artifact bytes are never served as valid, on both providers: a download that reads a
// whole blob is cut short before its last byte when the bytes do not hash to the advertised digest,
// the damage is logged, counted and recorded so that every instance refuses the blob before
// sending headers, Artifact.integrity reports it, verify names the artifacts, and uploading the
// identical file again heals it.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, truncateSync, writeSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { runVerify } from "../../src/cli/verifyArtifacts.ts";
import { providers } from "../support/databases.ts";
import { folderStore, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Flips every bit of the byte at `offset`, in place, as a failing disk or a careless hand would. */
function flipByte(file: string, offset: number) {
  const fd = openSync(file, "r+");
  try {
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, offset);
    writeSync(fd, Buffer.from([one[0]! ^ 0xff]), 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

interface RawDownload {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether the response ended normally, with every byte its Content-Length announced. */
  readonly complete: boolean;
}

/** A GET or HEAD that reports a cut-off body instead of failing, to count what arrived. */
function rawDownload(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<RawDownload> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", () => undefined);
      res.on("close", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          complete: res.complete,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe.each(await providers())("damaged artifact bytes on %s", (provider) => {
  let server: TestServer;
  const logLines: Record<string, unknown>[] = [];
  let models = 0;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    server = await startTestServer(provider, { logger: pino({ level: "warn" }, sink) });
  });
  afterAll(async () => server?.close());

  const url = (model: string, p: string) => `${server.url}/artifacts/${encodeURIComponent(model)}/1/${p}`;

  async function pendingModel(): Promise<string> {
    const name = `damaged ${provider} ${++models}`;
    const created = await server.gql(
      `mutation($n: String!) {
        createRegisteredModel(input: { name: $n }) { __typename }
        createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename }
      }`,
      { n: name },
    );
    expect(created.data).toEqual({
      createRegisteredModel: { __typename: "RegisteredModelPayload" },
      createModelVersion: { __typename: "ModelVersionPayload" },
    });
    return name;
  }

  async function put(model: string, p: string, body: Buffer, headers: Record<string, string> = {}) {
    const response = await fetch(url(model, p), { method: "PUT", body: new Uint8Array(body), headers });
    return { status: response.status, json: await response.json() };
  }

  async function integrity(model: string): Promise<Record<string, string>> {
    const result = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path integrity } } }`,
      { n: model },
    );
    expect(result.errors).toBeUndefined();
    return Object.fromEntries(
      (result.data.modelVersion.artifacts as { path: string; integrity: string }[]).map((a) => [
        a.path,
        a.integrity,
      ]),
    );
  }

  const cliEnv = () => ({
    DATABASE_URL:
      server.database.provider === "sqlite" ? `file:${server.database.file}` : server.database.url,
    DATA_DIR: server.dataDir,
  });

  async function expectRefusedBeforeHeaders(target: string, headers: Record<string, string> = {}) {
    const response = await fetch(target, { headers });
    expect(response.status).toBe(500);
    expect(response.headers.get("etag")).toBeNull();
    expect(response.headers.get("repr-digest")).toBeNull();
    const body = await response.json();
    expect(body.error).toMatchObject({ code: "BLOB_CORRUPT" });
    expect(body.error.message).toContain("npm run verify");
    expect(body.error.message).toContain("identical file");
  }

  it("cuts short every whole-file download, then refuses the blob until the identical bytes are uploaded again", async () => {
    const name = await pendingModel();
    // Several read chunks, so the body is cut after some bytes were already sent.
    const big = randomBytes(3 * 1024 * 1024 + 123);
    // One read chunk: nothing of the body may leave the server.
    const small = randomBytes(1000);
    const sound = randomBytes(500);
    for (const [p, bytes] of [
      ["weights.bin", big],
      ["config.bin", small],
      ["sound.bin", sound],
    ] as const)
      expect((await put(name, p, bytes)).status).toBe(201);
    expect(await integrity(name)).toEqual({ "config.bin": "OK", "sound.bin": "OK", "weights.bin": "OK" });
    const failuresBefore = server.registro.integrity.failures;

    flipByte(folderStore(server.registro).pathOf(sha256(big)), 2 * 1024 * 1024 + 5);
    flipByte(folderStore(server.registro).pathOf(sha256(small)), 999);

    // Nothing is known yet, and the size is right: headers-only and partial answers go out as usual
    // (a partial read cannot be checked against the digest of the whole).
    const head = await fetch(url(name, "weights.bin"), { method: "HEAD" });
    expect(head.status).toBe(200);
    const partial = await fetch(url(name, "weights.bin"), { headers: { range: "bytes=0-99" } });
    expect([partial.status, (await partial.arrayBuffer()).byteLength]).toEqual([206, 100]);

    // A full GET starts normally, with the original validators, and then fails: never a complete body.
    const full = await fetch(url(name, "weights.bin"));
    expect(full.status).toBe(200);
    expect(full.headers.get("etag")).toBe(`"${sha256(big)}"`);
    expect(full.headers.get("content-length")).toBe(String(big.length));
    await expect(full.arrayBuffer()).rejects.toThrow();

    // A range that covers the whole file is checked the same way; the one-chunk file sends nothing.
    const whole = await rawDownload(url(name, "config.bin"), { range: "bytes=0-" });
    expect(whole.status).toBe(206);
    expect(whole.headers["content-range"]).toBe("bytes 0-999/1000");
    expect(whole.complete).toBe(false);
    expect(whole.body.length).toBe(0);

    expect(server.registro.integrity.failures).toBe(failuresBefore + 2);
    const logged = logLines.filter((l) => l.sha256 === sha256(big) && l.level === 50);
    expect(logged[0]).toMatchObject({
      model: name,
      version: 1,
      path: "weights.bin",
      sha256: sha256(big),
      actual: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(logged[0]!.actual).not.toBe(sha256(big));
    expect(await integrity(name)).toEqual({
      "config.bin": "CORRUPT",
      "sound.bin": "OK",
      "weights.bin": "CORRUPT",
    });
    // Recorded in the store itself: another instance sharing the folder sees it.
    const otherInstance = new FsBlobStore(path.join(server.dataDir, "blobs"));
    expect(await otherInstance.damage(sha256(big))).toMatchObject({
      detectedBy: "download",
      size: big.length,
    });

    // From now on the blob is refused before any header, whole, partial or HEAD.
    await expectRefusedBeforeHeaders(url(name, "weights.bin"));
    await expectRefusedBeforeHeaders(url(name, "weights.bin"), { range: "bytes=0-99" });
    await expectRefusedBeforeHeaders(url(name, "weights.bin"), { range: "bytes=0-" });
    await expectRefusedBeforeHeaders(url(name, "config.bin"), { "if-none-match": `"${sha256(small)}"` });
    const refusedHead = await rawDownload(url(name, "weights.bin"), {}, "HEAD");
    expect([refusedHead.status, refusedHead.headers.etag]).toEqual([500, undefined]);
    expect(server.registro.integrity.failures).toBe(failuresBefore + 2);
    expect((await fetch(url(name, "sound.bin"))).status).toBe(200);

    // verify names the model, version and path of each damaged blob.
    const out: string[] = [];
    expect(await runVerify([], cliEnv(), (line) => out.push(line))).toBe(1);
    const report = out.join("\n");
    for (const [p, bytes] of [
      ["weights.bin", big],
      ["config.bin", small],
    ] as const)
      expect(out.find((line) => line.startsWith(`CORRUPT ${sha256(bytes)}: content hashes to `))).toContain(
        `; used by ${JSON.stringify(name)} v1 ${p}`,
      );
    expect(report).not.toContain(sha256(sound));
    const json: string[] = [];
    expect(await runVerify(["--json"], cliEnv(), (line) => json.push(line))).toBe(1);
    const parsed = JSON.parse(json.join("\n"));
    expect(parsed.ok).toBe(false);
    expect(parsed.corrupt.find((c: { sha256: string }) => c.sha256 === sha256(big)).references).toEqual([
      expect.objectContaining({ model: name, modelDeleted: false, version: 1, path: "weights.bin" }),
    ]);

    // Healing: only the identical bytes, sent to the artifact's own URL.
    const announcedOther = await put(name, "weights.bin", big, { "x-checksum-sha256": sha256(small) });
    expect([announcedOther.status, announcedOther.json.error.code]).toEqual([409, "ALREADY_EXISTS"]);
    const wrongBytes = await put(name, "weights.bin", small);
    expect([wrongBytes.status, wrongBytes.json.error]).toEqual([
      400,
      expect.objectContaining({ code: "DIGEST_MISMATCH", expected: sha256(big), actual: sha256(small) }),
    ]);
    expect(await integrity(name)).toMatchObject({ "weights.bin": "CORRUPT" });
    const healed = await put(name, "weights.bin", big);
    expect(healed.status).toBe(200);
    expect(healed.json).toMatchObject({
      healed: true,
      artifact: { path: "weights.bin", sha256: sha256(big) },
    });
    expect((await put(name, "config.bin", small)).status).toBe(200);
    // A sound artifact is still a duplicate.
    expect((await put(name, "sound.bin", sound)).json.error.code).toBe("ALREADY_EXISTS");

    expect(await integrity(name)).toEqual({ "config.bin": "OK", "sound.bin": "OK", "weights.bin": "OK" });
    expect(await otherInstance.damage(sha256(big))).toBeNull();
    const again = await fetch(url(name, "weights.bin"));
    expect(again.headers.get("etag")).toBe(`"${sha256(big)}"`);
    expect(Buffer.from(await again.arrayBuffer()).equals(big)).toBe(true);
    expect(await runVerify([], cliEnv(), () => undefined)).toBe(0);
  });

  it("refuses a blob of the wrong size before headers, even for a partial range", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(4096);
    expect((await put(name, "short.bin", bytes)).status).toBe(201);
    truncateSync(folderStore(server.registro).pathOf(sha256(bytes)), 4000);
    // Visible without any download.
    expect(await integrity(name)).toEqual({ "short.bin": "CORRUPT" });
    const failuresBefore = server.registro.integrity.failures;
    await expectRefusedBeforeHeaders(url(name, "short.bin"), { range: "bytes=10-20" });
    expect(server.registro.integrity.failures).toBe(failuresBefore + 1);
    await expectRefusedBeforeHeaders(url(name, "short.bin"), { range: "bytes=10-20" });
    expect(server.registro.integrity.failures).toBe(failuresBefore + 1);

    const out: string[] = [];
    expect(await runVerify([], cliEnv(), (line) => out.push(line))).toBe(1);
    expect(out.join("\n")).toContain(
      `CORRUPT ${sha256(bytes)}: 4000 bytes stored, 4096 recorded; used by ${JSON.stringify(name)} v1 short.bin`,
    );
    expect((await put(name, "short.bin", bytes)).status).toBe(200);
    expect(await integrity(name)).toEqual({ "short.bin": "OK" });
    expect((await fetch(url(name, "short.bin"), { headers: { range: "bytes=10-20" } })).status).toBe(206);
  });

  it("reports missing bytes as MISSING, and a re-upload restores them", async () => {
    const name = await pendingModel();
    const bytes = Buffer.from(`soon gone ${provider}`);
    expect((await put(name, "gone.bin", bytes)).status).toBe(201);
    expect(await server.registro.blobs.delete(sha256(bytes))).toBe(true);
    expect(await integrity(name)).toEqual({ "gone.bin": "MISSING" });
    const response = await fetch(url(name, "gone.bin"));
    expect([response.status, (await response.json()).error.code]).toEqual([500, "BLOB_MISSING"]);
    const out: string[] = [];
    expect(await runVerify([], cliEnv(), (line) => out.push(line))).toBe(1);
    expect(out.join("\n")).toContain(`MISSING ${sha256(bytes)}: used by ${JSON.stringify(name)} v1 gone.bin`);
    expect((await put(name, "gone.bin", bytes)).status).toBe(200);
    expect(await integrity(name)).toEqual({ "gone.bin": "OK" });
  });

  it("verify records the damage it finds and forgets it once the bytes are sound again", async () => {
    const name = await pendingModel();
    const bytes = randomBytes(2000);
    expect((await put(name, "flaky.bin", bytes)).status).toBe(201);
    const file = folderStore(server.registro).pathOf(sha256(bytes));
    flipByte(file, 10);
    expect(await runVerify([], cliEnv(), () => undefined)).toBe(1);
    expect(await integrity(name)).toEqual({ "flaky.bin": "CORRUPT" });
    await expectRefusedBeforeHeaders(url(name, "flaky.bin"));
    // Restored by other means (a backup, a re-seated disk): verify clears the record.
    flipByte(file, 10);
    const out: string[] = [];
    expect(await runVerify([], cliEnv(), (line) => out.push(line))).toBe(0);
    expect(out).toContain(`HEALED ${sha256(bytes)}: recorded as damaged, sound now`);
    expect(await integrity(name)).toEqual({ "flaky.bin": "OK" });
    expect((await fetch(url(name, "flaky.bin"))).status).toBe(200);
  });
});
