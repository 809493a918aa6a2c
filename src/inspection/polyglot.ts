import type { ByteSource } from "./io.ts";

const EOCD = Buffer.from("PK\x05\x06", "latin1");
const CENTRAL = Buffer.from("PK\x01\x02", "latin1");
const ZIP64_LOCATOR = Buffer.from("PK\x06\x07", "latin1");
const ZIP64_EOCD = Buffer.from("PK\x06\x06", "latin1");
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;

/** The archive Python's `zipfile` reads in a file: bytes `start` to `end` of it. */
export interface ZipfileView {
  /** Where the archive starts: the bytes before it, which zipfile skips, shift all its offsets. */
  start: number;
  /** Where zipfile stops reading: the end record and as much of its comment as the file holds. */
  end: number;
  /** Position of the end-of-central-directory record. */
  eocd: number;
  /** Position of the central directory. */
  centralDirectory: number;
  /** The central directory's size as zipfile reads it: it lists entries until it has read that many bytes. */
  centralDirectorySize: number;
  entries: number;
  /**
   * The ZIP64 locator before the end record, if any: `at` its position, `record` the position of the
   * ZIP64 record zipfile read (null when it read the plain end record instead).
   */
  locator: { at: number; record: number | null } | null;
  /**
   * Why other readers (or other versions of zipfile) may not see the same archive, or null. yauzl
   * and miniz follow the ZIP64 locator's offset to the ZIP64 record; zipfile before CPython's
   * ZIP64 consistency checks (gh-139700, October 2025) takes the 56 bytes before the locator, or
   * the plain end record when no ZIP64 record is there; zipfile since then refuses both.
   */
  disagreement: string | null;
}

/** Every version of Python's zipfile refuses the archive the file ends with: why. */
export interface ZipfileRefusal {
  refused: string;
}

/** The ZIP64 reading of one version of zipfile: the record it used (null: the plain end record). */
type Zip64Reading =
  | { record: number; entries: number; cdSize: number; cdOffset: number; cdEnd: number }
  | { record: null }
  | { refused: string };

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/**
 * Where Python's `zipfile` finds an archive in a file, or null when it finds none (or an empty one).
 * As CPython's `_EndRecData` does: the end-of-central-directory record at the very end (the last
 * 22 bytes, with no comment), else the last `PK\x05\x06` within (1 << 16) + 22 bytes of the end,
 * whatever follows it. `_RealGetContents` then takes the bytes between the central directory the
 * record describes and the record as the archive's tail, and everything before it as data to skip
 * ("concat"): a pickle, HDF5, GGUF or an executable stub before an archive, and bytes after one, do
 * not stop zipfile (`is_zipfile`, Keras' `load_model`, `numpy.load` of a `PK` file). Found only when
 * the central directory really starts where the record says, as a loadable archive needs: never
 * by chance.
 *
 * A ZIP64 locator before the end record is read as both generations of zipfile read it (before
 * and since gh-139700); when they read different archives, or one refuses what the other reads, or
 * the locator points elsewhere than the record zipfile read, the view says so in `disagreement`.
 * When every version refuses (a locator naming other disks, or one neither finds a record for),
 * the answer is a refusal.
 */
export async function zipfileView(src: ByteSource): Promise<ZipfileView | ZipfileRefusal | null> {
  if (src.size < EOCD_SIZE) return null;
  const tailLength = Math.min(src.size, (1 << 16) + EOCD_SIZE);
  const tailStart = src.size - tailLength;
  const tail = await src.read(tailStart, tailLength);
  let at = -1;
  const last = tail.length - EOCD_SIZE;
  if (tail.subarray(last, last + 4).equals(EOCD) && tail.readUInt16LE(last + 20) === 0) at = last;
  else at = tail.lastIndexOf(EOCD);
  if (at < 0 || at + EOCD_SIZE > tail.length) return null;
  const plain = {
    entries: tail.readUInt16LE(at + 10),
    cdSize: tail.readUInt32LE(at + 12),
    cdOffset: tail.readUInt32LE(at + 16),
  };
  const commentLength = tail.readUInt16LE(at + 20);
  const eocd = tailStart + at;
  const end = Math.min(src.size, eocd + EOCD_SIZE + commentLength);
  const locatorAt = eocd - ZIP64_LOCATOR_SIZE;
  const loc = locatorAt >= 0 ? await src.read(locatorAt, ZIP64_LOCATOR_SIZE) : null;
  if (!loc?.subarray(0, 4).equals(ZIP64_LOCATOR)) {
    const view = await viewOf(src, eocd, end, plain, eocd, null);
    return view && { ...view, disagreement: null };
  }
  const diskWithRecord = loc.readUInt32LE(4);
  const reloff = u64(loc, 8);
  const disks = loc.readUInt32LE(16);
  if (diskWithRecord !== 0 || disks > 1)
    return {
      refused: `its ZIP64 locator puts the ZIP64 record on disk ${diskWithRecord} of ${disks} ("zipfiles that span multiple disks are not supported")`,
    };
  const before = locatorAt - ZIP64_EOCD_SIZE;
  const record = async (pos: number) => {
    if (pos < 0 || pos + ZIP64_EOCD_SIZE > src.size) return null;
    const r = await src.read(pos, ZIP64_EOCD_SIZE);
    return r.subarray(0, 4).equals(ZIP64_EOCD) ? r : null;
  };
  const fields = (r: Buffer, pos: number) => ({
    record: pos,
    entries: u64(r, 32),
    cdSize: u64(r, 40),
    cdOffset: u64(r, 48),
    cdEnd: pos,
  });
  // Before gh-139700: the 56 bytes before the locator, else the plain end record; the offset unread.
  const beforeFix: Zip64Reading = await (async () => {
    if (before < 0) return { refused: "no room for a ZIP64 record before its locator" };
    const r = await record(before);
    return r ? fields(r, before) : { record: null };
  })();
  // Since: the record at the locator's offset, else (data before the archive) the 56 bytes before
  // the locator; it must end where the central directory does, and its size field must fit.
  const sinceFix: Zip64Reading = await (async () => {
    if (reloff > before) return { refused: "Corrupt zip64 end of central directory locator" };
    let pos = reloff;
    let r = await record(reloff);
    if (!r && reloff !== before) {
      pos = before;
      r = await record(before);
    }
    if (!r) return { refused: "Zip64 end of central directory record not found" };
    const f = fields(r, pos);
    if (f.cdOffset + f.cdSize !== reloff || u64(r, 4) + 12 !== ZIP64_EOCD_SIZE + (before - pos))
      return { refused: "Corrupt zip64 end of central directory record" };
    return f;
  })();
  const read = async (z: Zip64Reading) =>
    "refused" in z
      ? null
      : z.record === null
        ? viewOf(src, eocd, end, plain, eocd, { at: locatorAt, record: null })
        : viewOf(src, eocd, end, z, z.cdEnd, { at: locatorAt, record: z.record });
  const old = await read(beforeFix);
  const now = await read(sinceFix);
  const describe = (z: Zip64Reading, v: Omit<ZipfileView, "disagreement"> | null) =>
    "refused" in z
      ? `refuses it (${z.refused})`
      : !v
        ? "finds no archive"
        : z.record === null
          ? "reads the plain end record, no ZIP64 record being before the locator"
          : `reads the ZIP64 record at offset ${z.record}`;
  const same =
    old !== null &&
    now !== null &&
    old.start === now.start &&
    old.centralDirectory === now.centralDirectory &&
    old.centralDirectorySize === now.centralDirectorySize &&
    old.entries === now.entries;
  const view = old ?? now;
  if (!view) {
    const why = "refused" in sinceFix ? sinceFix.refused : "refused" in beforeFix ? beforeFix.refused : null;
    return why ? { refused: `its ZIP64 records do not agree (${why})` } : null;
  }
  const locatorTarget = view.start + reloff;
  const disagreement = !same
    ? `Python's zipfile before gh-139700 ${describe(beforeFix, old)}, since then it ${describe(sinceFix, now)}`
    : view.locator?.record !== locatorTarget
      ? `its ZIP64 locator points at offset ${locatorTarget}, zipfile reads the ZIP64 record at ${view.locator?.record ?? "none"}`
      : null;
  return { ...view, disagreement };
}

/** The archive an end record (and ZIP64 record) describes, if its central directory is really there. */
async function viewOf(
  src: ByteSource,
  eocd: number,
  end: number,
  dir: { entries: number; cdSize: number; cdOffset: number },
  cdEnd: number,
  locator: ZipfileView["locator"],
): Promise<Omit<ZipfileView, "disagreement"> | null> {
  if (dir.entries === 0 && dir.cdSize === 0) return null; // an empty archive holds nothing
  const centralDirectory = cdEnd - dir.cdSize;
  const start = centralDirectory - dir.cdOffset;
  if (dir.cdSize < 46 || centralDirectory < 0 || start < 0) return null;
  const sig = await src.read(centralDirectory, 4);
  if (!sig.equals(CENTRAL)) return null;
  return {
    start,
    end,
    eocd,
    centralDirectory,
    centralDirectorySize: dir.cdSize,
    entries: dir.entries,
    locator,
  };
}

/**
 * The view's bytes as a standalone archive: offset 0 is the view's start, and the end record's
 * comment length says what the file really holds after it (zipfile accepts a comment cut short by
 * the end of the file, yauzl only an exact one). A ZIP64 locator is made to say what zipfile read:
 * pointing at the ZIP64 record it used, or blanked when it read the plain end record, so that yauzl
 * lists the archive zipfile lists, not the one the locator leads to.
 */
export function zipfileViewSource(src: ByteSource, view: ZipfileView): ByteSource {
  const patches: { at: number; bytes: Buffer }[] = [];
  const comment = Buffer.alloc(2);
  comment.writeUInt16LE(view.end - view.eocd - EOCD_SIZE);
  patches.push({ at: view.eocd + 20 - view.start, bytes: comment });
  if (view.locator && view.locator.at >= view.start) {
    const at = view.locator.at - view.start;
    if (view.locator.record === null) patches.push({ at, bytes: Buffer.alloc(4) });
    else {
      const offset = Buffer.alloc(8);
      offset.writeBigUInt64LE(BigInt(view.locator.record - view.start));
      patches.push({ at: at + 8, bytes: offset });
    }
  }
  return {
    size: view.end - view.start,
    read: async (offset: number, length: number): Promise<Buffer> => {
      const n = Math.max(0, Math.min(length, view.end - view.start - offset));
      if (offset < 0 || n === 0) return Buffer.alloc(0);
      const read = await src.read(view.start + offset, n);
      let b = read;
      for (const p of patches) {
        if (offset >= p.at + p.bytes.length || offset + b.length <= p.at) continue;
        // The source may hand out its own memory (a buffer's subarray): patch a copy.
        if (b === read) b = Buffer.from(read);
        for (let i = 0; i < p.bytes.length; i++) {
          const j = p.at + i - offset;
          if (j >= 0 && j < b.length) b[j] = p.bytes[i]!;
        }
      }
      return b;
    },
  };
}
