// Checks events against the chain, one at a time, in (stream, revision) order: the append path checks
// a stream's head with it, the rebuild and `audit:verify` check every event. Holds one stream's last
// hash at a time, so a walk over millions of events runs in constant memory.
import type { HashedEventFields } from "./eventHash.ts";
import { eventHash, isEventHash } from "./eventHash.ts";

/** An event as the verifier sees it: the hashed fields, where it sits, and the hash stored with it. */
export interface ChainedEvent extends HashedEventFields {
  readonly position: number;
  readonly hash: string | null;
}

/** Where and why a stream's chain is broken. */
export interface ChainBreak {
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly reason: string;
}

export class ChainVerifier {
  private streamId: string | null = null;
  private revision = 0;
  private position = 0;
  private hash: string | null = null;

  /**
   * Starts a stream part-way: the verifier trusts `head` (already verified) and checks what follows.
   * Without it, a stream must start at revision 1.
   */
  resume(head: { streamId: string; revision: number; position: number; hash: string }): void {
    this.streamId = head.streamId;
    this.revision = head.revision;
    this.position = head.position;
    this.hash = head.hash;
  }

  /** Checks the next event (the next of the current stream, or the first of another); null when it holds. */
  next(event: ChainedEvent): ChainBreak | null {
    if (event.streamId !== this.streamId) {
      this.streamId = event.streamId;
      this.revision = 0;
      this.position = 0;
      this.hash = null;
    }
    const at = { streamId: event.streamId, revision: event.revision, position: event.position };
    if (event.revision !== this.revision + 1)
      return { ...at, reason: `revision ${event.revision} follows revision ${this.revision}` };
    if (event.position <= this.position)
      return {
        ...at,
        reason: `log position ${event.position} is not after the previous event's position ${this.position}: inserted out of order`,
      };
    if (!isEventHash(event.hash))
      return { ...at, reason: "the event has no chain hash: written outside Registro" };
    const expected = eventHash(event, this.hash);
    if (expected !== event.hash)
      return {
        ...at,
        reason:
          "the stored hash does not match the event's content and its predecessor: the event or an earlier one was altered",
      };
    this.revision = event.revision;
    this.position = event.position;
    this.hash = event.hash;
    return null;
  }
}

/** A human sentence for a break, used by errors, logs and `audit:verify`. */
export const describeBreak = (b: ChainBreak): string =>
  `stream ${b.streamId} revision ${b.revision} (log position ${b.position}): ${b.reason}`;
