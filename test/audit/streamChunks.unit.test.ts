// The export's writer: backpressure (no chunk is produced before the previous one drained), a
// deadline on a reader that stops reading, and a source that stops when the reader goes away.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { streamChunks } from "../../src/audit/http/streamChunks.ts";

/** A source that counts how many chunks were asked of it and whether it was closed. */
function source(count: number) {
  const state = { produced: 0, closed: false };
  async function* chunks() {
    try {
      for (let i = 0; i < count; i++) {
        state.produced += 1;
        yield await Promise.resolve(`chunk ${i}\n`);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, chunks: chunks() };
}

/** A writable that accepts one small chunk, then only drains when `release` is called. */
function slowSink() {
  const received: string[] = [];
  let pending: (() => void) | null = null;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk.toString());
      pending = callback;
    },
  });
  const release = () => {
    const callback = pending;
    pending = null;
    callback?.();
  };
  return { sink, received, release };
}

describe("streamChunks", () => {
  it("writes every chunk and ends, producing the next only after a drain", async () => {
    const { state, chunks } = source(5);
    const { sink, received, release } = slowSink();
    const outcome = streamChunks(sink, chunks, { stallMs: 5_000 });
    for (let i = 1; i <= 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      // One chunk in flight: the source is never more than one chunk ahead of the reader.
      expect(state.produced).toBe(i);
      release();
    }
    expect(await outcome).toBe("finished");
    expect(received).toEqual([0, 1, 2, 3, 4].map((i) => `chunk ${i}\n`));
    expect(state.closed).toBe(true);
  });

  it("cuts a reader that stops reading, and closes the source", async () => {
    const { state, chunks } = source(100);
    const { sink } = slowSink();
    expect(await streamChunks(sink, chunks, { stallMs: 50 })).toBe("stalled");
    expect(sink.destroyed).toBe(true);
    expect(state.produced).toBe(1);
    expect(state.closed).toBe(true);
  });

  it("stops reading the source when the reader goes away", async () => {
    const { state, chunks } = source(100);
    const { sink } = slowSink();
    const outcome = streamChunks(sink, chunks, { stallMs: 5_000 });
    await new Promise((resolve) => setImmediate(resolve));
    sink.destroy();
    expect(await outcome).toBe("closed");
    expect(state.produced).toBe(1);
    expect(state.closed).toBe(true);
  });
});
