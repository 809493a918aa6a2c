// The filesystem blob store on a real folder: atomic, verified, deduplicated writes, nothing
// visible (not even a temp file) after a failed or interrupted upload, and instances sharing one
// folder that never delete each other's uploads in progress.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactDigestMismatchError,
  ArtifactTooLargeError,
  BlobNotFoundError,
} from "../../src/artifacts/errors.ts";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { ABANDONED_AFTER_MS } from "../../src/artifacts/temporaryFolders.ts";
import { brokenSource, collect } from "../support/blobSources.ts";
import { startUploadingProcess } from "../support/uploadingProcess.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

let root: string;
let store: FsBlobStore;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "registro-blobs-"));
  store = new FsBlobStore(root);
});
afterEach(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

/** Uploads in progress (the temp folder also holds its owner file). */
const partFiles = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".part")) : [];

/** Moves a file's modification time back, as if nothing had touched it for `ms`. */
function age(file: string, ms: number) {
  const then = new Date(Date.now() - ms);
  utimesSync(file, then, then);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
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
    expect(await collect(store.list())).toHaveLength(1);
  });

  it("stores nothing when the content does not match the expected digest", async () => {
    const error = await store
      .put(Readable.from([Buffer.from("actual")]), { expectedSha256: sha256("expected") })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactDigestMismatchError);
    expect(error).toMatchObject({ expected: sha256("expected"), actual: sha256("actual") });
    expect(await collect(store.list())).toEqual([]);
    expect(partFiles(store.tmpDir)).toEqual([]);
  });

  it("stops at the size limit and stores nothing", async () => {
    const error = await store
      .put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactTooLargeError);
    expect(await collect(store.list())).toEqual([]);
    expect(partFiles(store.tmpDir)).toEqual([]);
    // Exactly at the limit is fine.
    expect((await store.put(Readable.from([Buffer.alloc(1000)]), { maxBytes: 1000 })).size).toBe(1000);
  });

  it("leaves no blob and no temp file when the source fails mid-stream", async () => {
    await expect(store.put(brokenSource())).rejects.toThrow("socket hang up");
    expect(await collect(store.list())).toEqual([]);
    expect(partFiles(store.tmpDir)).toEqual([]);
  });

  it("removes the temp folder of a process killed mid-upload, and only that", async () => {
    const kept = await store.put(Readable.from([Buffer.from("kept")]));
    const crashed = await startUploadingProcess(root);
    await crashed.kill();
    expect(partFiles(crashed.tmpDir)).toHaveLength(1);
    expect(await store.cleanTemporaryFiles()).toBe(1);
    expect(existsSync(crashed.tmpDir)).toBe(false);
    expect(existsSync(store.tmpDir)).toBe(true);
    expect(await store.has(kept.sha256)).toBe(true);
  });

  it("leaves the uploads of other live instances alone, in this process and in another", async () => {
    const a = store;
    const b = new FsBlobStore(root);
    const other = await startUploadingProcess(root);
    try {
      const body = new PassThrough();
      const uploading = a.put(body);
      body.write(Buffer.alloc(100_000, 1));
      await until(() => partFiles(a.tmpDir).length === 1);

      // What a second instance does at start-up, while both uploads are half-written.
      expect(await b.cleanTemporaryFiles()).toBe(0);
      expect(partFiles(a.tmpDir)).toHaveLength(1);
      expect(partFiles(other.tmpDir)).toHaveLength(1);

      body.end(Buffer.alloc(100_000, 2));
      const stored = await uploading;
      expect(stored).toMatchObject({ size: 200_000, created: true });
      expect(await b.has(stored.sha256)).toBe(true);
      const fromOther = await other.finish();
      expect(await b.stat(fromOther)).toMatchObject({ size: 512 * 1024 });
      expect(partFiles(a.tmpDir)).toEqual([]);
      expect(existsSync(other.tmpDir)).toBe(false);
    } finally {
      await other.kill().catch(() => undefined);
      await b.close();
    }
  });

  it("removes folders and loose temp files only once silent for longer than the abandonment age", async () => {
    // An owner on another machine cannot be checked: only its heartbeat's age counts.
    const remote = path.join(store.tmpRoot, "elsewhere-42-cafe");
    mkdirSync(remote, { recursive: true });
    const owner = path.join(remote, "owner");
    writeFileSync(
      owner,
      JSON.stringify({ host: "elsewhere", bootId: null, pidNamespace: null, pid: 42, startedAt: "x" }),
    );
    writeFileSync(path.join(remote, "upload.part"), Buffer.alloc(10));
    // Older Registro versions wrote uploads straight into tmp/.
    const legacy = path.join(store.tmpRoot, "3f0c-legacy.part");
    writeFileSync(legacy, Buffer.alloc(10));
    age(remote, 2 * ABANDONED_AFTER_MS);
    age(legacy, ABANDONED_AFTER_MS / 2);
    expect(await store.cleanTemporaryFiles()).toBe(0);
    expect(partFiles(remote)).toEqual(["upload.part"]);
    expect(existsSync(legacy)).toBe(true);

    age(owner, ABANDONED_AFTER_MS + 60_000);
    age(legacy, ABANDONED_AFTER_MS + 60_000);
    expect(await store.cleanTemporaryFiles()).toBe(2);
    expect(readdirSync(store.tmpRoot)).toEqual([]);
  });

  it("removes its own temp folder on close, and keeps a heartbeat while open", async () => {
    const beating = new FsBlobStore(root, { heartbeatMs: 20 });
    await beating.put(Readable.from([Buffer.from("x")]));
    const owner = path.join(beating.tmpDir, "owner");
    age(owner, ABANDONED_AFTER_MS + 60_000);
    await until(() => Date.now() - statSync(owner).mtimeMs < 60_000);
    expect(await store.cleanTemporaryFiles()).toBe(0);
    await beating.close();
    expect(existsSync(beating.tmpDir)).toBe(false);
  });

  it("records damage for every instance, and forgets it when the bytes are replaced or deleted", async () => {
    const stored = await store.put(Readable.from([Buffer.from("precious")]));
    age(store.pathOf(stored.sha256), 60_000);
    const seen = (await store.stat(stored.sha256))!;
    const damage = { actual: sha256("x"), size: 8, detectedAt: new Date(), detectedBy: "download" };
    expect(await store.damage(stored.sha256)).toBeNull();
    expect(await store.recordDamage(stored.sha256, damage, seen)).toBe(true);
    const other = new FsBlobStore(root);
    expect(await other.damage(stored.sha256)).toEqual(damage);

    // The identical bytes replace the damaged copy, and the record goes with it.
    await other.put(Readable.from([Buffer.from("precious")]));
    expect(await store.damage(stored.sha256)).toBeNull();
    // A check that read the old copy must not condemn the new one.
    expect(await store.recordDamage(stored.sha256, damage, seen)).toBe(false);
    expect(await store.damage(stored.sha256)).toBeNull();

    const fresh = (await store.stat(stored.sha256))!;
    expect(await store.recordDamage(stored.sha256, damage, fresh)).toBe(true);
    expect(await store.clearDamage(stored.sha256)).toBe(true);
    expect(await store.clearDamage(stored.sha256)).toBe(false);

    // A record whose content is unreadable still marks the blob.
    writeFileSync(path.join(root, "corrupt", stored.sha256), "{not json");
    expect(await store.damage(stored.sha256)).toMatchObject({ actual: null, detectedBy: "unknown" });
    expect(await store.delete(stored.sha256)).toBe(true);
    expect(await store.damage(stored.sha256)).toBeNull();
    expect(await store.damage("../../etc/passwd")).toBeNull();
    await other.close();
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
