import type { ByteSource } from "./io.ts";

const EOCD = Buffer.from("PK\x05\x06", "latin1");
const CENTRAL = Buffer.from("PK\x01\x02", "latin1");
const ZIP64_LOCATOR = Buffer.from("PK\x06\x07", "latin1");
const EOCD_SIZE = 22;

/**
 * Where Python's `zipfile` would find an archive at the end of a file that does not start as one,
 * or null. `zipfile.is_zipfile` and `ZipFile` look for the end-of-central-directory record at the
 * end (the last 22 bytes, else the last `PK\x05\x06` within 64 KiB) and accept data before the
 * archive, so a benign HDF5, GGUF or pickle with a ZIP appended is a `.keras` archive to Keras'
 * `load_model` (`zipfile.is_zipfile(path)`). Found only when the central directory really starts
 * where the record says (or the record is ZIP64), as a loadable archive needs: never by chance.
 */
export async function appendedZip(src: ByteSource): Promise<{ offset: number; entries: number } | null> {
  if (src.size < EOCD_SIZE) return null;
  // CPython's _EndRecData: the record at the very end, else the last one within a comment's reach
  // (a 65,535-byte comment) plus the record, counted as (1 << 16) + 22 bytes from the end.
  const tailLength = Math.min(src.size, (1 << 16) + EOCD_SIZE);
  const tailStart = src.size - tailLength;
  const tail = await src.read(tailStart, tailLength);
  let at = -1;
  const last = tail.length - EOCD_SIZE;
  if (tail.subarray(last, last + 4).equals(EOCD) && tail.readUInt16LE(last + 20) === 0) at = last;
  else at = tail.lastIndexOf(EOCD);
  if (at < 0 || at + EOCD_SIZE > tail.length) return null;
  const entries = tail.readUInt16LE(at + 10);
  const cdSize = tail.readUInt32LE(at + 12);
  const cdOffset = tail.readUInt32LE(at + 16);
  const eocdPos = tailStart + at;
  // The ZIP64 locator sits just before the record, maybe before the window read.
  if (eocdPos >= 20 && (await src.read(eocdPos - 20, 4)).equals(ZIP64_LOCATOR))
    return { offset: eocdPos, entries };
  if (entries === 0 && cdSize === 0 && cdOffset === 0) return null; // an empty archive holds nothing
  const cdPos = eocdPos - cdSize;
  if (cdSize < 46 || cdPos < 0) return null;
  const sig = await src.read(cdPos, 4);
  return sig.equals(CENTRAL) ? { offset: cdPos, entries } : null;
}
