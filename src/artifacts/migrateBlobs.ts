// Moves a registry's artifact bytes from one store to another (a folder into a bucket, typically,
// when a registry grows to several hosts). Every blob is copied through put() (which re-hashes the
// source's bytes on the way: a damaged source copy is refused, never spread), then read back from
// the target and hashed again. Only when every blob the log references is in the target, sound, may
// the database be switched to it; instances then start with the target's settings.
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Database } from "../db/database.ts";
import { referencedBlobs, stagedBlobs } from "./artifactReferences.ts";
import type { BlobInfo, BlobStore } from "./blobStore.ts";
import { switchBlobStore } from "./storeIdentity.ts";

export interface MigrationReport {
  readonly from: string;
  readonly to: string;
  /** Source and target are one store (the same identity): nothing to copy, only checks. */
  readonly sameStore: boolean;
  /** Blobs written into the target. */
  readonly copied: number;
  /** Blobs the target already held (verified all the same). */
  readonly alreadyPresent: number;
  readonly bytes: number;
  /** Blobs that could not be copied or did not read back sound, with why. */
  readonly failed: { readonly sha256: string; readonly reason: string }[];
  /** Referenced blobs the target lacks after the copy. */
  readonly missing: string[];
  /** The database now records the target as its store. */
  readonly switched: boolean;
}

export interface MigrationOptions {
  /** Record the target as the database's store once everything is in it and sound. */
  readonly switchStore: boolean;
  /** Blobs copied at once. */
  readonly concurrency?: number;
  readonly now?: Date;
  /** Told after each blob (progress). */
  readonly onBlob?: (sha256: string, outcome: "copied" | "present" | "failed") => void;
}

async function hashOf(store: BlobStore, sha256: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(await store.open(sha256), hash);
  return hash.digest("hex");
}

export async function migrateBlobs(
  db: Database,
  source: BlobStore,
  target: BlobStore,
  options: MigrationOptions,
): Promise<MigrationReport> {
  const [from, to] = await Promise.all([source.identity(), target.identity()]);
  const sameStore = from.id === to.id;
  let copied = 0;
  let alreadyPresent = 0;
  let bytes = 0;
  const failed: { sha256: string; reason: string }[] = [];

  async function move(blob: BlobInfo): Promise<void> {
    try {
      const present = await target.stat(blob.sha256);
      const outcome = present === null || present.size !== blob.size ? "copied" : "present";
      if (outcome === "copied") {
        await target.put(await source.open(blob.sha256), { expectedSha256: blob.sha256 });
        copied++;
      } else alreadyPresent++;
      const readBack = await hashOf(target, blob.sha256);
      if (readBack !== blob.sha256) throw new Error(`the copy in ${to.location} hashes to ${readBack}`);
      bytes += blob.size;
      options.onBlob?.(blob.sha256, outcome);
    } catch (error) {
      failed.push({ sha256: blob.sha256, reason: error instanceof Error ? error.message : String(error) });
      options.onBlob?.(blob.sha256, "failed");
    }
  }

  if (!sameStore) {
    // Several workers pull from one listing; next() calls on an async generator queue up.
    const listing = source.list()[Symbol.asyncIterator]();
    const worker = async () => {
      for (let next = await listing.next(); next.done !== true; next = await listing.next())
        await move(next.value);
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  }

  const missing: string[] = [];
  const expected = [...(await referencedBlobs(db.reader)), ...(await stagedBlobs(db.reader))];
  for (const [sha256, references] of expected) {
    const info = await target.stat(sha256);
    const size = references[0]?.size;
    if (info === null || (size !== undefined && info.size !== size)) missing.push(sha256);
  }
  const switched = options.switchStore && failed.length === 0 && missing.length === 0;
  if (switched) await switchBlobStore(db, to, options.now ?? new Date());
  return {
    from: from.location,
    to: to.location,
    sameStore,
    copied,
    alreadyPresent,
    bytes,
    failed,
    missing,
    switched,
  };
}
