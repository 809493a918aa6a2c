import { Readable } from "node:stream";
import yauzl from "yauzl";
import { iterableChunks, type ByteSource, type ChunkSource } from "./io.ts";
import { MalformedError, type Scan } from "./verdict.ts";

export interface ZipMember {
  name: string;
  size: number;
  compressedSize: number;
  method: number;
  entry: yauzl.Entry;
}

const ZIP_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and validated here, so that a hostile name becomes a finding instead of
  // aborting the whole listing inside yauzl.
  decodeStrings: false,
  validateEntrySizes: true,
};

/**
 * yauzl over any random-access source: an archive that is part of a file (after a stub or a pickle,
 * see ./polyglot.ts) or a STORED archive member too large to hold in memory. Read 1 MiB at a time.
 */
class SourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly src: ByteSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const src = this.src;
    async function* range(): AsyncGenerator<Buffer> {
      for (let at = start; at < end;) {
        const b = await src.read(at, Math.min(1 << 20, end - at));
        if (b.length === 0) throw new Error("unexpected end of archive");
        at += b.length;
        yield b;
      }
    }
    return Readable.from(range(), { objectMode: false });
  }
}

/** Bombs are only worth flagging once they are big; tiny runs of zeros compress absurdly well. */
const RATIO_MIN_BYTES = 1 << 20;

function decodeName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer | string;
  if (typeof raw === "string") return raw;
  return raw.toString(entry.generalPurposeBitFlag & 0x800 ? "utf8" : "latin1");
}

function badNameReason(name: string): string | null {
  if (name.includes("\0")) return "contains a NUL byte";
  if (name.includes("\\")) return "contains a backslash";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "is an absolute path";
  if (name.split("/").some((seg) => seg === "..")) return "contains a '..' segment";
  return null;
}

/**
 * A zip opened for inspection: the central directory is read once, hostile entries are reported
 * and dropped, and members are only ever read with a byte cap.
 */
/** Pickle members up to this size are walked in memory (SafeZip.readsPickleWhole), larger ones streamed. */
export const PICKLE_IN_MEMORY = 64 * 1024 * 1024;

export class SafeZip {
  readonly members: ZipMember[] = [];
  readonly directories: string[] = [];
  /** True when some entries were not listed (entry cap); callers must not claim a full scan. */
  truncatedListing = false;

  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly scan: Scan,
    readonly label: string,
    readonly depth: number,
  ) {}

  /**
   * `centralDirectorySize` is the size Python's zipfile reads the central directory by (./polyglot.ts):
   * zipfile lists entries until it has read that many bytes, yauzl counts the entries the end record
   * declares, so a listing that does not fill it exactly is not the listing zipfile sees.
   */
  static async open(
    input: { path: string } | { buffer: Buffer } | { source: ByteSource },
    scan: Scan,
    label: string,
    depth = 0,
    centralDirectorySize?: number,
  ): Promise<SafeZip> {
    let zf: yauzl.ZipFile;
    try {
      zf =
        "path" in input
          ? await yauzl.openPromise(input.path, ZIP_OPTIONS)
          : "buffer" in input
            ? await yauzl.fromBufferPromise(input.buffer, ZIP_OPTIONS)
            : await yauzl.fromRandomAccessReaderPromise(
                new SourceReader(input.source),
                input.source.size,
                ZIP_OPTIONS,
              );
    } catch (err) {
      throw new MalformedError(
        `not a readable zip archive: ${err instanceof Error ? err.message : String(err)}`,
        label,
      );
    }
    const z = new SafeZip(zf, scan, label, depth);
    try {
      await z.list(centralDirectorySize);
    } catch (err) {
      z.close();
      throw err;
    }
    return z;
  }

  private async list(centralDirectorySize: number | undefined): Promise<void> {
    const { limits } = this.scan;
    if (this.zip.entryCount > limits.maxArchiveEntries) {
      this.scan.incomplete(
        `Incomplete scan: archive declares ${this.zip.entryCount} entries, more than the cap of ${limits.maxArchiveEntries}`,
        this.label,
      );
      this.truncatedListing = true;
    }
    const seen = new Set<string>();
    const spans: { start: number; end: number; name: string }[] = [];
    let total = 0;
    let count = 0;
    let listed = 0;
    try {
      for await (const entry of this.zip.eachEntry()) {
        this.scan.tick();
        if (++count > limits.maxArchiveEntries) break;
        listed += 46 + entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength;
        const name = decodeName(entry);
        const where = `${this.label}:${name}`;
        const why = badNameReason(name);
        if (why) {
          this.scan.add(
            "HIGH",
            `Archive entry name ${JSON.stringify(name.slice(0, 200))} ${why} (path traversal)`,
            where,
          );
          continue;
        }
        if (seen.has(name))
          this.scan.add(
            "MEDIUM",
            `Archive has duplicate entry ${JSON.stringify(name)}; readers disagree on which one wins`,
            where,
          );
        seen.add(name);
        spans.push({
          start: entry.relativeOffsetOfLocalHeader,
          end: entry.relativeOffsetOfLocalHeader + 30 + entry.compressedSize,
          name,
        });
        if (name.endsWith("/")) {
          this.directories.push(name);
          continue;
        }
        total += entry.uncompressedSize;
        if (
          entry.uncompressedSize >= RATIO_MIN_BYTES &&
          entry.uncompressedSize > limits.maxCompressionRatio * Math.max(1, entry.compressedSize)
        ) {
          this.scan.add(
            "HIGH",
            `Archive entry expands ${entry.compressedSize} → ${entry.uncompressedSize} bytes, beyond the ratio cap of ${limits.maxCompressionRatio} (zip bomb)`,
            where,
          );
          continue;
        }
        if (entry.isEncrypted()) {
          this.scan.incomplete(`Incomplete scan: archive entry is encrypted`, where);
          continue;
        }
        this.members.push({
          name,
          size: entry.uncompressedSize,
          compressedSize: entry.compressedSize,
          method: entry.compressionMethod,
          entry,
        });
      }
    } catch (err) {
      throw new MalformedError(
        `corrupt zip central directory: ${err instanceof Error ? err.message : String(err)}`,
        this.label,
      );
    }
    if (centralDirectorySize !== undefined && !this.truncatedListing && listed !== centralDirectorySize)
      this.scan.incomplete(
        `Incomplete scan: ZIP readers disagree on this archive: its ${count} listed entries take ${listed} bytes of central directory, the end record declares ${centralDirectorySize} (Python's zipfile reads entries until the declared size, other readers count the declared entries)`,
        this.label,
      );
    if (total > limits.maxArchiveTotalBytes)
      this.scan.add(
        "HIGH",
        `Archive declares ${total} uncompressed bytes, more than the cap of ${limits.maxArchiveTotalBytes}`,
        this.label,
      );
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1]!;
      const cur = spans[i]!;
      if (cur.start < prev.end) {
        this.scan.add(
          "HIGH",
          `Archive entries ${JSON.stringify(prev.name)} and ${JSON.stringify(cur.name)} overlap (overlapping-entry zip bomb)`,
          this.label,
        );
        break;
      }
    }
  }

  /** The first entry of this name (the one most readers other than Python's zipfile take). */
  find(name: string): ZipMember | undefined {
    return this.members.find((m) => m.name === name);
  }

  /**
   * Every entry of this name, in archive order. A name may repeat and readers disagree on which
   * entry wins (Python's zipfile and unzip take the last), so a layout's file is read in every copy.
   */
  findAll(name: string): ZipMember[] {
    return this.members.filter((m) => m.name === name);
  }

  private async stream(m: ZipMember, start?: number, end?: number): Promise<Readable> {
    if (m.method !== 0 && m.method !== 8)
      throw new MalformedError(
        `archive entry uses unsupported compression method ${m.method}`,
        `${this.label}:${m.name}`,
      );
    try {
      return await this.zip.openReadStreamPromise(
        m.entry,
        start !== undefined && m.method === 0 ? { start, end } : {},
      );
    } catch (err) {
      throw new MalformedError(
        `cannot open archive entry: ${err instanceof Error ? err.message : String(err)}`,
        `${this.label}:${m.name}`,
      );
    }
  }

  /**
   * Whether a pickle member is walked from memory (read whole) rather than streamed through the
   * inflater: at most PICKLE_IN_MEMORY, within the member cap, and within what the held budget has
   * left. A member over any of them is streamed, never refused for its size.
   */
  readsPickleWhole(m: ZipMember): boolean {
    const { maxMemberBytes, maxHeldBytes } = this.scan.limits;
    return (
      m.size <= PICKLE_IN_MEMORY && m.size <= maxMemberBytes && this.scan.heldMark() + m.size <= maxHeldBytes
    );
  }

  /**
   * Reads a whole member, refusing anything above `cap` (declared or actual). Its bytes count
   * against the scan's held budget until the scope that read it releases them (Scan.releaseHeld).
   */
  async read(m: ZipMember, cap = this.scan.limits.maxMemberBytes): Promise<Buffer> {
    const where = `${this.label}:${m.name}`;
    if (m.size > cap)
      throw new MalformedError(`archive entry of ${m.size} bytes exceeds the in-memory cap of ${cap}`, where);
    this.scan.hold(m.size, where);
    return this.collect(m, cap);
  }

  /**
   * A member's bytes (or bytes `start` to `end` of a STORED one) in one buffer, refusing more than
   * `cap` inflated; a stream that fails is a corrupt entry. The buffer is allocated once at the
   * declared length (yauzl checks the entry really has it), not gathered and copied again.
   */
  private async collect(m: ZipMember, cap: number, start?: number, end?: number): Promise<Buffer> {
    const where = `${this.label}:${m.name}`;
    const expected = start !== undefined && end !== undefined ? end - start : m.size;
    if (expected > cap)
      throw new MalformedError(`archive entry inflates past the cap of ${cap} bytes`, where);
    const rs = await this.stream(m, start, end);
    const out = Buffer.allocUnsafe(expected);
    let got = 0;
    try {
      for await (const chunk of rs as AsyncIterable<Buffer>) {
        if (got + chunk.length > expected)
          throw new MalformedError(`archive entry holds more than its declared ${expected} bytes`, where);
        chunk.copy(out, got);
        got += chunk.length;
        this.scan.tick();
      }
    } catch (err) {
      if (err instanceof MalformedError) throw err;
      throw new MalformedError(
        `corrupt archive entry: ${err instanceof Error ? err.message : String(err)}`,
        where,
      );
    } finally {
      rs.destroy();
    }
    return got === expected ? out : out.subarray(0, got);
  }

  /** First bytes of a member, without inflating the rest. */
  async peek(m: ZipMember, n: number): Promise<Buffer> {
    if (m.size === 0) return Buffer.alloc(0);
    const rs = await this.stream(m, 0, Math.min(n, m.size));
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const chunk of rs as AsyncIterable<Buffer>) {
        parts.push(chunk);
        got += chunk.length;
        if (got >= n) break;
      }
    } catch (err) {
      throw new MalformedError(
        `corrupt archive entry: ${err instanceof Error ? err.message : String(err)}`,
        `${this.label}:${m.name}`,
      );
    } finally {
      rs.destroy();
    }
    return Buffer.concat(parts).subarray(0, n);
  }

  /**
   * Random access to a STORED (uncompressed) member without holding it in memory, for inspectors
   * that read headers and ranges only; null for a compressed member, which can only be streamed.
   */
  source(m: ZipMember): ByteSource | null {
    if (m.method !== 0) return null;
    return {
      size: m.size,
      read: async (offset: number, length: number): Promise<Buffer> => {
        const n = Math.max(0, Math.min(length, m.size - offset));
        if (offset < 0 || n === 0) return Buffer.alloc(0);
        return this.collect(m, n, offset, offset + n);
      },
    };
  }

  /**
   * Random access to any member for reading its end, as ./polyglot.ts does: a STORED member in
   * place; a compressed one is inflated once to keep its last bytes (the end-of-central-directory
   * search window and the ZIP64 records before it), and again from its start for any other range,
   * one pass per read; `keep` holds a range in memory (counted against the held budget) for the
   * many reads of an archive found there. Past the decompression cap its end cannot be reached.
   */
  async tailSource(m: ZipMember, tail: number): Promise<ByteSource> {
    const stored = this.source(m);
    if (stored) return stored;
    const where = `${this.label}:${m.name}`;
    const cap = this.scan.limits.maxDecompressedBytes;
    if (m.size > cap)
      throw new MalformedError(
        `compressed archive entry of ${m.size} bytes inflates past the cap of ${cap} bytes; its end cannot be read`,
        where,
      );
    const kept: { start: number; bytes: Buffer }[] = [];
    const slice = (start: number, end: number) => this.inflateRange(m, start, end);
    const tailStart = Math.max(0, m.size - tail);
    kept.push({ start: tailStart, bytes: await slice(tailStart, m.size) });
    const scan = this.scan;
    return {
      size: m.size,
      async read(offset: number, length: number): Promise<Buffer> {
        const end = Math.min(m.size, offset + length);
        if (offset < 0 || end <= offset) return Buffer.alloc(0);
        const k = kept.find((r) => r.start <= offset && end <= r.start + r.bytes.length);
        if (k) return k.bytes.subarray(offset - k.start, end - k.start);
        if (end - offset > 1 << 20)
          throw new MalformedError(`read of ${end - offset} bytes at ${offset} of a compressed entry`, where);
        return slice(offset, end);
      },
      async keep(start: number, end: number): Promise<void> {
        scan.hold(end - start, where);
        kept.unshift({ start, bytes: await slice(start, end) });
      },
    };
  }

  /** Bytes `start` to `end` of a member, inflating it from its start (the only way into a compressed one). */
  private async inflateRange(m: ZipMember, start: number, end: number): Promise<Buffer> {
    const where = `${this.label}:${m.name}`;
    const rs = await this.stream(m);
    const out = Buffer.allocUnsafe(end - start);
    let at = 0;
    try {
      for await (const chunk of rs as AsyncIterable<Buffer>) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + chunk.length);
        if (from < to) chunk.copy(out, from - start, from - at, to - at);
        at += chunk.length;
        this.scan.tick();
        if (at >= end) break;
      }
    } catch (err) {
      throw new MalformedError(
        `corrupt archive entry: ${err instanceof Error ? err.message : String(err)}`,
        where,
      );
    } finally {
      rs.destroy();
    }
    if (at < end) throw new MalformedError(`archive entry ends at ${at}, before byte ${end}`, where);
    return out;
  }

  /** Streams a member with the decompression cap applied; `close` must be called when done. */
  async chunks(m: ZipMember): Promise<{ src: ChunkSource; close: () => void }> {
    const rs = await this.stream(m);
    const cap = this.scan.limits.maxDecompressedBytes;
    const where = `${this.label}:${m.name}`;
    async function* capped(): AsyncGenerator<Buffer> {
      let got = 0;
      try {
        for await (const chunk of rs as AsyncIterable<Buffer>) {
          got += chunk.length;
          if (got > cap)
            throw new MalformedError(`archive entry inflates past the cap of ${cap} bytes`, where);
          yield chunk;
        }
      } catch (err) {
        if (err instanceof MalformedError) throw err;
        throw new MalformedError(
          `corrupt archive entry: ${err instanceof Error ? err.message : String(err)}`,
          where,
        );
      }
    }
    return { src: iterableChunks(capped()), close: () => rs.destroy() };
  }

  close(): void {
    this.zip.close();
  }
}

/** The single top-level folder every member lives in (PyTorch writes `<name>/...`), if any. */
export function commonRoot(names: readonly string[]): string | null {
  let root: string | null = null;
  for (const n of names) {
    const i = n.indexOf("/");
    if (i < 0) return null;
    const r = n.slice(0, i);
    if (root === null) root = r;
    else if (root !== r) return null;
  }
  return root;
}
