// Garbage on the GraphQL WebSocket: protocol-level nonsense (frames that are not JSON, messages out
// of order, hostile connection params, oversize frames) through a real ws client, and bytes that
// are not WebSocket frames at all on a raw upgraded socket. A session passes when the server ends
// it (or keeps it) without failing, and stays healthy for everyone else.
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import net from "node:net";
import WebSocket from "ws";
import type { Random } from "../support/random.ts";
import { hostileJson, hostileString } from "./hostileRequests.ts";

const PROTOCOL = "graphql-transport-ws";

function hostileMessage(r: Random): string | Buffer {
  return r.pick<() => string | Buffer>([
    () => JSON.stringify({ type: "connection_init", payload: hostileJson(r, 3) }),
    () =>
      '{"type":"connection_init","payload":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
    // Credentials in the connection parameters, which may be as long as a frame (1 MiB): a run of
    // base64 padding before another character once took minutes to parse (src/access/authenticate.ts).
    () =>
      JSON.stringify({
        type: "connection_init",
        payload: {
          [r.pick(["authorization", "Authorization", "AUTHORIZATION"])]: r.pick([
            () => `Basic ${"=".repeat(r.int(100_000, 1_000_000))}x`,
            () => `Bearer ${"a".repeat(r.int(100_000, 1_000_000))} x`,
            () => `Basic ${"A".repeat(r.int(100_000, 1_000_000))}`,
            () => `${" ".repeat(r.int(100_000, 1_000_000))}Bearer`,
            () => hostileString(r),
          ])(),
        },
      }),
    () =>
      JSON.stringify({
        type: "subscribe",
        id: hostileString(r),
        payload: { query: "subscription { registryEvents { __typename } }" },
      }),
    () =>
      JSON.stringify({
        type: "subscribe",
        id: String(r.int(0, 5)),
        payload: {
          query: `subscription($after: String) { registryEvents(after: $after) { __typename } }`,
          variables: { after: hostileString(r) },
        },
      }),
    () => JSON.stringify({ type: "subscribe", id: "1", payload: { query: "{ " + "a { ".repeat(2000) } }),
    () => JSON.stringify({ type: "subscribe", id: "1", payload: hostileJson(r, 3) }),
    () => JSON.stringify({ type: "complete", id: hostileString(r) }),
    () =>
      JSON.stringify({
        type: r.pick(["ping", "pong", "next", "error", "ka", "start", "connection_ack"]),
        payload: hostileJson(r, 2),
      }),
    () => JSON.stringify(hostileJson(r, 4)),
    () => cryptoRandomBytes(r.int(0, 512)),
    () => "x".repeat(r.pick([10, (1 << 20) + 1])),
    () => "{".repeat(r.int(1, 100_000)),
    () =>
      '{"type":"subscribe","id":"1","payload":{"query":"subscription { registryEvents { __typename } }","variables":' +
      "[".repeat(50_000) +
      "]".repeat(50_000) +
      "}}",
  ])();
}

/** One ws-client session of hostile messages; resolves when the socket closed or the session ended. */
export function hostileWebSocketSession(r: Random, port: number): Promise<{ closeCode: number | null }> {
  return new Promise((resolve) => {
    const protocols = r.chance(0.85) ? [PROTOCOL] : r.pick([[], ["graphql-ws"], ["bogus"]]);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, protocols, { handshakeTimeout: 10_000 });
    let closeCode: number | null = null;
    const done = () => {
      clearTimeout(timer);
      resolve({ closeCode });
    };
    const timer = setTimeout(() => {
      socket.terminate();
    }, 3_000);
    socket.on("error", () => undefined);
    socket.on("close", (code) => {
      closeCode = code;
      done();
    });
    socket.on("unexpected-response", (_request, response) => {
      closeCode = response.statusCode ?? null;
      socket.terminate();
    });
    socket.on("open", () => {
      const count = r.int(1, 6);
      for (let i = 0; i < count && socket.readyState === WebSocket.OPEN; i++) socket.send(hostileMessage(r));
      setTimeout(() => socket.close(), r.int(10, 300));
    });
  });
}

/** Upgrades a raw socket properly, then writes bytes that are not valid (client) WebSocket frames. */
export function rawGarbageAfterUpgrade(r: Random, port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    let upgraded = false;
    socket.on("data", (chunk: Buffer) => {
      if (upgraded) return;
      upgraded = true;
      if (!chunk.toString("latin1").startsWith("HTTP/1.1 101")) return void socket.destroy();
      const garbage = r.pick<() => Buffer>([
        () => cryptoRandomBytes(r.int(1, 4096)),
        // An unmasked text frame (clients must mask).
        () => Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]),
        // A reserved opcode.
        () => Buffer.from([0x83, 0x80, 0, 0, 0, 0]),
        // A frame announcing 2^63 bytes.
        () => Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
        // A fragmented control frame.
        () => Buffer.from([0x09, 0x80, 1, 2, 3, 4]),
      ])();
      socket.write(garbage);
      setTimeout(() => socket.end(), 200);
    });
    socket.on("connect", () => {
      const key = cryptoRandomBytes(16).toString("base64");
      socket.write(
        `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL}\r\n\r\n`,
      );
    });
  });
}
