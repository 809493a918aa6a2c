// The HTTP server: GraphQL (with GraphiQL) on /graphql, a health check, a landing page on /, and
// room for plain HTTP routes (artifact transfer) beside them. Unknown paths get a JSON 404. Every
// answer carries the security headers; browsers on other origins are held off by CORS (default:
// none allowed) and by the CSRF header rule (./csrfPrevention.ts).
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { GraphQLError } from "graphql";
import { createYoga, maskError } from "graphql-yoga";
import type { YogaServerInstance } from "graphql-yoga";
import type { Logger } from "pino";
import { wwwAuthenticate } from "../access/authenticate.ts";
import type { Authentication, Authenticator, HeaderSource } from "../access/authenticate.ts";
import { AccessDirectory } from "../access/directory.ts";
import { EMPTY_ALLOW_LIST } from "../webhooks/delivery/targetGuard.ts";
import type { WebhookService } from "../webhooks/webhookService.ts";
import { DEFAULT_USAGE_CONFIG } from "../usage/usageTracking.ts";
import type { UsageSettings } from "../usage/usageTracking.ts";
import type { Caller } from "../access/principal.ts";
import { allFacts } from "../application/executeCommand.ts";
import type { CommandDeps } from "../application/executeCommand.ts";
import { disabledInspector } from "../artifacts/artifactInspector.ts";
import type { ArtifactInspector } from "../artifacts/artifactInspector.ts";
import type { BlobStore } from "../artifacts/blobStore.ts";
import { issuedUploadsOf } from "../artifacts/uploadTokens.ts";
import { isBlobStoreUnavailable } from "../artifacts/errors.ts";
import type { Database } from "../db/database.ts";
import type { CommittedEvent } from "../store/recordedEvent.ts";
import type { GraphQLContext } from "../graphql/context.ts";
import { schema } from "../graphql/schema.ts";
import type { ByteBudget } from "../subscriptions/eventHub.ts";
import type { LiveEvents } from "../subscriptions/liveEvents.ts";
import { sharedSubscriptionExecutionPlugin } from "../graphql/sharedSubscriptionExecution.ts";
import { DEFAULT_SUBSCRIBER_LIMITS, SubscriberBudget } from "../subscriptions/subscriberBudget.ts";
import type { SubscriberLimits } from "../subscriptions/subscriberBudget.ts";
import { corsPolicy } from "./corsPolicy.ts";
import type { ServerRefusal } from "./bodyDeadline.ts";
import { hostCheck } from "./hostCheck.ts";
import { CSRF_MESSAGE, csrfPreventionPlugin, lacksCsrfHeader } from "./csrfPrevention.ts";
import { errorCodePlugin } from "./errorCodePlugin.ts";
import { graphiqlPage } from "./graphiqlPage.ts";
import { graphqlErrorBody } from "./graphqlErrorBody.ts";
import { attachGraphQLWebSocket } from "./graphqlWebSocket.ts";
import { responseClosed } from "./connectionClosed.ts";
import { DocumentCache } from "./documentCache.ts";
import { checkHealth, checkReadiness } from "./health.ts";
import { clientErrorAnswer } from "./clientErrors.ts";
import { trustProxies } from "./clientSlots.ts";
import { TrustedProxies } from "./trustedProxies.ts";
import { bodySizeLimitPlugin } from "./bodySizeLimit.ts";
import { graphqlMetricsPlugins } from "../monitoring/graphqlMetrics.ts";
import { LOOPBACK_ONLY, checkMetricsAccess } from "../monitoring/metricsAccess.ts";
import type { MetricsAccessConfig } from "../monitoring/metricsAccess.ts";
import { RegistryMetrics } from "../monitoring/registryMetrics.ts";
import { requestObserver } from "../monitoring/requestObserver.ts";
import type { ReadinessProbes } from "./health.ts";
import { LogIntegrity } from "../audit/logIntegrity.ts";
import { logHead } from "../monitoring/logFollowers.ts";
import type { IntegrityMonitor } from "../artifacts/blobIntegrity.ts";
import { requestParseErrorsPlugin } from "./requestParseErrors.ts";
import { landingPage } from "./landingPage.ts";
import { webInterface } from "../web/webInterface.ts";
import type { WebSignIn } from "../web/webInterface.ts";
import { operationLimitPlugins } from "./operationLimits.ts";
import { DEFAULT_ACCESS_POLICY } from "../access/modelAccess.ts";
import { persistedQueriesPlugin } from "./persistedQueries.ts";
import { referenceExecutorPlugin } from "./referenceExecutor.ts";
import { approvalFacts } from "../reviews/graphql/approvalTransaction.ts";
import { commentRoomFacts } from "../comments/commentRoomFacts.ts";
import type { AccessPolicy } from "../access/modelAccess.ts";
import { requestAccess } from "../access/scopedReader.ts";
import { callerOf, nodeHeaders, rememberCaller } from "./requestCaller.ts";
import type { Reauthentication } from "./requestCaller.ts";
import { requestMetadata } from "./requestMetadata.ts";
import {
  DEFAULT_AUTH_FAILURE_LIMITS,
  DEFAULT_RATE_LIMITS,
  RateLimiter,
  authFailureLimiter,
  authenticateWithinFailureLimit,
  rateChargeOf,
  rateLimitKey,
  rememberRateCharge,
} from "./rateLimit.ts";
import type { RateCharge, RateLimitName, RateRefusal } from "./rateLimit.ts";
import { applySecurityHeaders } from "./securityHeaders.ts";
import { sendJson } from "./sendJson.ts";
import {
  DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS,
  SubscriptionConnections,
} from "./subscriptionConnections.ts";

export { sendJson };

async function serveMetrics(metrics: RegistryMetrics, res: ServerResponse, req: IncomingMessage) {
  const body = await metrics.registry.metrics();
  res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

export interface Route {
  /** Returns true when it handled the request. */
  (req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
  /**
   * The body of a refusal the server answers for `url` before (or while) the route runs, when this
   * route answers errors in a shape of its own (MLflow's): 401 UNAUTHENTICATED, 421
   * HOST_NOT_ALLOWED, 408 REQUEST_TIMEOUT. Undefined leaves the server's.
   */
  errorBody?: (url: URL, refusal: ServerRefusal) => unknown;
}

/** How often a running subscription re-checks its credentials by default (ms). */
export const DEFAULT_CREDENTIAL_RECHECK_MS = 10_000;

export interface AppOptions {
  /** How often (ms) running subscriptions re-check their credentials besides on access events; default 10 s, 0: only on those. */
  readonly credentialRecheckMs?: number;
  /** Per-model access settings (default: every authenticated principal may read every model). */
  readonly accessPolicy?: AccessPolicy;
  /** Who a request acts as: run once per request (and per WebSocket connection) before anything else. */
  readonly authenticator: Authenticator;
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
  readonly onCommitted?: (events: readonly CommittedEvent[]) => void;
  /** A webhook command committed (registration, change, enabling…). */
  readonly onWebhooksChanged?: () => void;
  /** Committed events for subscriptions (graphql-ws on /graphql, and SSE); App.close ends them. */
  readonly liveEvents: LiveEvents;
  /** Inspects artifacts for GraphQL uploads and re-inspection (default: inspection off). */
  readonly inspector?: ArtifactInspector;
  /** Where artifact bytes live (GraphQL reports their integrity). */
  readonly blobs: BlobStore;
  /** WebSocket ping interval (ms); a client that does not answer within it is dropped. Default 12,000. */
  readonly webSocketKeepAliveMs?: number;
  /** Browser origins besides the registry's own that may call it (CORS_ORIGINS); default none. */
  readonly corsOrigins?: readonly string[];
  /** Host names besides loopback the registry answers for (ALLOWED_HOSTS; see ./hostCheck.ts); default none. */
  readonly allowedHosts?: readonly string[] | null;
  /**
   * Reverse proxies whose X-Forwarded-For names the client that per-client limits and the metrics
   * allow-list count (TRUSTED_PROXIES; see ./trustedProxies.ts); default none.
   */
  readonly trustedProxies?: TrustedProxies;
  /** The byte bound of each subscriber connection (WebSocket or SSE response). */
  readonly subscriberLimits?: SubscriberLimits;
  /**
   * Caps subscription connections (WebSockets and SSE streams) per client, per principal and in
   * total, and WebSockets that have not authenticated yet apart (default
   * DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS).
   */
  readonly subscriptionConnections?: SubscriptionConnections;
  /** Watches every request body until it has arrived, cutting bodies that arrive too slowly (BodyDeadline). */
  readonly bodyDeadline?: {
    watch(req: IncomingMessage, res: ServerResponse, refusalBody?: (refusal: ServerRefusal) => unknown): void;
  };
  /** Principals and tokens (default: one over `db`, closed with the app). */
  readonly directory?: AccessDirectory;
  /** Streams found with a broken history (default: a new one); /readyz and /metrics report it. */
  readonly logIntegrity?: LogIntegrity;
  /** Damaged artifact bytes found by downloads, for /metrics. */
  readonly blobIntegrity?: IntegrityMonitor;
  /** Webhook delivery (ping, redeliver) and its target allow-list (default: none allowed, sends refused). */
  readonly webhooks?: WebhookService;
  /** The app's metrics (default: a new registry); createRegistro shares it with its workers. */
  readonly metrics?: RegistryMetrics;
  /**
   * What each client may ask of the server over time (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST);
   * default DEFAULT_RATE_LIMITS.
   */
  readonly rateLimiter?: RateLimiter;
  /**
   * Failed authentications each client address may make over time (AUTH_FAILURES_PER_SECOND,
   * AUTH_FAILURE_BURST): past them, requests bringing credentials from that address are refused
   * with 429 before their credentials are checked. Default DEFAULT_AUTH_FAILURE_LIMITS.
   */
  readonly authFailureLimiter?: RateLimiter;
  /** Who may read /metrics and /readyz's details (default: loopback only). */
  readonly metricsAccess?: MetricsAccessConfig;
  /** What /readyz checks beyond the database (default: nothing more). */
  readonly readiness?: Omit<ReadinessProbes, "shuttingDown">;
  /** Request log lines and metrics (default true; false only to measure what they cost). */
  readonly instrumentation?: boolean;
  /** Usage settings (retention) the usage GraphQL checks against (default DEFAULT_USAGE_CONFIG). */
  readonly usage?: UsageSettings;
  /** The web interface's build (default web/dist); while it holds none, `/` is the landing page. */
  readonly webDist?: string;
  /** Sign-in at the SSO issuer offered by the web interface (OIDC_WEB_CLIENT_ID); default none. */
  readonly webSignIn?: WebSignIn;
}

export interface App {
  readonly server: http.Server;
  readonly logIntegrity: LogIntegrity;
  readonly commands: CommandDeps;
  /** Principals, teams and tokens (token verification, SSO users, the local administrator). */
  readonly directory: AccessDirectory;
  /** The app's metrics registry (what /metrics serves). */
  readonly metrics: RegistryMetrics;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** From now on /readyz answers 503 (a load balancer stops sending); everything else still works. */
  beginShutdown(): void;
  /**
   * Stops accepting, ends subscriptions, closes idle connections and those that never sent a byte,
   * lets in-flight requests finish within `inFlightGraceMs` (default 5 s), cuts those still open
   * then, and says how many it cut.
   */
  close(options?: { readonly inFlightGraceMs?: number }): Promise<CloseOutcome>;
}

/** What a shutdown did to the connections still in flight at the end of its grace. */
export interface CloseOutcome {
  /** Connections cut because a request on them had not finished (0: every one finished). */
  readonly cutConnections: number;
}

/** The in-flight grace of App.close when none is given. */
export const DEFAULT_IN_FLIGHT_GRACE_MS = 5_000;

/** Without a delivery worker (apps built without createRegistro): nothing is sent. */
const NO_WEBHOOK_DELIVERY: WebhookService = {
  allow: EMPTY_ALLOW_LIST,
  ping: () => Promise.resolve(null),
  redeliver: () => Promise.resolve(null),
};

const OPERATOR_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

const INTERNAL_ERROR = { error: { code: "INTERNAL_SERVER_ERROR", message: "internal error" } };

const STORE_UNAVAILABLE = {
  error: {
    code: "BLOB_STORE_UNAVAILABLE",
    message: "the blob store cannot be reached or refused the request; nothing was stored, retry later",
  },
};

/** The answer to a failure no handler expected: a blob store that is down is worth a retry, the rest is ours. */
function refuseUnexpected(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  what: string,
) {
  if (isBlobStoreUnavailable(error)) {
    logger.warn({ err: error }, `${what}: the blob store is unavailable`);
    return refuse(req, res, 503, STORE_UNAVAILABLE, { "retry-after": "5" });
  }
  logger.error({ err: error }, what);
  refuse(req, res, 500, INTERNAL_ERROR);
}

/** The request's target as a URL, or null when it does not parse (`//[`: an invalid host). */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? "/", "http://registro.invalid");
  } catch {
    return null;
  }
}

/** Answers the client unless that is no longer possible; a body it is still sending is not read. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers = {}) {
  if (res.headersSent) return void res.destroy();
  sendJson(res, status, body, { ...(req.complete ? {} : { connection: "close" }), ...headers });
}

/**
 * How long a connection must have been open without sending a byte before the shutdown cuts it:
 * the first bytes of a request follow its connection's handshake at once, so one that is merely
 * on its way is not mistaken for one nobody will use.
 */
const UNUSED_CONNECTION_MS = 100;

/**
 * Every connection of `server`, for the shutdown to cut. First those that have not sent a byte
 * yet: the spare one undici opens when a fetch is aborted, a browser's preconnect. Node counts such
 * a connection busy from its accept (so that headersTimeout bounds it), so closeIdleConnections
 * leaves it, and the shutdown would wait for the client to close it (undici: 4 s later) or for the
 * in-flight grace to cut it. `cutUnused` cuts those open for UNUSED_CONNECTION_MS or more; one that
 * has sent part of a request is in flight, and is left.
 *
 * It sees every connection from its accept to its close, upgraded ones too (Node's server forgets a
 * socket once it is upgraded, so closeAllConnections does not reach it): `cutAll` ends the grace.
 */
function connectionReaper(server: http.Server) {
  const opened = new Map<Socket, number>();
  server.on("connection", (socket: Socket) => {
    opened.set(socket, performance.now());
    socket.once("close", () => opened.delete(socket));
  });
  return {
    cutUnused() {
      const now = performance.now();
      const unused = [...opened].filter(
        ([socket, at]) => socket.bytesRead === 0 && now - at >= UNUSED_CONNECTION_MS,
      );
      if (unused.length === 0) return;
      // bytesRead counts what Node has read, not what the client sent: after the event loop was
      // busy, a request may wait in the kernel. The next poll phase reads it; cut only what is
      // still unread after it.
      setImmediate(() => {
        for (const [socket] of unused) if (socket.bytesRead === 0) socket.destroy();
      });
    },
    /** Cuts every connection still open, whoever holds it. */
    cutAll() {
      for (const socket of opened.keys()) socket.destroy();
    },
    /**
     * Connections open now that have sent something (a request, or part of one) and that the server
     * has not ended yet: those a cut ends with a request unanswered. One that never sent a byte loses
     * nothing, nor does one whose answer the server has ended (a refused upgrade, a response with
     * `Connection: close`) and that merely waits for its client to close its own half.
     */
    get used() {
      let used = 0;
      for (const socket of opened.keys()) if (socket.bytesRead > 0 && !socket.writableEnded) used++;
      return used;
    },
  };
}

/** An SSE subscriber's connection: the response's unsent bytes; cutting it ends the response. */
function httpSubscriberBudget(res: ServerResponse, limits: SubscriberLimits) {
  return new SubscriberBudget({ bufferedBytes: () => res.writableLength, cut: () => res.destroy() }, limits);
}

export function createApp(options: AppOptions): App {
  const { db, logger } = options;
  const accessPolicy = options.accessPolicy ?? DEFAULT_ACCESS_POLICY;
  const logIntegrity = options.logIntegrity ?? new LogIntegrity(logger);
  const metrics = options.metrics ?? new RegistryMetrics();
  const instrumented = options.instrumentation ?? true;
  const metricsAccess = options.metricsAccess ?? LOOPBACK_ONLY;
  const rateLimiter = options.rateLimiter ?? new RateLimiter(DEFAULT_RATE_LIMITS);
  const authFailures = options.authFailureLimiter ?? authFailureLimiter(DEFAULT_AUTH_FAILURE_LIMITS);
  let shuttingDown = false;
  const onCommitted = options.onCommitted;
  const commands: CommandDeps = {
    db,
    clock: options.clock ?? (() => new Date()),
    onCommitted: (events) => {
      metrics.committed(events);
      onCommitted?.(events);
    },
    onIntegrityViolation: (error) => logIntegrity.report(error),
    ...(options.onWebhooksChanged ? { onWebhooksChanged: options.onWebhooksChanged } : {}),
    factsInTransaction: allFacts(approvalFacts(accessPolicy), commentRoomFacts),
  };
  const directory =
    options.directory ??
    new AccessDirectory(commands, {
      onError: (error) => logger.error({ err: error }, "writing token last-used times failed; retrying"),
    });
  const yogaLogger = logger.child({ component: "graphql" });
  const subscriberLimits = options.subscriberLimits ?? DEFAULT_SUBSCRIBER_LIMITS;
  const connections =
    options.subscriptionConnections ?? new SubscriptionConnections(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS);
  const graphiql = graphiqlPage({ title: "Registro", subscriptionsProtocol: "WS" });
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, GraphQLContext>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: graphiql.options,
    renderGraphiQL: graphiql.render,
    // CORS is the server's (./corsPolicy.ts), for every route alike.
    cors: false,
    // Unexpected errors keep their details on the server; a blob store that is down is said so.
    maskedErrors: {
      maskError: (error, message, isDev) =>
        isBlobStoreUnavailable(error)
          ? new GraphQLError(STORE_UNAVAILABLE.error.message, {
              ...(error instanceof GraphQLError && error.path ? { path: error.path } : {}),
              extensions: { code: "BLOB_STORE_UNAVAILABLE" },
            })
          : maskError(error, message, isDev),
    },
    parserAndValidationCache: { documentCache: new DocumentCache(), errorCache: new DocumentCache() },
    // Bounded by bodySizeLimitPlugin instead, which needs no stream for a body of declared length.
    maxRequestBodySize: false,
    plugins: [
      // Queries and mutations on graphql-js's executor (no incremental delivery, no variable copies).
      referenceExecutorPlugin(),
      // Executes each subscription event once per group of subscribers that would get the same result.
      sharedSubscriptionExecutionPlugin(options.liveEvents.executions),
      persistedQueriesPlugin(),
      ...operationLimitPlugins(),
      requestParseErrorsPlugin(),
      csrfPreventionPlugin(),
      errorCodePlugin(),
      graphiql.plugin,
      ...(instrumented ? graphqlMetricsPlugins(metrics) : []),
      // After the request parsers (Yoga's and any plugin's): it wraps the one chosen.
      bodySizeLimitPlugin(),
      // After Yoga's result processors: it counts only the results they chose to stream.
      connections.ssePlugin(),
    ],
    logging: {
      debug: (...args: unknown[]) => yogaLogger.debug(args.map(String).join(" ")),
      info: (...args: unknown[]) => yogaLogger.info(args.map(String).join(" ")),
      warn: (...args: unknown[]) => yogaLogger.warn(args.map(String).join(" ")),
      error: (...args: unknown[]) =>
        yogaLogger.error({ err: args[0] }, args.slice(1).map(String).join(" ") || "graphql error"),
    },
    context: (initial) => {
      // A WebSocket operation brings the caller its connection was authenticated as; an HTTP
      // request was authenticated by the server before it reached Yoga.
      const caller = (initial as { caller?: Caller }).caller ?? callerOf(initial.req);
      return {
        caller,
        db,
        commands,
        events: options.liveEvents.hub,
        accessGeneration: options.liveEvents.hub.accessGeneration,
        inspector: options.inspector ?? disabledInspector,
        blobs: options.blobs,
        directory,
        webhooks: options.webhooks ?? NO_WEBHOOK_DELIVERY,
        usage: options.usage ?? DEFAULT_USAGE_CONFIG,
        ...requestMetadata(initial.request.headers, caller),
        ...requestAccess(db.reader, accessPolicy, caller),
        accessPolicy,
        // A WebSocket operation re-checks its connection's credentials; an HTTP one (SSE) its request's.
        reauthenticate:
          (initial as { reauthenticate?: () => Promise<Caller | null> }).reauthenticate ??
          (async () => {
            const authentication = await options.authenticator.authenticate(nodeHeaders(initial.req));
            return authentication.ok ? authentication.caller : null;
          }),
        credentialRecheckMs: options.credentialRecheckMs ?? DEFAULT_CREDENTIAL_RECHECK_MS,
        // A WebSocket brings its connection's budget along; over HTTP, an SSE subscription's
        // connection is its response (a plain query never queues anything against it).
        subscriberBudget:
          (initial as { subscriberBudget?: ByteBudget }).subscriberBudget ??
          (initial.res ? httpSubscriberBudget(initial.res, subscriberLimits) : undefined),
        // WebSocket operations bring their socket's signal; HTTP ones end with their response.
        connectionClosed:
          (initial as { connectionClosed?: () => AbortSignal }).connectionClosed ??
          (() => responseClosed(initial.res)),
        uploadRequest: issuedUploadsOf(initial.req),
        // A WebSocket operation brings its own; an HTTP request was given one when it was let in.
        rateCharge: (initial as { rateCharge?: RateCharge }).rateCharge ?? rateChargeOf(initial.req),
      };
    },
  });

  const web = webInterface(options.webDist, options.webSignIn ?? null);
  if (!web.built())
    logger.warn(
      "the web interface is not built (web/dist is empty): run `npm run web:build`; / shows the landing page",
    );
  const cors = corsPolicy(options.corsOrigins ?? []);
  const hosts = hostCheck({ mode: options.authenticator.mode, allowedHosts: options.allowedHosts ?? null });
  const routes = options.routes ?? [];
  const { authenticator } = options;
  const authenticate = (headers: HeaderSource) => authenticator.authenticate(headers);

  /**
   * A server refusal's body in the error shape of the route for `url` (Route.errorBody), or
   * undefined; a target that is no URL path (null) has no route.
   */
  function routeErrorBody(url: URL | null, refusal: ServerRefusal): unknown {
    if (url === null) return undefined;
    return routes.map((route) => route.errorBody?.(url, refusal)).find((body) => body !== undefined);
  }

  /**
   * A refusal's body in the shape of the endpoint: the route's own, GraphQL's, or plain JSON. An
   * OPTIONS request (a CORS preflight) is no GraphQL request, whatever its path.
   */
  function refusalBody(
    url: URL,
    refusal: ServerRefusal,
    { method, extensions = {} }: { method?: string; extensions?: Record<string, unknown> } = {},
  ) {
    return (
      routeErrorBody(url, refusal) ??
      (url.pathname === "/graphql" && method !== "OPTIONS"
        ? graphqlErrorBody(refusal.code, refusal.message, extensions)
        : { error: { ...extensions, code: refusal.code, message: refusal.message } })
    );
  }

  /** 401 with `WWW-Authenticate: Bearer`, in the shape of the endpoint (GraphQL or plain JSON). */
  function unauthenticated(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    refusal: Authentication & { ok: false },
  ) {
    const body = refusalBody(url, { status: 401, code: "UNAUTHENTICATED", message: refusal.message });
    refuse(req, res, 401, body, { "www-authenticate": wwwAuthenticate(refusal.reason) });
  }

  /**
   * 429 with `Retry-After`: the client has spent its rate limit, or its address its failed
   * authentications (./rateLimit.ts).
   */
  function rateLimited(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    refusal: RateRefusal,
    limit: RateLimitName,
  ) {
    metrics.rateLimited.inc({ limit, transport: "http" });
    const { retryAfterSeconds } = refusal;
    const body = refusalBody(
      url,
      { status: 429, code: "RATE_LIMITED", message: refusal.message },
      { extensions: { retryAfter: retryAfterSeconds } },
    );
    refuse(req, res, 429, body, { "retry-after": String(retryAfterSeconds) });
  }

  // Uploads authenticate again once their body has arrived (authenticateAgain), through the same
  // authenticator and refused in the same shape; never counted as failed guesses.
  const reauthentication: Reauthentication = {
    now: options.clock ?? (() => new Date()),
    authenticate: (req, arrival) => authenticator.authenticate(nodeHeaders(req), arrival),
    refuse: (req, res, refusal) => {
      const url = requestUrl(req);
      if (url === null)
        return refuse(req, res, 401, { error: { code: "UNAUTHENTICATED", message: refusal.message } });
      unauthenticated(req, res, url, refusal);
    },
  };

  /** GraphiQL's page itself holds no data (its requests are authenticated like any other). */
  const isGraphiqlPage = (req: IncomingMessage, url: URL) =>
    req.method === "GET" &&
    url.pathname === "/graphql" &&
    !url.searchParams.has("query") &&
    (req.headers.accept ?? "").includes("text/html");

  function serveGraphQL(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" && req.method !== "POST") {
      const message = `${req.method} is not supported on /graphql; use POST (or GET for queries)`;
      return refuse(req, res, 405, graphqlErrorBody("METHOD_NOT_ALLOWED", message), { allow: "GET, POST" });
    }
    const uploads = options.graphqlUploads;
    if (uploads === undefined || req.method !== "POST") return void yoga(req, res);
    // Before the upload handler, which would otherwise store the files of a forged request first.
    // Yoga's plugin makes the same check for what reaches Yoga.
    if (lacksCsrfHeader(req))
      return refuse(req, res, 403, graphqlErrorBody("CSRF_HEADER_REQUIRED", CSRF_MESSAGE));
    uploads(req, res, yoga)
      .then((handled) => (handled ? undefined : yoga(req, res)))
      .catch((error: unknown) => refuseUnexpected(logger, req, res, error, "unhandled GraphQL upload error"));
  }

  /** The unauthenticated operator routes: liveness, readiness and metrics (counts only). */
  function operatorRoute(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      const message = `${req.method} is not supported on ${pathname}`;
      return refuse(
        req,
        res,
        405,
        { error: { code: "METHOD_NOT_ALLOWED", message } },
        { allow: "GET, HEAD" },
      );
    }
    // /healthz and /readyz stay open: orchestrators and load balancers probe them without
    // credentials. Which streams are broken (ids) is for those who may read the metrics. Without
    // METRICS_TOKEN the caller's address is the credential: a rebound page must not borrow it.
    const byAddress = metricsAccess.token === null ? hosts.refusalByAddress(req) : null;
    const refusal =
      pathname === "/healthz"
        ? null
        : byAddress === null
          ? checkMetricsAccess(req, metricsAccess)
          : ({ status: 421, code: "HOST_NOT_ALLOWED", message: byAddress } as const);
    if (pathname === "/metrics" && refusal !== null)
      return refuse(
        req,
        res,
        refusal.status,
        { error: { code: refusal.code, message: refusal.message } },
        refusal.status === 401 ? { "www-authenticate": 'Bearer realm="metrics"' } : {},
      );
    const answered =
      pathname === "/healthz"
        ? checkHealth(db.reader).then((report) => {
            if (report.status !== "ok") logger.error({ health: report }, "health check failing");
            sendJson(res, report.status === "ok" ? 200 : 503, report);
          })
        : pathname === "/readyz"
          ? checkReadiness(db.reader, logIntegrity, {
              ...options.readiness,
              shuttingDown: () => shuttingDown,
            }).then((report) => {
              const shown =
                refusal === null || report.checks.eventLog?.streams === undefined
                  ? report
                  : {
                      ...report,
                      checks: { ...report.checks, eventLog: { ...report.checks.eventLog, streams: [] } },
                    };
              sendJson(res, report.status === "failing" ? 503 : 200, shown);
            })
          : serveMetrics(metrics, res, req);
    answered.catch((error: unknown) => {
      logger.error({ err: error }, `${pathname} failed`);
      refuse(req, res, 500, INTERNAL_ERROR);
    });
  }

  const observe = requestObserver({ logger, metrics: instrumented ? metrics : null });
  const handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (instrumented) observe(req, res);
    // Keep-alive clients reconnect (to another instance) instead of reusing a connection about to close.
    if (shuttingDown) res.setHeader("connection", "close");
    // The target, once it has parsed below: a body cut later is refused in its route's shape.
    let target: URL | null = null;
    options.bodyDeadline?.watch(req, res, (refusal) => routeErrorBody(target, refusal));
    applySecurityHeaders(res);
    // Only origin-form targets (`/path?query`): an absolute-form target (`http://other/graphql`) is
    // for proxies, and Yoga would fail to build a URL from it and answer 500 with a stack trace.
    if (!req.url?.startsWith("/") && !(req.method === "OPTIONS" && req.url === "*"))
      return refuse(req, res, 400, {
        error: { code: "BAD_REQUEST", message: "the request target must be a path starting with '/'" },
      });
    // A target such as `//[` is a host that does not parse: `new URL` throws, and an exception
    // thrown here would end the process.
    const url = (target = requestUrl(req));
    if (url === null)
      return refuse(req, res, 400, {
        error: { code: "BAD_REQUEST", message: "the request target is not a valid URL path" },
      });
    // Before anything else answers (preflights included): see ./hostCheck.ts.
    const misdirected = hosts.refusal(req);
    if (misdirected !== null)
      return refuse(
        req,
        res,
        421,
        refusalBody(
          url,
          { status: 421, code: "HOST_NOT_ALLOWED", message: misdirected },
          { method: req.method },
        ),
      );
    if (cors.handle(req, res)) return;
    if (OPERATOR_PATHS.has(url.pathname)) return operatorRoute(req, res, url.pathname);
    void (async () => {
      // Public: the web interface's page and assets, the landing page, its documentation pages and
      // GraphiQL's page. Everything else is authenticated here, once, before any handler sees it.
      if (await web.route(req, res, url)) return;
      if (await landingPage(req, res, url, web.servePage)) return;
      if (!isGraphiqlPage(req, url)) {
        const authentication = await authenticateWithinFailureLimit(
          authFailures,
          req,
          nodeHeaders(req),
          authenticate,
        );
        if (!authentication.ok)
          return authentication.reason === "limited"
            ? rateLimited(req, res, url, authentication.refusal, "auth_failures")
            : unauthenticated(req, res, url, authentication);
        rememberCaller(req, authentication.caller, reauthentication);
        if (rateLimiter.enabled) {
          const client = rateLimitKey(authentication.caller, req);
          const limited = rateLimiter.take(client);
          if (limited !== null) return rateLimited(req, res, url, limited, "requests");
          rememberRateCharge(req, rateLimiter.chargeTo(client));
        }
      }
      if (url.pathname === "/graphql") return serveGraphQL(req, res);
      for (const route of routes) if (await route(req, res, url)) return;
      refuse(req, res, 404, {
        error: { code: "NOT_FOUND", message: `no route for ${req.method} ${url.pathname}` },
      });
    })().catch((error: unknown) => refuseUnexpected(logger, req, res, error, "unhandled route error"));
  };
  // What the synchronous part of the handling throws is this request's failure (500), never the
  // process's: an exception thrown from the server's "request" listener would end it.
  const server = http.createServer((req, res) => {
    try {
      handleRequest(req, res);
    } catch (error) {
      refuseUnexpected(logger, req, res, error, "unhandled request error");
    }
  });
  // Requests Node's parser refuses before any handler runs (bad syntax, headers over 16 KiB) get the
  // error shape of their endpoint (MLflow's on its paths) instead of an empty body.
  server.on("clientError", clientErrorAnswer(refusalBody));
  // Before any request is read: a connection from a trusted proxy is known as one from the start.
  trustProxies(server, options.trustedProxies ?? TrustedProxies.NONE);
  // Slow or stalled clients must not pin connections forever.
  server.requestTimeout = 0; // long artifact transfers are bounded by headersTimeout + the body deadline instead
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(120_000);
  const openConnections = connectionReaper(server);
  const webSocket = attachGraphQLWebSocket(server, yoga, {
    path: "/graphql",
    keepAliveMs: options.webSocketKeepAliveMs ?? 12_000,
    subscriberLimits,
    logger,
    // Browsers let any page open a WebSocket anywhere (no CORS): only our pages and allowed origins.
    acceptsHost: (req) => hosts.refusal(req) === null,
    acceptsOrigin: (req) => cors.originAllowed(req),
    authenticate,
    connections,
    rateLimiter,
    authFailureLimiter: authFailures,
    onRateLimited: (limit) => metrics.rateLimited.inc({ limit, transport: "websocket" }),
  });

  metrics.watch({
    logIntegrity,
    ...(options.blobIntegrity ? { blobIntegrity: options.blobIntegrity } : {}),
    subscriptions: options.liveEvents.hub,
    webSocketClients: () => webSocket.clients,
    logHead: () => logHead(db),
  });

  return {
    server,
    logIntegrity,
    commands,
    directory,
    metrics,
    beginShutdown() {
      shuttingDown = true;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(closeOptions) {
      const graceMs = closeOptions?.inFlightGraceMs ?? DEFAULT_IN_FLIGHT_GRACE_MS;
      let cutConnections = 0;
      shuttingDown = true;
      // The listener first: a connection (or WebSocket upgrade) accepted while the WebSockets close
      // would only be cut a moment later. Called back once every connection has gone.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Then WebSocket clients, with 1001 Going Away, so they reconnect (elsewhere) and resume.
      await webSocket.close();
      await new Promise<void>((resolve) => {
        // Keep-alive connections go as soon as they are idle (an SSE response ends when its stream
        // does), and those that never sent a byte as soon as they have had time to.
        const closeIdle = () => {
          server.closeIdleConnections();
          openConnections.cutUnused();
        };
        const reap = setInterval(closeIdle, 20).unref();
        // In-flight requests get a grace period, then are cut.
        const grace = setTimeout(() => {
          // Idle ones were closed as they went idle: those left are in the middle of a request.
          cutConnections = openConnections.used;
          // Every one, not only those Node's server still lists (closeAllConnections): a socket taken
          // off it (an upgrade) would otherwise hold the shutdown until its client closes it.
          openConnections.cutAll();
        }, graceMs).unref();
        void closed.then(() => {
          clearInterval(reap);
          clearTimeout(grace);
          resolve();
        });
        closeIdle();
        // Ends SSE subscription streams, so their responses finish instead of waiting to be cut.
        void options.liveEvents.close();
      });
      await directory.close();
      return { cutConnections };
    },
  };
}
