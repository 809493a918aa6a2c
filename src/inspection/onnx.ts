import type { ByteSource } from "./io.ts";
import { truncate } from "./io.ts";
import { first, ProtoReader, signedInt64, type WireField } from "./protobuf.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import type { Scan } from "./verdict.ts";
import { EMBEDDING_NAME } from "./consistency.ts";
import { dataRecord } from "./dataRecord.ts";

const ELEM_TYPES = [
  "undefined",
  "float32",
  "uint8",
  "int8",
  "uint16",
  "int16",
  "int32",
  "int64",
  "string",
  "bool",
  "float16",
  "float64",
  "uint32",
  "uint64",
  "complex64",
  "complex128",
  "bfloat16",
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
  "uint4",
  "int4",
  "float4e2m1",
];

/** Domains whose operators ship with ONNX itself; anything else needs a custom runtime library. */
const STANDARD_DOMAINS = new Set([
  "",
  "ai.onnx",
  "ai.onnx.ml",
  "ai.onnx.training",
  "ai.onnx.preview.training",
]);
/** onnxruntime's own contrib domains: not in the standard, but not foreign code either. */
const KNOWN_RUNTIME_DOMAINS = new Set([
  "com.microsoft",
  "com.microsoft.nchwc",
  "com.microsoft.experimental",
  "org.pytorch.aten",
  "com.ms.internal.nhwc",
]);

interface GraphStats {
  nodes: number;
  opTypes: Map<string, number>;
  domains: Set<string>;
  initializers: number;
  parameters: bigint;
  external: string[];
  /** External tensors with where their bytes are (for the version's consistency check). */
  externalData: { tensor: string; location: string; offset: number | null; length: number | null }[];
  /** 2-D initializers named like token embeddings: name and [rows, dim]. */
  embeddings: { name: string; shape: number[] }[];
}

const MAX_LISTED_TENSORS = 1000;

async function readTypeProto(
  r: ProtoReader,
  f: WireField,
): Promise<{ dtype: string | null; shape: (number | string)[] | null }> {
  const t = await r.message(f.offset, f.offset + f.length);
  const tensor = first(t, 1) ?? first(t, 9);
  if (!tensor) {
    if (t.has(4)) return { dtype: "sequence", shape: null };
    if (t.has(5)) return { dtype: "map", shape: null };
    if (t.has(8)) return { dtype: "optional", shape: null };
    return { dtype: null, shape: null };
  }
  const tt = await r.message(tensor.offset, tensor.offset + tensor.length);
  const et = first(tt, 1);
  const dtype = et ? (ELEM_TYPES[Number(et.num)] ?? `elem_type_${et.num}`) : null;
  const shapeF = first(tt, 2);
  if (!shapeF) return { dtype, shape: null };
  const shape: (number | string)[] = [];
  const sm = await r.message(shapeF.offset, shapeF.offset + shapeF.length);
  for (const d of sm.get(1) ?? []) {
    const dm = await r.message(d.offset, d.offset + d.length);
    const v = first(dm, 1);
    const p = first(dm, 2);
    if (v) shape.push(Number(signedInt64(v.num)));
    else if (p) shape.push(await r.string(p, 4096));
    else shape.push("?");
  }
  return { dtype, shape };
}

async function readValueInfo(r: ProtoReader, f: WireField): Promise<TensorSpec> {
  const m = await r.message(f.offset, f.offset + f.length);
  const nameF = first(m, 1);
  const typeF = first(m, 2);
  const name = nameF ? await r.string(nameF, 4096) : "";
  const t = typeF ? await readTypeProto(r, typeF) : { dtype: null, shape: null };
  return { name, ...t };
}

async function walkGraph(
  r: ProtoReader,
  scan: Scan,
  f: WireField,
  stats: GraphStats,
  depth: number,
  path: string,
): Promise<{ inputs: TensorSpec[]; outputs: TensorSpec[]; initNames: Set<string>; name: string | null }> {
  let name: string | null = null;
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const initNames = new Set<string>();
  for await (const g of r.fields(f.offset, f.offset + f.length)) {
    if (g.wire !== 2) continue;
    if (g.no === 1) {
      stats.nodes++;
      const node = await r.message(g.offset, g.offset + g.length);
      const opF = first(node, 4);
      const domF = first(node, 7);
      const op = opF ? await r.string(opF, 1024) : "?";
      const domain = domF ? await r.string(domF, 1024) : "";
      const key = domain ? `${domain}::${op}` : op;
      if (stats.opTypes.size < 2000 || stats.opTypes.has(key))
        stats.opTypes.set(key, (stats.opTypes.get(key) ?? 0) + 1);
      stats.domains.add(domain);
      for (const a of node.get(5) ?? []) await walkAttribute(r, scan, a, stats, depth, `${path}/${op}`);
    } else if (g.no === 5) {
      stats.initializers++;
      const t = await checkTensor(r, scan, g, stats, `${path}:initializer`);
      initNames.add(t.name);
      stats.parameters += t.numel;
      if (t.dims.length === 2 && EMBEDDING_NAME.test(t.name) && stats.embeddings.length < MAX_LISTED_TENSORS)
        stats.embeddings.push({ name: t.name, shape: t.dims });
    } else if (g.no === 15) await checkSparseTensor(r, scan, g, stats, `${path}:sparse_initializer`);
    else if (g.no === 2 && depth === 0) name = await r.string(g, 4096);
    else if (g.no === 11 && depth === 0) inputs.push(await readValueInfo(r, g));
    else if (g.no === 12 && depth === 0) outputs.push(await readValueInfo(r, g));
  }
  return { inputs, outputs, initNames, name };
}

/**
 * A node attribute (AttributeProto) can hold tensors of its own (t 5, tensors 10, sparse_tensor 22,
 * sparse_tensors 23) and sub-graphs (g 6, graphs 11). onnx's loader resolves the external data of
 * every one of those tensors (a Constant's `value` is the usual case), so each is checked like an
 * initializer. The attribute's `type` is not trusted to say which of these fields are present.
 */
async function walkAttribute(
  r: ProtoReader,
  scan: Scan,
  f: WireField,
  stats: GraphStats,
  depth: number,
  path: string,
): Promise<void> {
  const attr = await r.message(f.offset, f.offset + f.length);
  const nameF = first(attr, 1);
  const where = `${path}:attribute ${nameF ? truncate(await r.string(nameF, 1024), 200) : "?"} tensor`;
  for (const a of attr.get(5) ?? []) if (a.wire === 2) await checkTensor(r, scan, a, stats, where);
  for (const a of attr.get(10) ?? []) if (a.wire === 2) await checkTensor(r, scan, a, stats, where);
  for (const a of [...(attr.get(22) ?? []), ...(attr.get(23) ?? [])])
    if (a.wire === 2) await checkSparseTensor(r, scan, a, stats, where);
  for (const sub of [...(attr.get(6) ?? []), ...(attr.get(11) ?? [])]) {
    if (sub.wire !== 2) continue;
    if (depth >= scan.limits.maxNestingDepth * 4) {
      scan.incomplete("Incomplete scan: ONNX sub-graphs nested too deeply", path);
      continue;
    }
    await walkGraph(r, scan, sub, stats, depth + 1, path);
  }
}

/** SparseTensorProto{1 values, 2 indices}: both are TensorProtos and may live in external data. */
async function checkSparseTensor(
  r: ProtoReader,
  scan: Scan,
  f: WireField,
  stats: GraphStats,
  where: string,
): Promise<void> {
  for await (const s of r.fields(f.offset, f.offset + f.length))
    if (s.wire === 2 && (s.no === 1 || s.no === 2)) await checkTensor(r, scan, s, stats, where);
}

/** Reads a TensorProto's header and checks (and records) where its external data would be read from. */
async function checkTensor(
  r: ProtoReader,
  scan: Scan,
  f: WireField,
  stats: GraphStats,
  where: string,
): Promise<TensorHeader> {
  const t = await readTensorHeader(r, f);
  for (const location of t.locations) checkExternalLocation(scan, location, `${where} ${t.name}`);
  if (t.location !== null) {
    stats.external.push(t.location);
    if (stats.externalData.length < MAX_LISTED_TENSORS)
      stats.externalData.push({
        tensor: t.name,
        location: t.location,
        offset: t.offset,
        length: t.length,
      });
  }
  return t;
}

/** A ModelProto.functions entry (FunctionProto{7 node, 11 attribute_proto}): its nodes' tensors load too. */
async function walkFunction(
  r: ProtoReader,
  scan: Scan,
  fn: Map<number, WireField[]>,
  stats: GraphStats,
  path: string,
): Promise<void> {
  for (const n of fn.get(7) ?? []) {
    if (n.wire !== 2) continue;
    const node = await r.message(n.offset, n.offset + n.length);
    const opF = first(node, 4);
    const op = opF ? await r.string(opF, 1024) : "?";
    for (const a of node.get(5) ?? []) await walkAttribute(r, scan, a, stats, 0, `${path}/${op}`);
  }
  for (const a of fn.get(11) ?? []) if (a.wire === 2) await walkAttribute(r, scan, a, stats, 0, path);
}

interface TensorHeader {
  name: string;
  numel: bigint;
  dims: number[];
  /** The location the loader uses (the last `location` entry), "" when external without one. */
  location: string | null;
  /** Every `location` entry, so a path hidden behind a later entry is still checked. */
  locations: string[];
  offset: number | null;
  length: number | null;
}

async function readTensorHeader(r: ProtoReader, f: WireField): Promise<TensorHeader> {
  let name = "";
  let numel = 1n;
  const dims: number[] = [];
  let location: string | null = null;
  const locations: string[] = [];
  let offset: number | null = null;
  let length: number | null = null;
  let external = false;
  const addDim = (d: bigint) => {
    const v = signedInt64(d);
    numel *= v;
    if (dims.length < 8) dims.push(Number(v));
  };
  const count = (v: string): number | null => (/^\d{1,15}$/.test(v) ? Number(v) : null);
  for await (const t of r.fields(f.offset, f.offset + f.length)) {
    if (t.no === 1) {
      if (t.wire === 0) addDim(t.num);
      else for (const d of await r.int64s([t])) addDim(d);
    } else if (t.no === 8 && t.wire === 2) name = await r.string(t, 4096);
    else if (t.no === 14 && t.wire === 0) external = t.num === 1n;
    else if (t.no === 13 && t.wire === 2) {
      const kv = await r.message(t.offset, t.offset + t.length);
      const k = first(kv, 1);
      const v = first(kv, 2);
      if (!k || !v) continue;
      const key = await r.string(k, 256);
      if (key === "location") {
        location = await r.string(v, 4096);
        if (locations.length < 16) locations.push(location);
        else locations[locations.length - 1] = location;
      } else if (key === "offset") offset = count(await r.string(v, 64));
      else if (key === "length") length = count(await r.string(v, 64));
    }
  }
  if (external && location === null) {
    location = "";
    locations.push(location);
  }
  return { name, numel, dims, location, locations, offset, length };
}

export function checkExternalLocation(scan: Scan, location: string, where: string): void {
  const bad =
    location === ""
      ? "is empty"
      : location.startsWith("/") || /^[A-Za-z]:/.test(location)
        ? "is an absolute path"
        : location.includes("\\")
          ? "contains a backslash"
          : location.split("/").includes("..")
            ? "escapes the upload with '..'"
            : location.includes("\0")
              ? "contains NUL"
              : null;
  if (bad)
    scan.add("HIGH", `ONNX external_data location ${JSON.stringify(truncate(location, 200))} ${bad}`, where);
}

export async function inspectOnnx(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const r = new ProtoReader(src, label, scan);
  const meta: Record<string, unknown> = {};
  const opsets: { domain: string; version: number }[] = [];
  const props = dataRecord<string>();
  const functionDomains = new Set<string>();
  let signature = null;
  let producer: Report["producer"] = null;
  let irVersion: string | null = null;
  const stats: GraphStats = {
    nodes: 0,
    opTypes: new Map(),
    domains: new Set(),
    initializers: 0,
    parameters: 0n,
    external: [],
    externalData: [],
    embeddings: [],
  };
  let producerName: string | null = null;
  let producerVersion: string | null = null;
  for await (const f of r.fields(0, src.size)) {
    switch (f.no) {
      case 1:
        irVersion = String(f.num);
        break;
      case 2:
        producerName = await r.string(f, 4096);
        break;
      case 3:
        producerVersion = await r.string(f, 4096);
        break;
      case 4:
        meta.domain = await r.string(f, 4096);
        break;
      case 5:
        meta.modelVersion = Number(f.num);
        break;
      case 6:
        meta.docString = truncate(await r.stringHead(f, 2048), 1000);
        break;
      case 7: {
        const g = await walkGraph(r, scan, f, stats, 0, `${label}:graph`);
        meta.graphName = g.name;
        signature = { inputs: g.inputs.filter((i) => !g.initNames.has(i.name)), outputs: g.outputs };
        break;
      }
      case 8: {
        const m = await r.message(f.offset, f.offset + f.length);
        const d = first(m, 1);
        const v = first(m, 2);
        opsets.push({ domain: d ? await r.string(d, 1024) : "", version: v ? Number(v.num) : 0 });
        break;
      }
      case 14: {
        const m = await r.message(f.offset, f.offset + f.length);
        const k = first(m, 1);
        const v = first(m, 2);
        if (k && Object.keys(props).length < 200)
          props[await r.string(k, 1024)] = truncate(v ? await r.string(v, 65536) : "", 1000);
        break;
      }
      case 25: {
        const m = await r.message(f.offset, f.offset + f.length);
        const d = first(m, 3);
        if (d) functionDomains.add(await r.string(d, 1024));
        const n = first(m, 1);
        await walkFunction(
          r,
          scan,
          m,
          stats,
          `${label}:function ${n ? truncate(await r.string(n, 1024), 200) : "?"}`,
        );
        break;
      }
      default:
        break;
    }
  }
  if (producerName !== null || producerVersion !== null)
    producer = { framework: producerName, version: producerVersion };
  for (const d of stats.domains) {
    if (STANDARD_DOMAINS.has(d) || functionDomains.has(d)) continue;
    if (KNOWN_RUNTIME_DOMAINS.has(d))
      scan.add("LOW", `ONNX graph uses runtime-specific operator domain "${d}"`, `${label}:graph`);
    else
      scan.add(
        "MEDIUM",
        `ONNX graph uses custom operator domain "${truncate(d, 200)}", which needs a native custom-op library to run`,
        `${label}:graph`,
      );
  }
  if (stats.external.length)
    scan.add(
      "INFO",
      `ONNX model stores ${stats.external.length} tensors in external data files`,
      `${label}:graph`,
    );
  Object.assign(meta, {
    irVersion: irVersion === null ? null : Number(irVersion),
    opsetImports: opsets,
    metadataProps: props,
    nodeCount: stats.nodes,
    opTypes: Object.fromEntries(stats.opTypes),
    customDomains: [...stats.domains].filter((d) => !STANDARD_DOMAINS.has(d)),
    localFunctionDomains: [...functionDomains],
    initializerCount: stats.initializers,
    parameterCount: Number(stats.parameters),
    externalDataLocations: [...new Set(stats.external)].slice(0, 100),
    externalData: stats.externalData,
    embeddings: stats.embeddings,
  });
  return { format: "ONNX", formatVersion: irVersion, producer, metadata: meta, signature };
}
