// Where artifact bytes live: a content-addressed store keyed by the lowercase hex sha256 of the
// content. The domain only ever sees digests, so an S3-compatible backend can implement this
// interface later without touching anything else.
import type { Readable } from "node:stream";

export interface StoredBlob {
  readonly sha256: string;
  readonly size: number;
  /** False when identical bytes were already stored (the upload was deduplicated). */
  readonly created: boolean;
}

export interface BlobInfo {
  readonly sha256: string;
  readonly size: number;
  /** Last write or re-upload; garbage collection measures retention from here. */
  readonly modifiedAt: Date;
}

/** Inclusive byte offsets, as in an HTTP Range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What a check found wrong with a stored blob. */
export interface BlobDamage {
  /** sha256 (hex) of the bytes found, when they were read in full; null when only their size was checked. */
  readonly actual: string | null;
  /** How many bytes were found. */
  readonly size: number;
  readonly detectedAt: Date;
  /** The check that found it, e.g. `download` or `verify`. */
  readonly detectedBy: string;
}

export interface PutOptions {
  /** Refuse (ArtifactDigestMismatchError) and keep nothing unless the content hashes to this. */
  readonly expectedSha256?: string;
  /** Refuse (ArtifactTooLargeError) and keep nothing once more bytes than this arrive. */
  readonly maxBytes?: number;
  /** Which limit `maxBytes` is, for the error. */
  readonly limitScope?: "artifact" | "request";
}

export interface BlobStore {
  /**
   * Streams `source` into the store, hashing on the way. Atomic: either the whole, verified blob is
   * visible under its digest afterwards, or nothing is (also when the source fails midway). Storing
   * bytes that are already there replaces them, which heals a damaged copy and clears its damage.
   */
  put(source: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<StoredBlob>;
  /** Streams a blob (or a range of it); rejects with BlobNotFoundError. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  stat(sha256: string): Promise<BlobInfo | null>;
  has(sha256: string): Promise<boolean>;
  /** Removes a blob; true when it existed. Only garbage collection calls this. */
  delete(sha256: string): Promise<boolean>;
  list(): AsyncIterable<BlobInfo>;
  /** The damage recorded for a blob by any process sharing the store, or null. */
  damage(sha256: string): Promise<BlobDamage | null>;
  /**
   * Records damage durably, so that every process sharing the store refuses to serve the blob.
   * Skipped (false) when the blob is no longer the one `seen` describes: replaced (healed) or
   * removed since it was checked.
   */
  recordDamage(sha256: string, damage: BlobDamage, seen: BlobInfo): Promise<boolean>;
  /** Forgets recorded damage (a check found the blob sound); true when there was some. */
  clearDamage(sha256: string): Promise<boolean>;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
