// The log destination never blocks and never throws: it drops lines while stdout lags too far
// behind, and all lines after stdout failed (EPIPE).
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { createLogger, nonBlockingDestination } from "../../src/logger.ts";

class FakeStdout extends EventEmitter {
  writableLength = 0;
  readonly lines: string[] = [];
  write(chunk: string) {
    this.lines.push(chunk);
    this.writableLength += chunk.length;
    return true;
  }
}

describe("nonBlockingDestination", () => {
  it("writes while the stream keeps up, drops while it lags past the bound, and resumes after", () => {
    const stdout = new FakeStdout();
    const destination = nonBlockingDestination(stdout, 100);
    const logger = createLogger("info", destination);
    logger.info("first");
    expect(stdout.lines).toHaveLength(1);
    expect(JSON.parse(stdout.lines[0]!)).toMatchObject({ msg: "first", service: "registro" });
    stdout.writableLength = 101;
    logger.info("lost");
    logger.info("lost too");
    expect(stdout.lines).toHaveLength(1);
    expect(destination.dropped).toBe(2);
    stdout.writableLength = 0;
    logger.info("again");
    expect(stdout.lines.map((l) => JSON.parse(l).msg)).toEqual(["first", "again"]);
  });

  it("drops every line once the stream failed, instead of throwing", () => {
    const stdout = new FakeStdout();
    const destination = nonBlockingDestination(stdout, 100);
    const logger = createLogger("info", destination);
    stdout.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(() => logger.info("into the void")).not.toThrow();
    expect(stdout.lines).toEqual([]);
    expect(destination.dropped).toBe(1);
  });
});
