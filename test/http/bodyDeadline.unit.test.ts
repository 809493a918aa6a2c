// The body deadline's arithmetic on a simulated socket and clock: idle gaps and rate windows count
// against the client, time the server spends not reading does not, and upload slots are counted
// per client address and in total.
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BodyDeadline } from "../../src/http/bodyDeadline.ts";
import { UploadSlots } from "../../src/http/uploadSlots.ts";

class FakeResponse extends EventEmitter {
  headersSent = false;
  destroyed = false;
  status = 0;
  headers: Record<string, unknown> = {};
  body = "";
  writeHead(status: number, headers: Record<string, unknown>) {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
  }
  end(body: string) {
    this.body = body;
    this.emit("finish");
    this.emit("close");
  }
}

function fakeExchange(remoteAddress = "127.0.0.1") {
  const socket = { bytesRead: 0, destroyed: false, remoteAddress };
  const req = {
    method: "PUT",
    url: "/artifacts/m/1/f",
    headers: { "content-length": "1000000" },
    complete: false,
    socket,
    readableLength: 0,
    readableHighWaterMark: 16_384,
    destroy: vi.fn(() => {
      socket.destroyed = true;
    }),
  };
  const res = new FakeResponse();
  return {
    req,
    res,
    socket,
    asNode: [req as unknown as IncomingMessage, res as unknown as ServerResponse] as const,
  };
}

const silent = pino({ level: "silent" });

describe("BodyDeadline", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const deadline = () =>
    new BodyDeadline({ idleTimeoutMs: 1_000, minBytesPerSecond: 100, rateWindowMs: 4_000 }, silent, () =>
      Date.now(),
    );

  it("cuts a body that sends nothing for the idle timeout, answering 408 with Connection: close", () => {
    const watcher = deadline();
    const { req, res, socket, asNode } = fakeExchange();
    watcher.watch(...asNode);
    socket.bytesRead += 500;
    vi.advanceTimersByTime(900);
    expect(res.status).toBe(0);
    vi.advanceTimersByTime(1_200);
    expect(res.status).toBe(408);
    expect(res.headers).toMatchObject({ connection: "close" });
    expect(JSON.parse(res.body).error).toMatchObject({ code: "REQUEST_TIMEOUT", reason: "idle" });
    expect(req.destroy).toHaveBeenCalled();
    expect(watcher.watching).toBe(0);
  });

  it("keeps measuring after Node has detached the request from its socket (req.socket becomes null)", () => {
    const watcher = deadline();
    const { req, res, socket, asNode } = fakeExchange();
    watcher.watch(...asNode);
    (req as { socket: unknown }).socket = null;
    // A timer tick that read req.socket here threw from the timer and killed the process.
    vi.advanceTimersByTime(2_100);
    expect(res.status).toBe(408);
    expect(socket.destroyed || req.destroy.mock.calls.length > 0).toBe(true);
  });

  it("judges the rate over whole windows: bursts that average above the minimum pass, a trickle does not", () => {
    const watcher = deadline();
    const bursty = fakeExchange();
    const trickle = fakeExchange();
    watcher.watch(...bursty.asNode);
    watcher.watch(...trickle.asNode);
    for (let ms = 0; ms < 12_000; ms += 250) {
      if (ms % 1_000 === 0) bursty.socket.bytesRead += 450; // 450 bytes/s on average, in bursts
      trickle.socket.bytesRead += 10; // 40 bytes/s, never idle
      vi.advanceTimersByTime(250);
    }
    expect(bursty.res.status).toBe(0);
    expect(trickle.res.status).toBe(408);
    expect(JSON.parse(trickle.res.body).error).toMatchObject({ reason: "rate", minBytesPerSecond: 100 });
    expect(watcher.expired).toBe(1);
  });

  it("does not blame the client while the server is not reading (the request's buffer is full)", () => {
    const watcher = deadline();
    const { req, res, socket, asNode } = fakeExchange();
    watcher.watch(...asNode);
    socket.bytesRead += 16_384;
    req.readableLength = 16_384; // storage is slow: nothing more is read from the socket
    vi.advanceTimersByTime(10_000);
    expect(res.status).toBe(0);
    req.readableLength = 0; // storage caught up; now the client stalls
    vi.advanceTimersByTime(2_000);
    expect(res.status).toBe(408);
  });

  it("stops watching once the body is complete, and ignores requests without a body", () => {
    const watcher = deadline();
    const { req, res, asNode } = fakeExchange();
    watcher.watch(...asNode);
    req.complete = true;
    vi.advanceTimersByTime(10_000);
    expect(res.status).toBe(0);
    expect(watcher.watching).toBe(0);
    const get = fakeExchange();
    get.req.headers = {} as never;
    watcher.watch(...get.asNode);
    expect(watcher.watching).toBe(0);
  });

  it("only cuts the connection when the response has already started", () => {
    const watcher = deadline();
    const { req, res, asNode } = fakeExchange();
    res.headersSent = true;
    watcher.watch(...asNode);
    vi.advanceTimersByTime(2_000);
    expect(res.status).toBe(0);
    expect(req.destroy).toHaveBeenCalled();
  });
});

describe("UploadSlots", () => {
  it("caps uploads per client address and in total, and frees a slot when its response closes", () => {
    const slots = new UploadSlots({ maxPerClient: 2, maxTotal: 3, retryAfterSeconds: 9 });
    const a1 = fakeExchange("127.0.0.1");
    const a2 = fakeExchange("::ffff:127.0.0.1"); // the same client over a dual-stack socket
    const a3 = fakeExchange("127.0.0.1");
    expect(slots.acquire(...a1.asNode)).toBe(true);
    expect(slots.acquire(...a2.asNode)).toBe(true);
    expect(slots.acquire(...a3.asNode)).toBe(false);
    expect(a3.res.status).toBe(503);
    expect(a3.res.headers).toMatchObject({ "retry-after": "9", connection: "close" });
    expect(JSON.parse(a3.res.body).error).toMatchObject({
      code: "TOO_MANY_UPLOADS",
      scope: "client",
      limit: 2,
      retryAfterSeconds: 9,
    });

    const b1 = fakeExchange("10.0.0.2");
    const c1 = fakeExchange("10.0.0.3");
    expect(slots.acquire(...b1.asNode)).toBe(true);
    expect(slots.acquire(...c1.asNode)).toBe(false);
    expect(JSON.parse(c1.res.body).error).toMatchObject({ scope: "server", limit: 3 });
    expect(slots.active).toBe(3);

    a1.res.emit("close");
    expect(slots.active).toBe(2);
    const a4 = fakeExchange("127.0.0.1");
    expect(slots.acquire(...a4.asNode)).toBe(true);
    for (const exchange of [a2, a4, b1]) exchange.res.emit("close");
    expect(slots.active).toBe(0);
  });

  it("refuses limits that are not positive integers", () => {
    expect(() => new UploadSlots({ maxPerClient: 0, maxTotal: 3 })).toThrow(RangeError);
    expect(() => new UploadSlots({ maxPerClient: 1, maxTotal: 1.5 })).toThrow(RangeError);
  });
});
