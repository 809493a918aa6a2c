// The filesystem blob store on a real folder: atomic, verified, deduplicated writes, and nothing
// visible (not even a temp file) after a failed or interrupted upload.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactDigestMismatchError,
  ArtifactTooLargeError,
  BlobNotFoundError,
} from "../../src/artifacts/errors.ts";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

let root: string;
let store: FsBlobStore;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "registro-blobs-"));
  store = new FsBlobStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A source that yields some bytes, then fails like a connection reset mid-body. */
async function* brokenSource(): AsyncGenerator<Buffer> {
  yield Buffer.alloc(64 * 1024, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  yield Buffer.alloc(64 * 1024, 2);
  throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}

describe("FsBlobStore", () => {
  it("stores content under its sha256, readable whole or by range", async () => {
    const stored = await store.put(Readable.from([Buffer.from("hello "), Buffer.from("world")]));
    expect(stored).toEqual({ sha256: sha256("hello world"), size: 11, created: true });
    expect(store.pathOf(stored.sha256)).toBe(
      path.join(root, "sha256", stored.sha256.slice(0, 2), stored.sha256),
    );
    expect(await text(await store.open(stored.sha256))).toBe("hello world");
    expect(await text(await store.open(stored.sha256, { start: 6, end: 10 }))).toBe("world");
    expect(await store.stat(stored.sha256)).toMatchObject({ size: 11 });
    expect(await store.has(stored.sha256)).toBe(true);
  });

  it("stores identical content once", async () => {
    const first = await store.put(Readable.from([Buffer.from("same bytes")]));
    const second = await store.put(Readable.from([Buffer.from("same"), Buffer.from(" bytes")]));
    expect(second).toEqual({ ...first, created: false });
    expect(await all(store.list())).toHaveLength(1);
  });

  it("stores nothing when the content does not match the expected digest", async () => {
    const error = await store
      .put(Readable.from([Buffer.from("actual")]), { expectedSha256: sha256("expected") })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactDigestMismatchError);
    expect(error).toMatchObject({ expected: sha256("expected"), actual: sha256("actual") });
    expect(await all(store.list())).toEqual([]);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });

  it("stops at the size limit and stores nothing", async () => {
    const error = await store
      .put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactTooLargeError);
    expect(await all(store.list())).toEqual([]);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    // Exactly at the limit is fine.
    expect((await store.put(Readable.from([Buffer.alloc(1000)]), { maxBytes: 1000 })).size).toBe(1000);
  });

  it("leaves no blob and no temp file when the source fails mid-stream", async () => {
    await expect(store.put(brokenSource())).rejects.toThrow("socket hang up");
    expect(await all(store.list())).toEqual([]);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });

  it("removes temp files a crashed process left behind, and only those", async () => {
    const kept = await store.put(Readable.from([Buffer.from("kept")]));
    writeFileSync(path.join(store.tmpDir, "crashed-upload.part"), Buffer.alloc(1234));
    expect(await store.cleanTemporaryFiles()).toBe(1);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    expect(await store.has(kept.sha256)).toBe(true);
  });

  it("reports missing blobs and refuses names that are not digests", async () => {
    const absent = sha256("absent");
    await expect(store.open(absent)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat(absent)).toBeNull();
    expect(await store.stat("../../etc/passwd")).toBeNull();
    expect(await store.delete("../x")).toBe(false);
    expect(() => store.pathOf("../../etc/passwd")).toThrow();
  });

  it("deletes blobs", async () => {
    const stored = await store.put(Readable.from([Buffer.from("gone soon")]));
    expect(await store.delete(stored.sha256)).toBe(true);
    expect(await store.delete(stored.sha256)).toBe(false);
    expect(await store.has(stored.sha256)).toBe(false);
  });

  it("stores empty files", async () => {
    expect(await store.put(Readable.from([]))).toEqual({ sha256: sha256(""), size: 0, created: true });
  });
});
