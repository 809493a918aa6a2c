import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectArtifactInProcess, type InspectionResult } from "../../src/inspection/index.ts";
import { binUnicode } from "../support/pickles.ts";
import { zip } from "../support/zips.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "registro-archive-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const messages = (r: InspectionResult) =>
  r.findings.map((f) => `${f.severity} ${f.message} @${f.location ?? ""}`).join("\n");

/** What `pickle.dumps(P(), 2)` writes when `P.__reduce__` returns `(os.system, ("echo PWNED",))`. */
const osSystem = Buffer.concat([
  Buffer.from("\x80\x02cos\nsystem\n", "latin1"),
  binUnicode("echo PWNED"),
  Buffer.from("\x85R.", "latin1"),
]);
/** `pickle.dumps({}, 2)` */
const emptyDict = Buffer.from("\x80\x02}q\x00.", "latin1");

async function inspectZip(name: string, entries: [string, Buffer][]): Promise<InspectionResult> {
  const path = join(tmp, name);
  writeFileSync(path, zip(entries));
  return inspectArtifactInProcess(path, name);
}

const torchLayout = (...more: [string, Buffer][]): [string, Buffer][] => [
  ["archive/data.pkl", emptyDict],
  ["archive/version", Buffer.from("3\n")],
  ...more,
];

describe("archive members are scanned as top-level files are", () => {
  it("the test ZIP writer makes archives the inspector reads: a benign torch layout is SAFE", async () => {
    const r = await inspectZip("benign.pt", torchLayout(["archive/notes.txt", Buffer.from("hello\n")]));
    expect(r.format).toBe("PYTORCH");
    expect(r.verdict, messages(r)).toBe("SAFE");
  });

  it.each([
    ["zlib", () => deflateSync(osSystem)],
    ["gzip", () => gzipSync(osSystem)],
    ["xz", () => readFileSync(join(fixtures, "xz_os_system.joblib"))],
    ["lzma", () => readFileSync(join(fixtures, "lzma_os_system.joblib"))],
    ["lz4", () => readFileSync(join(fixtures, "lz4_os_system.joblib"))],
  ])("a %s-compressed joblib member is decompressed and walked: DANGEROUS", async (kind, bytes) => {
    const r = await inspectZip(`${kind}.zip`, [
      ["README.txt", Buffer.from("model")],
      ["model.joblib", bytes()],
    ]);
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(
      new RegExp(
        `CRITICAL Dangerous pickle import (os|posix)\\.system .*@${kind}\\.zip:model\\.joblib\\[${kind}\\]`,
      ),
    );
  });

  it("a gzip joblib next to a torch layout's data.pkl is walked: DANGEROUS", async () => {
    const r = await inspectZip("torch_extra.zip", torchLayout(["archive/extra.joblib", gzipSync(osSystem)]));
    expect(r.format).toBe("PYTORCH");
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(
      /CRITICAL Dangerous pickle import os\.system .*@torch_extra\.zip:archive\/extra\.joblib\[gzip\]/,
    );
  });

  it("an unrecognised binary member leaves the scan incomplete; text and JSON members do not", async () => {
    const text = await inspectZip("text.zip", [
      ["config.json", Buffer.from('{"a": 1}')],
      ["notes.md", Buffer.from("# model\n")],
    ]);
    expect(text.verdict, messages(text)).toBe("SAFE");
    const blob = await inspectZip("blob.zip", [
      ["config.json", Buffer.from('{"a": 1}')],
      ["blob.dat", Buffer.from([0x01, 0x02, 0x00, 0xff, 0xfe, 0x00, 0x07, 0x99])],
    ]);
    expect(blob.verdict, messages(blob)).toBe("UNSCANNABLE");
    expect(messages(blob)).toMatch(/content does not match any supported format @blob\.zip:blob\.dat/);
  });

  it("a member over the in-memory cap that its first bytes do not name leaves the scan incomplete", async () => {
    const path = join(tmp, "big.zip");
    writeFileSync(
      path,
      zip([["blob.dat", Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(200, 0xa5)])]]),
    );
    const blob = await inspectArtifactInProcess(path, "big.zip", { maxMemberBytes: 100 });
    expect(blob.verdict, messages(blob)).toBe("UNSCANNABLE");
    expect(messages(blob)).toMatch(/over the in-memory cap of 100 and not recognised by its first bytes/);
  });

  const fixture = (name: string) => readFileSync(join(fixtures, name));
  const overCap = async (name: string, member: string, file: string, stored: boolean) => {
    const path = join(tmp, name);
    const bytes = fixture(file);
    writeFileSync(path, zip([[member, bytes]], { stored }));
    // Just under the member's size: the member is not held in memory, its attributes still fit the cap.
    return inspectArtifactInProcess(path, name, { maxMemberBytes: bytes.length - 1 });
  };

  it.each([
    [
      "keras2_lambda.h5",
      "model.h5",
      "DANGEROUS",
      /HIGH Keras Lambda layer .*@big_h5\.zip:model\.h5:model_config/,
    ],
    [
      "ssti_template.gguf",
      "model.gguf",
      "DANGEROUS",
      /HIGH Chat template contains "__class__".*@big_gguf\.zip:model\.gguf/,
    ],
    [
      "trailing_payload.safetensors",
      "model.safetensors",
      "DANGEROUS",
      /HIGH safetensors reference check failed: .*@big_safetensors\.zip:model\.safetensors/,
    ],
    ["keras3.weights.h5", "model.h5", "SAFE", null],
    ["model.safetensors", "model.safetensors", "SAFE", null],
  ])(
    "a STORED member over the in-memory cap (%s) is read in place by its inspector",
    async (file, member, verdict, finding) => {
      const ext = member.split(".").pop()!;
      const r = await overCap(`big_${ext}.zip`, member, file, true);
      expect(r.verdict, messages(r)).toBe(verdict);
      if (finding) expect(messages(r)).toMatch(finding);
    },
  );

  it("a compressed member over the in-memory cap: HDF5 and GGUF (may carry code) are incomplete, safetensors passes", async () => {
    const h5 = await overCap("deflated_h5.zip", "model.h5", "keras2_model.h5", false);
    expect(h5.verdict, messages(h5)).toBe("UNSCANNABLE");
    expect(messages(h5)).toMatch(
      /compressed HDF5 archive entry of \d+ bytes is over the in-memory cap of \d+; its header was not read @deflated_h5\.zip:model\.h5/,
    );
    const gguf = await overCap("deflated_gguf.zip", "model.gguf", "tiny.gguf", false);
    expect(gguf.verdict, messages(gguf)).toBe("UNSCANNABLE");
    const st = await overCap("deflated_st.zip", "model.safetensors", "model.safetensors", false);
    expect(st.verdict, messages(st)).toBe("SAFE");
  });

  it("a member pickle that starts with NONE, POP is walked, as the same bytes are at the top level", async () => {
    const bytes = Buffer.concat([Buffer.from("N0"), osSystem]);
    const r = await inspectZip("np0.zip", [["model.pkl", bytes]]);
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(/CRITICAL Dangerous pickle import os\.system .*@np0\.zip:model\.pkl/);
    const top = join(tmp, "np0.pkl");
    writeFileSync(top, bytes);
    expect((await inspectArtifactInProcess(top, "np0.pkl")).verdict).toBe("DANGEROUS");
  });

  it.each([
    ["the member cap", (size: number) => ({ maxMemberBytes: size - 1 })],
    ["the held budget", (size: number) => ({ maxHeldBytes: size - 1 })],
  ])(
    "a torch layout's data.pkl over %s is streamed, not refused for its size: DANGEROUS",
    async (_, limits) => {
      // An os.system call after a long string: a pickle larger than the limit, walked to its end.
      const padded = Buffer.concat([
        Buffer.from("\x80\x02", "latin1"),
        binUnicode("x".repeat(4096)),
        Buffer.from("0", "latin1"),
        osSystem.subarray(2),
      ]);
      const path = join(tmp, "streamed.pt");
      writeFileSync(
        path,
        zip([
          ["archive/data.pkl", padded],
          ["archive/version", Buffer.from("3\n")],
        ]),
      );
      const r = await inspectArtifactInProcess(path, "streamed.pt", limits(padded.length));
      expect(r.format).toBe("PYTORCH");
      expect(r.verdict, messages(r)).toBe("DANGEROUS");
      expect(messages(r)).toMatch(
        /CRITICAL Dangerous pickle import os\.system .*@streamed\.pt:archive\/data\.pkl/,
      );
      expect(messages(r)).not.toMatch(/in-memory cap|budget/);
    },
  );

  it("every copy of a duplicated data.pkl is walked: the second (Python's zipfile reads it) is DANGEROUS", async () => {
    const r = await inspectZip("dup.pt", [...torchLayout(), ["archive/data.pkl", osSystem]]);
    expect(r.format).toBe("PYTORCH");
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(/CRITICAL Dangerous pickle import os\.system .*@dup\.pt:archive\/data\.pkl/);
    expect(messages(r)).toMatch(/MEDIUM Archive has duplicate entry "archive\/data\.pkl"/);
  });

  it("every copy of a SavedModel's saved_model.pb is read: a ReadFile op in the second is DANGEROUS", async () => {
    const graph = (name: string) => readFileSync(join(fixtures, name));
    const r = await inspectZip("dup_saved_model.zip", [
      ["my_model/saved_model.pb", graph("saved_model.pb")],
      ["my_model/saved_model.pb", graph("saved_model_readfile.pb")],
    ]);
    expect(r.format).toBe("TF_SAVEDMODEL");
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(/HIGH TensorFlow graph uses file-system op ReadFile/);
  });

  it("every copy of a .keras archive's config.json is walked: a Lambda layer in the second (the one Keras reads) is DANGEROUS", async () => {
    const config = (layers: object[]) =>
      Buffer.from(
        JSON.stringify({
          module: "keras",
          class_name: "Sequential",
          config: { name: "sequential", layers },
          registered_name: null,
        }),
      );
    const dense = { module: "keras.layers", class_name: "Dense", config: { name: "dense", units: 2 } };
    const lambda = {
      module: "keras.layers",
      class_name: "Lambda",
      config: { name: "lambda", function: { class_name: "__lambda__", config: { code: "4wEAAAAAAAAA" } } },
    };
    const r = await inspectZip("dup.keras", [
      ["metadata.json", Buffer.from(JSON.stringify({ keras_version: "3.3.3" }))],
      ["config.json", config([dense])],
      ["config.json", config([lambda, dense])],
      ["model.weights.h5", Buffer.from("")],
    ]);
    expect(r.format).toBe("KERAS");
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(/HIGH Keras Lambda layer/);
  });
});

/** A `tokenizer_config.json` whose chat template reaches Python internals. */
const hostileTokenizerConfig = Buffer.from(
  JSON.stringify({ tokenizer_class: "LlamaTokenizer", chat_template: "{{ ''.__class__.__mro__ }}" }),
);

describe("members of a known format get that format's inspector", () => {
  const fixture = (name: string) => readFileSync(join(fixtures, name));

  it.each([
    [
      "keras2_lambda.h5",
      "model.h5",
      /HIGH Keras Lambda layer .*@h5\.zip:model\.h5:model_config:config\.layers\[1\]/,
    ],
    ["keras2_dense_lambda.h5", "model.h5", /HIGH Keras Lambda layer .*@h5\.zip:model\.h5:model_config/],
    [
      "external_traversal.onnx",
      "model.onnx",
      /HIGH ONNX external_data location "\.\.\/\.\.\/etc\/passwd" escapes the upload.*@onnx\.zip:model\.onnx/,
    ],
    ["ssti_template.gguf", "model.gguf", /HIGH Chat template contains "__class__".*@gguf\.zip:model\.gguf/],
    [
      "custom.mlmodel",
      "model.mlmodel",
      /HIGH Core ML customModel requires native class "EvilNativeLayer" .*@mlmodel\.zip:model\.mlmodel/,
    ],
    [
      "saved_model_readfile.pb",
      "graph.pb",
      /HIGH TensorFlow graph uses file-system op ReadFile @pb\.zip:graph\.pb/,
    ],
    [
      "graph_custom_op.pb",
      "frozen.pb",
      /MEDIUM TensorFlow graph uses non-standard op "MyCustomKernelOp" .*@pb\.zip:frozen\.pb/,
    ],
    [
      "trailing_payload.safetensors",
      "model.safetensors",
      /HIGH safetensors reference check failed: .*@safetensors\.zip:model\.safetensors/,
    ],
    [
      "entities.pmml",
      "model.pmml",
      /MEDIUM PMML document declares a DOCTYPE with external entity declarations.*@pmml\.zip:model\.pmml/,
    ],
  ])(
    "%s as a member of an unknown ZIP gets the finding it gets at top level",
    async (file, member, finding) => {
      const top = await inspectArtifactInProcess(join(fixtures, file), file);
      const name = `${member.split(".").pop()!}.zip`;
      const r = await inspectZip(name, [
        ["README.md", Buffer.from("# model\n")],
        [member, fixture(file)],
      ]);
      expect(r.format).toBe("UNKNOWN");
      expect(r.verdict, messages(r)).toBe(top.verdict);
      expect(messages(r)).toMatch(finding);
    },
  );

  it("a hostile tokenizer_config.json member gets the chat-template finding it gets at top level", async () => {
    const path = join(tmp, "tokenizer_config.json");
    writeFileSync(path, hostileTokenizerConfig);
    const top = await inspectArtifactInProcess(path, "tokenizer_config.json");
    expect(top.verdict, messages(top)).toBe("DANGEROUS");
    const r = await inspectZip("tok.zip", [["tokenizer_config.json", hostileTokenizerConfig]]);
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(
      /HIGH Chat template contains "__class__".*@tok\.zip:tokenizer_config\.json:chat_template/,
    );
  });

  it("a hostile .h5 inside a nested ZIP is inspected at its nested location", async () => {
    const inner = zip([["model.h5", fixture("keras2_lambda.h5")]]);
    const r = await inspectZip("outer.zip", [["inner.zip", inner]]);
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(/HIGH Keras Lambda layer .*@outer\.zip:inner\.zip:model\.h5:model_config/);
  });

  it.each(["model.keras", "saved_model.zip", "pipeline.mleap.zip", "scripted.pt", "state_dict.pt"])(
    "the legitimate layout %s keeps its SAFE verdict and findings",
    async (file) => {
      const r = await inspectArtifactInProcess(join(fixtures, file), file);
      expect(r.verdict, messages(r)).toBe("SAFE");
      expect(
        r.findings.every((f) => f.severity === "INFO" || f.severity === "LOW"),
        messages(r),
      ).toBe(true);
    },
  );

  it("a .keras archive's model.weights.h5 is weights data: over the in-memory cap and compressed, it still passes", async () => {
    const weights = fixture("keras3.weights.h5");
    const path = join(tmp, "weights.keras");
    writeFileSync(
      path,
      zip([
        ["metadata.json", Buffer.from(JSON.stringify({ keras_version: "3.3.3" }))],
        [
          "config.json",
          Buffer.from(JSON.stringify({ module: "keras", class_name: "Sequential", config: { layers: [] } })),
        ],
        ["model.weights.h5", weights],
      ]),
    );
    const r = await inspectArtifactInProcess(path, "weights.keras", { maxMemberBytes: weights.length - 1 });
    expect(r.format).toBe("KERAS");
    expect(r.verdict, messages(r)).toBe("SAFE");
  });

  const kerasWith = (weights: Buffer): [string, Buffer][] => [
    ["metadata.json", Buffer.from(JSON.stringify({ keras_version: "3.3.3" }))],
    [
      "config.json",
      Buffer.from(JSON.stringify({ module: "keras", class_name: "Sequential", config: { layers: [] } })),
    ],
    ["model.weights.h5", weights],
  ];

  it.each([
    ["a zlib-compressed pickle", deflateSync(osSystem), "DANGEROUS"],
    ["a gzip-compressed pickle", gzipSync(osSystem), "DANGEROUS"],
    ["a protocol-0 pickle", Buffer.from("cos\nsystem\n(S'echo PWNED'\ntR.", "latin1"), "DANGEROUS"],
    [
      "bytes of no known format",
      Buffer.from("\x01\x02\x03junk that is no format at all", "latin1"),
      "UNSCANNABLE",
    ],
  ])(
    "a .keras archive's model.weights.h5 holding %s is still scanned by content",
    async (_what, weights, verdict) => {
      const r = await inspectZip("hidden.keras", kerasWith(weights));
      expect(r.format).toBe("KERAS");
      expect(r.verdict, messages(r)).toBe(verdict);
    },
  );

  it.each([true, false])(
    "a .pb over the in-memory cap in an unknown ZIP (stored: %s) is read in place, or the scan is incomplete",
    async (stored) => {
      const readfile = fixture("saved_model_readfile.pb");
      const path = join(tmp, `big_pb_${stored}.zip`);
      writeFileSync(path, zip([["graph.pb", readfile]], { stored }));
      const r = await inspectArtifactInProcess(path, "big.zip", { maxMemberBytes: readfile.length - 1 });
      expect(r.verdict, messages(r)).toBe(stored ? "DANGEROUS" : "UNSCANNABLE");
      if (!stored)
        expect(messages(r)).toMatch(/compressed \.pb archive entry of \d+ bytes is over the in-memory cap/);
    },
  );

  it("a SavedModel zip's other .pb messages stay layout data; the same .pb in an unknown ZIP is inspected", async () => {
    const readfile = fixture("saved_model_readfile.pb");
    const layout = await inspectZip("sm.zip", [
      ["m/saved_model.pb", fixture("saved_model.pb")],
      ["m/keras_metadata.pb", readfile],
    ]);
    expect(layout.format).toBe("TF_SAVEDMODEL");
    expect(layout.verdict, messages(layout)).toBe("SAFE");
    const unknown = await inspectZip("other.zip", [["m/keras_metadata.pb", readfile]]);
    expect(unknown.verdict, messages(unknown)).toBe("DANGEROUS");
  });
});
