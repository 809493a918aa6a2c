// The request headers of artifact transfers, parsed in linear time. Each of them is client input
// that reaches the server before any check: a pattern that backtracks (`\s*` on both sides of an
// optional group) lets one request burn seconds of CPU, so headers are split and trimmed by hand,
// or by range-parser, and every regex left here is a single anchored character class.
import rangeParser from "range-parser";
import { ValidationError } from "../../domain/errors.ts";
import type { ByteRange } from "../blobStore.ts";

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const TOKEN = /^[A-Za-z0-9-]+$/;
const BASE64 = /^[A-Za-z0-9+/=]*$/;

/**
 * The sha256 (lowercase hex) in `Content-Digest: sha-256=:<base64>:` (RFC 9530), or null when the
 * header names only other algorithms.
 */
export function parseContentDigest(header: string): string | null | ValidationError {
  let sha256: string | null = null;
  for (const member of header.split(",")) {
    const equals = member.indexOf("=");
    const algorithm = equals < 0 ? "" : member.slice(0, equals).trim();
    const value = equals < 0 ? "" : member.slice(equals + 1).trim();
    if (
      !TOKEN.test(algorithm) ||
      value.length < 2 ||
      !value.startsWith(":") ||
      !value.endsWith(":") ||
      !BASE64.test(value.slice(1, -1))
    )
      return new ValidationError("Content-Digest", "must be a dictionary like sha-256=:<base64>:");
    if (algorithm.toLowerCase() !== "sha-256") continue;
    const bytes = Buffer.from(value.slice(1, -1), "base64");
    if (bytes.length !== 32)
      return new ValidationError("Content-Digest", "sha-256 must be 32 bytes, base64-encoded");
    sha256 = bytes.toString("hex");
  }
  return sha256;
}

/** The sha256 (lowercase hex) of `X-Checksum-Sha256: <hex>`. */
export function parseChecksumSha256(header: string): string | ValidationError {
  const hex = header.trim();
  if (!HEX_SHA256.test(hex))
    return new ValidationError("X-Checksum-Sha256", "must be 64 hexadecimal characters");
  return hex.toLowerCase();
}

/**
 * The sha256 a client announced for an upload, from either header; they must agree when both
 * are sent. Null when it announced none.
 */
export function announcedSha256(
  contentDigest: string | null,
  checksum: string | null,
): string | null | ValidationError {
  const fromContentDigest = contentDigest === null ? null : parseContentDigest(contentDigest);
  if (fromContentDigest instanceof ValidationError) return fromContentDigest;
  const fromChecksum = checksum === null ? null : parseChecksumSha256(checksum);
  if (fromChecksum instanceof ValidationError) return fromChecksum;
  if (fromContentDigest !== null && fromChecksum !== null && fromContentDigest !== fromChecksum)
    return new ValidationError("X-Checksum-Sha256", "disagrees with Content-Digest");
  return fromContentDigest ?? fromChecksum;
}

/**
 * A single `bytes=` range of a representation of `size` bytes. Null means "serve the whole
 * representation": no header, a malformed or invalid one (last before first), another unit, or
 * several ranges (RFC 9110 lets a server ignore Range; multipart/byteranges is not worth it for
 * model files). "unsatisfiable" (416) when no byte of the range exists.
 */
export function parseRange(header: string | null, size: number): ByteRange | "unsatisfiable" | null {
  if (header === null || header.includes(",")) return null;
  const equals = header.indexOf("=");
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== "bytes") return null;
  const ranges = rangeParser(size, header);
  if (ranges === -2) return null;
  if (ranges !== -1) {
    const [range] = ranges;
    return range === undefined ? null : { start: range.start, end: range.end };
  }
  const spec = header.slice(equals + 1).trim();
  if (spec.startsWith("-")) {
    // range-parser refuses a suffix longer than the representation; RFC 9110 serves all of it.
    // A zero-length suffix selects nothing and stays a 416.
    return Number(spec.slice(1)) > 0 && size > 0 ? { start: 0, end: size - 1 } : "unsatisfiable";
  }
  // -1 is also range-parser's answer to an invalid range such as `5-3`, which RFC 9110 says to
  // ignore: against an endless representation only the invalid one stays -1.
  return rangeParser(Number.POSITIVE_INFINITY, header) === -1 ? null : "unsatisfiable";
}
