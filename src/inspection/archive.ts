import { BufferSource, Cursor, rangeChunks } from "./io.ts";
import { inspectNumpy, NPY_MAGIC } from "./numpy.ts";
import {
  reportImports,
  reportPlainLoadReading,
  walkPickleStream,
  walkTorchBlobs,
  type PickleWalk,
} from "./pickle.ts";
import type { Scan } from "./verdict.ts";
import { SafeZip, type ZipMember } from "./zip.ts";

const PICKLE_NAMES = /\.(pkl|pickle|joblib|debug_pkl|pt|pth|bin|ckpt|sav)$/i;

export function looksLikePickleHead(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x80 && b[1]! <= 5;
}

/**
 * Members that a format-specific inspector did not already read are sniffed by content, not name:
 * a pickle renamed to `weights.bin` or hidden in a nested archive is walked all the same.
 */
export async function scanArchiveMembers(
  zip: SafeZip,
  scan: Scan,
  skip: ReadonlySet<string>,
  opts: { torchScript?: boolean } = {},
): Promise<{ pickles: number; nested: number }> {
  let pickles = 0;
  let nested = 0;
  for (const m of zip.members) {
    if (skip.has(m.name) || m.size === 0) continue;
    scan.tick();
    const where = `${zip.label}:${m.name}`;
    try {
      const head = await zip.peek(m, 8);
      if (
        looksLikePickleHead(head) ||
        (PICKLE_NAMES.test(m.name) &&
          head.length > 0 &&
          (head[0] === 0x28 || head[0] === 0x63 || head[0] === 0x7d || head[0] === 0x5d))
      ) {
        pickles++;
        await walkMemberPickle(zip, m, scan, opts.torchScript ?? false);
      } else if (head.subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1"))) {
        nested++;
        if (zip.depth + 1 > scan.limits.maxNestingDepth) {
          scan.incomplete(
            `Incomplete scan: archive nested deeper than ${scan.limits.maxNestingDepth} levels`,
            where,
          );
          continue;
        }
        const inner = await SafeZip.open({ buffer: await zip.read(m) }, scan, where, zip.depth + 1);
        try {
          await scanArchiveMembers(inner, scan, new Set(), opts);
        } finally {
          inner.close();
        }
      } else if (head.subarray(0, 6).equals(NPY_MAGIC)) {
        await inspectNumpy(new BufferSource(await zip.read(m)), scan, where);
      }
    } catch (err) {
      scan.fail(err, where);
    }
  }
  return { pickles, nested };
}

async function walkMemberPickle(zip: SafeZip, m: ZipMember, scan: Scan, torchScript: boolean): Promise<void> {
  const label = `${zip.label}:${m.name}`;
  const rawArrays = (walks: readonly PickleWalk[]) => walks.some((w) => w.rawJoblibArrays > 0);
  if (m.size <= 64 * 1024 * 1024) {
    const buf = new BufferSource(await zip.read(m));
    const res = await walkPickleStream(new Cursor(rangeChunks(buf), label), scan);
    const torchBlobsWalked = await walkTorchBlobs(buf, res.walks, scan, label);
    reportImports(scan, res.walks, label, { torchScript, torchBlobsWalked });
    if (rawArrays(res.walks))
      await reportPlainLoadReading(new Cursor(rangeChunks(buf), label), scan, label, buf);
    return;
  }
  const { src, close } = await zip.chunks(m);
  let again = false;
  try {
    const res = await walkPickleStream(new Cursor(src, label), scan);
    reportImports(scan, res.walks, label, { torchScript });
    again = rawArrays(res.walks);
  } finally {
    close();
  }
  if (!again) return;
  const second = await zip.chunks(m);
  try {
    await reportPlainLoadReading(new Cursor(second.src, label), scan, label);
  } finally {
    second.close();
  }
}
