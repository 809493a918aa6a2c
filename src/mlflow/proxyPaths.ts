// Paths of MLflow's artifact proxy. A path arrives percent-encoded after `…/artifacts/`, or in the
// `path` query parameter of a listing: it is decoded exactly once (here, or by URLSearchParams) and
// then checked once by the artifact path rules of src/domain/artifacts.ts. The raw request target is
// used, never the server's normalised URL, which would resolve `..` and `%2e%2e` away before any rule
// sees them. A decoded path that still holds a percent escape is refused: some client would decode it
// a second time, and `%252e%252e` would become `..` there.
import { ARTIFACT_LIMITS, checkArtifactPath } from "../domain/artifacts.ts";
import { checkVersionNumber } from "../domain/validation.ts";
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
const VERSION = /^[1-9][0-9]{0,14}$/;

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
  if (!VERSION.test(version) || checkVersionNumber("version", Number(version)) !== null)
    return { kind: "reserved", path };
  return { kind: "version", modelId, version: Number(version), path: segments.slice(5).join("/") };
}

/** Longest raw (still encoded) path read: every character of a longest path percent-encoded. */
const MAX_RAW = ARTIFACT_LIMITS.pathMaxLength * 12;

/** The raw path after `…/artifacts/`, decoded once and checked. */
export function decodeProxyPath(raw: string): ProxyPath {
  if (raw.length > MAX_RAW)
    throw invalid(`Invalid path: longer than ${ARTIFACT_LIMITS.pathMaxLength} characters`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw invalid("Invalid path: it is not valid percent-encoded UTF-8");
  }
  return parseProxyPath(decoded, false);
}

/** A path as an error message may quote it: bounded, control characters escaped. */
function printable(path: string): string {
  const cut = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return JSON.stringify(cut).slice(1, -1);
}
