// Scan throughput of compressed joblib files, one codec against another on the same content, in the
// same run: zlib (node:zlib, the baseline), gzip, bz2 (seek-bzip), xz (xz-decompress, WebAssembly),
// lzma (our LZMA-alone decoder) and lz4 (our frame parser and block decoder). The content is a
// pickle of 32 MiB of float32 values with some structure (so every codec compresses it, none
// trivially), compressed by Python's own modules as joblib does. Each figure is decompressed MiB
// per second of a whole inspection (decompression + pickle walk), in process, best of `repeat`
// rounds that interleave the codecs.
// Needs python3 with lz4 for the lz4 file (Debian python3-lz4); a codec it cannot write is left out.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectArtifactInProcess } from "../src/inspection/index.ts";
import { compare, figure } from "./support.ts";
import type { Comparison, Figure } from "./support.ts";

const CODECS = ["zlib", "gzip", "bz2", "xz", "lzma", "lz4"] as const;

const WRITER = `
import bz2, gzip, lzma, os, pickle, struct, sys, zlib, math
out, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 // 4
vals = [round(math.sin(i / 50.0) * 100) / 100 for i in range(4096)]
block = struct.pack("<4096f", *vals)
data = pickle.dumps(b"".join(block[(i * 7) % 64 * 4:] + block[:(i * 7) % 64 * 4] for i in range(n // 4096)), protocol=4)
open(os.path.join(out, "plain"), "wb").write(data)
open(os.path.join(out, "zlib"), "wb").write(zlib.compress(data, 3))
open(os.path.join(out, "gzip"), "wb").write(gzip.compress(data, 3, mtime=0))
open(os.path.join(out, "bz2"), "wb").write(bz2.compress(data, 3))
open(os.path.join(out, "xz"), "wb").write(lzma.compress(data, format=lzma.FORMAT_XZ, preset=3))
open(os.path.join(out, "lzma"), "wb").write(lzma.compress(data, format=lzma.FORMAT_ALONE, preset=3))
try:
    import lz4.frame
    open(os.path.join(out, "lz4"), "wb").write(lz4.frame.compress(data, compression_level=3))
except ImportError:
    pass
`;

export async function benchJoblibCodecs(mib = 32, repeat = 5) {
  const dir = mkdtempSync(join(tmpdir(), "registro-bench-joblib-"));
  try {
    const python = process.env.BENCH_PYTHON ?? "python3";
    execFileSync(python, ["-c", WRITER, dir, String(mib)], { stdio: ["ignore", "ignore", "inherit"] });
    const plainBytes = statSync(join(dir, "plain")).size;
    const figures: Partial<Record<(typeof CODECS)[number], Figure>> = {};
    const sizes: Record<string, number> = {};
    const present = CODECS.filter((codec) => {
      try {
        sizes[codec] = statSync(join(dir, codec)).size;
        return true;
      } catch {
        return false;
      }
    });
    // Rounds interleave the codecs so the load of a busy machine falls on all of them alike.
    const best: Record<string, number> = {};
    for (let i = 0; i < repeat; i++)
      for (const codec of present) {
        const t0 = process.hrtime.bigint();
        const r = await inspectArtifactInProcess(join(dir, codec), "model.joblib", { timeBudgetMs: 600_000 });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        if (r.verdict !== "SAFE") throw new Error(`${codec}: ${r.verdict} ${JSON.stringify(r.findings)}`);
        if (r.metadata.decompressedBytes !== plainBytes)
          throw new Error(`${codec}: decompressed size differs`);
        best[codec] = Math.min(best[codec] ?? Infinity, s);
      }
    for (const codec of present) figures[codec] = figure(plainBytes / 1024 ** 2 / best[codec]!, "MiB/s");
    const vsZlib: Record<string, Comparison> = {};
    for (const codec of CODECS)
      if (codec !== "zlib" && figures[codec] && figures.zlib)
        vsZlib[codec] = compare(figures[codec], figures.zlib);
    return {
      decompressedMiB: Math.round((plainBytes / 1024 ** 2) * 100) / 100,
      compressedBytes: sizes,
      repeat,
      scanThroughput: figures,
      vsZlib,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
