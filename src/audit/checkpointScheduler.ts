// The server's periodic checkpoint: every interval, sign a checkpoint if the log advanced since the
// latest one. Several servers on one PostgreSQL database each try; the position key keeps one. A
// failed attempt is logged and retried at the next tick: checkpoints must never take a server down.
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { createCheckpoint } from "./checkpoints.ts";
import type { CreatedCheckpoint } from "./checkpoints.ts";
import { loadOrCreateSigningKey } from "./signingKey.ts";
import type { SigningKey } from "./signingKey.ts";

export interface CheckpointSchedulerOptions {
  readonly signingKeyFile: string;
  /** 0: no periodic checkpoints. */
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly clock: () => Date;
}

export class CheckpointScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CreatedCheckpoint | null> | null = null;
  private key: SigningKey | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly options: CheckpointSchedulerOptions,
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running === null) void this.checkpoint().catch(() => undefined);
    }, this.options.intervalMs);
    // A pending checkpoint never keeps a process alive.
    this.timer.unref();
  }

  /** Signs a checkpoint now, if the log advanced; one at a time per process. */
  checkpoint(): Promise<CreatedCheckpoint | null> {
    this.running ??= this.attempt().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async attempt(): Promise<CreatedCheckpoint | null> {
    const log = this.options.logger;
    try {
      // The key is read (or created) on first use, not at start: a registry that never checkpoints
      // never writes a key file.
      this.key ??= loadOrCreateSigningKey(this.options.signingKeyFile);
      const made = await createCheckpoint(this.db, this.key, this.options.clock(), {
        signal: this.stopping.signal,
      });
      if (made?.created)
        log.info(
          {
            position: made.checkpoint.position,
            root: made.checkpoint.root,
            streams: made.checkpoint.streamCount,
          },
          "signed an audit checkpoint",
        );
      return made;
    } catch (error) {
      if (!this.stopping.signal.aborted) log.error({ err: error }, "could not sign an audit checkpoint");
      throw error;
    }
  }

  /** Stops the timer and waits for (or cuts short) a checkpoint in progress. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }
}
