// The rate limiter's buckets: what a request takes, what an operation's items are charged after
// the fact, what is given back, how fast a bucket refills, the longest wait a refusal asks for, and
// how many buckets the server keeps.
import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_SECONDS, MAX_TRACKED_CLIENTS, RateLimiter } from "../../src/http/rateLimit.ts";

/** A limiter on a clock the test moves (ms). */
function limiter(perSecond: number, burst: number) {
  let now = 0;
  const limits = new RateLimiter({ perSecond, burst }, () => now);
  return { limits, advance: (ms: number) => (now += ms) };
}

describe("RateLimiter", () => {
  it("lets a client spend its burst, then refuses with the seconds until a unit is back", () => {
    const { limits, advance } = limiter(2, 3);
    expect([limits.take("a"), limits.take("a"), limits.take("a")]).toEqual([null, null, null]);
    const refused = limits.take("a");
    expect(refused?.retryAfterSeconds).toBe(1);
    expect(refused?.message).toMatch(/retry after 1 s/);
    // Half a second regains one unit at 2 a second.
    advance(499);
    expect(limits.take("a")).not.toBeNull();
    advance(1);
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("keeps clients apart", () => {
    const { limits } = limiter(1, 1);
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    expect(limits.take("b")).toBeNull();
  });

  it("charges items after the fact below zero, down to minus the burst, and makes the client wait for them", () => {
    const { limits, advance } = limiter(10, 100);
    expect(limits.take("a")).toBeNull();
    const charge = limits.chargeTo("a");
    expect(charge(60)).toBeNull();
    // 100 - 1 - 120 = -21: the charge that empties the bucket says so, 22 units (2.2 s) short.
    expect(charge(60)?.retryAfterSeconds).toBe(3);
    expect(limits.take("a")?.retryAfterSeconds).toBe(3);
    expect(charge(1_000_000)?.retryAfterSeconds).toBe(11); // floored at -100
    expect(limits.take("a")?.retryAfterSeconds).toBe(11);
    advance(10_100);
    expect(limits.take("a")).toBeNull();
  });

  it("stops requests admitted together once their charges have spent the bucket", () => {
    const { limits } = limiter(1, 1_000);
    const charges = Array.from({ length: 100 }, () => {
      expect(limits.take("a")).toBeNull();
      return limits.chargeTo("a");
    });
    // 900 left for 100 requests of 100 items each: nine are paid for, the rest are refused.
    const paid = charges.filter((charge) => charge(100) === null);
    expect(paid).toHaveLength(9);
  });

  it("keeps what a long request was charged: the time it took does not refill it away", () => {
    const { limits, advance } = limiter(1_000, 200_000);
    expect(limits.take("a")).toBeNull();
    const charge = limits.chargeTo("a");
    advance(100_000); // the request runs 100 s, its bucket full again meanwhile
    expect(charge(150_000)).toBeNull();
    expect(limits.take("a", 60_000)).not.toBeNull();
  });

  it("refills no further than the burst", () => {
    const { limits, advance } = limiter(1_000, 5);
    advance(3_600_000);
    for (let i = 0; i < 5; i++) expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("ignores charges that are not positive numbers", () => {
    const { limits } = limiter(1, 2);
    const charge = limits.chargeTo("a");
    expect([charge(-50), charge(Number.NaN), charge(0)]).toEqual([null, null, null]);
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("does nothing when off (0 per second)", () => {
    const { limits } = limiter(0, 1);
    expect(limits.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect(limits.take("a")).toBeNull();
    expect(limits.chargeTo("a")(1_000)).toBeNull();
    expect(limits.take("a")).toBeNull();
    expect(limits.tracked).toBe(0);
  });

  it("forgets buckets that have refilled, at the next sweep", () => {
    const { limits, advance } = limiter(1, 100);
    limits.take("a");
    limits.take("b");
    limits.chargeTo("b")(500);
    expect(limits.tracked).toBe(2);
    advance(60_000);
    limits.take("c");
    // a refilled within a second and is forgotten; b still owes (-100 + 60) and is kept; c is new.
    expect(limits.tracked).toBe(2);
    expect(limits.take("b")).not.toBeNull();
  });

  it("puts clients past the tracked maximum in one shared bucket, sweeping at most once a second", () => {
    const { limits, advance } = limiter(0.001, 1);
    for (let i = 0; i < MAX_TRACKED_CLIENTS; i++) expect(limits.take(`c${i}`)).toBeNull();
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS);
    // Every bucket is spent, so a sweep frees nothing: the newcomers share one bucket.
    advance(1_000);
    expect(limits.take("new-1")).toBeNull();
    expect(limits.take("new-2")).not.toBeNull();
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS + 1);
    // Charges of a shared client land on the shared bucket, not a bucket of its own.
    limits.chargeTo("new-3")(5);
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS + 1);
  });

  it("takes back what was given back, no further than the burst", () => {
    const { limits } = limiter(1, 3);
    for (let i = 0; i < 3; i++) expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    limits.giveBack("a");
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    // Given back more than was taken: the bucket holds its burst, not more.
    limits.giveBack("a", 10);
    for (let i = 0; i < 3; i++) expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("gives back nothing when off, or to a key that holds no bucket (keeping none for it)", () => {
    const off = limiter(0, 1).limits;
    off.giveBack("a");
    expect(off.tracked).toBe(0);
    const { limits, advance } = limiter(1, 2);
    limits.giveBack("a");
    expect(limits.tracked).toBe(0);
    // "b" refilled and was forgotten at a sweep: giving back to it makes no bucket.
    limits.take("b");
    advance(60_000);
    limits.take("c");
    expect(limits.tracked).toBe(1);
    limits.giveBack("b");
    expect(limits.tracked).toBe(1);
  });

  it("gives back to the shared bucket what a client past the tracked maximum took from it", () => {
    const { limits, advance } = limiter(0.001, 1);
    for (let i = 0; i < MAX_TRACKED_CLIENTS; i++) limits.take(`c${i}`);
    advance(1_000);
    expect(limits.take("new-1")).toBeNull();
    expect(limits.take("new-2")).not.toBeNull();
    limits.giveBack("new-1");
    expect(limits.take("new-2")).toBeNull();
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS + 1);
  });

  it("asks for a day at most, however slowly the bucket refills", () => {
    const { limits } = limiter(1e-30, 1);
    expect(limits.take("a")).toBeNull();
    const refused = limits.take("a");
    expect(refused?.retryAfterSeconds).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(MAX_RETRY_AFTER_SECONDS).toBe(86_400);
    expect(refused?.message).toMatch(/retry after 86400 s$/);
    expect(limits.chargeTo("a")(1)?.retryAfterSeconds).toBe(86_400);
    // A bucket that refills within a day still says exactly when.
    const hourly = limiter(1 / 3_600, 1).limits;
    hourly.take("a");
    expect(hourly.take("a")?.retryAfterSeconds).toBe(3_600);
  });

  it("keeps the cost-unit message of the request rate limit", () => {
    const { limits } = limiter(2, 1);
    limits.take("a");
    expect(limits.take("a")?.message).toMatch(
      /^Too many requests: this client has used its budget of 1 cost units/,
    );
  });

  it("refuses limits that make no sense", () => {
    expect(() => new RateLimiter({ perSecond: -1, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: Number.NaN, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
