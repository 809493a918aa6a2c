// The server's own metrics (`registro_*`), in one prom-client Registry per app: two apps in one
// process (tests, benchmarks) never share or collide. Labels are server-defined sets only (route
// templates, event types, outcomes) or bounded (operation names: ./boundedLabels.ts); never model
// names or ids, which would leak to whoever may scrape and grow without bound. docs/monitoring.md
// lists every metric.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { IntegrityMonitor } from "../artifacts/blobIntegrity.ts";
import type { LogIntegrity } from "../audit/logIntegrity.ts";
import type { CommittedEvent } from "../store/recordedEvent.ts";
import { BoundedLabels } from "./boundedLabels.ts";

/** Distinct GraphQL operation names with a label of their own; later ones count as `other`. */
export const DEFAULT_OPERATION_NAME_LIMIT = 200;

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the metrics read at each scrape; each part is optional (apps built without createRegistro lack some). */
export interface MetricSources {
  readonly logIntegrity: LogIntegrity;
  readonly blobIntegrity?: IntegrityMonitor;
  /** The subscription hub: live subscribers, the tailer's position, subscribers dropped as too slow. */
  readonly subscriptions?: {
    readonly subscriberCount: number;
    readonly head: number;
    readonly drops: { readonly notifications: number; readonly bytes: number };
  };
  readonly webSocketClients?: () => number;
  /** The newest position in the event log (one indexed read). */
  readonly logHead?: () => Promise<number>;
  /** The position of the enabled webhook furthest behind; null without webhooks. */
  readonly webhookCursor?: () => Promise<number | null>;
  /** Bytes and count of stored blobs (may be stale: the source bounds its own cost). */
  readonly blobStore?: () => { readonly bytes: number; readonly blobs: number } | null;
  /** Inspections waiting for or running on the pool. */
  readonly inspectionsPending?: () => number;
  /** The download counter (src/usage/downloadCounter.ts); absent when counting is off. */
  readonly usage?: {
    readonly pendingKeys: number;
    readonly dropped: number;
    readonly failedFlushes: number;
  };
}

/**
 * A label set prom-client can read safely: it walks label objects with `for…in`, which also visits
 * keys added to Object.prototype, so a polluted prototype made every metric update throw, and one
 * thrown in a response's `finish` listener ends the process. A copy without a prototype sees only
 * its own keys.
 */
export function labelSet<T extends Record<string, string>>(labels: T): T {
  return Object.assign(Object.create(null) as T, labels);
}

/** Feeds a counter from a running total kept elsewhere (a number that only grows). */
function followTotal(labels: Record<string, string>, read: () => number) {
  let seen = 0;
  return (counter: Counter<string>) => {
    const now = read();
    if (now > seen) counter.inc(labelSet(labels), now - seen);
    seen = now;
  };
}

export class RegistryMetrics {
  readonly registry = new Registry();
  readonly operationNames: BoundedLabels;
  readonly httpRequests: Counter<"route" | "method" | "status">;
  readonly httpDuration: Histogram<"route" | "method">;
  readonly eventsAppended: Counter<"type">;
  readonly artifactBytes: Counter<"direction">;
  readonly inspectionDuration: Histogram<"verdict">;
  readonly webhookDeliveries: Counter<"outcome">;
  readonly rateLimited: Counter<"limit" | "transport">;
  #sources: MetricSources | null = null;

  constructor(options: { readonly operationNameLimit?: number } = {}) {
    this.operationNames = new BoundedLabels(options.operationNameLimit ?? DEFAULT_OPERATION_NAME_LIMIT);
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: "registro_http_requests_total",
      help: "HTTP requests answered (or cut), by route template, method and status (0: the connection closed before an answer).",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "registro_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its answer (or its connection), by route template and method.",
      labelNames: ["route", "method"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.eventsAppended = new Counter({
      name: "registro_events_appended_total",
      help: "Events this instance appended to the event log, by event type.",
      labelNames: ["type"],
      registers,
    });
    this.artifactBytes = new Counter({
      name: "registro_artifact_bytes_total",
      help: "Bytes of artifact transfers on the wire (HTTP framing included): in = uploads (PUT /artifacts/…, GraphQL multipart), out = downloads.",
      labelNames: ["direction"],
      registers,
    });
    this.inspectionDuration = new Histogram({
      name: "registro_inspection_duration_seconds",
      help: "Time one artifact inspection took, queueing for a worker included, by verdict.",
      labelNames: ["verdict"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: "registro_webhook_deliveries_total",
      help: "Webhook delivery attempts by this instance, by outcome (succeeded, failed; disabled: the webhook was disabled after failing too long).",
      labelNames: ["outcome"],
      registers,
    });
    this.rateLimited = new Counter({
      name: "registro_rate_limited_total",
      help: "Requests and WebSocket operations refused on arrival by a rate limit (429 RATE_LIMITED; a WebSocket connection_init closed 1013), by limit (requests: a client's cost units; auth_failures: its address's failed authentications) and transport (http, websocket).",
      labelNames: ["limit", "transport"],
      registers,
    });
    for (const direction of ["in", "out"]) this.artifactBytes.inc(labelSet({ direction }), 0);
    for (const limit of ["requests", "auth_failures"])
      for (const transport of ["http", "websocket"]) this.rateLimited.inc(labelSet({ limit, transport }), 0);
    this.#gauges();
  }

  /** Connects sources the scrape-time metrics read (the app's, then its composition root's). */
  watch(sources: Partial<MetricSources>): void {
    this.#sources = { ...this.#sources, ...sources } as MetricSources;
  }

  /** CommandDeps.onCommitted: counts what this instance appended. */
  committed(events: readonly CommittedEvent[]): void {
    for (const event of events) this.eventsAppended.inc(labelSet({ type: event.type }));
  }

  #gauges() {
    const registers = [this.registry];
    const sources = () => this.#sources;
    new Gauge({
      name: "registro_event_log_broken_streams",
      help: "Streams whose stored history this process found broken (hash chain or projection mismatch); writes to them are refused.",
      registers,
      collect() {
        this.set(sources()?.logIntegrity.brokenStreams ?? 0);
      },
    });
    const followRefused = followTotal({}, () => sources()?.logIntegrity.refusedCommands ?? 0);
    new Counter({
      name: "registro_event_log_refused_commands_total",
      help: "Commands refused since start because their stream's history failed its integrity check.",
      registers,
      collect() {
        followRefused(this);
      },
    });
    new Gauge({
      name: "registro_artifact_integrity_failures",
      help: "Downloads since start that found an artifact's stored bytes damaged.",
      registers,
      collect() {
        this.set(sources()?.blobIntegrity?.failures ?? 0);
      },
    });
    new Gauge({
      name: "registro_subscriptions",
      help: "Live GraphQL subscriptions (WebSocket and SSE) on this instance.",
      registers,
      collect() {
        this.set(sources()?.subscriptions?.subscriberCount ?? 0);
      },
    });
    new Gauge({
      name: "registro_websocket_connections",
      help: "Open GraphQL WebSocket connections on this instance.",
      registers,
      collect() {
        this.set(sources()?.webSocketClients?.() ?? 0);
      },
    });
    const followNotifications = followTotal(
      { bound: "notifications" },
      () => sources()?.subscriptions?.drops.notifications ?? 0,
    );
    const followBytes = followTotal({ bound: "bytes" }, () => sources()?.subscriptions?.drops.bytes ?? 0);
    const dropped = new Counter({
      name: "registro_subscribers_dropped_total",
      help: "Subscriptions dropped as too slow (SUBSCRIBER_TOO_SLOW), by the bound they broke: notifications (queue length) or bytes (connection budget).",
      labelNames: ["bound"],
      registers,
      collect() {
        followNotifications(this);
        followBytes(this);
      },
    });
    dropped.inc(labelSet({ bound: "notifications" }), 0);
    dropped.inc(labelSet({ bound: "bytes" }), 0);
    new Gauge({
      name: "registro_log_lag_events",
      help: "Events between the head of the event log and a follower of it: subscriptions (this instance's tailer, which fans events out to subscribers) and webhooks (the enabled webhook furthest behind, all instances). Projections need none: they are written in the append's transaction.",
      labelNames: ["follower"],
      registers,
      async collect() {
        const s = sources();
        if (!s?.logHead) return;
        // An unreachable database must not fail the whole scrape: the gauges keep their last value
        // (and /readyz says what is wrong).
        try {
          const head = await s.logHead();
          if (s.subscriptions)
            this.set(labelSet({ follower: "subscriptions" }), Math.max(0, head - s.subscriptions.head));
          if (s.webhookCursor) {
            const cursor = await s.webhookCursor();
            this.set(labelSet({ follower: "webhooks" }), cursor === null ? 0 : Math.max(0, head - cursor));
          }
        } catch {
          return;
        }
      },
    });
    new Gauge({
      name: "registro_blob_store_bytes",
      help: "Bytes of the distinct blobs artifacts reference (recomputed at most once a minute).",
      registers,
      collect() {
        this.set(sources()?.blobStore?.()?.bytes ?? 0);
      },
    });
    new Gauge({
      name: "registro_blob_store_blobs",
      help: "Distinct blobs artifacts reference (recomputed at most once a minute).",
      registers,
      collect() {
        this.set(sources()?.blobStore?.()?.blobs ?? 0);
      },
    });
    new Gauge({
      name: "registro_usage_pending_keys",
      help: "Download counts held in memory until the next usage flush, as (model, version, artifact, consumer, hour) keys (USAGE_MAX_PENDING_KEYS forces a flush).",
      registers,
      collect() {
        this.set(sources()?.usage?.pendingKeys ?? 0);
      },
    });
    const followDropped = followTotal({}, () => sources()?.usage?.dropped ?? 0);
    new Counter({
      name: "registro_usage_downloads_dropped_total",
      help: "Downloads served but not counted because the usage flush fell behind (memory full of unflushed counts).",
      registers,
      collect() {
        followDropped(this);
      },
    });
    const followFailed = followTotal({}, () => sources()?.usage?.failedFlushes ?? 0);
    new Counter({
      name: "registro_usage_flush_failures_total",
      help: "Usage flushes that failed (the batch is kept and retried with the same id, so it is never counted twice).",
      registers,
      collect() {
        followFailed(this);
      },
    });
    new Gauge({
      name: "registro_inspections_pending",
      help: "Artifact inspections waiting for a worker or running on this instance.",
      registers,
      collect() {
        this.set(sources()?.inspectionsPending?.() ?? 0);
      },
    });
  }
}
