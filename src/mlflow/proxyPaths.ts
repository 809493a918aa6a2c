// Paths of MLflow's artifact proxy. A path arrives percent-encoded after `…/artifacts/`, or in the
// `path` query parameter of a listing: it is decoded exactly once, strictly (a malformed escape is
// refused, where URLSearchParams would keep it as text), and then checked once by the artifact path
// rules of src/domain/artifacts.ts. The raw request target is used, never the server's normalised
// URL, which would resolve `..` and `%2e%2e` away before any rule sees them. Every segment is decoded
// alike, the `_registro/` view's included (`versions/%31` is version 1); an encoded slash is a slash,
// as in MLflow's own server, so it can only split a path where the decoded path's rules then look. A
// decoded path that still holds a percent escape is refused: some client would decode it a second
// time, and `%252e%252e` would become `..` there.
import { ARTIFACT_LIMITS, checkArtifactPath } from "../domain/artifacts.ts";
import { parseVersionSegment } from "../domain/validation.ts";
import { MlflowError } from "./mlflowErrors.ts";

/** The read-only view of registered versions' artifacts inside the proxy's namespace. */
export const RESERVED_ROOT = "_registro";

export type ProxyPath =
  /** A file or folder of the staging area; '' is its root. */
  | { readonly kind: "staged"; readonly path: string }
  /** A version's artifact or folder of artifacts ('' is the version's root). */
  | { readonly kind: "version"; readonly modelId: string; readonly version: number; readonly path: string }
  /** Inside `_registro/` but above a version: nothing there can be listed, read or written. */
  | { readonly kind: "reserved"; readonly path: string };

const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

const STILL_ENCODED = /%[0-9A-Fa-f]{2}/;

/** The `_registro/models/<model id>/versions/<version>` prefix of a version's artifacts. */
export const versionRoot = (modelId: string, version: number) =>
  `${RESERVED_ROOT}/models/${modelId}/versions/${version}`;

/** A decoded path, checked; '' (the root) only where `rootAllowed`. */
export function parseProxyPath(path: string, rootAllowed: boolean): ProxyPath {
  if (path === "" && rootAllowed) return { kind: "staged", path: "" };
  const refused = checkArtifactPath("path", path);
  if (refused) throw invalid(`Invalid path '${printable(path)}': ${refused.message}`);
  if (STILL_ENCODED.test(path))
    throw invalid(`Invalid path '${printable(path)}': it must not hold percent escapes once decoded`);
  const segments = path.split("/");
  if (segments[0] !== RESERVED_ROOT) return { kind: "staged", path };
  const [, models, modelId, versions, version] = segments;
  if (models !== "models" || modelId === undefined || versions !== "versions" || version === undefined)
    return { kind: "reserved", path };
  // Only a version number names a version here: `01`, `+1` or a number past the largest version
  // is a mistake worth saying, not an empty folder.
  const number = parseVersionSegment("version", version);
  if (typeof number !== "number") throw invalid(`Invalid path '${printable(path)}': ${number.message}`);
  return { kind: "version", modelId, version: number, path: segments.slice(5).join("/") };
}

/** Longest raw (still encoded) path read: every character of a longest path percent-encoded. */
const MAX_RAW = ARTIFACT_LIMITS.pathMaxLength * 12;

/** Percent-decoded once; a malformed escape (`%`, `%zz`, broken UTF-8) is refused. */
function decodeStrictly(raw: string, what: string): string {
  if (raw.length > MAX_RAW)
    throw invalid(`Invalid ${what}: longer than ${ARTIFACT_LIMITS.pathMaxLength} characters`);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`Invalid ${what}: it is not valid percent-encoded UTF-8`);
  }
}

/** The raw path after `…/artifacts/`, decoded once and checked. */
export function decodeProxyPath(raw: string): ProxyPath {
  return parseProxyPath(decodeStrictly(raw, "path"), false);
}

/**
 * The folder a listing names: the first `path` parameter of the raw query (form-encoded, as MLflow's
 * client sends it: `+` is a space), decoded once and checked; the root when there is none.
 */
export function decodeListedPath(rawQuery: string): ProxyPath {
  for (const pair of rawQuery.split("&")) {
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? "" : pair.slice(equals + 1);
    if (decodeStrictly(name.replaceAll("+", " "), "query parameter name") !== "path") continue;
    return parseProxyPath(decodeStrictly(value.replaceAll("+", " "), "path"), true);
  }
  return parseProxyPath("", true);
}

/** A path as an error message may quote it: bounded, control characters escaped. */
function printable(path: string): string {
  const cut = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return JSON.stringify(cut).slice(1, -1);
}
