// A cap on concurrent uploads, per client and in total. Each upload holds a connection, a temp file
// and disk bandwidth until it ends; past the cap a client is told to come back later (503 with
// Retry-After) before a byte of its body is read. Clients are counted as ./clientSlots.ts says.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ClientSlots, DEFAULT_RETRY_AFTER_SECONDS, clientAddress } from "./clientSlots.ts";
import type { SlotLimits } from "./clientSlots.ts";
import { sendJson } from "./sendJson.ts";

export type UploadLimits = SlotLimits;

export const DEFAULT_UPLOAD_LIMITS = {
  maxPerClient: 8,
  maxTotal: 64,
  retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
} as const;

export class UploadSlots extends ClientSlots {
  constructor(limits: UploadLimits) {
    super(limits, "uploads in progress");
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
    const taken = this.take(clientAddress(req));
    if (typeof taken !== "function") {
      const { retryAfterSeconds } = this.limits;
      if (!res.headersSent && !res.destroyed)
        sendJson(
          res,
          503,
          refusal?.(`${taken.message}; retry later`) ?? {
            error: {
              code: "TOO_MANY_UPLOADS",
              ...taken,
              message: `${taken.message}; retry later`,
              retryAfterSeconds,
            },
          },
          // The body is not read: the connection cannot carry another request.
          { "retry-after": String(retryAfterSeconds), connection: "close" },
        );
      return false;
    }
    res.once("close", taken);
    return true;
  }
}
