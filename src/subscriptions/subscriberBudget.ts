// The byte bound of one subscriber connection: a WebSocket (all its graphql-ws subscriptions), or
// the HTTP response of one SSE subscription. It counts what the hub holds queued for the connection
// plus what the connection's transport has been given but not yet sent. Transports wait for the
// client before taking the next notification (graphql-ws awaits each send, SSE waits for 'drain'),
// so for a client that stopped reading the bytes pile up in the hub's queue: both are counted.
//
// Over the bound the hub drops the subscription and its consumer takes a SUBSCRIBER_TOO_SLOW
// notice carrying the cursor to resume after. The notice travels behind every notification already
// handed to the transport, so whoever reads it has read everything before it. A client that never
// reads again cannot even take the notice: unless, `cutAfterMs` after the drop, the notice was taken
// and the connection has sent everything it held, the connection is cut.
import type { LogCursor } from "./cursor.ts";
import { encodeCursor } from "./cursor.ts";
import type { ByteBudget } from "./eventHub.ts";

/** The connection a subscriber is served over. */
export interface SubscriberTransport {
  /** Bytes written to the connection that the operating system has not taken yet. */
  bufferedBytes(): number;
  /** Ends the connection of a subscriber that was dropped and did not take its notice in time. */
  cut(reason: string): void;
}

export interface SubscriberLimits {
  /** Bytes one connection may hold for its subscriber before its subscriptions are dropped. */
  readonly maxQueuedBytes: number;
  /** How long a dropped subscriber has to take its notice before its connection is cut. */
  readonly cutAfterMs: number;
}

export const DEFAULT_SUBSCRIBER_LIMITS: SubscriberLimits = {
  maxQueuedBytes: 4 * 1024 * 1024,
  cutAfterMs: 10_000,
};

export class SubscriberBudget implements ByteBudget {
  readonly maxBytes: number;
  readonly #transport: SubscriberTransport;
  readonly #cutAfterMs: number;
  #queued = 0;
  /** Subscriptions dropped since the cut timer started, and whether each has taken its notice. */
  readonly #drops = new Set<{ readonly cursor: LogCursor; taken: boolean }>();
  /** A settle is scheduled (one per round of drops). */
  #settling = false;

  constructor(transport: SubscriberTransport, limits: SubscriberLimits) {
    if (!Number.isSafeInteger(limits.maxQueuedBytes) || limits.maxQueuedBytes < 1)
      throw new RangeError("maxQueuedBytes must be a positive integer");
    this.maxBytes = limits.maxQueuedBytes;
    this.#transport = transport;
    this.#cutAfterMs = limits.cutAfterMs;
  }

  queued(delta: number): void {
    this.#queued += delta;
  }

  usedBytes(): number {
    return this.#queued + this.#transport.bufferedBytes();
  }

  dropped(cursor: LogCursor): () => void {
    const drop = { cursor, taken: false };
    this.#drops.add(drop);
    if (!this.#settling) {
      this.#settling = true;
      setTimeout(() => this.#settle(), this.#cutAfterMs).unref();
    }
    return () => {
      drop.taken = true;
    };
  }

  /**
   * A notice counts once the connection has also sent it: a consumer may take it from the hub into
   * a buffer of its own (Yoga's SSE stream does), which proves nothing about the client.
   */
  #settle() {
    this.#settling = false;
    const drops = [...this.#drops];
    this.#drops.clear();
    if (drops.every((drop) => drop.taken) && this.#transport.bufferedBytes() === 0) return;
    // A close reason is at most 123 bytes: room for one cursor, not one per subscription.
    this.#transport.cut(
      drops.length === 1
        ? `SUBSCRIBER_TOO_SLOW: resume after ${encodeCursor(drops[0]!.cursor)}`
        : "SUBSCRIBER_TOO_SLOW: resume each subscription after its last cursor",
    );
  }
}
