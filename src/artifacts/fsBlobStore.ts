// The local-filesystem BlobStore. Layout under the root:
//   sha256/ab/abcdef…         one file per distinct content, named by its digest (fan-out by 2 hex chars)
//   tmp/<host>-<pid>-<rand>/  one folder per process for its uploads in progress (<uuid>.part), never
//                             visible under sha256/ until complete and verified (see temporaryFolders.ts)
//   store-id                  this store's identity (a random id, written once), recorded by the database
//   corrupt/<sha256>          damage a check found in that blob (JSON): a file, not process memory, so
//                             every instance sharing the root refuses the blob until it is healed
// A write streams into the process's temp folder, fsyncs the file, renames it into place and fsyncs
// the directory, so a crash at any point leaves either the complete blob or an orphaned temp file
// (removed once its process is known to be gone). Several processes may share one root.
import { randomUUID } from "node:crypto";
import { link, mkdir, open, opendir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type {
  BlobDamage,
  BlobInfo,
  BlobStore,
  BlobStoreIdentity,
  ByteRange,
  PutOptions,
  StoredBlob,
} from "./blobStore.ts";
import { SHA256_HEX, stillTheBlob } from "./blobStore.ts";
import { ArtifactDigestMismatchError, BlobNotFoundError } from "./errors.ts";
import { STREAM_BUFFER, hashingMeter } from "./hashingMeter.ts";
import { damageSchema, identitySchema, parseJson } from "./storeRecords.ts";
import {
  ABANDONED_AFTER_MS,
  HEARTBEAT_MS,
  TemporaryFolder,
  removeAbandonedTemporaryFiles,
} from "./temporaryFolders.ts";

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface FsBlobStoreOptions {
  /** Another process's temp folder silent for this long is removed even if its owner may live. */
  readonly abandonedAfterMs?: number;
  /** How often this process refreshes the heartbeat of its own temp folder. */
  readonly heartbeatMs?: number;
}

export class FsBlobStore implements BlobStore {
  readonly kind = "filesystem";
  readonly root: string;
  private readonly blobsDir: string;
  private readonly damageDir: string;
  /** Holds every process's temp folder. */
  readonly tmpRoot: string;
  private readonly temporary: TemporaryFolder;
  private readonly abandonedAfterMs: number;
  private ready: Promise<void> | null = null;

  constructor(root: string, options: FsBlobStoreOptions = {}) {
    this.root = path.resolve(root);
    this.blobsDir = path.join(this.root, "sha256");
    this.damageDir = path.join(this.root, "corrupt");
    this.tmpRoot = path.join(this.root, "tmp");
    this.temporary = new TemporaryFolder(this.tmpRoot, options.heartbeatMs ?? HEARTBEAT_MS);
    this.abandonedAfterMs = options.abandonedAfterMs ?? ABANDONED_AFTER_MS;
  }

  get location(): string {
    return this.root;
  }

  private get identityFile(): string {
    return path.join(this.root, "store-id");
  }

  async readIdentity(): Promise<BlobStoreIdentity | null> {
    const file = this.identityFile;
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      if (isMissing(error)) return null;
      throw error;
    });
    if (text === null) return null;
    const parsed = identitySchema.safeParse(parseJson(text));
    if (!parsed.success)
      throw new Error(`${file} is not a blob store identity: restore it from a backup or remove it`);
    return { kind: this.kind, id: parsed.data.id, location: this.root };
  }

  /** Exclusively: a link of a complete temp file, so the first writer wins and no one reads half a file. */
  async writeIdentity(id: string): Promise<BlobStoreIdentity> {
    await this.init();
    const temp = path.join(this.root, `store-id.${randomUUID()}.tmp`);
    await writeFile(temp, JSON.stringify({ id, createdAt: new Date().toISOString() }), { flush: true });
    try {
      await link(temp, this.identityFile);
      await fsyncDirectory(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await rm(temp, { force: true });
    }
    const written = await this.readIdentity();
    if (written === null) throw new Error(`${this.identityFile} could not be written`);
    return written;
  }

  async identity(): Promise<BlobStoreIdentity> {
    return (await this.readIdentity()) ?? this.writeIdentity(randomUUID());
  }

  async probeWritable(): Promise<void> {
    await this.init();
    const file = path.join(this.tmpRoot, `.readyz-probe-${process.pid}-${randomUUID()}`);
    await writeFile(file, "probe", { flag: "wx" });
    await unlink(file);
  }

  async withLocalFile<T>(sha256: string, use: (file: string) => Promise<T>): Promise<T> {
    const info = await this.stat(sha256);
    if (info === null) throw new BlobNotFoundError(sha256);
    return use(this.pathOf(sha256));
  }

  /** A folder has no URL of its own: downloads always stream through the server. */
  presignDownload(): Promise<string | null> {
    return Promise.resolve(null);
  }

  /** This process's folder for uploads in progress (created by the first upload). */
  get tmpDir(): string {
    return this.temporary.path;
  }

  /** Where the blob with this digest lives (it may not exist). */
  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 digest: ${JSON.stringify(sha256)}`);
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256);
  }

  private damageFileOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 digest: ${JSON.stringify(sha256)}`);
    return path.join(this.damageDir, sha256);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true });
      await mkdir(this.tmpRoot, { recursive: true });
    })();
    return this.ready;
  }

  /**
   * Removes temp files of uploads that never finished because their process died: the temp folders
   * of processes known to be gone or silent for too long, and stale loose files. Never touches the
   * folders of live processes, so any instance sharing the store may call it (at start-up; gc).
   */
  async cleanTemporaryFiles(): Promise<number> {
    await this.init();
    return removeAbandonedTemporaryFiles(this.tmpRoot, this.tmpDir, this.abandonedAfterMs);
  }

  /** Stops the temp folder's heartbeat and removes the folder (uploads still running fail). */
  async close(): Promise<void> {
    await this.temporary.release();
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<StoredBlob> {
    await this.init();
    const { expectedSha256 } = options;
    const tempName = `${randomUUID()}.part`;
    const temp = path.join(this.tmpDir, tempName);
    const meter = hashingMeter({ maxBytes: options.maxBytes, limitScope: options.limitScope });
    try {
      const file = await this.temporary.createFile(tempName);
      // `flush` fsyncs the file before it is closed, so the rename below publishes durable bytes.
      await pipeline(
        source,
        meter.stream,
        file.createWriteStream({ flush: true, highWaterMark: STREAM_BUFFER }),
      );
      const sha256 = meter.digest();
      const size = meter.size;
      if (expectedSha256 !== undefined && expectedSha256 !== sha256)
        throw new ArtifactDigestMismatchError(expectedSha256, sha256);
      const target = this.pathOf(sha256);
      const existed = await this.has(sha256);
      const dir = path.dirname(target);
      const madeDir = await mkdir(dir, { recursive: true });
      if (madeDir !== undefined) await fsyncDirectory(this.blobsDir);
      // Identical content is still stored once: the verified copy replaces the old file atomically.
      // That also heals a blob damaged on disk, and gives it a fresh mtime, which restarts its
      // garbage-collection clock so a blob about to be referenced again is not collected meanwhile.
      await rename(temp, target);
      await fsyncDirectory(dir);
      // These bytes hash to their name, so whatever damage was recorded is gone with the old copy.
      await this.clearDamage(sha256);
      return { sha256, size, created: !existed };
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(sha256);
    try {
      const handle = await open(file, "r");
      return handle.createReadStream({
        highWaterMark: STREAM_BUFFER,
        ...(range ? { start: range.start, end: range.end } : {}),
      });
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(sha256);
      throw error;
    }
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    try {
      const info = await stat(this.pathOf(sha256));
      return { sha256, size: info.size, modifiedAt: info.mtime };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    try {
      await unlink(this.pathOf(sha256));
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await this.clearDamage(sha256);
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    await this.init();
    const fanout = await opendir(this.blobsDir);
    for await (const bucket of fanout) {
      if (!bucket.isDirectory()) continue;
      for await (const entry of await opendir(path.join(this.blobsDir, bucket.name))) {
        if (!entry.isFile() || !SHA256_HEX.test(entry.name) || !entry.name.startsWith(bucket.name)) continue;
        const info = await this.stat(entry.name);
        if (info) yield info;
      }
    }
  }

  async damage(sha256: string): Promise<BlobDamage | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const file = this.damageFileOf(sha256);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    const parsed = damageSchema.safeParse(parseJson(text));
    if (parsed.success) return parsed.data;
    // Written by hand or by a future version: the file's presence is what counts.
    const info = await stat(file).catch(() => null);
    return { actual: null, size: -1, detectedAt: info?.mtime ?? new Date(0), detectedBy: "unknown" };
  }

  async recordDamage(sha256: string, damage: BlobDamage, seen: BlobInfo): Promise<boolean> {
    const file = this.damageFileOf(sha256);
    if (!stillTheBlob(await this.stat(sha256), seen)) return false;
    await mkdir(this.damageDir, { recursive: true });
    // Written aside and renamed, so no reader ever sees half a record.
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, JSON.stringify(damage), { mode: 0o644 });
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return true;
  }

  async clearDamage(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    try {
      await unlink(this.damageFileOf(sha256));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }
}
