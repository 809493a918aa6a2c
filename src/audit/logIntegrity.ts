// Streams whose stored history this process found broken (an append met a forged or altered head, or
// a log ahead of the projections). Writes to such a stream are refused by the store on every
// attempt anyway; this keeps them visible to operators between attempts: logged once per stream,
// counted for /metrics, listed by /readyz.
import type { Logger } from "pino";
import type { IntegrityError } from "../domain/errors.ts";

export interface IntegrityViolation {
  readonly streamId: string;
  readonly revision: number;
  readonly reason: string;
  readonly detectedAt: Date;
}

/** More broken streams than this are counted, not listed: a flood must not grow memory. */
const LISTED = 100;

export class LogIntegrity {
  private readonly streams = new Map<string, IntegrityViolation>();
  private unlisted = 0;
  private refused = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * A stream's history does not hold: a command was refused for it, or the subscription tailer
   * skipped one of its events (which it meets again on every catch-up, so only commands are counted).
   */
  report(error: IntegrityError, foundBy: "command" | "subscription" = "command"): void {
    if (foundBy === "command") this.refused++;
    if (this.streams.has(error.streamId)) return;
    this.logger.error(
      { streamId: error.streamId, revision: error.revision, position: error.position, reason: error.reason },
      "event log integrity violation: writes to this stream are refused; run npm run audit:verify (docs/audit.md)",
    );
    if (this.streams.size >= LISTED) {
      this.unlisted++;
      return;
    }
    this.streams.set(error.streamId, {
      streamId: error.streamId,
      revision: error.revision,
      reason: error.reason,
      detectedAt: this.clock(),
    });
  }

  /** Streams found broken since the process started (the first LISTED of them). */
  violations(): readonly IntegrityViolation[] {
    return [...this.streams.values()];
  }

  /** How many distinct streams were found broken. */
  get brokenStreams(): number {
    return this.streams.size + this.unlisted;
  }

  /** How many commands were refused for a broken history. */
  get refusedCommands(): number {
    return this.refused;
  }
}
