// Runtime configuration from the environment, validated once at start-up so that a typo fails fast
// with a readable message instead of surfacing later as an odd runtime error.
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { defaultAuthMode } from "./access/authMode.ts";
import type { UsageConfig } from "./usage/usageTracking.ts";
import type { AuthMode } from "./access/authMode.ts";
import type { ModelPermission } from "./domain/modelPermissions.ts";
import { DEFAULT_OIDC_ALGORITHMS } from "./access/sso.ts";
import type { OidcConfig } from "./access/sso.ts";
import type { InspectionConfig } from "./artifacts/artifactInspector.ts";
import type { S3Settings } from "./artifacts/s3BlobStore.ts";
import { parseByteSize, parseDuration } from "./artifacts/units.ts";
import { DEFAULT_BODY_DEADLINE } from "./http/bodyDeadline.ts";
import type { BodyDeadlineOptions } from "./http/bodyDeadline.ts";
import { parseAllowedHosts } from "./http/hostCheck.ts";
import { TrustedProxies, parseTrustedProxies } from "./http/trustedProxies.ts";
import { DEFAULT_UPLOAD_LIMITS } from "./http/uploadSlots.ts";
import { DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS } from "./http/subscriptionConnections.ts";
import { DEFAULT_AUTH_FAILURE_LIMITS, DEFAULT_RATE_LIMITS } from "./http/rateLimit.ts";
import type { RateLimits } from "./http/rateLimit.ts";
import type { SubscriptionConnectionLimits } from "./http/subscriptionConnections.ts";
import { metricsAccess, parseNetworks } from "./monitoring/metricsAccess.ts";
import type { MetricsAccessConfig } from "./monitoring/metricsAccess.ts";
import type { UploadLimits } from "./http/uploadSlots.ts";
import { DEFAULT_SUBSCRIBER_LIMITS } from "./subscriptions/subscriberBudget.ts";
import { DEFAULT_DELIVERY_CONFIG } from "./webhooks/delivery/deliveryWorker.ts";
import type { DeliveryConfig } from "./webhooks/delivery/deliveryWorker.ts";
import { EMPTY_ALLOW_LIST, parseAllowList } from "./webhooks/delivery/targetGuard.ts";
import { NO_ALLOW_IMPORTS, parseAllowImports } from "./inspection/operatorAllowList.ts";

const byteSize = z.string().transform((text, ctx) => {
  const bytes = parseByteSize(text);
  if (bytes === null || bytes < 1) {
    ctx.addIssue({ code: "custom", message: "must be a size in bytes, e.g. 1073741824, 512MiB or 20GB" });
    return z.NEVER;
  }
  return bytes;
});

/** A comma-separated list of browser origins (`https://ui.example.com`), each exactly an origin. */
const originList = z.string().transform((text, ctx) => {
  const origins: string[] = [];
  for (const item of text.split(",")) {
    const candidate = item.trim();
    if (candidate === "") continue;
    let origin: string | null = null;
    // An origin is scheme, host and port only: a path, a trailing slash or a wildcard would suggest
    // a match that browsers never ask for.
    if (/^https?:\/\/[^/?#@\s*]+$/i.test(candidate)) {
      try {
        origin = new URL(candidate).origin;
      } catch {
        origin = null;
      }
    }
    if (origin === null) {
      ctx.addIssue({
        code: "custom",
        message: `'${candidate}' is not an origin; list origins like https://ui.example.com or http://localhost:5173, separated by commas`,
      });
      return z.NEVER;
    }
    origins.push(origin);
  }
  return [...new Set(origins)];
});

/** Like byteSize, but 0 is allowed (it switches the limit off). */
const byteRate = z.string().transform((text, ctx) => {
  const bytes = parseByteSize(text);
  if (bytes === null) {
    ctx.addIssue({
      code: "custom",
      message: "must be bytes per second, e.g. 1024 or 1KiB (0 switches it off)",
    });
    return z.NEVER;
  }
  return bytes;
});

/** A comma-separated list of JWS algorithms; `none` (an unsigned token) is never accepted. */
const algorithmList = z.string().transform((text, ctx) => {
  const algorithms = [
    ...new Set(
      text
        .split(",")
        .map((a) => a.trim())
        .filter((a) => a !== ""),
    ),
  ];
  if (
    algorithms.length === 0 ||
    algorithms.some((a) => a.toLowerCase() === "none" || !/^[A-Za-z0-9+_-]{2,16}$/.test(a))
  ) {
    ctx.addIssue({
      code: "custom",
      message:
        "must list JWS algorithms separated by commas, e.g. RS256,ES256,EdDSA (`none` is never allowed)",
    });
    return z.NEVER;
  }
  return algorithms;
});

/** `1h`, `30m`, `90s`, or `0` (off); at least a second, so checkpoints cannot hammer the database. */
const interval = z.string().transform((text, ctx) => {
  const ms = text.trim() === "0" ? 0 : parseDuration(text.trim());
  if (ms === null || (ms !== 0 && ms < 1000)) {
    ctx.addIssue({
      code: "custom",
      message: "must be a duration of at least 1s, e.g. 1h, 30m or 90s (0 switches it off)",
    });
    return z.NEVER;
  }
  return ms;
});

/** S3_PRESIGNED_DOWNLOADS: `off`, or how long a presigned download URL stays valid (1s to 7d, S3's limit). */
const presignLifetime = z.string().transform((text, ctx) => {
  if (text.trim() === "off") return null;
  const ms = parseDuration(text.trim());
  if (ms === null || ms < 1000 || ms > 7 * 86_400_000) {
    ctx.addIssue({ code: "custom", message: "must be off or a duration from 1s to 7d, e.g. 60s or 5m" });
    return z.NEVER;
  }
  return Math.floor(ms / 1000);
});

/** S3_ENDPOINT: an http(s) URL without credentials, query or fragment. */
const endpointUrl = z.string().transform((text, ctx) => {
  let url: URL | null = null;
  try {
    url = new URL(text.trim());
  } catch {
    url = null;
  }
  if (
    url === null ||
    !["http:", "https:"].includes(url.protocol) ||
    url.username !== "" ||
    url.password !== "" ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    ctx.addIssue({
      code: "custom",
      message: "must be an http(s) URL such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000",
    });
    return z.NEVER;
  }
  return url.toString().replace(/\/$/, "");
});

/** A setting read by `parse`, whose error message names what is wrong with it. */
const parsedBy = <T>(parse: (text: string) => T) =>
  z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/** INSPECTION_ALLOW_IMPORTS: comma- or space-separated entries, validated strictly (src/inspection/operatorAllowList.ts). */
const allowImports = parsedBy(parseAllowImports);

/** ALLOWED_HOSTS: host names and IP addresses, comma-separated (src/http/hostCheck.ts). */
const hostList = parsedBy(parseAllowedHosts);

// The three lists of addresses and CIDR ranges read them alike (src/http/addressRanges.ts): the
// error names the bad entry, and zod's path the setting.

/** WEBHOOK_ALLOWED_TARGETS: host names, addresses and CIDR ranges, comma-separated (src/webhooks/delivery/targetGuard.ts). */
const allowList = parsedBy(parseAllowList);

/** TRUSTED_PROXIES: addresses and CIDR ranges, comma-separated (src/http/trustedProxies.ts). */
const proxyList = parsedBy(parseTrustedProxies);

/** METRICS_ALLOWED_NETWORKS: addresses and CIDR ranges, comma-separated, at least one (src/monitoring/metricsAccess.ts). */
const networkList = parsedBy(parseNetworks);

const milliseconds = (min: number) => z.coerce.number().int().min(min).max(3_600_000);

const schema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Folder for the embedded SQLite database (and, later, artifacts). */
  DATA_DIR: z.string().min(1).default("./data"),
  /** postgresql://… switches to PostgreSQL; unset (or file:…) uses SQLite in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|file:)/, "must start with postgresql://, postgres:// or file:")
    .optional(),
  /** PostgreSQL only: the role that owns the schema and runs migrations; DATABASE_URL is then the server's narrower role. */
  DATABASE_OWNER_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgresql:// or postgres://")
    .optional(),
  /** Folder of the content-addressed artifact blob store (default: DATA_DIR/blobs). */
  ARTIFACT_DIR: z.string().min(1).optional(),
  /** Where artifact bytes live: `filesystem` (ARTIFACT_DIR) or `s3` (a bucket shared by every instance). */
  BLOB_STORE: z.enum(["filesystem", "s3"]).default("filesystem"),
  /** BLOB_STORE=s3: the bucket (it must exist). */
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    .optional(),
  /** BLOB_STORE=s3: key prefix inside the bucket, so several registries can share one bucket. */
  S3_PREFIX: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9!_.*'()/-]*$/, "may hold letters, digits and ! - _ . * ' ( ) / only")
    .refine((p) => !p.startsWith("/") && !p.includes("//") && !p.split("/").includes(".."), {
      message: "must be a relative key prefix without //, .. or a leading /",
    })
    .default(""),
  /** BLOB_STORE=s3: the service's endpoint; unset: AWS S3 of S3_REGION. */
  S3_ENDPOINT: endpointUrl.optional(),
  /** BLOB_STORE=s3: the region (signing); unset: AWS_REGION, else us-east-1. */
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/, "must be a region name such as eu-west-1")
    .optional(),
  /** BLOB_STORE=s3: address the bucket in the path (MinIO, Ceph, s3rver) instead of the host name. */
  S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("false"),
  /** BLOB_STORE=s3: multipart part size; an upload holds at most two parts in memory. */
  S3_PART_SIZE: byteSize
    .refine((n) => n >= 5 * 2 ** 20 && n <= 512 * 2 ** 20, { message: "must be from 5MiB to 512MiB" })
    .default(8 * 2 ** 20),
  /** BLOB_STORE=s3: answer downloads with a presigned redirect valid this long, or `off` (bytes pass through the server). */
  S3_PRESIGNED_DOWNLOADS: presignLifetime.default(null),
  /** Largest single artifact accepted (default 32GiB). */
  ARTIFACT_MAX_BYTES: byteSize.default(32 * 2 ** 30),
  /** Largest upload request (all files of one GraphQL multipart request; default 64GiB). */
  ARTIFACT_MAX_REQUEST_BYTES: byteSize.default(64 * 2 ** 30),
  /** Inspect uploaded artifacts (format, signature, safety). `off` is for benchmarks: uninspected versions cannot reach Production without an override. */
  INSPECTION: z.enum(["on", "off"]).default("on"),
  /** Parallel inspections (worker threads); default: half the CPUs, at least 1, at most 4. */
  INSPECTION_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** Time budget of one file's inspection; a file that takes longer is UNSCANNABLE. */
  INSPECTION_TIME_BUDGET_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Extra pickle imports accepted by this deployment (module.Name, module:Outer.Inner, module.*); never the deny-list. */
  INSPECTION_ALLOW_IMPORTS: allowImports.default(NO_ALLOW_IMPORTS),
  /** Browser origins (besides the registry's own) allowed to call the API with CORS; default none. */
  CORS_ORIGINS: originList.default([]),
  /** Host names (and addresses) besides loopback the registry answers for, comma-separated: requests naming another Host get 421 under AUTH=local (DNS rebinding); under AUTH=required, once set, it applies there too (IP literals are always accepted then). */
  ALLOWED_HOSTS: hostList.optional(),
  /** Reverse proxies (addresses and CIDR ranges, comma-separated) whose X-Forwarded-For names the client that per-client limits count; default none: the TCP peer is the client. */
  TRUSTED_PROXIES: proxyList.default(TrustedProxies.NONE),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** A request body that sends nothing for this long gets 408 and its connection is closed. */
  REQUEST_BODY_IDLE_TIMEOUT_MS: milliseconds(1_000).default(DEFAULT_BODY_DEADLINE.idleTimeoutMs),
  /** A request body slower than this on average over REQUEST_BODY_RATE_WINDOW_MS gets 408 (0: no minimum). */
  REQUEST_BODY_MIN_RATE: byteRate.default(DEFAULT_BODY_DEADLINE.minBytesPerSecond),
  /** The span REQUEST_BODY_MIN_RATE is averaged over. */
  REQUEST_BODY_RATE_WINDOW_MS: milliseconds(1_000).default(DEFAULT_BODY_DEADLINE.rateWindowMs),
  /** Uploads (artifact PUTs, GraphQL multipart requests) one client address may run at once; more get 503. */
  UPLOADS_MAX_PER_CLIENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(DEFAULT_UPLOAD_LIMITS.maxPerClient),
  /** Uploads the server runs at once, from all clients; more get 503. */
  UPLOADS_MAX_CONCURRENT: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_UPLOAD_LIMITS.maxTotal),
  /** Authenticated subscription connections (WebSockets, SSE streams) one client address may hold open at once; more get 503. */
  SUBSCRIPTION_CONNECTIONS_MAX_PER_CLIENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.maxPerClient),
  /** Authenticated subscription connections the server holds open at once, from all clients; more get 503. */
  SUBSCRIPTION_CONNECTIONS_MAX_CONCURRENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.maxTotal),
  /** Authenticated subscription connections one principal may hold open at once, from any address; more get 503 (a WebSocket refused after connection_init: closed with 1013). */
  SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.maxPerPrincipal),
  /** WebSockets one client address may hold open before they authenticate (connection_init); more get 503. */
  SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.maxHandshakesPerClient),
  /** WebSockets the server holds open before they authenticate, from all clients; past it the oldest is closed (1013). */
  SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.maxHandshakesTotal),
  /** Cost units each client (principal; address under AUTH=local) regains per second; 0 turns rate limiting off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000_000).default(DEFAULT_RATE_LIMITS.perSecond),
  /** Cost units a client's budget holds when full (a request costs 1, each object its GraphQL lists return 1 more). */
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000_000).default(DEFAULT_RATE_LIMITS.burst),
  /** Failed authentications each client address regains per second; 0 turns the limit off. */
  AUTH_FAILURES_PER_SECOND: z.coerce
    .number()
    .min(0)
    .max(1_000_000_000)
    .default(DEFAULT_AUTH_FAILURE_LIMITS.perSecond),
  /** Failed authentications a client address may make at once; past them, requests with credentials from it get 429 before they are checked. */
  AUTH_FAILURE_BURST: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .default(DEFAULT_AUTH_FAILURE_LIMITS.burst),
  /** Time a WebSocket has from its upgrade to authenticate; then it is closed with 4408. */
  SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(DEFAULT_SUBSCRIPTION_CONNECTION_LIMITS.handshakeTimeoutMs),
  /** Bytes one subscriber connection may hold unsent (queued notifications plus socket buffer) before its subscriptions end with SUBSCRIBER_TOO_SLOW. */
  SUBSCRIBER_MAX_QUEUED_BYTES: byteSize.default(DEFAULT_SUBSCRIBER_LIMITS.maxQueuedBytes),
  /** `local`: callers without credentials act as the local administrator (loopback only); `required`: every request needs a token or SSO access token. Default: local on a loopback HOST, required otherwise. */
  AUTH: z.enum(["local", "required"]).optional(),
  /** SSO: the issuer (`iss`) whose access tokens are accepted; with OIDC_AUDIENCE and a JWKS source. */
  OIDC_ISSUER: z.string().min(1).optional(),
  /** SSO: the audience (`aud`) access tokens must be issued for. */
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** SSO: the issuer's JWKS (public keys) URL. */
  OIDC_JWKS_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//, "must be an http(s) URL")
    .optional(),
  /** SSO: a file holding the issuer's JWKS (instead of OIDC_JWKS_URL, e.g. without network access to the issuer). */
  OIDC_JWKS_FILE: z.string().min(1).optional(),
  /** SSO: tolerated clock difference for `exp`/`nbf`/`iat`, in seconds. */
  OIDC_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
  /** SSO: accepted signature algorithms. */
  OIDC_ALGORITHMS: algorithmList.default([...DEFAULT_OIDC_ALGORITHMS]),
  /** SSO: the claim listing the caller's groups (mapped to teams of the same name). */
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  /** SSO in the web interface: the client id registered at the issuer for it (a public client using the authorization code flow with PKCE). */
  OIDC_WEB_CLIENT_ID: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, "must be 1-200 printable ASCII characters without spaces")
    .optional(),
  /** SSO in the web interface: the scopes it asks for. */
  OIDC_WEB_SCOPES: z
    .string()
    .regex(
      /^[\x21-\x7e]{1,100}( [\x21-\x7e]{1,100}){0,19}$/,
      "must be scope names separated by single spaces",
    )
    .default("openid profile email"),
  /** What every authenticated principal holds on every model: NONE makes models private to their grantees. */
  DEFAULT_MODEL_PERMISSION: z.enum(["NONE", "READ", "EDIT", "MANAGE"]).default("READ"),
  /** How often running subscriptions re-check their credentials besides on access events (an expiring token ends them within this). */
  CREDENTIAL_RECHECK_MS: milliseconds(0).default(10_000),
  /** The Ed25519 key that signs audit checkpoints (default: DATA_DIR/audit-signing-key.pem, created on first use). */
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** How often the server signs a checkpoint of the event log (when it advanced); 0 never. */
  AUDIT_CHECKPOINT_INTERVAL: interval.default(3_600_000),
  /** Internal webhook targets allowed anyway: host names, addresses and CIDR ranges, separated by commas (e.g. `127.0.0.1,10.1.0.0/16,hooks.internal`). Default none: private, loopback, link-local and other internal addresses are refused. */
  WEBHOOK_ALLOWED_TARGETS: allowList.default(EMPTY_ALLOW_LIST),
  /** Deadline of one webhook delivery: connect, send, and read the whole answer. */
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(DEFAULT_DELIVERY_CONFIG.timeoutMs),
  /** Bytes of a receiver's answer read per delivery; a longer answer counts as a failure. */
  WEBHOOK_MAX_RESPONSE_BYTES: byteSize.default(DEFAULT_DELIVERY_CONFIG.maxResponseBytes),
  /** First retry delay after a failed delivery; doubled per attempt (with jitter), at most an hour. */
  WEBHOOK_RETRY_BASE_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(3_600_000)
    .default(DEFAULT_DELIVERY_CONFIG.retryBaseMs),
  /** How long a webhook may keep failing on one event before it is disabled (reason FAILING). */
  WEBHOOK_MAX_RETRY_DURATION_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400_000)
    .default(DEFAULT_DELIVERY_CONFIG.maxRetryDurationMs),
  /** Lease an instance holds on a webhook it delivers; after a crash another instance (or the restarted one) carries on once it lapses. */
  WEBHOOK_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(DEFAULT_DELIVERY_CONFIG.leaseMs),
  /** Webhooks one instance delivers to at once (each a loop through its backlog; a slow receiver holds one). */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(DEFAULT_DELIVERY_CONFIG.concurrency),
  /** How often the delivery worker looks for due retries and missed commits (commits wake it at once). */
  WEBHOOK_POLL_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(3_600_000)
    .default(DEFAULT_DELIVERY_CONFIG.pollIntervalMs),
  /** Days the delivery log keeps its rows. */
  WEBHOOK_DELIVERY_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Count artifact downloads per version, artifact and consumer (docs/usage.md); `off` only for benchmarks. */
  USAGE_DOWNLOAD_COUNTING: z.enum(["on", "off"]).default("on"),
  /** How often counted downloads are written to the usage buckets (they are visible from then on). */
  USAGE_FLUSH_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** Distinct (model, version, artifact, consumer, hour) counts held in memory before a flush is forced. */
  USAGE_MAX_PENDING_KEYS: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  /** Days hourly usage buckets are kept. */
  USAGE_HOURLY_RETENTION_DAYS: z.coerce.number().int().min(1).max(366).default(35),
  /** Days daily usage buckets are kept (and with them `consumers` and the used-since filters). */
  USAGE_DAILY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3660).default(730),
  /** How long SIGINT/SIGTERM may take to finish in-flight work before the process exits non-zero anyway. */
  SHUTDOWN_TIMEOUT_MS: milliseconds(0).default(10_000),
  /** On SIGTERM, how long /readyz answers 503 while the server still accepts requests, before its listener closes (a load balancer's probe interval or more). Counts toward SHUTDOWN_TIMEOUT_MS. */
  SHUTDOWN_DELAY_MS: milliseconds(0).default(0),
  /** A bearer token scrapers of /metrics must send (`Authorization: Bearer …`), at least 16 characters. */
  METRICS_TOKEN: z.string().min(16).max(1024).optional(),
  /** Addresses and CIDR ranges (comma-separated) that may read /metrics. Neither this nor METRICS_TOKEN set: loopback only. */
  METRICS_ALLOWED_NETWORKS: networkList.optional(),
});

/** Every environment variable the server reads (docs/configuration.md documents each, in one table). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  logLevel: z.infer<typeof schema>["LOG_LEVEL"];
  artifacts: ArtifactConfig;
  inspection: InspectionConfig;
  http: HttpConfig;
  requestBodies: BodyDeadlineOptions;
  uploads: UploadLimits;
  subscriptionConnections: SubscriptionConnectionLimits;
  rateLimits: RateLimits;
  /** Failed authentications per client address over time (perSecond 0: off). */
  authFailureLimits: RateLimits;
  subscriberMaxQueuedBytes: number;
  shutdownTimeoutMs: number;
  shutdownDelayMs: number;
  metricsAccess: MetricsAccessConfig;
  auth: AuthConfig;
  audit: AuditConfig;
  webhooks: Partial<DeliveryConfig>;
  usage: Omit<UsageConfig, "pruneIntervalMs">;
}

export interface AuditConfig {
  /** PEM file of the checkpoint signing key, kept apart from the database. */
  readonly signingKeyFile: string;
  /** How often (ms) the server signs a checkpoint; 0 never. */
  readonly checkpointIntervalMs: number;
}

export interface AuthConfig {
  readonly mode: AuthMode;
  /** Single sign-on with OIDC/JWT access tokens; null when not configured. */
  readonly oidc: OidcConfig | null;
  /** What every authenticated principal holds on every model; null: nothing beyond its grants. */
  readonly defaultModelPermission: ModelPermission | null;
  /** How often (ms) running subscriptions re-check their credentials besides on access events; 0: only on those. */
  readonly credentialRecheckMs: number;
}

export interface HttpConfig {
  /** Origins other than the registry's own that browsers may call it from (CORS). */
  readonly corsOrigins: readonly string[];
  /** Host names besides loopback requests may name (ALLOWED_HOSTS); null when unset. */
  readonly allowedHosts: readonly string[] | null;
  /** Reverse proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES); empty when unset. */
  readonly trustedProxies: TrustedProxies;
}

/** Half the CPUs, at least 1 and at most 4: inspection must not starve request handling. */
export const defaultInspectionWorkers = () =>
  Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)));

/** Where artifact bytes live (BLOB_STORE and S3_*). */
export type BlobStoreConfig =
  | { readonly kind: "filesystem" }
  | (S3Settings & {
      readonly kind: "s3";
      /** Lifetime of presigned download redirects; null: downloads stream through the server. */
      readonly presignedDownloadSeconds: number | null;
    });

export interface ArtifactConfig {
  /** Root of the filesystem blob store; with an S3 store, where blobs are downloaded for inspection. */
  readonly dir: string;
  readonly store: BlobStoreConfig;
  readonly maxArtifactBytes: number;
  readonly maxRequestBytes: number;
}

export type DatabaseConfig =
  | { provider: "sqlite"; file: string }
  | {
      provider: "postgresql";
      /** The server's (application) role: reads and appends events, maintains projections. */
      url: string;
      /** The role that owns the tables and runs migrations; absent: `url`'s role does both. */
      ownerUrl?: string;
    };

export function databaseConfigFrom(
  url: string | undefined,
  dataDir: string,
  ownerUrl?: string,
): DatabaseConfig {
  if (url && /^postgres(ql)?:\/\//.test(url))
    return ownerUrl === undefined
      ? { provider: "postgresql", url }
      : { provider: "postgresql", url, ownerUrl };
  // An owner URL beside a SQLite database would silently do nothing: refuse it instead.
  if (ownerUrl !== undefined)
    throw new Error("invalid configuration: DATABASE_OWNER_URL: needs DATABASE_URL to be a PostgreSQL URL");
  const file = url ? url.replace(/^file:/, "") : path.join(dataDir, "registro.db");
  return { provider: "sqlite", file: path.resolve(file) };
}

function blobStoreConfigFrom(e: z.infer<typeof schema>, env: NodeJS.ProcessEnv): BlobStoreConfig {
  if (e.BLOB_STORE === "filesystem") return { kind: "filesystem" };
  const prefix = e.S3_PREFIX === "" || e.S3_PREFIX.endsWith("/") ? e.S3_PREFIX : `${e.S3_PREFIX}/`;
  return {
    kind: "s3",
    // Checked by the refinement below.
    bucket: e.S3_BUCKET ?? "",
    prefix,
    ...(e.S3_ENDPOINT === undefined ? {} : { endpoint: e.S3_ENDPOINT }),
    region: e.S3_REGION ?? (env.AWS_REGION?.trim() || "us-east-1"),
    forcePathStyle: e.S3_FORCE_PATH_STYLE === "true",
    partSizeBytes: e.S3_PART_SIZE,
    presignedDownloadSeconds: e.S3_PRESIGNED_DOWNLOADS,
  };
}

/**
 * An issuer the browser can sign in at: its discovery document is fetched from it, so it is an
 * https URL without credentials, query or fragment (plain http only on a loopback host).
 */
function browserIssuer(issuer: string): boolean {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** OIDC is all or nothing: an issuer, an audience, and exactly one JWKS source. */
const withOidc = schema.superRefine((e, ctx) => {
  if (e.SHUTDOWN_DELAY_MS > 0 && e.SHUTDOWN_DELAY_MS >= e.SHUTDOWN_TIMEOUT_MS)
    ctx.addIssue({
      code: "custom",
      path: ["SHUTDOWN_DELAY_MS"],
      message: `(${e.SHUTDOWN_DELAY_MS}) counts toward SHUTDOWN_TIMEOUT_MS (${e.SHUTDOWN_TIMEOUT_MS}) and must be less: the process would exit 1 before its listener closes; raise SHUTDOWN_TIMEOUT_MS`,
    });
  const given = [e.OIDC_ISSUER, e.OIDC_AUDIENCE, e.OIDC_JWKS_URL, e.OIDC_JWKS_FILE].some(
    (v) => v !== undefined,
  );
  if (e.BLOB_STORE === "s3" && e.S3_BUCKET === undefined)
    ctx.addIssue({ code: "custom", path: ["S3_BUCKET"], message: "is required when BLOB_STORE=s3" });
  if (!given) {
    if (e.OIDC_WEB_CLIENT_ID !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["OIDC_WEB_CLIENT_ID"],
        message: "needs OIDC to be configured (OIDC_ISSUER, OIDC_AUDIENCE and a JWKS source)",
      });
    return;
  }
  if (e.OIDC_WEB_CLIENT_ID !== undefined && e.OIDC_ISSUER !== undefined && !browserIssuer(e.OIDC_ISSUER))
    ctx.addIssue({
      code: "custom",
      path: ["OIDC_ISSUER"],
      message:
        "must be an https URL (http only on a loopback host) for the web interface's sign-in (OIDC_WEB_CLIENT_ID), which reads its discovery document",
    });
  for (const key of ["OIDC_ISSUER", "OIDC_AUDIENCE"] as const)
    if (e[key] === undefined)
      ctx.addIssue({ code: "custom", path: [key], message: "is required when any OIDC_* setting is given" });
  if ((e.OIDC_JWKS_URL === undefined) === (e.OIDC_JWKS_FILE === undefined))
    ctx.addIssue({
      code: "custom",
      path: ["OIDC_JWKS_URL"],
      message: "set exactly one of OIDC_JWKS_URL and OIDC_JWKS_FILE",
    });
});

/**
 * The numeric settings. Coerced, a blank value would be 0 (`RATE_LIMIT_PER_SECOND=` would turn rate
 * limits off, `CREDENTIAL_RECHECK_MS=` the periodic re-check): refused instead.
 */
const NUMERIC_VARIABLES = CONFIG_VARIABLES.filter((key) => {
  let setting: z.ZodType = schema.shape[key as keyof typeof schema.shape];
  while (setting instanceof z.ZodDefault || setting instanceof z.ZodOptional)
    setting = setting.unwrap() as z.ZodType;
  return setting instanceof z.ZodNumber;
});

/**
 * What the shutdown keeps of SHUTDOWN_TIMEOUT_MS for itself besides the in-flight requests: closing
 * the WebSockets (up to 2 s for their clients to answer) before them, the workers and the database
 * after them.
 */
export const SHUTDOWN_RESERVE_MS = 3_000;

/**
 * How long requests in flight when the listener closes may take to finish: what the deadline leaves
 * after the delay and SHUTDOWN_RESERVE_MS (an upload under way during a rolling deploy gets it all,
 * not a fixed few seconds); none when it leaves nothing.
 */
export const inFlightGraceMs = (deadlineMs: number, delayMs: number): number =>
  Math.max(0, deadlineMs - delayMs - SHUTDOWN_RESERVE_MS);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blank = NUMERIC_VARIABLES.filter((key) => env[key] !== undefined && env[key].trim() === "");
  const parsed = withOidc.safeParse(env);
  if (blank.length > 0 || !parsed.success) {
    const problems = [
      ...blank.map((key) => `${key}: a number is expected, not a blank value (unset it for the default)`),
      ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)),
    ].join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    database: databaseConfigFrom(e.DATABASE_URL, dataDir, e.DATABASE_OWNER_URL),
    logLevel: e.LOG_LEVEL,
    artifacts: {
      dir: path.resolve(e.ARTIFACT_DIR ?? path.join(dataDir, "blobs")),
      store: blobStoreConfigFrom(e, env),
      maxArtifactBytes: e.ARTIFACT_MAX_BYTES,
      maxRequestBytes: e.ARTIFACT_MAX_REQUEST_BYTES,
    },
    inspection: {
      enabled: e.INSPECTION === "on",
      workers: e.INSPECTION_WORKERS ?? defaultInspectionWorkers(),
      timeBudgetMs: e.INSPECTION_TIME_BUDGET_MS,
      allowImports: e.INSPECTION_ALLOW_IMPORTS.entries.map((entry) => entry.text),
    },
    http: {
      corsOrigins: e.CORS_ORIGINS,
      allowedHosts: e.ALLOWED_HOSTS ?? null,
      trustedProxies: e.TRUSTED_PROXIES,
    },
    requestBodies: {
      idleTimeoutMs: e.REQUEST_BODY_IDLE_TIMEOUT_MS,
      minBytesPerSecond: e.REQUEST_BODY_MIN_RATE,
      rateWindowMs: e.REQUEST_BODY_RATE_WINDOW_MS,
    },
    uploads: { maxPerClient: e.UPLOADS_MAX_PER_CLIENT, maxTotal: e.UPLOADS_MAX_CONCURRENT },
    subscriptionConnections: {
      maxPerClient: e.SUBSCRIPTION_CONNECTIONS_MAX_PER_CLIENT,
      maxTotal: e.SUBSCRIPTION_CONNECTIONS_MAX_CONCURRENT,
      maxPerPrincipal: e.SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL,
      maxHandshakesPerClient: e.SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT,
      maxHandshakesTotal: e.SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT,
      handshakeTimeoutMs: e.SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS,
    },
    rateLimits: { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST },
    authFailureLimits: { perSecond: e.AUTH_FAILURES_PER_SECOND, burst: e.AUTH_FAILURE_BURST },
    subscriberMaxQueuedBytes: e.SUBSCRIBER_MAX_QUEUED_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    metricsAccess: metricsAccess(e.METRICS_TOKEN, e.METRICS_ALLOWED_NETWORKS),
    webhooks: {
      allow: e.WEBHOOK_ALLOWED_TARGETS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxResponseBytes: e.WEBHOOK_MAX_RESPONSE_BYTES,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      maxRetryDurationMs: e.WEBHOOK_MAX_RETRY_DURATION_MS,
      leaseMs: e.WEBHOOK_LEASE_MS,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      logRetentionMs: e.WEBHOOK_DELIVERY_LOG_RETENTION_DAYS * 86_400_000,
    },
    usage: {
      countDownloads: e.USAGE_DOWNLOAD_COUNTING === "on",
      flushIntervalMs: e.USAGE_FLUSH_INTERVAL_MS,
      maxPendingKeys: e.USAGE_MAX_PENDING_KEYS,
      retention: {
        hourlyMs: e.USAGE_HOURLY_RETENTION_DAYS * 86_400_000,
        dailyMs: e.USAGE_DAILY_RETENTION_DAYS * 86_400_000,
      },
    },
    audit: {
      signingKeyFile: path.resolve(e.AUDIT_SIGNING_KEY_FILE ?? path.join(dataDir, "audit-signing-key.pem")),
      checkpointIntervalMs: e.AUDIT_CHECKPOINT_INTERVAL,
    },
    auth: {
      mode: defaultAuthMode(e.HOST, e.AUTH),
      defaultModelPermission: e.DEFAULT_MODEL_PERMISSION === "NONE" ? null : e.DEFAULT_MODEL_PERMISSION,
      credentialRecheckMs: e.CREDENTIAL_RECHECK_MS,
      oidc:
        e.OIDC_ISSUER !== undefined && e.OIDC_AUDIENCE !== undefined
          ? {
              issuer: e.OIDC_ISSUER,
              audience: e.OIDC_AUDIENCE,
              jwksUrl: e.OIDC_JWKS_URL,
              jwksFile: e.OIDC_JWKS_FILE === undefined ? undefined : path.resolve(e.OIDC_JWKS_FILE),
              clockSkewSeconds: e.OIDC_CLOCK_SKEW_SECONDS,
              algorithms: e.OIDC_ALGORITHMS,
              groupsClaim: e.OIDC_GROUPS_CLAIM,
              webClient:
                e.OIDC_WEB_CLIENT_ID === undefined
                  ? undefined
                  : { clientId: e.OIDC_WEB_CLIENT_ID, scopes: e.OIDC_WEB_SCOPES },
            }
          : null,
    },
  };
}
