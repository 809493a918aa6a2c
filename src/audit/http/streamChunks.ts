// Writes chunks from a source to an HTTP response with backpressure: the next chunk is produced only
// once the previous one was accepted (or drained), so an export holds one page at a time whatever
// its size. A reader that stops reading without closing is cut after `stallMs` without progress; a
// reader that goes away stops the source (its `finally` runs, no further page is read).
//
// A chunk (a page of up to 1,000 events, possibly megabytes) is written in slices of at most
// SLICE_CHARS, each waiting for its own 'drain'. 'drain' only fires once everything written so far
// has been taken by the operating system, so a deadline on a whole page measured how fast the
// client read, not whether it read: a client reading steadily at 1 MB/s was cut on a 24 MB page.
// Per slice, the deadline restarts whenever the client has taken a slice, and the response buffer
// holds one slice of the page, not all of it. The finest progress Node can see is the kernel
// taking bytes, which it signals in steps (Linux: once a third of the send buffer is free, up to
// about 1.4 MB): a client is taken for stopped when it reads less than that within `stallMs`
// (under ~50 KB/s at the default 30 s), whatever the page size.
import type { Writable } from "node:stream";

export type StreamOutcome = "finished" | "closed" | "stalled";

/** UTF-16 code units per write: at most 192 KiB of UTF-8. */
export const SLICE_CHARS = 64 * 1024;

/** Resolves when `out` drained, closed or made no progress for `stallMs`. */
function drained(out: Writable, stallMs: number): Promise<StreamOutcome | null> {
  return new Promise((resolve) => {
    const done = (outcome: StreamOutcome | null) => {
      clearTimeout(timer);
      out.off("drain", onDrain);
      out.off("close", onClose);
      resolve(outcome);
    };
    const onDrain = () => done(null);
    const onClose = () => done("closed");
    const timer = setTimeout(() => done("stalled"), stallMs);
    out.on("drain", onDrain);
    out.on("close", onClose);
  });
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * `text` in pieces of about `size` code units, never splitting a surrogate pair (each half alone
 * would be written as U+FFFD).
 */
function* slicesOf(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + size);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end += 1;
    yield text.slice(at, end);
    at = end;
  }
}

export async function streamChunks(
  out: Writable,
  chunks: AsyncIterable<string>,
  options: { readonly stallMs: number },
): Promise<StreamOutcome> {
  for await (const chunk of chunks) {
    for (const slice of slicesOf(chunk, SLICE_CHARS)) {
      if (out.destroyed) return "closed";
      if (out.write(slice)) continue;
      if (out.destroyed) return "closed";
      const outcome = await drained(out, options.stallMs);
      if (outcome !== null) {
        out.destroy();
        return outcome;
      }
    }
  }
  if (out.destroyed) return "closed";
  out.end();
  return "finished";
}
