// One delivery's HTTP rules against real local servers: a 2xx succeeds; a redirect is not followed;
// an answer over the size cap, a timeout (before the headers or during the body) and a refused target
// fail, each within its bound; receivers cannot hold idle connections beyond the pool's bounds.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sendWebhook } from "../../src/webhooks/delivery/sendWebhook.ts";
import { EMPTY_ALLOW_LIST, parseAllowList } from "../../src/webhooks/delivery/targetGuard.ts";

describe("sending one webhook message", () => {
  let server: http.Server;
  let base = "";
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      if (req.url === "/ok") res.writeHead(200).end("thanks");
      else if (req.url === "/redirect") res.writeHead(302, { location: "http://169.254.169.254/" }).end();
      else if (req.url === "/big") res.writeHead(200).end("x".repeat(200_000));
      else if (req.url === "/long-redirect")
        res.writeHead(301, { location: `http://example.com/${"a".repeat(12_000)}` }).end();
      else if (req.url === "/slow") setTimeout(() => res.writeHead(200).end(), 2_000);
      else if (req.url === "/trickle") {
        // Headers at once, then a byte now and then, for ever: well under the size cap.
        res.writeHead(200);
        const drip = setInterval(() => res.write("x"), 50);
        res.on("close", () => clearInterval(drip));
      } else res.writeHead(500).end("boom");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const limits = { timeoutMs: 500, maxResponseBytes: 64 * 1024, allow: parseAllowList("127.0.0.1") };
  const send = (path: string, l = limits) => sendWebhook(`${base}${path}`, { "webhook-id": "m" }, "{}", l);

  it("succeeds on 2xx and keeps an excerpt of the answer", async () => {
    expect(await send("/ok")).toMatchObject({
      ok: true,
      responseCode: 200,
      responseExcerpt: "thanks",
      error: null,
    });
  });
  it("fails on other statuses and does not follow redirects", async () => {
    expect(await send("/fail")).toMatchObject({ ok: false, responseCode: 500, error: "HTTP 500" });
    const redirect = await send("/redirect");
    expect(redirect).toMatchObject({ ok: false, responseCode: 302 });
    expect(redirect.error).toMatch(/not followed/);
    // A receiver's Location is its to choose: only its start is kept, in the record and the log.
    const long = await send("/long-redirect");
    expect(long.error).toMatch(/^redirect to http:\/\/example\.com\/a+… not followed$/);
    expect(long.error!.length).toBeLessThan(300);
  });
  it("fails an answer over the size cap, keeping only the start", async () => {
    const big = await send("/big");
    expect(big).toMatchObject({ ok: false, responseCode: 200 });
    expect(big.error).toMatch(/larger than 65536 bytes/);
    expect(big.responseExcerpt).toHaveLength(1024);
  });
  it("fails at its deadline", async () => {
    const started = Date.now();
    const slow = await send("/slow");
    expect(slow).toMatchObject({ ok: false, responseCode: null });
    expect(slow.error).toMatch(/within 500 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
  it("fails at its deadline when the answer's body never ends (the deadline covers the body too)", async () => {
    const started = Date.now();
    const trickle = await send("/trickle");
    expect(trickle).toMatchObject({ ok: false, responseCode: null });
    expect(trickle.error).toMatch(/within 500 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
  it("counts resolving the host against the deadline (a resolver that never answers)", async () => {
    const hanging = await sendWebhook("http://hooks.example.test/h", {}, "{}", {
      ...limits,
      resolver: () => new Promise(() => {}),
    });
    expect(hanging).toMatchObject({ ok: false, responseCode: null });
    expect(hanging.error).toMatch(/did not resolve within 500 ms/);
  });
  it("refuses a target the guard does not allow, without connecting", async () => {
    const refused = await send("/ok", { ...limits, allow: EMPTY_ALLOW_LIST });
    expect(refused).toMatchObject({ ok: false, responseCode: null });
    expect(refused.error).toMatch(
      /target refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback address/,
    );
  });

  // The documented bounds (docs/webhooks.md): at most 64 idle connections, each for at most 5 s.
  const MAX_IDLE_SOCKETS = 64;
  const IDLE_SOCKET_MS = 5_000;
  it("keeps a bounded number of idle connections, and not for long, however receivers hold them", async () => {
    // Receivers that never close an idle connection, more of them than the pool keeps: each used to
    // keep its socket (a file descriptor) for ever; one webhook re-pointed and pinged does as much.
    const holders = await Promise.all(
      Array.from({ length: MAX_IDLE_SOCKETS + 16 }, async () => {
        const holder = http.createServer((req, res) => {
          req.resume();
          res.writeHead(204).end();
        });
        holder.keepAliveTimeout = 0;
        await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
        return holder;
      }),
    );
    const open = async () => {
      const counts = await Promise.all(
        holders.map((h) => new Promise<number>((resolve) => h.getConnections((_e, n) => resolve(n)))),
      );
      return counts.reduce((a, b) => a + b, 0);
    };
    try {
      for (const holder of holders) {
        const port = (holder.address() as AddressInfo).port;
        expect(await sendWebhook(`http://127.0.0.1:${port}/`, {}, "{}", limits)).toMatchObject({ ok: true });
      }
      await vi.waitFor(async () => expect(await open()).toBeLessThanOrEqual(MAX_IDLE_SOCKETS));
      await vi.waitFor(async () => expect(await open()).toBe(0), {
        timeout: IDLE_SOCKET_MS + 3_000,
        interval: 200,
      });
    } finally {
      for (const holder of holders) {
        holder.closeAllConnections();
        holder.close();
      }
    }
  }, 15_000);
});
