// The per-process fan-out of committed events to live subscribers. One tailer reads the event table
// (the source of truth) by global position whenever it is woken — by the in-process commit hook, by
// PostgreSQL NOTIFY from any instance, or by an optional safety poll — and hands each new event to
// every subscription. A subscription that starts from a cursor first replays history from the table
// at its own pace, while the hub captures live events for it; at the seam the two are de-duplicated
// by position, so the subscriber sees every event exactly once, in order.
//
// Memory is bounded per subscriber: a live subscriber whose queue exceeds the limit is dropped (its
// queue freed at once) and its next pull yields a `tooSlow` notification carrying the cursor of the
// last notification it actually consumed, so it can resume from the table without loss.
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { LogCursor } from "./cursor.ts";
import { readFrom } from "./cursor.ts";

/** Where the hub reads committed events from (the event table). */
export interface EventSource {
  /** Events with position > `position`, ascending, at most `limit`. */
  readAfter(position: number, limit: number): Promise<readonly RecordedEvent[]>;
  /** Position of the newest committed event (0 when the log is empty). */
  lastPosition(): Promise<number>;
}

export type Notification<T> =
  | { readonly kind: "item"; readonly value: T; readonly event: RecordedEvent; readonly cursor: LogCursor }
  | {
      /** The subscriber fell too far behind and was dropped; resume after `cursor`. */
      readonly kind: "tooSlow";
      readonly cursor: LogCursor;
      readonly limit: number;
    };

export interface SubscribeOptions<T> {
  /** Start after this place in the log (replaying history); omitted: start with the next event. */
  readonly after?: LogCursor | undefined;
  /**
   * Maps an event to the notifications it produces (usually zero or one). Called exactly once per
   * event after the start, in position order, so it may keep state (e.g. follow a model's renames).
   */
  readonly select: (event: RecordedEvent) => readonly T[];
}

export interface EventHubOptions {
  /** Notifications a live subscriber may have waiting before it is dropped as too slow. */
  readonly maxBufferedNotifications?: number;
  /** Events read from the table per query, by the tailer and by replays. */
  readonly batchSize?: number;
  /** Delay before retrying after a failed read of the table. */
  readonly retryDelayMs?: number;
  /** Reports failed reads (they are retried). */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_MAX_BUFFERED_NOTIFICATIONS = 10_000;
const DEFAULT_BATCH_SIZE = 500;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

interface HubInternals {
  readonly source: EventSource;
  readonly limit: number;
  readonly batchSize: number;
  readonly retryDelayMs: number;
  readonly onError: (error: unknown) => void;
  head(): number;
  remove(subscription: Subscription<never>): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

class Subscription<T> implements AsyncIterableIterator<Notification<T>> {
  private readonly queue: Extract<Notification<T>, { kind: "item" }>[] = [];
  /** Highest position already passed to `select` (the de-duplication point at the seam). */
  private processed: number;
  /** Notifications of the start event that the start cursor already covered. */
  private readonly skip: { position: number; upTo: number } | null;
  private lastDelivered: LogCursor;
  /** Non-null while replaying history: the position the next table read starts after. */
  private replayFrom: number | null;
  /** Live events captured while replaying; null once that capture overflowed (it is then re-armed). */
  private captured: RecordedEvent[] | null = [];
  private failed = false;
  private finished = false;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly hub: HubInternals,
    private readonly select: (event: RecordedEvent) => readonly T[],
    start: LogCursor,
  ) {
    this.processed = readFrom(start);
    this.skip = start.part === undefined ? null : { position: start.position, upTo: start.part };
    this.lastDelivered = start;
    this.replayFrom = this.processed < hub.head() ? this.processed : null;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Called by the tailer for every new event, in position order. */
  offer(event: RecordedEvent) {
    if (this.finished || this.failed) return;
    if (this.replayFrom !== null) {
      if (this.captured !== null) {
        if (this.captured.length >= this.hub.limit) this.captured = null;
        else this.captured.push(event);
      }
      return;
    }
    this.examine(event);
    this.checkBound();
    this.signal();
  }

  async next(): Promise<IteratorResult<Notification<T>, undefined>> {
    for (;;) {
      if (this.finished) return DONE;
      const item = this.queue.shift();
      if (item) {
        this.lastDelivered = item.cursor;
        return { done: false, value: item };
      }
      if (this.failed) {
        this.finish();
        return { done: false, value: { kind: "tooSlow", cursor: this.lastDelivered, limit: this.hub.limit } };
      }
      if (this.replayFrom !== null) await this.replayBatch(this.replayFrom);
      else await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  return(): Promise<IteratorReturnResult<undefined>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(): Promise<IteratorReturnResult<undefined>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  finish() {
    if (this.finished) return;
    this.finished = true;
    this.queue.length = 0;
    this.captured = null;
    this.hub.remove(this as unknown as Subscription<never>);
    this.signal();
  }

  private signal() {
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }

  private examine(event: RecordedEvent) {
    if (event.position <= this.processed) return;
    this.processed = event.position;
    const values = this.select(event);
    values.forEach((value, part) => {
      if (this.skip && this.skip.position === event.position && part <= this.skip.upTo) return;
      const cursor =
        part < values.length - 1 ? { position: event.position, part } : { position: event.position };
      this.queue.push({ kind: "item", value, event, cursor });
    });
  }

  private checkBound() {
    if (this.queue.length <= this.hub.limit) return;
    // Drop now, not when the consumer next pulls: the queue is freed and the tailer stops feeding it.
    this.failed = true;
    this.queue.length = 0;
    this.hub.remove(this as unknown as Subscription<never>);
  }

  /** Reads one batch of history; at the end of the table, joins the live stream. */
  private async replayBatch(from: number) {
    const batchSize = Math.min(this.hub.batchSize, this.hub.limit);
    let batch: readonly RecordedEvent[];
    try {
      batch = await this.hub.source.readAfter(from, batchSize);
    } catch (error) {
      this.hub.onError(error);
      await sleep(this.hub.retryDelayMs);
      return;
    }
    if (this.finished) return;
    for (const event of batch) this.examine(event);
    this.replayFrom = batch.at(-1)?.position ?? from;
    if (batch.length === batchSize) return;
    if (this.captured === null) {
      // Live capture overflowed while we were reading history: capture afresh from here and read
      // on. Every event the hub handed out before now is committed, so the next read covers it.
      this.captured = [];
      return;
    }
    // The table is exhausted as of this read, which began after capture started: history and the
    // captured live events overlap or touch, never leave a gap. examine() drops the overlap.
    const captured = this.captured;
    this.captured = null;
    this.replayFrom = null;
    for (const event of captured) this.examine(event);
    this.checkBound();
  }
}

export class EventHub {
  readonly #source: EventSource;
  readonly #subscriptions = new Set<Subscription<never>>();
  readonly #internals: HubInternals;
  #head = 0;
  #started = false;
  #closed = false;
  #tailing: Promise<void> | null = null;
  #again = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(source: EventSource, options: EventHubOptions = {}) {
    this.#source = source;
    const limit = options.maxBufferedNotifications ?? DEFAULT_MAX_BUFFERED_NOTIFICATIONS;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError("maxBufferedNotifications must be a positive integer");
    this.#internals = {
      source,
      limit,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      retryDelayMs: options.retryDelayMs ?? 1_000,
      onError: options.onError ?? (() => undefined),
      head: () => this.#head,
      remove: (subscription) => void this.#subscriptions.delete(subscription),
    };
  }

  /** Position of the newest event handed to subscribers. */
  get head(): number {
    return this.#head;
  }

  get subscriberCount(): number {
    return this.#subscriptions.size;
  }

  get maxBufferedNotifications(): number {
    return this.#internals.limit;
  }

  /** Learns where the log ends; subscriptions without a cursor start after that. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#head = await this.#source.lastPosition();
    this.#started = true;
  }

  /**
   * Something may have been committed: read the table after the head. `position` is the newest
   * committed position when the waker knows it; a wake-up for something already seen is ignored.
   */
  wake(position?: number | null): void {
    if (!this.#started || this.#closed) return;
    if (position != null && position <= this.#head) return;
    if (this.#tailing) {
      this.#again = true;
      return;
    }
    this.#tailing = this.#tail().finally(() => (this.#tailing = null));
  }

  /** Resolves once the tailer is idle (tests and benchmarks use it to settle). */
  async settled(): Promise<void> {
    while (this.#tailing) await this.#tailing;
  }

  subscribe<T>(options: SubscribeOptions<T>): AsyncIterableIterator<Notification<T>> {
    if (!this.#started) throw new Error("EventHub.subscribe() before start()");
    const subscription = new Subscription<T>(
      this.#internals,
      options.select,
      options.after ?? { position: this.#head },
    );
    if (this.#closed) subscription.finish();
    else this.#subscriptions.add(subscription as unknown as Subscription<never>);
    return subscription;
  }

  /** Ends every subscription (their iterators complete) and stops tailing. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    for (const subscription of [...this.#subscriptions]) subscription.finish();
    await this.settled();
  }

  async #tail(): Promise<void> {
    const batchSize = this.#internals.batchSize;
    do {
      this.#again = false;
      for (;;) {
        let batch: readonly RecordedEvent[];
        try {
          batch = await this.#source.readAfter(this.#head, batchSize);
        } catch (error) {
          this.#internals.onError(error);
          if (!this.#closed && !this.#retry)
            this.#retry = setTimeout(() => {
              this.#retry = null;
              this.wake();
            }, this.#internals.retryDelayMs).unref();
          return;
        }
        if (this.#closed) return;
        for (const event of batch) {
          if (event.position <= this.#head) continue;
          this.#head = event.position;
          for (const subscription of this.#subscriptions) subscription.offer(event);
        }
        if (batch.length < batchSize) break;
      }
    } while (this.#again && !this.#closed);
  }
}
