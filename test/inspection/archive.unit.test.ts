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

  it("a member over the in-memory cap passes only when its first bytes name a format", async () => {
    const big = (head: Buffer) => Buffer.concat([head, Buffer.alloc(200, 0xa5)]);
    const hdf5 = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    const path = join(tmp, "big.zip");
    writeFileSync(path, zip([["model.weights.h5", big(hdf5)]]));
    const ok = await inspectArtifactInProcess(path, "big.zip", { maxMemberBytes: 100 });
    expect(ok.verdict, messages(ok)).toBe("SAFE");
    writeFileSync(path, zip([["blob.dat", big(Buffer.from([1, 2, 3]))]]));
    const blob = await inspectArtifactInProcess(path, "big.zip", { maxMemberBytes: 100 });
    expect(blob.verdict, messages(blob)).toBe("UNSCANNABLE");
    expect(messages(blob)).toMatch(/over the in-memory cap of 100 and not recognised by its first bytes/);
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
