// Expected failures of artifact transfer that are not domain rules: the bytes did not match the
// digest the client announced, or there were too many of them. They extend DomainError so that
// GraphQL exposes them through the shared `Error` interface and HTTP maps them like the others.
import { DomainError } from "../domain/errors.ts";

export class ArtifactDigestMismatchError extends DomainError {
  readonly code = "DIGEST_MISMATCH";
  constructor(
    /** The sha256 (hex) the client announced. */
    readonly expected: string,
    /** The sha256 (hex) of the bytes received. */
    readonly actual: string,
  ) {
    super(`content sha256 is ${actual} but the client announced ${expected}; nothing was stored`);
    this.name = "ArtifactDigestMismatchError";
  }
}

export class ArtifactTooLargeError extends DomainError {
  readonly code = "TOO_LARGE";
  constructor(
    /** The limit that was exceeded, in bytes. */
    readonly limit: number,
    readonly scope: "artifact" | "request",
  ) {
    super(`the ${scope} exceeds the limit of ${limit} bytes`);
    this.name = "ArtifactTooLargeError";
  }
}

/** A blob the log references is not in the store: storage was damaged or tampered with. */
export class BlobNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is not in the blob store`);
    this.name = "BlobNotFoundError";
  }
}

/**
 * Whether a failure is the blob store's (an object service that is down, unreachable, refusing our
 * credentials or out of order; a disk that fails or is full), not the request's or the server's
 * code: such a request is answered 503 BLOB_STORE_UNAVAILABLE, worth retrying, instead of a 500.
 */
export function isBlobStoreUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as {
    code?: unknown;
    name?: unknown;
    $metadata?: unknown;
    cause?: unknown;
    originalError?: unknown;
  };
  // Every error of the AWS SDK carries $metadata, network failures included (a connection refused
  // by the service is one); a missing object became BlobNotFoundError before it got here. Network
  // codes alone are not enough: the database's connections fail with the same ones.
  if (e.$metadata !== undefined || e.name === "CredentialsProviderError") return true;
  if (e.code === "EIO" || e.code === "ENOSPC" || e.code === "EDQUOT") return true;
  // Wrapped: by a GraphQL error around a resolver's failure, or as the cause of another.
  const inner = e.originalError ?? e.cause;
  return inner !== undefined && inner !== error && isBlobStoreUnavailable(inner);
}
