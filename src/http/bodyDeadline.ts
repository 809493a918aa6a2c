// A deadline for every request body: it must keep arriving (no gap longer than the idle timeout) and
// average at least a minimum rate over each rate window. A client that trickles a body byte by byte
// would otherwise hold a connection, a temp file and an upload slot for as long as it likes.
//
// Progress is read from the socket's byte counter, not from the body stream, so the same watch
// covers artifact PUTs, GraphQL multipart uploads and the JSON bodies Yoga reads, whoever consumes
// them. Time the server itself is behind (the request's buffer is full because storage or a
// handler is not reading) never counts against the client.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { clientIp } from "./clientSlots.ts";
import type { ErrorCode } from "./errorCodes.ts";
import { sendJson } from "./sendJson.ts";

export interface BodyDeadlineOptions {
  /** A body that sends nothing for this long is cut. */
  readonly idleTimeoutMs: number;
  /** A body that averages fewer bytes per second than this over a rate window is cut; 0 disables. */
  readonly minBytesPerSecond: number;
  /** The span the minimum rate is averaged over. */
  readonly rateWindowMs: number;
}

/**
 * Generous for real slow links: a 64 kbit/s line moves 8 KiB/s, so 1 KiB/s averaged over a minute
 * only catches clients that are not really sending; 30 s of silence is longer than any TCP
 * retransmission back-off a working link goes through.
 */
export const DEFAULT_BODY_DEADLINE: BodyDeadlineOptions = {
  idleTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 60_000,
};

/** A refusal the server answers itself, before or while the route runs (see Route.errorBody in ./server.ts). */
export interface ServerRefusal {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/** The body of a server refusal in the error shape of the route a request is for; undefined: the server's. */
export type RefusalBody = (refusal: ServerRefusal) => unknown;

/** After answering 408, how long the answer may take to leave before the connection is cut anyway. */
const ANSWER_GRACE_MS = 1_000;

interface Watch {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request's connection (`req.socket`, set once; a response's `res.socket` is null until its turn and once detached). */
  readonly socket: Socket;
  readonly startBytes: number;
  readonly refusalBody: RefusalBody | undefined;
  lastBytes: number;
  lastProgressAt: number;
  windowStartAt: number;
  windowStartBytes: number;
}

const hasBody = (req: IncomingMessage) =>
  req.headers["transfer-encoding"] !== undefined ||
  (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

export class BodyDeadline {
  readonly options: BodyDeadlineOptions;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #watched = new Set<Watch>();
  #timer: NodeJS.Timeout | null = null;
  #expired = 0;

  constructor(options: BodyDeadlineOptions, logger: Logger, clock: () => number = () => performance.now()) {
    for (const [key, value] of Object.entries(options))
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a number ≥ 0`);
    if (options.idleTimeoutMs <= 0 || options.rateWindowMs <= 0)
      throw new RangeError("idleTimeoutMs and rateWindowMs must be positive");
    this.options = options;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** Bodies being watched right now. */
  get watching(): number {
    return this.#watched.size;
  }

  /** Bodies cut so far for arriving too slowly. */
  get expired(): number {
    return this.#expired;
  }

  /**
   * Watches the request's body (if it has one) until it has fully arrived or the connection is gone.
   * `refusalBody` gives the 408 the error shape of the route the request is for (MLflow's).
   */
  watch(req: IncomingMessage, res: ServerResponse, refusalBody?: RefusalBody): void {
    if (!hasBody(req) || req.complete) return;
    const now = this.#clock();
    const socket = req.socket;
    const bytes = socket.bytesRead;
    this.#watched.add({
      req,
      socket,
      res,
      startBytes: bytes,
      refusalBody,
      lastBytes: bytes,
      lastProgressAt: now,
      windowStartAt: now,
      windowStartBytes: bytes,
    });
    if (this.#timer === null) {
      const { idleTimeoutMs, rateWindowMs } = this.options;
      const every = Math.max(10, Math.min(1_000, idleTimeoutMs / 4, rateWindowMs / 4));
      this.#timer = setInterval(() => this.#check(), every).unref();
    }
  }

  #check() {
    const now = this.#clock();
    const { idleTimeoutMs, minBytesPerSecond, rateWindowMs } = this.options;
    for (const watch of this.#watched) {
      const { req, socket } = watch;
      if (req.complete || socket.destroyed) {
        this.#watched.delete(watch);
        continue;
      }
      const bytes = socket.bytesRead;
      // A full buffer means the server stopped reading (backpressure): the client is not to blame.
      const serverBehind = req.readableLength >= req.readableHighWaterMark;
      if (bytes > watch.lastBytes || serverBehind) {
        watch.lastBytes = bytes;
        watch.lastProgressAt = now;
      }
      if (serverBehind) {
        watch.windowStartAt = now;
        watch.windowStartBytes = bytes;
        continue;
      }
      if (now - watch.lastProgressAt >= idleTimeoutMs) {
        this.#expire(watch, "idle", `no body bytes arrived for ${idleTimeoutMs} ms`);
        continue;
      }
      const elapsed = now - watch.windowStartAt;
      if (elapsed < rateWindowMs) continue;
      const rate = ((bytes - watch.windowStartBytes) * 1000) / elapsed;
      if (rate < minBytesPerSecond) {
        this.#expire(
          watch,
          "rate",
          `the body arrived at ${Math.floor(rate)} bytes/s, below the minimum of ${minBytesPerSecond} bytes/s over ${rateWindowMs} ms`,
        );
        continue;
      }
      watch.windowStartAt = now;
      watch.windowStartBytes = bytes;
    }
    if (this.#watched.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /**
   * Answers 408 when the response has not started, then drops the connection: whoever reads the
   * body sees it end prematurely and cleans up (the blob store removes its temp file), and the rest
   * of the body is never read.
   */
  #expire(watch: Watch, reason: "idle" | "rate", message: string) {
    this.#watched.delete(watch);
    this.#expired++;
    const { req, res } = watch;
    this.#logger.warn(
      {
        method: req.method,
        url: req.url,
        remoteAddress: watch.socket.remoteAddress,
        // Behind a trusted proxy, the client it named (the peer is the proxy).
        client: clientIp(req),
        bodyBytes: watch.socket.bytesRead - watch.startBytes,
        reason,
      },
      "request body too slow; connection closed",
    );
    let cut = false;
    const cutConnection = () => {
      if (cut) return;
      cut = true;
      req.destroy();
    };
    if (res.headersSent || res.destroyed) return cutConnection();
    res.once("finish", cutConnection);
    setTimeout(cutConnection, ANSWER_GRACE_MS).unref();
    const { idleTimeoutMs, minBytesPerSecond, rateWindowMs } = this.options;
    const refusal = {
      status: 408,
      code: "REQUEST_TIMEOUT",
      message: `request body too slow: ${message}`,
    } as const;
    sendJson(
      res,
      408,
      watch.refusalBody?.(refusal) ?? {
        error: {
          code: refusal.code,
          message: refusal.message,
          reason,
          idleTimeoutMs,
          minBytesPerSecond,
          rateWindowMs,
        },
      },
      { connection: "close" },
    );
  }
}
