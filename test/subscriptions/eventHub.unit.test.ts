// The hub against an in-memory log: order, the replay/live seam, bounded buffers, and cursors.
import { describe, expect, it } from "vitest";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { decodeCursor, encodeCursor, InvalidCursorError } from "../../src/subscriptions/cursor.ts";
import { EventHub } from "../../src/subscriptions/eventHub.ts";
import type { ByteBudget, EventSource, Notification } from "../../src/subscriptions/eventHub.ts";
import type { LogCursor } from "../../src/subscriptions/cursor.ts";
import { FollowedModels } from "../../src/subscriptions/followedModels.ts";
import { userActor } from "../support/actors.ts";

/** An in-memory event table; `gate` lets a test hold reads to interleave them with appends. */
class MemoryLog implements EventSource {
  readonly events: RecordedEvent[] = [];
  reads = 0;
  gate: Promise<void> | null = null;

  append(
    event: RegisteredModelEvent = { type: "RegisteredModelTagSet", data: { key: "k", value: "v" } },
    streamId = "m1",
  ) {
    const position = (this.events.at(-1)?.position ?? 0) + 1;
    this.events.push({
      ...event,
      streamId,
      revision: position,
      position,
      schemaVersion: 1,
      actor: userActor("alice"),
      occurredAt: new Date(0),
      correlationId: null,
      causationId: null,
    });
    return position;
  }

  appendMany(n: number) {
    for (let i = 0; i < n; i++) this.append();
  }

  /** Like a database read: the result is what was committed when the read began. */
  async readAfter(position: number, limit: number) {
    this.reads++;
    const snapshot = this.events.filter((e) => e.position > position).slice(0, limit);
    if (this.gate) await this.gate;
    return snapshot;
  }

  lastPosition() {
    return Promise.resolve(this.events.at(-1)?.position ?? 0);
  }
}

const all = (event: RecordedEvent) => [event];

/** The next `n` notifications (fewer if the stream ends); fails after 2 s rather than hang. */
async function take<T>(iterator: AsyncIterator<Notification<T>>, n: number): Promise<Notification<T>[]> {
  const out: Notification<T>[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${out.length}/${n} notifications arrived`)), 2_000);
  });
  try {
    while (out.length < n) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      out.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

const positions = (notifications: Notification<RecordedEvent>[]) =>
  notifications.map((n) => (n.kind === "item" ? n.event.position : `tooSlow@${n.cursor.position}`));

async function started(log: MemoryLog, options = {}) {
  const hub = new EventHub(log, options);
  await hub.start();
  return hub;
}

describe("EventHub", () => {
  it("without a cursor, starts with the next committed event and delivers in position order", async () => {
    const log = new MemoryLog();
    log.appendMany(3);
    const hub = await started(log);
    const sub = hub.subscribe({ select: all });
    log.appendMany(4);
    hub.wake();
    expect(positions(await take(sub, 4))).toEqual([4, 5, 6, 7]);
    await sub.return!();
    expect(hub.subscriberCount).toBe(0);
  });

  it("reads the table once per wake-up however many subscribers there are", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const subs = Array.from({ length: 50 }, () => hub.subscribe({ select: all }));
    log.appendMany(2);
    const before = log.reads;
    hub.wake();
    await hub.settled();
    expect(log.reads - before).toBe(1);
    for (const sub of subs) expect(positions(await take(sub, 2))).toEqual([1, 2]);
  });

  it("without subscribers, a wake-up that names the committed position moves the head without reading", async () => {
    const log = new MemoryLog();
    log.appendMany(2);
    const hub = await started(log);
    const before = log.reads;
    log.appendMany(3);
    hub.wake(5);
    await hub.settled();
    expect(log.reads - before).toBe(0);
    expect(hub.head).toBe(5);
    // A subscriber from now on gets what comes next, exactly as after a read.
    const sub = hub.subscribe({ select: all });
    log.appendMany(2);
    hub.wake(7);
    expect(positions(await take(sub, 2))).toEqual([6, 7]);
    await sub.return!();
  });

  it("ignores a wake-up for a position it has already handed out", async () => {
    const log = new MemoryLog();
    log.appendMany(2);
    const hub = await started(log);
    const before = log.reads;
    hub.wake(2);
    await hub.settled();
    expect(log.reads).toBe(before);
  });

  it("replays after a cursor, then joins the live stream with no gap and no duplicate at the seam", async () => {
    const log = new MemoryLog();
    log.appendMany(20);
    const hub = await started(log, { batchSize: 4 });
    const sub = hub.subscribe({ after: { position: 5 }, select: all });
    // While the subscriber is still replaying, more events commit and the tailer hands them out.
    const first = await take(sub, 3);
    log.appendMany(10);
    hub.wake();
    await hub.settled();
    const rest = await take(sub, 22);
    expect(positions([...first, ...rest])).toEqual(Array.from({ length: 25 }, (_, i) => i + 6));
    log.appendMany(1);
    hub.wake();
    expect(positions(await take(sub, 1))).toEqual([31]);
  });

  it("keeps the seam exact when live events arrive while a replay read is in flight", async () => {
    const log = new MemoryLog();
    log.appendMany(10);
    const hub = await started(log, { batchSize: 100 });
    let release!: () => void;
    log.gate = new Promise((resolve) => (release = resolve));
    const sub = hub.subscribe({ after: { position: 2 }, select: all });
    const pending = take(sub, 13); // its replay read (seeing 3..10) is now held at the gate
    log.gate = null;
    log.appendMany(5); // 11..15 commit and the tailer hands them out while the replay read is in flight
    hub.wake();
    await hub.settled();
    release();
    expect(positions(await pending)).toEqual(Array.from({ length: 13 }, (_, i) => i + 3));
  });

  it("re-arms live capture that overflowed during a long replay, losing nothing", async () => {
    const log = new MemoryLog();
    log.appendMany(30);
    const hub = await started(log, { batchSize: 5, maxBufferedNotifications: 5 });
    const sub = hub.subscribe({ after: { position: 0 }, select: all });
    const first = await take(sub, 2);
    // 20 live events while replaying: more than the capture may hold.
    for (let i = 0; i < 20; i++) {
      log.append();
      hub.wake();
      await hub.settled();
    }
    const rest = await take(sub, 48);
    expect(positions([...first, ...rest])).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("drops a live subscriber that falls behind, with the cursor of the last notification it consumed, while others keep receiving", async () => {
    const log = new MemoryLog();
    const hub = await started(log, { maxBufferedNotifications: 5 });
    const slow = hub.subscribe({ select: all });
    const fast = hub.subscribe({ select: all });
    const fastSeen: number[] = [];
    for (let i = 0; i < 12; i++) {
      log.append();
      hub.wake();
      await hub.settled();
      if (i === 1) expect(positions(await take(slow, 2))).toEqual([1, 2]); // consumes two, then stalls
      fastSeen.push(...positions(await take(fast, 1)).map(Number));
    }
    expect(fastSeen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(hub.subscriberCount).toBe(1); // the slow one is already off the hub, its queue freed
    const [notice] = await take(slow, 1);
    expect(notice).toEqual({ kind: "tooSlow", cursor: { position: 2 }, limit: 5, unit: "notifications" });
    expect(await slow.next()).toEqual({ done: true, value: undefined });
    // Resuming from that cursor delivers exactly what it missed.
    const resumed = hub.subscribe({ after: notice!.cursor, select: all });
    expect(positions(await take(resumed, 10))).toEqual(Array.from({ length: 10 }, (_, i) => i + 3));
  });

  it("counts only selected notifications against the bound (filtered-out traffic cannot make a subscriber slow)", async () => {
    const log = new MemoryLog();
    const hub = await started(log, { maxBufferedNotifications: 2 });
    const sub = hub.subscribe({ select: (e) => (e.streamId === "m2" ? [e] : []) });
    for (let i = 0; i < 10; i++) log.append(undefined, "m1");
    log.append(undefined, "m2");
    hub.wake();
    await hub.settled();
    expect(positions(await take(sub, 1))).toEqual([11]);
  });

  it("ends a waiting subscription at once on return(), and every subscription on close()", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const a = hub.subscribe({ select: all });
    const b = hub.subscribe({ select: all });
    const waiting = a.next();
    await a.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    const waitingB = b.next();
    await hub.close();
    expect(await waitingB).toEqual({ done: true, value: undefined });
    expect(hub.subscriberCount).toBe(0);
  });

  it("gives each notification of a multi-notification event its own cursor and resumes inside the event", async () => {
    const log = new MemoryLog();
    log.append();
    const hub = await started(log);
    const threeEach = (e: RecordedEvent) => ["a", "b", "c"].map((x) => `${e.position}${x}`);
    const sub = hub.subscribe({ after: { position: 0 }, select: threeEach });
    const got = await take(sub, 3);
    expect(got.map((n) => (n.kind === "item" ? [n.value, n.cursor] : null))).toEqual([
      ["1a", { position: 1, part: 0 }],
      ["1b", { position: 1, part: 1 }],
      ["1c", { position: 1 }],
    ]);
    const resumed = hub.subscribe({ after: { position: 1, part: 0 }, select: threeEach });
    log.append();
    hub.wake();
    expect((await take(resumed, 5)).map((n) => (n.kind === "item" ? n.value : null))).toEqual([
      "1b",
      "1c",
      "2a",
      "2b",
      "2c",
    ]);
  });

  it("retries after a failed read without losing events", async () => {
    const log = new MemoryLog();
    const hub = await started(log, { retryDelayMs: 10 });
    const sub = hub.subscribe({ select: all });
    const read = log.readAfter.bind(log);
    let failures = 1;
    log.readAfter = (p, l) => (failures-- > 0 ? Promise.reject(new Error("database down")) : read(p, l));
    log.appendMany(2);
    hub.wake();
    expect(positions(await take(sub, 2))).toEqual([1, 2]);
  });
});

/** A connection's byte budget with a transport the test fills and drains by hand. */
class FakeBudget implements ByteBudget {
  queuedBytes = 0;
  peakQueued = 0;
  transport = 0;
  readonly drops: LogCursor[] = [];
  noticed = 0;
  constructor(readonly maxBytes: number) {}
  queued(delta: number) {
    this.queuedBytes += delta;
    this.peakQueued = Math.max(this.peakQueued, this.queuedBytes);
  }
  usedBytes() {
    return this.queuedBytes + this.transport;
  }
  dropped(cursor: LogCursor) {
    this.drops.push(cursor);
    return () => void this.noticed++;
  }
}

/** An event whose JSON is about `bytes` long. */
const large = (bytes: number): RegisteredModelEvent => ({
  type: "RegisteredModelTagSet",
  data: { key: "k", value: "x".repeat(bytes) },
});

describe("EventHub byte bound", () => {
  it("drops a live subscriber whose connection holds more bytes than its budget, with its cursor", async () => {
    const log = new MemoryLog();
    // The notification limit is far away: only bytes can drop it.
    const hub = await started(log, { maxBufferedNotifications: 10_000 });
    const budget = new FakeBudget(10_000);
    const slow = hub.subscribe({ select: all, budget });
    const fast = hub.subscribe({ select: all });
    for (let i = 0; i < 30; i++) {
      log.append(large(1_000));
      hub.wake();
      await hub.settled();
      if (i === 1) expect(positions(await take(slow, 2))).toEqual([1, 2]);
    }
    expect(hub.subscriberCount).toBe(1);
    expect(hub.drops).toEqual({ notifications: 0, bytes: 1 });
    // Freed at once, and never above the budget by more than the event that broke it.
    expect(budget.queuedBytes).toBe(0);
    expect(budget.peakQueued).toBeLessThanOrEqual(10_000 + 1_200);
    expect(hub.peakSubscriberBytes).toBeGreaterThan(10_000);
    expect(hub.peakSubscriberBytes).toBeLessThanOrEqual(10_000 + 1_200);
    expect(budget.drops).toEqual([{ position: 2 }]);
    const [notice] = await take(slow, 1);
    expect(notice).toEqual({ kind: "tooSlow", cursor: { position: 2 }, limit: 10_000, unit: "bytes" });
    expect(budget.noticed).toBe(1);
    expect(await slow.next()).toEqual({ done: true, value: undefined });
    expect(positions(await take(fast, 30))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("counts the transport's unsent bytes too: a full socket drops the subscriber on the next event", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const budget = new FakeBudget(10_000);
    const sub = hub.subscribe({ select: all, budget });
    log.append();
    hub.wake();
    expect(positions(await take(sub, 1))).toEqual([1]);
    budget.transport = 10_001; // the consumer wrote notification 1, which the client does not read
    log.append();
    hub.wake();
    await hub.settled();
    expect(hub.drops.bytes).toBe(0); // one notification may always wait
    log.append();
    hub.wake();
    await hub.settled();
    expect(hub.drops.bytes).toBe(1);
    expect(positions(await take(sub, 1))).toEqual(["tooSlow@1"]);
  });

  it("keeps a subscriber that keeps up even when a single event is larger than the whole budget", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const budget = new FakeBudget(1_000);
    const sub = hub.subscribe({ select: all, budget });
    for (let i = 0; i < 3; i++) {
      log.append(large(5_000));
      hub.wake();
      await hub.settled();
      expect(positions(await take(sub, 1))).toEqual([i + 1]);
    }
    expect(hub.drops.bytes).toBe(0);
  });

  it("tells the budget a dropped subscriber's notice is settled when it ends without taking it", async () => {
    const log = new MemoryLog();
    const hub = await started(log, { maxBufferedNotifications: 1 });
    const budget = new FakeBudget(1_000_000);
    const sub = hub.subscribe({ select: all, budget });
    log.appendMany(3);
    hub.wake();
    await hub.settled();
    expect(budget.drops).toHaveLength(1);
    expect(budget.noticed).toBe(0);
    await sub.return!();
    expect(budget.noticed).toBe(1);
  });

  it("replays history of large events at the consumer's pace without dropping it, each event once", async () => {
    const log = new MemoryLog();
    for (let i = 0; i < 40; i++) log.append(large(1_000));
    const hub = await started(log, { maxBufferedNotifications: 10_000 });
    const budget = new FakeBudget(5_000);
    const sub = hub.subscribe({ after: { position: 0 }, select: all, budget });
    const first = await take(sub, 20);
    log.append(large(1_000)); // a live event while replaying
    hub.wake();
    await hub.settled();
    const rest = await take(sub, 21);
    expect(positions([...first, ...rest])).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    // History was read a few events at a time, never more than half the budget plus one event.
    expect(budget.peakQueued).toBeLessThanOrEqual(2_500 + 1_200);
    expect(hub.drops).toEqual({ notifications: 0, bytes: 0 });
  });
});

describe("cursors", () => {
  it("round-trip positions and parts", () => {
    expect(decodeCursor(encodeCursor(42))).toEqual({ position: 42 });
    expect(decodeCursor(encodeCursor({ position: 7, part: 2 }))).toEqual({ position: 7, part: 2 });
    expect(encodeCursor(42)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ["empty", ""],
    ["not base64url", "abc$"],
    ["foreign prefix", Buffer.from("evt:12").toString("base64url")],
    ["negative", Buffer.from("registro:log:v1:-1").toString("base64url")],
    ["not a number", Buffer.from("registro:log:v1:12x").toString("base64url")],
    ["leading zero", Buffer.from("registro:log:v1:012").toString("base64url")],
    ["too large", Buffer.from("registro:log:v1:99999999999999999").toString("base64url")],
    ["huge", "A".repeat(500)],
  ])("rejects a malformed cursor (%s)", (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidCursorError);
  });
});

describe("FollowedModels", () => {
  const event = (type: string, data: object, streamId: string) =>
    ({ type, data, streamId }) as unknown as RecordedEvent;

  it("follows a resolved model through renames, and a model that takes the name later", () => {
    const followed = new FollowedModels(["fraud"], ["m1"]);
    expect(followed.observe(event("RegisteredModelRenamed", { from: "fraud", to: "fraud-v2" }, "m1"))).toBe(
      true,
    );
    expect(followed.observe(event("RegisteredModelTagSet", { key: "k", value: "v" }, "m1"))).toBe(true);
    expect(followed.observe(event("RegisteredModelTagSet", { key: "k", value: "v" }, "m2"))).toBe(false);
    expect(followed.observe(event("RegisteredModelCreated", { name: "fraud" }, "m2"))).toBe(true);
    expect(followed.observe(event("RegisteredModelTagSet", { key: "k", value: "v" }, "m2"))).toBe(true);
    expect(followed.observe(event("RegisteredModelRenamed", { from: "x", to: "fraud" }, "m3"))).toBe(true);
    expect(followed.observe(event("RegisteredModelRestored", { name: "other" }, "m4"))).toBe(false);
  });
});
