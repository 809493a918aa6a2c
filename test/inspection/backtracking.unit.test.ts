// Text a model file controls never meets a regular expression that backtracks. Each input below is a
// worst case for the expression its code replaced, sized so that the expression took about a minute
// (time grew with the square of the length), twice the test timeout; the code now answers at once.
import { describe, expect, it } from "vitest";
import { readRootAttributes } from "../../src/inspection/hdf5.ts";
import { BufferSource } from "../../src/inspection/io.ts";
import { inspectPmml, looksLikePmml } from "../../src/inspection/pmml.ts";
import { DEFAULT_LIMITS, MalformedError, Scan } from "../../src/inspection/verdict.ts";

async function pmmlFindings(text: string): Promise<string[]> {
  const scan = new Scan(DEFAULT_LIMITS);
  await inspectPmml(new BufferSource(Buffer.from(text)), scan, "m.pmml").catch((error: unknown) => {
    expect(error).toBeInstanceOf(MalformedError);
  });
  return scan.findings.map((f) => `${f.severity} ${f.message}`);
}

describe("PMML", () => {
  it("a DOCTYPE left open is cut to the end of the file, and reported", async () => {
    const findings = await pmmlFindings(`<PMML version="4.4"><!DOCTYPE${" ".repeat(256 * 1024)}`);
    expect(findings).toContainEqual(expect.stringMatching(/^LOW PMML document declares a DOCTYPE;/));
  });

  it("entity declarations left open are each read once", async () => {
    const open = await pmmlFindings(`<PMML><!DOCTYPE x [${"<!ENTITY ".repeat(80_000)}]>`);
    expect(open).toContainEqual(expect.stringMatching(/^LOW .* with entity declarations/));
    const external = await pmmlFindings(`<PMML><!DOCTYPE x [${"<!ENTITY ".repeat(80_000)} SYSTEM "f">]>`);
    expect(external).toContainEqual(expect.stringMatching(/^MEDIUM .* with external entity declarations/));
  });

  it("finds the end of a DOCTYPE past `]` in its entities' values", async () => {
    const findings = await pmmlFindings(
      `<?xml version="1.0"?>\n<!DOCTYPE PMML [ <!ENTITY a "]"> <!ENTITY b SYSTEM "file:///etc/passwd"> ] >\n<PMML version="4.4"><Header/></PMML>`,
    );
    expect(findings).toContainEqual(expect.stringMatching(/^MEDIUM .* with external entity declarations/));
  });

  it.each([
    ["a declaration", '<?xml version="1.0"?><PMML version="4.4">', true],
    ["a BOM, a comment, a prefix", '\uFEFF  <!-- made by hand --> <pmml:PMML xmlns:pmml="x">', true],
    ["a DOCTYPE with `]` in a value", '<!DOCTYPE PMML [ <!ENTITY a "]"> ]  ><PMML>', true],
    ["a lower-case DOCTYPE", "<!doctype PMML><PMML\n>", true],
    ["another root", "<PMMLX>", false],
    ["an open declaration", '<?xml version="1.0"', false],
    ["an open comment", "<!-- open", false],
    ["a comment that only seems to close", "<!--><PMML>", false],
    ["an open DOCTYPE", `<!DOCTYPE${" ".repeat(4000)}`, false],
    ["open DOCTYPEs", `${"<!DOCTYPE".repeat(400)}<PMML>`, false],
  ])("sniffs a head with %s: %s", (_, head, expected) => {
    expect(looksLikePmml(head)).toBe(expected);
  });
});

// An HDF5 file (superblock 0, a root object header of version 1 with string attributes, an empty
// group B-tree and local heap), as test/fixtures/inspection/generate.py writes them.
const UNDEFINED_ADDRESS = 0xffff_ffff_ffff_ffffn;

function littleEndian(
  ...fields: readonly (readonly [bytes: 1 | 2 | 4 | 8, value: number | bigint])[]
): Buffer {
  const out = Buffer.alloc(fields.reduce((n, [bytes]) => n + bytes, 0));
  let at = 0;
  for (const [bytes, value] of fields) {
    if (bytes === 8) out.writeBigUInt64LE(BigInt(value), at);
    else out.writeUIntLE(Number(value), at, bytes);
    at += bytes;
  }
  return out;
}

const pad8 = (bytes: Buffer) => Buffer.concat([bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);

function attributeMessage(name: Buffer, value: string): Buffer {
  const data = Buffer.from(value);
  const datatype = Buffer.concat([Buffer.from([0x13, 0, 0, 0]), littleEndian([4, data.length])]);
  const dataspace = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  const body = pad8(
    Buffer.concat([
      littleEndian([1, 1], [1, 0], [2, name.length], [2, datatype.length], [2, dataspace.length]),
      pad8(name),
      pad8(datatype),
      pad8(dataspace),
      data,
    ]),
  );
  return Buffer.concat([littleEndian([2, 0x0c], [2, body.length], [1, 0], [1, 0], [2, 0]), body]);
}

function hdf5(attributes: readonly (readonly [Buffer, string])[]): Buffer {
  const objectHeaderAddress = 96;
  const messages = Buffer.concat(attributes.map(([name, value]) => attributeMessage(name, value)));
  const treeAddress = objectHeaderAddress + 16 + 24 + messages.length;
  const tree = Buffer.concat([
    Buffer.from("TREE"),
    littleEndian([1, 0], [1, 0], [2, 0], [8, UNDEFINED_ADDRESS], [8, UNDEFINED_ADDRESS]),
    Buffer.alloc(9 * 8 + 8 * 8),
  ]);
  const heapAddress = treeAddress + tree.length;
  const heap = Buffer.concat([
    Buffer.from("HEAP"),
    littleEndian([4, 0], [8, 8], [8, UNDEFINED_ADDRESS], [8, heapAddress + 32], [8, 0]),
  ]);
  const end = heapAddress + heap.length;
  const symbolTable = Buffer.concat([
    littleEndian([2, 0x11], [2, 16], [1, 0], [1, 0], [2, 0]),
    littleEndian([8, treeAddress], [8, heapAddress]),
  ]);
  const all = Buffer.concat([symbolTable, messages]);
  const objectHeader = Buffer.concat([
    littleEndian([1, 1], [1, 0], [2, 1 + attributes.length], [4, 1], [4, all.length], [4, 0]),
    all,
  ]);
  const superblock = Buffer.concat([
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 8, 8, 0]),
    littleEndian([2, 4], [2, 16], [4, 0]),
    littleEndian([8, 0], [8, UNDEFINED_ADDRESS], [8, end], [8, UNDEFINED_ADDRESS]),
    littleEndian([8, 0], [8, objectHeaderAddress], [4, 1], [4, 0], [8, treeAddress], [8, heapAddress]),
  ]);
  expect(superblock.length).toBe(objectHeaderAddress);
  return Buffer.concat([superblock, objectHeader, tree, heap]);
}

describe("HDF5", () => {
  const read = (file: Buffer) =>
    readRootAttributes(new BufferSource(file), new Scan(DEFAULT_LIMITS), "m.h5", 1 << 20);

  it("reads attribute names up to their NUL", async () => {
    const file = hdf5([
      [Buffer.from("keras_version\0"), "2.13.1"],
      [Buffer.from("backend\0\0\0\0\0\0"), "tensorflow"],
    ]);
    expect((await read(file)).attributes).toEqual({ keras_version: "2.13.1", backend: "tensorflow" });
  });

  it("an attribute name of NULs before one other byte ends at its first NUL", async () => {
    const name = Buffer.concat([Buffer.alloc(65_000), Buffer.from("x\0")]);
    const file = hdf5([
      ...Array.from({ length: 12 }, (_, i) => [name, `value ${i}`] as const),
      [Buffer.from("keras_version\0"), "2.13.1"],
    ]);
    const attributes = await read(file);
    expect(attributes.failed).toEqual([]);
    // the library's lookup by name takes the first match; every copy is kept for the checks
    expect(attributes.attributes).toEqual({ "": "value 0", keras_version: "2.13.1" });
    expect(attributes.copies[""]).toHaveLength(12);
  });
});
