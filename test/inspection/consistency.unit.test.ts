import { describe, expect, it } from "vitest";
import {
  EMBEDDING_NAME,
  resolveWithin,
  versionConsistency,
  type ArtifactFacts,
} from "../../src/inspection/consistency.ts";

const art = (
  path: string,
  size: number,
  format: string | null = null,
  metadata: Record<string, unknown> | null = null,
): ArtifactFacts => ({
  path,
  size,
  format,
  metadata,
});
const messages = (a: ArtifactFacts[]) =>
  versionConsistency(a).map((f) => `${f.severity} ${f.message} @${f.location}`);

describe("resolveWithin", () => {
  it.each([
    ["", "w.bin", "w.bin"],
    ["onnx", "w.bin", "onnx/w.bin"],
    ["onnx", "./data/../w.bin", "onnx/w.bin"],
    ["a/b", "../w.bin", "a/w.bin"],
    ["", "../w.bin", null],
    ["onnx", "../../w.bin", null],
    ["", "/etc/passwd", null],
    ["", "C:/x", null],
    ["", "a\\b", null],
    ["", "", null],
  ])("%j + %j → %j", (dir, rel, want) => expect(resolveWithin(dir, rel)).toBe(want));
});

describe("ONNX external data", () => {
  const onnx = (externalData: unknown[]) => art("onnx/model.onnx", 500, "ONNX", { externalData });
  const e = (location: string, offset: number | null = 0, length: number | null = 48) => ({
    tensor: "emb",
    location,
    offset,
    length,
  });

  it("present and within the file: nothing to say", () => {
    expect(messages([onnx([e("w.bin"), e("w.bin", 48, 16)]), art("onnx/w.bin", 64)])).toEqual([]);
  });
  it("missing file, reported once per file", () => {
    expect(messages([onnx([e("w.bin"), e("w.bin", 48, 16)])])).toEqual([
      'MEDIUM ONNX external data file "onnx/w.bin" is not among this version\'s artifacts: upload it next to model.onnx @onnx/model.onnx:initializer emb',
    ]);
  });
  it("bytes past the end of the file", () => {
    expect(messages([onnx([e("w.bin", 32, 48)]), art("onnx/w.bin", 64)])).toEqual([
      'MEDIUM ONNX external data for this tensor spans bytes 32–80 of "onnx/w.bin", which has only 64 bytes (truncated or wrong file) @onnx/model.onnx:initializer emb',
    ]);
  });
  it("a location outside the version", () => {
    expect(messages([onnx([e("../../etc/passwd")])])[0]).toMatch(
      /"\.\.\/\.\.\/etc\/passwd" is not a path inside this version/,
    );
  });
  it("older inspections with only externalDataLocations still get the presence check", () => {
    const old = art("model.onnx", 10, "ONNX", { externalDataLocations: ["w.bin"] });
    expect(messages([old])).toHaveLength(1);
    expect(messages([old, art("w.bin", 1)])).toEqual([]);
  });
});

describe("SavedModel variables", () => {
  const sm = (ops: Record<string, number> = { VarHandleOp: 2 }) =>
    art("sm/saved_model.pb", 100, "TF_SAVEDMODEL", { opTypes: ops });
  it("complete: index and every shard", () => {
    expect(
      messages([
        sm(),
        art("sm/variables/variables.index", 10),
        art("sm/variables/variables.data-00000-of-00002", 10),
        art("sm/variables/variables.data-00001-of-00002", 10),
      ]),
    ).toEqual([]);
  });
  it("a missing shard", () => {
    expect(
      messages([
        sm(),
        art("sm/variables/variables.index", 10),
        art("sm/variables/variables.data-00001-of-00002", 10),
      ]),
    ).toEqual([
      "MEDIUM SavedModel variable shards missing from sm/variables/: variables.data-00000-of-00002 @sm/saved_model.pb",
    ]);
  });
  it("no index, or an index without shards", () => {
    expect(messages([sm(), art("sm/variables/variables.data-00000-of-00001", 10)])[0]).toMatch(
      /shards without sm\/variables\/variables\.index/,
    );
    expect(messages([sm(), art("sm/variables/variables.index", 10)])[0]).toMatch(
      /no variables\.data-NNNNN-of-NNNNN shard/,
    );
  });
  it("no variables at all: a finding only when the graph reads variables", () => {
    expect(messages([sm()])[0]).toMatch(/graph reads variables but sm\/variables\/variables\.index/);
    expect(messages([sm({ MatMul: 1 })])).toEqual([]);
  });
  it("shards of two checkpoints mixed", () => {
    expect(
      messages([
        sm(),
        art("sm/variables/variables.index", 10),
        art("sm/variables/variables.data-00000-of-00001", 10),
        art("sm/variables/variables.data-00000-of-00002", 10),
        art("sm/variables/variables.data-00001-of-00002", 10),
      ]),
    ).toEqual([
      "MEDIUM SavedModel variable shards disagree on their count (of-00001, of-00002): two checkpoints mixed @sm/saved_model.pb",
    ]);
  });
});

describe("tokenizer vocabulary vs embedding rows", () => {
  const tok = (vocabSize: number) =>
    art("tokenizer.json", 10, "HF_TOKENIZER", { kind: "tokenizer.json", vocabSize });
  const st = (name: string, shape: number[]) =>
    art("model.safetensors", 10, "SAFETENSORS", { tensors: [{ name, dtype: "F32", shape }] });
  it("fits (rows padded above the vocabulary are normal)", () => {
    expect(messages([tok(30522), st("bert.embeddings.word_embeddings.weight", [30528, 768])])).toEqual([]);
  });
  it("more tokens than rows", () => {
    expect(messages([tok(32000), st("model.embed_tokens.weight", [30522, 768])])).toEqual([
      "MEDIUM Tokenizer tokenizer.json has 32000 tokens but embedding model.safetensors:model.embed_tokens.weight has only 30522 rows: token ids ≥ 30522 would index past the matrix (tokenizer from another model?) @tokenizer.json",
    ]);
  });
  it("vocab.txt against an ONNX embedding; position embeddings are not token embeddings", () => {
    const vocab = art("vocab.txt", 10, "VOCABULARY", { kind: "token-per-line", entries: 100 });
    const onnx = art("model.onnx", 10, "ONNX", {
      embeddings: [{ name: "transformer.wte.weight", shape: [50, 8] }],
    });
    expect(messages([vocab, onnx])).toHaveLength(1);
    expect(messages([vocab, st("bert.embeddings.position_embeddings.weight", [10, 8])])).toEqual([]);
    expect(EMBEDDING_NAME.test("bert.embeddings.position_embeddings.weight")).toBe(false);
    expect(EMBEDDING_NAME.test("shared.weight")).toBe(true);
  });
  it("nothing to compare, or unreadable metadata: nothing said", () => {
    expect(messages([tok(10)])).toEqual([]);
    expect(messages([tok(10), art("model.safetensors", 1, "SAFETENSORS", { tensors: "[shrunk]" })])).toEqual(
      [],
    );
    expect(messages([art("x", 1), art("y", 2, "ONNX", null)])).toEqual([]);
  });
});
