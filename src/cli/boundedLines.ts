// Lines of a file a command reads (a backup's NDJSON, an exported audit log), numbered from 1. A file
// may come from anywhere: a line longer than `maxChars` ends the read with LineTooLongError instead
// of being gathered in memory until the process runs out of it.
//
// The splitter scans each chunk once, from where it left off, for "\n", and keeps the pieces of a line
// not yet ended as Buffers, joined once when the line ends. (split2, used before, joined the whole
// unfinished line again with every chunk: a 35 MiB line cost 13.6 s and 479 MB before being read.)
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";
import type { Readable, Transform } from "node:stream";
import { openRegularFile } from "./regularFile.ts";

/** Longer than any event the registry writes (request bodies stop at 25 MB), far below memory. */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly maxChars: number,
  ) {
    super(`${file} line ${line} is longer than ${maxChars} characters: not a file this registry wrote`);
    this.name = "LineTooLongError";
  }
}

const NEWLINE = 0x0a;
const RETURN = 0x0d;

/**
 * Splits bytes into lines ("\n" or "\r\n"), holding at most about `maxBytes` of a line not yet ended.
 * The bound is counted in UTF-8 bytes, which for the JSON lines these files hold (ASCII but for
 * string contents) is their length in characters or more: never less than the characters' bound.
 */
export class LineSplitter {
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes searched for "\n" so far: each byte once (tests check the splitter stays linear). */
  scanned = 0;

  constructor(private readonly maxBytes: number) {}

  /** Takes the next chunk; call `next()` until it answers null before pushing another. */
  push(chunk: Buffer): void {
    this.keepRest();
    this.chunk = chunk;
    this.offset = 0;
  }

  /** The next complete line, or null when the bytes pushed so far hold none; throws TooLong. */
  next(): string | null {
    const end = this.chunk.indexOf(NEWLINE, this.offset);
    if (end < 0) {
      this.keepRest();
      return null;
    }
    this.scanned += end + 1 - this.offset;
    const piece = this.chunk.subarray(this.offset, end);
    this.offset = end + 1;
    const parts = this.parts;
    const length = this.held + piece.length;
    this.parts = [];
    this.held = 0;
    const bytes = parts.length === 0 ? piece : Buffer.concat([...parts, piece], length);
    const text = bytes.length > 0 && bytes[bytes.length - 1] === RETURN ? bytes.subarray(0, -1) : bytes;
    if (text.length > this.maxBytes) throw new LineSplitter.TooLong();
    return text.toString("utf8");
  }

  /** What is left after the last line, at the end of the input: a last line without "\n", or null. */
  end(): string | null {
    this.keepRest();
    if (this.held === 0) return null;
    const bytes = Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    const text = bytes[bytes.length - 1] === RETURN ? bytes.subarray(0, -1) : bytes;
    return text.length === 0 ? null : text.toString("utf8");
  }

  /** Moves the unscanned rest of the current chunk into the held pieces, checking the bound. */
  private keepRest(): void {
    if (this.offset >= this.chunk.length) return;
    const rest = this.chunk.subarray(this.offset);
    this.scanned += rest.length;
    this.offset = this.chunk.length;
    this.parts.push(rest);
    this.held += rest.length;
    // One byte of slack: a "\r" held at the end may yet turn out to end the line.
    if (this.held > this.maxBytes + 1) throw new LineSplitter.TooLong();
  }

  static TooLong = class extends Error {
    override name = "LineSplitter.TooLong";
  };
}

/**
 * Reads `file` (through `through`, e.g. a hashing meter) and yields its lines. With `regularFileOnly`
 * a symlink, device, FIFO or folder is refused (NotARegularFileError) instead of being followed or read.
 */
export async function* boundedLines(
  file: string,
  options: { through?: Transform; maxChars?: number; regularFileOnly?: boolean } = {},
): AsyncGenerator<{ line: number; text: string }> {
  const maxChars = options.maxChars ?? MAX_LINE_CHARS;
  const source: Readable = options.regularFileOnly
    ? (await openRegularFile(file)).handle.createReadStream()
    : createReadStream(file);
  const input: AsyncIterable<Buffer> = options.through
    ? pipeline(source, options.through, () => undefined)
    : source;
  const splitter = new LineSplitter(maxChars);
  let line = 0;
  try {
    for await (const chunk of input) {
      splitter.push(chunk);
      for (let text = splitter.next(); text !== null; text = splitter.next()) {
        line += 1;
        yield { line, text };
      }
    }
    const last = splitter.end();
    if (last !== null) yield { line: line + 1, text: last };
  } catch (error) {
    if (error instanceof LineSplitter.TooLong) throw new LineTooLongError(file, line + 1, maxChars);
    throw error;
  } finally {
    source.destroy();
  }
}
