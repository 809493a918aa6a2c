import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { hash as xxh32 } from "lz4js/xxh32.js";
import type * as XzDecompress from "xz-decompress";
import type { ByteSource } from "./io.ts";
import { LzmaAloneDecoder } from "./lzma.ts";
import { MalformedError, type Scan } from "./verdict.ts";

/**
 * Streaming, bounded decoders for joblib's xz, lzma (LZMA-alone) and lz4 (frame) compression.
 * Each yields decompressed chunks and throws MalformedError once the output passes `cap` (a
 * decompression bomb) or the input is corrupt or truncated; callers check their deadline between
 * chunks (every chunk is at most ~1 MiB, or one lz4 block of at most 4 MiB).
 */

const STEP = 1 << 20;

function bomb(kind: string, cap: number, label: string): MalformedError {
  return new MalformedError(
    `${kind} stream inflates past the cap of ${cap} bytes (decompression bomb?)`,
    label,
  );
}

const require = createRequire(import.meta.url);

/** xz-embedded's enum xz_ret, as xz-decompress reports it ("... failed with error code N"). */
const XZ_ERRORS: Record<string, string> = {
  "2": "unsupported integrity check",
  "3": "out of memory",
  "4": "dictionary larger than the decoder allows (64 MiB; joblib's presets use at most 64 MiB)",
  "5": "not an xz stream",
  "6": "unsupported options (filter chain)",
  "7": "corrupt data",
  "8": "truncated (input ended before the end of the stream)",
};

function xzError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = /error code (\d+)/.exec(msg)?.[1];
  if (!code || !XZ_ERRORS[code]) return `corrupt xz stream: ${msg}`;
  // limits of the decoder (dictionaries over 64 MiB, SHA-256 checks) are not corruption
  return ["5", "7", "8"].includes(code)
    ? `corrupt xz stream: ${XZ_ERRORS[code]}`
    : `xz stream not decoded: ${XZ_ERRORS[code]}`;
}

/**
 * xz: xz-embedded compiled to WebAssembly (xz-decompress), fed as a web stream from the file at
 * `input` (a path) or from a stream of its bytes (an archive member).
 */
export async function* xzChunks(
  input: string | Readable,
  cap: number,
  scan: Scan,
  label: string,
): AsyncGenerator<Buffer> {
  const { XzReadableStream } = require("xz-decompress") as typeof XzDecompress;
  const file = typeof input === "string" ? createReadStream(input, { highWaterMark: 1 << 16 }) : input;
  const web = Readable.toWeb(file) as unknown as ReadableStream<Uint8Array>;
  const xz = new XzReadableStream(web) as unknown as WebReadableStream<Uint8Array>;
  const reader = xz.getReader();
  let got = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        throw new MalformedError(xzError(err), label);
      }
      if (r.done) return;
      got += r.value.length;
      if (got > cap) throw bomb("xz", cap, label);
      scan.checkClock();
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    }
  } finally {
    void reader.cancel().catch(() => undefined);
    file.destroy();
  }
}

/** lzma (LZMA-alone): our own decoder (./lzma.ts), fed 1 MiB of the file at a time. */
export async function* lzmaChunks(
  src: ByteSource,
  cap: number,
  scan: Scan,
  label: string,
): AsyncGenerator<Buffer> {
  let pos = 0;
  const next = async (): Promise<Buffer | null> => {
    if (pos >= src.size) return null;
    const b = await src.read(pos, STEP);
    pos += b.length;
    return b.length ? b : null;
  };
  const dec = new LzmaAloneDecoder((await next()) ?? Buffer.alloc(0), cap, label);
  if (dec.header.unpackSize !== null && dec.header.unpackSize > cap) throw bomb("lzma", cap, label);
  while (!dec.finished) {
    if (dec.needsInput()) {
      dec.feed(await next());
      continue;
    }
    const out = dec.decode(STEP);
    if (dec.totalOut > cap) throw bomb("lzma", cap, label);
    scan.checkClock();
    if (out.length) yield out;
  }
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX: Record<number, number> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 };
const LZ4_HISTORY = 1 << 16;

/**
 * One LZ4 block (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) decoded into
 * out[start, limit), with matches allowed to reach back to out[0] (linked blocks keep the previous
 * 64 KiB there). Every length and offset is checked: a bad block throws instead of reading or
 * writing out of bounds, and a block can never produce more than its frame's block maximum.
 */
export function lz4Block(
  src: Uint8Array,
  out: Uint8Array,
  start: number,
  limit: number,
  label: string,
): number {
  let s = 0;
  let d = start;
  const end = src.length;
  const bad = (why: string) => new MalformedError(`corrupt lz4 block: ${why}`, label);
  while (s < end) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= end) throw bad("literal length runs past the block");
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (s + lit > end) throw bad("literals run past the block");
    if (d + lit > limit) throw bad("output exceeds the block maximum size");
    out.set(src.subarray(s, s + lit), d);
    s += lit;
    d += lit;
    if (s === end) break; // the last sequence has literals only
    if (s + 2 > end) throw bad("match offset runs past the block");
    const off = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (off === 0 || off > d) throw bad(`match offset ${off} points before the data`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (s >= end) throw bad("match length runs past the block");
        b = src[s++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (d + len > limit) throw bad("output exceeds the block maximum size");
    if (off >= len) out.copyWithin(d, d - off, d - off + len);
    else for (let i = 0; i < len; i++) out[d + i] = out[d - off + i]!;
    d += len;
  }
  return d - start;
}

/** lz4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), block by block. */
export async function* lz4Chunks(
  src: ByteSource,
  cap: number,
  scan: Scan,
  label: string,
): AsyncGenerator<Buffer> {
  let pos = 0;
  let got = 0;
  const bad = (why: string) => new MalformedError(`corrupt lz4 frame: ${why}`, label);
  const readExactly = async (n: number, what: string): Promise<Buffer> => {
    const b = await src.read(pos, n);
    if (b.length < n) throw new MalformedError(`lz4 stream truncated (${what})`, label);
    pos += n;
    return b;
  };
  let frames = 0;
  while (pos < src.size) {
    const magic = (await readExactly(4, "frame magic")).readUInt32LE(0);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      pos += (await readExactly(4, "skippable frame size")).readUInt32LE(0);
      continue;
    }
    if (magic !== LZ4_MAGIC) {
      if (frames > 0) throw bad(`data after the last frame (magic 0x${magic.toString(16)})`);
      throw bad(`bad magic 0x${magic.toString(16)}`);
    }
    frames++;
    const descStart = pos;
    const fd = await readExactly(2, "frame descriptor");
    const flg = fd[0]!;
    const bd = fd[1]!;
    if (flg >>> 6 !== 1) throw bad(`unsupported version ${flg >>> 6}`);
    if (flg & 0x02 || bd & 0x8f) throw bad("reserved bits set in the frame descriptor");
    const independent = (flg & 0x20) !== 0;
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    if (flg & 0x01) throw bad("frames with a dictionary id are not supported");
    const blockMax = LZ4_BLOCK_MAX[(bd >>> 4) & 7];
    if (!blockMax) throw bad(`reserved block maximum size ${(bd >>> 4) & 7}`);
    if (contentSize) {
      const declared = (await readExactly(8, "content size")).readBigUInt64LE(0);
      if (declared > BigInt(cap)) throw bomb("lz4", cap, label);
    }
    const desc = await src.read(descStart, pos - descStart);
    const hc = (await readExactly(1, "header checksum"))[0]!;
    if (((xxh32(0, desc, 0, desc.length) >>> 8) & 0xff) !== hc) throw bad("header checksum mismatch");
    const hist = independent ? 0 : LZ4_HISTORY;
    const out = new Uint8Array(hist + blockMax);
    let kept = 0; // history bytes currently at out[hist - kept, hist)
    for (;;) {
      const word = (await readExactly(4, "block size")).readUInt32LE(0);
      if (word === 0) break; // EndMark
      const size = word & 0x7fffffff;
      if (size > blockMax) throw bad(`block of ${size} bytes exceeds the frame's maximum ${blockMax}`);
      const data = await readExactly(size, "block data");
      if (blockChecksum) {
        const sum = (await readExactly(4, "block checksum")).readUInt32LE(0);
        if (xxh32(0, data, 0, data.length) !== sum) throw bad("block checksum mismatch");
      }
      let n: number;
      if (word & 0x80000000) {
        out.set(data, hist);
        n = size;
      } else {
        // matches may reach into the kept history, never before it
        const view = out.subarray(hist - kept);
        n = lz4Block(data, view, kept, kept + blockMax, label);
      }
      got += n;
      if (got > cap) throw bomb("lz4", cap, label);
      scan.checkClock();
      yield Buffer.from(out.subarray(hist, hist + n));
      if (hist) {
        // keep the last 64 KiB of output (previous history + this block) for the next block
        const total = kept + n;
        const keep = Math.min(LZ4_HISTORY, total);
        const from = hist - kept + total - keep;
        out.copyWithin(hist - keep, from, from + keep);
        kept = keep;
      }
    }
    if (contentChecksum) await readExactly(4, "content checksum"); // not verified (see docs)
  }
  if (frames === 0) throw bad("no frame");
}
