// Which sources name files of MLflow's artifact proxy, and what a decoded proxy path is: the staging
// area, a registered version's view, or the reserved space above versions.
import { describe, expect, it } from "vitest";
import { MlflowError } from "../../src/mlflow/mlflowErrors.ts";
import { decodeProxyPath, parseProxyPath } from "../../src/mlflow/proxyPaths.ts";
import { proxyPathOfSource } from "../../src/mlflow/registerFromProxy.ts";

describe("proxyPathOfSource", () => {
  it.each([
    ["mlflow-artifacts:/1/abc/artifacts/model", "1/abc/artifacts/model"],
    ["mlflow-artifacts://tracking:5000/1/abc/artifacts/model", "1/abc/artifacts/model"],
    ["mlflow-artifacts:/my%20model/a%2Fb", "my model/a/b"],
    ["https://r.example/prefix/api/2.0/mlflow-artifacts/artifacts/x/y?z=1", "x/y"],
    ["mlflow-artifacts://host-only", ""],
    ["s3://bucket/model", null],
    ["runs:/abc/model", null],
    ["https://r.example/artifacts/m/1", null],
  ])("%s → %s", (source, path) => {
    expect(proxyPathOfSource(source)).toBe(path);
  });

  it("refuses a source whose path is not percent-encoded UTF-8", () => {
    expect(() => proxyPathOfSource("mlflow-artifacts:/a%E0%A4%A")).toThrow(MlflowError);
  });
});

describe("proxy paths", () => {
  it("tells the staging area, a version's view and the reserved space apart", () => {
    expect(parseProxyPath("runs/r1/model/MLmodel", false)).toEqual({
      kind: "staged",
      path: "runs/r1/model/MLmodel",
    });
    expect(parseProxyPath("", true)).toEqual({ kind: "staged", path: "" });
    expect(parseProxyPath("_registro/models/abc/versions/3/data/x.json", false)).toEqual({
      kind: "version",
      modelId: "abc",
      version: 3,
      path: "data/x.json",
    });
    expect(parseProxyPath("_registro/models/abc/versions/3", false)).toMatchObject({
      kind: "version",
      path: "",
    });
    for (const reserved of [
      "_registro",
      "_registro/models/abc",
      "_registro/models/abc/versions",
      "_registro/other/x",
    ])
      expect(parseProxyPath(reserved, false)).toMatchObject({ kind: "reserved" });
    // A version segment that is not the one spelling of a version number is a mistake, not a folder.
    for (const version of ["0", "01", "+1", "1e0", "2147483648", "latest"])
      expect(() => parseProxyPath(`_registro/models/abc/versions/${version}`, false)).toThrow(
        /version: must be a version number/,
      );
  });

  it.each(["", "a/../b", "a//b", "/a", "a\\b", "a\u0000b", "a/%2e%2e/b"])("refuses %j", (path) => {
    expect(() => parseProxyPath(path, false)).toThrow(MlflowError);
  });

  it("decodes exactly once", () => {
    expect(decodeProxyPath("a%20b/c")).toEqual({ kind: "staged", path: "a b/c" });
    expect(() => decodeProxyPath("a/%252e%252e/b")).toThrow(/percent escapes/);
    expect(() => decodeProxyPath("%2e%2e/b")).toThrow(/'\.\.'/);
  });
});
