// INSPECTION_ALLOW_IMPORTS: the operator's extra allowed imports. Strict parsing, the deny-list
// always first, which entry accepted what, and a fingerprint that tells results of different lists apart.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createArtifactInspector } from "../../src/artifacts/artifactInspector.ts";
import { loadConfig } from "../../src/config.ts";
import type { BlobStore } from "../../src/artifacts/blobStore.ts";
import {
  AllowImportsError,
  inspectorVersion,
  NO_ALLOW_IMPORTS,
  parseAllowImports,
  suggestedEntry,
} from "../../src/inspection/operatorAllowList.ts";
import { classifyImport, reportImports } from "../../src/inspection/pickle.ts";
import type { PickleWalk } from "../../src/inspection/pickle.ts";
import { INSPECTOR_VERSION } from "../../src/inspection/version.ts";
import { computeVerdict, DEFAULT_LIMITS, Scan } from "../../src/inspection/verdict.ts";

const walkOf = (imports: { module: string; name: string }[]): PickleWalk =>
  ({
    protocol: 3,
    start: 0,
    end: 0,
    ops: 0,
    imports: imports.map((i, n) => ({ ...i, offset: n, opcode: "GLOBAL" })),
    unresolved: [],
    root: null,
    numpyArrays: 0,
    complete: true,
  }) as unknown as PickleWalk;

const refused = (text: string) => {
  try {
    parseAllowImports(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AllowImportsError);
    return (error as Error).message;
  }
  throw new Error(`${text} was accepted`);
};

describe("parsing", () => {
  it("reads exact, dotted-name and package entries separated by commas and/or whitespace, normalised", () => {
    const list = parseAllowImports(
      " mylib.helpers.Thing,\n  mylib.models:Outer.Inner other.* ,mylib.helpers.Thing,,",
    );
    expect(list.entries).toEqual([
      { kind: "exact", module: "mylib.helpers", name: "Thing", text: "mylib.helpers.Thing" },
      { kind: "exact", module: "mylib.models", name: "Outer.Inner", text: "mylib.models:Outer.Inner" },
      { kind: "classes", module: "other", text: "other.*" },
    ]);
    expect(list.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    // `module:Name` with an undotted name is the same entry as module.Name.
    expect(parseAllowImports("mylib.helpers:Thing").entries[0]!.text).toBe("mylib.helpers.Thing");
  });

  it("an empty setting is no list, with no fingerprint", () => {
    expect(parseAllowImports("  , ")).toEqual(NO_ALLOW_IMPORTS);
    expect(inspectorVersion(NO_ALLOW_IMPORTS)).toBe(INSPECTOR_VERSION);
  });

  it("the fingerprint depends on the normalised list only, and changes with it", () => {
    const a = parseAllowImports("b.C, a.*");
    expect(parseAllowImports("a.*\nb.C b.C").fingerprint).toBe(a.fingerprint);
    expect(parseAllowImports("a.*").fingerprint).not.toBe(a.fingerprint);
    expect(inspectorVersion(a)).toBe(`${INSPECTOR_VERSION}+allow-imports.${a.fingerprint}`);
  });

  it.each([
    ["Thing", /expected module\.name/],
    ["mylib.", /expected module\.name/],
    ["mylib..Thing", /expected module\.name/],
    ["1lib.Thing", /expected module\.name/],
    ["mylib.Thïng", /expected module\.name/],
    ["mylib.Th-ing", /expected module\.name/],
    ["*", /\* is only allowed as the last part/],
    ["mylib.*.Thing", /\* is only allowed as the last part/],
    ["mylib.T*", /\* is only allowed as the last part/],
    [".*", /module\.\* needs a dotted module/],
    ["mylib:", /module:name needs/],
    ["a:b:c", /module:name needs/],
    [`mylib.${"x".repeat(400)}`, /longer than 300 characters/],
  ])("refuses %j", (text, why) => {
    const message = refused(text);
    expect(message).toMatch(why);
  });

  it("names every bad entry in one message", () => {
    const message = refused("ok.Thing, bad, os.system, also-bad.X");
    expect(message).toContain('entry "bad"');
    expect(message).toContain('entry "os.system"');
    expect(message).toContain('entry "also-bad.X"');
    expect(message).not.toContain('"ok.Thing"');
  });

  it("bounds the number of entries and the text", () => {
    expect(refused(Array.from({ length: 501 }, (_, i) => `m${i}.X`).join(","))).toMatch(/at most 500/);
    expect(refused("a".repeat(70_000))).toMatch(/longer than 65536 characters/);
  });
});

describe("the deny-list cannot be overridden", () => {
  it.each([
    ["os.system", /the denied module os/],
    ["os.path.join", /the denied module os/],
    ["builtins.eval", /the denied name builtins\.eval/],
    ["__builtin__:getattr", /the denied name __builtin__\.getattr/],
    ["logging.handlers.SocketHandler", /the denied module logging\.handlers \(every name in it\)/],
    ["subprocess.*", /is under the denied module subprocess/],
    ["numpy.*", /would cover the denied module numpy\.f2py/],
    ["torch.*", /would cover the denied module torch\.hub/],
    ["logging.*", /would cover the denied classes logging\.FileHandler, logging\.StreamHandler/],
    ["types.*", /would cover the denied classes types\.CodeType/],
    ["logging.handlers.*", /would cover the denied module logging\.handlers/],
    ["sklearn.*", /would cover sklearn\.datasets, which the built-in scikit-learn rule excludes/],
    ["pandas.core.computation.*", /pandas\.core\.computation/],
  ])("%s is refused", (text, why) => {
    const message = refused(text);
    expect(message).toMatch(why);
    expect(message).toMatch(/deny-list cannot be overridden|excludes/);
  });

  it("a package entry never accepts a denied import under it (checked again at classification)", () => {
    const list = parseAllowImports("mylib.*");
    expect(classifyImport("mylib.tools", "Loader", { allowImports: list })).toBe("accepted");
    // A hand-made list that skipped validation still cannot reach the deny-list.
    const forged = { entries: [{ kind: "classes" as const, module: "os", text: "os.*" }], fingerprint: "x" };
    expect(classifyImport("os", "PathLike", { allowImports: forged })).toBe("denied");
  });
});

describe("classification with operator entries", () => {
  const list = parseAllowImports("mylib.helpers.make_thing, shop.*, mylib.models:Outer.Inner");

  it.each([
    ["mylib.helpers", "make_thing", "accepted"], // exact entries may name functions
    ["mylib.helpers", "make_other", "unknown"],
    ["mylib.helpers", "Thing", "unknown"], // an exact entry is not a package entry
    ["shop", "Basket", "accepted"],
    ["shop.cart.items", "_Item", "accepted"], // submodules, _-prefixed CamelCase
    ["shop.cart", "checkout", "unknown"], // package entries accept classes only
    ["shopping", "Basket", "unknown"], // a prefix of a name is not a package
    ["mylib.models", "Outer.Inner", "accepted"],
    ["mylib.models.Outer", "Inner", "unknown"],
    ["numpy", "float64", "allowed"], // the built-in list first
    ["os", "system", "denied"],
  ] as const)("%s.%s is %s", (module, name, expected) => {
    expect(classifyImport(module, name, { allowImports: list })).toBe(expected);
  });

  it("an accepted import is an INFO finding naming the entry; the scan records the entries used", () => {
    const scan = new Scan(DEFAULT_LIMITS, Date.now(), list);
    reportImports(
      scan,
      [
        walkOf([
          { module: "shop.cart", name: "Basket" },
          { module: "numpy", name: "float64" },
        ]),
      ],
      "m.pkl",
    );
    expect(scan.findings).toHaveLength(1);
    expect(scan.findings[0]!.severity).toBe("INFO");
    expect(scan.findings[0]!.message).toContain(
      "Pickle imports shop.cart.Basket, accepted by INSPECTION_ALLOW_IMPORTS entry shop.*",
    );
    expect(scan.findings[0]!.message).toContain("belongs to no vetted library");
    expect(computeVerdict(scan.findings)).toBe("SAFE");
    expect([...scan.acceptedImports]).toEqual(["shop.*"]);
  });

  it("without the list the same imports are SUSPICIOUS", () => {
    const scan = new Scan(DEFAULT_LIMITS);
    reportImports(scan, [walkOf([{ module: "shop.cart", name: "Basket" }])], "m.pkl");
    expect(computeVerdict(scan.findings)).toBe("SUSPICIOUS");
  });
});

describe("the suggested entry", () => {
  it.each([
    ["mylib.helpers", "Thing", "mylib.helpers.Thing", "mylib.*"],
    ["mylib.helpers", "make_thing", "mylib.helpers.make_thing", null],
    ["mylib.models", "Outer.Inner", "mylib.models:Outer.Inner", null],
    // numpy.* is refused (it covers numpy.f2py): the module itself is suggested instead
    ["numpy.extras", "Helper", "numpy.extras.Helper", "numpy.extras.*"],
    // nothing under sklearn.datasets can be accepted by package
    ["sklearn.datasets._base", "Bunch", "sklearn.datasets._base.Bunch", null],
  ] as const)("for %s.%s is %s (package: %s), and each is accepted", (module, name, exact, classes) => {
    const s = suggestedEntry(module, name);
    expect(s).toEqual({ exact, classes });
    for (const entry of [s.exact, s.classes].filter((e): e is string => e !== null))
      expect(classifyImport(module, name, { allowImports: parseAllowImports(entry) })).toBe("accepted");
  });
});

describe("createRegistro({ inspection: { allowImports } })", () => {
  it("refuses a bad list when the inspector is created, naming the setting", () => {
    expect(() =>
      createArtifactInspector({} as BlobStore, pino({ level: "silent" }), {
        allowImports: ["mylib.*", "builtins.eval"],
      }),
    ).toThrow(
      /^invalid configuration: INSPECTION_ALLOW_IMPORTS: entry "builtins\.eval" names the denied name builtins\.eval/,
    );
  });
});

describe("INSPECTION_ALLOW_IMPORTS in the configuration", () => {
  it("is empty by default, and read normalised", () => {
    expect(loadConfig({}).inspection.allowImports).toEqual([]);
    expect(
      loadConfig({ INSPECTION_ALLOW_IMPORTS: "mylib.*\n a.B, mylib.*" }).inspection.allowImports,
    ).toEqual(["a.B", "mylib.*"]);
  });

  it("names the setting and the entry when one is bad", () => {
    expect(() => loadConfig({ INSPECTION_ALLOW_IMPORTS: "mylib.*, pickle.loads" })).toThrow(
      /^invalid configuration: INSPECTION_ALLOW_IMPORTS: entry "pickle\.loads" names the denied module pickle/,
    );
  });
});
