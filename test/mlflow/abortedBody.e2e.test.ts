// A client that goes away in the middle of an MLflow request body is nobody's error: the server logs
// it as information, not as an internal error of the RPC (it logged a stack trace at level error).
import net from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

describe("an MLflow request body cut short by the client", () => {
  let server: TestServer;
  const lines: { level: number; msg: string }[] = [];

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk)
          .split("\n")
          .filter((l) => l !== ""))
          lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    server = await startTestServer("sqlite", { logger: pino({ level: "info" }, destination) });
  });
  afterAll(async () => server?.close());

  it("is logged as information, not as an internal error", async () => {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      "POST /api/2.0/mlflow/registered-models/create HTTP/1.1\r\nHost: localhost\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" +
        '{"name":',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await eventually(
      () => lines.some((l) => l.msg.includes("the client aborted")),
      10_000,
      `the abort's log line (logged: ${JSON.stringify(lines.map((l) => l.msg))})`,
    );
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
  });
});
