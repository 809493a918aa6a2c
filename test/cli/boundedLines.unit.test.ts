// Files given to the commands may be hostile: a line without end must end the read, not the process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { LineTooLongError, boundedLines } from "../../src/cli/boundedLines.ts";

const dir = mkdtempSync(path.join(tmpdir(), "registro-lines-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(file: string, options: Parameters<typeof boundedLines>[1] = {}) {
  const lines: { line: number; text: string }[] = [];
  for await (const entry of boundedLines(file, options)) lines.push(entry);
  return lines;
}

describe("boundedLines", () => {
  it("yields numbered lines, empty ones included, without a trailing empty line", async () => {
    const file = path.join(dir, "plain.ndjson");
    writeFileSync(file, "a\n\nc\r\nd\n");
    expect(await collect(file)).toEqual([
      { line: 1, text: "a" },
      { line: 2, text: "" },
      { line: 3, text: "c" },
      { line: 4, text: "d" },
    ]);
  });

  it("passes the bytes through a given stage (a hashing meter) on the way", async () => {
    const file = path.join(dir, "metered.ndjson");
    writeFileSync(file, "one\ntwo\n");
    let bytes = 0;
    const through = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    expect((await collect(file, { through })).map((l) => l.text)).toEqual(["one", "two"]);
    expect(bytes).toBe(8);
  });

  it("stops at a line longer than the bound, naming it, instead of gathering it", async () => {
    const file = path.join(dir, "long.ndjson");
    writeFileSync(file, `short\n${"x".repeat(5000)}\nnever read\n`);
    const seen: string[] = [];
    const read = async () => {
      for await (const { text } of boundedLines(file, { maxChars: 1000 })) seen.push(text);
    };
    await expect(read()).rejects.toThrow(LineTooLongError);
    await expect(read()).rejects.toMatchObject({ line: 2, maxChars: 1000 });
    expect(seen[0]).toBe("short");
    expect(seen).not.toContain("never read");
  });

  it("stops at a line that never ends, spread over many chunks, holding at most about the bound", async () => {
    const file = path.join(dir, "endless.ndjson");
    writeFileSync(file, `ok\n${"y".repeat(1024 * 1024)}`);
    const read = async () => {
      for await (const entry of boundedLines(file, { maxChars: 100_000 })) void entry;
    };
    await expect(read()).rejects.toMatchObject({ name: "LineTooLongError", line: 2 });
  });
});
