// The usage context as the composition root wires it: the download counter with its periodic
// flush, and the retention prune. Created and started by src/registro.ts, closed before the database.
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { DEFAULT_DOWNLOAD_COUNTER, DownloadCounter } from "./downloadCounter.ts";
import type { Download } from "./downloadCounter.ts";
import { applyDownloadBatch, pruneUsage } from "./usageStore.ts";
import type { Retention } from "./usageStore.ts";
import { DAY_MS, HOUR_MS } from "./timeBuckets.ts";

/** What the usage GraphQL needs to know of the settings. */
export interface UsageSettings {
  readonly retention: Retention;
}

export interface UsageConfig extends UsageSettings {
  /** Count artifact downloads (default true; the bench turns it off to measure its cost). */
  readonly countDownloads: boolean;
  readonly flushIntervalMs: number;
  /** Distinct (model, version, path, consumer, hour) keys held in memory before a flush is forced. */
  readonly maxPendingKeys: number;
  /** How often old buckets are pruned (ms); 0 never. */
  readonly pruneIntervalMs: number;
}

export const DEFAULT_USAGE_CONFIG: UsageConfig = {
  countDownloads: true,
  flushIntervalMs: DEFAULT_DOWNLOAD_COUNTER.flushIntervalMs,
  maxPendingKeys: DEFAULT_DOWNLOAD_COUNTER.maxKeys,
  retention: { hourlyMs: 35 * DAY_MS, dailyMs: 730 * DAY_MS },
  pruneIntervalMs: HOUR_MS,
};

export class UsageTracking {
  /** Null when download counting is off. */
  readonly counter: DownloadCounter | null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<unknown> | null = null;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly clock: () => Date,
    readonly config: UsageConfig,
  ) {
    this.counter = config.countDownloads
      ? new DownloadCounter({
          apply: async (batch) => {
            await applyDownloadBatch(db, batch, clock());
          },
          logger,
          flushIntervalMs: config.flushIntervalMs,
          maxKeys: config.maxPendingKeys,
        })
      : null;
  }

  start(): void {
    this.counter?.start();
    if (this.config.pruneIntervalMs > 0) {
      this.pruneTimer = setInterval(() => void this.prune(), this.config.pruneIntervalMs);
      this.pruneTimer.unref();
    }
  }

  /** Counts one finished download (nothing when counting is off). */
  recordDownload(download: Omit<Download, "at">): void {
    this.counter?.record({ ...download, at: this.clock() });
  }

  /** Writes pending download counts now. */
  flush(): Promise<void> {
    return this.counter?.flush() ?? Promise.resolve();
  }

  /** Deletes buckets past their retention; failures are logged (the next round tries again). */
  prune(): Promise<unknown> {
    this.pruning ??= pruneUsage(this.db, this.clock(), this.config.retention)
      .then((deleted) => {
        if (deleted > 0) this.logger.info({ deleted }, "pruned usage buckets past their retention");
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, "usage prune failed"))
      .finally(() => {
        this.pruning = null;
      });
    return this.pruning;
  }

  async close(): Promise<void> {
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await this.pruning;
    await this.counter?.close();
  }
}
