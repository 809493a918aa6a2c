// The rules for a version's artifacts (its files): what a path inside a version may look like, which
// roles exist, and what identifies the bytes. Pure: the HTTP layer decodes URLs once and hands the
// result here, so `%2e%2e` arrives as `..` and is refused like any other traversal.
import { ValidationError } from "./errors.ts";
import { checkStorableText } from "./validation.ts";

export const ARTIFACT_ROLES = ["model", "tokenizer", "encoder", "vocabulary", "config", "other"] as const;
export type ArtifactRole = (typeof ARTIFACT_ROLES)[number];

export const ARTIFACT_LIMITS = {
  /** Characters of the whole relative path. */
  pathMaxLength: 1024,
  /**
   * Bytes of the whole path in UTF-8 (1,024 characters may take 3,072): PostgreSQL's btree entries,
   * where the path is part of a key, hold about 2,700 bytes, and refused a longer one with a 500.
   */
  pathMaxBytes: 2048,
  /** Characters of one path segment (most filesystems stop at 255 bytes). */
  segmentMaxLength: 255,
  /** Segments, e.g. `a/b/c.bin` has 3. */
  maxDepth: 32,
  maxArtifactsPerVersion: 10_000,
  mediaTypeMaxLength: 255,
} as const;

// C0 and C1 control characters, including DEL: matching them is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const DRIVE_LETTER = /^[A-Za-z]:/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/;

/**
 * checkArtifactPath, and for a file about to be stored, at most ARTIFACT_LIMITS.pathMaxBytes of
 * UTF-8. Only new paths: a longer one stored before the bound (SQLite held it) stays readable.
 */
export function checkNewArtifactPath(field: string, path: string): ValidationError | null {
  const invalid = checkArtifactPath(field, path);
  if (invalid !== null || Buffer.byteLength(path, "utf8") <= ARTIFACT_LIMITS.pathMaxBytes) return invalid;
  return new ValidationError(field, `must be at most ${ARTIFACT_LIMITS.pathMaxBytes} bytes of UTF-8`);
}

/**
 * A path relative to the version's root, `/`-separated. Anything that could escape the version's
 * folder when the artifacts are materialised on disk (by a client or a future storage backend), or
 * that looks different from what it is, is refused.
 */
export function checkArtifactPath(field: string, path: string): ValidationError | null {
  if (path.length === 0) return new ValidationError(field, "must not be empty");
  if (path.length > ARTIFACT_LIMITS.pathMaxLength)
    return new ValidationError(field, `must be at most ${ARTIFACT_LIMITS.pathMaxLength} characters`);
  if (CONTROL_CHARS.test(path)) return new ValidationError(field, "must not contain control characters");
  const unstorable = checkStorableText(field, path);
  if (unstorable) return unstorable;
  if (path.includes("\\")) return new ValidationError(field, "must use '/' as separator, not '\\'");
  if (path.startsWith("/") || DRIVE_LETTER.test(path))
    return new ValidationError(field, "must be relative, not absolute");
  if (path.normalize("NFC") !== path)
    return new ValidationError(field, "must be in Unicode normalisation form C");
  const segments = path.split("/");
  if (segments.length > ARTIFACT_LIMITS.maxDepth)
    return new ValidationError(field, `must be at most ${ARTIFACT_LIMITS.maxDepth} segments deep`);
  for (const segment of segments) {
    if (segment === "")
      return new ValidationError(field, "must not contain empty segments ('//', leading or trailing '/')");
    if (segment === "." || segment === "..")
      return new ValidationError(field, `must not contain '${segment}' segments`);
    if (segment.length > ARTIFACT_LIMITS.segmentMaxLength)
      return new ValidationError(
        field,
        `segments must be at most ${ARTIFACT_LIMITS.segmentMaxLength} characters`,
      );
  }
  return null;
}

/**
 * A new path clashes with an existing one when they are equal, or when one is a folder of the other
 * (`a` and `a/b`): the set could not be written out as files.
 */
export function conflictingArtifactPath(existing: readonly string[], path: string): string | null {
  for (const other of existing) {
    if (other === path || other.startsWith(`${path}/`) || path.startsWith(`${other}/`)) return other;
  }
  return null;
}

export function checkArtifactRole(field: string, role: string): ValidationError | null {
  return (ARTIFACT_ROLES as readonly string[]).includes(role)
    ? null
    : new ValidationError(field, `must be one of ${ARTIFACT_ROLES.join(", ")}`);
}

export function checkSha256(field: string, sha256: string): ValidationError | null {
  return SHA256_HEX.test(sha256)
    ? null
    : new ValidationError(field, "must be 64 lowercase hexadecimal characters");
}

export function checkArtifactSize(field: string, size: number): ValidationError | null {
  return Number.isSafeInteger(size) && size >= 0
    ? null
    : new ValidationError(field, "must be a non-negative integer");
}

export function checkMediaType(field: string, mediaType: string): ValidationError | null {
  if (
    mediaType.length > ARTIFACT_LIMITS.mediaTypeMaxLength ||
    CONTROL_CHARS.test(mediaType) ||
    checkStorableText(field, mediaType) !== null ||
    !MEDIA_TYPE.test(mediaType)
  )
    return new ValidationError(field, "must be a media type such as application/octet-stream");
  return null;
}

const MODEL_EXTENSIONS =
  /\.(onnx|safetensors|gguf|ggml|pt|pth|bin|ckpt|h5|keras|pb|tflite|mlmodel|pkl|joblib|npz|npy)$/i;

/** The role an artifact gets when the uploader names none: a guess from well-known file names. */
export function defaultArtifactRole(path: string): ArtifactRole {
  const lower = path.toLowerCase();
  const name = lower.slice(lower.lastIndexOf("/") + 1);
  if (lower.startsWith("tokenizer/") || name.startsWith("tokenizer")) return "tokenizer";
  if (/^(vocab|merges)/.test(name) || name.endsWith(".vocab")) return "vocabulary";
  if (lower.startsWith("encoder/") || name.startsWith("encoder")) return "encoder";
  if (/(^|[_.-])config\.(json|ya?ml|toml)$/.test(name) || name === "mlmodel") return "config";
  if (MODEL_EXTENSIONS.test(name)) return "model";
  return "other";
}
