// Where artifact bytes live: a content-addressed store keyed by the lowercase hex sha256 of the
// content. The domain only ever sees digests; two backends implement it: a folder on the local
// filesystem (the embedded default, fsBlobStore.ts) and an S3-compatible bucket shared by every
// instance (s3BlobStore.ts).
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
  /**
   * The bytes are inspected next: a store whose bytes are not on this host keeps a local copy
   * while they stream in, for the next withLocalFile of the digest, instead of reading them back.
   */
  readonly keepLocalCopy?: boolean;
}

export type BlobStoreKind = "filesystem" | "s3";

/**
 * Which store this is. The id is a random value kept inside the store itself (a marker file or
 * object written the first time), so every instance that shares the store reads the same id, and
 * the database records the id its artifacts live in (an instance with another store is refused).
 */
export interface BlobStoreIdentity {
  readonly kind: BlobStoreKind;
  readonly id: string;
  /** Where it is, for people: a folder, or s3://bucket/prefix at an endpoint. */
  readonly location: string;
}

/** A presigned download: the blob (or a range of it) served by the store itself. */
export interface PresignOptions {
  /** How long the URL stays valid. */
  readonly expiresInSeconds: number;
  /** Content-Type and Content-Disposition the store should answer with. */
  readonly contentType: string;
  readonly contentDisposition: string;
}

export interface BlobStore {
  readonly kind: BlobStoreKind;
  /** For logs and error messages: a folder, or s3://bucket/prefix. */
  readonly location: string;
  /** The store's identity marker, or null while it has none (a new, empty store). */
  readIdentity(): Promise<BlobStoreIdentity | null>;
  /**
   * Writes the marker with `id` unless the store has one (exclusively where the service allows
   * it), and returns the identity the store holds afterwards.
   */
  writeIdentity(id: string): Promise<BlobStoreIdentity>;
  /** The store's identity, writing a new random id first when the store has none. */
  identity(): Promise<BlobStoreIdentity>;
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
  /** Writes and removes a probe: rejects when the store cannot take writes (for /readyz). */
  probeWritable(): Promise<void>;
  /**
   * Removes what uploads cut short by a crash left behind (temp files, temp objects, multipart
   * uploads), only those of processes known to be gone or silent for too long: other instances
   * sharing the store may be receiving uploads right now. Returns how many entries were removed.
   */
  cleanTemporaryFiles(): Promise<number>;
  /**
   * Runs `use` with the path of a local file holding the blob's bytes (the blob's own file, or a
   * download into a temporary file removed afterwards), for the inspectors, which read files.
   * Rejects with BlobNotFoundError.
   */
  withLocalFile<T>(sha256: string, use: (file: string) => Promise<T>): Promise<T>;
  /** A short-lived URL from which a client may GET the blob directly, or null when the store has none. */
  presignDownload(sha256: string, options: PresignOptions): Promise<string | null>;
  /** Stops background work (heartbeats) and releases this process's temporary space. */
  close(): Promise<void>;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Whether the blob found now is the copy a check saw: neither replaced (healed) nor removed since. */
export const stillTheBlob = (current: BlobInfo | null, seen: BlobInfo): boolean =>
  current !== null &&
  current.size === seen.size &&
  current.modifiedAt.getTime() === seen.modifiedAt.getTime();
