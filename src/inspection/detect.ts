import { Cursor, rangeChunks, strictUtf8, type ByteSource } from "./io.ts";
import { compressionOf, type Compression } from "./joblib.ts";
import { HDF5_MAGIC, findHdf5Superblock } from "./hdf5.ts";
import { NPY_MAGIC } from "./numpy.ts";
import { walkPickle, type PickleWalk } from "./pickle.ts";
import { looksLikePmml } from "./pmml.ts";
import { ProtoReader, type WireField } from "./protobuf.ts";
import { LEGACY_TORCH_MAGIC } from "./pytorch.ts";
import { looksLikeSafetensors } from "./safetensors.ts";
import { isTokenizerConfig, isTokenizerJson, vocabularyByName } from "./tokenizer.ts";
import type { ArtifactFormat } from "./types.ts";
import { DEFAULT_LIMITS, Scan } from "./verdict.ts";

export type Detection =
  | { kind: "GGUF" }
  | { kind: "HDF5" }
  | { kind: "ZIP" }
  | { kind: "COMPRESSED"; compression: Compression }
  | { kind: "NUMPY" }
  | { kind: "SAFETENSORS" }
  | { kind: "LEGACY_TORCH" }
  | { kind: "PICKLE" }
  | { kind: "PMML" }
  | { kind: "TOKENIZER"; doc: unknown }
  | { kind: "JSON"; doc: unknown }
  | { kind: "PROTO"; format: "ONNX" | "COREML" | "TF_SAVEDMODEL" | "TF_GRAPHDEF" }
  | { kind: "VOCABULARY" }
  | { kind: "TEXT" }
  | { kind: "UNKNOWN" };

const ONNX_FIELDS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26]);
const COREML_TYPE_FIELDS = new Set([
  200, 201, 202, 300, 301, 302, 303, 304, 400, 401, 402, 403, 404, 500, 501, 502, 555, 556, 560, 600, 601,
  602, 603, 604, 606, 607, 609, 610, 900, 2000, 2001, 2002, 2003, 2004, 2005, 2006, 3000,
]);

interface Top {
  no: number;
  wire: number;
  f: WireField;
}

/** Top-level fields of the whole file as one protobuf message, or null if it is not one. */
async function protoTop(src: ByteSource, scan: Scan): Promise<Top[] | null> {
  const r = new ProtoReader(src, "sniff", scan);
  const out: Top[] = [];
  try {
    for await (const f of r.fields(0, src.size)) {
      if (out.length > 5_000_000) return null;
      out.push({ no: f.no, wire: f.wire, f });
    }
  } catch {
    return null;
  }
  return out.length ? out : null;
}

async function subFieldsWithin(
  src: ByteSource,
  scan: Scan,
  f: WireField,
  allowed: (n: number) => boolean,
): Promise<boolean> {
  const r = new ProtoReader(src, "sniff", scan);
  let n = 0;
  try {
    for await (const g of r.fields(f.offset, f.offset + f.length)) {
      if (!allowed(g.no)) return false;
      if (++n > 100_000) break;
    }
  } catch {
    return false;
  }
  return true;
}

async function classifyProto(
  src: ByteSource,
  scan: Scan,
): Promise<"ONNX" | "COREML" | "TF_SAVEDMODEL" | "TF_GRAPHDEF" | null> {
  const top = await protoTop(src, scan);
  if (!top) return null;
  const nums = new Set(top.map((t) => t.no));
  const wireOf = (no: number) => new Set(top.filter((t) => t.no === no).map((t) => t.wire));
  const typeFields = top.filter((t) => t.no >= 200);
  if (
    typeFields.length === 1 &&
    COREML_TYPE_FIELDS.has(typeFields[0]!.no) &&
    typeFields[0]!.wire === 2 &&
    [...nums].every((n) => n === 1 || n === 2 || n === 10 || n >= 200)
  )
    if (!nums.has(1) || [...wireOf(1)].every((w) => w === 0)) return "COREML";
  if (
    nums.has(1) &&
    nums.has(7) &&
    [...nums].every((n) => ONNX_FIELDS.has(n)) &&
    [...wireOf(1)].every((w) => w === 0) &&
    [...wireOf(7)].every((w) => w === 2)
  )
    return "ONNX";
  if (
    [...nums].every((n) => n === 1 || n === 2) &&
    nums.has(2) &&
    [...wireOf(1)].every((w) => w === 0) &&
    [...wireOf(2)].every((w) => w === 2)
  ) {
    const metas = top.filter((t) => t.no === 2);
    let ok = true;
    for (const m of metas.slice(0, 4)) ok &&= await subFieldsWithin(src, scan, m.f, (n) => n >= 1 && n <= 8);
    if (ok) return "TF_SAVEDMODEL";
  }
  if ([...nums].every((n) => n >= 1 && n <= 4) && nums.has(1) && [...wireOf(1)].every((w) => w === 2)) {
    const firstNode = top.find((t) => t.no === 1);
    if (firstNode && (await subFieldsWithin(src, scan, firstNode.f, (n) => n >= 1 && n <= 6)))
      return "TF_GRAPHDEF";
  }
  return null;
}

function isMostlyText(b: Buffer): boolean {
  if (b.length === 0) return false;
  if (b.includes(0)) return false;
  let ctl = 0;
  for (const x of b) if (x < 0x09 || (x > 0x0d && x < 0x20)) ctl++;
  return ctl === 0 && strictUtf8(b.subarray(0, Math.max(0, b.length - 4))) !== null;
}

/**
 * Whether `pickle.load` would read these bytes as a pickle: it reaches STOP, or, cut short or broken
 * later, it has already called something it imported. pickle.load runs each call as it reads it, so
 * a payload without STOP still runs before the load fails; text never gets that far by chance.
 */
async function trialPickle(src: ByteSource, end = src.size): Promise<boolean> {
  const scan = new Scan({ ...DEFAULT_LIMITS, timeBudgetMs: 2000 });
  const partial: { walk?: PickleWalk } = {};
  try {
    await walkPickle(new Cursor(rangeChunks(src, 0, end), "sniff"), { scan, maxOps: 1_000_000 }, partial);
    return true;
  } catch {
    return (partial.walk?.calls ?? 0) > 0;
  }
}

/** Opcodes a protocol 0/1 pickle plausibly starts with. */
const PICKLE_0_FIRST = new Set([0x28, 0x63, 0x7d, 0x5d, 0x29, 0x4e, 0x49, 0x53, 0x56, 0x6c, 0x64]);

/**
 * Whether the bytes before `end` are, for `pickle.load`, a pickle: a protocol 2+ header, or a
 * protocol 0/1 walk that reaches STOP or a call (see trialPickle).
 */
async function startsWithPickle(src: ByteSource, head: Buffer, end = src.size): Promise<boolean> {
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return true;
  return head.length > 0 && PICKLE_0_FIRST.has(head[0]!) && (await trialPickle(src, end));
}

/**
 * How many bytes of an HDF5 user block (the bytes before a superblock found past offset 0) a
 * pickle starts, or 0. h5py skips a user block; `pickle.load`, `joblib.load` and `torch.load` read
 * the file from byte 0, and run the pickle there.
 */
export async function pickleInUserBlock(src: ByteSource): Promise<number> {
  const sb = await findHdf5Superblock(src);
  if (sb === null || sb === 0) return 0;
  const head = await src.read(0, Math.min(sb, 4096));
  return (await startsWithPickle(src, head, sb)) ? sb : 0;
}

/** Recognises a format by its bytes, in the order of the format notes; the name only breaks ties. */
export async function detect(src: ByteSource, fileName: string, scan: Scan): Promise<Detection> {
  const head = await src.read(0, 4096);
  if (head.length >= 8 && head.toString("latin1", 0, 4) === "GGUF") return { kind: "GGUF" };
  if (head.subarray(0, 8).equals(HDF5_MAGIC) || (src.size > 512 && (await findHdf5Superblock(src)) !== null))
    return { kind: "HDF5" };
  const m4 = head.toString("latin1", 0, 4);
  if (m4 === "PK\x03\x04" || m4 === "PK\x05\x06") return { kind: "ZIP" };
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) {
    if (head.subarray(0, LEGACY_TORCH_MAGIC.length).equals(LEGACY_TORCH_MAGIC))
      return { kind: "LEGACY_TORCH" };
    return { kind: "PICKLE" };
  }
  const comp = compressionOf(head);
  if (comp) return { kind: "COMPRESSED", compression: comp };
  if (head.subarray(0, 6).equals(NPY_MAGIC)) return { kind: "NUMPY" };
  if (await looksLikeSafetensors(src)) return { kind: "SAFETENSORS" };
  const text = isMostlyText(head);
  if (text) {
    const s = head.toString("utf8").replace(/^\uFEFF/, "");
    if (looksLikePmml(s)) return { kind: "PMML" };
    if (/^\s*[{[]/.test(s) && src.size <= scan.limits.maxMemberBytes) {
      try {
        const doc = JSON.parse(
          (await src.read(0, src.size)).toString("utf8").replace(/^\uFEFF/, ""),
        ) as unknown;
        if (isTokenizerJson(doc) || isTokenizerConfig(doc)) return { kind: "TOKENIZER", doc };
        return { kind: "JSON", doc };
      } catch {
        // not JSON after all; fall through
      }
    }
  }
  const proto = await classifyProto(src, scan);
  if (proto) return { kind: "PROTO", format: proto };
  if (await startsWithPickle(src, head)) return { kind: "PICKLE" };
  if (text) {
    if (head.toString("utf8").startsWith("#version") || vocabularyByName(fileName))
      return { kind: "VOCABULARY" };
    return { kind: "TEXT" };
  }
  return { kind: "UNKNOWN" };
}

const EXT_FORMATS: [RegExp, ArtifactFormat[]][] = [
  [/\.onnx$/i, ["ONNX"]],
  [/\.(pkl|pickle)$/i, ["PICKLE", "JOBLIB", "PYTORCH"]],
  [/\.joblib$/i, ["JOBLIB", "PICKLE"]],
  [/\.(pt|pth|ckpt)$/i, ["PYTORCH", "TORCHSCRIPT", "PICKLE"]],
  [/\.(h5|hdf5)$/i, ["KERAS_H5"]],
  [/\.keras$/i, ["KERAS", "KERAS_H5"]],
  [/\.pb$/i, ["TF_SAVEDMODEL", "TF_GRAPHDEF"]],
  [/\.pmml$/i, ["PMML"]],
  [/\.mlmodel$/i, ["COREML"]],
  [/\.mlpackage(\.zip)?$/i, ["COREML"]],
  [/\.safetensors$/i, ["SAFETENSORS"]],
  [/\.gguf$/i, ["GGUF"]],
  [/(^|\/)tokenizer(_config)?\.json$/i, ["HF_TOKENIZER"]],
  [/\.npy$/i, ["NUMPY"]],
  [/(^|\/)(vocab|merges)\.txt$/i, ["VOCABULARY"]],
];

/** The formats a file name promises, or null when the name promises nothing specific. */
export function formatsForName(fileName: string): ArtifactFormat[] | null {
  for (const [re, f] of EXT_FORMATS) if (re.test(fileName)) return f;
  return null;
}
