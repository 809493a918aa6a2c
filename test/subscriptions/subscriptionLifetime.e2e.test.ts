// A subscription lives exactly as long as its connection, on every transport. The fuzz suite found
// subscriptions sent as POSTs accepting JSON or multipart/mixed, whose clients then left, still
// registered on the hub: each kept receiving and queueing every committed event until the process
// ran out of memory. Here clients leave at every moment (before the answer, during it, after it)
// and the hub must end up with no subscriber.
import net from "node:net";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
let port: number;
beforeAll(async () => {
  server = await startTestServer("sqlite");
  port = Number(new URL(server.url).port);
});
afterAll(async () => server?.close());

const subscribers = () => server.registro.liveEvents.hub.subscriberCount;

async function settlesToNoSubscriber() {
  for (let i = 0; i < 50 && subscribers() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(subscribers()).toBe(0);
}

/** Sends a raw request and hangs up after `afterMs`, whatever the server has answered by then. */
function hangUp(request: string, afterMs: number) {
  return new Promise<void>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(request);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, afterMs);
    });
    socket.on("error", () => resolve());
  });
}

const SUBSCRIPTION = "subscription { registryEvents { __typename } }";

describe("subscriptions end with their connection", () => {
  it.each([
    ["multipart/mixed", 300],
    ["application/json", 300],
    ["application/graphql-response+json", 300],
    ["application/xml", 300],
    ["*/*", 300],
    ["text/event-stream", 300],
    ["text/event-stream", 0],
    ["multipart/mixed", 0],
  ])("over a POST accepting %s, its client gone after %i ms", async (accept, afterMs) => {
    const body = JSON.stringify({ query: SUBSCRIPTION });
    const request =
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: ${accept}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    await Promise.all(Array.from({ length: 20 }, () => hangUp(request, afterMs)));
    await settlesToNoSubscriber();
  });

  it.each([0, 10, 300])("over SSE by GET, its client gone after %i ms", async (afterMs) => {
    const query = new URLSearchParams({ query: SUBSCRIPTION });
    const request =
      `GET /graphql?${query.toString()} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n` +
      `x-registro-csrf: 1\r\n\r\n`;
    await Promise.all(Array.from({ length: 20 }, () => hangUp(request, afterMs)));
    await settlesToNoSubscriber();
  });

  it.each([
    [0, "close"],
    [0, "terminate"],
    [20, "terminate"],
  ] as const)("over a WebSocket gone after %i ms (%s)", async (afterMs, how) => {
    const session = () =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, ["graphql-transport-ws"]);
        ws.on("error", () => undefined);
        ws.on("close", () => resolve());
        ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
        ws.once("message", () => {
          for (const id of ["1", "2"])
            ws.send(JSON.stringify({ type: "subscribe", id, payload: { query: SUBSCRIPTION } }));
          setTimeout(() => (how === "close" ? ws.close() : ws.terminate()), afterMs);
        });
      });
    await Promise.all(Array.from({ length: 20 }, session));
    await settlesToNoSubscriber();
  });

  it("keeps a subscription whose client stays", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, ["graphql-transport-ws"]);
    await new Promise((resolve) => ws.on("open", resolve));
    ws.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((resolve) => ws.once("message", resolve)); // connection_ack
    ws.send(JSON.stringify({ type: "subscribe", id: "1", payload: { query: SUBSCRIPTION } }));
    for (let i = 0; i < 50 && subscribers() === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(subscribers()).toBe(1);
    ws.close();
    await settlesToNoSubscriber();
  });
});
