import { BufferSource, Cursor, rangeChunks, toSafeNumber, type ByteSource } from "./io.ts";
import {
  dictGet,
  globalName,
  intsOf,
  reportImports,
  walkPickleStream,
  type PickleWalk,
  type PV,
} from "./pickle.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import { type Scan } from "./verdict.ts";
import type { SafeZip, ZipMember } from "./zip.ts";
import { dataRecord } from "./dataRecord.ts";

export const LEGACY_TORCH_MAGIC = Buffer.from([
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
]);

const STORAGE_DTYPES: Record<string, [string, number]> = {
  FloatStorage: ["float32", 4],
  DoubleStorage: ["float64", 8],
  HalfStorage: ["float16", 2],
  BFloat16Storage: ["bfloat16", 2],
  LongStorage: ["int64", 8],
  IntStorage: ["int32", 4],
  ShortStorage: ["int16", 2],
  CharStorage: ["int8", 1],
  ByteStorage: ["uint8", 1],
  BoolStorage: ["bool", 1],
  ComplexFloatStorage: ["complex64", 8],
  ComplexDoubleStorage: ["complex128", 16],
  QInt8Storage: ["qint8", 1],
  QUInt8Storage: ["quint8", 1],
  QInt32Storage: ["qint32", 4],
  Float8_e4m3fnStorage: ["float8_e4m3fn", 1],
  Float8_e5m2Storage: ["float8_e5m2", 1],
  UntypedStorage: ["uint8", 1],
};

export interface StorageRef {
  key: string;
  dtype: string | null;
  elemSize: number | null;
  numel: number | null;
}

/** ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) */
export function storageRef(pid: PV | undefined): StorageRef | null {
  if (!pid || pid.t !== "pid" || pid.id.t !== "tuple") return null;
  const [tag, cls, key, , numel] = pid.id.items;
  if (tag?.t !== "str" || tag.v !== "storage" || key?.t !== "str") return null;
  const clsName = cls?.t === "global" ? cls.name : null;
  const dt = clsName && Object.hasOwn(STORAGE_DTYPES, clsName) ? STORAGE_DTYPES[clsName] : undefined;
  return {
    key: key.v,
    dtype: dt?.[0] ?? null,
    elemSize: dt?.[1] ?? null,
    numel: numel?.t === "int" ? Number(numel.v) : null,
  };
}

const TENSOR_FNS = new Set([
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor_v3",
]);

export interface TensorRecord extends TensorSpec {
  storage: string | null;
}

/** Reads tensor records out of the symbolic value tree: names come from dict keys on the path. */
export function collectTensors(
  root: PV | null,
  max = 100_000,
): { tensors: TensorRecord[]; count: number; params: number } {
  const tensors: TensorRecord[] = [];
  let count = 0;
  let params = 0;
  const seen = new Set<PV>();
  const tensorOf = (v: PV): TensorRecord | null => {
    if (v.t !== "call" || v.args.t !== "tuple") return null;
    const fn = globalName(v.fn);
    if (fn === "torch._utils._rebuild_parameter" || fn === "torch._utils._rebuild_parameter_with_state") {
      const inner = v.args.items[0];
      return inner ? tensorOf(inner) : null;
    }
    if (!fn || !TENSOR_FNS.has(fn)) return null;
    const ref = storageRef(v.args.items[0]);
    const size = intsOf(v.args.items[2]);
    return { name: "", dtype: ref?.dtype ?? null, shape: size, storage: ref?.key ?? null };
  };
  const visit = (v: PV, path: string, depth: number) => {
    if (depth > 64 || seen.has(v)) return;
    const t = tensorOf(v);
    if (t) {
      count++;
      params += (t.shape ?? []).reduce<number>((a, d) => a * (typeof d === "number" ? d : 1), 1);
      if (tensors.length < max) tensors.push({ ...t, name: path || "<root>" });
      return;
    }
    seen.add(v);
    const entries = v.t === "dict" || v.t === "call" ? v.entries : [];
    for (const [k, x] of entries)
      visit(
        x,
        path
          ? `${path}.${k.t === "str" ? k.v : k.t === "int" ? String(k.v) : "?"}`
          : k.t === "str"
            ? k.v
            : k.t === "int"
              ? String(k.v)
              : "?",
        depth + 1,
      );
    const items = v.t === "list" || v.t === "tuple" ? v.items : v.t === "call" ? v.items : [];
    items.forEach((x, i) => visit(x, path ? `${path}.${i}` : String(i), depth + 1));
    if (v.t === "call" && v.state) visit(v.state, path, depth + 1);
  };
  if (root) visit(root, "", 0);
  return { tensors, count, params };
}

function storageRefs(walks: readonly PickleWalk[]): Map<string, StorageRef> {
  const refs = new Map<string, StorageRef>();
  for (const w of walks)
    for (const pid of w.persistentIds) {
      const r = storageRef({ t: "pid", id: pid });
      if (r && !refs.has(r.key)) refs.set(r.key, r);
    }
  return refs;
}

function dtypeSummary(tensors: readonly TensorRecord[]): Record<string, number> {
  const out = dataRecord<number>();
  for (const t of tensors) out[t.dtype ?? "unknown"] = (out[t.dtype ?? "unknown"] ?? 0) + 1;
  return out;
}

async function walkMember(
  zip: SafeZip,
  m: ZipMember,
  scan: Scan,
  torchScript: boolean,
): Promise<PickleWalk[]> {
  const label = `${zip.label}:${m.name}`;
  // Small pickles are read whole; big ones (or ones the member cap or the held budget leave no room
  // for) are streamed through the inflater.
  if (zip.readsPickleWhole(m)) {
    const buf = await zip.read(m);
    const res = await walkPickleStream(new Cursor(rangeChunks(new BufferSource(buf)), label), scan, {
      joblibArrays: false,
    });
    reportImports(scan, res.walks, label, { torchScript });
    return res.walks;
  }
  const { src, close } = await zip.chunks(m);
  try {
    const res = await walkPickleStream(new Cursor(src, label), scan, { joblibArrays: false });
    reportImports(scan, res.walks, label, { torchScript });
    return res.walks;
  } finally {
    close();
  }
}

/** torch.save ≥ 1.6 zip and TorchScript archives share this layout: `<p>/data.pkl`, `<p>/data/<key>`. */
export async function inspectTorchZip(
  zip: SafeZip,
  root: string,
  scan: Scan,
  torchScript: boolean,
): Promise<{ report: Report; scanned: Set<string> }> {
  const p = `${root}/`;
  const scanned = new Set<string>();
  const dataPkl = zip.find(`${p}data.pkl`);
  const meta: Record<string, unknown> = { archiveRoot: root };
  let walks: PickleWalk[] = [];
  if (dataPkl) {
    walks = await walkMember(zip, dataPkl, scan, torchScript);
    scanned.add(dataPkl.name);
  } else scan.incomplete("Incomplete scan: PyTorch archive has no data.pkl", zip.label);
  const constantsPkl = zip.find(`${p}constants.pkl`);
  if (constantsPkl) {
    // TorchScript keeps the storages of constants.pkl's tensors under constants/, as data.pkl's under data/.
    const constants = await walkMember(zip, constantsPkl, scan, torchScript);
    scanned.add(constantsPkl.name);
    for (const r of storageRefs(constants).values()) {
      const m = zip.find(`${p}constants/${r.key}`);
      if (m) scanned.add(m.name);
    }
  }
  const readSmall = async (name: string) => {
    const m = zip.find(name);
    if (!m || m.size > 4096) return null;
    scanned.add(m.name);
    return (await zip.read(m)).toString("utf8").trim();
  };
  const version = (await readSmall(`${p}version`)) ?? (await readSmall(`${p}.data/version`));
  meta.serializationVersion = version;
  meta.byteorder = await readSmall(`${p}byteorder`);
  const { tensors, count, params } = collectTensors(walks[0]?.root ?? null);
  const refs = storageRefs(walks);
  let missing = 0;
  for (const r of refs.values()) {
    const m = zip.find(`${p}data/${r.key}`);
    if (!m) {
      missing++;
      continue;
    }
    scanned.add(m.name);
    if (r.numel !== null && r.elemSize !== null && m.size < r.numel * r.elemSize)
      scan.add(
        "MEDIUM",
        `Storage ${r.key} holds ${m.size} bytes but its record needs ${r.numel * r.elemSize}`,
        `${zip.label}:${m.name}`,
      );
  }
  if (missing)
    scan.add(
      "MEDIUM",
      `${missing} tensor storages referenced by data.pkl are missing from the archive`,
      zip.label,
    );
  const code = zip.members.filter((m) => m.name.startsWith(`${p}code/`));
  if (torchScript) {
    meta.codeFiles = code.length;
    scan.add(
      "INFO",
      `TorchScript archive with ${code.length} code files; TorchScript runs its own interpreter on load`,
      `${zip.label}:${p}code/`,
    );
  }
  Object.assign(meta, {
    tensorCount: count,
    parameterCount: params,
    dtypes: dtypeSummary(tensors),
    storages: refs.size,
    tensors: tensors.slice(0, 1000).map(({ name, dtype, shape }) => ({ name, dtype, shape })),
  });
  return {
    report: {
      format: torchScript ? "TORCHSCRIPT" : "PYTORCH",
      formatVersion: version,
      producer: { framework: "PyTorch", version: null },
      metadata: meta,
      signature: null,
    },
    scanned,
  };
}

/**
 * Pre-1.6 torch.save: five pickles (magic, protocol, sys_info, object, storage keys) followed by
 * raw storages, each an 8-byte element count and its bytes. All five pickles are walked, and the
 * storage region is measured so nothing can hide after it.
 */
export async function inspectLegacyTorch(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const cur = new Cursor(rangeChunks(src), label);
  const res = await walkPickleStream(cur, scan, { stopAfter: 5, joblibArrays: false });
  const names = ["magic number", "protocol version", "sys_info", "object", "storage keys"];
  const imports = reportImports(scan, res.walks, label);
  const meta: Record<string, unknown> = { legacy: true, pickleCount: res.walks.length, imports };
  const proto = res.walks[1]?.root;
  if (proto?.t === "int") meta.protocolVersion = Number(proto.v);
  const sys = res.walks[2]?.root;
  const le = dictGet(sys, "little_endian");
  if (le?.t === "bool") meta.byteorder = le.v ? "little" : "big";
  const { tensors, count, params } = collectTensors(res.walks[3]?.root ?? null);
  Object.assign(meta, {
    tensorCount: count,
    parameterCount: params,
    dtypes: dtypeSummary(tensors),
    tensors: tensors.slice(0, 1000).map(({ name, dtype, shape }) => ({ name, dtype, shape })),
  });
  if (res.complete && res.walks.length === 5) {
    const refs = storageRefs(res.walks);
    const keys = res.walks[4]?.root;
    if (keys?.t === "list") {
      let ok = true;
      for (const k of keys.items) {
        scan.tick();
        const r = k.t === "str" ? refs.get(k.v) : undefined;
        if (!r || r.elemSize === null) {
          scan.incomplete(
            `Incomplete scan: legacy storage ${k.t === "str" ? k.v : "?"} has no known element size; data region not measured`,
            `${label}@offset ${cur.pos}`,
          );
          ok = false;
          break;
        }
        try {
          if (!cur.has(8)) await cur.need(8);
          const n = toSafeNumber(cur.u64(), "storage size", `${label}@offset ${cur.pos}`);
          await cur.skip(n * r.elemSize);
        } catch (err) {
          scan.fail(err, `${label}@offset ${cur.pos}`);
          ok = false;
          break;
        }
      }
      if (ok && (await cur.more())) {
        scan.add(
          "HIGH",
          `${src.size - cur.pos} unexplained bytes after the legacy torch storages`,
          `${label}@offset ${cur.pos}`,
        );
        const b = cur.peekU8();
        if (b === 0x80) {
          const more = await walkPickleStream(cur, scan, { joblibArrays: false });
          reportImports(scan, more.walks, label);
        }
      }
    } else scan.incomplete("Incomplete scan: legacy torch storage-key pickle is not a list", label);
  } else if (res.complete)
    scan.incomplete(
      `Incomplete scan: legacy torch file has ${res.walks.length} of 5 pickles (${names[res.walks.length] ?? "?"} missing)`,
      label,
    );
  return {
    format: "PYTORCH",
    formatVersion: "legacy",
    producer: { framework: "PyTorch", version: null },
    metadata: meta,
    signature: null,
  };
}
