// Sources and sinks for blob store tests: every item of an async iterable, and an upload body that
// breaks midway like a client whose connection is reset.

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A source that yields some bytes, then fails like a connection reset mid-body. */
export async function* brokenSource(): AsyncGenerator<Buffer> {
  yield Buffer.alloc(64 * 1024, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  yield Buffer.alloc(64 * 1024, 2);
  throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}
