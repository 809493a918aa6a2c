// The hub's access watching against an in-memory log: a watcher is told once per read of the
// access events that concern it (however many), never of others', never of what was committed
// while nobody watched; a commit reported twice (commit hook and NOTIFY) is read once; a failed read
// is retried without losing what it was to tell.
import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { EventHub } from "../../src/subscriptions/eventHub.ts";
import type { AccessChangePage, EventSource } from "../../src/subscriptions/eventHub.ts";
import { userActor } from "../support/actors.ts";

/** A log of model events and access events (each access event as the keys it concerns). */
class MemoryLog implements EventSource {
  readonly events: RecordedEvent[] = [];
  readonly access: { position: number; keys: string[] }[] = [];
  position = 0;
  modelReads = 0;
  accessReads = 0;
  failNextAccessRead = false;

  appendModelEvent() {
    this.position++;
    this.events.push({
      type: "RegisteredModelTagSet",
      data: { key: "k", value: "v" },
      streamId: "m1",
      revision: this.position,
      position: this.position,
      schemaVersion: 1,
      actor: userActor("alice"),
      occurredAt: new Date(0),
      correlationId: null,
      causationId: null,
    });
    return this.position;
  }

  appendAccessEvent(...keys: string[]) {
    this.position++;
    this.access.push({ position: this.position, keys });
    return this.position;
  }

  readAfter(position: number, limit: number) {
    this.modelReads++;
    return Promise.resolve(this.events.filter((e) => e.position > position).slice(0, limit));
  }

  lastPosition() {
    return Promise.resolve(this.position);
  }

  readAccessChanges(position: number, limit: number): Promise<AccessChangePage> {
    this.accessReads++;
    if (this.failNextAccessRead) {
      this.failNextAccessRead = false;
      return Promise.reject(new Error("the database is unreachable"));
    }
    const page = this.access.filter((c) => c.position > position).slice(0, limit);
    return Promise.resolve({
      keys: page.flatMap((c) => c.keys),
      rows: page.length,
      last: page.at(-1)?.position ?? position,
    });
  }
}

async function started(log: MemoryLog, options = {}) {
  const hub = new EventHub(log, { retryDelayMs: 10, ...options });
  await hub.start();
  return hub;
}

/** A watcher that counts how often it was told. */
function counter() {
  const told = { count: 0 };
  return { told, changed: () => void told.count++ };
}

describe("EventHub access watching", () => {
  it("tells a watcher once per read however many of its access events the read finds, and nobody else", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const alice = counter();
    const bob = counter();
    hub.watchAccess(["principal:alice", "token:a1"], alice.changed);
    hub.watchAccess(["principal:bob"], bob.changed);
    log.appendAccessEvent("principal:alice");
    log.appendAccessEvent("token:a1");
    log.appendModelEvent();
    const last = log.appendAccessEvent("principal:alice", "principal:carol");
    hub.wake(last);
    await hub.settled();
    expect(alice.told.count).toBe(1);
    expect(bob.told.count).toBe(0);

    hub.wake(log.appendAccessEvent("principal:bob"));
    await hub.settled();
    expect(alice.told.count).toBe(1);
    expect(bob.told.count).toBe(1);
    await hub.close();
  });

  it("reads a commit once when both the commit hook and NOTIFY report it", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    const position = log.appendAccessEvent("principal:alice");
    hub.wake(position);
    await hub.settled();
    hub.wake(position);
    await hub.settled();
    expect(log.accessReads).toBe(1);
    expect(log.modelReads).toBe(1);
    expect(alice.told.count).toBe(1);
    await hub.close();
  });

  it("reads no access events for a commit of model events only, unless a waker did not say what it committed", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    log.appendModelEvent();
    hub.wake(log.appendModelEvent());
    await hub.settled();
    expect(log.modelReads).toBe(1);
    expect(log.accessReads).toBe(0);

    // A model event after an access event nobody reported (its NOTIFY lost): the gap is read.
    log.appendAccessEvent("principal:alice");
    hub.wake(log.appendModelEvent());
    await hub.settled();
    expect(log.accessReads).toBe(1);
    expect(alice.told.count).toBe(1);

    // The safety poll (no position) reads access events too.
    log.appendAccessEvent("principal:alice");
    hub.wake();
    await hub.settled();
    expect(log.accessReads).toBe(2);
    expect(alice.told.count).toBe(2);
    await hub.close();
  });

  it("reads an access event committed between two model events its read found, though the wake-up reported only the first", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    // The hook reports the first model event; before the hub reads, an access event and a second
    // model event commit (their wake-ups arrive after the read, as NOTIFY does on PostgreSQL).
    const first = log.appendModelEvent();
    const access = log.appendAccessEvent("principal:alice");
    const second = log.appendModelEvent();
    hub.wake(first);
    await hub.settled();
    hub.wake(access);
    hub.wake(second);
    await hub.settled();
    expect(alice.told.count).toBe(1);
    await hub.close();
  });

  it("moves its access generation when access events went by, read or passed over, and not for model events alone", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    // Nobody watches: a commit may hold access events nobody reads.
    const before = hub.accessGeneration;
    hub.wake(log.appendAccessEvent("principal:alice"));
    await hub.settled();
    expect(hub.accessGeneration).not.toBe(before);

    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    const watched = hub.accessGeneration;
    hub.wake(log.appendModelEvent());
    await hub.settled();
    expect(hub.accessGeneration).toBe(watched);
    // Another principal's change is read: a watcher starting meanwhile could have missed its own.
    hub.wake(log.appendAccessEvent("principal:bob"));
    await hub.settled();
    expect(hub.accessGeneration).not.toBe(watched);
    expect(alice.told.count).toBe(0);
    await hub.close();
  });

  it("reads no access events while nobody watches, and a later watcher is not told of them", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const subscription = hub.subscribe({ select: () => [] });
    hub.wake(log.appendAccessEvent("principal:alice"));
    await hub.settled();
    expect(log.accessReads).toBe(0);

    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    log.appendAccessEvent("principal:bob");
    hub.wake(log.appendModelEvent());
    await hub.settled();
    expect(log.accessReads).toBe(1);
    expect(alice.told.count).toBe(0);
    await subscription.return!();
    await hub.close();
  });

  it("stops telling a watcher once it stops watching", async () => {
    const log = new MemoryLog();
    const hub = await started(log);
    const alice = counter();
    const stop = hub.watchAccess(["principal:alice", "team:t1"], alice.changed);
    expect(hub.accessWatcherCount).toBe(1);
    stop();
    stop();
    expect(hub.accessWatcherCount).toBe(0);
    hub.wake(log.appendAccessEvent("principal:alice", "team:t1"));
    await hub.settled();
    expect(alice.told.count).toBe(0);
    await hub.close();
  });

  it("retries a failed read of access events and then tells the watcher", async () => {
    const log = new MemoryLog();
    const errors: unknown[] = [];
    const hub = await started(log, { onError: (error: unknown) => errors.push(error) });
    const alice = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    log.failNextAccessRead = true;
    hub.wake(log.appendAccessEvent("principal:alice"));
    await hub.settled();
    expect(errors).toHaveLength(1);
    expect(alice.told.count).toBe(0);
    const deadline = Date.now() + 2_000;
    while (alice.told.count === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(alice.told.count).toBe(1);
    await hub.close();
  });

  it("reads access events past a page in several pages and tells each watcher once", async () => {
    const log = new MemoryLog();
    const hub = await started(log, { batchSize: 3 });
    const alice = counter();
    const bob = counter();
    hub.watchAccess(["principal:alice"], alice.changed);
    hub.watchAccess(["principal:bob"], bob.changed);
    for (let i = 0; i < 7; i++) log.appendAccessEvent(i % 2 === 0 ? "principal:alice" : "principal:bob");
    hub.wake(log.position);
    await hub.settled();
    expect(log.accessReads).toBe(3);
    expect(alice.told.count).toBe(1);
    expect(bob.told.count).toBe(1);
    await hub.close();
  });
});
