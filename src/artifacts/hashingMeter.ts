// The stage every blob store puts between an upload and its storage: it counts the bytes (refusing
// once more than allowed arrive), hashes them, and can check the digest before the end of the input
// is passed on, so a store that publishes on end never publishes bytes it would have to refuse.
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { ArtifactTooLargeError } from "./errors.ts";

/** Buffering per stream stage: big enough that a 64 KiB socket chunk does not stall the pipe, small enough to keep memory flat. */
export const STREAM_BUFFER = 1024 * 1024;

export interface HashingMeter {
  readonly stream: Transform;
  /** Bytes that went through. */
  readonly size: number;
  /** Lowercase hex sha256 of the bytes, once the input ended. */
  digest(): string;
}

export interface HashingMeterOptions {
  /** Fail (ArtifactTooLargeError) as soon as more bytes than this arrive. */
  readonly maxBytes?: number | undefined;
  readonly limitScope?: "artifact" | "request" | undefined;
  /** Sees each chunk before it is passed on, which waits for `then` (a second copy's backpressure). */
  readonly alsoWrite?: (chunk: Buffer, then: () => void) => void;
  /** Told the digest when the input ends, before the end is passed on: an error fails the stream. */
  readonly atEnd?: (sha256: string) => Error | null;
}

export function hashingMeter(options: HashingMeterOptions = {}): HashingMeter {
  const { maxBytes, alsoWrite, atEnd } = options;
  const hash = createHash("sha256");
  let size = 0;
  let sha256: string | null = null;
  const digest = () => (sha256 ??= hash.digest("hex"));
  const stream = new Transform({
    highWaterMark: STREAM_BUFFER,
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        callback(new ArtifactTooLargeError(maxBytes, options.limitScope ?? "artifact"));
        return;
      }
      hash.update(chunk);
      if (alsoWrite === undefined) callback(null, chunk);
      else alsoWrite(chunk, () => callback(null, chunk));
    },
    flush(callback) {
      callback(atEnd?.(digest()) ?? null);
    },
  });
  return {
    stream,
    get size() {
      return size;
    },
    digest,
  };
}
