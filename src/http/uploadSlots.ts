// A cap on concurrent uploads, per client and in total. Each upload holds a connection, a temp file
// and disk bandwidth until it ends; past the cap a client is told to come back later (503 with
// Retry-After) before a byte of its body is read.
//
// A client is its TCP peer address: behind a reverse proxy every client shares the proxy's address,
// so raise the per-client cap there. Forwarded-for headers are not trusted (anyone can send them).
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./sendJson.ts";

export interface UploadLimits {
  /** Uploads one client address may have in progress at once. */
  readonly maxPerClient: number;
  /** Uploads the server has in progress at once, from all clients. */
  readonly maxTotal: number;
  /** The `Retry-After` (seconds) sent with a refusal. */
  readonly retryAfterSeconds?: number;
}

export const DEFAULT_UPLOAD_LIMITS = { maxPerClient: 8, maxTotal: 64, retryAfterSeconds: 5 } as const;

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
const clientOf = (req: IncomingMessage) => (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");

export class UploadSlots {
  readonly limits: Required<UploadLimits>;
  readonly #perClient = new Map<string, number>();
  #total = 0;

  constructor(limits: UploadLimits) {
    for (const key of ["maxPerClient", "maxTotal"] as const)
      if (!Number.isInteger(limits[key]) || limits[key] < 1)
        throw new RangeError(`${key} must be a positive integer`);
    this.limits = { retryAfterSeconds: DEFAULT_UPLOAD_LIMITS.retryAfterSeconds, ...limits };
  }

  /** Uploads in progress. */
  get active(): number {
    return this.#total;
  }

  /**
   * Takes a slot for the upload `req` carries, held until its response is over (sent, or the
   * connection gone). Without a free slot, answers 503 and returns false: the caller stops there.
   */
  acquire(
    req: IncomingMessage,
    res: ServerResponse,
    /** The refusal's body in the route's own error shape (default Registro's). */
    refusal?: (message: string) => unknown,
  ): boolean {
    const client = clientOf(req);
    const mine = this.#perClient.get(client) ?? 0;
    const { maxPerClient, maxTotal, retryAfterSeconds } = this.limits;
    const full =
      mine >= maxPerClient
        ? {
            scope: "client",
            limit: maxPerClient,
            message: `this client already has ${mine} uploads in progress`,
          }
        : this.#total >= maxTotal
          ? {
              scope: "server",
              limit: maxTotal,
              message: `the server already has ${this.#total} uploads in progress`,
            }
          : null;
    if (full !== null) {
      if (!res.headersSent && !res.destroyed)
        sendJson(
          res,
          503,
          refusal?.(`${full.message}; retry later`) ?? {
            error: {
              code: "TOO_MANY_UPLOADS",
              ...full,
              message: `${full.message}; retry later`,
              retryAfterSeconds,
            },
          },
          // The body is not read: the connection cannot carry another request.
          { "retry-after": String(retryAfterSeconds), connection: "close" },
        );
      return false;
    }
    this.#perClient.set(client, mine + 1);
    this.#total++;
    res.once("close", () => {
      this.#total--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    });
    return true;
  }
}
