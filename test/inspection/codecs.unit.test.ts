import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { lz4Block, lz4Chunks, lzmaChunks, xzChunks } from "../../src/inspection/codecs.ts";
import { inspectArtifactInProcess } from "../../src/inspection/index.ts";
import { BufferSource } from "../../src/inspection/io.ts";
import { LzmaAloneDecoder } from "../../src/inspection/lzma.ts";
import { DEFAULT_LIMITS, MalformedError, Scan } from "../../src/inspection/verdict.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const file = (name: string) => readFileSync(join(fixtures, name));
const scan = () => new Scan(DEFAULT_LIMITS);

async function all(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of gen) out.push(c);
  return Buffer.concat(out);
}

/** The uncompressed joblib pickle the compressed fixtures were made from (generate.py `jl`). */
const plain = file("linreg.joblib");

describe("joblib codecs decode to the exact bytes Python compressed", () => {
  it("xz (CRC64 and CRC32 checks)", async () => {
    for (const name of ["xz.joblib", "xz_crc32.joblib"])
      expect(await all(xzChunks(join(fixtures, name), 1 << 20, scan(), name))).toEqual(plain);
  });

  it("lzma (LZMA-alone, unknown size and end marker)", async () => {
    expect(await all(lzmaChunks(new BufferSource(file("lzma.joblib")), 1 << 20, scan(), "l"))).toEqual(plain);
  });

  it("lzma fed 7 bytes at a time gives the same bytes", () => {
    const input = file("lzma_os_system.joblib");
    const whole = Buffer.concat([
      ...(function* () {
        const d = new LzmaAloneDecoder(input, 1 << 20, "l");
        d.feed(null);
        while (!d.finished) yield d.decode(1 << 20);
      })(),
    ]);
    const d = new LzmaAloneDecoder(input.subarray(0, 20), 1 << 20, "l");
    const out: Buffer[] = [];
    let at = 20;
    while (!d.finished) {
      if (d.needsInput()) {
        d.feed(at < input.length ? input.subarray(at, at + 7) : null);
        at += 7;
      } else out.push(d.decode(64));
    }
    expect(Buffer.concat(out)).toEqual(whole);
    expect(whole.length).toBeGreaterThan(400);
  });

  it("lz4 frame, and linked 64 KiB blocks with block and content checksums", async () => {
    expect(await all(lz4Chunks(new BufferSource(file("lz4.joblib")), 1 << 20, scan(), "l"))).toEqual(plain);
    const linked = await all(lz4Chunks(new BufferSource(file("lz4_linked.joblib")), 1 << 20, scan(), "l"));
    expect(linked.length).toBe(163656);
    expect(createHash("sha256").update(linked).digest("hex")).toBe(
      "7e519e15c80b9a473b12e70cb814fa359490987aa674607040d5df5a6260a8da",
    );
  });
});

describe("bombs end the scan at the cap", () => {
  it.each(["xz_bomb.joblib", "lzma_bomb.joblib", "lz4_bomb.joblib"])("%s", async (name) => {
    // ~1 MiB once decompressed: SAFE under the default cap, a bomb under a 64 KiB one
    expect((await inspectArtifactInProcess(join(fixtures, name), name)).verdict).toBe("SAFE");
    const r = await inspectArtifactInProcess(join(fixtures, name), name, { maxDecompressedBytes: 65536 });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings[0]?.message).toMatch(/inflates past the cap of 65536 bytes \(decompression bomb\?\)/);
  });

  it("an lz4 frame declaring a content size over the cap is refused before decoding", async () => {
    const f = Buffer.from(file("lz4_linked.joblib"));
    await expect(all(lz4Chunks(new BufferSource(f), 1000, scan(), "l"))).rejects.toThrow(
      /past the cap of 1000/,
    );
  });

  it("the deadline is checked between chunks", async () => {
    const s = new Scan({ ...DEFAULT_LIMITS, timeBudgetMs: 0 }, Date.now() - 10);
    await expect(
      all(lzmaChunks(new BufferSource(file("lzma_bomb.joblib")), 1 << 30, s, "l")),
    ).rejects.toThrow(/time budget/);
  });
});

describe("lz4 blocks are checked, never read or written out of bounds", () => {
  const out = () => new Uint8Array(64);
  it("decodes literals and an overlapping match", () => {
    const o = out();
    // token: 1 literal, match length 4+4; literal 'a'; offset 1; then a final literal-only sequence
    const n = lz4Block(Uint8Array.from([0x14, 0x61, 1, 0, 0x10, 0x62]), o, 0, 64, "b");
    expect(Buffer.from(o.subarray(0, n)).toString()).toBe("aaaaaaaaab");
  });
  it.each([
    ["offset 0", [0x10, 0x61, 0, 0, 0x00], /offset 0/],
    ["offset before the data", [0x10, 0x61, 5, 0, 0x00], /offset 5 points before the data/],
    ["literals past the block", [0x50, 0x61], /literals run past the block/],
    ["output past the block maximum", [0x1f, 0x61, 1, 0, 0xff, 0xff, 0x00], /exceeds the block maximum/],
    ["length run past the block", [0xf0, 0xff], /literal length runs past the block/],
  ])("%s", (_what, bytes, msg) => {
    expect(() => lz4Block(Uint8Array.from(bytes), out(), 0, 64, "b")).toThrow(msg);
    expect(() => lz4Block(Uint8Array.from(bytes), out(), 0, 64, "b")).toThrow(MalformedError);
  });
});

describe("every single-byte corruption of a fixture ends in data or a MalformedError, never a hang", () => {
  it.each([
    ["lzma.joblib", (b: Buffer) => lzmaChunks(new BufferSource(b), 1 << 20, scan(), "l")],
    ["lz4.joblib", (b: Buffer) => lz4Chunks(new BufferSource(b), 1 << 20, scan(), "l")],
  ] as const)("%s", async (name, decode) => {
    const data = file(name);
    for (let at = 0; at < data.length; at++) {
      const bad = Buffer.from(data);
      bad[at] = bad[at]! ^ 0x5a;
      await all(decode(bad)).catch((e: unknown) => expect(e).toBeInstanceOf(MalformedError));
    }
  });
});
