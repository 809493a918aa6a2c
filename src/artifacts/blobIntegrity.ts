// Whether stored artifact bytes are still the ones that were uploaded. Content addressing makes the
// question simple (sound bytes hash to their name) but answering it means reading them, so it is
// answered where bytes are read anyway: a download of a whole blob hashes on the way and holds back
// its last chunk until the digest is known, so no client ever receives a complete body under an
// ETag and Repr-Digest it does not match; `npm run verify` re-hashes everything. Damage found either
// way is recorded in the blob store, where every instance sharing it sees it, until verify finds
// the blob sound again or the identical bytes are uploaded again (which replaces the copy).
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import type { Logger } from "pino";
import type { BlobInfo, BlobStore } from "./blobStore.ts";

export const ARTIFACT_INTEGRITY = ["OK", "CORRUPT", "MISSING"] as const;
export type ArtifactIntegrity = (typeof ARTIFACT_INTEGRITY)[number];

/** What is known about an artifact's stored bytes without reading them: presence, size, recorded damage. */
export async function artifactIntegrity(
  blobs: BlobStore,
  artifact: { readonly sha256: string; readonly size: number },
): Promise<ArtifactIntegrity> {
  const blob = await blobs.stat(artifact.sha256);
  if (blob === null) return "MISSING";
  if (blob.size !== artifact.size) return "CORRUPT";
  return (await blobs.damage(artifact.sha256)) === null ? "OK" : "CORRUPT";
}

/** A read of a whole blob produced bytes that do not hash to its name. */
export class BlobDigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    /** Bytes read. */
    readonly size: number,
  ) {
    super(`blob ${expected} hashes to ${actual}`);
    this.name = "BlobDigestMismatchError";
  }
}

/**
 * Passes a whole blob through, hashing it, always one chunk behind: the last chunk is released only
 * once the digest matches. On a mismatch, `onMismatch` runs first (so the damage is on record
 * before anyone can retry), then the stream fails, and whatever it feeds (a response) is destroyed
 * with the body incomplete.
 */
export function digestCheck(
  expectedSha256: string,
  onMismatch: (mismatch: BlobDigestMismatchError) => Promise<void>,
): Transform {
  const hash = createHash("sha256");
  let held: Buffer | null = null;
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      const previous = held;
      held = chunk;
      callback(null, previous ?? undefined);
    },
    flush(callback) {
      const actual = hash.digest("hex");
      if (actual === expectedSha256) return callback(null, held ?? undefined);
      const mismatch = new BlobDigestMismatchError(expectedSha256, actual, size);
      onMismatch(mismatch).then(
        () => callback(mismatch),
        () => callback(mismatch),
      );
    },
  });
}

/** Where damaged bytes were found, for the log. */
export interface ArtifactLocation {
  readonly model: string;
  readonly version: number;
  readonly path: string;
  readonly sha256: string;
  /** The size the log records for the artifact. */
  readonly size: number;
}

/**
 * Damage found by this process's downloads: logged, counted (for health checks and alerts) and
 * recorded in the blob store.
 */
export class IntegrityMonitor {
  private detected = 0;

  constructor(
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  /** How many times a download in this process found an artifact's bytes damaged. */
  get failures(): number {
    return this.detected;
  }

  /** A download found `artifact`'s bytes damaged: `found` is what it read, `seen` the blob it checked. */
  async damaged(
    artifact: ArtifactLocation,
    found: { readonly actual: string | null; readonly size: number },
    seen: BlobInfo,
  ): Promise<void> {
    this.detected++;
    this.logger.error(
      { ...artifact, actual: found.actual, storedSize: found.size },
      "artifact bytes are corrupt: download refused or cut short; run npm run verify, then upload the identical file again",
    );
    try {
      await this.blobs.recordDamage(
        artifact.sha256,
        { ...found, detectedAt: new Date(), detectedBy: "download" },
        seen,
      );
    } catch (error) {
      // The next download finds the damage again; failing this one more loudly helps nobody.
      this.logger.error({ err: error, sha256: artifact.sha256 }, "could not record blob damage");
    }
  }
}
