import { detect } from "./detect.ts";
import { HDF5_MAGIC } from "./hdf5.ts";
import { BufferSource, Cursor, rangeChunks } from "./io.ts";
import { compressionOf, inspectCompressedJoblib, readsJoblibArrays } from "./joblib.ts";
import { inspectNumpy, NPY_MAGIC } from "./numpy.ts";
import { reportImports, reportPlainLoadReading, walkPickleStream, walkTorchBlobs } from "./pickle.ts";
import { looksLikeSafetensors } from "./safetensors.ts";
import type { Scan } from "./verdict.ts";
import { SafeZip, type ZipMember } from "./zip.ts";

const PICKLE_NAMES = /\.(pkl|pickle|joblib|debug_pkl|pt|pth|bin|ckpt|sav)$/i;

export function looksLikePickleHead(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x80 && b[1]! <= 5;
}

/**
 * Binary members that their layout's loader reads as data, never as a pickle: TensorFlow checkpoint
 * shards and their index, Core ML weight blobs, protobuf messages. Unrecognised bytes under any other
 * name leave the scan incomplete, as an unrecognised file does.
 */
const LAYOUT_DATA =
  /(^|\/)variables\/variables\.(index|data-\d+-of-\d+)$|(^|\/)com\.apple\.CoreML\/weights\/[^/]+\.bin$|\.pb$/;

/**
 * Members that a format-specific inspector did not already read are sniffed by content, not name,
 * with the detection of a top-level file: a pickle renamed to `weights.bin` or hidden in a nested
 * archive is walked all the same, a compressed joblib file is decompressed and walked.
 *
 * `skip` names the members a layout inspector read; it read them through `zip.find`, the first
 * entry of that name, so a later duplicate (the one Python's zipfile returns) is scanned here.
 */
export async function scanArchiveMembers(
  zip: SafeZip,
  scan: Scan,
  skip: ReadonlySet<string>,
  opts: { torchScript?: boolean } = {},
): Promise<{ pickles: number; nested: number }> {
  const counts = { pickles: 0, nested: 0 };
  for (const m of zip.members) {
    if (m.size === 0 || (skip.has(m.name) && zip.find(m.name) === m)) continue;
    scan.tick();
    try {
      await scanMember(zip, m, scan, opts.torchScript ?? false, counts);
    } catch (err) {
      scan.fail(err, `${zip.label}:${m.name}`);
    }
  }
  return counts;
}

async function scanMember(
  zip: SafeZip,
  m: ZipMember,
  scan: Scan,
  torchScript: boolean,
  counts: { pickles: number; nested: number },
): Promise<void> {
  const where = `${zip.label}:${m.name}`;
  const head = await zip.peek(m, 8);
  if (looksLikePickleHead(head)) {
    counts.pickles++;
    await walkMemberPickle(zip, m, scan, torchScript);
    return;
  }
  if (head.subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1"))) {
    counts.nested++;
    if (zip.depth + 1 > scan.limits.maxNestingDepth) {
      scan.incomplete(
        `Incomplete scan: archive nested deeper than ${scan.limits.maxNestingDepth} levels`,
        where,
      );
      return;
    }
    const inner = await SafeZip.open({ buffer: await zip.read(m) }, scan, where, zip.depth + 1);
    try {
      await scanArchiveMembers(inner, scan, new Set(), { torchScript });
    } finally {
      inner.close();
    }
    return;
  }
  if (head.subarray(0, 6).equals(NPY_MAGIC)) {
    await inspectNumpy(new BufferSource(await zip.read(m)), scan, where);
    return;
  }
  const layoutData = LAYOUT_DATA.test(m.name);
  // Held in memory up to maxMemberBytes (zip.read refuses more: incomplete), then read as a file is.
  const kind = layoutData ? null : compressionOf(head);
  if (kind) {
    await inspectCompressedJoblib(null, new BufferSource(await zip.read(m)), kind, scan, where);
    return;
  }
  // A protocol-0/1 pickle under a pickle's name is walked even when it does not parse (a truncated
  // one still ran what came before the cut): the walk reports what it saw and fails closed.
  if (
    PICKLE_NAMES.test(m.name) &&
    (head[0] === 0x28 || head[0] === 0x63 || head[0] === 0x7d || head[0] === 0x5d)
  ) {
    counts.pickles++;
    await walkMemberPickle(zip, m, scan, torchScript);
    return;
  }
  if (layoutData) return;
  if (m.size > scan.limits.maxMemberBytes) {
    // Too large to hold in memory: a format known by its first bytes passes, anything else fails closed.
    const h = await zip.peek(m, 16);
    const headOnly = { size: m.size, read: (o: number, n: number) => Promise.resolve(h.subarray(o, o + n)) };
    if (h.subarray(0, 8).equals(HDF5_MAGIC) || h.toString("latin1", 0, 4) === "GGUF") return;
    if (await looksLikeSafetensors(headOnly)) return;
    scan.incomplete(
      `Incomplete scan: archive entry of ${m.size} bytes is over the in-memory cap of ${scan.limits.maxMemberBytes} and not recognised by its first bytes`,
      where,
    );
    return;
  }
  const buf = await zip.read(m);
  const d = await detect(new BufferSource(buf), m.name, scan);
  if (d.kind === "PICKLE" || d.kind === "LEGACY_TORCH") {
    counts.pickles++;
    await walkMemberPickle(zip, m, scan, torchScript, buf);
  } else if (d.kind === "UNKNOWN")
    scan.incomplete("Incomplete scan: archive entry content does not match any supported format", where);
}

async function walkMemberPickle(
  zip: SafeZip,
  m: ZipMember,
  scan: Scan,
  torchScript: boolean,
  whole?: Buffer,
): Promise<void> {
  const label = `${zip.label}:${m.name}`;
  if (whole || m.size <= 64 * 1024 * 1024) {
    const buf = new BufferSource(whole ?? (await zip.read(m)));
    const res = await walkPickleStream(new Cursor(rangeChunks(buf), label), scan);
    const torchBlobsWalked = await walkTorchBlobs(buf, res.walks, scan, label);
    reportImports(scan, res.walks, label, { torchScript, torchBlobsWalked });
    if (readsJoblibArrays(res.walks))
      await reportPlainLoadReading(new Cursor(rangeChunks(buf), label), scan, label, buf);
    return;
  }
  const { src, close } = await zip.chunks(m);
  let again = false;
  try {
    const res = await walkPickleStream(new Cursor(src, label), scan);
    reportImports(scan, res.walks, label, { torchScript });
    again = readsJoblibArrays(res.walks);
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
