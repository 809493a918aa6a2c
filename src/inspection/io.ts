import { open, type FileHandle } from "node:fs/promises";
import { MalformedError } from "./verdict.ts";

/** Random access to bytes that may be far larger than memory. */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `length` bytes; fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Sources that cannot read at an offset cheaply (a compressed archive member, inflated from its
   * start for each read) hold bytes `start` to `end` in memory for the many reads that follow.
   */
  keep?(start: number, end: number): Promise<void>;
}

export class FileSource implements ByteSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, "r");
    try {
      const st = await fh.stat();
      return new FileSource(fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    if (n === 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === n ? buf : buf.subarray(0, got);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

export class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve(this.buf.subarray(offset, Math.min(this.buf.length, offset + length)));
  }
}

/** A forward-only byte stream: files, decompressors and archive members all look like this. */
export interface ChunkSource {
  next(): Promise<Buffer | null>;
  /** Discards up to n bytes; returns how many were actually skipped. */
  skip(n: number): Promise<number>;
}

const CHUNK = 1 << 20;

export function rangeChunks(src: ByteSource, start = 0, end = src.size): ChunkSource {
  let pos = start;
  return {
    async next() {
      if (pos >= end) return null;
      const buf = await src.read(pos, Math.min(CHUNK, end - pos));
      if (buf.length === 0) return null;
      pos += buf.length;
      return buf;
    },
    skip(n: number) {
      const k = Math.min(n, end - pos);
      pos += k;
      return Promise.resolve(k);
    },
  };
}

/** Adapts an async iterable of chunks (a decompressor, a zip entry stream) to a ChunkSource. */
export function iterableChunks(it: AsyncIterable<Buffer>): ChunkSource {
  const iter = it[Symbol.asyncIterator]();
  let pending: Buffer | null = null;
  return {
    async next() {
      if (pending) {
        const p = pending;
        pending = null;
        return p;
      }
      const r = await iter.next();
      return r.done ? null : r.value;
    },
    async skip(n: number) {
      let left = n;
      while (left > 0) {
        const c = pending ?? (await iter.next().then((r) => (r.done ? null : r.value)));
        pending = null;
        if (!c) break;
        if (c.length > left) {
          pending = c.subarray(left);
          left = 0;
        } else left -= c.length;
      }
      return n - left;
    },
  };
}

/**
 * Sequential reader with a small window. Parsers call `need(n)` only when `has(n)` is false, so the
 * hot path of an opcode walk stays synchronous.
 */
export class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  private eof = false;

  constructor(
    private readonly src: ChunkSource,
    readonly label: string,
    startOffset = 0,
  ) {
    this.bufStart = startOffset;
    this.pos = startOffset;
  }

  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Ensures n bytes are buffered at pos; throws MalformedError at end of input. */
  async need(n: number): Promise<void> {
    while (!this.has(n)) {
      const chunk = this.eof ? null : await this.src.next();
      if (!chunk) {
        this.eof = true;
        throw new MalformedError(
          `unexpected end of data (needed ${n} bytes)`,
          `${this.label}@offset ${this.pos}`,
        );
      }
      const keep = this.buf.subarray(this.pos - this.bufStart);
      this.buf = keep.length ? Buffer.concat([keep, chunk]) : chunk;
      this.bufStart = this.pos;
    }
  }

  /** True if at least one more byte exists. */
  async more(): Promise<boolean> {
    if (this.has(1)) return true;
    try {
      await this.need(1);
      return true;
    } catch {
      return false;
    }
  }

  async skip(n: number): Promise<void> {
    const inBuf = this.bufStart + this.buf.length - this.pos;
    if (n <= inBuf) {
      this.pos += n;
      return;
    }
    const rest = n - inBuf;
    this.pos += inBuf;
    this.buf = Buffer.alloc(0);
    this.bufStart = this.pos;
    const k = await this.src.skip(rest);
    this.pos += k;
    this.bufStart = this.pos;
    if (k < rest) {
      this.eof = true;
      throw new MalformedError(
        `unexpected end of data (skipping ${n} bytes)`,
        `${this.label}@offset ${this.pos}`,
      );
    }
  }

  // The accessors below assume the caller has made the bytes available with need().
  u8(): number {
    return this.buf[this.pos++ - this.bufStart]!;
  }
  peekU8(): number {
    return this.buf[this.pos - this.bufStart]!;
  }
  /** The next n bytes decoded as text, without a Buffer view of them. */
  text(n: number, enc: BufferEncoding): string {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.toString(enc, o, o + n);
  }
  bytes(n: number): Buffer {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos - this.bufStart);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    this.pos += 8;
    return v;
  }
  /** Index of the next `byte` within the buffered window, or -1. */
  indexOf(byte: number): number {
    const i = this.buf.indexOf(byte, this.pos - this.bufStart);
    return i < 0 ? -1 : i - (this.pos - this.bufStart);
  }
  /** Reads a line terminated by \n (text opcodes in pickle protocol 0), capped at `max` bytes. */
  async line(max: number): Promise<string> {
    for (;;) {
      const i = this.indexOf(0x0a);
      if (i >= 0) {
        const s = this.bytes(i).toString("latin1");
        this.pos += 1;
        return s;
      }
      const avail = this.bufStart + this.buf.length - this.pos;
      if (avail > max)
        throw new MalformedError(`text line longer than ${max} bytes`, `${this.label}@offset ${this.pos}`);
      await this.need(avail + 1);
    }
  }
}

export function toSafeNumber(v: bigint, what: string, location: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new MalformedError(`${what} is implausibly large (${v})`, location);
  return Number(v);
}

/** Decodes bytes as UTF-8, returning null when they are not valid UTF-8. */
export function strictUtf8(buf: Buffer): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

export function truncate(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
