// The handshake pool of WebSockets that have not authenticated, against a real server and clients
// that never answer a close frame (nor send connection_init): when a new upgrade evicts the oldest,
// the evicted socket is cut off at once, so at no moment does the server hold more such sockets open
// than the pool's cap. SQLite only: nothing here touches the database.
import net from "node:net";
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const CAP = 2;
const UPGRADE =
  "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("sqlite", {
    subscriptionConnections: {
      maxPerClient: 100,
      maxTotal: 100,
      maxHandshakesPerClient: 100,
      maxHandshakesTotal: CAP,
      handshakeTimeoutMs: 60_000,
    },
  });
});
afterAll(async () => server?.close());

/** A client that upgrades, then reads what it is sent (the 101, a close frame) and answers nothing. */
function silentUpgrade(port: number) {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => undefined);
  const received: Buffer[] = [];
  const upgraded = new Promise<void>((resolve) =>
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (Buffer.concat(received).includes("\r\n\r\n")) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write(UPGRADE);
  return { socket, upgraded, closed, received: () => Buffer.concat(received) };
}

it("cuts an evicted socket off as its slot goes to a new upgrade: never more open than the cap", async () => {
  const port = Number(new URL(server.url).port);
  const { server: http } = server.registro.app;
  // The server's side of every upgrade, looked at right after the server handled it (listeners run
  // in order: the registry's first), eviction included.
  const upgraded: Duplex[] = [];
  const mostOpen: number[] = [];
  const watch = (_req: unknown, socket: Duplex) => {
    upgraded.push(socket);
    mostOpen.push(upgraded.filter((s) => !s.destroyed).length);
  };
  http.on("upgrade", watch);
  const clients = [];
  try {
    for (let i = 0; i < 6; i++) {
      const client = silentUpgrade(port);
      clients.push(client);
      await client.upgraded;
      expect(client.received().toString("latin1")).toMatch(/^HTTP\/1\.1 101 /);
      expect(upgraded.filter((s) => !s.destroyed).length).toBeLessThanOrEqual(CAP);
    }
    expect(mostOpen).toEqual([1, 2, 2, 2, 2, 2]);
    expect(server.registro.subscriptionConnections.authenticating).toBe(CAP);
    // The evicted clients are cut off without having answered anything, the reason sent first.
    await Promise.all(clients.slice(0, 4).map((c) => c.closed));
    for (const client of clients.slice(0, 4))
      expect(client.received().toString("latin1")).toContain("TOO_MANY_CONNECTIONS");
    expect(clients.slice(4).every((c) => !c.socket.destroyed)).toBe(true);
  } finally {
    http.off("upgrade", watch);
    for (const client of clients) client.socket.destroy();
  }
});
