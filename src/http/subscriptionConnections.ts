// A cap on subscription connections, per client and in total: WebSockets on /graphql and SSE
// responses streaming a subscription. Each idle one still holds a socket, its buffers and (over
// WebSocket) a graphql-ws session, so without a cap one client could open connections until the
// server runs out of file descriptors or memory for everyone. Clients are counted as
// ./clientSlots.ts says; uploads have a cap of their own (./uploadSlots.ts) and share nothing with
// this one.
//
// A WebSocket is counted from its upgrade request until its TCP socket closes, and refused before
// the upgrade completes. An SSE response is counted once Yoga has started the subscription and
// chosen to stream it, until the response closes, and refused instead of streamed: a query (even
// one accepting text/event-stream) is never counted.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Plugin } from "graphql-yoga";
import { ClientSlots, DEFAULT_RETRY_AFTER_SECONDS, clientAddress } from "./clientSlots.ts";
import type { SlotLimits, SlotRefusal } from "./clientSlots.ts";
import { responseClosed } from "./connectionClosed.ts";
import { graphqlErrorBody } from "./graphqlErrorBody.ts";

export type SubscriptionConnectionLimits = SlotLimits;

// Only types from graphql-yoga: the configuration reads the defaults below without loading Yoga.

/**
 * An idle WebSocket subscriber costs the server about 36.5 KB of RSS (docs/performance.md, fan-out):
 * 20,000 in total is about 730 MB, what a 1 GiB instance can hold beside its other work. A thousand
 * per address (about 36 MB) leaves room for a dashboard host or a NAT gateway of many users (a
 * graphql-ws client multiplexes its subscriptions over one socket) while one address cannot take a
 * twentieth of the server.
 */
export const DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS = {
  maxPerClient: 1_000,
  maxTotal: 20_000,
  retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
} as const;

/** The refusal: 503 with Retry-After and a GraphQL error body, on either transport. */
export interface ConnectionRefusal {
  readonly headers: Record<string, string>;
  readonly body: ReturnType<typeof graphqlErrorBody>;
}

export class SubscriptionConnections extends ClientSlots {
  constructor(limits: SubscriptionConnectionLimits) {
    super(limits, "subscription connections open");
  }

  /**
   * Takes a slot for the WebSocket upgrade `req` asks for, held until `socket` closes (however the
   * upgrade or the connection ends). Without a free slot, returns the refusal to answer with.
   */
  admitUpgrade(req: IncomingMessage, socket: Duplex): ConnectionRefusal | null {
    const taken = this.take(clientAddress(req));
    if (typeof taken !== "function") return this.#refusal(taken);
    if (socket.destroyed) taken();
    else socket.once("close", taken);
    return null;
  }

  /**
   * The SSE side, as a Yoga plugin: after Yoga chose a processor that streams the subscription's
   * result, takes a slot until the response closes, or ends the subscription and answers 503.
   */
  ssePlugin(): Plugin<object, { req?: IncomingMessage; res?: ServerResponse }> {
    return {
      onResultProcess: (payload) => {
        const { result, resultProcessor, serverContext } = payload;
        const { req, res } = serverContext;
        // Not streamed (a query, or no acceptable media type: 406), or not over Node's HTTP server.
        if (!(Symbol.asyncIterator in result) || resultProcessor === undefined || !req || !res) return;
        const taken = this.take(clientAddress(req));
        if (typeof taken === "function") {
          const closed = responseClosed(res);
          if (closed.aborted) taken();
          else closed.addEventListener("abort", taken, { once: true });
          return;
        }
        // Ended now rather than when the response closes (connectionClosed.ts would end it then).
        result[Symbol.asyncIterator]()
          .return?.()
          .catch(() => undefined);
        const { headers, body } = this.#refusal(taken);
        payload.setResultProcessor(
          (_result, fetchAPI) =>
            new fetchAPI.Response(JSON.stringify(body), {
              status: 503,
              headers: { "content-type": "application/json; charset=utf-8", ...headers },
            }),
          "application/json",
        );
      },
    };
  }

  #refusal(refusal: SlotRefusal): ConnectionRefusal {
    const { retryAfterSeconds } = this.limits;
    return {
      headers: { "retry-after": String(retryAfterSeconds) },
      body: graphqlErrorBody("TOO_MANY_CONNECTIONS", `${refusal.message}; retry later`, {
        scope: refusal.scope,
        limit: refusal.limit,
        retryAfterSeconds,
      }),
    };
  }
}
