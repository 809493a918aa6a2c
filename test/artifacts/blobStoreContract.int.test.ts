// What every BlobStore promises, checked against both backends with the same tests: the folder
// store on a real folder, and the S3 store on s3rver (each test in its own key prefix).
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BlobStore } from "../../src/artifacts/blobStore.ts";
import {
  ArtifactDigestMismatchError,
  ArtifactTooLargeError,
  BlobNotFoundError,
} from "../../src/artifacts/errors.ts";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { S3BlobStore } from "../../src/artifacts/s3BlobStore.ts";
import { brokenSource, collect } from "../support/blobSources.ts";
import type { S3TestServer } from "../support/s3Server.ts";
import { startS3Server } from "../support/s3Server.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const MiB = 2 ** 20;

interface Backing {
  /** A store object on this test's backing; several share it, like instances. */
  open(): BlobStore;
  /**
   * Everything stored except what is there by design (identity, heartbeats, owner files): blobs,
   * damage records, and anything an upload left behind.
   */
  contents(): Promise<string[]>;
  dispose(): Promise<void>;
}

function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

let s3: S3TestServer;
let prefixes = 0;

const backends: Record<string, () => Backing> = {
  filesystem() {
    const root = mkdtempSync(path.join(tmpdir(), "registro-contract-"));
    return {
      open: () => new FsBlobStore(root),
      contents: () =>
        Promise.resolve(
          listFiles(root).filter((file) => file !== "store-id" && !/^tmp\/[^/]+\/owner$/.test(file)),
        ),
      dispose: () => Promise.resolve(rmSync(root, { recursive: true, force: true })),
    };
  },
  s3() {
    const prefix = `contract-${++prefixes}/`;
    const localTempDir = mkdtempSync(path.join(tmpdir(), "registro-contract-local-"));
    const open = () =>
      new S3BlobStore({
        bucket: s3.bucket,
        prefix,
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        partSizeBytes: 5 * MiB,
        credentials: s3.credentials,
        localTempDir,
      });
    const lister = open();
    return {
      open,
      async contents() {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const page = await lister.client.send(
            new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }),
          );
          keys.push(...(page.Contents ?? []).map((object) => object.Key!.slice(prefix.length)));
          token = page.NextContinuationToken;
        } while (token !== undefined);
        return keys.filter((key) => key !== "store-id" && !key.startsWith("tmp/instances/"));
      },
      async dispose() {
        await lister.close();
        rmSync(localTempDir, { recursive: true, force: true });
      },
    };
  },
};

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3.close();
});

describe.each(Object.keys(backends))("BlobStore contract: %s", (backend) => {
  let backing: Backing;
  let store: BlobStore;
  const others: BlobStore[] = [];
  const another = () => {
    const other = backing.open();
    others.push(other);
    return other;
  };

  beforeEach(() => {
    backing = backends[backend]!();
    store = backing.open();
  });
  afterEach(async () => {
    await store.close();
    for (const other of others.splice(0)) await other.close();
    await backing.dispose();
  });

  it("stores content under its sha256, readable whole or by range", async () => {
    const stored = await store.put(Readable.from([Buffer.from("hello "), Buffer.from("world")]));
    expect(stored).toEqual({ sha256: sha256("hello world"), size: 11, created: true });
    expect(await text(await store.open(stored.sha256))).toBe("hello world");
    expect(await text(await store.open(stored.sha256, { start: 6, end: 10 }))).toBe("world");
    expect(await text(await store.open(stored.sha256, { start: 0, end: 0 }))).toBe("h");
    const info = await store.stat(stored.sha256);
    expect(info).toMatchObject({ sha256: stored.sha256, size: 11 });
    expect(info!.modifiedAt).toBeInstanceOf(Date);
    expect(await store.has(stored.sha256)).toBe(true);
    expect(await backing.contents()).toEqual([`sha256/${stored.sha256.slice(0, 2)}/${stored.sha256}`]);
  });

  it("stores identical content once, with or without an announced digest", async () => {
    const first = await store.put(Readable.from([Buffer.from("same bytes")]));
    const second = await store.put(Readable.from([Buffer.from("same"), Buffer.from(" bytes")]));
    expect(second).toEqual({ ...first, created: false });
    const third = await another().put(Readable.from([Buffer.from("same bytes")]), {
      expectedSha256: first.sha256,
    });
    expect(third).toEqual({ ...first, created: false });
    const announced = await store.put(Readable.from([Buffer.from("new bytes")]), {
      expectedSha256: sha256("new bytes"),
    });
    expect(announced).toEqual({ sha256: sha256("new bytes"), size: 9, created: true });
    expect((await collect(store.list())).map((blob) => blob.sha256).sort()).toEqual(
      [first.sha256, announced.sha256].sort(),
    );
    expect(await backing.contents()).toHaveLength(2);
  });

  it("stores nothing under any key when the content does not match the expected digest", async () => {
    for (const expected of [sha256("expected"), "not-a-digest"]) {
      const error = await store
        .put(Readable.from([Buffer.from("actual")]), { expectedSha256: expected })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArtifactDigestMismatchError);
      expect(error).toMatchObject({ expected, actual: sha256("actual") });
    }
    expect(await collect(store.list())).toEqual([]);
    expect(await store.has(sha256("actual"))).toBe(false);
    expect(await backing.contents()).toEqual([]);
  });

  it("stops at the size limit and stores nothing", async () => {
    for (const options of [{}, { expectedSha256: sha256(Buffer.alloc(1200)) }]) {
      const error = await store
        .put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { ...options, maxBytes: 1000 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArtifactTooLargeError);
      expect(error).toMatchObject({ limit: 1000, scope: "artifact" });
    }
    expect(await backing.contents()).toEqual([]);
    // Exactly at the limit is fine.
    expect((await store.put(Readable.from([Buffer.alloc(1000)]), { maxBytes: 1000 })).size).toBe(1000);
  });

  it("leaves nothing when the source fails mid-stream", async () => {
    await expect(store.put(brokenSource())).rejects.toThrow("socket hang up");
    await expect(
      store.put(brokenSource(), { expectedSha256: sha256("whatever"), limitScope: "request" }),
    ).rejects.toThrow("socket hang up");
    expect(await collect(store.list())).toEqual([]);
    expect(await backing.contents()).toEqual([]);
  });

  it("stores empty content", async () => {
    expect(await store.put(Readable.from([]))).toEqual({ sha256: sha256(""), size: 0, created: true });
    expect(await text(await store.open(sha256("")))).toBe("");
  });

  it("reports missing blobs and refuses names that are not digests", async () => {
    const absent = sha256("absent");
    await expect(store.open(absent)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.withLocalFile(absent, () => Promise.resolve(1))).rejects.toBeInstanceOf(
      BlobNotFoundError,
    );
    expect(await store.stat(absent)).toBeNull();
    expect(await store.has(absent)).toBe(false);
    expect(await store.stat("../../etc/passwd")).toBeNull();
    expect(await store.delete("../x")).toBe(false);
    expect(await store.delete(absent)).toBe(false);
    expect(await store.damage("../../etc/passwd")).toBeNull();
    expect(await store.clearDamage("../x")).toBe(false);
  });

  it("deletes blobs", async () => {
    const stored = await store.put(Readable.from([Buffer.from("gone soon")]));
    const kept = await store.put(Readable.from([Buffer.from("kept")]));
    expect(await store.delete(stored.sha256)).toBe(true);
    expect(await store.delete(stored.sha256)).toBe(false);
    expect(await store.has(stored.sha256)).toBe(false);
    expect((await collect(store.list())).map((blob) => blob.sha256)).toEqual([kept.sha256]);
  });

  it("records damage for every instance, and forgets it when the bytes are replaced or deleted", async () => {
    const stored = await store.put(Readable.from([Buffer.from("precious")]));
    const seen = (await store.stat(stored.sha256))!;
    const damage = { actual: sha256("x"), size: 8, detectedAt: new Date(), detectedBy: "download" };
    expect(await store.damage(stored.sha256)).toBeNull();
    expect(await store.recordDamage(stored.sha256, damage, seen)).toBe(true);
    const other = another();
    expect(await other.damage(stored.sha256)).toEqual(damage);
    expect(await backing.contents()).toContain(`corrupt/${stored.sha256}`);

    // A check that read another copy (here: another size) must not condemn this one.
    expect(await store.recordDamage(stored.sha256, damage, { ...seen, size: 7 })).toBe(false);
    // The identical bytes replace the damaged copy, and the record goes with it.
    expect(await other.put(Readable.from([Buffer.from("precious")]))).toMatchObject({ created: false });
    expect(await store.damage(stored.sha256)).toBeNull();

    const fresh = (await store.stat(stored.sha256))!;
    expect(await store.recordDamage(stored.sha256, damage, fresh)).toBe(true);
    expect(await store.clearDamage(stored.sha256)).toBe(true);
    expect(await store.clearDamage(stored.sha256)).toBe(false);

    expect(await store.recordDamage(stored.sha256, damage, fresh)).toBe(true);
    expect(await store.delete(stored.sha256)).toBe(true);
    expect(await store.damage(stored.sha256)).toBeNull();
    expect(await store.recordDamage(stored.sha256, damage, fresh)).toBe(false);
    expect(await backing.contents()).toEqual([]);
  });

  it("has one identity, the same for every store object on the same backing", async () => {
    const [a, b] = await Promise.all([store.identity(), another().identity()]);
    expect(a).toEqual(b);
    expect(a.kind).toBe(backend);
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.location).toBe(store.location);
    expect(await another().identity()).toEqual(a);
    // Another backing is another store.
    const elsewhere = backends[backend]!();
    try {
      const stranger = elsewhere.open();
      expect((await stranger.identity()).id).not.toBe(a.id);
      await stranger.close();
    } finally {
      await elsewhere.dispose();
    }
  });

  it("lends the bytes as a local file for the duration of a call", async () => {
    const content = Buffer.alloc(3 * MiB, 7);
    const stored = await store.put(Readable.from([content]));
    let seenFile = "";
    const size = await store.withLocalFile(stored.sha256, (file) => {
      seenFile = file;
      expect(readFileSync(file).equals(content)).toBe(true);
      return Promise.resolve(readFileSync(file).length);
    });
    expect(size).toBe(content.length);
    // A download is removed afterwards (the folder store lends the blob's own file, which stays).
    expect(existsSync(seenFile)).toBe(backend === "filesystem");
    const failure = await store
      .withLocalFile(stored.sha256, (file) => {
        seenFile = file;
        return Promise.reject(new Error("inspector failed"));
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ message: "inspector failed" });
    expect(existsSync(seenFile)).toBe(backend === "filesystem");
  });

  it("probes that it can take writes, leaving nothing", async () => {
    await store.probeWritable();
    await store.probeWritable();
    expect(await backing.contents()).toEqual([]);
  });

  it("cleans temporary files without touching its own or a live instance's", async () => {
    const other = another();
    await other.put(Readable.from([Buffer.from("other")]));
    const mine = await store.put(Readable.from([Buffer.from("mine")]));
    expect(await store.cleanTemporaryFiles()).toBe(0);
    expect(await other.cleanTemporaryFiles()).toBe(0);
    expect(await store.has(mine.sha256)).toBe(true);
  });
});
