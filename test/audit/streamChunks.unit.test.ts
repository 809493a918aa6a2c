// The export's writer: backpressure (no chunk is produced before the previous one drained), a
// deadline on a reader that stops reading, and a source that stops when the reader goes away.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { SLICE_CHARS, streamChunks } from "../../src/audit/http/streamChunks.ts";

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

/** A writable that takes 16 KiB every 5 ms, whatever it is given: a reader slow but never stopped. */
function steadySink() {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      let left = chunk.length;
      const take = () => {
        left -= 16 * 1024;
        if (left > 0) setTimeout(take, 5);
        else callback();
      };
      setTimeout(take, 5);
    },
  });
  return { sink, received };
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

  it("gives a page larger than a slice to a steady reader however long the page takes, characters intact", async () => {
    // 2 MB at 16 KiB per 5 ms takes about 640 ms, more than stallMs: the deadline is per slice. A
    // surrogate pair straddles the first slice's end, and must not be cut in two.
    const page = `${"a".repeat(SLICE_CHARS - 1)}\u{1F600}${"b".repeat(2_000_000)}\n`;
    async function* pages() {
      yield await Promise.resolve(page);
      yield await Promise.resolve("é\n");
    }
    const { sink, received } = steadySink();
    expect(await streamChunks(sink, pages(), { stallMs: 250 })).toBe("finished");
    expect(Buffer.concat(received).toString("utf8") === `${page}é\n`).toBe(true);
    expect(received.length).toBeGreaterThan(2_000_000 / SLICE_CHARS);
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
