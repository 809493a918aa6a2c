// `npm run artifacts:gc`: removes blobs that no artifact event has ever referenced and no file of
// MLflow's artifact proxy staging area names (uploads that failed or were never attached) once they
// are older than the retention period. Deleting versions or models never frees bytes: they are restorable, and so are their artifacts. It works the same on
// every store, and never takes what an upload in flight on any instance needs: uploads in progress
// live in temporary space (a folder or temp keys per process) that is left alone while its process
// lives, and a blob that landed in the last LANDING_GRACE_MS is kept whatever the retention, because
// the upload that landed it may not have appended the event that references it yet.
import type { Db } from "../db/database.ts";
import { lastPosition } from "../store/eventStore.ts";
import { artifactReferences, referencedBlobs, stagedBlobs } from "./artifactReferences.ts";
import type { BlobInfo, BlobStore } from "./blobStore.ts";

/** Between a blob landing under its digest and the event that references it: seconds at most. */
export const LANDING_GRACE_MS = 5 * 60_000;

export interface GcOptions {
  readonly olderThanMs: number;
  /** Report only (the default of the CLI). */
  readonly dryRun: boolean;
  readonly now?: Date;
}

export interface GcReport {
  readonly referenced: number;
  readonly unreferenced: number;
  readonly candidates: BlobInfo[];
  readonly deleted: BlobInfo[];
  readonly bytes: number;
  readonly temporaryFilesRemoved: number;
  /** Blobs that were deleted but got referenced while the collection ran (should stay empty). */
  readonly raced: string[];
}

export async function collectGarbage(db: Db, blobs: BlobStore, options: GcOptions): Promise<GcReport> {
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - Math.max(options.olderThanMs, LANDING_GRACE_MS);
  const scannedUpTo = await lastPosition(db);
  const referenced = await referencedBlobs(db);
  // Files MLflow clients uploaded and may still register are as referenced as registered ones.
  const staged = await stagedBlobs(db);
  const candidates: BlobInfo[] = [];
  let unreferenced = 0;
  for await (const blob of blobs.list()) {
    if (referenced.has(blob.sha256) || staged.has(blob.sha256)) continue;
    unreferenced++;
    if (blob.modifiedAt.getTime() <= cutoff) candidates.push(blob);
  }
  const deleted: BlobInfo[] = [];
  let temporaryFilesRemoved = 0;
  if (!options.dryRun) {
    for (const candidate of candidates) {
      // A re-upload of the same bytes refreshes the mtime: such a blob is about to be referenced.
      const current = await blobs.stat(candidate.sha256);
      if (current === null || current.modifiedAt.getTime() > cutoff) continue;
      if (await blobs.delete(candidate.sha256)) deleted.push(candidate);
    }
    // Only temporary space of processes that are gone: running servers' uploads are left alone.
    temporaryFilesRemoved = await blobs.cleanTemporaryFiles();
  }
  const gone = new Set(deleted.map((b) => b.sha256));
  const raced: string[] = [];
  for await (const reference of artifactReferences(db, scannedUpTo))
    if (gone.has(reference.sha256)) raced.push(reference.sha256);
  return {
    referenced: new Set([...referenced.keys(), ...staged.keys()]).size,
    unreferenced,
    candidates,
    deleted,
    bytes: (options.dryRun ? candidates : deleted).reduce((sum, b) => sum + b.size, 0),
    temporaryFilesRemoved,
    raced,
  };
}
