// The version segment of both routes that address a version's artifacts by path: Registro's
// `/artifacts/{model}/{version}/{path}` and the MLflow artifact proxy's read-only view
// `_registro/models/{model id}/versions/{version}/{path}` (downloads, writes and deletes by path, and
// listings by the `path` query parameter). Every segment is percent-decoded alike, exactly once;
// a malformed escape, an encoded slash that would move segments, and a number that is not the one
// spelling of a version are refused with a typed 400, never read as another resource.
import { describe, expect, it } from "vitest";
import { parseArtifactTarget } from "../../src/artifacts/http/artifactRoute.ts";
import { NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { MlflowError } from "../../src/mlflow/mlflowErrors.ts";
import { decodeListedPath, decodeProxyPath } from "../../src/mlflow/proxyPaths.ts";

const NOT_CANONICAL = ["01", "+1", "-1", "1e0", "1.0", ".1", "0", "0x1", "2147483648", "9".repeat(40)];
const VIEW = "_registro/models/abc/versions";

/** What the MLflow proxy answers, or the MLflow error it refuses with. */
function proxy(parse: () => unknown) {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof MlflowError)) throw error;
    return { status: error.status, ...error.body };
  }
}

describe("Registro's artifact route", () => {
  it("decodes the version segment like the others: %31 is version 1", () => {
    const one = { modelName: "m", selector: { kind: "number", version: 1 }, path: "a.bin" };
    for (const target of ["/artifacts/m/%31/a.bin", "/artifacts/%6D/%31/%61.bin", "/artifacts/m/1/a.bin"])
      expect(parseArtifactTarget(target)).toEqual(one);
    expect(parseArtifactTarget("/artifacts/m/%53taging/a.bin")).toMatchObject({
      selector: { kind: "stage", stage: "Staging" },
    });
  });

  it.each(NOT_CANONICAL)("refuses version %j (as written, or percent-encoded) with a 400", (version) => {
    for (const segment of [version, encodeURIComponent(version), [...version].map(percent).join("")]) {
      const refused = parseArtifactTarget(`/artifacts/m/${segment}/a.bin`);
      expect(refused).toBeInstanceOf(ValidationError);
      expect(refused).toMatchObject({ field: "version", message: expect.stringMatching(/leading zero/) });
    }
  });

  it.each([
    ["a malformed escape in the version", "/artifacts/m/%zz/a.bin", "version"],
    ["a lone percent sign in the version", "/artifacts/m/%/a.bin", "version"],
    ["an encoded slash in the version", "/artifacts/m/1%2Fx/a.bin", "version"],
    ["an encoded slash in the model", "/artifacts/a%2F1/2/a.bin", "model"],
    ["a malformed escape in the model", "/artifacts/m%zz/1/a.bin", "model"],
    ["an encoded dot-dot in the path", "/artifacts/m/1/%2e%2e/a.bin", "path"],
  ])("refuses %s with a 400", (_, target, field) => {
    expect(parseArtifactTarget(target)).toMatchObject({ field, code: "VALIDATION" });
  });

  it("still says which version, alias or stage is unknown with a 404", () => {
    expect(parseArtifactTarget("/artifacts/m/latest/a.bin")).toBeInstanceOf(NotFoundError);
    expect(parseArtifactTarget("/artifacts/m/%4C%61test/a.bin")).toBeInstanceOf(NotFoundError);
  });
});

describe("the MLflow proxy's view of registered versions", () => {
  it("decodes every segment alike: versions/%31 is version 1, by path and by listing", () => {
    const one = { kind: "version", modelId: "abc", version: 1, path: "data/x.json" };
    expect(decodeProxyPath(`${VIEW}/%31/data/x.json`)).toEqual(one);
    expect(decodeProxyPath(`%5Fregistro/models/%61bc/versions/1/data%2Fx.json`)).toEqual(one);
    expect(decodeListedPath(`path=${encodeURIComponent(`${VIEW}/1/data/x.json`)}`)).toEqual(one);
    expect(decodeListedPath(`x=1&path=${VIEW}/%31/data/x.json&path=other`)).toEqual(one);
    expect(decodeListedPath("path=a+b%2Fc")).toEqual({ kind: "staged", path: "a b/c" });
    expect(decodeListedPath("")).toEqual({ kind: "staged", path: "" });
  });

  it.each(NOT_CANONICAL)("refuses version %j with MLflow's 400, by path and by listing", (version) => {
    const refusal = {
      status: 400,
      error_code: "INVALID_PARAMETER_VALUE",
      message: expect.stringMatching(/version: must be a version number.*leading zero/),
    };
    for (const segment of [version, [...version].map(percent).join("")]) {
      expect(proxy(() => decodeProxyPath(`${VIEW}/${segment}/MLmodel`))).toEqual(refusal);
      expect(proxy(() => decodeProxyPath(`${VIEW}/${segment}`))).toEqual(refusal);
      expect(proxy(() => decodeListedPath(`path=${VIEW}/${segment}`))).toEqual(refusal);
    }
  });

  it.each([
    ["a malformed escape", "%zz"],
    ["a lone percent sign", "%"],
    ["a truncated escape", "a%2"],
    ["broken UTF-8", "%E0%A4%A"],
  ])("refuses %s in a listing's path with MLflow's 400", (_, raw) => {
    for (const query of [`path=${raw}`, `path=${VIEW}/1/${raw}`, `${raw}=x&path=a`])
      expect(proxy(() => decodeListedPath(query))).toEqual({
        status: 400,
        error_code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/percent-encoded UTF-8/),
      });
  });
});

/** A character percent-encoded even where it need not be (`1` → `%31`). */
function percent(char: string) {
  return `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}
