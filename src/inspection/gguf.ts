import { Cursor, rangeChunks, toSafeNumber, truncate, type ByteSource } from "./io.ts";
import type { Report } from "./report.ts";
import { MalformedError, type Scan } from "./verdict.ts";
import { dataRecord } from "./dataRecord.ts";
import { checkChatTemplate } from "./chatTemplate.ts";

const MAX_STRING = 16 * 1024 * 1024;
const MAX_ARRAY = 50_000_000;
const MAX_KV = 100_000;
const MAX_TENSORS = 1_000_000;
const KEEP_ARRAY = 8;

/** ggml type → [block size in elements, bytes per block]. */
const GGML_TYPES: Record<number, [string, number, number]> = {
  0: ["F32", 1, 4],
  1: ["F16", 1, 2],
  2: ["Q4_0", 32, 18],
  3: ["Q4_1", 32, 20],
  6: ["Q5_0", 32, 22],
  7: ["Q5_1", 32, 24],
  8: ["Q8_0", 32, 34],
  9: ["Q8_1", 32, 36],
  10: ["Q2_K", 256, 84],
  11: ["Q3_K", 256, 110],
  12: ["Q4_K", 256, 144],
  13: ["Q5_K", 256, 176],
  14: ["Q6_K", 256, 210],
  15: ["Q8_K", 256, 292],
  16: ["IQ2_XXS", 256, 66],
  17: ["IQ2_XS", 256, 74],
  18: ["IQ3_XXS", 256, 98],
  19: ["IQ1_S", 256, 50],
  20: ["IQ4_NL", 32, 18],
  21: ["IQ3_S", 256, 110],
  22: ["IQ2_S", 256, 82],
  23: ["IQ4_XS", 256, 136],
  24: ["I8", 1, 1],
  25: ["I16", 1, 2],
  26: ["I32", 1, 4],
  27: ["I64", 1, 8],
  28: ["F64", 1, 8],
  29: ["IQ1_M", 256, 56],
  30: ["BF16", 1, 2],
  34: ["TQ1_0", 256, 54],
  35: ["TQ2_0", 256, 66],
  39: ["MXFP4", 32, 17],
};

const DEFAULT_ALIGNMENT = 32;

/**
 * llama.cpp refuses a file whose `general.alignment` is not a u32 non-zero power of two; anything
 * else would also leave the data offset undefined here (0 made it NaN and skipped the truncation check).
 */
function checkAlignment(type: number, v: unknown, where: string): void {
  if (type !== 4 || typeof v !== "number" || v === 0 || (v & (v - 1)) !== 0)
    throw new MalformedError(
      `GGUF general.alignment ${truncate(JSON.stringify(typeof v === "bigint" ? String(v) : v) ?? "?", 40)} (value type ${type}) is not a u32 non-zero power of two`,
      where,
    );
}

type Val = string | number | bigint | boolean | Val[] | { array: string; length: number; head: Val[] };

export async function inspectGguf(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const cur = new Cursor(rangeChunks(src), label);
  const loc = () => `${label}@offset ${cur.pos}`;
  if (!cur.has(24)) await cur.need(24);
  cur.bytes(4);
  const version = cur.u32();
  if (version < 2 || version > 3)
    throw new MalformedError(`GGUF version ${version} is not supported (only 2 and 3)`, label);
  const tensorCount = toSafeNumber(cur.u64(), "tensor count", loc());
  const kvCount = toSafeNumber(cur.u64(), "metadata count", loc());
  if (kvCount > MAX_KV) throw new MalformedError(`GGUF declares ${kvCount} metadata entries`, label);
  if (tensorCount > MAX_TENSORS) throw new MalformedError(`GGUF declares ${tensorCount} tensors`, label);

  const str = async (keep = MAX_STRING): Promise<string> => {
    if (!cur.has(8)) await cur.need(8);
    const n = cur.u64();
    if (n > BigInt(MAX_STRING) || n > BigInt(src.size))
      throw new MalformedError(`GGUF string of ${n} bytes exceeds the cap`, loc());
    const len = Number(n);
    const take = Math.min(len, keep);
    if (!cur.has(take)) await cur.need(take);
    const s = cur.bytes(take).toString("utf8");
    if (len > take) await cur.skip(len - take);
    return s;
  };
  const SCALAR: Record<number, number> = {
    0: 1,
    1: 1,
    2: 2,
    3: 2,
    4: 4,
    5: 4,
    6: 4,
    7: 1,
    10: 8,
    11: 8,
    12: 8,
  };
  const scalar = async (type: number): Promise<Val> => {
    const size = SCALAR[type];
    if (size === undefined) throw new MalformedError(`GGUF value type ${type} unknown`, loc());
    if (!cur.has(size)) await cur.need(size);
    const b = cur.bytes(size);
    switch (type) {
      case 0:
        return b.readUInt8(0);
      case 1:
        return b.readInt8(0);
      case 2:
        return b.readUInt16LE(0);
      case 3:
        return b.readInt16LE(0);
      case 4:
        return b.readUInt32LE(0);
      case 5:
        return b.readInt32LE(0);
      case 6:
        return b.readFloatLE(0);
      case 7:
        return b[0] !== 0;
      case 10:
        return b.readBigUInt64LE(0);
      case 11:
        return b.readBigInt64LE(0);
      default:
        return b.readDoubleLE(0);
    }
  };
  const value = async (type: number, keepString: number, depth = 0): Promise<Val> => {
    scan.tick();
    if (type === 8) return str(keepString);
    if (type === 9) {
      if (depth > 2) throw new MalformedError("GGUF arrays nested too deeply", loc());
      if (!cur.has(12)) await cur.need(12);
      const et = cur.u32();
      const n = cur.u64();
      if (n > BigInt(MAX_ARRAY))
        throw new MalformedError(`GGUF array of ${n} elements exceeds the cap`, loc());
      const len = Number(n);
      const size = SCALAR[et];
      const head: Val[] = [];
      if (size !== undefined && et !== 8 && et !== 9) {
        for (let i = 0; i < Math.min(len, KEEP_ARRAY); i++) head.push(await scalar(et));
        if (len > KEEP_ARRAY) await cur.skip((len - KEEP_ARRAY) * size);
      } else {
        for (let i = 0; i < len; i++) {
          const v = await value(et, i < KEEP_ARRAY ? 256 : 0, depth + 1);
          if (i < KEEP_ARRAY) head.push(v);
        }
      }
      return { array: et === 8 ? "string" : String(et), length: len, head };
    }
    return scalar(type);
  };

  const kv = dataRecord<unknown>();
  let chatTemplate: string | null = null;
  for (let i = 0; i < kvCount; i++) {
    const key = await str(4096);
    if (!cur.has(4)) await cur.need(4);
    const type = cur.u32();
    const v = await value(type, key.endsWith("chat_template") ? MAX_STRING : 4096);
    if (key === "general.alignment") checkAlignment(type, v, loc());
    if (key === "tokenizer.chat_template" || key.startsWith("tokenizer.chat_template.")) {
      if (typeof v === "string") chatTemplate = v;
      continue;
    }
    kv[key] = typeof v === "bigint" ? Number(v) : typeof v === "string" ? truncate(v, 1000) : v;
  }
  const tensors: { name: string; type: string; shape: number[]; offset: number; bytes: number }[] = [];
  let params = 0n;
  let dataNeeded = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = await str(1024);
    if (!cur.has(4)) await cur.need(4);
    const nd = cur.u32();
    if (nd > 8) throw new MalformedError(`GGUF tensor ${truncate(name, 80)} has ${nd} dimensions`, loc());
    if (!cur.has(8 * nd + 12)) await cur.need(8 * nd + 12);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(toSafeNumber(cur.u64(), "tensor dimension", loc()));
    const t = cur.u32();
    const offset = toSafeNumber(cur.u64(), "tensor offset", loc());
    const numel = dims.reduce((a, d) => a * BigInt(d), 1n);
    params += numel;
    const info = GGML_TYPES[t];
    let bytes = 0;
    if (info) {
      const [, block, per] = info;
      bytes = Number((numel / BigInt(block)) * BigInt(per));
    } else scan.add("LOW", `GGUF tensor ${truncate(name, 80)} uses unknown ggml type ${t}`, label);
    dataNeeded = Math.max(dataNeeded, offset + bytes);
    if (tensors.length < 1000)
      tensors.push({ name, type: info?.[0] ?? String(t), shape: dims, offset, bytes });
  }
  const alignment = typeof kv["general.alignment"] === "number" ? kv["general.alignment"] : DEFAULT_ALIGNMENT;
  const dataStart = Math.ceil(cur.pos / alignment) * alignment;
  if (dataStart + dataNeeded > src.size)
    scan.incomplete(
      `Incomplete scan: GGUF tensor data needs ${dataStart + dataNeeded} bytes but the file has ${src.size} (truncated)`,
      label,
    );
  let templateInfo: Record<string, unknown> | null = null;
  if (chatTemplate !== null)
    templateInfo = checkChatTemplate(scan, chatTemplate, `${label}:tokenizer.chat_template`);
  const arch = typeof kv["general.architecture"] === "string" ? kv["general.architecture"] : null;
  const pick = (k: string) => kv[k] ?? null;
  return {
    format: "GGUF",
    formatVersion: String(version),
    producer: null,
    metadata: {
      version,
      architecture: arch,
      name: pick("general.name"),
      fileType: pick("general.file_type"),
      contextLength: arch ? pick(`${arch}.context_length`) : null,
      tokenizerModel: pick("tokenizer.ggml.model"),
      tensorCount,
      parameterCount: Number(params),
      chatTemplate: templateInfo,
      keys: kv,
      tensors,
    },
    signature: null,
  };
}
