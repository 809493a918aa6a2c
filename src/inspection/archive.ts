import { inspectCoreMl } from "./coreml.ts";
import { detect } from "./detect.ts";
import { HDF5_MAGIC } from "./hdf5.ts";
import { hasFormatInspector, inspectFormat, reportOrFailure, type FormatDetection } from "./inspectFormat.ts";
import { BufferSource, Cursor, rangeChunks, type ByteSource } from "./io.ts";
import { compressionOf, inspectCompressedJoblib, readsJoblibArrays } from "./joblib.ts";
import { inspectKerasZip } from "./keras.ts";
import { inspectMleap } from "./mleap.ts";
import { NPY_MAGIC } from "./numpy.ts";
import { reportImports, reportPlainLoadReading, walkPickleStream, walkTorchBlobs } from "./pickle.ts";
import { zipfileView, zipfileViewSource, type ZipfileView } from "./polyglot.ts";
import { inspectTorchZip } from "./pytorch.ts";
import { emptyReport, type Report } from "./report.ts";
import { looksLikeSafetensors } from "./safetensors.ts";
import { inspectSavedModel } from "./tensorflow.ts";
import type { ArtifactFormat } from "./types.ts";
import type { Scan } from "./verdict.ts";
import { commonRoot, SafeZip, type ZipMember } from "./zip.ts";

const PICKLE_NAMES = /\.(pkl|pickle|joblib|debug_pkl|pt|pth|bin|ckpt|sav)$/i;

const ZIP_LOCAL = Buffer.from("PK\x03\x04", "latin1");

/** What zipfile reads at a file's end: its end-record search window and the ZIP64 records before it. */
const ZIPFILE_TAIL = (1 << 16) + 22 + 20 + 56;

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
 * A ZIP archive, wherever it was found (the file itself, the archive Python's zipfile finds in it,
 * an archive member): recognised by its entry names as a model layout, which that layout's
 * inspector reads, then every other member scanned by content. The caller closes `zip`.
 */
export async function inspectArchive(zip: SafeZip, scan: Scan): Promise<Report> {
  const label = zip.label;
  const names = zip.members.map((m) => m.name);
  const has = (n: string) => names.includes(n);
  const root = commonRoot([...names, ...zip.directories]);
  let report: Report = emptyReport("UNKNOWN");
  let scanned = new Set<string>();
  let torchScript = false;
  let data = new Set<string>();
  let layout = true;
  const run = async (fmt: ArtifactFormat, fn: () => Promise<Report>) => {
    const mark = scan.heldMark();
    try {
      report = await reportOrFailure(scan, label, emptyReport(fmt), fn);
    } finally {
      scan.releaseHeld(mark);
    }
  };
  const savedModel = names.find((n) => n === "saved_model.pb" || n.endsWith("/saved_model.pb"));
  const mlmodel = names.find((n) => n.endsWith("Data/com.apple.CoreML/model.mlmodel"));
  const mleapPrefix = has("bundle.json") ? "" : root && has(`${root}/bundle.json`) ? `${root}/` : null;
  if (
    has("config.json") &&
    has("metadata.json") &&
    (names.some((n) => /^model\.weights\.(h5|npz)$/.test(n)) || !root)
  ) {
    await run("KERAS", () => inspectKerasZip(zip, scan, label));
    scanned = new Set(["config.json", "metadata.json"]);
    // Keras reads only weights from it, never a model_config: scanned by content, not graded as a model.
    data = new Set(["model.weights.h5"]);
  } else if (mleapPrefix !== null && names.some((n) => n.startsWith(`${mleapPrefix}root/`))) {
    await run("MLEAP", () => inspectMleap(zip, mleapPrefix, scan, label));
  } else if (root && has(`${root}/data.pkl`)) {
    torchScript = names.some((n) => n.startsWith(`${root}/code/`)) || has(`${root}/constants.pkl`);
    await run(torchScript ? "TORCHSCRIPT" : "PYTORCH", async () => {
      const r = await inspectTorchZip(zip, root, scan, torchScript);
      scanned = r.scanned;
      return r.report;
    });
  } else if (savedModel) {
    await run("TF_SAVEDMODEL", async () => {
      const reports: Report[] = [];
      for (const m of zip.findAll(savedModel))
        reports.push(
          await inspectSavedModel(new BufferSource(await zip.read(m)), scan, `${label}:${savedModel}`),
        );
      const r = reports.at(-1)!; // the last copy's, the one Python's zipfile and unzip keep
      const dir = savedModel.slice(0, -"saved_model.pb".length);
      r.metadata.variables = names.filter((n) => n.startsWith(`${dir}variables/`)).length;
      r.metadata.assets = names.filter((n) => n.startsWith(`${dir}assets/`)).length;
      return r;
    });
    scanned.add(savedModel);
  } else if (mlmodel) {
    await run("COREML", async () => {
      const reports: Report[] = [];
      for (const m of zip.findAll(mlmodel))
        reports.push(await inspectCoreMl(new BufferSource(await zip.read(m)), scan, `${label}:${mlmodel}`));
      const r = reports.at(-1)!;
      r.metadata.package = "mlpackage";
      return r;
    });
    scanned.add(mlmodel);
  } else {
    layout = false;
    report = {
      ...emptyReport("UNKNOWN"),
      metadata: { entries: names.slice(0, 200), entryCount: names.length },
    };
    scan.add(
      "LOW",
      "Zip archive does not match a known model layout; members scanned by content only",
      label,
    );
  }
  await scanArchiveMembers(zip, scan, scanned, {
    torchScript,
    layout,
    data,
  });
  report.metadata.archive = { entries: zip.members.length, directories: zip.directories.length };
  return report;
}

/** Whether an archive at `depth` is past the nesting limit (then an incomplete finding at `where`). */
function nestedTooDeep(scan: Scan, depth: number, where: string): boolean {
  if (depth <= scan.limits.maxNestingDepth) return false;
  scan.incomplete(`Incomplete scan: archive nested deeper than ${scan.limits.maxNestingDepth} levels`, where);
  return true;
}

/**
 * An archive found inside something else (an archive member, or the archive Python's zipfile finds
 * after other bytes) at nesting `depth`: past `maxNestingDepth` it is not opened and the scan is
 * incomplete. Read as a top-level archive is (inspectZipSource). Never silently skipped: failures
 * are incomplete findings.
 */
export async function inspectNestedArchive(
  input: { buffer: Buffer } | { source: ByteSource },
  scan: Scan,
  label: string,
  depth: number,
): Promise<Report | null> {
  if (nestedTooDeep(scan, depth, label)) return null;
  return inspectZipSource(
    "buffer" in input ? new BufferSource(input.buffer) : input.source,
    scan,
    label,
    depth,
  );
}

/**
 * Bytes that start as a ZIP (a file, or an archive member). Usually every reader sees the same
 * archive: the one Python's zipfile finds from the end, starting at byte 0; bytes after its end
 * record (which zipfile, yauzl through ./polyglot.ts and torch.load's miniz skip) are MEDIUM. When
 * zipfile's archive starts later (two archives end to end), or readers disagree on its ZIP64
 * records, the bytes are read as torch.load does, offsets from byte 0, and zipfile's archive is
 * inspected as well (HIGH). When every zipfile refuses it, what other readers read is inspected and
 * the scan is incomplete. Null when nothing could be read (the failure is an incomplete finding).
 */
export async function inspectZipSource(
  src: ByteSource,
  scan: Scan,
  label: string,
  depth: number,
): Promise<Report | null> {
  const found = await zipfileView(src);
  const view = found && "start" in found ? found : null;
  if (found && "refused" in found)
    scan.incomplete(
      `Incomplete scan: ZIP readers disagree on this archive: Python's zipfile refuses it (${found.refused}), other readers read it; what they read is inspected`,
      label,
    );
  const agreed = view !== null && view.start === 0 && view.disagreement === null;
  if (agreed && view.end < src.size)
    scan.add(
      "MEDIUM",
      `${src.size - view.end} bytes follow the ZIP archive's end record (offset ${view.end}); zip readers ignore them`,
      label,
    );
  let report: Report | null = null;
  try {
    const zip = agreed
      ? await SafeZip.open(
          { source: zipfileViewSource(src, view) },
          scan,
          label,
          depth,
          view.centralDirectorySize,
        )
      : await SafeZip.open({ source: src }, scan, label, depth);
    try {
      report = await inspectArchive(zip, scan);
    } finally {
      zip.close();
    }
  } catch (err) {
    // The view from byte 0 may be unreadable while zipfile's archive is not: both are reported.
    scan.fail(err, label);
  }
  if (view !== null && !agreed && view.start === 0) {
    // The same bytes, read through other ZIP64 records: zipfile's listing is inspected as well.
    scan.incomplete(`Incomplete scan: ZIP readers disagree on this archive: ${view.disagreement}`, label);
    const format = await inspectView(src, view, scan, `${label}@zipfile`, depth);
    (report ??= emptyReport("UNKNOWN")).metadata.zipfileArchive = { offset: 0, format };
  } else if (view !== null && !agreed) {
    const other = await inspectAppendedArchive(
      src,
      `${depth === 0 ? "file" : "archive entry"}, which starts as another ZIP archive (torch.load reads that one, from byte 0)`,
      scan,
      label,
      depth,
    );
    if (other) (report ??= emptyReport("UNKNOWN")).metadata.zipfileArchive = other;
  }
  return report;
}

/**
 * The archive Python's zipfile reads in `src` when it is not the one read from byte 0 (the file or
 * member does not start as that archive): a polyglot, HIGH, whose archive is inspected as well, at
 * `label@zip` and one nesting level down. `format` names what `src` is read as from byte 0.
 * Returns the archive's format, or null when there is no such archive.
 */
export async function inspectAppendedArchive(
  src: ByteSource,
  format: string,
  scan: Scan,
  label: string,
  depth: number,
): Promise<{ offset: number; format: ArtifactFormat | null } | null> {
  const found = await zipfileView(src);
  // No version of zipfile reads it, so no loader built on zipfile does.
  if (!found || "refused" in found) return null;
  const view = found;
  scan.add(
    "HIGH",
    `Polyglot file: a ZIP archive (${view.entries} entries, central directory at offset ${view.centralDirectory}, its offsets counted from byte ${view.start}) is part of this ${format}; Python's zipfile (zipfile.is_zipfile, Keras' load_model for .keras, numpy.load of a file starting with PK) reads it as that archive; its members are inspected at ${label}@zip`,
    label,
  );
  if (view.disagreement)
    scan.incomplete(`Incomplete scan: ZIP readers disagree on this archive: ${view.disagreement}`, label);
  return { offset: view.start, format: await inspectView(src, view, scan, `${label}@zip`, depth + 1) };
}

/**
 * The members of the archive zipfile reads in `src`, listed as zipfile lists them. A source that
 * cannot read at an offset cheaply (a compressed member) first holds the archive's bytes in memory,
 * within the held budget. Returns the archive's format, null when it could not be read (incomplete).
 */
async function inspectView(
  src: ByteSource,
  view: ZipfileView,
  scan: Scan,
  where: string,
  depth: number,
): Promise<ArtifactFormat | null> {
  if (nestedTooDeep(scan, depth, where)) return null;
  try {
    await src.keep?.(view.start, view.end);
    const zip = await SafeZip.open(
      { source: zipfileViewSource(src, view) },
      scan,
      where,
      depth,
      view.centralDirectorySize,
    );
    try {
      return (await inspectArchive(zip, scan)).format;
    } finally {
      zip.close();
    }
  } catch (err) {
    scan.fail(err, where);
    return null;
  }
}

/**
 * Members that a format-specific inspector did not already read are sniffed by content, not name,
 * with the detection of a top-level file: a pickle renamed to `weights.bin` or hidden in a nested
 * archive is walked all the same, a compressed joblib file is decompressed and walked.
 *
 * `skip` names the members a layout inspector read; it read them through `zip.find`, the first
 * entry of that name, so a later duplicate (the one Python's zipfile returns) is scanned here.
 */
async function scanArchiveMembers(
  zip: SafeZip,
  scan: Scan,
  skip: ReadonlySet<string>,
  opts: MemberScanOptions = {},
): Promise<{ pickles: number; nested: number }> {
  const counts = { pickles: 0, nested: 0 };
  for (const m of zip.members) {
    if (m.size === 0 || (skip.has(m.name) && zip.find(m.name) === m)) continue;
    scan.tick();
    // What this member's scan held in memory (it, the archives in it, theirs …) is given back after it.
    const mark = scan.heldMark();
    try {
      await scanMember(zip, m, scan, opts, counts);
    } catch (err) {
      scan.fail(err, `${zip.label}:${m.name}`);
    } finally {
      scan.releaseHeld(mark);
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
  // Every member is also checked for an archive that Python's zipfile finds after its content, as a
  // top-level file is (./polyglot.ts): in memory when it was read whole, else by reading its end.
  const appended = (buf: Buffer, format: string) =>
    inspectAppendedArchive(new BufferSource(buf), format, scan, where, zip.depth);
  const appendedInPlace = (format: string) => inspectMemberEnd(zip, m, format, scan, where);
  if (looksLikePickleHead(head)) {
    counts.pickles++;
    const whole = zip.readsPickleWhole(m) ? await zip.read(m) : undefined;
    await walkMemberPickle(zip, m, scan, torchScript, whole);
    if (whole) await appended(whole, "pickle");
    else await appendedInPlace("pickle");
    return;
  }
  if (head.subarray(0, 4).equals(ZIP_LOCAL)) {
    // An archive in an archive (a .pt or .keras in a .zip), recognised by its bytes whatever its
    // name, and read with the same layout recognition as a top-level archive. In memory up to the
    // cap; a STORED one beyond it in place; a compressed one beyond it cannot be read: incomplete.
    counts.nested++;
    const stored = m.size > scan.limits.maxMemberBytes ? zip.source(m) : null;
    if (m.size > scan.limits.maxMemberBytes && !stored) {
      scan.incomplete(
        `Incomplete scan: compressed archive entry of ${m.size} bytes holding an archive is over the in-memory cap of ${scan.limits.maxMemberBytes}`,
        where,
      );
      return;
    }
    if (zip.depth + 1 > scan.limits.maxNestingDepth) {
      scan.incomplete(
        `Incomplete scan: archive nested deeper than ${scan.limits.maxNestingDepth} levels`,
        where,
      );
      return;
    }
    await inspectNestedArchive(
      stored ? { source: stored } : { buffer: await zip.read(m) },
      scan,
      where,
      zip.depth + 1,
    );
    return;
  }
  if (head.subarray(0, 6).equals(NPY_MAGIC)) {
    const buf = await zip.read(m);
    await inspectFormat({ kind: "NUMPY" }, new BufferSource(buf), scan, where);
    await appended(buf, "NUMPY");
    return;
  }
  const layoutData = LAYOUT_DATA.test(m.name);
  // Read by its loader as weights only: scanned by content like any member, but an HDF5 is not
  // graded as a model (no model config to read).
  const weightsOnly = opts.data?.has(m.name) ?? false;
  // Held in memory up to maxMemberBytes (zip.read refuses more: incomplete), then read as a file is.
  const kind = layoutData ? null : compressionOf(head);
  if (kind) {
    const buf = await zip.read(m);
    await inspectCompressedJoblib(null, new BufferSource(buf), kind, scan, where);
    await appended(buf, `${kind} stream`);
    return;
  }
  // A protocol-0/1 pickle under a pickle's name is walked even when it does not parse (a truncated
  // one still ran what came before the cut): the walk reports what it saw and fails closed.
  if (
    PICKLE_NAMES.test(m.name) &&
    (head[0] === 0x28 || head[0] === 0x63 || head[0] === 0x7d || head[0] === 0x5d)
  ) {
    counts.pickles++;
    const whole = zip.readsPickleWhole(m) ? await zip.read(m) : undefined;
    await walkMemberPickle(zip, m, scan, torchScript, whole);
    if (whole) await appended(whole, "pickle");
    else await appendedInPlace("pickle");
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
    const format = await scanLargeMember(zip, m, scan, where, weightsOnly);
    await appendedInPlace(format ?? "archive entry");
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
  await appended(buf, d.kind === "UNKNOWN" ? "archive entry" : d.kind);
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
): Promise<string | null> {
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
    return null;
  }
  if (weightsOnly && d.kind === "HDF5") return d.kind;
  const stored = zip.source(m);
  if (stored) await inspectFormat(d, stored, scan, where);
  else if (d.kind !== "SAFETENSORS")
    scan.incomplete(
      `Incomplete scan: compressed ${d.kind} archive entry of ${m.size} bytes is over the in-memory cap of ${scan.limits.maxMemberBytes}; its header was not read`,
      where,
    );
  return d.kind;
}

/**
 * The archive Python's zipfile finds at the end of a member too large to hold in memory, found by
 * reading only the member's end, as zipfile does: the end-of-central-directory search window and
 * the ZIP64 records before it (a STORED member in place, a compressed one inflated to its end).
 * An archive found there is inspected, held in memory within the budget; a member whose end cannot
 * be read leaves the scan incomplete.
 */
async function inspectMemberEnd(
  zip: SafeZip,
  m: ZipMember,
  format: string,
  scan: Scan,
  where: string,
): Promise<void> {
  const src = await zip.tailSource(m, ZIPFILE_TAIL);
  await inspectAppendedArchive(src, format, scan, where, zip.depth);
}

async function walkMemberPickle(
  zip: SafeZip,
  m: ZipMember,
  scan: Scan,
  torchScript: boolean,
  whole?: Buffer,
): Promise<void> {
  const label = `${zip.label}:${m.name}`;
  if (whole || zip.readsPickleWhole(m)) {
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
