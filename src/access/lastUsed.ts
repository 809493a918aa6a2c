// When each token was last used, without a write per request: verification records the time in
// memory and a flush writes the newest time per token in one transaction, every `intervalMs` and on
// close. It is a plain UPDATE of the projection row, not an event: "last used" is an operational
// hint that changes on every request, and an event per request would turn every read into a write
// and bury the audit log (which already records the acting token on every change) under noise.
// A crash loses at most one interval of last-used times, never anything that matters for access.
import type { Database } from "../db/database.ts";

export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  record(tokenId: string, at: Date): void {
    const seen = this.pending.get(tokenId);
    if (!seen || seen < at) this.pending.set(tokenId, at);
  }

  /** Starts flushing every `intervalMs` (the timer never keeps the process alive). */
  start(intervalMs = 30_000): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs).unref();
  }

  /** Writes the recorded times (only ever moving a token's time forward). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending];
      this.pending = new Map();
      try {
        await this.db.write(async (tx) => {
          for (const [tokenId, at] of batch)
            await tx.execute(
              "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
              [at, tokenId, at],
            );
        });
      } catch (error) {
        // Keep the times for the next flush unless newer ones arrived meanwhile.
        for (const [tokenId, at] of batch) this.record(tokenId, at);
        this.onError(error);
      }
    });
    return this.flushing;
  }

  /** Stops the timer and writes what is left. Call before closing the database. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
