import type { ByteSource } from "./io.ts";
import { MalformedError, type Scan } from "./verdict.ts";
import { dataRecord } from "./dataRecord.ts";
import { readDenseAttributes } from "./hdf5Dense.ts";

/**
 * Just enough HDF5 to read the root group's attributes (where Keras 2 keeps `model_config`,
 * `keras_version`, `backend`): superblock v0-v3, object headers v1/v2 with continuation blocks,
 * attribute messages v1-v3 holding fixed-length or variable-length strings, stored compactly in the
 * header or densely (Attribute Info message → fractal heap + v2 B-tree name index, ./hdf5Dense.ts,
 * where large Keras 2 configs end up). Datasets and groups below the root are not read.
 */

export const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Where the superblock is: the specification allows a user block of 0 or 512 × 2^n bytes before it,
 * and the library (H5FD_locate_signature) looks for the signature at 0, 512, 1024, … up to the end
 * of the file, so this does too. That is at most one 8-byte read per power of two below the file's
 * size (28 for a 64 GiB file), whatever the size; the file size itself is capped before this runs.
 */
export async function findHdf5Superblock(src: ByteSource): Promise<number | null> {
  for (
    let off = 0;
    off + 8 <= src.size && off <= Number.MAX_SAFE_INTEGER / 2;
    off = off === 0 ? 512 : off * 2
  ) {
    const b = await src.read(off, 8);
    if (b.equals(HDF5_MAGIC)) return off;
  }
  return null;
}

export interface Hdf5Attrs {
  superblockVersion: number;
  userBlockBytes: number;
  /** Each attribute's value as h5py reads it (`attrs[name]`: the library's first match). */
  attributes: Record<string, string | number | string[] | null>;
  /**
   * Every stored copy of each attribute name, when there is more than one (a header may repeat a
   * name, or hold one compactly and another densely). The library returns one of them; a checker
   * must walk them all.
   */
  copies: Record<string, (string | number | string[] | null)[]>;
  unread: string[];
  /** Dense attribute storage that could not be read: the attributes there were not inspected. */
  failed: string[];
}

const MAX_MESSAGES = 10_000;
const MAX_CONTINUATIONS = 1000;
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export async function readRootAttributes(
  src: ByteSource,
  scan: Scan,
  label: string,
  maxValueBytes: number,
): Promise<Hdf5Attrs> {
  const sbOff = await findHdf5Superblock(src);
  if (sbOff === null) throw new MalformedError("HDF5 signature not found", label);
  const sb = await src.read(sbOff, 256);
  if (sb.length < 24) throw new MalformedError("HDF5 superblock truncated", label);
  const version = sb[8]!;
  let so: number;
  let sl: number;
  let p: number;
  let rootAddr: number;
  let base: number;
  const addr = (b: Buffer, at: number, size: number): number => {
    if (at + size > b.length) throw new MalformedError("HDF5 structure truncated", label);
    if (size === 8) {
      const v = b.readBigUInt64LE(at);
      return v === 0xffffffffffffffffn ? -1 : Number(v);
    }
    if (size === 4) {
      const v = b.readUInt32LE(at);
      return v === 0xffffffff ? -1 : v;
    }
    throw new MalformedError(`HDF5 offset size ${size} not supported`, label);
  };
  if (version === 0 || version === 1) {
    so = sb[13]!;
    sl = sb[14]!;
    p = 24 + (version === 1 ? 4 : 0);
    base = addr(sb, p, so);
    p += 4 * so; // base, free-space, end-of-file, driver info
    rootAddr = addr(sb, p + so, so); // symbol table entry: link name offset, object header address
  } else if (version === 2 || version === 3) {
    so = sb[9]!;
    sl = sb[10]!;
    p = 12;
    base = addr(sb, p, so);
    rootAddr = addr(sb, p + 3 * so, so);
  } else throw new MalformedError(`HDF5 superblock version ${version} not supported`, label);
  if (base < 0) base = 0;
  if (sbOff > 0 && base === 0) base = sbOff;
  const len = (b: Buffer, at: number): number => addr(b, at, sl);
  const abs = (a: number) => base + a;
  const result: Hdf5Attrs = {
    superblockVersion: version,
    userBlockBytes: sbOff,
    attributes: dataRecord(),
    copies: dataRecord(),
    unread: [],
    failed: [],
  };
  if (rootAddr < 0 || abs(rootAddr) >= src.size)
    throw new MalformedError("HDF5 root object header address outside the file (truncated)", label);

  const blocks: { start: number; length: number; v2: boolean }[] = [];
  const msgs: { type: number; data: Buffer; flags: number }[] = [];
  const hdrStart = abs(rootAddr);
  const h = await src.read(hdrStart, 64);
  let v2Flags = 0;
  if (h.length >= 4 && h.toString("latin1", 0, 4) === "OHDR") {
    const flags = h[5]!;
    let q = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
    const sizeBytes = 1 << (flags & 3);
    const chunk0 =
      sizeBytes === 1
        ? h[q]!
        : sizeBytes === 2
          ? h.readUInt16LE(q)
          : sizeBytes === 4
            ? h.readUInt32LE(q)
            : Number(h.readBigUInt64LE(q));
    q += sizeBytes;
    blocks.push({ start: hdrStart + q, length: chunk0, v2: true });
    v2Flags = flags;
  } else if (h[0] === 1) {
    const size = h.readUInt32LE(8);
    blocks.push({ start: hdrStart + 16, length: size, v2: false });
  } else throw new MalformedError("HDF5 root object header not recognised", `${label}@offset ${hdrStart}`);

  let continuations = 0;
  let messageCount = 0;
  let headerBytes = 0;
  const visited = new Set<number>();
  while (blocks.length) {
    const blk = blocks.shift()!;
    // A continuation pointing back at a block already read (or many overlapping ones) must not
    // multiply the reads: each block once, and the header's blocks within a total.
    if (visited.has(blk.start))
      throw new MalformedError("HDF5 object header continuation points back at a block already read", label);
    visited.add(blk.start);
    headerBytes += blk.length;
    if (headerBytes > MAX_HEADER_BYTES)
      throw new MalformedError(`HDF5 root object header blocks exceed ${MAX_HEADER_BYTES} bytes`, label);
    if (blk.length > 16 * 1024 * 1024 || blk.start + blk.length > src.size)
      throw new MalformedError(
        "HDF5 object header block runs past the end of the file (truncated)",
        `${label}@offset ${blk.start}`,
      );
    const data = await src.read(blk.start, blk.length);
    let q = 0;
    if (blk.v2 && data.toString("latin1", 0, 4) === "OCHK") q = 4;
    const end = blk.v2 ? data.length - 4 : data.length; // v2 blocks end with a checksum
    while (q + (blk.v2 ? 4 : 8) <= end) {
      scan.tick();
      if (++messageCount > MAX_MESSAGES)
        throw new MalformedError("HDF5 object header has too many messages", label);
      let type: number;
      let size: number;
      let flags: number;
      if (blk.v2) {
        type = data[q]!;
        size = data.readUInt16LE(q + 1);
        flags = data[q + 3]!;
        q += 4 + (v2Flags & 0x04 ? 2 : 0);
      } else {
        type = data.readUInt16LE(q);
        size = data.readUInt16LE(q + 2);
        flags = data[q + 4]!;
        q += 8;
      }
      if (q + size > data.length)
        throw new MalformedError(
          "HDF5 header message runs past its block",
          `${label}@offset ${blk.start + q}`,
        );
      const body = data.subarray(q, q + size);
      q += size;
      if (type === 0x10) {
        if (++continuations > MAX_CONTINUATIONS)
          throw new MalformedError("HDF5 header has too many continuation blocks", label);
        const cAddr = addr(body, 0, so);
        const cLen = len(body, so);
        if (cAddr >= 0) blocks.push({ start: abs(cAddr), length: cLen, v2: blk.v2 });
      } else if (type === 0x0c || type === 0x15)
        // copied: a view would keep the whole (up to 16 MiB) block alive
        msgs.push({ type, data: Buffer.from(body), flags });
    }
  }

  // The library looks an attribute up in dense storage when the (v2) header has an Attribute Info
  // message, else among the header's attribute messages, taking the first whose name matches. So
  // dense attributes come first here, and the first copy of a name is the value h5py returns.
  const compact: { data: Buffer; flags: number }[] = [];
  const dense: { data: Buffer; flags: number }[] = [];
  for (const m of msgs) {
    if (m.type === 0x0c) compact.push(m);
    if (m.type !== 0x15) continue;
    const ctx = { src, scan, label, so, sl, abs, maxValueBytes };
    try {
      for (const data of await readDenseAttributes(ctx, m.data, result.unread, result.failed))
        dense.push({ data, flags: 0 });
    } catch (err) {
      if (err instanceof MalformedError)
        result.failed.push(`dense attribute storage not read: ${err.message}`);
      else throw err;
    }
  }
  const attributeMessages = [...dense, ...compact];
  for (const m of attributeMessages) {
    if (m.flags & 0x02) {
      result.unread.push("shared attribute message not read");
      continue;
    }
    try {
      const a = await parseAttribute(m.data, src, abs, so, sl, maxValueBytes, label);
      if (a) {
        const seen = result.copies[a.name];
        if (seen) seen.push(a.value);
        else {
          result.copies[a.name] = [a.value];
          result.attributes[a.name] = a.value;
        }
      }
    } catch (err) {
      // an attribute we cannot read may be the model_config: fail closed
      if (err instanceof MalformedError) result.failed.push(`attribute not read: ${err.message}`);
      else if (err instanceof RangeError)
        result.failed.push("attribute not read: attribute message truncated");
      else throw err;
    }
  }
  return result;
}

async function parseAttribute(
  d: Buffer,
  src: ByteSource,
  abs: (a: number) => number,
  so: number,
  sl: number,
  maxValueBytes: number,
  label: string,
): Promise<{ name: string; value: string | number | string[] | null } | null> {
  const ver = d[0]!;
  const nameSize = d.readUInt16LE(2);
  const dtSize = d.readUInt16LE(4);
  const dsSize = d.readUInt16LE(6);
  const pad = (n: number) => (ver === 1 ? Math.ceil(n / 8) * 8 : n);
  let q = ver === 3 ? 9 : 8;
  // Null-terminated: the name ends at its first NUL (cut by hand; `/\0+$/` backtracked in the square
  // of a run of NULs the name does not end with, seconds for one 64 KiB name).
  const named = d.toString("utf8", q, q + nameSize);
  const nul = named.indexOf("\0");
  const name = nul < 0 ? named : named.slice(0, nul);
  q += pad(nameSize);
  const dt = d.subarray(q, q + dtSize);
  q += pad(dtSize);
  const ds = d.subarray(q, q + dsSize);
  q += pad(dsSize);
  const payload = d.subarray(q);
  // dataspace → element count
  const dsVer = ds[0]!;
  const rank = ds[1]!;
  const dsType = dsVer === 2 ? ds[3]! : 1;
  let count = 1;
  if (dsType === 2) count = 0;
  const dimStart = dsVer === 1 ? 8 : 4;
  for (let i = 0; i < rank; i++)
    count *= Number(sl === 8 ? ds.readBigUInt64LE(dimStart + i * sl) : ds.readUInt32LE(dimStart + i * sl));
  const cls = dt[0]! & 0x0f;
  const size = dt.readUInt32LE(4);
  if (count > 100_000) return { name, value: null };
  if (cls === 3) {
    if (size * count > maxValueBytes) throw new MalformedError(`attribute ${name} too large`, label);
    const vals: string[] = [];
    for (let i = 0; i < count; i++)
      vals.push(payload.toString("utf8", i * size, (i + 1) * size).replace(/\0[\s\S]*$/, ""));
    return { name, value: count === 1 && rank === 0 ? (vals[0] ?? "") : vals };
  }
  if (cls === 9 && (dt[1]! & 0x0f) === 1) {
    // variable-length string: (length u32, global heap collection address, object index u32)
    const vals: string[] = [];
    const stride = 4 + so + 4;
    for (let i = 0; i < count; i++) {
      const at = i * stride;
      const collection = so === 8 ? Number(payload.readBigUInt64LE(at + 4)) : payload.readUInt32LE(at + 4);
      const index = payload.readUInt32LE(at + 4 + so);
      vals.push(await readGlobalHeapObject(src, abs(collection), index, sl, maxValueBytes, label));
    }
    return { name, value: count === 1 && rank === 0 ? (vals[0] ?? "") : vals };
  }
  if (cls === 0 && count === 1 && (size === 4 || size === 8)) {
    const signed = (dt[1]! & 0x08) !== 0;
    const v =
      size === 4
        ? signed
          ? payload.readInt32LE(0)
          : payload.readUInt32LE(0)
        : Number(signed ? payload.readBigInt64LE(0) : payload.readBigUInt64LE(0));
    return { name, value: v };
  }
  if (cls === 1 && count === 1 && (size === 4 || size === 8))
    return { name, value: size === 4 ? payload.readFloatLE(0) : payload.readDoubleLE(0) };
  return { name, value: null };
}

async function readGlobalHeapObject(
  src: ByteSource,
  at: number,
  index: number,
  sl: number,
  maxBytes: number,
  label: string,
): Promise<string> {
  const head = await src.read(at, 8 + sl);
  if (head.toString("latin1", 0, 4) !== "GCOL")
    throw new MalformedError("HDF5 global heap collection missing", `${label}@offset ${at}`);
  const collSize = Number(sl === 8 ? head.readBigUInt64LE(8) : head.readUInt32LE(8));
  if (collSize > maxBytes + 4096)
    throw new MalformedError("HDF5 global heap collection too large", `${label}@offset ${at}`);
  const coll = await src.read(at, collSize);
  let q = 8 + sl;
  while (q + 8 + sl <= coll.length) {
    const idx = coll.readUInt16LE(q);
    const objSize = Number(sl === 8 ? coll.readBigUInt64LE(q + 8) : coll.readUInt32LE(q + 8));
    const dataAt = q + 8 + sl;
    if (idx === 0) break;
    if (idx === index) return coll.toString("utf8", dataAt, dataAt + objSize);
    q = dataAt + Math.ceil(objSize / 8) * 8;
  }
  throw new MalformedError(`HDF5 global heap object ${index} not found`, `${label}@offset ${at}`);
}
