// A cap on subscription connections, per client, per principal and in total: WebSockets on /graphql
// and SSE responses streaming a subscription. Each idle one still holds a socket, its buffers and
// (over WebSocket) a graphql-ws session, so without a cap one client could open connections until the
// server runs out of file descriptors or memory for everyone. Clients are counted as
// ./clientSlots.ts says; uploads have a cap of their own (./uploadSlots.ts) and share nothing with
// this one.
//
// A WebSocket authenticates after its upgrade (graphql-ws's connection_init), so until then anyone
// can hold one. Such connections wait in a handshake pool of their own, smaller and apart from the
// authenticated connections, so that they cannot take the room authenticated subscribers rely on:
// capped per client address (more are refused before the upgrade completes); and in total, where
// the oldest waiting connection is cut off to make room for a new one (a client that authenticates
// promptly is rarely the oldest; a socket held open without authenticating soon is). A WebSocket
// counts in the handshake pool from its upgrade request until it authenticates, then in the
// authenticated pool, by address and by principal, until its TCP socket closes. An upgrade its
// address or the server could not take as an authenticated connection anyway is refused before it
// completes. An SSE request is authenticated before it reaches Yoga: its response counts in the
// authenticated pool once Yoga has started the subscription and chosen to stream it, until the
// response closes, and is refused instead of streamed: a query (even one accepting
// text/event-stream) is never counted.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Plugin } from "graphql-yoga";
import { ClientSlots, DEFAULT_RETRY_AFTER_SECONDS, clientAddress } from "./clientSlots.ts";
import type { ReleaseSlot, SlotLimits, SlotRefusal } from "./clientSlots.ts";
import { responseClosed } from "./connectionClosed.ts";
import { graphqlErrorBody } from "./graphqlErrorBody.ts";
import { callerOf } from "./requestCaller.ts";

export interface SubscriptionConnectionLimits extends SlotLimits {
  /** Authenticated connections one principal may hold at once, from any address. */
  readonly maxPerPrincipal?: number;
  /** WebSockets one client address may hold at once before they have authenticated. */
  readonly maxHandshakesPerClient?: number;
  /** WebSockets the server holds at once before they have authenticated; past it the oldest is closed. */
  readonly maxHandshakesTotal?: number;
  /** Time (ms) a WebSocket has from its upgrade to authenticate (connection_init, credentials checked). */
  readonly handshakeTimeoutMs?: number;
}

// Only types from graphql-yoga: the configuration reads the defaults below without loading Yoga.

/**
 * An idle WebSocket subscriber costs the server about 36.5 KB of RSS (docs/performance.md, fan-out):
 * 20,000 in total is about 730 MB, what a 1 GiB instance can hold beside its other work. A thousand
 * per address (about 36 MB) leaves room for a dashboard host or a NAT gateway of many users (a
 * graphql-ws client multiplexes its subscriptions over one socket) while one address cannot take a
 * twentieth of the server; a thousand per principal keeps one token (or one user) to the same share.
 *
 * A connection that authenticates promptly spends a round trip and a token check in the handshake
 * pool: 2,000 (a tenth of the authenticated pool, at most about 73 MB more) is far more than
 * clients reconnecting at once hold there, and 100 per address lets a NAT gateway's users reconnect
 * together. 5 s covers a round trip on a slow link and a token check, most of those that must fetch
 * the SSO issuer's keys too (jose allows that fetch 5 s; a connection cut short is retried).
 */
export const DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS = {
  maxPerClient: 1_000,
  maxTotal: 20_000,
  maxPerPrincipal: 1_000,
  maxHandshakesPerClient: 100,
  maxHandshakesTotal: 2_000,
  handshakeTimeoutMs: 5_000,
  retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
} as const;

/** Why a connection was refused or closed: its address's cap, its principal's, or the server's. */
export interface ConnectionSlotRefusal extends Omit<SlotRefusal, "scope"> {
  readonly scope: SlotRefusal["scope"] | "principal";
}

/**
 * The refusal: 503 with Retry-After and a GraphQL error body, on either transport before the
 * WebSocket upgrade completes; after it, the same words as a WebSocket close reason.
 */
export interface ConnectionRefusal {
  readonly headers: Record<string, string>;
  readonly body: ReturnType<typeof graphqlErrorBody>;
  /** `TOO_MANY_CONNECTIONS: <message>; retry later`, within a close frame's 123 bytes. */
  readonly closeReason: string;
}

/** A WebSocket admitted to the handshake pool, until it authenticates. */
export interface PendingConnection {
  /**
   * Moves the connection to the authenticated pool, counted for `principalId` as well as for its
   * address: null when it moved, else why not (it stays in the handshake pool until it closes). A
   * connection that closed or was evicted meanwhile takes nothing (null): it is going away.
   */
  authenticated(principalId: string): ConnectionRefusal | null;
}

export type UpgradeAdmission =
  | { readonly ok: true; readonly connection: PendingConnection }
  | { readonly ok: false; readonly refusal: ConnectionRefusal };

/** A waiting connection, to close when the handshake pool needs its room. */
interface Waiting {
  evict(refusal: ConnectionRefusal): void;
}

const WAITING = "subscription connections waiting to authenticate";
const OPEN = "subscription connections open";

export class SubscriptionConnections {
  readonly limits: Required<SubscriptionConnectionLimits>;
  readonly #authenticated: ClientSlots;
  readonly #handshakes: ClientSlots;
  readonly #perPrincipal = new Map<string, number>();
  /** Connections in the handshake pool, oldest first. */
  readonly #waiting = new Set<Waiting>();

  constructor(limits: SubscriptionConnectionLimits) {
    this.limits = { ...DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS, ...limits };
    for (const key of [
      "maxPerPrincipal",
      "maxHandshakesPerClient",
      "maxHandshakesTotal",
      "handshakeTimeoutMs",
    ] as const)
      if (!Number.isInteger(this.limits[key]) || this.limits[key] < 1)
        throw new RangeError(`${key} must be a positive integer`);
    this.#authenticated = new ClientSlots(this.limits, OPEN);
    this.#handshakes = new ClientSlots(
      {
        maxPerClient: this.limits.maxHandshakesPerClient,
        maxTotal: this.limits.maxHandshakesTotal,
        retryAfterSeconds: this.limits.retryAfterSeconds,
      },
      WAITING,
    );
  }

  /** Connections held now, in both pools. */
  get active(): number {
    return this.#authenticated.active + this.#handshakes.active;
  }

  /** WebSockets held now that have not authenticated yet. */
  get authenticating(): number {
    return this.#handshakes.active;
  }

  /**
   * Takes a handshake slot for the WebSocket upgrade `req` asks for, held until the connection
   * authenticates (see PendingConnection) or `socket` closes, however the upgrade or the connection
   * ends. Refused when its address holds as many waiting connections as it may, or as many
   * authenticated ones (or the server does): it could not become one. When the handshake pool is
   * full, its oldest connection is told why with `evict` (the refusal, for its close reason), then
   * its socket is destroyed and only then its slot given to the new one: the pool never holds more
   * open sockets than its cap.
   */
  admitUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    evict: (refusal: ConnectionRefusal) => void,
  ): UpgradeAdmission {
    const address = clientAddress(req);
    const full = this.#authenticated.refusal(address);
    if (full !== null) return { ok: false, refusal: this.#refusal(full) };
    let taken = this.#handshakes.take(address);
    if (typeof taken !== "function" && taken.scope === "server") {
      this.#waiting.values().next().value?.evict(this.#refusal(taken));
      taken = this.#handshakes.take(address);
    }
    if (typeof taken !== "function") return { ok: false, refusal: this.#refusal(taken) };
    const handshake = taken;
    const leave = () => {
      this.#waiting.delete(waiting);
      handshake();
    };
    const waiting: Waiting = {
      // Its slot goes to the new connection at once, so the socket goes at once too: told why
      // (`evict` may still write a close frame), then destroyed. A socket left to close on its own
      // would stay open beside its successor, the pool over its cap, for as long as its client
      // ignored the close.
      evict: (refusal) => {
        try {
          evict(refusal);
        } finally {
          socket.destroy();
          leave();
        }
      },
    };
    this.#waiting.add(waiting);
    let release: ReleaseSlot = leave;
    if (socket.destroyed) leave();
    else socket.once("close", () => release());
    return {
      ok: true,
      connection: {
        authenticated: (principalId) => {
          if (!this.#waiting.has(waiting)) return null;
          const slot = this.#takeAuthenticated(address, principalId);
          if (typeof slot !== "function") return this.#refusal(slot);
          leave();
          release = slot;
          return null;
        },
      },
    };
  }

  /**
   * The SSE side, as a Yoga plugin: after Yoga chose a processor that streams the subscription's
   * result, takes an authenticated slot (the request was authenticated before it reached Yoga) until
   * the response closes, or ends the subscription and answers 503.
   */
  ssePlugin(): Plugin<object, { req?: IncomingMessage; res?: ServerResponse }> {
    return {
      onResultProcess: (payload) => {
        const { result, resultProcessor, serverContext } = payload;
        const { req, res } = serverContext;
        // Not streamed (a query, or no acceptable media type: 406), or not over Node's HTTP server.
        if (!(Symbol.asyncIterator in result) || resultProcessor === undefined || !req || !res) return;
        const taken = this.#takeAuthenticated(clientAddress(req), callerOf(req).principal.id);
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

  /** An authenticated slot, counted for the client address, for the principal and in total. */
  #takeAuthenticated(address: string, principalId: string): ReleaseSlot | ConnectionSlotRefusal {
    const { maxPerPrincipal } = this.limits;
    const principals = this.#perPrincipal;
    const mine = principals.get(principalId) ?? 0;
    if (mine >= maxPerPrincipal)
      return {
        scope: "principal",
        limit: maxPerPrincipal,
        message: `this principal already has ${mine} ${OPEN}`,
      };
    const taken = this.#authenticated.take(address);
    if (typeof taken !== "function") return taken;
    principals.set(principalId, mine + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      taken();
      const left = (principals.get(principalId) ?? 1) - 1;
      if (left === 0) principals.delete(principalId);
      else principals.set(principalId, left);
    };
  }

  #refusal(refusal: ConnectionSlotRefusal): ConnectionRefusal {
    const { retryAfterSeconds } = this.limits;
    const message = `${refusal.message}; retry later`;
    return {
      headers: { "retry-after": String(retryAfterSeconds) },
      body: graphqlErrorBody("TOO_MANY_CONNECTIONS", message, {
        scope: refusal.scope,
        limit: refusal.limit,
        retryAfterSeconds,
      }),
      // ASCII only (numbers and fixed words), so characters are bytes.
      closeReason: `TOO_MANY_CONNECTIONS: ${message}`.slice(0, 123),
    };
  }
}
