import type { ByteSource } from "./io.ts";
import { MalformedError, type Scan } from "./verdict.ts";

/**
 * HDF5 dense attribute storage (HDF5 File Format Specification v3, sections III.G "Fractal Heap",
 * III.A.2 "Version 2 B-trees", IV.A.2.v "Attribute Info Message"): an object with many or large
 * attributes keeps them as objects in a fractal heap, found through a v2 B-tree indexed by name.
 * This reads the name index and every attribute message it points to: managed objects in direct
 * blocks (under a root direct block or a tree of indirect blocks) and huge objects (their own
 * v2 B-tree, or an address stored in the heap ID). Filtered (compressed) heaps are reported unread.
 * Every count, depth and size is capped; anything out of bounds is a MalformedError.
 */

export interface Hdf5Ctx {
  src: ByteSource;
  scan: Scan;
  label: string;
  /** Size of offsets and of lengths, from the superblock. */
  so: number;
  sl: number;
  /** File address of a relative address (base address + a). */
  abs: (a: number) => number;
  maxValueBytes: number;
}

const MAX_ATTRIBUTES = 10_000;
const MAX_BTREE_DEPTH = 8;
const MAX_INDIRECT_DEPTH = 16;
const MAX_NODE_BYTES = 1 << 20;

class Reader {
  constructor(
    private readonly b: Buffer,
    private readonly ctx: Hdf5Ctx,
    private readonly where: string,
    public q = 0,
  ) {}
  private need(n: number): void {
    if (this.q + n > this.b.length) throw new MalformedError(`HDF5 ${this.where} truncated`, this.ctx.label);
  }
  u8(): number {
    this.need(1);
    return this.b[this.q++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.q);
    this.q += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.q);
    this.q += 4;
    return v;
  }
  /** Little-endian unsigned of n bytes (n ≤ 8); all ones → -1 (the "undefined address"). */
  uint(n: number): number {
    this.need(n);
    let v = 0n;
    let ones = true;
    for (let i = n - 1; i >= 0; i--) {
      const byte = this.b[this.q + i]!;
      if (byte !== 0xff) ones = false;
      v = (v << 8n) | BigInt(byte);
    }
    this.q += n;
    if (ones && n > 0) return -1;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new MalformedError(`HDF5 ${this.where}: value out of range`, this.ctx.label);
    return Number(v);
  }
  addr(): number {
    return this.uint(this.ctx.so);
  }
  len(): number {
    return this.uint(this.ctx.sl);
  }
  sig(s: string): void {
    this.need(4);
    const got = this.b.toString("latin1", this.q, this.q + 4);
    if (got !== s)
      throw new MalformedError(
        `HDF5 ${this.where}: expected signature ${s}, found ${JSON.stringify(got)}`,
        this.ctx.label,
      );
    this.q += 4;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.q, this.q + n);
    this.q += n;
    return v;
  }
}

async function readAt(ctx: Hdf5Ctx, rel: number, n: number, what: string): Promise<Buffer> {
  if (rel < 0) throw new MalformedError(`HDF5 ${what}: undefined address`, ctx.label);
  const at = ctx.abs(rel);
  if (n > MAX_NODE_BYTES + ctx.maxValueBytes || at + n > ctx.src.size)
    throw new MalformedError(
      `HDF5 ${what} runs past the end of the file (truncated)`,
      `${ctx.label}@offset ${at}`,
    );
  const b = await ctx.src.read(at, n);
  if (b.length < n) throw new MalformedError(`HDF5 ${what} truncated`, `${ctx.label}@offset ${at}`);
  return b;
}

const log2 = (n: number) => Math.floor(Math.log2(n));
/** HDF5's H5VM_limit_enc_size: bytes needed to encode values up to n. */
const limitEncSize = (n: number) => Math.floor(log2(Math.max(n, 1)) / 8) + 1;

// ---------------------------------------------------------------------------------------------
// v2 B-tree
// ---------------------------------------------------------------------------------------------

interface BTree2 {
  type: number;
  nodeSize: number;
  recordSize: number;
  depth: number;
  root: number;
  rootRecords: number;
}

async function readBTree2Header(ctx: Hdf5Ctx, rel: number): Promise<BTree2> {
  const r = new Reader(
    await readAt(ctx, rel, 16 + 2 * ctx.so + ctx.sl, "v2 B-tree header"),
    ctx,
    "v2 B-tree header",
  );
  r.sig("BTHD");
  if (r.u8() !== 0) throw new MalformedError("HDF5 v2 B-tree header version not supported", ctx.label);
  const type = r.u8();
  const nodeSize = r.u32();
  const recordSize = r.u16();
  const depth = r.u16();
  r.u8();
  r.u8();
  const root = r.addr();
  const rootRecords = r.u16();
  if (nodeSize < 16 || nodeSize > MAX_NODE_BYTES || recordSize === 0 || recordSize > nodeSize)
    throw new MalformedError(
      `HDF5 v2 B-tree: node size ${nodeSize} / record size ${recordSize} out of range`,
      ctx.label,
    );
  if (depth > MAX_BTREE_DEPTH)
    throw new MalformedError(`HDF5 v2 B-tree deeper than ${MAX_BTREE_DEPTH}`, ctx.label);
  return { type, nodeSize, recordSize, depth, root, rootRecords };
}

/** Every record of a v2 B-tree (internal nodes hold records too), in key order. */
async function btree2Records(ctx: Hdf5Ctx, h: BTree2, limit: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  if (h.root < 0 || h.rootRecords === 0) return out;
  // node_info as HDF5 computes it (H5B2__hdr_init): max records per level, and field widths
  const prefix = 10; // signature, version, type, checksum
  const maxRec: number[] = [Math.floor((h.nodeSize - prefix) / h.recordSize)];
  const cumMax: number[] = [maxRec[0]!];
  const cumMaxSize: number[] = [0];
  const maxNrecSize = limitEncSize(maxRec[0]!);
  const ptrSize = (d: number) => ctx.so + maxNrecSize + (d > 1 ? cumMaxSize[d - 1]! : 0);
  for (let d = 1; d <= h.depth; d++) {
    const p = ptrSize(d);
    maxRec[d] = Math.floor((h.nodeSize - (prefix + p)) / (h.recordSize + p));
    cumMax[d] = (maxRec[d]! + 1) * cumMax[d - 1]! + maxRec[d]!;
    cumMaxSize[d] = limitEncSize(cumMax[d]!);
  }
  const visit = async (addr: number, nrec: number, depth: number): Promise<void> => {
    ctx.scan.tick();
    if (nrec > maxRec[depth]!)
      throw new MalformedError("HDF5 v2 B-tree node has too many records", ctx.label);
    const r = new Reader(await readAt(ctx, addr, h.nodeSize, "v2 B-tree node"), ctx, "v2 B-tree node");
    r.sig(depth === 0 ? "BTLF" : "BTIN");
    r.u8();
    if (r.u8() !== h.type) throw new MalformedError("HDF5 v2 B-tree node of the wrong type", ctx.label);
    const recs: Buffer[] = [];
    for (let i = 0; i < nrec; i++) recs.push(r.bytes(h.recordSize));
    if (depth === 0) {
      for (const rec of recs) {
        if (out.length >= limit)
          throw new MalformedError(`HDF5 v2 B-tree has more than ${limit} records`, ctx.label);
        out.push(rec);
      }
      return;
    }
    const kids: { addr: number; nrec: number }[] = [];
    for (let i = 0; i <= nrec; i++) {
      const a = r.addr();
      const n = r.uint(maxNrecSize);
      if (depth > 1) r.uint(cumMaxSize[depth - 1]!);
      kids.push({ addr: a, nrec: n });
    }
    for (let i = 0; i <= nrec; i++) {
      await visit(kids[i]!.addr, kids[i]!.nrec, depth - 1);
      if (i < nrec) {
        if (out.length >= limit)
          throw new MalformedError(`HDF5 v2 B-tree has more than ${limit} records`, ctx.label);
        out.push(recs[i]!);
      }
    }
  };
  await visit(h.root, h.rootRecords, h.depth);
  return out;
}

// ---------------------------------------------------------------------------------------------
// fractal heap
// ---------------------------------------------------------------------------------------------

interface FractalHeap {
  heapIdLen: number;
  filtered: boolean;
  maxManaged: number;
  hugeBTree: number;
  width: number;
  startBlock: number;
  maxDirectBlock: number;
  maxHeapBits: number;
  root: number;
  rootRows: number;
  offBytes: number;
  lenBytes: number;
  maxDirectRows: number;
}

async function readFractalHeap(ctx: Hdf5Ctx, rel: number): Promise<FractalHeap> {
  const { so, sl } = ctx;
  const r = new Reader(
    await readAt(ctx, rel, 22 + 3 * so + 12 * sl, "fractal heap header"),
    ctx,
    "fractal heap header",
  );
  r.sig("FRHP");
  if (r.u8() !== 0) throw new MalformedError("HDF5 fractal heap version not supported", ctx.label);
  const heapIdLen = r.u16();
  const filterLen = r.u16();
  r.u8(); // flags
  const maxManaged = r.u32();
  r.len(); // next huge object id
  const hugeBTree = r.addr();
  r.len(); // free space
  r.addr(); // free-space manager
  for (let i = 0; i < 8; i++) r.len(); // managed space, allocated, iterator, counts and sizes
  const width = r.u16();
  const startBlock = r.len();
  const maxDirectBlock = r.len();
  const maxHeapBits = r.u16();
  r.u16(); // starting rows in root indirect block
  const root = r.addr();
  const rootRows = r.u16();
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (
    heapIdLen < 2 ||
    heapIdLen > 64 ||
    !pow2(width) ||
    width > 4096 ||
    !pow2(startBlock) ||
    !pow2(maxDirectBlock) ||
    maxDirectBlock < startBlock ||
    maxDirectBlock > 1 << 30 ||
    maxHeapBits < 8 ||
    maxHeapBits > 64
  )
    throw new MalformedError("HDF5 fractal heap header has out-of-range parameters", ctx.label);
  const offBytes = Math.ceil(maxHeapBits / 8);
  const lenBytes = Math.min(Math.floor((log2(maxDirectBlock) + 7) / 8), limitEncSize(maxManaged));
  return {
    heapIdLen,
    filtered: filterLen > 0,
    maxManaged,
    hugeBTree,
    width,
    startBlock,
    maxDirectBlock,
    maxHeapBits,
    root,
    rootRows,
    offBytes,
    lenBytes,
    maxDirectRows: log2(maxDirectBlock) - log2(startBlock) + 2,
  };
}

const rowBlockSize = (h: FractalHeap, row: number) =>
  row === 0 ? h.startBlock : h.startBlock * 2 ** (row - 1);

/** File-relative address of heap offset `off` (length `n`), walking indirect blocks down to a direct one. */
async function managedAddress(ctx: Hdf5Ctx, h: FractalHeap, off: number, n: number): Promise<number> {
  if (h.rootRows === 0) {
    if (off + n > h.startBlock)
      throw new MalformedError("HDF5 heap object outside the root direct block", ctx.label);
    return h.root + off;
  }
  let block = h.root;
  let rows = h.rootRows;
  let rel = off;
  for (let depth = 0; depth < MAX_INDIRECT_DEPTH; depth++) {
    ctx.scan.tick();
    const directRows = Math.min(rows, h.maxDirectRows);
    const entries = directRows * h.width + (rows - directRows) * h.width;
    const r = new Reader(
      await readAt(ctx, block, 5 + ctx.so + h.offBytes + entries * ctx.so, "fractal heap indirect block"),
      ctx,
      "fractal heap indirect block",
    );
    r.sig("FHIB");
    r.u8();
    r.addr();
    r.uint(h.offBytes);
    let row = 0;
    let span = rowBlockSize(h, 0) * h.width;
    while (row < rows && rel >= span) {
      rel -= span;
      row++;
      span = rowBlockSize(h, row) * h.width;
    }
    if (row >= rows) throw new MalformedError("HDF5 heap offset beyond its indirect block", ctx.label);
    const size = rowBlockSize(h, row);
    const col = Math.floor(rel / size);
    rel -= col * size;
    r.q += (row * h.width + col) * ctx.so;
    const child = r.addr();
    if (child < 0) throw new MalformedError("HDF5 heap object in an unallocated block", ctx.label);
    if (row < h.maxDirectRows) {
      if (rel + n > size) throw new MalformedError("HDF5 heap object crosses its direct block", ctx.label);
      const sig = await readAt(ctx, child, 4, "fractal heap direct block");
      if (sig.toString("latin1") !== "FHDB")
        throw new MalformedError("HDF5 fractal heap direct block signature missing", ctx.label);
      return child + rel;
    }
    block = child;
    rows = log2(size) - log2(h.startBlock * h.width) + 1;
    if (rows < 1) throw new MalformedError("HDF5 fractal heap indirect block geometry", ctx.label);
  }
  throw new MalformedError(`HDF5 fractal heap nested deeper than ${MAX_INDIRECT_DEPTH}`, ctx.label);
}

async function heapObject(ctx: Hdf5Ctx, h: FractalHeap, id: Buffer, maxBytes: number): Promise<Buffer> {
  const r = new Reader(id, ctx, "fractal heap id");
  const head = r.u8();
  if (head >> 6 !== 0) throw new MalformedError("HDF5 fractal heap id version not supported", ctx.label);
  const type = (head >> 4) & 3;
  if (type === 0) {
    const off = r.uint(h.offBytes);
    const n = r.uint(h.lenBytes);
    if (n > maxBytes || n > h.maxManaged) throw new MalformedError("HDF5 heap object too large", ctx.label);
    return readAt(ctx, await managedAddress(ctx, h, off, n), n, "fractal heap object");
  }
  if (type === 2) {
    // tiny: the object is inside the id; extended form when the id is longer than 18 bytes
    const n = h.heapIdLen <= 18 ? (head & 0x0f) + 1 : (((head & 0x0f) << 8) | r.u8()) + 1;
    return r.bytes(n);
  }
  if (type !== 1) throw new MalformedError("HDF5 fractal heap id of unknown type", ctx.label);
  if (h.filtered) throw new MalformedError("filtered (compressed) huge heap objects not read", ctx.label);
  let addr: number;
  let n: number;
  if (h.heapIdLen >= 1 + ctx.so + ctx.sl) {
    addr = r.addr();
    n = r.len();
  } else {
    const key = r.uint(Math.min(h.heapIdLen - 1, 8));
    const bt = await readBTree2Header(ctx, h.hugeBTree);
    if (bt.type !== 1) throw new MalformedError("HDF5 huge-object B-tree of unexpected type", ctx.label);
    const found = (await btree2Records(ctx, bt, MAX_ATTRIBUTES)).map((rec) => {
      const rr = new Reader(rec, ctx, "huge object record");
      return { addr: rr.addr(), len: rr.len(), id: rr.len() };
    });
    const hit = found.find((f) => f.id === key);
    if (!hit) throw new MalformedError(`HDF5 huge heap object ${key} not found`, ctx.label);
    addr = hit.addr;
    n = hit.len;
  }
  if (n > maxBytes) throw new MalformedError("HDF5 heap object too large", ctx.label);
  return readAt(ctx, addr, n, "huge heap object");
}

/**
 * The attribute messages of an Attribute Info message (type 0x15), as raw message bodies in name
 * order. `unread` collects what was skipped on purpose (shared attributes), `failed` the
 * attributes that could not be read (the caller fails closed on those).
 */
export async function readDenseAttributes(
  ctx: Hdf5Ctx,
  info: Buffer,
  unread: string[],
  failed: string[],
): Promise<Buffer[]> {
  const r = new Reader(info, ctx, "attribute info message");
  if (r.u8() !== 0) throw new MalformedError("HDF5 attribute info message version not supported", ctx.label);
  const flags = r.u8();
  if (flags & 1) r.u16(); // maximum creation index
  const heapAddr = r.addr();
  const nameIndex = r.addr();
  if (heapAddr < 0 || nameIndex < 0) return []; // dense storage declared but empty
  const heap = await readFractalHeap(ctx, heapAddr);
  if (heap.filtered) throw new MalformedError("filtered (compressed) fractal heaps are not read", ctx.label);
  const bt = await readBTree2Header(ctx, nameIndex);
  if (bt.type !== 8) throw new MalformedError(`HDF5 attribute name index of type ${bt.type}`, ctx.label);
  const idLen = bt.recordSize - 9; // heap id, message flags u8, creation order u32, name hash u32
  if (idLen < 2) throw new MalformedError("HDF5 attribute name index record too small", ctx.label);
  const out: Buffer[] = [];
  for (const rec of await btree2Records(ctx, bt, MAX_ATTRIBUTES)) {
    ctx.scan.tick();
    const msgFlags = rec[idLen]!;
    if (msgFlags & 0x02) {
      unread.push("shared attribute message not read");
      continue;
    }
    try {
      out.push(await heapObject(ctx, heap, rec.subarray(0, idLen), ctx.maxValueBytes + 65536));
    } catch (err) {
      if (err instanceof MalformedError) failed.push(`dense attribute not read: ${err.message}`);
      else throw err;
    }
  }
  return out;
}
