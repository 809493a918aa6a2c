import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import Bunzip from "seek-bzip";
import { lz4Chunks, lzmaChunks, xzChunks } from "./codecs.ts";
import {
  BufferSource,
  Cursor,
  iterableChunks,
  rangeChunks,
  type ByteSource,
  type ChunkSource,
} from "./io.ts";
import {
  globalName,
  producerFromImports,
  reportImports,
  reportPlainLoadReading,
  walkPickleStream,
  walkTorchBlobs,
  type PickleWalk,
} from "./pickle.ts";
import type { Report } from "./report.ts";
import { MalformedError, type Scan } from "./verdict.ts";

export type Compression = "zlib" | "gzip" | "bz2" | "xz" | "lzma" | "lz4";

export function compressionOf(head: Buffer): Compression | null {
  const b0 = head[0];
  const b1 = head[1];
  if (b0 === 0x78 && (b1 === 0x01 || b1 === 0x5e || b1 === 0x9c || b1 === 0xda)) return "zlib";
  if (b0 === 0x1f && b1 === 0x8b) return "gzip";
  if (b0 === 0x42 && b1 === 0x5a && head[2] === 0x68) return "bz2";
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  if (b0 === 0x5d && b1 === 0x00 && head[2] === 0x00) return "lzma";
  if (head.subarray(0, 4).equals(Buffer.from([0x04, 0x22, 0x4d, 0x18]))) return "lz4";
  return null;
}

/** The compressed bytes as a node stream: read from the file when there is one, else from `src`. */
function compressedStream(path: string | null, src: ByteSource): Readable {
  if (path !== null) return createReadStream(path);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < src.size;) {
      const b = await src.read(pos, 1 << 20);
      if (b.length === 0) return;
      pos += b.length;
      yield b;
    }
  }
  return Readable.from(chunks());
}

/**
 * Decompressed bytes as a stream, capped at maxDecompressedBytes so a bomb ends the scan instead
 * of the server. Every codec joblib writes is decoded: zlib/gzip (node:zlib), bz2 (seek-bzip),
 * xz (xz-decompress, WebAssembly), lzma (LZMA-alone, ./lzma.ts) and lz4 (frame format, ./codecs.ts).
 * `path` is the file `src` reads, or null when `src` is not a file (an archive member in memory).
 */
export async function decompressed(
  path: string | null,
  src: ByteSource,
  kind: Compression,
  scan: Scan,
  label: string,
): Promise<{ chunks: ChunkSource; close: () => void }> {
  const cap = scan.limits.maxDecompressedBytes;
  if (kind === "zlib" || kind === "gzip") {
    const file = compressedStream(path, src);
    const z = kind === "zlib" ? createInflate() : createGunzip();
    file.on("error", (e) => z.destroy(e));
    file.pipe(z);
    async function* capped(): AsyncGenerator<Buffer> {
      let got = 0;
      try {
        for await (const chunk of z as AsyncIterable<Buffer>) {
          got += chunk.length;
          if (got > cap)
            throw new MalformedError(
              `${kind} stream inflates past the cap of ${cap} bytes (decompression bomb?)`,
              label,
            );
          yield chunk;
        }
      } catch (err) {
        if (err instanceof MalformedError) throw err;
        throw new MalformedError(
          `corrupt ${kind} stream: ${err instanceof Error ? err.message : String(err)}`,
          label,
        );
      }
    }
    return {
      chunks: iterableChunks(capped()),
      close: () => {
        file.destroy();
        z.destroy();
      },
    };
  }
  if (kind === "bz2") {
    if (src.size > scan.limits.maxMemberBytes)
      throw new MalformedError(`bz2 input of ${src.size} bytes exceeds the in-memory cap`, label);
    const input = await src.read(0, src.size);
    const out: Buffer[] = [];
    let block = Buffer.allocUnsafe(1 << 16);
    let n = 0;
    let total = 0;
    const sink = {
      writeByte(b: number) {
        if (n === block.length) {
          out.push(block);
          block = Buffer.allocUnsafe(1 << 16);
          n = 0;
        }
        block[n++] = b;
        if (++total > cap)
          throw new MalformedError(`bz2 stream inflates past the cap of ${cap} bytes`, label);
        if ((total & 0xfffff) === 0) scan.checkClock();
      },
    };
    try {
      Bunzip.decode(input, sink, true);
    } catch (err) {
      if (err instanceof MalformedError || (err instanceof Error && err.name === "BudgetExceededError"))
        throw err;
      throw new MalformedError(
        `corrupt bz2 stream: ${err instanceof Error ? err.message : String(err)}`,
        label,
      );
    }
    out.push(block.subarray(0, n));
    return { chunks: rangeChunks(new BufferSource(Buffer.concat(out))), close: () => undefined };
  }
  const gen =
    kind === "xz"
      ? xzChunks(path ?? compressedStream(null, src), cap, scan, label)
      : kind === "lzma"
        ? lzmaChunks(src, cap, scan, label)
        : lz4Chunks(src, cap, scan, label);
  return {
    chunks: iterableChunks(gen),
    close: () => {
      void gen.return(undefined);
    },
  };
}

/**
 * True when a walk met joblib's NumpyArrayWrapper and read what follows its BUILD as joblib does
 * (raw array bytes, or an object array's nested pickle with a memo of its own). pickle.load reads
 * those bytes differently (raw bytes as opcodes; a nested pickle as more opcodes of the outer one,
 * sharing its memo), so such a file needs the second, plain reading as well.
 */
export function readsJoblibArrays(walks: readonly PickleWalk[]): boolean {
  return walks.some(
    (w) =>
      w.rawJoblibArrays > 0 ||
      w.nestedPickles > 0 ||
      w.imports.some((i) => i.module === "joblib.numpy_pickle" && i.name === "NumpyArrayWrapper"),
  );
}

export function isJoblibWalk(walks: readonly PickleWalk[]): boolean {
  return walks.some((w) => w.imports.some((i) => i.module === "joblib" || i.module.startsWith("joblib.")));
}

function rootClass(walks: readonly PickleWalk[]): string | null {
  const r = walks[0]?.root;
  if (!r) return null;
  if (r.t === "call") return globalName(r.fn) ?? (r.fn.t === "global" ? null : "object");
  return r.t;
}

/** Plain pickle and joblib share this: walk every pickle in the stream, grade imports, summarise. */
export async function inspectPickleStream(
  chunks: ChunkSource,
  scan: Scan,
  label: string,
  nameSaysJoblib: boolean,
  extra: Record<string, unknown> = {},
  /** The file itself, when it is not compressed: read again for what pickle.load would see. */
  src?: ByteSource,
): Promise<Report> {
  const res = await walkPickleStream(new Cursor(chunks, label), scan);
  const torchBlobsWalked = src ? await walkTorchBlobs(src, res.walks, scan, label) : false;
  const imports = reportImports(scan, res.walks, label, { torchBlobsWalked });
  // An uncompressed file can be handed to pickle.load as well as to joblib.load.
  if (src && readsJoblibArrays(res.walks))
    await reportPlainLoadReading(new Cursor(rangeChunks(src), label), scan, label, src);
  const joblib = isJoblibWalk(res.walks) || nameSaysJoblib || "compression" in extra;
  const sk = res.walks.map((w) => w.sklearnVersion).find((v) => v !== null) ?? null;
  const protocol = res.walks[0]?.protocol ?? null;
  return {
    format: joblib ? "JOBLIB" : "PICKLE",
    formatVersion: protocol === null ? null : String(protocol),
    producer: producerFromImports(imports, sk),
    metadata: {
      ...extra,
      protocol,
      pickleCount: res.walks.length,
      opcodeCount: res.walks.reduce((a, w) => a + w.ops, 0),
      imports,
      rootClass: rootClass(res.walks),
      numpyArrays: res.walks.reduce((a, w) => a + w.numpyArrays, 0),
      complete: res.complete,
    },
    signature: null,
  };
}

export async function inspectCompressedJoblib(
  path: string | null,
  src: ByteSource,
  kind: Compression,
  scan: Scan,
  label: string,
): Promise<Report> {
  const d = await decompressed(path, src, kind, scan, label);
  try {
    const c = new Cursor(d.chunks, `${label}[${kind}]`);
    await c.need(1);
    const b = c.peekU8();
    if (b !== 0x80 && b !== 0x28 && b !== 0x63 && b !== 0x7d && b !== 0x5d)
      scan.add(
        "MEDIUM",
        `${kind} stream does not decompress to a pickle (first byte 0x${b.toString(16)})`,
        label,
      );
    const res = await walkPickleStream(c, scan);
    const imports = reportImports(scan, res.walks, `${label}[${kind}]`);
    const sk = res.walks.map((w) => w.sklearnVersion).find((v) => v !== null) ?? null;
    const protocol = res.walks[0]?.protocol ?? null;
    return {
      format: "JOBLIB",
      formatVersion: protocol === null ? null : String(protocol),
      producer: producerFromImports(imports, sk),
      metadata: {
        compression: kind,
        decompressedBytes: c.pos,
        protocol,
        pickleCount: res.walks.length,
        opcodeCount: res.walks.reduce((a, w) => a + w.ops, 0),
        imports,
        rootClass: rootClass(res.walks),
        numpyArrays: res.walks.reduce((a, w) => a + w.numpyArrays, 0),
        complete: res.complete,
      },
      signature: null,
    };
  } finally {
    d.close();
  }
}

export function plainChunks(src: ByteSource): ChunkSource {
  return rangeChunks(src);
}
