// Writes chunks from a source to an HTTP response with backpressure: the next chunk is produced only
// once the previous one was accepted (or drained), so an export holds one page at a time whatever
// its size. A reader that stops reading without closing is cut after `stallMs` without progress; a
// reader that goes away stops the source (its `finally` runs, no further page is read).
import type { Writable } from "node:stream";

export type StreamOutcome = "finished" | "closed" | "stalled";

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

export async function streamChunks(
  out: Writable,
  chunks: AsyncIterable<string>,
  options: { readonly stallMs: number },
): Promise<StreamOutcome> {
  for await (const chunk of chunks) {
    if (out.destroyed) return "closed";
    if (chunk.length === 0 || out.write(chunk)) continue;
    if (out.destroyed) return "closed";
    const outcome = await drained(out, options.stallMs);
    if (outcome !== null) {
      out.destroy();
      return outcome;
    }
  }
  if (out.destroyed) return "closed";
  out.end();
  return "finished";
}
