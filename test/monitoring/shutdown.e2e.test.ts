// Graceful shutdown of a real process: on SIGTERM /readyz fails at once while requests are still
// served (SHUTDOWN_DELAY_MS), then the listener closes (new connections are refused), WebSocket
// subscribers get 1001 Going Away, the request in flight finishes, and the process exits 0.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually } from "../support/eventually.ts";
import { startServerProcess } from "../support/serverProcess.ts";
import type { ServerProcess } from "../support/serverProcess.ts";

/** A POST whose body arrives in two parts: in flight until `finish` is called. */
function slowRequest(port: number, body: string) {
  const split = Math.floor(body.length / 2);
  let finish!: () => void;
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/graphql",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += String(chunk)));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.write(body.slice(0, split));
    finish = () => req.end(body.slice(split));
  });
  return { answered, finish: () => finish() };
}

const refused = (url: string) =>
  fetch(`${url}/healthz`).then(
    () => false,
    (error: Error & { cause?: { code?: string } }) => error.cause?.code === "ECONNREFUSED",
  );

describe("SIGTERM", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-shutdown-"));
  let server: ServerProcess | undefined;
  afterAll(() => {
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("fails readiness, drains the request in flight and the subscriptions, refuses new connections, exits 0", async () => {
    server = await startServerProcess({
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      SHUTDOWN_DELAY_MS: "1000",
      SHUTDOWN_TIMEOUT_MS: "20000",
      REQUEST_BODY_MIN_RATE: "0",
      INSPECTION: "off",
    });
    const { child, port, url } = server;
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // A subscriber over WebSocket.
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
      socket.on("message", (data: Buffer) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === "connection_ack") {
          socket.send(
            JSON.stringify({
              id: "1",
              type: "subscribe",
              payload: { query: "subscription { registryEvents { position } }" },
            }),
          );
          resolve();
        }
      });
    });

    const slow = slowRequest(
      port,
      JSON.stringify({
        query: `mutation InFlight { createRegisteredModel(input: { name: "created during shutdown" }) { __typename } }`,
      }),
    );
    // The request is in flight (its headers arrived) before the signal.
    await eventually(() => output.includes('"route":"/readyz"'), 10_000, "the readyz log line");
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill("SIGTERM");

    // Readiness fails at once, while the listener still accepts.
    const ready = await eventually(
      async () => {
        const response = await fetch(`${url}/readyz`);
        return response.status === 503 ? response : null;
      },
      5_000,
      "/readyz to answer 503",
    );
    const report = (await ready!.json()) as { checks: { shutdown: { ok: boolean } } };
    expect(report.checks.shutdown.ok).toBe(false);

    // Then the listener closes: new connections are refused while the slow request is still open.
    await eventually(() => refused(url), 10_000, "new connections to be refused");
    expect(await closed).toBe(1001);
    expect(child.exitCode).toBeNull();

    slow.finish();
    const answer = await slow.answered;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      data: { createRegisteredModel: { __typename: "RegisteredModelPayload" } },
    });
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    // The request that finished during shutdown has its log line.
    expect(output).toMatch(/"operations":\["InFlight"\][^\n]*"outcome":"ok"/);
  }, 60_000);
});
