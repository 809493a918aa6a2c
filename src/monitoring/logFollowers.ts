// Scrape-time reads for /metrics that touch the database, each bounded in cost: the log's head and
// the slowest enabled webhook cursor are single indexed aggregates; the blob store's size is an
// aggregate over artifacts, so it is recomputed in the background at most once a minute and a
// scrape reads the last figure instead of waiting for (or repeating) it.
import type { Database } from "../db/database.ts";
import { rowInt } from "../db/sql.ts";

export async function logHead(db: Database): Promise<number> {
  const [row] = await db.query<{ last: unknown }>("SELECT COALESCE(MAX(position), 0) AS last FROM events");
  return rowInt(row?.last ?? 0);
}

/** The position of the enabled webhook furthest behind; null when there is none. */
export async function webhookCursor(db: Database): Promise<number | null> {
  const [row] = await db.query<{ slowest: unknown }>(
    "SELECT MIN(c.position) AS slowest FROM webhook_cursors c JOIN webhooks w ON w.id = c.webhook_id WHERE w.enabled = ?",
    [true],
  );
  return row?.slowest === null || row?.slowest === undefined ? null : rowInt(row.slowest);
}

export const BLOB_SIZE_MAX_AGE_MS = 60_000;

export class BlobStoreSize {
  #figure: { bytes: number; blobs: number } | null = null;
  #computedAt = -Infinity;
  #running = false;

  constructor(
    private readonly db: Database,
    private readonly maxAgeMs = BLOB_SIZE_MAX_AGE_MS,
  ) {}

  /** The last figure (null before the first one), starting a recomputation when it is stale. */
  current(): { bytes: number; blobs: number } | null {
    if (!this.#running && performance.now() - this.#computedAt > this.maxAgeMs) {
      this.#running = true;
      this.#computedAt = performance.now();
      void this.refresh().finally(() => (this.#running = false));
    }
    return this.#figure;
  }

  async refresh(): Promise<void> {
    try {
      const [row] = await this.db.query<{ bytes: unknown; blobs: unknown }>(
        `SELECT COALESCE(SUM(size), 0) AS bytes, COUNT(*) AS blobs
         FROM (SELECT sha256, MAX(size) AS size FROM model_version_artifacts GROUP BY sha256) b`,
      );
      this.#figure = { bytes: rowInt(row?.bytes ?? 0), blobs: rowInt(row?.blobs ?? 0) };
    } catch {
      // A failed read leaves the last figure; the next stale scrape tries again.
    }
  }
}
