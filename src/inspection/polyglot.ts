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
  entries: number;
  /**
   * Why other readers may not see the same archive, or null. yauzl and miniz follow the ZIP64
   * locator's offset to the ZIP64 record; zipfile takes the 56 bytes before the locator.
   */
  disagreement: string | null;
}

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
 */
export async function zipfileView(src: ByteSource): Promise<ZipfileView | null> {
  if (src.size < EOCD_SIZE) return null;
  const tailLength = Math.min(src.size, (1 << 16) + EOCD_SIZE);
  const tailStart = src.size - tailLength;
  const tail = await src.read(tailStart, tailLength);
  let at = -1;
  const last = tail.length - EOCD_SIZE;
  if (tail.subarray(last, last + 4).equals(EOCD) && tail.readUInt16LE(last + 20) === 0) at = last;
  else at = tail.lastIndexOf(EOCD);
  if (at < 0 || at + EOCD_SIZE > tail.length) return null;
  let entries = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  const commentLength = tail.readUInt16LE(at + 20);
  const eocd = tailStart + at;
  const end = Math.min(src.size, eocd + EOCD_SIZE + commentLength);
  // _EndRecData64: a ZIP64 locator just before the record, and the ZIP64 record just before it.
  let zip64 = false;
  let locatorOffset = -1;
  if (eocd >= ZIP64_LOCATOR_SIZE + ZIP64_EOCD_SIZE) {
    const loc = await src.read(eocd - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE);
    if (loc.subarray(0, 4).equals(ZIP64_LOCATOR)) {
      const rec = await src.read(eocd - ZIP64_LOCATOR_SIZE - ZIP64_EOCD_SIZE, ZIP64_EOCD_SIZE);
      if (rec.subarray(0, 4).equals(ZIP64_EOCD)) {
        zip64 = true;
        locatorOffset = Number(loc.readBigUInt64LE(8));
        entries = Number(rec.readBigUInt64LE(32));
        cdSize = Number(rec.readBigUInt64LE(40));
        cdOffset = Number(rec.readBigUInt64LE(48));
      }
    }
  }
  if (entries === 0 && cdSize === 0) return null; // an empty archive holds nothing
  const cdEnd = zip64 ? eocd - ZIP64_LOCATOR_SIZE - ZIP64_EOCD_SIZE : eocd;
  const centralDirectory = cdEnd - cdSize;
  const start = centralDirectory - cdOffset;
  if (cdSize < 46 || centralDirectory < 0 || start < 0) return null;
  const sig = await src.read(centralDirectory, 4);
  if (!sig.equals(CENTRAL)) return null;
  const disagreement =
    zip64 && start + locatorOffset !== cdEnd
      ? `its ZIP64 locator points at offset ${start + locatorOffset}, zipfile reads the ZIP64 record at ${cdEnd}`
      : null;
  return { start, end, eocd, centralDirectory, entries, disagreement };
}

/**
 * The view's bytes as a standalone archive: offset 0 is the view's start, and the end record's
 * comment length says what the file really holds after it (zipfile accepts a comment cut short by
 * the end of the file, yauzl only an exact one).
 */
export function zipfileViewSource(src: ByteSource, view: ZipfileView): ByteSource {
  const commentAt = view.eocd + 20 - view.start;
  const comment = Buffer.alloc(2);
  comment.writeUInt16LE(view.end - view.eocd - EOCD_SIZE);
  return {
    size: view.end - view.start,
    read: async (offset: number, length: number): Promise<Buffer> => {
      const n = Math.max(0, Math.min(length, view.end - view.start - offset));
      if (offset < 0 || n === 0) return Buffer.alloc(0);
      const b = await src.read(view.start + offset, n);
      if (offset < commentAt + 2 && offset + b.length > commentAt) {
        const out = Buffer.from(b);
        for (let i = 0; i < 2; i++) {
          const j = commentAt + i - offset;
          if (j >= 0 && j < out.length) out[j] = comment[i]!;
        }
        return out;
      }
      return b;
    },
  };
}
