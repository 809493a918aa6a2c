import type { ByteSource } from "./io.ts";
import { EMBEDDING_NAME } from "./consistency.ts";
import { strictUtf8, truncate } from "./io.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import { MalformedError, type Scan } from "./verdict.ts";
import { dataRecord } from "./dataRecord.ts";

export const SAFETENSORS_MAX_HEADER = 100_000_000;

const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

/**
 * A strict JSON parser that, unlike JSON.parse, rejects duplicate keys: the reference reader does,
 * and a duplicate is exactly how a polyglot header shows one tensor table to one tool and another
 * to the next.
 */
export function parseJsonStrict(text: string, maxDepth = 64): unknown {
  let i = 0;
  const fail = (msg: string): never => {
    throw new MalformedError(`${msg} at character ${i}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
      i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    let simple = true;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        simple = false;
        i += 2;
      } else i++;
    }
    if (i >= text.length) fail("unterminated string");
    i++;
    const raw = text.slice(start, i);
    return simple ? raw.slice(1, -1) : (JSON.parse(raw) as string);
  };
  const value = (depth: number): unknown => {
    if (depth > maxDepth) fail("JSON nested too deeply");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = dataRecord<unknown>();
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k))
          fail(`duplicate key ${JSON.stringify(truncate(k, 80))}`);
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        obj[k] = value(depth + 1);
        ws();
        const d = text[i++];
        if (d === "}") return obj;
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === "]") return arr;
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail("unexpected character");
    i += m![0].length;
    return JSON.parse(m![0]) as unknown;
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing characters after JSON");
  return v;
}

export async function looksLikeSafetensors(src: ByteSource): Promise<boolean> {
  if (src.size < 10) return false;
  const head = await src.read(0, 9);
  const n = head.readBigUInt64LE(0);
  return n >= 2n && n <= BigInt(SAFETENSORS_MAX_HEADER) && 8n + n <= BigInt(src.size) && head[8] === 0x7b;
}

export async function inspectSafetensors(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const head = await src.read(0, 8);
  if (head.length < 8) throw new MalformedError("file shorter than the safetensors length prefix", label);
  const n = head.readBigUInt64LE(0);
  if (n > BigInt(SAFETENSORS_MAX_HEADER))
    throw new MalformedError(`safetensors header length ${n} exceeds ${SAFETENSORS_MAX_HEADER}`, label);
  const hlen = Number(n);
  if (8 + hlen > src.size)
    throw new MalformedError(
      `safetensors header of ${hlen} bytes runs past the end of the file (truncated)`,
      label,
    );
  const text = strictUtf8(await src.read(8, hlen));
  if (text === null) throw new MalformedError("safetensors header is not valid UTF-8", `${label}:header`);
  let header: unknown;
  try {
    header = parseJsonStrict(text);
  } catch (err) {
    // A header that the reference loader refuses is not a safetensors file, whatever else it is.
    scan.add(
      "HIGH",
      `safetensors header rejected: ${err instanceof Error ? err.message : String(err)}`,
      `${label}:header`,
    );
    return {
      format: "SAFETENSORS",
      formatVersion: null,
      producer: null,
      metadata: { headerBytes: hlen },
      signature: null,
    };
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    scan.add("HIGH", "safetensors header is not a JSON object", `${label}:header`);
    return {
      format: "SAFETENSORS",
      formatVersion: null,
      producer: null,
      metadata: { headerBytes: hlen },
      signature: null,
    };
  }
  const dataSize = src.size - 8 - hlen;
  const metadata = dataRecord<string>();
  const tensors: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  const reject = (msg: string, where: string) =>
    scan.add("HIGH", `safetensors reference check failed: ${msg}`, `${label}:${where}`);
  let valid = true;
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    scan.tick();
    if (key === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        reject("__metadata__ is not an object", key);
        valid = false;
        continue;
      }
      for (const [mk, mv] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof mv !== "string") {
          reject(`__metadata__.${truncate(mk, 80)} is not a string`, key);
          valid = false;
        } else if (Object.keys(metadata).length < 200) metadata[mk] = truncate(mv, 1000);
      }
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = truncate(key, 200);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      reject("tensor entry is not an object", where);
      valid = false;
      continue;
    }
    const extra = Object.keys(t).filter((k) => k !== "dtype" && k !== "shape" && k !== "data_offsets");
    if (extra.length) {
      reject(`unexpected tensor fields ${extra.join(", ")}`, where);
      valid = false;
    }
    const bits =
      typeof t.dtype === "string" && Object.hasOwn(DTYPE_BITS, t.dtype) ? DTYPE_BITS[t.dtype] : undefined;
    if (bits === undefined) {
      reject(`unknown dtype ${JSON.stringify(t.dtype)}`, where);
      valid = false;
      continue;
    }
    const shape = t.shape;
    const offs = t.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      reject("shape is not a list of non-negative integers", where);
      valid = false;
      continue;
    }
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    ) {
      reject("data_offsets is not [begin, end]", where);
      valid = false;
      continue;
    }
    const [begin, end] = offs as [number, number];
    const numel = (shape as number[]).reduce((a, d) => a * BigInt(d), 1n);
    const nbits = numel * BigInt(bits);
    if (end < begin || nbits % 8n !== 0n || BigInt(end - begin) !== nbits / 8n) {
      reject(
        `data_offsets span ${end - begin} bytes but ${t.dtype as string}${JSON.stringify(shape)} needs ${nbits / 8n}`,
        where,
      );
      valid = false;
    }
    tensors.push({ name: key, dtype: t.dtype as string, shape: shape as number[], begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of tensors) {
    if (t.begin !== expected) {
      reject(
        t.begin < expected
          ? `tensor overlaps the previous one (begins at ${t.begin}, expected ${expected})`
          : `gap before tensor (begins at ${t.begin}, expected ${expected})`,
        truncate(t.name, 200),
      );
      valid = false;
    }
    expected = Math.max(expected, t.end);
  }
  if (expected > dataSize) {
    // Declared data runs past the end of the file: a truncated upload, not a disguised one.
    scan.incomplete(
      `Incomplete scan: safetensors data ends at ${expected} but only ${dataSize} bytes follow the header (truncated)`,
      label,
    );
    valid = false;
  } else if (expected !== dataSize) {
    reject(
      `${dataSize - expected} bytes after the last tensor are not covered by the header (polyglot/trailing payload)`,
      `data@${8 + hlen + expected}`,
    );
    valid = false;
  }
  const params = tensors.reduce((a, t) => a + t.shape.reduce((x, d) => x * BigInt(d), 1n), 0n);
  const dtypes = dataRecord<number>();
  for (const t of tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  const list: TensorSpec[] = tensors
    .slice(0, 1000)
    .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  const fw =
    metadata.format === "pt"
      ? "PyTorch"
      : metadata.format === "tf"
        ? "TensorFlow"
        : metadata.format === "flax"
          ? "Flax"
          : (metadata.format ?? null);
  return {
    format: "SAFETENSORS",
    formatVersion: null,
    producer: fw ? { framework: fw, version: null } : null,
    metadata: {
      headerBytes: hlen,
      dataBytes: dataSize,
      tensorCount: tensors.length,
      parameterCount: Number(params),
      dtypes,
      tensors: list,
      // token-embedding matrices, kept apart from `tensors` so a shrunk summary still has them
      embeddings: tensors
        .filter((t) => t.shape.length === 2 && EMBEDDING_NAME.test(t.name))
        .slice(0, 10)
        .map((t) => ({ name: t.name, shape: t.shape })),
      userMetadata: metadata,
      referenceChecksPassed: valid,
    },
    signature: null,
  };
}
