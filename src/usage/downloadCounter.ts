// Counts artifact downloads in memory and flushes them in batches (src/usage/usageStore.ts applies a
// batch in one transaction). A download is not an event: the log records changes, not traffic, and
// one event per download would make the log grow with traffic instead of with the registry.
//
// Counts are keyed by (model, version, artifact path, consumer, hour). The map is bounded: reaching
// `maxKeys` starts a flush at once. A batch that fails to apply keeps its id and is retried as it
// is, so a batch whose commit outcome was unknown (the connection dropped after COMMIT) is
// recognised by its id and never counted twice. While one batch waits for its retry, new counts
// gather in the next map; when that one is full too, further downloads are dropped (and counted in
// `dropped`, and logged) rather than letting memory grow while the database is unreachable.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { bucketStartMs } from "./timeBuckets.ts";

export interface Download {
  readonly modelId: string;
  readonly version: number;
  readonly path: string;
  /** The downloading principal's id. */
  readonly consumerId: string;
  /** Bytes of the response body sent. */
  readonly bytes: number;
  readonly at: Date;
}

/** The counts of one key of one hour. */
export interface DownloadCount {
  readonly modelId: string;
  readonly version: number;
  readonly path: string;
  readonly consumerId: string;
  readonly hourStart: number;
  count: number;
  bytes: number;
  /** Epoch ms of the latest download counted. */
  lastAt: number;
}

export interface DownloadBatch {
  readonly id: string;
  readonly counts: readonly DownloadCount[];
}

/** Applies one batch atomically; must recognise a batch id it already applied (and change nothing). */
export type ApplyBatch = (batch: DownloadBatch) => Promise<void>;

export interface DownloadCounterOptions {
  readonly apply: ApplyBatch;
  readonly logger: Logger;
  /** How often pending counts are flushed (ms). */
  readonly flushIntervalMs: number;
  /** Keys (model, version, path, consumer, hour) held before a flush is forced. */
  readonly maxKeys: number;
  /** Batch ids; random UUIDs by default (tests give their own). */
  readonly newBatchId?: () => string;
}

/** Flushes forced by a full map are this far apart at least (ms). */
const FORCED_FLUSH_SPACING_MS = 1_000;

export const DEFAULT_DOWNLOAD_COUNTER = { flushIntervalMs: 10_000, maxKeys: 10_000 } as const;

const keyOf = (d: Download, hourStart: number) =>
  `${d.modelId}\u0000${d.version}\u0000${d.consumerId}\u0000${hourStart}\u0000${d.path}`;

export class DownloadCounter {
  private pending = new Map<string, DownloadCount>();
  /** A batch taken from `pending` and not applied yet (in flight, or failed and waiting to be retried). */
  private unapplied: DownloadBatch | null = null;
  private flushing: Promise<void> | null = null;
  /** The one flush waiting for the running one (however many callers asked meanwhile). */
  private queued: Promise<void> | null = null;
  private lastForcedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Downloads not counted because both the pending map and the unapplied batch were full. */
  dropped = 0;
  /** Batches that failed to apply (each is kept and retried). */
  failedFlushes = 0;
  private readonly newBatchId: () => string;

  constructor(private readonly options: DownloadCounterOptions) {
    this.newBatchId = options.newBatchId ?? randomUUID;
  }

  start(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Keys waiting to be flushed (pending and unapplied). */
  get pendingKeys(): number {
    return this.pending.size + (this.unapplied?.counts.length ?? 0);
  }

  record(download: Download): void {
    const at = download.at.getTime();
    const hourStart = bucketStartMs("HOUR", at);
    const key = keyOf(download, hourStart);
    const known = this.pending.get(key);
    if (known !== undefined) {
      known.count += 1;
      known.bytes += download.bytes;
      if (at > known.lastAt) known.lastAt = at;
      return;
    }
    if (this.pending.size >= this.options.maxKeys) {
      // Full: a flush is due (or failing). Counting on would grow memory without bound.
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 10_000 === 0)
        this.options.logger.warn({ dropped: this.dropped }, "download counts dropped: usage flush is behind");
      this.forceFlush();
      return;
    }
    this.pending.set(key, {
      modelId: download.modelId,
      version: download.version,
      path: download.path,
      consumerId: download.consumerId,
      hourStart,
      count: 1,
      bytes: download.bytes,
      lastAt: at,
    });
    if (this.pending.size >= this.options.maxKeys) this.forceFlush();
  }

  /** A flush because the map is full: at most once a second, so a failing database is not hammered. */
  private forceFlush(): void {
    const now = performance.now();
    if (now - this.lastForcedAt < FORCED_FLUSH_SPACING_MS) return;
    this.lastForcedAt = now;
    void this.flush().catch(() => undefined);
  }

  /**
   * Applies the unapplied batch (if any), then everything pending, as one batch each. Rejects when a
   * batch could not be applied; its counts stay and are retried (same batch id) by the next flush.
   */
  flush(): Promise<void> {
    // One flush at a time; the callers asking meanwhile share one flush after it (it may find new counts).
    if (this.queued !== null) return this.queued;
    const running = this.flushing;
    if (running === null) return this.run();
    const queued = running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.run();
      });
    this.queued = queued;
    return queued;
  }

  private run(): Promise<void> {
    const flushing = this.flushOnce().finally(() => {
      if (this.flushing === flushing) this.flushing = null;
    });
    this.flushing = flushing;
    return flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.unapplied !== null) await this.applyUnapplied();
    if (this.pending.size === 0) return;
    this.unapplied = { id: this.newBatchId(), counts: [...this.pending.values()] };
    this.pending = new Map();
    await this.applyUnapplied();
  }

  private async applyUnapplied(): Promise<void> {
    const batch = this.unapplied;
    if (batch === null) return;
    try {
      await this.options.apply(batch);
      this.unapplied = null;
    } catch (error) {
      this.failedFlushes += 1;
      this.options.logger.warn(
        { err: error, batch: batch.id, keys: batch.counts.length },
        "usage flush failed; the batch is kept and retried",
      );
      throw error;
    }
  }

  /** Stops the timer and flushes what is pending (once; a failure is logged and the counts are lost). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.flush();
    } catch {
      // Retried once more: the first failure may have been a dropped connection.
      try {
        await this.flush();
      } catch (error) {
        this.options.logger.error(
          { err: error, keys: this.pendingKeys },
          "download counts lost at shutdown: the usage flush failed twice",
        );
      }
    }
  }
}
