// The interface's addresses: every page has one, so it can be bookmarked, shared and reloaded
// (the server answers index.html for `/` and every path under `/models/`). Whatever the address
// bar holds, parsing gives a page or "not found", never an exception.
export type Route =
  | { readonly page: "models" }
  | { readonly page: "model"; readonly name: string }
  | { readonly page: "version"; readonly name: string; readonly version: number }
  | { readonly page: "compare"; readonly name: string; readonly versions: readonly number[] }
  | { readonly page: "notFound" };

/** Columns on the Compare page: more would not fit a screen. */
export const MAX_COMPARED = 12;

export const modelPath = (name: string) => `/models/${encodeURIComponent(name)}`;
export const versionPath = (name: string, version: number) => `${modelPath(name)}/versions/${version}`;
export const comparePath = (name: string, versions: readonly number[]) =>
  `${modelPath(name)}/compare?versions=${versions.join(",")}`;

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const versionNumber = (text: string | undefined) =>
  text !== undefined && /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : null;

export function parseRoute(pathname: string, search: string): Route {
  if (pathname === "/" || pathname === "/models" || pathname === "/models/") return { page: "models" };
  const parts = pathname.split("/").slice(1);
  if (parts[0] !== "models" || parts[1] === undefined) return { page: "notFound" };
  const name = decode(parts[1]);
  if (name === null || name === "") return { page: "notFound" };
  if (parts.length === 2) return { page: "model", name };
  if (parts.length === 4 && parts[2] === "versions") {
    const version = versionNumber(parts[3]);
    return version === null ? { page: "notFound" } : { page: "version", name, version };
  }
  if (parts.length === 3 && parts[2] === "compare") {
    const listed = (new URLSearchParams(search).get("versions") ?? "").split(",").map(versionNumber);
    const versions = [...new Set(listed.filter((v): v is number => v !== null))]
      .sort((a, b) => a - b)
      .slice(0, MAX_COMPARED);
    return { page: "compare", name, versions };
  }
  return { page: "notFound" };
}
