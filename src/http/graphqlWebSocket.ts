// GraphQL over WebSocket (the graphql-transport-ws protocol of graphql-ws) on the same path and port
// as GraphQL over HTTP, executed through Yoga's envelop so plugins, masking and the context factory
// behave exactly as for HTTP requests.
import type http from "node:http";
import type { Duplex } from "node:stream";
import { GraphQLError } from "graphql";
import type { DocumentNode, ExecutionArgs, GraphQLSchema } from "graphql";
import type { OperationResult } from "graphql-ws";
import type { YogaServerInstance } from "graphql-yoga";
import { useServer } from "graphql-ws/use/ws";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import type { Authentication, HeaderSource } from "../access/authenticate.ts";
import type { Caller } from "../access/principal.ts";
import type { GraphQLContext } from "../graphql/context.ts";
import { SubscriberBudget } from "../subscriptions/subscriberBudget.ts";
import type { SubscriberLimits } from "../subscriptions/subscriberBudget.ts";
import { webSocketClosed } from "./connectionClosed.ts";
import { DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS } from "./subscriptionConnections.ts";
import type { PendingConnection, SubscriptionConnections } from "./subscriptionConnections.ts";
import { connectionHeaders } from "./requestMetadata.ts";
import { authenticateWithinFailureLimit, rateLimitKey } from "./rateLimit.ts";
import type { RateCharge, RateLimitName, RateLimiter } from "./rateLimit.ts";

export interface GraphQLWebSocketOptions {
  readonly path: string;
  /** Interval of WebSocket pings; a client that does not answer within it is dropped. */
  readonly keepAliveMs: number;
  /** The byte bound of each connection, shared by all of its subscriptions. */
  readonly subscriberLimits: SubscriberLimits;
  readonly logger: Logger;
  /** Refuses the upgrade (421) when false; see hostCheck.ts. */
  readonly acceptsHost?: (req: http.IncomingMessage) => boolean;
  /** Refuses the upgrade (403) when false; see corsPolicy.ts. */
  readonly acceptsOrigin?: (req: http.IncomingMessage) => boolean;
  /** Who a connection acts as, from its `connection_init` params over its upgrade request's headers. */
  readonly authenticate: (headers: HeaderSource) => Promise<Authentication>;
  /**
   * Caps connections per client, per principal and in total (shared with SSE), and those still
   * authenticating apart; refuses the upgrade (503) when full. Its `handshakeTimeoutMs` is the time a
   * connection has to authenticate, with or without caps.
   */
  readonly connections?: SubscriptionConnections;
  /** Each operation is let in by the caller's rate limit (./rateLimit.ts), like an HTTP request. */
  readonly rateLimiter?: RateLimiter;
  /**
   * Failed authentications per client address (./rateLimit.ts): a `connection_init` bringing
   * credentials from an address that has none left is closed with 1013 before they are checked,
   * and one refused for its credentials is counted.
   */
  readonly authFailureLimiter?: RateLimiter;
  /** Told of every refusal by either limit (the server counts them in its metrics). */
  readonly onRateLimited?: (limit: RateLimitName) => void;
}

/**
 * Operations (subscriptions, and queries and mutations while they run) one connection may hold at
 * once. Each subscription holds its own stream state and is executed for every matching event: 20,000
 * of them on one socket took about 260 MB and 2 s of server time per event before this bound.
 */
export const MAX_OPERATIONS_PER_CONNECTION = 100;

/** graphql-ws's close code for a connection whose credentials are missing or no longer valid. */
export const UNAUTHORIZED_CLOSE = 4401;

/** graphql-ws's close code for a connection that did not initialise (here: authenticate) in time. */
export const HANDSHAKE_TIMEOUT_CLOSE = 4408;

/**
 * The close code for a connection refused for capacity after its upgrade (TOO_MANY_CONNECTIONS in the
 * reason), or at connection_init for its address's failed authentications (RATE_LIMITED in the
 * reason): WebSocket's "Try Again Later", which graphql-ws clients retry with their back-off. Not
 * graphql-ws's 4429, which means a repeated connection_init and which its clients take as final.
 */
export const TRY_AGAIN_LATER_CLOSE = 1013;

/**
 * The reason of the close (1013) of a `connection_init` refused because its address has made too
 * many failed authentications; ASCII, within a close frame's 123 bytes.
 */
export const authFailureCloseReason = (retryAfterSeconds: number) =>
  `RATE_LIMITED: too many failed authentications from this address; retry after ${retryAfterSeconds} s`;

/**
 * How long a connection closed before it authenticated (deadline passed, or refused) has to complete
 * the closing handshake before it is cut off: its slot is not held for ws's 30 s. One evicted from a
 * full handshake pool has none (see SubscriptionConnections.admitUpgrade).
 */
export const HANDSHAKE_CLOSE_GRACE_MS = 1_000;

/** How long a refused upgrade's client has to take the refusal before its connection is cut. */
const REFUSAL_DEADLINE_MS = 5_000;

export interface GraphQLWebSocket {
  readonly clients: number;
  /** Closes every socket with 1001 Going Away (clients reconnect elsewhere) and waits for them. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Closes the connection of a subscriber that fell too far behind. 1008 (policy violation) is final
 * for graphql-ws clients: they report it instead of silently reconnecting and resubscribing from a
 * stale cursor. The close frame queues behind everything already sent, so a client that reads the
 * reason has read every notification before it. One that does not read even that within `graceMs`
 * is cut off (it then resumes from the last cursor it did receive).
 */
function tooSlow(socket: WebSocket, reason: string, graceMs: number) {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(1008, reason);
  setTimeout(() => socket.terminate(), graceMs).unref();
}

type SendCallback = (error?: Error) => void;

/**
 * Wraps the socket's send as graphql-ws uses it. graphql-ws awaits each send, but runs operations
 * concurrently: a client that stops reading while many results are due would have them all buffered.
 * After each send, a socket holding more than `maxBytes` unsent besides that message (one message
 * may be larger than the bound on its own) is closed as too slow. And a send that fails because the
 * connection is going away (the client left, or was cut) is no error of the operation: graphql-ws
 * would print each one as an internal error.
 */
function guardSends(socket: WebSocket, maxBytes: number, graceMs: number) {
  const send = socket.send.bind(socket) as (data: unknown, options: object, cb?: SendCallback) => void;
  socket.send = ((data: unknown, optionsOrCallback?: object | SendCallback, callback?: SendCallback) => {
    const options = typeof optionsOrCallback === "function" ? {} : (optionsOrCallback ?? {});
    const done = (typeof optionsOrCallback === "function" ? optionsOrCallback : callback) as
      SendCallback | undefined;
    send(data, options, (error) => {
      done?.(error && socket.readyState !== socket.OPEN ? undefined : error);
    });
    const size = typeof data === "string" ? Buffer.byteLength(data) : (data as Buffer).byteLength;
    if (socket.bufferedAmount - size > maxBytes)
      tooSlow(socket, "SUBSCRIBER_TOO_SLOW: the connection holds more unsent bytes than its bound", graceMs);
  }) as WebSocket["send"];
}

/** A connection between its upgrade and its authentication. */
interface Handshake {
  /** The TCP socket, cut off when the connection does not go in time. */
  readonly socket: Duplex;
  /** Its handshake slot (null without caps). */
  connection: PendingConnection | null;
  /** Once the upgrade has completed. */
  ws: WebSocket | undefined;
  deadline: NodeJS.Timeout | undefined;
}

type Yoga = YogaServerInstance<{ req: http.IncomingMessage; res: http.ServerResponse }, GraphQLContext>;

/** Envelop's per-operation functions, typed for graphql 16 (envelop types them loosely). */
interface Enveloped {
  readonly schema: GraphQLSchema;
  readonly execute: (args: ExecutionArgs) => OperationResult;
  readonly subscribe: (args: ExecutionArgs) => OperationResult;
  readonly parse: (source: string) => DocumentNode;
  readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  readonly contextFactory: () => Promise<unknown>;
}

/** Message types only a server sends; graphql-ws treats one from a client as its own internal error. */
const SERVER_MESSAGE_TYPES = new Set(["connection_ack", "next", "error"]);

/**
 * Mistakes of the client are the client's: frames ws refuses (unmasked, oversized, a reserved
 * opcode; ws has already closed the socket with 1002 or 1009) and messages only a server may send.
 * graphql-ws would report each as an internal error on stderr (anyone could flood the log with
 * garbage) and close with 1011; they are logged at debug level instead, and a server-only message
 * closes the socket with 4400 Bad Request, as the protocol says for an invalid message.
 */
function quietClientErrors(ws: WebSocket, logger: Logger) {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === "error") {
      const error = args[0] as { code?: unknown } | undefined;
      if (typeof error?.code === "string" && error.code.startsWith("WS_ERR_")) {
        logger.debug({ err: error }, "WebSocket client sent an invalid frame; connection closed");
        return true;
      }
    }
    if (event === "message" && serverOnlyMessage(args[0])) {
      logger.debug("WebSocket client sent a message only a server may send; connection closed");
      ws.close(4400, "Invalid message received");
      return true;
    }
    return emit(event, ...args);
  }) as typeof ws.emit;
}

function serverOnlyMessage(data: unknown): boolean {
  try {
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : String(data);
    const message = JSON.parse(text) as { type?: unknown } | null;
    return typeof message?.type === "string" && SERVER_MESSAGE_TYPES.has(message.type);
  } catch {
    return false; // not JSON: graphql-ws closes it with 4400 itself
  }
}

export function attachGraphQLWebSocket(
  server: http.Server,
  yoga: Yoga,
  options: GraphQLWebSocketOptions,
): GraphQLWebSocket {
  // Operations are small; a mutation with a large `params` object still fits well within 1 MiB.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  let closing = false;
  const budgets = new WeakMap<WebSocket, SubscriberBudget>();
  const budgetOf = (socket: WebSocket) => {
    let budget = budgets.get(socket);
    if (budget === undefined) {
      budget = new SubscriberBudget(
        {
          bufferedBytes: () => socket.bufferedAmount,
          cut: (reason) => tooSlow(socket, reason, options.subscriberLimits.cutAfterMs),
        },
        options.subscriberLimits,
      );
      budgets.set(socket, budget);
    }
    return budget;
  };

  const reject = (socket: Duplex, status: string, headers: Record<string, string> = {}, body?: unknown) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const fields = Object.entries({
      ...(body === undefined ? {} : { "Content-Type": "application/json; charset=utf-8" }),
      ...headers,
      Connection: "close",
      "Content-Length": String(Buffer.byteLength(text)),
    });
    // Closed once the refusal has left, not only ended: Node's server keeps half-open sockets, and
    // an upgrade's socket is no longer the HTTP server's, so neither its idle closing nor the
    // shutdown's would reach one whose client keeps its half open. One whose client does not read
    // the refusal is cut at the deadline.
    const deadline = setTimeout(() => socket.destroy(), REFUSAL_DEADLINE_MS).unref();
    socket.once("close", () => clearTimeout(deadline));
    socket.end(
      `HTTP/1.1 ${status}\r\n${fields.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n${text}`,
      () => socket.destroy(),
    );
  };
  const handshakeTimeoutMs =
    options.connections?.limits.handshakeTimeoutMs ??
    DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.handshakeTimeoutMs;
  /** Connections between their upgrade and their authentication, by upgrade request. */
  const handshakes = new WeakMap<http.IncomingMessage, Handshake>();
  /**
   * Closes a connection that has not authenticated (with `code` and `reason` once it is a WebSocket)
   * and cuts it off if it has not closed within the grace.
   */
  const dropHandshake = (handshake: Handshake, code: number, reason: string) => {
    const { ws, socket } = handshake;
    if (ws === undefined) return void socket.destroy();
    if (ws.readyState === ws.OPEN) ws.close(code, reason);
    setTimeout(() => socket.destroy(), HANDSHAKE_CLOSE_GRACE_MS).unref();
  };

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A target whose host does not parse (`//[`) makes `new URL` throw, which would end the process.
    let pathname: string;
    try {
      ({ pathname } = new URL(req.url ?? "/", "http://registro.invalid"));
    } catch {
      return reject(socket, "400 Bad Request");
    }
    if (pathname !== options.path) return reject(socket, "404 Not Found");
    if (closing) return reject(socket, "503 Service Unavailable");
    if (options.acceptsHost?.(req) === false) return reject(socket, "421 Misdirected Request");
    if (options.acceptsOrigin?.(req) === false) return reject(socket, "403 Forbidden");
    // Last: a refused upgrade takes no slot, and the slot is given back when the TCP socket closes.
    const handshake: Handshake = { socket, connection: null, ws: undefined, deadline: undefined };
    // Evicted, the socket is destroyed by the pool right after this (its slot goes to a newer
    // upgrade at once): no grace, only the reason written first.
    const admission = options.connections?.admitUpgrade(req, socket, (refusal) => {
      const { ws } = handshake;
      if (ws !== undefined && ws.readyState === ws.OPEN) ws.close(TRY_AGAIN_LATER_CLOSE, refusal.closeReason);
    });
    if (admission?.ok === false)
      return reject(socket, "503 Service Unavailable", admission.refusal.headers, admission.refusal.body);
    if (admission !== undefined) handshake.connection = admission.connection;
    // From the upgrade to an acknowledged connection_init: receiving it in time is not enough.
    handshake.deadline = setTimeout(
      () => dropHandshake(handshake, HANDSHAKE_TIMEOUT_CLOSE, "Connection initialisation timeout"),
      handshakeTimeoutMs,
    ).unref();
    socket.once("close", () => clearTimeout(handshake.deadline));
    handshakes.set(req, handshake);
    wss.handleUpgrade(req, socket, head, (ws) => {
      handshake.ws = ws;
      const { maxQueuedBytes, cutAfterMs } = options.subscriberLimits;
      guardSends(ws, maxQueuedBytes, cutAfterMs);
      quietClientErrors(ws, options.logger);
      wss.emit("connection", ws, req);
    });
  };
  // Whatever an upgrade's handling throws is this connection's failure, never the process's (an
  // exception thrown from an event listener ends it).
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (error) {
      options.logger.error({ err: error }, "unhandled WebSocket upgrade error");
      if (!socket.destroyed) reject(socket, "500 Internal Server Error");
    }
  });

  /**
   * Authenticates a connection at `connection_init`, and again before each operation on it: a token
   * revoked (or a JWT expired) while the socket is open stops it at its next subscribe, query or
   * mutation. Subscriptions already running keep their stream until then. Refused: close 4401.
   * Only `connection_init` counts against the address's failed authentications (the parameters
   * cannot change afterwards, so the checks before operations guess nothing new): refused there
   * when it has none left, close 1013, which graphql-ws clients retry with their back-off (4429
   * would mean a repeated connection_init to them, and be final).
   */
  const authenticateConnection = async (
    connectionParams: Readonly<Record<string, unknown>> | undefined,
    request: http.IncomingMessage,
    socket: WebSocket,
    atInit: boolean,
  ): Promise<Caller | null> => {
    const headers = connectionHeaders(connectionParams, request.headers);
    const authentication =
      atInit && options.authFailureLimiter !== undefined
        ? await authenticateWithinFailureLimit(
            options.authFailureLimiter,
            request,
            headers,
            options.authenticate,
          )
        : await options.authenticate(headers);
    if (authentication.ok) return authentication.caller;
    if (socket.readyState === socket.OPEN) {
      if (authentication.reason === "limited") {
        options.onRateLimited?.("auth_failures");
        socket.close(TRY_AGAIN_LATER_CLOSE, authFailureCloseReason(authentication.refusal.retryAfterSeconds));
      } else socket.close(UNAUTHORIZED_CLOSE, "Unauthorized");
    }
    return null;
  };

  /**
   * Moves an authenticated connection out of the handshake (its deadline, its slot) into the
   * authenticated pool; one over its principal's, its address's or the server's cap is closed with
   * 1013 and TOO_MANY_CONNECTIONS. False when the connection may not go on.
   */
  const admitAuthenticated = (request: http.IncomingMessage, socket: WebSocket, caller: Caller) => {
    const handshake = handshakes.get(request);
    // Closed while its credentials were checked (its deadline passed, or it was evicted).
    if (handshake === undefined || socket.readyState !== socket.OPEN) return false;
    const refusal = handshake.connection?.authenticated(caller.principal.id) ?? null;
    if (refusal !== null) {
      dropHandshake(handshake, TRY_AGAIN_LATER_CLOSE, refusal.closeReason);
      return false;
    }
    clearTimeout(handshake.deadline);
    handshakes.delete(request);
    return true;
  };

  const graphqlWs = useServer(
    {
      // The handshake deadline above replaces graphql-ws's wait for connection_init (3 s by default).
      connectionInitWaitTimeout: 0,
      onConnect: async (ctx) => {
        const caller = await authenticateConnection(
          ctx.connectionParams,
          ctx.extra.request,
          ctx.extra.socket,
          true,
        );
        return caller !== null && admitAuthenticated(ctx.extra.request, ctx.extra.socket, caller);
      },
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        // graphql-ws registers the operation before asking; it forgets a refused one.
        if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_CONNECTION)
          return [
            new GraphQLError(
              `A connection may run at most ${MAX_OPERATIONS_PER_CONNECTION} operations at once: complete one first, or open another connection.`,
              { extensions: { code: "TOO_MANY_OPERATIONS", limit: MAX_OPERATIONS_PER_CONNECTION } },
            ),
          ];
        const caller = await authenticateConnection(
          ctx.connectionParams,
          ctx.extra.request,
          ctx.extra.socket,
          false,
        );
        if (caller === null)
          return [new GraphQLError("Unauthorized", { extensions: { code: "UNAUTHENTICATED" } })];
        let rateCharge: RateCharge | undefined;
        if (options.rateLimiter?.enabled) {
          const client = rateLimitKey(caller, ctx.extra.request);
          const limited = options.rateLimiter.take(client);
          if (limited !== null) {
            options.onRateLimited?.("requests");
            return [
              new GraphQLError(limited.message, {
                extensions: { code: "RATE_LIMITED", retryAfter: limited.retryAfterSeconds },
              }),
            ];
          }
          rateCharge = options.rateLimiter.chargeTo(client);
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          subscriberBudget: budgetOf(ctx.extra.socket),
          connectionClosed: () => webSocketClosed(ctx.extra.socket),
          caller,
          ...(rateCharge === undefined ? {} : { rateCharge }),
          // Running subscriptions re-check the connection's credentials and the caller's access (see
          // liveSubscription).
          reauthenticate: async () => {
            const authentication = await options.authenticate(
              connectionHeaders(ctx.connectionParams, ctx.extra.request.headers),
            );
            return authentication.ok ? authentication.caller : null;
          },
          params,
          // What the context factory reads as request headers (see requestMetadata).
          request: { headers: connectionHeaders(ctx.connectionParams, ctx.extra.request.headers) },
        }) as Enveloped;
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
        } catch (error) {
          // A syntax error is the client's, reported on the operation; anything else would close the socket.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          document,
          operationName: params.operationName ?? null,
          variableValues: params.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
    options.keepAliveMs,
  );

  return {
    get clients() {
      return wss.clients.size;
    },
    async close(graceMs = 2_000) {
      closing = true;
      // A client that does not complete the closing handshake in time is cut off.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, graceMs);
      cut.unref();
      try {
        await graphqlWs.dispose();
      } catch (error) {
        options.logger.warn({ err: error }, "closing the WebSocket server");
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
