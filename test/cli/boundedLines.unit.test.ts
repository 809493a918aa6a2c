// Files given to the commands may be hostile: a line without end must end the read, not the process.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { LineSplitter, LineTooLongError, boundedLines } from "../../src/cli/boundedLines.ts";

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

  it("splits the same wherever the chunks end: inside \r\n, inside a multi-byte character, one byte at a time", async () => {
    const file = path.join(dir, "chunked.ndjson");
    const text = `{"a":"é€😀"}\r\n\n${"z".repeat(3000)}\nlast without end é`;
    writeFileSync(file, text);
    const expected = [`{"a":"é€😀"}`, "", "z".repeat(3000), "last without end é"];
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      const rechunk = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          for (let i = 0; i < chunk.length; i += size) this.push(chunk.subarray(i, i + size));
          callback();
        },
      });
      expect((await collect(file, { through: rechunk })).map((l) => l.text)).toEqual(expected);
    }
  });

  it("bounds a line exactly: maxChars bytes pass, one more is refused, ended in one chunk or spread over many", async () => {
    const file = path.join(dir, "bound.ndjson");
    for (const [line, ok] of [
      ["x".repeat(100), true],
      [`${"x".repeat(100)}\r`, true],
      ["x".repeat(101), false],
    ] as const) {
      writeFileSync(file, `a\n${line}\nb\n`);
      for (const size of [1, 7, 1 << 16]) {
        const rechunk = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            for (let i = 0; i < chunk.length; i += size) this.push(chunk.subarray(i, i + size));
            callback();
          },
        });
        const read = collect(file, { maxChars: 100, through: rechunk });
        if (ok) expect((await read).map((l) => l.text)).toEqual(["a", "x".repeat(100), "b"]);
        else await expect(read).rejects.toMatchObject({ name: "LineTooLongError", line: 2, maxChars: 100 });
      }
    }
  });

  it("scans each byte of a 16 MiB line once, however many chunks it comes in (split2 rescanned the whole line per chunk)", () => {
    const size = 16 * 1024 * 1024;
    const chunk = Buffer.alloc(16 * 1024, "q");
    const splitter = new LineSplitter(64 * 1024 * 1024);
    for (let sent = 0; sent < size; sent += chunk.length) {
      splitter.push(chunk);
      expect(splitter.next()).toBeNull();
    }
    splitter.push(Buffer.from("\nnext\n"));
    expect(splitter.next()).toHaveLength(size);
    expect(splitter.next()).toBe("next");
    expect(splitter.next()).toBeNull();
    expect(splitter.end()).toBeNull();
    expect(splitter.scanned).toBe(size + 6);
  });

  it("refuses a symlink or a named pipe with regularFileOnly, without following or opening it", async () => {
    const target = path.join(dir, "target.ndjson");
    writeFileSync(target, "a\n");
    const link = path.join(dir, "link.ndjson");
    symlinkSync(target, link);
    expect(await collect(link)).toEqual([{ line: 1, text: "a" }]);
    await expect(collect(link, { regularFileOnly: true })).rejects.toMatchObject({
      name: "NotARegularFileError",
      found: "a symbolic link",
    });
    const fifo = path.join(dir, "fifo.ndjson");
    execFileSync("mkfifo", [fifo]);
    await expect(collect(fifo, { regularFileOnly: true })).rejects.toMatchObject({
      name: "NotARegularFileError",
      found: "a named pipe",
    });
  }, 10_000);
});
