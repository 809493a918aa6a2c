// The per-process fan-out of committed events to live subscribers. One tailer reads the event table
// (the source of truth) by global position whenever it is woken — by the in-process commit hook, by
// PostgreSQL NOTIFY from any instance, or by an optional safety poll — and hands each new event to
// every subscription. A subscription that starts from a cursor first replays history from the table
// at its own pace, while the hub captures live events for it; at the seam the two are de-duplicated
// by position, so the subscriber sees every event exactly once, in order.
//
// Memory is bounded per subscriber, by notifications and by bytes: a live subscriber whose queue
// holds more than the notification limit, or whose connection (every subscription over it, plus the
// bytes its transport has not sent yet) holds more than its byte budget, is dropped (its queue freed
// at once) and its next pull yields a `tooSlow` notification carrying the cursor of the last
// notification it actually consumed, so it can resume from the table without loss.
//
// The same wake-ups read the log's access events (a role set, a token revoked, a member removed)
// for the subscriptions watching them (`watchAccess`): each one concerned is told once per read, however
// many such events the read found, so that it checks its credentials again at once instead of at
// its next periodic re-check. Every instance tails the shared log, so a change committed on one
// reaches subscriptions on all.
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { LogCursor } from "./cursor.ts";
import { readFrom } from "./cursor.ts";

/** Where the hub reads committed events from (the event table). */
export interface EventSource {
  /** Events with position > `position`, ascending, at most `limit`. */
  readAfter(position: number, limit: number): Promise<readonly RecordedEvent[]>;
  /** Position of the newest committed event (0 when the log is empty). */
  lastPosition(): Promise<number>;
  /**
   * Access events with position > `position`, at most `limit`, as the keys of those they concern
   * (watchAccess); without it, watchers are never told.
   */
  readAccessChanges?(position: number, limit: number): Promise<AccessChangePage>;
}

/** A page of access events: whom they concern, and where the page ends. */
export interface AccessChangePage {
  /** Keys (as watchAccess takes them) of whoever the page's events concern; repeats allowed. */
  readonly keys: readonly string[];
  /** Events the page held: fewer than asked is the log's end. */
  readonly rows: number;
  /** Position of the page's last event, or the position it was read after when empty. */
  readonly last: number;
}

export type Notification<T> =
  | { readonly kind: "item"; readonly value: T; readonly event: RecordedEvent; readonly cursor: LogCursor }
  | {
      /** The subscriber fell too far behind and was dropped; resume after `cursor`. */
      readonly kind: "tooSlow";
      readonly cursor: LogCursor;
      /** The bound it exceeded, in `unit`s. */
      readonly limit: number;
      readonly unit: "notifications" | "bytes";
    };

/**
 * A byte bound shared by every subscription of one client connection (SubscriberBudget implements
 * it). The hub reports the estimated size of the notifications it queues for the connection; the
 * budget adds what the connection's transport holds unsent.
 */
export interface ByteBudget {
  readonly maxBytes: number;
  /** The connection's queued notifications grew (or, negative, shrank) by this many bytes. */
  queued(delta: number): void;
  /** Bytes held for the connection: its queued notifications plus its transport's unsent bytes. */
  usedBytes(): number;
  /**
   * One of the connection's subscriptions was dropped; its consumer has yet to take the notice (to
   * resume after `cursor`). Returns what to call once it has, or once the subscription ended.
   */
  dropped(cursor: LogCursor): () => void;
}

export interface SubscribeOptions<T> {
  /** Start after this place in the log (replaying history); omitted: start with the next event. */
  readonly after?: LogCursor | undefined;
  /**
   * Maps an event to the notifications it produces (usually zero or one). Called exactly once per
   * event after the start, in position order, so it may keep state (e.g. follow a model's renames).
   */
  readonly select: (event: RecordedEvent) => readonly T[];
  /** The byte bound of the subscriber's connection; without one, only notifications are counted. */
  readonly budget?: ByteBudget | undefined;
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
  /** Counts a subscriber dropped as too slow. */
  dropped(unit: "notifications" | "bytes"): void;
  /** Records the bytes a connection was seen holding (for the peak). */
  observed(bytes: number): void;
}

/**
 * What a queued notification is estimated to cost: its event's JSON size (a notification carries
 * the event or a part of it). Computed once per event object, however many subscribers queue it.
 */
const eventSizes = new WeakMap<RecordedEvent, number>();
function sizeOf(event: RecordedEvent): number {
  let size = eventSizes.get(event);
  if (size === undefined) {
    size = JSON.stringify(event).length;
    eventSizes.set(event, size);
  }
  return size;
}

type Item<T> = Extract<Notification<T>, { kind: "item" }> & { readonly bytes: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

class Subscription<T> implements AsyncIterableIterator<Notification<T>> {
  private readonly queue: Item<T>[] = [];
  /** Estimated bytes of `queue` (0 without a budget). */
  private queuedBytes = 0;
  /** Highest position already passed to `select` (the de-duplication point at the seam). */
  private processed: number;
  /** Notifications of the start event that the start cursor already covered. */
  private readonly skip: { position: number; upTo: number } | null;
  private lastDelivered: LogCursor;
  /** Non-null while replaying history: the position the next table read starts after. */
  private replayFrom: number | null;
  /** Live events captured while replaying; null once that capture overflowed (it is then re-armed). */
  private captured: RecordedEvent[] | null = [];
  private capturedBytes = 0;
  /** Set when dropped: the bound it broke. */
  private failed: "notifications" | "bytes" | null = null;
  /** Set while dropped and the consumer has not taken its notice yet. */
  private noticed: (() => void) | null = null;
  private finished = false;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly hub: HubInternals,
    private readonly select: (event: RecordedEvent) => readonly T[],
    start: LogCursor,
    private readonly budget: ByteBudget | undefined,
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
        this.capturedBytes += this.budget ? sizeOf(event) : 0;
        if (
          this.captured.length >= this.hub.limit ||
          (this.budget && this.capturedBytes > this.budget.maxBytes)
        )
          this.dropCapture();
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
        this.unqueue(item.bytes);
        this.lastDelivered = item.cursor;
        const { bytes: _bytes, ...notification } = item;
        return { done: false, value: notification };
      }
      if (this.failed) {
        const unit = this.failed;
        this.finish(); // which tells the budget the notice was taken
        const limit = unit === "bytes" ? this.budget!.maxBytes : this.hub.limit;
        return { done: false, value: { kind: "tooSlow", cursor: this.lastDelivered, limit, unit } };
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
    this.clearQueue();
    this.dropCapture();
    this.noticed?.();
    this.noticed = null;
    this.hub.remove(this as unknown as Subscription<never>);
    this.signal();
  }

  private unqueue(bytes: number) {
    if (bytes === 0) return;
    this.queuedBytes -= bytes;
    this.budget?.queued(-bytes);
  }

  private clearQueue() {
    this.queue.length = 0;
    this.unqueue(this.queuedBytes);
  }

  private dropCapture() {
    this.captured = null;
    this.capturedBytes = 0;
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
    const bytes = this.budget ? sizeOf(event) : 0;
    values.forEach((value, part) => {
      if (this.skip && this.skip.position === event.position && part <= this.skip.upTo) return;
      const cursor =
        part < values.length - 1 ? { position: event.position, part } : { position: event.position };
      this.queue.push({ kind: "item", value, event, cursor, bytes });
      if (bytes > 0) {
        this.queuedBytes += bytes;
        this.budget!.queued(bytes);
      }
    });
  }

  /**
   * Drops a live subscriber over either bound (a replay fills its queue at its own pace instead).
   * One notification may always wait, however large: an event bigger than the byte budget must
   * not drop a subscriber that keeps up.
   */
  private checkBound() {
    if (this.queue.length > this.hub.limit) return this.drop("notifications");
    if (this.budget === undefined) return;
    const used = this.budget.usedBytes();
    this.hub.observed(used);
    if (used > this.budget.maxBytes && this.queue.length > 1) this.drop("bytes");
  }

  private drop(unit: "notifications" | "bytes") {
    // Drop now, not when the consumer next pulls: the queue is freed and the tailer stops feeding it.
    this.failed = unit;
    this.clearQueue();
    this.hub.remove(this as unknown as Subscription<never>);
    this.hub.dropped(unit);
    // The consumer may be stuck writing to a connection that no longer drains: the budget cuts
    // that connection if the notice is not taken in time.
    this.noticed = this.budget?.dropped(this.lastDelivered) ?? null;
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
    for (const event of batch) {
      this.examine(event);
      this.replayFrom = event.position;
      // Large events: queue at most half the connection's budget of history; the rest of the
      // batch is read again once the consumer has taken these.
      if (this.budget && this.queuedBytes > this.budget.maxBytes / 2 && event !== batch.at(-1)) return;
    }
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
    this.dropCapture();
    this.replayFrom = null;
    for (const event of captured) this.examine(event);
    if (this.queue.length > this.hub.limit) this.drop("notifications");
  }
}

/** Someone watching for access events: told (called) when one concerns it. */
type AccessWatcher = () => void;

export class EventHub {
  readonly #source: EventSource;
  readonly #subscriptions = new Set<Subscription<never>>();
  readonly #internals: HubInternals;
  #head = 0;
  /** The newest position a waker reported; the next read covers it. */
  #reported = 0;
  /** A waker did not say what was committed (a poll, a reconnect, a retry): read everything. */
  #unreported = false;
  /** Every event up to here is handed out, and its access events read (see #tail). */
  #readThrough = 0;
  /** Access events up to here are read (or, while nobody watched, passed over). */
  #accessHead = 0;
  /** Watchers by key; a watcher under several keys is in several sets. */
  readonly #accessWatchers = new Map<string, Set<AccessWatcher>>();
  #accessWatcherCount = 0;
  #accessGeneration = 0;
  #started = false;
  #closed = false;
  #tailing: Promise<void> | null = null;
  #again = false;
  #retry: NodeJS.Timeout | null = null;
  readonly #drops = { notifications: 0, bytes: 0 };
  #peakBytes = 0;

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
      dropped: (unit) => void this.#drops[unit]++,
      observed: (bytes) => void (this.#peakBytes = Math.max(this.#peakBytes, bytes)),
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

  /** Subscribers dropped as too slow so far, by the bound they broke. */
  get drops(): { readonly notifications: number; readonly bytes: number } {
    return { ...this.#drops };
  }

  /** The most bytes any connection with a byte budget was seen holding (checked on every live event). */
  get peakSubscriberBytes(): number {
    return this.#peakBytes;
  }

  /** Learns where the log ends; subscriptions without a cursor start after that. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#head = await this.#source.lastPosition();
    this.#readThrough = this.#head;
    this.#accessHead = this.#head;
    this.#started = true;
  }

  /** Subscriptions watching for access events (watchAccess). */
  get accessWatcherCount(): number {
    return this.#accessWatcherCount;
  }

  /**
   * Moves on whenever access events may have gone by unseen by a watcher that starts now: read and
   * found, or passed over while nobody watched. A subscription compares it from before it
   * authenticated to after it started watching, and checks again when it moved.
   */
  get accessGeneration(): number {
    return this.#accessGeneration;
  }

  /**
   * Calls `changed` whenever a read of the log finds access events concerning any of `keys` (once
   * per read however many it finds; the caller coalesces further). Returns what stops it.
   */
  watchAccess(keys: readonly string[], changed: () => void): () => void {
    // Its own function object, so that one callback watched twice is two watchers.
    const watcher: AccessWatcher = () => changed();
    const unique = [...new Set(keys)];
    for (const key of unique) {
      const set = this.#accessWatchers.get(key);
      if (set) set.add(watcher);
      else this.#accessWatchers.set(key, new Set([watcher]));
    }
    this.#accessWatcherCount++;
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      this.#accessWatcherCount--;
      for (const key of unique) {
        const set = this.#accessWatchers.get(key);
        set?.delete(watcher);
        if (set?.size === 0) this.#accessWatchers.delete(key);
      }
    };
  }

  /**
   * Something may have been committed: read the table after the head. `position` is the newest
   * committed position when the waker knows it; a wake-up for something already seen is ignored.
   */
  wake(position?: number | null): void {
    if (!this.#started || this.#closed) return;
    // Already read: the commit hook and PostgreSQL's NOTIFY both report this instance's commits,
    // and a commit of access events leaves the head (the newest model event) behind it.
    if (position != null && position <= Math.max(this.#head, this.#readThrough)) return;
    if (position != null) this.#reported = Math.max(this.#reported, position);
    else this.#unreported = true;
    // Nobody to hand events to, and the waker knows what is committed: move the head there without
    // reading the log (a read and a chain check per commit, most of a commit's cost after the write
    // itself). A subscription that starts later starts after it, as it would have after a read.
    if (
      position != null &&
      this.#subscriptions.size === 0 &&
      this.#accessWatcherCount === 0 &&
      !this.#tailing
    ) {
      this.#head = position;
      this.#readThrough = position;
      this.#accessHead = Math.max(this.#accessHead, position);
      this.#accessGeneration++;
      return;
    }
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
      options.budget,
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
    this.#accessWatchers.clear();
    await this.settled();
  }

  async #tail(): Promise<void> {
    const batchSize = this.#internals.batchSize;
    do {
      this.#again = false;
      // Everything reported so far was committed before the reads below begin, so they cover it.
      const reported = this.#reported;
      const unreported = this.#unreported;
      this.#unreported = false;
      // Model events from just after the access head on, without a gap: no access event is among them.
      let gapless = this.#accessHead;
      for (;;) {
        let batch: readonly RecordedEvent[];
        try {
          batch = await this.#source.readAfter(this.#head, batchSize);
        } catch (error) {
          return this.#retryLater(error);
        }
        if (this.#closed) return;
        for (const event of batch) {
          if (event.position <= this.#head) continue;
          this.#head = event.position;
          if (event.position === gapless + 1) gapless = event.position;
          for (const subscription of this.#subscriptions) subscription.offer(event);
        }
        if (batch.length < batchSize) break;
      }
      // Only model events were committed up to what the wakers reported and up to the newest model
      // event read (the usual commit): no access event to look for, and no second query per commit.
      // A gap before the head is one: the wake-ups of what filled it come later and find it read.
      if (!unreported && gapless >= Math.max(reported, this.#head)) this.#accessHead = gapless;
      else
        try {
          await this.#readAccessChanges(Math.max(reported, this.#head));
        } catch (error) {
          return this.#retryLater(error);
        }
      if (this.#closed) return;
      this.#readThrough = Math.max(this.#readThrough, reported);
    } while (this.#again && !this.#closed);
  }

  /** A read of the table failed: report it and wake again after the retry delay. */
  #retryLater(error: unknown): void {
    this.#internals.onError(error);
    if (!this.#closed && !this.#retry)
      this.#retry = setTimeout(() => {
        this.#retry = null;
        this.wake();
      }, this.#internals.retryDelayMs).unref();
  }

  /**
   * Reads the access events after the last read and tells each watcher they concern, once. Read
   * after the model events, so it covers at least what they did (`upTo`); with nobody watching,
   * nothing is read and the access head moves there.
   */
  async #readAccessChanges(upTo: number): Promise<void> {
    const read = this.#source.readAccessChanges?.bind(this.#source);
    if (!read || this.#accessWatcherCount === 0) {
      this.#accessGeneration++;
      this.#accessHead = Math.max(this.#accessHead, upTo);
      return;
    }
    const batchSize = this.#internals.batchSize;
    const concerned = new Set<AccessWatcher>();
    try {
      for (;;) {
        const page = await read(this.#accessHead, batchSize);
        if (this.#closed) return;
        this.#accessHead = Math.max(this.#accessHead, page.last);
        if (page.rows > 0) this.#accessGeneration++;
        for (const key of page.keys)
          this.#accessWatchers.get(key)?.forEach((watcher) => concerned.add(watcher));
        if (page.rows < batchSize) break;
      }
      // The log's end as of this read is past `upTo`: nothing up to it is left to look at.
      this.#accessHead = Math.max(this.#accessHead, upTo);
    } finally {
      // Also when a later page failed: the pages read so far are not read again.
      for (const watcher of this.#closed ? [] : concerned) {
        try {
          watcher();
        } catch (error) {
          this.#internals.onError(error);
        }
      }
    }
  }
}
