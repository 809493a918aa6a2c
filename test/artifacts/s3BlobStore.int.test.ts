// What only the S3 store does, on s3rver: multipart uploads straight to the blob key, the checksum
// a single PUT carries, copies part by part, heartbeats and the cleanup of gone instances' temp
// space, presigned downloads, and memory that stays flat however big the upload.
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer, text } from "node:stream/consumers";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { UploadPartCopyCommandInput } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ArtifactDigestMismatchError,
  BlobNotFoundError,
  isBlobStoreUnavailable,
} from "../../src/artifacts/errors.ts";
import type { S3BlobStoreOptions } from "../../src/artifacts/s3BlobStore.ts";
import { S3BlobStore } from "../../src/artifacts/s3BlobStore.ts";
import type { S3TestServer } from "../support/s3Server.ts";
import { startS3Server } from "../support/s3Server.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const MiB = 2 ** 20;

let s3: S3TestServer;
let localTempDir: string;
let prefixes = 0;
const opened: S3BlobStore[] = [];
const clients: S3Client[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  localTempDir = mkdtempSync(path.join(tmpdir(), "registro-s3-local-"));
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const client of clients.splice(0)) client.destroy();
});
afterAll(async () => {
  await s3.close();
  rmSync(localTempDir, { recursive: true, force: true });
});

const newPrefix = () => `s3-${++prefixes}/`;

function openStore(options: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
  const store = new S3BlobStore({
    bucket: s3.bucket,
    prefix: newPrefix(),
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    partSizeBytes: 5 * MiB,
    credentials: s3.credentials,
    localTempDir,
    ...options,
  });
  opened.push(store);
  return store;
}

/** A client of our own (for spying middleware), configured as the store would be. */
function newClient(): S3Client {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: s3.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  clients.push(client);
  return client;
}

interface Sent {
  readonly command: string;
  readonly key: string | undefined;
  readonly headers: Record<string, string>;
}

/** Records every request the client sends (command name, key, HTTP headers). */
function spy(client: S3Client): Sent[] {
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      const { headers } = args.request as { headers: Record<string, string> };
      const { Key } = args.input as { Key?: string };
      sent.push({ command: context.commandName ?? "?", key: Key, headers: { ...headers } });
      return next(args);
    },
    { step: "finalizeRequest", name: "testSpy" },
  );
  return sent;
}

async function keys(prefix: string): Promise<string[]> {
  const client = newClient();
  const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!.slice(prefix.length)).sort();
}

async function putRaw(key: string, body: string | Buffer = "x"): Promise<void> {
  await newClient().send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/** `total` bytes in chunks as a socket would deliver them, each chunk's bytes set from its index. */
function* chunks(total: number, chunkSize: number, seed = 0): Generator<Buffer> {
  for (let offset = 0, i = seed; offset < total; offset += chunkSize, i++)
    yield Buffer.allocUnsafe(Math.min(chunkSize, total - offset)).fill(i & 255);
}

async function digestOf(source: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of source) hash.update(chunk);
  return hash.digest("hex");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("S3BlobStore", () => {
  it("names its place, and refuses settings it cannot work with", () => {
    const store = openStore({ prefix: "team-a/" });
    expect(store.location).toBe(`s3://${s3.bucket}/team-a/ at ${s3.endpoint}`);
    expect(store.instanceId).toMatch(/^[A-Za-z0-9._-]+-\d+-[0-9a-f]{8}$/);
    const base = {
      bucket: "b",
      region: "us-east-1",
      forcePathStyle: true,
      partSizeBytes: 5 * MiB,
      localTempDir,
    };
    expect(() => new S3BlobStore({ ...base, prefix: "no-slash" })).toThrow(/prefix/);
    expect(() => new S3BlobStore({ ...base, prefix: "", instanceId: "../x" })).toThrow(/instance id/);
    expect(new S3BlobStore({ ...base, prefix: "" }).location).toBe("s3://b/");
  });

  it("sends the digest as the object's checksum on a single PUT, and not on the parts of a multipart upload", async () => {
    const client = newClient();
    const sent = spy(client);
    const store = openStore({ client });
    const small = Buffer.from("small and known");
    await store.put(Readable.from([small]), { expectedSha256: sha256(small) });
    const put = sent.filter((request) => request.command === "PutObjectCommand");
    expect(put).toHaveLength(1);
    expect(put[0]!.key).toBe(`${store.prefix}sha256/${sha256(small).slice(0, 2)}/${sha256(small)}`);
    expect(put[0]!.headers["x-amz-checksum-sha256"]).toBe(
      Buffer.from(sha256(small), "hex").toString("base64"),
    );

    sent.length = 0;
    const size = 12 * MiB + 5;
    const digest = await digestOf(chunks(size, 64 * 1024));
    expect(await store.put(Readable.from(chunks(size, 64 * 1024)), { expectedSha256: digest })).toEqual({
      sha256: digest,
      size,
      created: true,
    });
    const commands = sent.map((request) => request.command);
    expect(commands.filter((command) => command === "UploadPartCommand")).toHaveLength(3);
    expect(commands).toContain("CompleteMultipartUploadCommand");
    expect(commands).not.toContain("PutObjectCommand");
    expect(sent.every((request) => request.headers["x-amz-checksum-sha256"] === undefined)).toBe(true);
    expect(await digestOf((await store.open(digest)) as AsyncIterable<Buffer>)).toBe(digest);
    // Nothing went through a temp object (and no heartbeat was needed).
    expect(await keys(store.prefix)).toEqual(
      [
        `sha256/${digest.slice(0, 2)}/${digest}`,
        `sha256/${sha256(small).slice(0, 2)}/${sha256(small)}`,
      ].sort(),
    );
  });

  it("leaves no object when a multipart upload fails, reporting the stream's error (s3rver cannot even abort it)", async () => {
    const store = openStore();
    const size = 12 * MiB;
    const mismatch = await store
      .put(Readable.from(chunks(size, 64 * 1024)), { expectedSha256: sha256("something else") })
      .catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(ArtifactDigestMismatchError);
    expect(mismatch).toMatchObject({ actual: await digestOf(chunks(size, 64 * 1024)) });

    async function* breaksAfterTwoParts() {
      yield* chunks(11 * MiB, 64 * 1024);
      await sleep(5);
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    await expect(store.put(breaksAfterTwoParts(), { expectedSha256: sha256("x") })).rejects.toThrow(
      "socket hang up",
    );
    await expect(store.put(breaksAfterTwoParts())).rejects.toThrow("socket hang up");
    expect(await keys(store.prefix)).toEqual([`tmp/instances/${store.instanceId}`]);
  });

  describe("copying an object too big for CopyObject", () => {
    /**
     * s3rver has no UploadPartCopy: this client does it the long way (a ranged GET, then
     * UploadPart), so the result can be checked byte for byte.
     */
    function clientCopyingByHand(failOnPart?: number): { client: S3Client; ranges: string[]; sent: Sent[] } {
      const client = newClient();
      const sent = spy(client);
      const ranges: string[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== "UploadPartCopyCommand") return next(args);
          const input = args.input as UploadPartCopyCommandInput;
          ranges.push(input.CopySourceRange!);
          if (input.PartNumber === failOnPart) throw new Error("copy part failed");
          const sourceKey = decodeURIComponent(input.CopySource!.slice(`${s3.bucket}/`.length));
          const source = await client.send(
            new GetObjectCommand({ Bucket: s3.bucket, Key: sourceKey, Range: input.CopySourceRange }),
          );
          const part = await client.send(
            new UploadPartCommand({
              Bucket: input.Bucket,
              Key: input.Key,
              UploadId: input.UploadId,
              PartNumber: input.PartNumber,
              Body: await source.Body!.transformToByteArray(),
            }),
          );
          return { output: { CopyPartResult: { ETag: part.ETag }, $metadata: {} }, response: {} };
        },
        { step: "initialize", name: "uploadPartCopyByHand" },
      );
      return { client, ranges, sent };
    }

    it("copies part by part above the threshold", async () => {
      const { client, ranges } = clientCopyingByHand();
      const store = openStore({ client, multipartCopyThresholdBytes: 1000, copyPartSizeBytes: 4000 });
      const content = randomBytes(10_500);
      const stored = await store.put(Readable.from([content]));
      expect(stored).toEqual({ sha256: sha256(content), size: 10_500, created: true });
      expect(ranges).toEqual(["bytes=0-3999", "bytes=4000-7999", "bytes=8000-10499"]);
      expect((await buffer(await store.open(stored.sha256))).equals(content)).toBe(true);
      expect(await keys(store.prefix)).toEqual([
        `sha256/${stored.sha256.slice(0, 2)}/${stored.sha256}`,
        `tmp/instances/${store.instanceId}`,
      ]);
      // At the threshold, one CopyObject does.
      ranges.length = 0;
      await store.put(Readable.from([randomBytes(1000)]));
      expect(ranges).toEqual([]);
    });

    it("abandons the copy and the temp object when a part fails", async () => {
      const { client, sent } = clientCopyingByHand(2);
      const store = openStore({ client, multipartCopyThresholdBytes: 1000, copyPartSizeBytes: 4000 });
      const content = randomBytes(10_500);
      await expect(store.put(Readable.from([content]))).rejects.toThrow("copy part failed");
      expect(await store.has(sha256(content))).toBe(false);
      expect(sent.map((request) => request.command)).toContain("AbortMultipartUploadCommand");
      expect(await keys(store.prefix)).toEqual([`tmp/instances/${store.instanceId}`]);
    });
  });

  it("reports a missing bucket as an error, not as missing blobs", async () => {
    const store = openStore({ bucket: "no-such-bucket" });
    const error = await store.open(sha256("x")).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "NoSuchBucket" });
    await expect(store.probeWritable()).rejects.toMatchObject({ name: "NoSuchBucket" });
  });

  it("lists only well-formed blob keys", async () => {
    const store = openStore();
    const stored = await store.put(Readable.from([Buffer.from("listed")]));
    const digest = sha256("stray");
    await putRaw(`${store.prefix}sha256/zz/${digest}`);
    await putRaw(`${store.prefix}sha256/${digest.slice(0, 2)}/${digest}.part`);
    await putRaw(`${store.prefix}sha256/${digest}`);
    await putRaw(`${store.prefix}sha256/${digest.slice(0, 2)}/${digest}/x`);
    const listed = [];
    for await (const blob of store.list()) listed.push(blob);
    expect(listed).toEqual([{ sha256: stored.sha256, size: 6, modifiedAt: expect.any(Date) as Date }]);
  });

  it("removes temp objects of gone instances only, and keeps a heartbeat while open", async () => {
    const prefix = newPrefix();
    const abandonedAfterMs = 3000;
    const cleaner = openStore({ prefix, abandonedAfterMs });
    const live = openStore({ prefix, heartbeatMs: 200, abandonedAfterMs });
    // An upload without a digest starts the live instance's heartbeat; then one is "in flight".
    await live.put(Readable.from([Buffer.from("live")]));
    await putRaw(`${live.tmpDir}in-flight`);
    // The cleaner's own temp space is never its own victim, heartbeat or not.
    await putRaw(`${cleaner.tmpDir}own`);
    // Gone without a trace: temp objects, no heartbeat.
    await putRaw(`${prefix}tmp/vanished-1-aaaa/upload`);
    // Gone but recently seen: its heartbeat is fresh, for now.
    await putRaw(`${prefix}tmp/instances/silent-2-bbbb`);
    await putRaw(`${prefix}tmp/silent-2-bbbb/upload-1`);
    await putRaw(`${prefix}tmp/silent-2-bbbb/upload-2`);

    expect(await cleaner.cleanTemporaryFiles()).toBe(1);
    expect(await keys(`${prefix}tmp/`)).toEqual(
      [
        `${cleaner.instanceId}/own`,
        `${live.instanceId}/in-flight`,
        `instances/${live.instanceId}`,
        "instances/silent-2-bbbb",
        "silent-2-bbbb/upload-1",
        "silent-2-bbbb/upload-2",
      ].sort(),
    );

    // Silent for longer than abandonedAfterMs (LastModified counts whole seconds); the live
    // instance kept beating meanwhile.
    await sleep(abandonedAfterMs + 1200);
    const heartbeat = await newClient().send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}tmp/instances/${live.instanceId}` }),
    );
    expect(Date.now() - heartbeat.LastModified!.getTime()).toBeLessThan(abandonedAfterMs);
    // Two temp objects and the stale heartbeat.
    expect(await cleaner.cleanTemporaryFiles()).toBe(3);
    expect(await keys(`${prefix}tmp/`)).toEqual(
      [`${cleaner.instanceId}/own`, `${live.instanceId}/in-flight`, `instances/${live.instanceId}`].sort(),
    );

    // Closing takes the instance's temp space and heartbeat with it.
    await live.close();
    expect(await keys(`${prefix}tmp/`)).toEqual([`${cleaner.instanceId}/own`]);
  });

  it("keeps a local copy of an upload for the inspection that follows, once, and none of a refused one", async () => {
    const local = mkdtempSync(path.join(tmpdir(), "registro-s3-spool-"));
    try {
      const prefix = newPrefix();
      const store = openStore({ prefix, localTempDir: local });
      const bytes = randomBytes(6 * MiB + 17);
      for (const announced of [undefined, sha256(bytes)]) {
        const blob = await store.put(Readable.from([bytes]), {
          keepLocalCopy: true,
          ...(announced === undefined ? {} : { expectedSha256: announced }),
        });
        // Gone from the bucket behind the store's back: only the local copy can answer.
        await newClient().send(
          new DeleteObjectCommand({
            Bucket: s3.bucket,
            Key: `${prefix}sha256/${blob.sha256.slice(0, 2)}/${blob.sha256}`,
          }),
        );
        const read = await store.withLocalFile(blob.sha256, (file) => Promise.resolve(readFileSync(file)));
        expect(sha256(read)).toBe(blob.sha256);
        expect(readdirSync(local)).toEqual([]);
        // Taken once: the next read goes to the bucket.
        await expect(store.withLocalFile(blob.sha256, () => Promise.resolve(null))).rejects.toBeInstanceOf(
          BlobNotFoundError,
        );
      }
      await expect(
        store.put(Readable.from([bytes]), { keepLocalCopy: true, expectedSha256: sha256("other bytes") }),
      ).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
      await expect(store.put(Readable.from([bytes]), { keepLocalCopy: true, maxBytes: MiB })).rejects.toThrow(
        /exceeds the limit/,
      );
      expect(readdirSync(local)).toEqual([]);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("fails, instead of hanging, against a service that accepts connections and never answers", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const sockets = new Set<net.Socket>();
    silent.on("connection", (socket) => sockets.add(socket));
    try {
      const store = openStore({
        endpoint: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
        idleTimeoutMs: 300,
      });
      const failed = await store.stat(sha256("anything")).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(Error);
      expect(isBlobStoreUnavailable(failed)).toBe(true);
      await expect(store.put(Readable.from([Buffer.from("bytes")]))).rejects.toSatisfy(
        isBlobStoreUnavailable,
      );
      // Shutting down does not wait on it either.
      await store.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("fails, instead of waiting forever, when the service stops sending a body halfway", async () => {
    // Headers and a tenth of the body, then silence, on every request.
    const stalling = http.createServer((request, response) => {
      response.writeHead(200, { "content-length": "1000", "content-type": "application/octet-stream" });
      if (request.method === "HEAD") response.end();
      else response.write(Buffer.alloc(100));
    });
    await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
    try {
      const store = openStore({
        endpoint: `http://127.0.0.1:${(stalling.address() as net.AddressInfo).port}`,
        idleTimeoutMs: 300,
      });
      const digest = sha256("anything");
      await expect(buffer(await store.open(digest))).rejects.toThrow(/inactivity|timed out/);
      await expect(store.withLocalFile(digest, () => Promise.resolve("used"))).rejects.toThrow(
        /inactivity|timed out/,
      );
      await store.close();
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it("removes local copies left by an inspection whose process died, not those in use", async () => {
    const local = mkdtempSync(path.join(tmpdir(), "registro-s3-inspection-"));
    try {
      const store = openStore({ localTempDir: local });
      const old = path.join(local, "0123456789ab-dead.blob");
      writeFileSync(old, "left by a killed process");
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(old, twoHoursAgo, twoHoursAgo);
      writeFileSync(path.join(local, "0123456789ab-live.blob"), "being inspected right now");
      writeFileSync(path.join(local, "notes.txt"), "not ours");
      utimesSync(path.join(local, "notes.txt"), twoHoursAgo, twoHoursAgo);
      expect(await store.cleanTemporaryFiles()).toBe(1);
      expect(existsSync(old)).toBe(false);
      expect(readdirSync(local).sort()).toEqual(["0123456789ab-live.blob", "notes.txt"]);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("aborts the multipart uploads of gone instances and old ones to blob keys, where the service lists them", async () => {
    // s3rver cannot list or abort multipart uploads: this client answers for it, as S3 would.
    const prefix = newPrefix();
    const client = newClient();
    const day = 24 * 60 * 60 * 1000;
    const blobKey = (text: string) => `${prefix}sha256/${sha256(text).slice(0, 2)}/${sha256(text)}`;
    const uploads = [
      { Key: `${prefix}tmp/vanished-1-aaaa/u1`, UploadId: "gone", Initiated: new Date() },
      { Key: `${prefix}tmp/LIVE/u2`, UploadId: "live", Initiated: new Date(Date.now() - 2 * day) },
      { Key: `${prefix}tmp/SELF/u3`, UploadId: "own", Initiated: new Date(Date.now() - 2 * day) },
      { Key: blobKey("old"), UploadId: "old", Initiated: new Date(Date.now() - 2 * day) },
      { Key: blobKey("recent"), UploadId: "recent", Initiated: new Date(Date.now() - 60_000) },
    ];
    const aborted: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { Prefix?: string; UploadId?: string };
        if (context.commandName === "ListMultipartUploadsCommand") {
          const Uploads = uploads.filter((upload) => upload.Key.startsWith(input.Prefix ?? ""));
          return Promise.resolve({
            output: { Uploads, IsTruncated: false, $metadata: {} },
            response: {},
          } as never);
        }
        if (context.commandName === "AbortMultipartUploadCommand") {
          aborted.push(input.UploadId!);
          return Promise.resolve({ output: { $metadata: {} }, response: {} } as never);
        }
        return next(args);
      },
      { step: "initialize", name: "multipartUploadsByHand" },
    );
    const live = openStore({ prefix, instanceId: "LIVE" });
    await live.put(Readable.from([Buffer.from("beating")]));
    const store = openStore({ prefix, client, instanceId: "SELF" });
    expect(await store.cleanTemporaryFiles()).toBe(2);
    expect(aborted.sort()).toEqual(["gone", "old"]);
  });

  it("presigns downloads that answer with the requested headers, whole or by range", async () => {
    const store = openStore();
    const stored = await store.put(Readable.from([Buffer.from("presigned bytes")]));
    const url = await store.presignDownload(stored.sha256, {
      expiresInSeconds: 60,
      contentType: "application/x-test",
      contentDisposition: 'attachment; filename="model.bin"',
    });
    expect(url).toMatch(new RegExp(`^${s3.endpoint}/${s3.bucket}/${store.prefix}sha256/`));
    const whole = await fetch(url!);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("application/x-test");
    expect(whole.headers.get("content-disposition")).toBe('attachment; filename="model.bin"');
    expect(await whole.text()).toBe("presigned bytes");
    const part = await fetch(url!, { headers: { range: "bytes=10-14" } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe("bytes");
    // s3rver checks no V4 signature, so refusals of tampered or expired URLs cannot be shown here;
    // what the service would check is in the URL.
    const query = new URL(url!).searchParams;
    expect(query.get("X-Amz-Expires")).toBe("60");
    expect(query.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(query.get("X-Amz-SignedHeaders")).toBe("host");
  });

  it("keeps memory flat through a 200 MB streamed upload", async () => {
    const store = openStore();
    // Warm up: code loaded, buffers and sockets in place.
    await store.put(Readable.from(chunks(12 * MiB, 64 * 1024, 7)));
    const size = 200 * MiB;
    const digest = await digestOf(chunks(size, 64 * 1024));
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    try {
      const stored = await store.put(Readable.from(chunks(size, 64 * 1024)), { expectedSha256: digest });
      expect(stored).toEqual({ sha256: digest, size, created: true });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(peak - baseline).toBeLessThan(64 * MiB);
    expect(await store.stat(digest)).toMatchObject({ size });
    expect(await text(await store.open(digest, { start: size - 3, end: size - 1 }))).toHaveLength(3);
  });
});
