import { detect } from "./detect.ts";
import { HDF5_MAGIC } from "./hdf5.ts";
import { hasFormatInspector, inspectFormat, type FormatDetection } from "./inspectFormat.ts";
import { BufferSource, Cursor, rangeChunks } from "./io.ts";
import { compressionOf, inspectCompressedJoblib, readsJoblibArrays } from "./joblib.ts";
import { NPY_MAGIC } from "./numpy.ts";
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

export interface MemberScanOptions {
  torchScript?: boolean;
  /**
   * The archive matched a known layout. Its `.pb` members are then that layout's messages
   * (`keras_metadata.pb`, `fingerprint.pb`, MLeap nodes); in any other archive a `.pb` that parses
   * as a TF graph, ONNX or Core ML model is inspected as one.
   */
  layout?: boolean;
  /**
   * Members the layout's loader reads as weights only, e.g. a `.keras` archive's `model.weights.h5`:
   * scanned by content like any other member, but an HDF5 there is not graded as a model.
   */
  data?: ReadonlySet<string>;
}

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
  opts: MemberScanOptions = {},
): Promise<{ pickles: number; nested: number }> {
  const counts = { pickles: 0, nested: 0 };
  for (const m of zip.members) {
    if (m.size === 0 || (skip.has(m.name) && zip.find(m.name) === m)) continue;
    scan.tick();
    try {
      await scanMember(zip, m, scan, opts, counts);
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
  opts: MemberScanOptions,
  counts: { pickles: number; nested: number },
): Promise<void> {
  const where = `${zip.label}:${m.name}`;
  const torchScript = opts.torchScript ?? false;
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
    await inspectFormat({ kind: "NUMPY" }, new BufferSource(await zip.read(m)), scan, where);
    return;
  }
  const layoutData = LAYOUT_DATA.test(m.name);
  // Read by its loader as weights only: scanned by content like any member, but an HDF5 is not
  // graded as a model (no model config to read).
  const weightsOnly = opts.data?.has(m.name) ?? false;
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
  if (layoutData) {
    if (opts.layout || !m.name.endsWith(".pb")) return;
    // In an archive of no known layout, a .pb that parses as a model is one: read in memory up to
    // the cap, in place beyond it when STORED; a compressed one beyond it cannot be read.
    const src = m.size <= scan.limits.maxMemberBytes ? new BufferSource(await zip.read(m)) : zip.source(m);
    if (src === null) {
      scan.incomplete(
        `Incomplete scan: compressed .pb archive entry of ${m.size} bytes is over the in-memory cap of ${scan.limits.maxMemberBytes}`,
        where,
      );
      return;
    }
    const d = await detect(src, m.name, scan);
    if (hasFormatInspector(d)) await inspectFormat(d, src, scan, where);
    return;
  }
  if (m.size > scan.limits.maxMemberBytes) {
    await scanLargeMember(zip, m, scan, where, weightsOnly);
    return;
  }
  const buf = await zip.read(m);
  const src = new BufferSource(buf);
  const d = await detect(src, m.name, scan);
  if (d.kind === "PICKLE" || d.kind === "LEGACY_TORCH") {
    counts.pickles++;
    await walkMemberPickle(zip, m, scan, torchScript, buf);
  } else if (hasFormatInspector(d)) {
    if (!(weightsOnly && d.kind === "HDF5")) await inspectFormat(d, src, scan, where);
  } else if (d.kind === "UNKNOWN")
    scan.incomplete("Incomplete scan: archive entry content does not match any supported format", where);
}

/**
 * A member too large to hold in memory is recognised by its first bytes. HDF5, GGUF and safetensors
 * inspectors read only headers and ranges, so a STORED member is read in place, as a file would be.
 * A compressed one cannot be read at an offset: safetensors (data only) passes unread, but an HDF5
 * (Keras model_config) or GGUF (chat template) header can carry code, so the scan is incomplete.
 * A weights-only HDF5 (a `.keras` archive's weights) passes, as its loader reads no config from it.
 */
async function scanLargeMember(
  zip: SafeZip,
  m: ZipMember,
  scan: Scan,
  where: string,
  weightsOnly: boolean,
): Promise<void> {
  const h = await zip.peek(m, 16);
  const headOnly = { size: m.size, read: (o: number, n: number) => Promise.resolve(h.subarray(o, o + n)) };
  const d: FormatDetection | null = h.subarray(0, 8).equals(HDF5_MAGIC)
    ? { kind: "HDF5" }
    : h.toString("latin1", 0, 4) === "GGUF"
      ? { kind: "GGUF" }
      : (await looksLikeSafetensors(headOnly))
        ? { kind: "SAFETENSORS" }
        : null;
  if (!d) {
    scan.incomplete(
      `Incomplete scan: archive entry of ${m.size} bytes is over the in-memory cap of ${scan.limits.maxMemberBytes} and not recognised by its first bytes`,
      where,
    );
    return;
  }
  if (weightsOnly && d.kind === "HDF5") return;
  const stored = zip.source(m);
  if (stored) await inspectFormat(d, stored, scan, where);
  else if (d.kind !== "SAFETENSORS")
    scan.incomplete(
      `Incomplete scan: compressed ${d.kind} archive entry of ${m.size} bytes is over the in-memory cap of ${scan.limits.maxMemberBytes}; its header was not read`,
      where,
    );
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
