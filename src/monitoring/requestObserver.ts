// Watches every HTTP request from arrival to the end of its answer (or of its connection): settles
// its request id, writes its one log line, and counts it in the HTTP metrics. Cheap by design: a
// few property reads at arrival and one log call at the end; nothing per chunk of a body.
import { performance } from "node:perf_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ARTIFACTS_PREFIX } from "../artifacts/downloadUrl.ts";
import { AUDIT_EXPORT_PATH } from "../audit/http/exportPath.ts";
import { knownCallerOf } from "../http/requestCaller.ts";
import { requestIdFrom } from "../http/requestMetadata.ts";
import { labelSet } from "./registryMetrics.ts";
import type { RegistryMetrics } from "./registryMetrics.ts";

/** Operations one request's log line names at most (batched requests are off, so one is usual). */
const MAX_LOGGED_OPERATIONS = 10;

/** What the GraphQL layer tells about a request: its operation names and whether it answered errors. */
interface GraphQLNotes {
  readonly operations: string[];
  errors: boolean;
}

const notesOf = new WeakMap<object, GraphQLNotes>();

/** A GraphQL operation ran for this request (a Yoga plugin reports it): named in the log line. */
export function observeOperation(req: unknown, name: string | null): void {
  if (typeof req !== "object" || req === null) return;
  const notes = notesOf.get(req);
  // Requests the observer did not see (a WebSocket's upgrade request) are not tracked at all.
  if (notes && notes.operations.length < MAX_LOGGED_OPERATIONS)
    notes.operations.push((name ?? "anonymous").slice(0, 100));
}

/** The request's GraphQL answer carried errors (it may still be a 200). */
export function observeErrors(req: unknown): void {
  if (typeof req !== "object" || req === null) return;
  const notes = notesOf.get(req);
  if (notes) notes.errors = true;
}

const socketTotals = new WeakMap<object, { read: number; written: number }>();
const NOTHING_YET = { read: 0, written: 0 };

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** The route a path belongs to, from a fixed set: raw paths would leak model names and grow without bound. */
export function routeTemplate(url: string | undefined): string {
  const path = url === undefined ? "" : url.split("?", 1)[0]!;
  if (path === "/graphql") return "/graphql";
  if (path === "/healthz" || path === "/readyz" || path === "/metrics" || path === "/") return path;
  if (path.startsWith(ARTIFACTS_PREFIX)) return "/artifacts/{model}/{version}/{path}";
  if (path === AUDIT_EXPORT_PATH) return AUDIT_EXPORT_PATH;
  if (path === "/docs" || path.startsWith("/docs/")) return "/docs/{page}";
  return "unmatched";
}

export interface RequestObserverOptions {
  readonly logger: Logger;
  /** Null: no HTTP metrics (the log line still goes out when the level allows). */
  readonly metrics: RegistryMetrics | null;
}

export type Outcome = "ok" | "error" | "client_error" | "server_error" | "aborted";

/** Returns the per-request hook the server calls first thing for every request. */
export function requestObserver(options: RequestObserverOptions) {
  const log = options.logger.child({ component: "http" });
  const { metrics } = options;
  return function observe(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers["x-request-id"];
    const requestId = requestIdFrom(Array.isArray(header) ? header[0] : header);
    // The one id of this request: everything downstream (GraphQL context, artifact routes) reads the
    // request's headers, so they see this id, not another random one of their own.
    req.headers["x-request-id"] = requestId;
    res.setHeader("x-request-id", requestId);
    const started = performance.now();
    const socket = req.socket;
    const route = routeTemplate(req.url);
    const method = METHODS.has(req.method ?? "") ? req.method! : "other";
    const notes: GraphQLNotes = { operations: [], errors: false };
    notesOf.set(req, notes);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      // A listener of the response's events: whatever fails in here must not become an uncaught
      // exception (the process would end), only a lost log line.
      try {
        account();
      } catch (error) {
        options.logger.error({ err: error, requestId }, "request log line or metrics failed");
      }
    };
    const account = () => {
      const seconds = (performance.now() - started) / 1000;
      const complete = res.writableFinished;
      const status = res.headersSent ? res.statusCode : 0;
      // Since the previous request on this connection ended: Node's parser may have read this
      // request's body (all of a small one) before the request event, so a count started there
      // would miss it. HTTP/1.1 serves one request at a time per connection.
      const last = socketTotals.get(socket) ?? NOTHING_YET;
      const bytesIn = Math.max(0, socket.bytesRead - last.read);
      const bytesOut = Math.max(0, socket.bytesWritten - last.written);
      socketTotals.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      if (metrics) {
        metrics.httpRequests.inc(labelSet({ route, method, status: String(status) }));
        metrics.httpDuration.observe(labelSet({ route, method }), seconds);
        if (route.startsWith(ARTIFACTS_PREFIX)) {
          if (method === "GET") metrics.artifactBytes.inc(labelSet({ direction: "out" }), bytesOut);
          else if (method === "PUT") metrics.artifactBytes.inc(labelSet({ direction: "in" }), bytesIn);
        } else if (
          route === "/graphql" &&
          method === "POST" &&
          (req.headers["content-type"] ?? "").startsWith("multipart/")
        )
          metrics.artifactBytes.inc(labelSet({ direction: "in" }), bytesIn);
      }
      if (!log.isLevelEnabled("info")) return;
      const outcome: Outcome = !complete
        ? "aborted"
        : status >= 500
          ? "server_error"
          : status >= 400
            ? "client_error"
            : notes.errors
              ? "error"
              : "ok";
      const caller = knownCallerOf(req);
      log.info(
        {
          requestId,
          method: req.method,
          route,
          status,
          durationMs: Math.round(seconds * 1e4) / 10,
          bytesIn,
          bytesOut,
          principal: caller ? { id: caller.principal.id, name: caller.principal.displayName } : null,
          ...(notes.operations.length > 0 ? { operations: notes.operations } : {}),
          outcome,
        },
        "request",
      );
    };
    res.once("finish", end);
    res.once("close", end);
  };
}
