// The registry's shutdown and connections whose client went away while their request waited on
// async work (a credential check, a body still arriving, a WebSocket's connection_init): none of
// them holds the shutdown open until the in-flight grace (5 s) cuts it, and neither does a
// connection that never sent a request (the spare one undici opens when a fetch is aborted, a
// browser's preconnect). A request from a client still connected is answered during the shutdown,
// which ends right after it. Timed on the real clock: the bounds are far above what a close takes
// here (tens of ms) and far below the grace.
import net from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Caller } from "../../src/access/principal.ts";
import { eventually } from "../support/eventually.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

/** A directory whose token checks wait, while `held` is set, for it (as one waiting on an issuer's keys). */
class SlowDirectory extends InMemoryPrincipalDirectory {
  held: Promise<void> | null = null;
  #checking: (() => void)[] = [];
  override async verifyToken(secret: string, now: Date): Promise<Caller | null> {
    for (const started of this.#checking.splice(0)) started();
    if (this.held !== null) await this.held;
    return super.verifyToken(secret, now);
  }
  /** Resolves once a token check has started. */
  checking(): Promise<void> {
    return new Promise((resolve) => this.#checking.push(resolve));
  }
}

/** Far below the 5 s grace (and undici's 4 s keep-alive, which ended its spare connection before). */
const QUICK_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds `work` takes. */
async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Resolves once `socket` has closed. */
const closedSocket = (socket: net.Socket) =>
  new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));

describe("shutdown with abandoned requests and unused connections (sqlite)", () => {
  let server: TestServer | undefined;
  let release: () => void = () => undefined;
  /** Sockets of either side that a failed test could leave open (they would hold the close). */
  const leftOpen = new Set<Duplex>();
  afterEach(async () => {
    release();
    for (const socket of leftOpen) socket.destroy();
    leftOpen.clear();
    await server?.close();
    server = undefined;
  });

  /** A server under AUTH=local whose token checks wait until `release` is called. */
  async function start() {
    const directory = new SlowDirectory();
    const { secret } = directory.issueToken(principal("alice"));
    directory.held = new Promise((resolve) => (release = resolve));
    server = await startTestServer("sqlite", { auth: { mode: "local", directory } });
    const s = server;
    /** The registry's shutdown (what SIGTERM runs), in ms; afterEach has nothing left to close. */
    const close = () =>
      timed(async () => {
        server = undefined;
        await s.close();
      });
    return { s, directory, secret, port: Number(new URL(s.url).port), close };
  }

  /** A raw connection to `port`; errors (resets by the server) are expected. */
  async function connect(port: number) {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.resume();
    await new Promise((resolve) => socket.once("connect", resolve));
    return socket;
  }

  /**
   * A raw connection that keeps its own half open after the server ends its half (what a client may
   * do, and what Node's server does by default): only the server closing its socket ends it.
   */
  async function connectHalfOpen(port: number) {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    leftOpen.add(socket);
    socket.on("error", () => undefined);
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += String(chunk)));
    const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
    await new Promise((resolve) => socket.once("connect", resolve));
    return { socket, ended, received: () => received };
  }

  /** A WebSocket upgrade request for `target`, with `headers` (CRLF-terminated lines) added. */
  const upgradeRequest = (target: string, headers = "") =>
    `GET ${target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`;

  /** The connections the server holds open, upgraded ones included. */
  const serverConnections = (s: TestServer) =>
    new Promise<number>((resolve, reject) =>
      s.registro.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );

  /** `closing`'s outcome, or STILL_OPEN if it has not finished within HANG_MS. */
  const STILL_OPEN = "still closing";
  const HANG_MS = 10_000;
  const within = <T>(closing: Promise<T>) => Promise.race([closing, sleep(HANG_MS).then(() => STILL_OPEN)]);

  const BODY = JSON.stringify({ query: "{ __typename }" });
  const head = (secret: string, length = Buffer.byteLength(BODY)) =>
    `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${secret}\r\nContent-Length: ${length}\r\n\r\n`;

  it("closes at once after a fetch was aborted while its credentials were checked", async () => {
    const { s, directory, secret, close } = await start();
    const checking = directory.checking();
    const gone = new AbortController();
    const abandoned = fetch(s.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: BODY,
      signal: gone.signal,
    }).catch((error: unknown) => error);
    await checking;
    gone.abort();
    expect(await abandoned).toMatchObject({ name: "AbortError" });
    await sleep(100);
    // The check is still pending; undici has opened a spare connection it sends nothing on.
    expect(await close()).toBeLessThan(QUICK_MS);
  });

  it("closes at once after a raw client left during its credential check, or during its body", async () => {
    const { directory, secret, port, close } = await start();
    const duringCheck = await connect(port);
    const checking = directory.checking();
    duringCheck.write(head(secret) + BODY);
    await checking;
    duringCheck.destroy();
    const duringBody = await connect(port);
    duringBody.write(head(secret, 1_000) + '{"query":');
    await sleep(100);
    duringBody.destroy();
    await sleep(100);
    expect(await close()).toBeLessThan(QUICK_MS);
  });

  it("closes at once with a connection open that has sent nothing yet (a preconnect), and cuts it", async () => {
    const { port, close } = await start();
    const unused = await connect(port);
    await sleep(200);
    expect(await close()).toBeLessThan(QUICK_MS);
    await closedSocket(unused);
  });

  it("does not cut a connection whose request waits unread in the kernel after the event loop was busy", async () => {
    const { directory, secret, port, close } = await start();
    // A request in flight keeps the shutdown (and its reaper) going.
    const inFlight = await connect(port);
    const checking = directory.checking();
    inFlight.write(head(secret) + BODY);
    await checking;
    const late = await connect(port);
    let answer = "";
    late.on("data", (chunk: Buffer) => (answer += String(chunk)));
    const answered = new Promise<void>((resolve) => late.once("data", () => resolve()));
    const closing = close();
    await sleep(20);
    // Its request is sent, then the event loop is busy past the reaper's 100 ms: when the reaper
    // next looks, Node has read nothing of it yet.
    late.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const busyUntil = performance.now() + 150;
    while (performance.now() < busyUntil);
    await Promise.race([answered, sleep(QUICK_MS)]);
    // Answered (the shutdown then closes it, idle, as any other).
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    release();
    await closing;
  });

  it("reports as cut only connections in the middle of a request, not one that never sent a byte", async () => {
    const { s, secret, port } = await start();
    server = undefined;
    // A connection just opened (younger than the reaper's 100 ms), and none in flight.
    const young = await connect(port);
    expect(await s.close({ inFlightGraceMs: 0 })).toEqual({ cutConnections: 0 });
    await closedSocket(young);
    // A request whose body never ends is cut at the end of its grace, and says so.
    const second = await start();
    server = undefined;
    const stuck = await connect(second.port);
    stuck.write(head(secret, 1_000) + '{"query":');
    await sleep(100);
    expect(await second.s.close({ inFlightGraceMs: 50 })).toEqual({ cutConnections: 1 });
  });

  it.each([
    ["a path other than the GraphQL one", "/not-graphql", "", 404],
    ["an origin not allowed", "/graphql", "Origin: https://elsewhere.example\r\n", 403],
    ["a target that is not a valid URL", "//[", "", 400],
  ])(
    "closes the connection of an upgrade refused for %s, though its client keeps its half open",
    async (_why, target, headers, status) => {
      const { s, port } = await start();
      const client = await connectHalfOpen(port);
      client.socket.write(upgradeRequest(target, headers));
      await client.ended;
      expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      // Not held until a shutdown: the server closes its socket once the refusal is written.
      await eventually(
        async () => (await serverConnections(s)) === 0,
        10_000,
        "the server to close the socket",
      );
      // The client learns it when it sends again: the server's end resets the connection, and its
      // next write fails (after its end Node reads no more, so it does not see the reset itself).
      await eventually(
        () => client.socket.destroyed || void client.socket.write("x"),
        10_000,
        "the client's connection to be reset",
      );
      await closedSocket(client.socket);
    },
  );

  it("finishes within its grace while a refused upgrade's client keeps its half of the connection open", async () => {
    const { s, port } = await start();
    server = undefined;
    const client = await connectHalfOpen(port);
    client.socket.write(upgradeRequest("/not-graphql"));
    await client.ended;
    expect(client.received()).toMatch(/^HTTP\/1\.1 404 /);
    const closing = s.close({ inFlightGraceMs: 500 });
    const outcome = await within(closing);
    client.socket.destroy();
    await closing;
    // Refused and answered, its connection had no request left to cut.
    expect(outcome).toEqual({ cutConnections: 0 });
  });

  it("cuts at the end of its grace a connection a handler took off the HTTP server and never closed", async () => {
    const { s, port } = await start();
    server = undefined;
    // A CONNECT handler that holds its socket stands for any that takes one over (as upgrades are):
    // Node's server no longer lists such a socket, and the shutdown must not wait for it to close.
    const taken = new Promise<Duplex>((resolve) =>
      s.registro.app.server.once("connect", (_req, socket: Duplex) => resolve(socket)),
    );
    const client = await connectHalfOpen(port);
    client.socket.write("CONNECT registro.invalid:443 HTTP/1.1\r\nHost: registro.invalid:443\r\n\r\n");
    leftOpen.add(await taken);
    const closing = s.close({ inFlightGraceMs: 500 });
    const outcome = await within(closing);
    for (const socket of leftOpen) socket.destroy();
    await closing;
    // Unanswered, it is reported as cut.
    expect(outcome).toEqual({ cutConnections: 1 });
  });

  it("closes at once after a WebSocket client left while its connection_init's credentials were checked", async () => {
    const { s, directory, secret, close } = await start();
    const socket = new WebSocket(s.graphqlUrl.replace(/^http/, "ws"), "graphql-transport-ws");
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("open", resolve));
    const checking = directory.checking();
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${secret}` } }));
    await checking;
    socket.terminate();
    await sleep(100);
    expect(await close()).toBeLessThan(QUICK_MS);
  });

  it("refuses new connections from the start of the WebSocket close step", async () => {
    const { port, close } = await start();
    // A WebSocket client that never answers the server's close frame: the close step waits for it
    // (up to its 2 s grace), and its close frame says the step has begun.
    const ws = await connect(port);
    let received = Buffer.alloc(0);
    ws.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    ws.write(upgradeRequest("/graphql", "Sec-WebSocket-Protocol: graphql-transport-ws\r\n"));
    await eventually(() => received.includes("\r\n\r\n"), 10_000, "the upgrade's answer");
    expect(String(received)).toMatch(/^HTTP\/1\.1 101 /);
    const head = received.indexOf("\r\n\r\n") + 4;
    const closing = close();
    // A close frame (FIN and opcode 8), with 1001 Going Away.
    await eventually(() => received.length > head + 3 && received[head] === 0x88, 10_000, "the close frame");
    expect(received.readUInt16BE(head + 2)).toBe(1001);
    const attempt = await new Promise<string>((resolve) => {
      const probe = net.connect(port, "127.0.0.1");
      probe.once("connect", () => {
        probe.destroy();
        resolve("accepted");
      });
      probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    });
    // Still within the step (the WebSocket is cut only at the end of its grace): not refused
    // because the listener had closed after it.
    expect(ws.destroyed).toBe(false);
    expect(attempt).toBe("ECONNREFUSED");
    await closing;
    await closedSocket(ws);
  });

  it("answers a connected client's request waiting on its credential check, then closes right after it", async () => {
    const { directory, secret, port, close } = await start();
    const client = await connect(port);
    let answer = "";
    client.on("data", (chunk: Buffer) => (answer += String(chunk)));
    const checking = directory.checking();
    client.write(head(secret) + BODY);
    await checking;
    // An unused connection beside it is cut; the request in flight is not.
    const unused = await connect(port);
    let closedAt = Number.NaN;
    const closing = close().then(() => (closedAt = performance.now()));
    await closedSocket(unused);
    await sleep(300);
    expect(answer).toBe("");
    expect(client.destroyed).toBe(false);
    const releasedAt = performance.now();
    release();
    await closing;
    expect(closedAt - releasedAt).toBeLessThan(QUICK_MS);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain('{"data":{"__typename":"Query"}}');
    // Idle once answered, its connection is closed by the shutdown.
    await closedSocket(client);
  });
});
