// Shutdown order in the composition root (src/registro.ts): the HTTP listener stops accepting as
// soon as the registry closes, whatever else is still finishing (an audit checkpoint being signed).
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

/** How a TCP connection attempt to `port` ends: accepted, or the error code. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

describe("closing the registry", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await server?.close().catch(() => undefined);
    server = undefined;
  });

  it("stops accepting connections while an audit checkpoint is still finishing", async () => {
    server = await startTestServer("sqlite");
    const { checkpoints } = server.registro;
    const close = checkpoints.close.bind(checkpoints);
    let finishCheckpoint!: () => void;
    const checkpointFinished = new Promise<void>((resolve) => (finishCheckpoint = resolve));
    let checkpointClosing = false;
    // A checkpoint in progress: the scheduler's close waits for it.
    vi.spyOn(checkpoints, "close").mockImplementation(async () => {
      checkpointClosing = true;
      await checkpointFinished;
      await close();
    });
    const port = Number(new URL(server.url).port);
    expect(await connectOutcome(port)).toBe("accepted");
    const closing = server.close({ inFlightGraceMs: 1_000 });
    server = undefined;
    expect(checkpointClosing).toBe(true);
    // The listener closes in the same turn as the close began: nothing is accepted after.
    const outcome = await connectOutcome(port);
    finishCheckpoint();
    await closing;
    expect(outcome).toBe("ECONNREFUSED");
  });
});
