// The HTTP server: GraphQL (with GraphiQL) on /graphql, a health check, and room for plain HTTP
// routes (artifact transfer) beside it. Unknown paths get a JSON 404, never an HTML page.
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createYoga } from "graphql-yoga";
import type { Logger } from "pino";
import type { CommandDeps } from "../application/executeCommand.ts";
import type { Database } from "../db/database.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { GraphQLContext } from "../graphql/context.ts";
import { schema } from "../graphql/schema.ts";
import { requestMetadata } from "./requestMetadata.ts";

export interface Route {
  /** Returns true when it handled the request. */
  (req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}

export interface AppOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly routes?: readonly Route[];
  readonly onCommitted?: (events: readonly RecordedEvent[]) => void;
}

export interface App {
  readonly server: http.Server;
  readonly commands: CommandDeps;
  listen(port: number, host: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function createApp(options: AppOptions): App {
  const { db, logger } = options;
  const commands: CommandDeps = {
    db,
    clock: options.clock ?? (() => new Date()),
    ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
  };
  const yogaLogger = logger.child({ component: "graphql" });
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, GraphQLContext>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: { title: "Registro", subscriptionsProtocol: "WS" },
    maskedErrors: true,
    logging: {
      debug: (...args: unknown[]) => yogaLogger.debug(args.map(String).join(" ")),
      info: (...args: unknown[]) => yogaLogger.info(args.map(String).join(" ")),
      warn: (...args: unknown[]) => yogaLogger.warn(args.map(String).join(" ")),
      error: (...args: unknown[]) => yogaLogger.error({ err: args[0] }, args.slice(1).map(String).join(" ") || "graphql error"),
    },
    context: ({ request }) => ({ db, commands, ...requestMetadata(request.headers) }),
  });

  const routes = options.routes ?? [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://registro.invalid");
    if (url.pathname === "/graphql") return void yoga(req, res);
    if (url.pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    void (async () => {
      for (const route of routes) if (await route(req, res, url)) return;
      sendJson(res, 404, { error: { code: "NOT_FOUND", message: `no route for ${req.method} ${url.pathname}` } });
    })().catch((error: unknown) => {
      logger.error({ err: error }, "unhandled route error");
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
      else res.destroy();
    });
  });
  // Slow or stalled clients must not pin connections forever.
  server.requestTimeout = 0; // long artifact transfers are bounded by headersTimeout + idle timeout instead
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(120_000);

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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a grace period, then are cut.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    },
  };
}
