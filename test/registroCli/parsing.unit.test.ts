// The command line's pure parts: version references, search conditions, key=value flags, the
// exit-code mapping, and where downloads may write.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { targetOf } from "../../src/registroCli/commands/download.ts";
import { metricCondition } from "../../src/registroCli/commands/search.ts";
import { ExitCode, exitCodeFor } from "../../src/registroCli/exitCodes.ts";
import { metrics, params } from "../../src/registroCli/keyValues.ts";
import { printable } from "../../src/registroCli/output.ts";
import { parseVersionRef } from "../../src/registroCli/modelRef.ts";
import { normalizeUrl } from "../../src/registroCli/settings.ts";

describe("registro command line parsing", () => {
  it("reads MODEL, MODEL@alias, MODEL/VERSION and MODEL/Stage (aliases have no @, names no /)", () => {
    expect(parseVersionRef("fraud")).toEqual({ kind: "latest", model: "fraud" });
    expect(parseVersionRef("fraud/3")).toEqual({ kind: "version", model: "fraud", version: 3 });
    expect(parseVersionRef("fraud/production")).toEqual({
      kind: "stage",
      model: "fraud",
      stage: "PRODUCTION",
    });
    expect(parseVersionRef("team@corp@champion")).toEqual({
      kind: "alias",
      model: "team@corp",
      alias: "champion",
    });
    expect(() => parseVersionRef("fraud/Prod")).toThrow(/unknown stage/);
    expect(() => parseVersionRef("fraud/0")).toThrow(/not a version number/);
    expect(() => parseVersionRef("fraud/99999999999999999")).toThrow(/not a version number/);
  });

  it("turns search metric conditions into the API's bounds", () => {
    expect(metricCondition("auc>=0.9")).toEqual({ key: "auc", gte: 0.9 });
    expect(metricCondition("loss<0.2")).toEqual({ key: "loss", lt: 0.2 });
    expect(metricCondition("f1")).toEqual({ key: "f1" });
    expect(() => metricCondition("auc>high")).toThrow(/not a number/);
  });

  it("parses params as JSON when they can be and refuses metrics that are not finite numbers", async () => {
    expect(await params(["depth=6", "optimizer=adam", "layers=[1,2]"], undefined)).toEqual({
      depth: 6,
      optimizer: "adam",
      layers: [1, 2],
    });
    await expect(metrics(["auc=high"], undefined)).rejects.toMatchObject({ exitCode: ExitCode.usage });
    await expect(metrics(["auc=1e999"], undefined)).rejects.toMatchObject({ exitCode: ExitCode.usage });
    await expect(params(["novalue"], undefined)).rejects.toThrow(/key=value/);
  });

  it("keeps params and metrics named like Object's own properties as plain entries", async () => {
    const named = await params(['__proto__={"polluted":true}', "constructor=2", "toString=x"], undefined);
    expect(Object.keys(named)).toEqual(["__proto__", "constructor", "toString"]);
    expect(JSON.parse(JSON.stringify(named))).toEqual(
      JSON.parse('{"__proto__":{"polluted":true},"constructor":2,"toString":"x"}'),
    );
    expect(Object.getPrototypeOf(named)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await metrics(["__proto__=0.5", "hasOwnProperty=1"], undefined)).toEqual([
      { key: "__proto__", value: 0.5 },
      { key: "hasOwnProperty", value: 1 },
    ]);
  });

  it("maps the API's error codes to exit codes in one table", () => {
    expect(exitCodeFor("UNSAFE_ARTIFACT")).toBe(5);
    expect(exitCodeFor("PERMISSION_DENIED")).toBe(4);
    expect(exitCodeFor("APPROVAL_REQUIRED")).toBe(4);
    expect(exitCodeFor("NOT_FOUND")).toBe(3);
    expect(exitCodeFor("VALIDATION")).toBe(2);
    expect(exitCodeFor("INVALID_STATE")).toBe(1);
    expect(exitCodeFor(undefined)).toBe(1);
  });

  it("keeps every download inside its folder, whatever path the server names", () => {
    const dir = path.resolve("/tmp/out");
    expect(targetOf(dir, "tokenizer/vocab.txt")).toBe(path.join(dir, "tokenizer", "vocab.txt"));
    for (const hostile of ["../escape", "a/../../escape", "/etc/passwd", "a\\..\\b", "", "."])
      expect(() => targetOf(dir, hostile), hostile).toThrow(/outside the folder/);
  });

  it("accepts http(s) server URLs, with or without /graphql", () => {
    expect(normalizeUrl("http://127.0.0.1:4000/graphql")).toBe("http://127.0.0.1:4000");
    expect(normalizeUrl("https://registry.example.com/base/")).toBe("https://registry.example.com/base");
    expect(() => normalizeUrl("ftp://x")).toThrow(/http/);
    expect(() => normalizeUrl("not a url")).toThrow(/not a URL/);
  });

  it("prints what others wrote without letting it drive the terminal", () => {
    expect(printable("v2 \u001b]0;pwned\u0007 \u001b[2J\r done\n\tok \u009b31m")).toBe(
      "v2 ?]0;pwned? ?[2J? done\n\tok ?31m",
    );
  });
});
