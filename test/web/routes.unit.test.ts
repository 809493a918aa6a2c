// The web interface's addresses: whatever the address bar holds (encoded names, junk, a malformed
// escape), parsing gives a page or "not found", and the paths it builds parse back to the same page.
import { describe, expect, it } from "vitest";
import { MAX_COMPARED, comparePath, modelPath, parseRoute, versionPath } from "../../web/src/routes.ts";

const parse = (target: string) => {
  const url = new URL(target, "http://registro.invalid");
  return parseRoute(url.pathname, url.search);
};

describe("the web interface's routes", () => {
  it("round-trips model names with spaces, slashes, percent signs and non-ASCII letters", () => {
    for (const name of ["fraud detector", "team/fraud", "100%", "modèle", "a?b#c", "@champion"]) {
      expect(parse(modelPath(name))).toEqual({ page: "model", name });
      expect(parse(versionPath(name, 12))).toEqual({ page: "version", name, version: 12 });
      expect(parse(comparePath(name, [3, 1]))).toEqual({ page: "compare", name, versions: [1, 3] });
    }
  });

  it("lists the models at / and /models", () => {
    for (const target of ["/", "/models", "/models/"]) expect(parse(target)).toEqual({ page: "models" });
  });

  it("answers not found, never throws, for anything else", () => {
    for (const target of [
      "/models/%E0%A4%A", // a malformed escape
      "/models/x/versions/0",
      "/models/x/versions/-1",
      "/models/x/versions/1.5",
      "/models/x/versions/99999999999",
      "/models/x/versions",
      "/models/x/y",
      "/models/x/versions/1/extra",
      "/elsewhere",
      "/models//versions/1",
    ])
      expect(parse(target), target).toEqual({ page: "notFound" });
  });

  it("keeps the valid, distinct version numbers of a comparison, at most a screenful", () => {
    expect(parse("/models/x/compare?versions=2,junk,2,,-3,1")).toEqual({
      page: "compare",
      name: "x",
      versions: [1, 2],
    });
    const many = Array.from({ length: 50 }, (_, i) => i + 1).join(",");
    const compared = parse(`/models/x/compare?versions=${many}`);
    expect(compared.page === "compare" ? compared.versions : []).toHaveLength(MAX_COMPARED);
  });
});
