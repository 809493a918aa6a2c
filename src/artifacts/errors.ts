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
