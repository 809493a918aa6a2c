// The one place that spells artifact URLs, so the GraphQL `downloadUrl` and the HTTP routes agree.
// Segments are percent-encoded: a model name may contain spaces or '@' (which would otherwise mark
// an alias), and a path's '/' separators stay literal.

export const ARTIFACTS_PREFIX = "/artifacts/";

export function artifactUrl(modelName: string, version: number, path: string): string {
  const encodedPath = path.split("/").map(encodeURIComponent).join("/");
  return `${ARTIFACTS_PREFIX}${encodeURIComponent(modelName)}/${version}/${encodedPath}`;
}
