// Trusted proxies over HTTP: behind a proxy on 127.0.0.1 (TRUSTED_PROXIES=127.0.0.1), clients named
// by X-Forwarded-For have a rate-limit bucket, a handshake pool share and a metrics verdict each;
// without the setting every request from 127.0.0.1 is one client whatever its header says. The
// example of docs/security.md ("Behind a reverse proxy") runs as nginx would forward requests.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import type { RegistroOptions } from "../../src/registro.ts";
import { examplesOf, readDoc } from "../docs/markdownExamples.ts";
import { startTestServer } from "../support/server.ts";

interface Server {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

async function start(options: Parameters<typeof startTestServer>[1]): Promise<Server> {
  const server = await startTestServer("sqlite", options);
  return {
    url: server.url,
    port: Number(new URL(server.url).port),
    async close() {
      await server.close();
    },
  };
}

const TINY = {
  // Three requests per client, next to nothing regained during the test.
  rateLimits: { perSecond: 0.001, burst: 3 },
  subscriptionConnections: { maxHandshakesPerClient: 1, handshakeTimeoutMs: 60_000 },
} satisfies Partial<RegistroOptions>;

const query = (s: Server, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: "{ __typename }" }),
  }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  });

const from = (client: string) => ({ "x-forwarded-for": client });

/** Sends `head` (request line and headers) on a connection of its own; the status of the answer. */
function raw(s: Server, head: string, keepOpen: net.Socket[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: s.port });
    keepOpen.push(socket);
    socket.on("error", reject);
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(received);
      if (status !== null) resolve(Number(status[1]));
    });
    socket.write(head);
  });
}

/** A WebSocket upgrade of /graphql that never authenticates: held in the handshake pool. */
const upgrade = (forwardedFor: string) =>
  "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  `Sec-WebSocket-Protocol: graphql-transport-ws\r\nX-Forwarded-For: ${forwardedFor}\r\n\r\n`;

describe("behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)", () => {
  let s: Server;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    s = await start({
      ...TINY,
      trustedProxies: loadConfig({ TRUSTED_PROXIES: "127.0.0.1" }).http.trustedProxies,
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await s?.close();
  });

  it("gives each forwarded client a rate-limit bucket of its own", async () => {
    for (let i = 0; i < 3; i++) expect(await query(s, from("198.51.100.1"))).toBe(200);
    expect(await query(s, from("198.51.100.1"))).toBe(429);
    // Another client behind the same proxy is not held back by the first.
    expect(await query(s, from("198.51.100.2"))).toBe(200);
    // What a client writes before the proxy's entry changes nothing: the proxy's entry is the client.
    expect(await query(s, from("198.51.100.2, 198.51.100.1"))).toBe(429);
    // The proxy's own requests (no header: a health check, a script on its host) are a client too.
    expect(await query(s)).toBe(200);
  });

  it("reads several X-Forwarded-For lines as one list, the last line's entry last", async () => {
    const post = (lines: string) =>
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${lines}` +
      `Content-Length: 24\r\nConnection: close\r\n\r\n{"query":"{__typename}"}`;
    for (let i = 0; i < 3; i++)
      expect(await raw(s, post("X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.3\r\n"))).toBe(
        200,
      );
    expect(await query(s, from("198.51.100.3"))).toBe(429);
    expect(await query(s, from("203.0.113.9"))).toBe(200);
  });

  it("counts WebSocket upgrades for the forwarded client in the handshake pool", async () => {
    expect(await raw(s, upgrade("198.51.100.4"), sockets)).toBe(101);
    expect(await raw(s, upgrade("198.51.100.4"), sockets)).toBe(503);
    expect(await raw(s, upgrade("198.51.100.5"), sockets)).toBe(101);
  });

  it("lets only loopback clients read /metrics by default, judged by the forwarded address", async () => {
    const metrics = (headers: Record<string, string> = {}) =>
      fetch(`${s.url}/metrics`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status));
    expect(await metrics(from("198.51.100.6"))).toBe(403);
    expect(await metrics()).toBe(200);
  });
});

describe("without TRUSTED_PROXIES", () => {
  let s: Server;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    s = await start(TINY);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await s?.close();
  });

  it("ignores X-Forwarded-For: every request from 127.0.0.1 shares one bucket and one pool share", async () => {
    for (let i = 0; i < 3; i++) expect(await query(s, from("198.51.100.1"))).toBe(200);
    expect(await query(s, from("198.51.100.2"))).toBe(429);
    expect(await raw(s, upgrade("198.51.100.4"), sockets)).toBe(101);
    expect(await raw(s, upgrade("198.51.100.5"), sockets)).toBe(503);
    const metrics = await fetch(`${s.url}/metrics`, { headers: from("198.51.100.6") });
    await metrics.arrayBuffer();
    expect(metrics.status).toBe(200);
  });
});

describe("docs/security.md: behind a reverse proxy", () => {
  const examples = examplesOf(readDoc("docs/security.md"), "docs/security.md");
  const settings = examples.find((e) => e.lang === "sh" && e.code.includes("TRUSTED_PROXIES="));
  const nginx = examples.find((e) => e.lang === "nginx" && e.code.includes("X-Forwarded-For"));

  /** The NAME=value assignments before the command, as the shell would pass them. */
  const environment = (line: string) =>
    Object.fromEntries(
      line
        .split(/\s+/)
        .filter((word) => /^[A-Z_]+=/.test(word))
        .map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]),
    );

  it("documents the setting and an nginx configuration that appends the peer to X-Forwarded-For", () => {
    expect(settings?.code).toMatch(/TRUSTED_PROXIES=\S+ .*npm start/);
    expect(nginx?.code).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
  });

  it("keeps one client's failed authentications from locking out the others behind the proxy", async () => {
    const config = loadConfig(environment(settings!.code));
    expect(config.auth.mode).toBe("required");
    const s = await start({
      auth: { mode: config.auth.mode },
      trustedProxies: config.http.trustedProxies,
      authFailureLimits: { perSecond: 0.001, burst: 2 },
    });
    try {
      // nginx's $proxy_add_x_forwarded_for: what the client sent, then the address nginx saw.
      const throughNginx = (clientSent: string | null, clientAddress: string) => ({
        "x-forwarded-for": clientSent === null ? clientAddress : `${clientSent}, ${clientAddress}`,
        authorization: "Bearer rgo_not_a_token_of_this_registry_000000",
      });
      expect(await query(s, throughNginx(null, "198.51.100.7"))).toBe(401);
      // Claiming to be someone else (even the proxy) buys the guesser nothing.
      expect(await query(s, throughNginx("127.0.0.1", "198.51.100.7"))).toBe(401);
      expect(await query(s, throughNginx("198.51.100.8", "198.51.100.7"))).toBe(429);
      // A colleague mistyping a token is told so, not refused for the guesser's failures.
      expect(await query(s, throughNginx(null, "198.51.100.8"))).toBe(401);
    } finally {
      await s.close();
    }
  });
});
