// Lines of a file a command reads (a backup's NDJSON, an exported audit log), numbered from 1. A file
// may come from anywhere: a line longer than `maxChars` ends the read with LineTooLongError instead
// of being gathered in memory until the process runs out of it.
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";
import type { Transform } from "node:stream";
import split2 from "split2";

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

/** Reads `file` (through `through`, e.g. a hashing meter) and yields its lines. */
export async function* boundedLines(
  file: string,
  options: { through?: Transform; maxChars?: number } = {},
): AsyncGenerator<{ line: number; text: string }> {
  const maxChars = options.maxChars ?? MAX_LINE_CHARS;
  const splitter = split2({ maxLength: maxChars });
  const stages = options.through
    ? pipeline(createReadStream(file), options.through, splitter, () => undefined)
    : pipeline(createReadStream(file), splitter, () => undefined);
  let line = 0;
  try {
    for await (const text of stages as AsyncIterable<string>) {
      line += 1;
      // split2 bounds what it holds of a line not yet ended; a long line ended in the same chunk
      // is refused here, so the bound means the same whatever the chunking.
      if (text.length > maxChars) throw new LineTooLongError(file, line, maxChars);
      yield { line, text };
    }
  } catch (error) {
    if (error instanceof LineTooLongError) throw error;
    if (error instanceof Error && error.message === "maximum buffer reached")
      throw new LineTooLongError(file, line + 1, maxChars);
    throw error;
  }
}
