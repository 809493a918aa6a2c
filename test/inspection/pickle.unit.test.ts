import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { inspectArtifactInProcess } from "../../src/inspection/index.ts";
import { binUnicode } from "../support/pickles.ts";
import { BufferSource, Cursor, iterableChunks, rangeChunks } from "../../src/inspection/io.ts";
import {
  classifyImport,
  newWalk,
  reportImports,
  walkPickle,
  walkPickleStream,
} from "../../src/inspection/pickle.ts";
import { parseAllowImports } from "../../src/inspection/operatorAllowList.ts";
import { computeVerdict, DEFAULT_LIMITS, MalformedError, Scan } from "../../src/inspection/verdict.ts";

const cursor = (bytes: Buffer) => new Cursor(rangeChunks(new BufferSource(bytes)), "t.pkl");
const scan = () => new Scan({ ...DEFAULT_LIMITS });

describe("import policy", () => {
  it.each([
    ["os", "system", "denied"],
    ["os.path", "join", "denied"],
    ["posix", "system", "denied"],
    ["nt", "system", "denied"],
    ["subprocess", "Popen", "denied"],
    ["builtins", "getattr", "denied"],
    ["builtins", "__import__", "denied"],
    ["__builtin__", "eval", "denied"],
    ["functools", "partial", "denied"],
    ["operator", "attrgetter", "denied"],
    ["_operator", "methodcaller", "denied"],
    ["types", "CodeType", "denied"],
    ["numpy.testing._private.utils", "runstring", "denied"],
    ["numpy.f2py", "compile", "denied"],
    ["torch.serialization", "load", "denied"],
    ["torch.jit.unsupported_tensor_ops", "execWrapper", "denied"],
    ["cloudpickle.cloudpickle", "_make_function", "denied"],
    ["logging", "FileHandler", "denied"],
    ["_io", "FileIO", "denied"],
    ["requests.api", "get", "denied"],
    ["urllib.request", "urlopen", "denied"],
    ["collections", "OrderedDict", "allowed"],
    ["torch._utils", "_rebuild_tensor_v2", "allowed"],
    ["torch._utils", "_rebuild_parameter", "allowed"],
    ["torch", "FloatStorage", "allowed"],
    ["torch", "BFloat16Storage", "allowed"],
    ["numpy", "dtype", "allowed"],
    ["numpy.core.multiarray", "_reconstruct", "allowed"],
    ["numpy._core.multiarray", "_reconstruct", "allowed"],
    ["joblib.numpy_pickle", "NumpyArrayWrapper", "allowed"],
    ["sklearn.tree._classes", "DecisionTreeClassifier", "allowed"],
    ["sklearn.utils", "some_function", "unknown"],
    ["mylib", "Thing", "unknown"],
    ["__torch__", "MyModule", "unknown"],
    // precise per-library lists (src/inspection/allowList.ts)
    ["numpy", "float64", "allowed"],
    ["numpy.random._pickle", "__randomstate_ctor", "allowed"],
    ["numpy.random._pickle", "__bit_generator_ctor", "allowed"],
    ["numpy.random", "some_helper", "unknown"],
    ["numpy.random", "RandomState", "unknown"],
    ["scipy.sparse._coo", "coo_matrix", "allowed"],
    ["scipy.sparse.csr", "csr_matrix", "allowed"],
    ["scipy.sparse._coo", "CooHelper", "unknown"],
    ["scipy.sparse.linalg", "spsolve", "unknown"],
    ["pandas.core.indexes.base", "_new_Index", "allowed"],
    ["pandas._libs.tslibs.timestamps", "_unpickle_timestamp", "allowed"],
    ["pandas.core.frame", "DataFrame", "allowed"],
    ["pandas.core.computation.expr", "Expr", "unknown"],
    ["pandas.core.frame", "some_function", "unknown"],
    ["pandas.io.parsers", "TextFileReader", "unknown"],
    ["sklearn._loss._loss", "__pyx_unpickle_CyHalfBinomialLoss", "allowed"],
    ["sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper", "allowed"],
    ["sklearn.datasets._base", "Bunch", "unknown"],
    ["xgboost.tracker", "RabitTracker", "unknown"],
    ["torch.nn.modules.linear", "Linear", "allowed"],
    ["torch.nn.functional", "relu", "unknown"],
    ["statsmodels.regression.linear_model", "OLSResults", "allowed"],
    ["pytz", "_p", "allowed"],
    ["zoneinfo", "ZoneInfo", "unknown"],
  ] as const)("%s.%s is %s", (module, name, expected) => {
    expect(classifyImport(module, name)).toBe(expected);
  });

  it("TorchScript classes are allowed only inside TorchScript archives", () => {
    expect(classifyImport("__torch__.model", "Net", { torchScript: true })).toBe("allowed");
  });
});

describe("SUSPICIOUS findings say which import, why, and what to do", () => {
  it.each([
    ["mylib.helpers", "Thing", /module mylib\.helpers belongs to no vetted library/],
    [
      "sklearn.utils",
      "some_function",
      /some_function is a function \(lower-case name\) in scikit-learn; functions are allow-listed one by one/,
    ],
    [
      "scipy.sparse._coo",
      "CooHelper",
      /SciPy sparse is allow-listed name by name .* scipy\.sparse\._coo\.CooHelper is not one of those names/,
    ],
    [
      "pandas.core.computation.expr",
      "Expr",
      /pandas classes are allowed by package except under pandas\.core\.computation/,
    ],
    ["__torch__.m", "Net", /__torch__ classes are only expected inside a TorchScript archive/],
  ] as const)("%s.%s", (module, name, why) => {
    const s = scan();
    reportImports(s, [{ ...newWalk(0), imports: [{ module, name, offset: 7, opcode: "GLOBAL" }] }], "t.pkl");
    expect(s.findings).toHaveLength(1);
    const f = s.findings[0]!;
    expect(f.severity).toBe("MEDIUM");
    expect(f.message).toContain(`Pickle imports ${module}.${name}, which is not on the allow-list: `);
    expect(f.message).toMatch(why);
    expect(f.message).toMatch(/SUSPICIOUS never blocks Production or aliases/);
    // How to accept it: the entry to add, the setting, and the mutation that re-inspects.
    const entry = /add `([^`]+)`/.exec(f.message)?.[1];
    expect(entry).toBeDefined();
    expect(f.message).toContain("INSPECTION_ALLOW_IMPORTS");
    expect(f.message).toContain("inspectModelVersionArtifacts");
    // The advice works: with that entry configured, the same import is accepted.
    const accepted = new Scan({ ...DEFAULT_LIMITS }, Date.now(), parseAllowImports(entry!));
    reportImports(
      accepted,
      [{ ...newWalk(0), imports: [{ module, name, offset: 7, opcode: "GLOBAL" }] }],
      "t.pkl",
    );
    expect(computeVerdict(accepted.findings)).toBe("SAFE");
    expect(accepted.findings.map((x) => x.severity)).toEqual(["INFO"]);
    expect(f.location).toBe("t.pkl@offset 7");
  });
});

describe("modules named like Object's members", () => {
  it.each(["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty"])(
    "%s is an unknown module, and the imports after it are still judged",
    async (module) => {
      expect(classifyImport(module, "x")).toBe("unknown");
      // GLOBAL '<module> x', GLOBAL 'os system', STOP (protocol 0)
      const bytes = Buffer.from(`c${module}\nx\ncos\nsystem\n.`, "latin1");
      const s = scan();
      const w = await walkPickle(cursor(bytes), { scan: s, maxOps: 1000 });
      reportImports(s, [w], "t.pkl");
      expect(s.findings.map((f) => f.severity)).toContain("CRITICAL");
      expect(s.findings.map((f) => f.message).join("\n")).toMatch(/os\.system/);
      expect(computeVerdict(s.findings)).toBe("DANGEROUS");
    },
  );
});

describe("opcode walker", () => {
  it("resolves STACK_GLOBAL operands fetched from the memo", async () => {
    // PROTO 4, "os" MEMOIZE, "system" MEMOIZE, POP POP, BINGET 0, BINGET 1, STACK_GLOBAL, STOP
    const bytes = Buffer.from(
      "8004" + "8c026f7394" + "8c0673797374656d94" + "3030" + "68006801" + "93" + "2e",
      "hex",
    );
    const w = await walkPickle(cursor(bytes), { scan: scan(), maxOps: 1000 });
    expect(w.imports).toEqual([{ module: "os", name: "system", offset: 22, opcode: "STACK_GLOBAL" }]);
    expect(w.unresolved).toEqual([]);
  });

  it("memo indices in PUT's text are exact at any length: 2^53 and 2^53 + 1 are two entries, as in Python", async () => {
    // "os" PUT 2^53 + 1, "safe" PUT 2^53, GET 2^53 + 1, "system", STACK_GLOBAL. The pure-Python
    // unpickler (pickle._Unpickler, which joblib.load uses) returns os.system; CPython's C one runs out
    // of memory on the PUT. Read through Number(), both indices were 2^53 and the GET read "safe".
    const bytes = Buffer.concat([
      Buffer.from("8004" + "8c026f73", "hex"),
      Buffer.from("p9007199254740993\n0", "latin1"),
      Buffer.from("8c0473616665", "hex"),
      Buffer.from("p9007199254740992\n0", "latin1"),
      Buffer.from("g9007199254740993\n", "latin1"),
      Buffer.from("8c0673797374656d" + "93" + "2e", "hex"),
    ]);
    const w = await walkPickle(cursor(bytes), { scan: scan(), maxOps: 1000 });
    expect(w.imports.map((i) => `${i.module}.${i.name}`)).toEqual(["os.system"]);
    // Far indices written as 4 bytes and as text are the same entry; leading zeros do not count.
    const mixed = Buffer.concat([
      Buffer.from("8004" + "8c026f73" + "72" + "404b4c00" + "30", "hex"), // LONG_BINPUT 5,000,000
      Buffer.from("g0005000000\n", "latin1"),
      Buffer.from("8c0673797374656d" + "93" + "2e", "hex"),
    ]);
    const m = await walkPickle(cursor(mixed), { scan: scan(), maxOps: 1000 });
    expect(m.imports.map((i) => `${i.module}.${i.name}`)).toEqual(["os.system"]);
  });

  it("an unresolvable STACK_GLOBAL is dangerous", async () => {
    // PROTO 4, int 1, "x", STACK_GLOBAL, STOP: operands are not two strings
    const bytes = Buffer.from("8004" + "4b01" + "8c0178" + "93" + "2e", "hex");
    const s = scan();
    const w = await walkPickle(cursor(bytes), { scan: s, maxOps: 1000 });
    reportImports(s, [w], "t.pkl");
    expect(s.findings.map((f) => f.severity)).toEqual(["HIGH"]);
    expect(computeVerdict(s.findings)).toBe("DANGEROUS");
  });

  it("extension-registry imports (EXT1) cannot be resolved and are dangerous", async () => {
    const s = scan();
    const w = await walkPickle(cursor(Buffer.from("8002" + "8201" + "29" + "52" + "2e", "hex")), {
      scan: s,
      maxOps: 1000,
    });
    expect(w.unresolved).toEqual([{ offset: 2, opcode: "EXT1", why: "extension registry code 1" }]);
    reportImports(s, [w], "t.pkl");
    expect(computeVerdict(s.findings)).toBe("DANGEROUS");
  });

  it("an unknown opcode stops the walk: fail closed", async () => {
    const s = scan();
    const res = await walkPickleStream(cursor(Buffer.from("8002ff2e", "hex")), s);
    expect(res.complete).toBe(false);
    expect(computeVerdict(s.findings)).toBe("UNSCANNABLE");
    expect(s.findings[0]?.message).toMatch(/unknown pickle opcode 0xff/);
  });

  it("walks every pickle of a concatenated stream", async () => {
    const safe = Buffer.from("80024b012e", "hex");
    const evil = Buffer.concat([
      Buffer.from("8002", "hex"),
      Buffer.from("cposix\nsystem\n", "latin1"),
      Buffer.from("2e", "hex"),
    ]);
    const s = scan();
    const res = await walkPickleStream(cursor(Buffer.concat([safe, safe, safe, evil])), s);
    expect(res.walks).toHaveLength(4);
    reportImports(s, res.walks, "t.pkl");
    expect(computeVerdict(s.findings)).toBe("DANGEROUS");
  });

  it("caps the opcode count", async () => {
    const s = new Scan({ ...DEFAULT_LIMITS, maxPickleOps: 100 });
    const body = Buffer.alloc(2000, Buffer.from("4e30", "hex"));
    const res = await walkPickleStream(
      cursor(Buffer.concat([Buffer.from("8002", "hex"), body, Buffer.from("4e2e", "hex")])),
      s,
    );
    expect(res.complete).toBe(false);
    expect(s.findings.map((f) => f.message)).toEqual(["Incomplete scan: pickle has more than 100 opcodes"]);
    expect(computeVerdict(s.findings)).toBe("UNSCANNABLE");
  });

  it("rejects a truncated stream with the offset it stopped at", async () => {
    await expect(
      walkPickle(cursor(Buffer.from("80028c05ab", "hex")), { scan: scan(), maxOps: 1000 }),
    ).rejects.toBeInstanceOf(MalformedError);
  });
});

describe("the walker reads the same whatever the chunking", () => {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const shortUnicode = (text: string) => {
    const b = Buffer.from(text, "utf8");
    return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
  };
  // A dict of every operand width the walker reads in place or across chunks: ints of 1, 2 and 4
  // bytes, a float, short and long strings (one past the 16 KiB read cap, so cut), bytes; then an
  // import whose two names come from the memo, one of them put by hand at a far index (2^32 - 1)
  // and fetched back after a MEMOIZE, which numbers by the memo's size (len(memo)), not its keys.
  const long = "é".repeat(9000);
  const dict = Buffer.concat([
    Buffer.from("8004", "hex"),
    Buffer.from("7d94", "hex"), // EMPTY_DICT MEMOIZE (memo 0)
    Buffer.from("28", "hex"), // MARK
    shortUnicode("a"),
    Buffer.from("4b07", "hex"), // BININT1 7
    shortUnicode("b"),
    Buffer.from("4d3412", "hex"), // BININT2
    shortUnicode("c"),
    Buffer.from("4a", "hex"),
    u32(0x89abcdef), // BININT, negative as i32
    shortUnicode("d"),
    Buffer.from("47" + "3ff0000000000000", "hex"), // BINFLOAT
    shortUnicode("ünï"),
    binUnicode(long),
    shortUnicode("e"),
    Buffer.from("4305" + "0102030405", "hex"), // SHORT_BINBYTES
    shortUnicode("f"),
    Buffer.from("5503" + "616263", "hex"), // SHORT_BINSTRING
    Buffer.from("75", "hex"), // SETITEMS
  ]);
  const dictOnly = Buffer.concat([dict, Buffer.from("2e", "hex")]);
  const withImport = Buffer.concat([
    dict,
    Buffer.from("30", "hex"), // POP the dict
    shortUnicode("posix"),
    Buffer.from("72", "hex"),
    u32(0xffffffff), // LONG_BINPUT 2^32 - 1
    shortUnicode("system"),
    Buffer.from("94", "hex"), // MEMOIZE: memo 2, the memo holding two entries
    Buffer.from("3030", "hex"),
    Buffer.from("6a", "hex"),
    u32(0xffffffff), // LONG_BINGET
    Buffer.from("6802", "hex"), // BINGET 2
    Buffer.from("93", "hex"), // STACK_GLOBAL
    Buffer.from("2e", "hex"),
  ]);
  const inChunks = (bytes: Buffer, size: number) => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
    return new Cursor(iterableChunks(Readable.from(chunks)), "t.pkl");
  };
  const walk = (c: Cursor) => walkPickle(c, { scan: scan(), maxOps: 1000 });
  const summary = (w: Awaited<ReturnType<typeof walkPickle>>) =>
    JSON.stringify(w, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

  it("in one buffer: every value, where it starts, and the import through the memo", async () => {
    const w = await walk(cursor(withImport));
    expect(w.imports).toEqual([
      { module: "posix", name: "system", offset: withImport.length - 2, opcode: "STACK_GLOBAL" },
    ]);
    expect(w.end).toBe(withImport.length);
    const root = (await walk(cursor(dictOnly))).root;
    const entries = root?.t === "dict" ? root.entries : [];
    expect(entries.map(([k]) => (k.t === "str" ? k.v : k.t))).toEqual(["a", "b", "c", "d", "ünï", "e", "f"]);
    expect(entries.map(([, v]) => (v.t === "int" ? v.v : v.t))).toEqual([
      7n,
      0x1234n,
      -0x76543211n,
      "float",
      "str",
      "bytes",
      "str",
    ]);
    const at = (hex: string) => dict.indexOf(Buffer.from(hex, "hex"));
    expect(entries[0]![0]).toEqual({ t: "str", v: "a", at: at("8c0161") + 2, byteLen: 1 });
    expect(entries[4]![0]).toMatchObject({ t: "str", v: "ünï", byteLen: 5 });
    expect(entries[4]![1]).toEqual({
      t: "str",
      v: "é".repeat(4096),
      truncated: true,
      at: at("58" + "50460000") + 5,
      byteLen: 18000,
    });
    expect(entries[5]![1]).toEqual({ t: "bytes", len: 5, at: at("0102030405") });
    expect(entries[6]![1]).toEqual({ t: "str", v: "abc", at: at("5503616263") + 2, byteLen: 3 });
  });

  it.each([1, 2, 3, 5, 7, 64, 4096])("in chunks of %i bytes, as in one buffer", async (size) => {
    for (const bytes of [dictOnly, withImport])
      expect(summary(await walk(inChunks(bytes, size)))).toBe(summary(await walk(cursor(bytes))));
  });
});

describe("names read as pickle.load reads them", () => {
  /** The findings of one whole pickle, walked and graded. */
  const graded = async (bytes: Buffer) => {
    const s = scan();
    const res = await walkPickleStream(cursor(bytes), s);
    reportImports(s, res.walks, "t.pkl");
    return {
      verdict: computeVerdict(s.findings),
      messages: s.findings.map((f) => `${f.severity} ${f.message}`),
    };
  };
  const callsSystem = (importBytes: Buffer) =>
    Buffer.concat([importBytes, binUnicode("echo hi"), Buffer.from("\x85R.", "latin1")]);

  it.each([
    ["STRING with octal escapes", "\x80\x02S'\\157\\163'\nS'system'\n\x93"],
    ["STRING with hex escapes", "\x80\x02S'\\x6f\\x73'\nS'sys\\164em'\n\x93"],
    ["UNICODE with \\U escapes", "\x80\x02V\\U0000006fs\nVsystem\n\x93"],
    ["UNICODE with \\u escapes", "\x80\x02V\\u006f\\u0073\nVsystem\n\x93"],
  ])("%s decode to os.system", async (_label, head) => {
    const r = await graded(callsSystem(Buffer.from(head, "latin1")));
    expect(r.verdict, r.messages.join("\n")).toBe("DANGEROUS");
    expect(r.messages.join("\n")).toMatch(/CRITICAL Dangerous pickle import os\.system/);
  });

  it("keeps what Python keeps: quotes of UNICODE lines, unknown escapes of STRING lines", async () => {
    // raw-unicode-escape strips no quotes: V'os' imports a module named 'os' with its quotes.
    const quoted = await graded(callsSystem(Buffer.from("\x80\x02V'os'\nVsystem\n\x93", "latin1")));
    expect(quoted.messages.join("\n")).toMatch(/MEDIUM .*'os'\.system/);
    const unknown = await graded(callsSystem(Buffer.from("\x80\x02S'o\\s'\nS'system'\n\x93", "latin1")));
    expect(unknown.messages.join("\n")).toMatch(/MEDIUM .*o\\s\.system/);
  });

  it("a dotted name (protocol 4) reaching a denied module through another module is that import", async () => {
    // genericpath imports os, so genericpath.os.system is os.system.
    const r = await graded(
      callsSystem(
        Buffer.concat([
          Buffer.from("\x80\x04", "latin1"),
          binUnicode("genericpath"),
          binUnicode("os.system"),
          Buffer.from("\x93", "latin1"),
        ]),
      ),
    );
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.messages.join("\n")).toMatch(/CRITICAL Dangerous pickle import genericpath\.os\.system/);
  });

  it.each([
    ["genericpath", "os.system", "denied"],
    ["shutil_helpers", "subprocess.Popen", "denied"],
    ["some.module", "helper.builtins.eval", "denied"],
    ["some.module", "helper.functools.partial", "denied"],
    ["collections", "OrderedDict.__init__.__globals__", "denied"],
    ["mymodel", "Model.__class__.__base__", "denied"],
    ["mymodel", `${"a.".repeat(40)}b`, "denied"],
    ["mymodel", "Outer.Inner", "unknown"],
    ["mymodel", "os_helpers.run", "unknown"],
    ["collections", "OrderedDict", "allowed"],
  ])("%s.%s is %s", (module, name, expected) => {
    expect(classifyImport(module, name)).toBe(expected);
  });

  it.each([
    ["cPickle", "loads", "pickle.loads"],
    ["thread", "start_new_thread", "_thread.start_new_thread"],
    ["__builtin__", "reduce", "functools.reduce"],
    ["commands", "getoutput", "subprocess.getoutput"],
  ])("below protocol 3, %s.%s is loaded as %s (fix_imports)", async (module, name, loaded) => {
    const r = await graded(callsSystem(Buffer.from(`\x80\x02c${module}\n${name}\n`, "latin1")));
    expect(r.verdict, r.messages.join("\n")).toBe("DANGEROUS");
    expect(r.messages.join("\n")).toContain(
      `CRITICAL Dangerous pickle import ${module}.${name} (GLOBAL, loaded as ${loaded})`,
    );
  });

  it("below protocol 3, the name as written counts too when it is the worse (fix_imports=False loads it)", async () => {
    // builtins has no execfile (Python 3 fails to load it), but __builtin__.execfile is denied.
    const r = await graded(callsSystem(Buffer.from("\x80\x02c__builtin__\nexecfile\n", "latin1")));
    expect(r.verdict, r.messages.join("\n")).toBe("DANGEROUS");
    expect(r.messages.join("\n")).toContain(
      "CRITICAL Dangerous pickle import __builtin__.execfile (GLOBAL, loaded as builtins.execfile)",
    );
  });

  it("from protocol 3 on, a Python 2 name is imported as written", async () => {
    const r = await graded(callsSystem(Buffer.from("\x80\x03ccPickle\nloads\n", "latin1")));
    expect(r.messages.join("\n")).not.toMatch(/CRITICAL/);
    expect(r.messages.join("\n")).toMatch(/MEDIUM .*cPickle\.loads/);
  });

  it("millions of extension-registry imports keep a bounded number of findings", async () => {
    // PROTO 2, then EXT1 1 POP two million times: each is an unresolved import.
    const body = Buffer.alloc(3 * 2_000_000, Buffer.from("\x82\x010", "latin1"));
    const r = await graded(Buffer.concat([Buffer.from("\x80\x02", "latin1"), body, Buffer.from("N.")]));
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.messages.length).toBeLessThanOrEqual(101);
    expect(r.messages.at(-1)).toMatch(/^HIGH 1999900 more pickle imports could not be resolved/);
  });
});

describe("joblib array wrappers made without calling their class", () => {
  const latin1 = (text: string) => Buffer.from(text, "latin1");

  it.each([
    ["copyreg._reconstructor", latin1("ccopyreg\n_reconstructor\n"), latin1("cbuiltins\nobject\nN\x87R")],
    ["copyreg.__newobj__", latin1("ccopyreg\n__newobj__\n"), latin1(")\x86R")],
  ])("a wrapper made by %s reads the array bytes after it, as joblib does", async (_label, make, rest) => {
    // joblib asks isinstance(obj, NumpyArrayWrapper): five bytes of uint8 array follow the BUILD.
    // Read as opcodes, those five bytes are a BINBYTES header that would hide the payload after it.
    const payload = Buffer.concat([latin1("cposix\nsystem\n"), binUnicode("echo hi"), latin1("\x85R0")]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(payload.length);
    const bytes = Buffer.concat([
      latin1("\x80\x02"),
      make,
      latin1("cjoblib.numpy_pickle\nNumpyArrayWrapper\n"),
      rest,
      latin1("}("),
      binUnicode("subclass"),
      latin1("cnumpy\nndarray\n"),
      binUnicode("shape"),
      latin1("K\x05\x85"),
      binUnicode("order"),
      binUnicode("C"),
      binUnicode("dtype"),
      latin1("cnumpy\ndtype\n"),
      binUnicode("u1"),
      latin1("\x89\x88\x87R"),
      binUnicode("allow_mmap"),
      latin1("\x89ub"),
      latin1("B"),
      length,
      payload,
      latin1("0N."),
    ]);
    const s = scan();
    const res = await walkPickleStream(cursor(bytes), s);
    reportImports(s, res.walks, "t.joblib");
    expect(computeVerdict(s.findings)).toBe("DANGEROUS");
    expect(s.findings.map((f) => `${f.severity} ${f.message}`).join("\n")).toMatch(
      /CRITICAL Dangerous pickle import posix\.system/,
    );
  });
});

describe("a protocol-0 pickle cut before its STOP", () => {
  // pickle.load runs REDUCE as it reads it: the payload runs before the load fails at the cut.
  it.each([
    ["trunc.pkl", "cos\nsystem\n(S'echo hi'\ntR"],
    ["notes.txt", "cos\nsystem\n(S'echo hi'\ntR(S'more'\n"],
    ["inst.pkl", "(S'echo hi'\nios\nsystem\n"],
  ])("%s is read as the pickle it is: DANGEROUS", async (name, text) => {
    const dir = mkdtempSync(join(tmpdir(), "registro-trunc-"));
    try {
      writeFileSync(join(dir, name), text, "latin1");
      const r = await inspectArtifactInProcess(join(dir, name), name);
      expect(r.format).toBe("PICKLE");
      expect(r.verdict).toBe("DANGEROUS");
      expect(r.findings.map((f) => `${f.severity} ${f.message}`).join("\n")).toMatch(
        /CRITICAL Dangerous pickle import os\.system/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("text that only looks like an import, with no call, stays text", async () => {
    const dir = mkdtempSync(join(tmpdir(), "registro-trunc-"));
    try {
      writeFileSync(join(dir, "readme.txt"), "cat and dog\nare friends\nRoses are red\n");
      const r = await inspectArtifactInProcess(join(dir, "readme.txt"), "readme.txt");
      expect(r.verdict).toBe("SAFE");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
