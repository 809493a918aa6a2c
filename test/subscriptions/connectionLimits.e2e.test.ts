// Subscription connections are capped per client address, per principal and in total, WebSockets and
// SSE streams counted together: over the cap a WebSocket upgrade is refused before it completes and an
// SSE subscription gets a JSON answer instead of a stream, both 503 with Retry-After and
// TOO_MANY_CONNECTIONS; a slot comes back however its connection ends. WebSockets that have not
// authenticated yet (no connection_init) wait in a smaller pool of their own, with a deadline, and
// cannot take the room of authenticated subscribers. Other loopback addresses (127.0.0.2…) stand for
// other clients; without credentials a loopback client is the local administrator (AUTH=local).
// Nothing here depends on the database provider: SQLite only.
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually } from "../support/eventually.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const SUBSCRIPTION = "subscription { registryEvents { position } }";
const RETRY_AFTER = 7;

interface Refusal {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: any;
}

const readBody = (res: http.IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (text += chunk));
    res.on("end", () => resolve(text));
    res.on("error", reject);
  });

interface Closed {
  readonly code: number;
  readonly reason: string;
}

const webSocket = (server: TestServer, localAddress: string) =>
  new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws", { localAddress });

const closedOf = (socket: WebSocket) =>
  new Promise<Closed>((resolve) =>
    socket.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );

/**
 * A graphql-ws connection, acknowledged (so graphql-ws keeps it), the answer to its upgrade, or how
 * the server closed it after the upgrade.
 */
function openSocket(
  server: TestServer,
  localAddress = "127.0.0.1",
  connectionParams: Record<string, string> = {},
): Promise<WebSocket | Refusal | Closed> {
  const socket = webSocket(server, localAddress);
  return new Promise((resolve, reject) => {
    socket.on("open", () =>
      socket.send(JSON.stringify({ type: "connection_init", payload: connectionParams })),
    );
    socket.on("message", (data: Buffer) => {
      if (JSON.parse(data.toString()).type === "connection_ack") resolve(socket);
    });
    void closedOf(socket).then(resolve);
    socket.on("unexpected-response", (_req, res) => {
      void readBody(res).then((text) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
      );
    });
    socket.on("error", reject);
  });
}

/** A WebSocket whose upgrade completed and that sends nothing (no connection_init), or the refusal. */
function openSilentSocket(server: TestServer, localAddress: string): Promise<WebSocket | Refusal> {
  const socket = webSocket(server, localAddress);
  return new Promise((resolve, reject) => {
    socket.on("open", () => resolve(socket));
    socket.on("unexpected-response", (_req, res) => {
      void readBody(res).then((text) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
      );
    });
    socket.on("error", reject);
  });
}

/** Commits an event now and then until `notified` settles (a subscription sees only later events). */
async function committedUntil(server: TestServer, notified: Promise<unknown>) {
  let settled = false;
  void notified.finally(() => (settled = true)).catch(() => undefined);
  for (let i = 0; !settled; i++) {
    await server.gql(`mutation { createRegisteredModel(input: { name: "event-${i}" }) { __typename } }`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await notified;
}

/** Subscribes to every registry event on an acknowledged socket: its first notification. */
function firstEvent(socket: WebSocket, id: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString());
      if (message.id !== id) return;
      if (message.type === "next") resolve(message.payload);
      else reject(new Error(JSON.stringify(message)));
    });
    socket.send(JSON.stringify({ id, type: "subscribe", payload: { query: SUBSCRIPTION } }));
  });
}

interface Stream {
  readonly response: http.IncomingMessage;
  close(): void;
}

/** An SSE subscription (its response once the stream started), or the answer that refused it. */
function openStream(server: TestServer, localAddress = "127.0.0.1", query = SUBSCRIPTION) {
  return new Promise<Stream | Refusal>((resolve, reject) => {
    const req = http.request(`${server.graphqlUrl}`, {
      method: "POST",
      localAddress,
      headers: { "content-type": "application/json", accept: "text/event-stream" },
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
    req.on("response", (response) => {
      if (response.statusCode === 200) return resolve({ response, close: () => req.destroy() });
      void readBody(response).then((text) =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) }),
      );
    });
    req.end(JSON.stringify({ query }));
  });
}

const isRefusal = (value: unknown): value is Refusal => typeof (value as Refusal).status === "number";
const isClosed = (value: unknown): value is Closed => typeof (value as Closed).code === "number";

async function opened<T>(connection: Promise<T | Refusal | Closed>): Promise<T> {
  const result = await connection;
  if (isRefusal(result)) throw new Error(`refused: ${result.status} ${JSON.stringify(result.body)}`);
  if (isClosed(result)) throw new Error(`closed: ${result.code} ${result.reason}`);
  return result;
}

async function closedAfterUpgrade(connection: Promise<unknown>): Promise<Closed> {
  const result = await connection;
  if (!isClosed(result)) throw new Error("the server did not close the connection after its upgrade");
  return result;
}

async function refused(connection: Promise<unknown>): Promise<Refusal> {
  const result = await connection;
  if (!isRefusal(result)) throw new Error("the connection was accepted");
  return result;
}

function expectRefusal(
  refusal: Refusal,
  scope: "client" | "server" | "principal",
  limit: number,
  held = "open",
) {
  expect(refusal.status).toBe(503);
  expect(refusal.headers["retry-after"]).toBe(String(RETRY_AFTER));
  expect(refusal.body.errors).toEqual([
    {
      message: expect.stringMatching(
        new RegExp(`already has \\d+ subscription connections ${held}; retry later$`),
      ),
      extensions: { code: "TOO_MANY_CONNECTIONS", scope, limit, retryAfterSeconds: RETRY_AFTER },
    },
  ]);
}

describe("subscription connection caps", () => {
  let server: TestServer;
  const sockets: WebSocket[] = [];
  const streams: Stream[] = [];
  const slots = () => server.registro.subscriptionConnections.active;
  const freed = (count: number) => eventually(() => slots() === count, 10_000, `${count} slots in use`);

  /** Set by a test that closes its server itself. */
  let shutDown = false;

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    for (const stream of streams.splice(0)) stream.close();
    if (!shutDown) await server.close();
    shutDown = false;
  });

  it("refuses the 4th WebSocket and the 4th SSE stream of a client capped at 3, and frees a slot when one closes", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 3, maxTotal: 100, retryAfterSeconds: RETRY_AFTER },
    });
    sockets.push(await opened(openSocket(server)), await opened(openSocket(server)));
    streams.push(await opened(openStream(server)));
    expect(streams[0]!.response.headers["content-type"]).toMatch(/^text\/event-stream/);

    expectRefusal(await refused(openSocket(server)), "client", 3);
    expectRefusal(await refused(openStream(server)), "client", 3);
    expect(slots()).toBe(3); // refusals take nothing
    // Another address is another client; queries are never counted.
    sockets.push(await opened(openSocket(server, "127.0.0.2")));
    expect((await server.gql("{ __typename }")).data).toEqual({ __typename: "Query" });

    // A WebSocket the client closes gives its slot back: an SSE stream fits again.
    sockets.shift()!.close();
    await freed(3);
    streams.push(await opened(openStream(server)));
    expectRefusal(await refused(openSocket(server)), "client", 3);

    // An SSE stream the client leaves gives its slot back: a WebSocket fits again.
    streams.shift()!.close();
    await freed(3);
    sockets.push(await opened(openSocket(server)));
    expectRefusal(await refused(openStream(server)), "client", 3);
  });

  it("refuses a connection over the total cap, whoever asks, with scope server", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 10, maxTotal: 3, retryAfterSeconds: RETRY_AFTER },
    });
    sockets.push(await opened(openSocket(server, "127.0.0.1")));
    sockets.push(await opened(openSocket(server, "127.0.0.2")));
    streams.push(await opened(openStream(server, "127.0.0.3")));

    expectRefusal(await refused(openSocket(server, "127.0.0.4")), "server", 3);
    expectRefusal(await refused(openStream(server, "127.0.0.4")), "server", 3);

    sockets.pop()!.terminate(); // the client vanishes without a closing handshake
    await freed(2);
    sockets.push(await opened(openSocket(server, "127.0.0.4")));
  });

  it("gives slots back when the server ends the connection or the upgrade fails", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 1, maxTotal: 100, retryAfterSeconds: RETRY_AFTER },
    });
    // The server closes a WebSocket that sends a message only a server may send (4400).
    const socket = await opened(openSocket(server));
    expectRefusal(await refused(openStream(server)), "client", 1);
    const closed = new Promise<number>((resolve) => socket.once("close", resolve));
    socket.send('{"type":"next","id":"1","payload":{}}');
    expect(await closed).toBe(4400);
    await freed(0);

    // An upgrade ws cannot complete (no Sec-WebSocket-Key) is answered 400 and holds nothing.
    const raw = net.connect({ host: "127.0.0.1", port: Number(new URL(server.url).port) });
    raw.write(
      "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      raw.on("data", (chunk: Buffer) => (text += chunk.toString()));
      raw.on("close", () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    await freed(0);
    sockets.push(await opened(openSocket(server)));
    expectRefusal(await refused(openSocket(server)), "client", 1);
  });

  it("gives every slot back when the server shuts down (WebSockets closed with 1001, SSE streams ended)", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 2, maxTotal: 100, retryAfterSeconds: RETRY_AFTER },
    });
    const socket = await opened(openSocket(server));
    const stream = await opened(openStream(server));
    expectRefusal(await refused(openSocket(server)), "client", 2);
    const goingAway = new Promise<number>((resolve) => socket.once("close", resolve));
    const ended = readBody(stream.response);
    shutDown = true;
    await server.close();
    expect(await goingAway).toBe(1001);
    await ended;
    await freed(0);
  });

  it("counts uploads apart: a client at its connection cap still uploads, and still has no connection slot after it", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 1, maxTotal: 100, retryAfterSeconds: RETRY_AFTER },
      uploads: { maxPerClient: 1, maxTotal: 1 },
    });
    const name = "uploads-apart";
    await server.gql(`mutation { createRegisteredModel(input: { name: "${name}" }) { __typename } }`);
    await server.gql(
      `mutation { createModelVersion(input: { name: "${name}", source: "s3://x", pendingArtifacts: true }) { __typename } }`,
    );
    sockets.push(await opened(openSocket(server)));
    const upload = await fetch(`${server.url}/artifacts/${name}/1/weights.bin`, {
      method: "PUT",
      body: "bytes",
    });
    expect(upload.status).toBe(201);
    expectRefusal(await refused(openStream(server)), "client", 1);
    expect(slots()).toBe(1);
  });

  it("keeps room for authenticated subscribers while sockets that never authenticate fill the handshake pool", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: {
        maxPerClient: 100,
        maxTotal: 9,
        maxHandshakesPerClient: 2,
        maxHandshakesTotal: 4,
        handshakeTimeoutMs: 60_000,
        retryAfterSeconds: RETRY_AFTER,
      },
    });
    const subscriber = await opened(openSocket(server));
    sockets.push(subscriber);
    const running = firstEvent(subscriber, "before");
    // Eight sockets from four addresses that upgrade and never send connection_init: with the
    // subscriber, as many as the whole server once took.
    const silent: WebSocket[] = [];
    const closes: Promise<Closed>[] = [];
    for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"])
      for (let i = 0; i < 2; i++) {
        const socket = await opened(openSilentSocket(server, address));
        silent.push(socket);
        closes.push(closedOf(socket));
      }
    sockets.push(...silent);

    // Another client still connects and subscribes, and the subscriber from before still receives.
    const late = await opened(openSocket(server, "127.0.0.6"));
    sockets.push(late);
    const notified = firstEvent(late, "after");
    await committedUntil(server, Promise.all([notified, running]));
    expect(await notified).toMatchObject({ data: { registryEvents: { position: expect.any(Number) } } });
    expect(await running).toMatchObject({ data: { registryEvents: { position: expect.any(Number) } } });

    // The handshake pool held at most 4: the oldest waiting sockets made room, closed with 1013.
    expect(server.registro.subscriptionConnections.authenticating).toBe(3);
    const evicted = await Promise.all(closes.slice(0, 5));
    for (const closed of evicted)
      expect(closed).toEqual({
        code: 1013,
        reason:
          "TOO_MANY_CONNECTIONS: the server already has 4 subscription connections waiting to authenticate; retry later",
      });
    // An address may hold 2 waiting sockets; the third is refused before its upgrade completes.
    expectRefusal(
      await refused(openSilentSocket(server, "127.0.0.5")),
      "client",
      2,
      "waiting to authenticate",
    );
    expect(silent.slice(5).every((socket) => socket.readyState === WebSocket.OPEN)).toBe(true);
  });

  it("caps the connections of one principal across addresses, WebSockets and SSE streams alike", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: {
        maxPerClient: 10,
        maxTotal: 100,
        maxPerPrincipal: 2,
        retryAfterSeconds: RETRY_AFTER,
      },
    });
    const other = await createServiceAccount((...args) => server.gql(...args), "other-subscriber");
    // Without credentials every loopback client is the local administrator: one principal.
    sockets.push(await opened(openSocket(server, "127.0.0.1")));
    streams.push(await opened(openStream(server, "127.0.0.2")));
    // Its third connection is refused after connection_init (its principal is known only then).
    expect(await closedAfterUpgrade(openSocket(server, "127.0.0.3"))).toEqual({
      code: 1013,
      reason: "TOO_MANY_CONNECTIONS: this principal already has 2 subscription connections open; retry later",
    });
    expectRefusal(await refused(openStream(server, "127.0.0.3")), "principal", 2);
    await freed(2);

    // Another principal, from the same addresses, is not affected.
    sockets.push(await opened(openSocket(server, "127.0.0.3", other.headers)));
    sockets.push(await opened(openSocket(server, "127.0.0.1", other.headers)));
    expect(await closedAfterUpgrade(openSocket(server, "127.0.0.1", other.headers))).toMatchObject({
      code: 1013,
    });

    // A closed connection gives the principal's slot back.
    streams.shift()!.close();
    await freed(3);
    sockets.push(await opened(openSocket(server, "127.0.0.4")));
    await freed(4);
  });

  it("closes a socket that has not authenticated by its deadline with 4408, and cuts one that ignores the close", async () => {
    server = await startTestServer("sqlite", {
      subscriptionConnections: { maxPerClient: 10, maxTotal: 100, handshakeTimeoutMs: 300 },
    });
    const started = Date.now();
    const silent = await opened(openSilentSocket(server, "127.0.0.2"));
    sockets.push(silent);
    const ready = await opened(openSocket(server, "127.0.0.3"));
    sockets.push(ready);
    expect(await closedOf(silent)).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
    await freed(1);
    // The socket that authenticated in time is past the deadline and still served.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ready.readyState).toBe(WebSocket.OPEN);
    const notified = firstEvent(ready, "1");
    await committedUntil(server, notified);

    // A client that completes the upgrade and then answers nothing, not even the close frame.
    const raw = net.connect({
      host: "127.0.0.1",
      port: Number(new URL(server.url).port),
      localAddress: "127.0.0.4",
    });
    raw.resume(); // reads what the server sends (the 101, then a close frame) and answers nothing
    const cut = new Promise<number>((resolve) => raw.on("close", () => resolve(Date.now())));
    const upgraded = Date.now();
    raw.write(
      "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
    );
    expect((await cut) - upgraded).toBeLessThan(5_000);
    await freed(1);
  });
});
