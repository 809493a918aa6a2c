// Subscription connections are capped per client address and in total, WebSockets and SSE streams
// counted together: over the cap a WebSocket upgrade is refused before it completes and an SSE
// subscription gets a JSON answer instead of a stream, both 503 with Retry-After and
// TOO_MANY_CONNECTIONS; a slot comes back however its connection ends. Other loopback addresses
// (127.0.0.2…) stand for other clients. Nothing here depends on the database provider: SQLite only.
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually } from "../support/eventually.ts";
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

/** A graphql-ws connection, acknowledged (so graphql-ws keeps it), or the answer to its upgrade. */
function openSocket(server: TestServer, localAddress = "127.0.0.1"): Promise<WebSocket | Refusal> {
  const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws", {
    localAddress,
  });
  return new Promise((resolve, reject) => {
    socket.on("open", () => socket.send('{"type":"connection_init","payload":{}}'));
    socket.on("message", (data: Buffer) => {
      if (JSON.parse(data.toString()).type === "connection_ack") resolve(socket);
    });
    socket.on("unexpected-response", (_req, res) => {
      void readBody(res).then((text) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
      );
    });
    socket.on("error", reject);
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

async function opened<T>(connection: Promise<T | Refusal>): Promise<T> {
  const result = await connection;
  if (isRefusal(result)) throw new Error(`refused: ${result.status} ${JSON.stringify(result.body)}`);
  return result;
}

async function refused(connection: Promise<unknown>): Promise<Refusal> {
  const result = await connection;
  if (!isRefusal(result)) throw new Error("the connection was accepted");
  return result;
}

function expectRefusal(refusal: Refusal, scope: "client" | "server", limit: number) {
  expect(refusal.status).toBe(503);
  expect(refusal.headers["retry-after"]).toBe(String(RETRY_AFTER));
  expect(refusal.body.errors).toEqual([
    {
      message: expect.stringMatching(/already has \d+ subscription connections open; retry later$/),
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
});
