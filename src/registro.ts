// The composition root: everything a running registry is made of, wired once. `npm start` and the
// end-to-end tests both build the server through here, so tests exercise exactly what ships.
import path from "node:path";
import type { Logger } from "pino";
import { createAuthenticator, osUserName } from "./access/authenticate.ts";
import type { Authenticator } from "./access/authenticate.ts";
import type { AuthMode } from "./access/authMode.ts";
import { DEFAULT_ACCESS_POLICY } from "./access/modelAccess.ts";
import { requestAccess, writeRefusal } from "./access/scopedReader.ts";
import { callerOf } from "./http/requestCaller.ts";
import type { AccessPolicy } from "./access/modelAccess.ts";
import type { PrincipalDirectory } from "./access/principal.ts";
import { createSsoVerifier } from "./access/sso.ts";
import type { OidcConfig } from "./access/sso.ts";
import { createArtifactInspector } from "./artifacts/artifactInspector.ts";
import type { ArtifactInspector, InspectionConfig } from "./artifacts/artifactInspector.ts";
import { artifactDownload, artifactRoute } from "./artifacts/http/artifactRoute.ts";
import type { ArtifactRouteOptions } from "./artifacts/http/artifactRoute.ts";
import { artifactProxyRoute } from "./mlflow/artifactProxy.ts";
import { mlflowRoute } from "./mlflow/mlflowRoute.ts";
import { DEFAULT_AUDIT_EXPORT_LIMITS, auditExportRoute } from "./audit/http/exportRoute.ts";
import type { AuditExportLimits, AuditExportRoute } from "./audit/http/exportRoute.ts";
import { graphqlUploadHandler } from "./artifacts/http/graphqlUploads.ts";
import { IntegrityMonitor } from "./artifacts/blobIntegrity.ts";
import type { BlobStore } from "./artifacts/blobStore.ts";
import { createBlobStore } from "./artifacts/createBlobStore.ts";
import { claimBlobStore } from "./artifacts/storeIdentity.ts";
import { blobStoreStartupError } from "./startupErrors.ts";
import { CheckpointScheduler } from "./audit/checkpointScheduler.ts";
import { defaultInspectionWorkers } from "./config.ts";
import type { ArtifactConfig, DatabaseConfig } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import type { Database } from "./db/database.ts";
import { includesPermission } from "./domain/modelPermissions.ts";
import type { ModelPermission } from "./domain/modelPermissions.ts";
import { listMigrations, prepareSchema } from "./db/migrate.ts";
import type { MetricsAccessConfig } from "./monitoring/metricsAccess.ts";
import { BlobStoreSize, webhookCursor } from "./monitoring/logFollowers.ts";
import { RegistryMetrics, labelSet } from "./monitoring/registryMetrics.ts";
import { LogIntegrity } from "./audit/logIntegrity.ts";
import { startLiveEvents } from "./subscriptions/liveEvents.ts";
import type { LiveEvents, SubscriptionOptions } from "./subscriptions/liveEvents.ts";
import { DEFAULT_SUBSCRIBER_LIMITS } from "./subscriptions/subscriberBudget.ts";
import type { SubscriberLimits } from "./subscriptions/subscriberBudget.ts";
import { BodyDeadline, DEFAULT_BODY_DEADLINE } from "./http/bodyDeadline.ts";
import type { BodyDeadlineOptions } from "./http/bodyDeadline.ts";
import { createApp } from "./http/server.ts";
import { DEFAULT_DELIVERY_CONFIG, DeliveryWorker } from "./webhooks/delivery/deliveryWorker.ts";
import type { DeliveryConfig } from "./webhooks/delivery/deliveryWorker.ts";
import { EMPTY_ALLOW_LIST } from "./webhooks/delivery/targetGuard.ts";
import type { App, CloseOutcome } from "./http/server.ts";
import { DEFAULT_UPLOAD_LIMITS, UploadSlots } from "./http/uploadSlots.ts";
import type { UploadLimits } from "./http/uploadSlots.ts";
import type { TrustedProxies } from "./http/trustedProxies.ts";
import {
  DEFAULT_AUTH_FAILURE_LIMITS,
  DEFAULT_RATE_LIMITS,
  RateLimiter,
  authFailureLimiter,
} from "./http/rateLimit.ts";
import type { RateLimits } from "./http/rateLimit.ts";
import {
  DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS,
  SubscriptionConnections,
} from "./http/subscriptionConnections.ts";
import type { SubscriptionConnectionLimits } from "./http/subscriptionConnections.ts";
import { DEFAULT_USAGE_CONFIG, UsageTracking } from "./usage/usageTracking.ts";
import type { UsageConfig } from "./usage/usageTracking.ts";

export interface RegistroOptions {
  readonly database: DatabaseConfig;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock?: () => Date;
  /**
   * Subscription tuning: subscriber bounds (notifications, and bytes per connection with the time a
   * dropped subscriber has to take its notice), PostgreSQL safety poll, WebSocket keep-alive.
   */
  readonly subscriptions?: SubscriptionOptions &
    Partial<SubscriberLimits> & { readonly webSocketKeepAliveMs?: number };
  /**
   * Artifact storage and limits; the blob store defaults to the folder `<dataDir>/blobs`, limits to
   * no limit.
   */
  readonly artifacts?: Partial<ArtifactConfig>;
  /** Artifact inspection on upload; default on, with defaultInspectionWorkers() workers. */
  readonly inspection?: Partial<InspectionConfig>;
  /** Minimum rate and idle timeout of request bodies (default DEFAULT_BODY_DEADLINE). */
  readonly requestBodies?: Partial<BodyDeadlineOptions>;
  /** Concurrent uploads per client and in total (default DEFAULT_UPLOAD_LIMITS). */
  readonly uploads?: Partial<UploadLimits>;
  /**
   * Concurrent subscription connections (WebSockets and SSE streams) per client, per principal and
   * in total, WebSockets still authenticating apart, and their deadline to authenticate (default
   * DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS).
   */
  readonly subscriptionConnections?: Partial<SubscriptionConnectionLimits>;
  /** What each client may ask of the server over time (default DEFAULT_RATE_LIMITS; perSecond 0: off). */
  readonly rateLimits?: Partial<RateLimits>;
  /**
   * Failed authentications per client address over time (default DEFAULT_AUTH_FAILURE_LIMITS;
   * perSecond 0: off), and the clock their buckets refill by (ms, monotonic; tests move it).
   */
  readonly authFailureLimits?: Partial<RateLimits> & { readonly now?: () => number };
  /** Observes every query the GraphQL read side runs (trace logging; N+1 tests). */
  readonly onReadQuery?: (sql: string, durationMs: number) => void;
  /** Browser origins besides the registry's own that may call it (CORS_ORIGINS); default none. */
  readonly corsOrigins?: readonly string[];
  /** Host names besides loopback the registry answers for (ALLOWED_HOSTS); default none. */
  readonly allowedHosts?: readonly string[] | null;
  /** Reverse proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES); default none. */
  readonly trustedProxies?: TrustedProxies;
  /** Authentication: the mode (default local), SSO, and the directory of principals and tokens. */
  readonly auth?: AuthOptions;
  /** Audit checkpoints: the signing key file (default `<dataDir>/audit-signing-key.pem`) and interval (default 1 h; 0 never). */
  readonly audit?: { readonly signingKeyFile?: string; readonly checkpointIntervalMs?: number };
  /** Page size and stalled-reader deadline of `/audit/export` (default DEFAULT_AUDIT_EXPORT_LIMITS). */
  readonly auditExport?: Partial<AuditExportLimits>;
  /** Webhook delivery: limits, retry schedule, lease, allowed internal targets (default DEFAULT_DELIVERY_CONFIG, none allowed). */
  readonly webhooks?: Partial<DeliveryConfig> & { readonly instanceId?: string };
  /** Who may read /metrics (METRICS_TOKEN, METRICS_ALLOWED_NETWORKS); default loopback only. */
  readonly metricsAccess?: MetricsAccessConfig;
  /** Request log lines and metrics (default true; false only to measure their cost). */
  readonly instrumentation?: boolean;
  /** Download counting, its flush, and the retention of usage buckets (default DEFAULT_USAGE_CONFIG). */
  readonly usage?: Partial<UsageConfig>;
  /** The web interface's build folder (default web/dist). */
  readonly webDist?: string;
}

export interface AuthOptions {
  /** Default `local` (the caller decides by HOST: see config.ts). */
  readonly mode?: AuthMode;
  /** Accept SSO access tokens of this issuer; default none. */
  readonly oidc?: OidcConfig | null;
  /** Principals and tokens. Default: the app's access directory (src/access/directory.ts). */
  readonly directory?: PrincipalDirectory;
  /** The OS user the local administrator is named after (default: the process's user). */
  readonly osUserName?: string;
  /** What every authenticated principal holds on every model (default READ; null: nothing). */
  readonly defaultModelPermission?: ModelPermission | null;
  /** How often (ms) running subscriptions re-check their credentials besides on access events (default 10 s; 0: only on those). */
  readonly credentialRecheckMs?: number;
}

export interface Registro {
  readonly app: App;
  readonly db: Database;
  /** The process's subscription hub (committed events fanned out to subscribers). */
  readonly liveEvents: LiveEvents;
  readonly migrationsApplied: readonly string[];
  /** Where artifact bytes live. */
  readonly blobs: BlobStore;
  /** Inspects artifact bytes on upload and re-inspection (a pool of worker threads). */
  readonly inspector: ArtifactInspector;
  /** Damaged artifact bytes this process's downloads found (`failures`, for health checks). */
  readonly integrity: IntegrityMonitor;
  /** The audit export route (how many exports are streaming now). */
  readonly auditExport: AuditExportRoute;
  /** Cuts request bodies that arrive too slowly. */
  readonly bodyDeadline: BodyDeadline;
  /** Concurrent uploads in progress, capped per client and in total. */
  readonly uploads: UploadSlots;
  /** Subscription connections open (WebSockets and SSE streams), capped per client and in total. */
  readonly subscriptionConnections: SubscriptionConnections;
  /** Who each request acts as. */
  readonly authenticator: Authenticator;
  /** Signs audit checkpoints of the event log periodically (and on demand). */
  readonly checkpoints: CheckpointScheduler;
  /** Delivers model events to registered webhooks. */
  readonly webhooks: DeliveryWorker;
  /** Counts downloads and flushes them; prunes usage buckets past their retention. */
  readonly usage: UsageTracking;
  /**
   * Stops accepting requests, finishes in-flight work (requests within `inFlightGraceMs`, then cut:
   * App.close), and closes the database.
   */
  close(options?: { readonly inFlightGraceMs?: number }): Promise<CloseOutcome>;
}

export async function createRegistro(options: RegistroOptions): Promise<Registro> {
  const clock = options.clock ?? (() => new Date());
  const authMode = options.auth?.mode ?? "local";
  const localUser = options.auth?.osUserName ?? osUserName();
  const authenticator = createAuthenticator({
    mode: authMode,
    // The access directory belongs to the app (it writes through the app's command runner); the
    // authenticator reaches it once the app exists, as the artifact route reaches its commands.
    directory: options.auth?.directory ?? {
      verifyToken: (secret, now, expiryAt) => app.directory.verifyToken(secret, now, expiryAt),
      principalForSso: (claims, now) => app.directory.principalForSso(claims, now),
      localAdministrator: (name, now) => app.directory.localAdministrator(name, now),
    },
    sso: options.auth?.oidc ? createSsoVerifier(options.auth.oidc) : null,
    clock,
    osUserName: localUser,
  });
  const { applied: migrationsApplied, serverRoleOwnsEvents } = await prepareSchema(options.database);
  if (serverRoleOwnsEvents)
    options.logger.warn(
      "DATABASE_URL's role owns the event table, so it could disable the triggers that keep events immutable or drop the table; " +
        "give the server a role that may only read and append events (DATABASE_OWNER_URL for migrations): see docs/audit.md, Database roles on PostgreSQL",
    );
  const db = openDatabase(options.database, {
    ...(options.onReadQuery ? { onReadQuery: options.onReadQuery } : {}),
    // SQLite: WAL checkpoints in a worker thread, off the event loop's commits (src/db/walCheckpointer.ts).
    backgroundCheckpoints: {
      onError: (error) =>
        options.logger.warn({ err: error }, "background WAL checkpoint failed; the writer bounds the WAL"),
    },
  });
  const blobs = createBlobStore({
    dir: options.artifacts?.dir ?? path.join(options.dataDir, "blobs"),
    store: options.artifacts?.store ?? { kind: "filesystem" },
  });
  try {
    // Refused before anything is served when the database's artifacts live in another store.
    await claimBlobStore(db, blobs, clock()).catch((error: unknown) => {
      throw blobStoreStartupError(blobs.location, error);
    });
  } catch (error) {
    await blobs.close();
    await db.close();
    throw error;
  }
  const metrics = new RegistryMetrics();
  // Broken histories found by commands and by the subscription tailer: one list for /readyz and /metrics.
  const logIntegrity = new LogIntegrity(options.logger, clock);
  const liveEvents = await startLiveEvents(db, options.logger, options.subscriptions, (error) =>
    logIntegrity.report(error, "subscription"),
  );
  const keepAlive = options.subscriptions?.webSocketKeepAliveMs;
  // Leftovers of uploads cut short by a crash: never visible as blobs. Only those of processes that
  // are gone: other instances sharing the store may be receiving uploads right now.
  const abandoned = await blobs.cleanTemporaryFiles();
  if (abandoned > 0)
    options.logger.warn(
      { entries: abandoned, store: blobs.location },
      "removed temporary files of uploads interrupted by a crash",
    );
  const limits = {
    maxArtifactBytes: options.artifacts?.maxArtifactBytes ?? Number.MAX_SAFE_INTEGER,
    maxRequestBytes: options.artifacts?.maxRequestBytes ?? Number.MAX_SAFE_INTEGER,
  };
  const inspector = createArtifactInspector(blobs, options.logger, {
    enabled: options.inspection?.enabled ?? true,
    workers: options.inspection?.workers ?? defaultInspectionWorkers(),
    onInspected: (seconds, verdict) => metrics.inspectionDuration.observe(labelSet({ verdict }), seconds),
    ...(options.inspection?.timeBudgetMs === undefined
      ? {}
      : { timeBudgetMs: options.inspection.timeBudgetMs }),
    ...(options.inspection?.allowImports === undefined
      ? {}
      : { allowImports: options.inspection.allowImports }),
  });
  const integrity = new IntegrityMonitor(blobs, options.logger);
  const bodyDeadline = new BodyDeadline(
    { ...DEFAULT_BODY_DEADLINE, ...options.requestBodies },
    options.logger.child({ component: "http" }),
  );
  const uploads = new UploadSlots({ ...DEFAULT_UPLOAD_LIMITS, ...options.uploads });
  const rateLimiter = new RateLimiter({ ...DEFAULT_RATE_LIMITS, ...options.rateLimits });
  const { now: authFailureClock, ...authFailureLimits } = options.authFailureLimits ?? {};
  const authFailures = authFailureLimiter(
    { ...DEFAULT_AUTH_FAILURE_LIMITS, ...authFailureLimits },
    authFailureClock,
  );
  const subscriptionConnections = new SubscriptionConnections({
    ...DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS,
    ...options.subscriptionConnections,
  });
  const accessPolicy: AccessPolicy = {
    defaultPermission:
      options.auth?.defaultModelPermission === undefined
        ? DEFAULT_ACCESS_POLICY.defaultPermission
        : options.auth.defaultModelPermission,
  };
  const usage = new UsageTracking(db, options.logger.child({ component: "usage" }), clock, {
    ...DEFAULT_USAGE_CONFIG,
    ...options.usage,
  });
  const artifactOptions: ArtifactRouteOptions = {
    ...(usage.counter === null ? {} : { onDownloaded: (download) => usage.recordDownload(download) }),
    accessPolicy,
    db,
    blobs,
    presignedDownloadSeconds:
      options.artifacts?.store?.kind === "s3" ? options.artifacts.store.presignedDownloadSeconds : null,
    limits,
    uploads,
    inspector,
    integrity,
    logger: options.logger,
    commands: () => app.commands,
  };
  const artifacts = artifactRoute(artifactOptions);
  const artifactProxy = artifactProxyRoute({
    db,
    logger: options.logger.child({ component: "mlflow-artifacts" }),
    accessPolicy,
    blobs,
    limits,
    uploads,
    integrity,
    download: artifactDownload(artifactOptions),
  });
  const auditExport = auditExportRoute({
    accessPolicy,
    db,
    logger: options.logger.child({ component: "audit-export" }),
    limits: { ...DEFAULT_AUDIT_EXPORT_LIMITS, ...options.auditExport },
  });
  const mlflow = mlflowRoute({
    accessPolicy,
    db,
    logger: options.logger.child({ component: "mlflow" }),
    commands: () => app.commands,
    artifacts: { blobs, inspector },
  });
  const webhookConfig: DeliveryConfig = {
    ...DEFAULT_DELIVERY_CONFIG,
    allow: EMPTY_ALLOW_LIST,
    ...options.webhooks,
  };
  const webhooks = new DeliveryWorker({
    db,
    logger: options.logger.child({ component: "webhooks" }),
    clock,
    accessPolicy,
    // The worker's own appends (WebhookDisabled) are not model events: no one needs waking for
    // them, but they are counted.
    commands: { db, clock, onCommitted: (events) => metrics.committed(events) },
    config: webhookConfig,
    onDelivery: (outcome) => metrics.webhookDeliveries.inc(labelSet({ outcome })),
    ...(options.webhooks?.instanceId === undefined ? {} : { instanceId: options.webhooks.instanceId }),
  });
  if (authMode === "local")
    options.logger.warn(
      { auth: "local", actingAs: localUser },
      `AUTH=local: requests without credentials act as the local administrator '${localUser}'. Use AUTH=required (with tokens or OIDC_* settings) for a shared registry.`,
    );
  const app = createApp({
    accessPolicy,
    ...(options.auth?.credentialRecheckMs === undefined
      ? {}
      : { credentialRecheckMs: options.auth.credentialRecheckMs }),
    authenticator,
    db,
    logger: options.logger,
    ...(options.clock ? { clock: options.clock } : {}),
    liveEvents,
    inspector,
    blobs,
    onCommitted: (events) => {
      liveEvents.committed(events);
      webhooks.committed(events.reduce((last, e) => Math.max(last, e.position), 0));
    },
    onWebhooksChanged: () => webhooks.webhooksChanged(),
    webhooks: {
      allow: webhookConfig.allow,
      ping: (id) => webhooks.ping(id),
      redeliver: (id) => webhooks.redeliver(id),
    },
    blobIntegrity: integrity,
    logIntegrity,
    usage: usage.config,
    ...(keepAlive === undefined ? {} : { webSocketKeepAliveMs: keepAlive }),
    subscriberLimits: {
      maxQueuedBytes: options.subscriptions?.maxQueuedBytes ?? DEFAULT_SUBSCRIBER_LIMITS.maxQueuedBytes,
      cutAfterMs: options.subscriptions?.cutAfterMs ?? DEFAULT_SUBSCRIBER_LIMITS.cutAfterMs,
    },
    subscriptionConnections,
    rateLimiter,
    authFailureLimiter: authFailures,
    // The proxy before the MLflow RPCs: it reads the raw request target, which the RPCs' normalised
    // URL could otherwise hand them (`mlflow-artifacts/artifacts/../../mlflow/…`).
    routes: [artifacts, auditExport, artifactProxy, mlflow],
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    graphqlUploads: graphqlUploadHandler({
      blobs,
      limits,
      uploads,
      inspected: inspector.enabled,
      logger: options.logger,
      mayWrite: async (req, modelName) => {
        const access = requestAccess(db.reader, accessPolicy, callerOf(req));
        return modelName === undefined
          ? includesPermission(access.rights.ceiling, "EDIT")
          : (await writeRefusal(access, modelName, "upload")) === null;
      },
    }),
    bodyDeadline,
    metrics,
    ...(options.metricsAccess ? { metricsAccess: options.metricsAccess } : {}),
    ...(options.instrumentation === undefined ? {} : { instrumentation: options.instrumentation }),
    ...(options.webDist === undefined ? {} : { webDist: options.webDist }),
    ...(options.auth?.oidc?.webClient
      ? { webSignIn: { issuer: options.auth.oidc.issuer, ...options.auth.oidc.webClient } }
      : {}),
    readiness: {
      migrations: listMigrations(options.database.provider).map((m) => m.name),
      blobStore: blobs,
    },
  });
  const blobSize = new BlobStoreSize(db);
  metrics.watch({
    webhookCursor: () => webhookCursor(db),
    blobStore: () => blobSize.current(),
    inspectionsPending: () => inspector.pending,
    ...(usage.counter === null ? {} : { usage: usage.counter }),
  });
  const checkpoints = new CheckpointScheduler(db, {
    signingKeyFile: options.audit?.signingKeyFile ?? path.join(options.dataDir, "audit-signing-key.pem"),
    intervalMs: options.audit?.checkpointIntervalMs ?? 3_600_000,
    logger: options.logger.child({ component: "audit" }),
    clock,
  });
  checkpoints.start();
  await webhooks.start();
  usage.start();
  return {
    app,
    db,
    liveEvents,
    migrationsApplied,
    blobs,
    inspector,
    integrity,
    auditExport,
    bodyDeadline,
    uploads,
    subscriptionConnections,
    authenticator,
    checkpoints,
    webhooks,
    usage,
    async close(closeOptions) {
      // Side by side: the listener stops accepting at once, not after an audit checkpoint being
      // signed has finished (the scheduler's timer stops at once too; the database stays open).
      const [, outcome] = await Promise.all([checkpoints.close(), app.close(closeOptions)]);
      // After the app: downloads finishing while it drains are still counted, then flushed.
      await usage.close();
      await webhooks.close();
      await inspector.close();
      await blobs.close();
      await liveEvents.close();
      await db.close();
      return outcome;
    },
  };
}
