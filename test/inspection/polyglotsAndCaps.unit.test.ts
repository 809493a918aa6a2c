import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findHdf5Superblock, HDF5_MAGIC } from "../../src/inspection/hdf5.ts";
import { inspectArtifactInProcess } from "../../src/inspection/index.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const fixture = (name: string) => readFileSync(join(fixtures, name));
const dir = mkdtempSync(join(tmpdir(), "registro-polyglot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function inspect(name: string, bytes: Buffer) {
  const path = join(dir, name.replace(/\//g, "_"));
  writeFileSync(path, bytes);
  const r = await inspectArtifactInProcess(path, name);
  return { ...r, text: r.findings.map((f) => `${f.severity} ${f.message}`).join("\n") };
}

// --- a minimal HDF5 writer (superblock v0, v1 root object header, compact attributes), as in
// test/fixtures/inspection/generate.py ---
const UNDEF = 0xffffffffffffffffn;
const pad8 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
function h5Attr(name: string, value: string): Buffer {
  const v = Buffer.from(value);
  const nm = Buffer.from(`${name}\0`);
  const dtype = Buffer.concat([Buffer.from([0x13, 0, 0, 0]), u32(v.length)]);
  const dspace = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([1, 0]),
    u16(nm.length),
    u16(dtype.length),
    u16(dspace.length),
    pad8(nm),
    pad8(dtype),
    pad8(dspace),
    v,
  ]);
}
function h5Message(type: number, body: Buffer): Buffer {
  const b = pad8(body);
  return Buffer.concat([u16(type), u16(b.length), Buffer.from([0, 0, 0, 0]), b]);
}
/** Root object header at 96; its first message is the symbol table (24 bytes at 112). */
function hdf5(attrs: [string, string][]): Buffer {
  const ohAddr = 96;
  const attrMsgs = Buffer.concat(attrs.map(([k, v]) => h5Message(0x0c, h5Attr(k, v))));
  const btAddr = ohAddr + 16 + 24 + attrMsgs.length;
  const bt = Buffer.concat([Buffer.from("TREE\0\0"), u16(0), u64(UNDEF), u64(UNDEF), Buffer.alloc(136)]);
  const lhAddr = btAddr + bt.length;
  const lh = Buffer.concat([
    Buffer.from("HEAP\0\0\0\0"),
    u64(8),
    u64(UNDEF),
    u64(lhAddr + 32),
    Buffer.alloc(8),
  ]);
  const eof = lhAddr + lh.length;
  const msgs = Buffer.concat([h5Message(0x11, Buffer.concat([u64(btAddr), u64(lhAddr)])), attrMsgs]);
  const oh = Buffer.concat([
    Buffer.from([1, 0]),
    u16(1 + attrs.length),
    u32(1),
    u32(msgs.length),
    Buffer.alloc(4),
    msgs,
  ]);
  const sb = Buffer.concat([
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 8, 8, 0]),
    u16(4),
    u16(16),
    u32(0),
    ...[0, UNDEF, eof, UNDEF, 0, ohAddr].map(u64),
    u32(1),
    u32(0),
    u64(btAddr),
    u64(lhAddr),
  ]);
  return Buffer.concat([sb, oh, bt, lh]);
}

const dense = { class_name: "Dense", config: { name: "d", units: 2 } };
const model = (layer: object) =>
  JSON.stringify({ class_name: "Sequential", config: { name: "s", layers: [layer] } });
const lambda = {
  class_name: "Lambda",
  config: { name: "l", function: ["4wEAAA", null, null], function_type: "lambda" },
};

describe("polyglot files", () => {
  it("a .keras archive appended to a benign HDF5, GGUF or pickle file is HIGH (zipfile reads it)", async () => {
    const zip = fixture("lambda.keras");
    for (const head of ["keras2_model.h5", "tiny.gguf", "sklearn_linreg_p2.pkl"]) {
      const r = await inspect("model.keras", Buffer.concat([fixture(head), zip]));
      expect(r.verdict, head).toBe("DANGEROUS");
      expect(r.text).toMatch(/HIGH Polyglot file: a ZIP archive \(3 entries, .*zipfile/);
    }
    // the benign files alone stay as they were
    expect((await inspect("model.h5", fixture("keras2_model.h5"))).verdict).toBe("SAFE");
  });

  it("finds the archive as far from the end as Python's zipfile looks: (1 << 16) + 22 bytes", async () => {
    // zipfile takes the last end record in the file's last 65,558 bytes, whatever follows it.
    const bytes = Buffer.concat([fixture("keras2_model.h5"), fixture("lambda.keras"), Buffer.alloc(1 << 16)]);
    const r = await inspect("model.keras", bytes);
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(/HIGH Polyglot file: a ZIP archive/);
  });

  it("a pickle in an HDF5 user block is walked (pickle.load and torch.load run it, h5py skips it)", async () => {
    const pickle = Buffer.from("cos\nsystem\n(S'id'\ntR.", "latin1");
    const userBlock = Buffer.concat([pickle, Buffer.alloc(512 - pickle.length)]);
    const bytes = Buffer.concat([userBlock, hdf5([["keras_version", "2.13.1"]])]);
    for (const name of ["model.pkl", "model.h5"]) {
      const r = await inspect(name, bytes);
      expect(r.verdict, name).toBe("DANGEROUS");
      expect(r.text).toContain("CRITICAL Dangerous pickle import os.system");
      expect(r.text).toContain(
        "HIGH Polyglot file: the HDF5 user block (512 bytes before the superblock) is a pickle",
      );
    }
    // a user block of zeros is just a user block
    const plain = await inspect(
      "model.h5",
      Buffer.concat([Buffer.alloc(512), hdf5([["keras_version", "2.13.1"]])]),
    );
    expect(plain.verdict).toBe("SAFE");
  });
});

describe("HDF5 user blocks of any allowed size", () => {
  it("the superblock is searched at 0, 512, 1024, … up to the end of the file, one read per power of two", async () => {
    const size = 2 ** 40;
    for (const at of [0, 512, 2 ** 31, 2 ** 32, 2 ** 36, 2 ** 39]) {
      let reads = 0;
      const src = {
        size,
        read: (offset: number, length: number) => {
          reads++;
          return Promise.resolve(offset === at ? HDF5_MAGIC : Buffer.alloc(length));
        },
      };
      expect(await findHdf5Superblock(src), String(at)).toBe(at);
      expect(reads).toBeLessThanOrEqual(33);
    }
    // not at an allowed offset: not a superblock
    const odd = {
      size,
      read: (o: number, n: number) => Promise.resolve(o === 3 * 2 ** 32 ? HDF5_MAGIC : Buffer.alloc(n)),
    };
    expect(await findHdf5Superblock(odd)).toBeNull();
  });

  it("a Keras 2 file behind a 4 GiB user block is read as HDF5 (it was unrecognised): its Lambda layer is found", async () => {
    const path = join(dir, "big_user_block.h5");
    const fd = openSync(path, "w");
    try {
      // Sparse: the 4 GiB of zeros before the superblock take no disk space.
      writeSync(fd, hdf5([["model_config", model(lambda)]]), 0, undefined, 2 ** 32);
    } finally {
      closeSync(fd);
    }
    const r = await inspectArtifactInProcess(path, "model.h5");
    expect(r.format).toBe("KERAS_H5");
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.findings.map((f) => f.message).join("\n")).toMatch(/Lambda layer/);
  });
});

describe("HDF5 root attributes", () => {
  it("a repeated model_config: the copy h5py reads (the first) is walked, and every other one", async () => {
    for (const order of [
      [model(lambda), model(dense)],
      [model(dense), model(lambda)],
    ]) {
      const r = await inspect(
        "model.h5",
        hdf5([
          ["keras_version", "2.13.1"],
          ["model_config", order[0]!],
          ["model_config", order[1]!],
        ]),
      );
      expect(r.verdict).toBe("DANGEROUS");
      expect(r.text).toContain("HIGH Keras Lambda layer");
      expect(r.text).toContain("MEDIUM HDF5 root attribute model_config is stored 2 times");
    }
  });

  it("a root header whose continuation points back at itself is read once and fails closed", async () => {
    const L = 1 << 20;
    const at = 4096;
    const cont = h5Message(0x10, Buffer.concat([u64(at), u64(L)]));
    const block = Buffer.alloc(L);
    cont.copy(block, 0);
    let q = cont.length;
    for (; q + 8 + 65528 <= L; q += 8 + 65528) block.writeUInt16LE(65528, q + 2);
    block.writeUInt16LE(L - q - 8, q + 2);
    const file = Buffer.alloc(at + L);
    hdf5([["keras_version", "2.13.1"]]).copy(file);
    cont.copy(file, 96 + 16); // replaces the symbol table message
    block.copy(file, at);
    const r = await inspect("loop.h5", file);
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.text).toContain("continuation points back at a block already read");
  });
});

// --- TensorFlow GraphDef nodes, written by hand ---
const varint = (n: number) => {
  const o: number[] = [];
  while (n > 127) {
    o.push((n & 127) | 128);
    n >>>= 7;
  }
  o.push(n);
  return Buffer.from(o);
};
const field = (no: number, b: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
const node = (name: string, op: string, ...attrs: Buffer[]) =>
  field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(op)), ...attrs]));
const stringAttr = (k: string, s: string) =>
  field(5, Buffer.concat([field(1, Buffer.from(k)), field(2, field(2, Buffer.from(s)))]));
const junkOps = (n: number) => Array.from({ length: n }, (_, i) => node(`n${i}`, `Custom${i}`));

describe("TensorFlow ops", () => {
  it("5,000 distinct junk ops before a PyFunc do not push it out of the op table", async () => {
    const r = await inspect("graph.pb", Buffer.concat([...junkOps(5000), node("p", "PyFunc")]));
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toContain("CRITICAL TensorFlow graph uses PyFunc");
  });

  it("500 MEDIUM findings before a PyFunc do not crowd its CRITICAL finding out of the report", async () => {
    const r = await inspect("graph.pb", Buffer.concat([...junkOps(600), node("p", "PyFunc")]));
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toContain("CRITICAL TensorFlow graph uses PyFunc");
  });

  it("file-system ops under other names, and PrintV2 writing to a file, are HIGH", async () => {
    for (const op of [
      "TFRecordDataset",
      "DebugIdentity",
      "WriteScalarSummary",
      "SaveDataset",
      "TextLineReaderV2",
    ]) {
      const r = await inspect("graph.pb", Buffer.concat([node("c", "Const"), node("x", op)]));
      expect(r.verdict, op).toBe("DANGEROUS");
      expect(r.text).toContain(`HIGH TensorFlow graph uses file-system op ${op}`);
    }
    const printing = await inspect(
      "graph.pb",
      Buffer.concat([
        node("c", "Const"),
        node("p", "PrintV2", stringAttr("output_stream", "file:///home/u/.bashrc")),
      ]),
    );
    expect(printing.verdict).toBe("DANGEROUS");
    expect(printing.text).toContain("HIGH TensorFlow graph uses PrintV2 writing to a file");
    const toStderr = await inspect(
      "graph.pb",
      Buffer.concat([node("c", "Const"), node("p", "PrintV2", stringAttr("output_stream", "stderr"))]),
    );
    expect(toStderr.verdict).toBe("SAFE");
  });
});
