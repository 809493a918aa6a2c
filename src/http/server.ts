// The HTTP server: GraphQL (with GraphiQL) on /graphql, a health check, and room for plain HTTP
// routes (artifact transfer) beside it. Unknown paths get a JSON 404, never an HTML page.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createYoga } from "graphql-yoga";
import type { YogaServerInstance } from "graphql-yoga";
import type { Logger } from "pino";
import type { CommandDeps } from "../application/executeCommand.ts";
import { disabledInspector } from "../artifacts/artifactInspector.ts";
import type { ArtifactInspector } from "../artifacts/artifactInspector.ts";
import type { Database } from "../db/database.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { GraphQLContext } from "../graphql/context.ts";
import { schema } from "../graphql/schema.ts";
import type { ByteBudget } from "../subscriptions/eventHub.ts";
import type { LiveEvents } from "../subscriptions/liveEvents.ts";
import { DEFAULT_SUBSCRIBER_LIMITS, SubscriberBudget } from "../subscriptions/subscriberBudget.ts";
import type { SubscriberLimits } from "../subscriptions/subscriberBudget.ts";
import { attachGraphQLWebSocket } from "./graphqlWebSocket.ts";
import { operationLimitPlugins } from "./operationLimits.ts";
import { requestMetadata } from "./requestMetadata.ts";
import { sendJson } from "./sendJson.ts";

export interface Route {
  /** Returns true when it handled the request. */
  (req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}

export interface AppOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly routes?: readonly Route[];
  /**
   * Sees POSTs to /graphql before Yoga (returns true when it answered): artifact uploads parse
   * multipart requests themselves, streaming files to storage, because Yoga buffers them in memory.
   */
  readonly graphqlUploads?: (
    req: IncomingMessage,
    res: ServerResponse,
    yoga: YogaServerInstance<{ req: IncomingMessage; res: ServerResponse }, GraphQLContext>,
  ) => Promise<boolean>;
  readonly onCommitted?: (events: readonly RecordedEvent[]) => void;
  /** Committed events for subscriptions (graphql-ws on /graphql, and SSE); App.close ends them. */
  readonly liveEvents: LiveEvents;
  /** Inspects artifacts for GraphQL uploads and re-inspection (default: inspection off). */
  readonly inspector?: ArtifactInspector;
  /** WebSocket ping interval (ms); a client that does not answer within it is dropped. Default 12,000. */
  readonly webSocketKeepAliveMs?: number;
  /** The byte bound of each subscriber connection (WebSocket or SSE response). */
  readonly subscriberLimits?: SubscriberLimits;
  /** Watches every request body until it has arrived, cutting bodies that arrive too slowly (BodyDeadline). */
  readonly bodyDeadline?: { watch(req: IncomingMessage, res: ServerResponse): void };
}

export interface App {
  readonly server: http.Server;
  readonly commands: CommandDeps;
  listen(port: number, host: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export { sendJson };

/** An SSE subscriber's connection: the response's unsent bytes; cutting it ends the response. */
function httpSubscriberBudget(res: ServerResponse, limits: SubscriberLimits) {
  return new SubscriberBudget({ bufferedBytes: () => res.writableLength, cut: () => res.destroy() }, limits);
}

export function createApp(options: AppOptions): App {
  const { db, logger } = options;
  const commands: CommandDeps = {
    db,
    clock: options.clock ?? (() => new Date()),
    ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
  };
  const yogaLogger = logger.child({ component: "graphql" });
  const subscriberLimits = options.subscriberLimits ?? DEFAULT_SUBSCRIBER_LIMITS;
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, GraphQLContext>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: { title: "Registro", subscriptionsProtocol: "WS" },
    maskedErrors: true,
    plugins: operationLimitPlugins(),
    logging: {
      debug: (...args: unknown[]) => yogaLogger.debug(args.map(String).join(" ")),
      info: (...args: unknown[]) => yogaLogger.info(args.map(String).join(" ")),
      warn: (...args: unknown[]) => yogaLogger.warn(args.map(String).join(" ")),
      error: (...args: unknown[]) =>
        yogaLogger.error({ err: args[0] }, args.slice(1).map(String).join(" ") || "graphql error"),
    },
    context: (initial) => ({
      db,
      commands,
      events: options.liveEvents.hub,
      inspector: options.inspector ?? disabledInspector,
      ...requestMetadata(initial.request.headers),
      // A WebSocket brings its connection's budget along; over HTTP, an SSE subscription's
      // connection is its response (a plain query never queues anything against it).
      subscriberBudget:
        (initial as { subscriberBudget?: ByteBudget }).subscriberBudget ??
        (initial.res ? httpSubscriberBudget(initial.res, subscriberLimits) : undefined),
    }),
  });

  const routes = options.routes ?? [];
  const server = http.createServer((req, res) => {
    options.bodyDeadline?.watch(req, res);
    const url = new URL(req.url ?? "/", "http://registro.invalid");
    if (url.pathname === "/graphql") {
      const uploads = options.graphqlUploads;
      if (uploads === undefined || req.method !== "POST") return void yoga(req, res);
      return void uploads(req, res, yoga)
        .then((handled) => (handled ? undefined : yoga(req, res)))
        .catch((error: unknown) => {
          logger.error({ err: error }, "unhandled GraphQL upload error");
          if (!res.headersSent)
            sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
          else res.destroy();
        });
    }
    if (url.pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    void (async () => {
      for (const route of routes) if (await route(req, res, url)) return;
      sendJson(res, 404, {
        error: { code: "NOT_FOUND", message: `no route for ${req.method} ${url.pathname}` },
      });
    })().catch((error: unknown) => {
      logger.error({ err: error }, "unhandled route error");
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
      else res.destroy();
    });
  });
  // Slow or stalled clients must not pin connections forever.
  server.requestTimeout = 0; // long artifact transfers are bounded by headersTimeout + the body deadline instead
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(120_000);
  const webSocket = attachGraphQLWebSocket(server, yoga, {
    path: "/graphql",
    keepAliveMs: options.webSocketKeepAliveMs ?? 12_000,
    subscriberLimits,
    logger,
  });

  return {
    server,
    commands,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close() {
      // WebSocket clients first, with 1001 Going Away, so they reconnect (elsewhere) and resume.
      await webSocket.close();
      await new Promise<void>((resolve) => {
        // Keep-alive connections go as soon as they are idle (an SSE response ends when its stream does).
        const reap = setInterval(() => server.closeIdleConnections(), 20).unref();
        server.close(() => {
          clearInterval(reap);
          resolve();
        });
        server.closeIdleConnections();
        // Ends SSE subscription streams, so their responses finish instead of waiting to be cut.
        void options.liveEvents.close();
        // In-flight requests get a grace period, then are cut.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    },
  };
}
