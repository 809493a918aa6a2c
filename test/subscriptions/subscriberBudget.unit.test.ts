// A connection's byte budget: it adds the transport's unsent bytes to what the hub queued, and
// cuts a connection whose dropped subscriber did not take its notice, or did not send it, in time.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decodeCursor } from "../../src/subscriptions/cursor.ts";
import { SubscriberBudget } from "../../src/subscriptions/subscriberBudget.ts";

function transport() {
  const cuts: string[] = [];
  const t = {
    unsent: 0,
    cuts,
    bufferedBytes: () => t.unsent,
    cut: (reason: string) => void cuts.push(reason),
  };
  return t;
}

describe("SubscriberBudget", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("counts queued notifications plus the transport's unsent bytes", () => {
    const t = transport();
    const budget = new SubscriberBudget(t, { maxQueuedBytes: 100, cutAfterMs: 1_000 });
    budget.queued(60);
    t.unsent = 30;
    expect(budget.usedBytes()).toBe(90);
    budget.queued(-60);
    expect(budget.usedBytes()).toBe(30);
  });

  it("cuts the connection, naming the cursor, when the notice is not taken in time", () => {
    const t = transport();
    const budget = new SubscriberBudget(t, { maxQueuedBytes: 100, cutAfterMs: 1_000 });
    budget.dropped({ position: 42 });
    vi.advanceTimersByTime(999);
    expect(t.cuts).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.cuts).toHaveLength(1);
    const [, cursor] = /^SUBSCRIBER_TOO_SLOW: resume after (\S+)$/.exec(t.cuts[0]!)!;
    expect(decodeCursor(cursor!)).toEqual({ position: 42 });
    expect(Buffer.byteLength(t.cuts[0]!)).toBeLessThanOrEqual(123); // fits a WebSocket close reason
  });

  it("cuts the connection when the notice was taken but the connection has not sent it", () => {
    const t = transport();
    const budget = new SubscriberBudget(t, { maxQueuedBytes: 100, cutAfterMs: 1_000 });
    const taken = budget.dropped({ position: 7 });
    taken();
    t.unsent = 500; // e.g. Yoga's SSE stream took it, but the client reads nothing
    vi.advanceTimersByTime(1_000);
    expect(t.cuts).toHaveLength(1);
  });

  it("leaves the connection alone when every notice was taken and sent", () => {
    const t = transport();
    const budget = new SubscriberBudget(t, { maxQueuedBytes: 100, cutAfterMs: 1_000 });
    const first = budget.dropped({ position: 1 });
    const second = budget.dropped({ position: 2 });
    first();
    second();
    vi.advanceTimersByTime(5_000);
    expect(t.cuts).toEqual([]);
  });

  it("gives a generic reason when several subscriptions of the connection were dropped", () => {
    const t = transport();
    const budget = new SubscriberBudget(t, { maxQueuedBytes: 100, cutAfterMs: 1_000 });
    budget.dropped({ position: 1 });
    budget.dropped({ position: 2 });
    vi.advanceTimersByTime(1_000);
    expect(t.cuts).toEqual(["SUBSCRIBER_TOO_SLOW: resume each subscription after its last cursor"]);
  });
});
