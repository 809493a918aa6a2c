import { crc32 } from "node:zlib";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { inspectArtifact } from "../src/inspection/index.ts";

const GiB = 1024 ** 3;

/** A 1 GiB safetensors file: a real header, and a sparse (all-zero) data region it fully covers. */
async function writeSafetensors(path: string): Promise<void> {
  const numel = GiB / 4;
  let header = JSON.stringify({ __metadata__: { format: "pt" }, weight: { dtype: "F32", shape: [numel], data_offsets: [0, GiB] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const fh = await open(path, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await fh.write(Buffer.concat([len, Buffer.from(header)]), 0, undefined, 0);
    await fh.truncate(8 + header.length + GiB);
  } finally {
    await fh.close();
  }
}

/** torch.save-style data.pkl (protocol 2) for an OrderedDict holding one float32 tensor. */
function dataPkl(numel: number): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return Buffer.concat([Buffer.from("X"), n, b]);
  };
  const int = (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return b;
  };
  const g = (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`, "latin1");
  return Buffer.concat([
    Buffer.from([0x80, 0x02]),
    g("collections", "OrderedDict"), Buffer.from(")R("),
    str("weight"),
    g("torch._utils", "_rebuild_tensor_v2"),
    Buffer.from("(("), str("storage"), g("torch", "FloatStorage"), str("0"), str("cpu"), int(numel), Buffer.from("tQ"),
    int(0), int(numel), Buffer.from([0x85]), int(1), Buffer.from([0x85]), Buffer.from([0x89]),
    g("collections", "OrderedDict"), Buffer.from(")R"),
    Buffer.from("tRu."),
  ]);
}

function localHeader(name: string, crc: number, size: number): Buffer {
  const n = Buffer.from(name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt32LE(crc >>> 0, 14);
  h.writeUInt32LE(size, 18);
  h.writeUInt32LE(size, 22);
  h.writeUInt16LE(n.length, 26);
  return Buffer.concat([h, n]);
}

function centralHeader(name: string, crc: number, size: number, offset: number): Buffer {
  const n = Buffer.from(name);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(20, 6);
  h.writeUInt32LE(crc >>> 0, 16);
  h.writeUInt32LE(size, 20);
  h.writeUInt32LE(size, 24);
  h.writeUInt16LE(n.length, 28);
  h.writeUInt32LE(offset, 42);
  return Buffer.concat([h, n]);
}

/** A stored (not deflated) PyTorch zip of ~500 MB whose tensor payload is a sparse zero region. */
async function writeTorchZip(path: string): Promise<void> {
  const bytes = 500 * 1024 * 1024;
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  let zeroCrc = 0;
  for (let done = 0; done < bytes; done += zeros.length) zeroCrc = crc32(zeros.subarray(0, Math.min(zeros.length, bytes - done)), zeroCrc);
  const members: [string, Buffer | null, number, number][] = [
    ["archive/data.pkl", dataPkl(bytes / 4), 0, 0],
    ["archive/byteorder", Buffer.from("little"), 0, 0],
    ["archive/data/0", null, zeroCrc, bytes],
    ["archive/version", Buffer.from("3\n"), 0, 0],
  ];
  const fh = await open(path, "w");
  try {
    let pos = 0;
    const central: Buffer[] = [];
    for (const [name, data, crc0, size0] of members) {
      const crc = data ? crc32(data) : crc0;
      const size = data ? data.length : size0;
      const lh = localHeader(name, crc, size);
      central.push(centralHeader(name, crc, size, pos));
      await fh.write(lh, 0, lh.length, pos);
      pos += lh.length;
      if (data) await fh.write(data, 0, data.length, pos);
      pos += size; // the zero payload is a hole: never written, reads back as zeros
    }
    const cd = Buffer.concat(central);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(members.length, 8);
    eocd.writeUInt16LE(members.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(pos, 16);
    await fh.write(Buffer.concat([cd, eocd]), 0, cd.length + 22, pos);
  } finally {
    await fh.close();
  }
}

export async function benchInspection(workDir: string): Promise<{ safetensors1GbMs: number; pytorch500MbMs: number }> {
  const st = join(workDir, "bench-1gb.safetensors");
  const pt = join(workDir, "bench-500mb.pt");
  try {
    await writeSafetensors(st);
    await writeTorchZip(pt);
    let t = performance.now();
    const a = await inspectArtifact(st, "model.safetensors");
    const safetensors1GbMs = performance.now() - t;
    t = performance.now();
    const b = await inspectArtifact(pt, "pytorch_model.pt");
    const pytorch500MbMs = performance.now() - t;
    if (a.verdict !== "SAFE" || b.verdict !== "SAFE")
      throw new Error(`bench inputs did not inspect cleanly: ${JSON.stringify([a.findings, b.findings])}`);
    return { safetensors1GbMs, pytorch500MbMs };
  } finally {
    await rm(st, { force: true });
    await rm(pt, { force: true });
  }
}
