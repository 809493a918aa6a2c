// The rate limiter's buckets: what a request takes, what an operation's items are charged after
// the fact, what a reservation gives back (and to which bucket), how fast a bucket refills, the
// longest wait a refusal asks for, and how many buckets the server keeps.
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

  it("reserves units, or refuses with nothing taken when the bucket holds less", () => {
    const { limits } = limiter(1, 3);
    expect(limits.reserve("a", 2)).toMatchObject({ ok: true });
    expect(limits.reserve("a", 2)).toMatchObject({ ok: false, refusal: { retryAfterSeconds: 1 } });
    // The refusal took nothing: the unit left is still there.
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("gives a reservation back to its bucket, no further than the burst", () => {
    const { limits, advance } = limiter(1, 3);
    const reserved = limits.reserve("a");
    expect(limits.take("a", 2)).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    if (reserved.ok) reserved.giveBack();
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    // The bucket refilled while the work ran: what is given back fills it to its burst, not more.
    const refilled = limits.reserve("a", 2);
    advance(3_000);
    if (refilled.ok) refilled.giveBack();
    expect(limits.take("a", 3)).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("gives a reservation back once, however often it is asked to", () => {
    const { limits } = limiter(1, 3);
    expect(limits.take("a")).toBeNull();
    const reserved = limits.reserve("a");
    expect(limits.take("a")).toBeNull();
    expect(reserved.ok).toBe(true);
    if (!reserved.ok) return;
    reserved.giveBack();
    reserved.giveBack();
    reserved.giveBack();
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
  });

  it("reserves nothing when off, and keeps no bucket", () => {
    const { limits } = limiter(0, 1);
    for (let i = 0; i < 3; i++) {
      const reserved = limits.reserve("a");
      expect(reserved.ok).toBe(true);
      if (reserved.ok) reserved.giveBack();
    }
    expect(limits.tracked).toBe(0);
  });

  it("refuses to take or reserve a number of units that is not positive and finite", () => {
    const { limits } = limiter(1, 3);
    for (const units of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => limits.reserve("a", units)).toThrow(RangeError);
      // A NaN answered a refusal to wait NaN seconds; a negative number added units past the burst.
      expect(() => limits.take("a", units)).toThrow(RangeError);
    }
    expect(limits.tracked).toBe(0);
  });

  it("gives back to the shared bucket what a client past the tracked maximum reserved from it", () => {
    const { limits, advance } = limiter(0.001, 1);
    for (let i = 0; i < MAX_TRACKED_CLIENTS; i++) limits.take(`c${i}`);
    advance(1_000);
    const reserved = limits.reserve("new-1");
    expect(reserved.ok).toBe(true);
    expect(limits.take("new-2")).not.toBeNull();
    if (reserved.ok) reserved.giveBack();
    expect(limits.take("new-2")).toBeNull();
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS + 1);
  });

  it("gives a reservation drawn from the shared bucket back to it, even once the client has a bucket of its own", () => {
    const { limits, advance } = limiter(1, 100);
    // Every slot held: two clients spent a unit (full again within a second), the rest all 100.
    limits.take("c0");
    limits.take("c1");
    for (let i = 2; i < MAX_TRACKED_CLIENTS; i++) limits.take(`c${i}`, 100);
    const reserved = limits.reserve("new-1", 50);
    expect(reserved.ok).toBe(true);
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS + 1);
    // A second on, a sweep forgets c0 and c1: new-1 gets a bucket of its own (99 left), the shared
    // one holds 51.
    advance(1_000);
    expect(limits.take("new-1")).toBeNull();
    expect(limits.tracked).toBe(MAX_TRACKED_CLIENTS);
    if (reserved.ok) reserved.giveBack();
    // The 50 went back where they came from: the shared bucket is full, new-1's own is not.
    expect(limits.take("new-2", 100)).toBeNull();
    expect(limits.take("new-1", 100)).not.toBeNull();
  });

  it("keeps a bucket with units reserved through a sweep and gives them back to it, never to another, never past the burst", () => {
    const { limits, advance } = limiter(1, 2);
    const reserved = limits.reserve("a");
    expect(reserved.ok).toBe(true);
    // The work takes a minute: the clock refills a's bucket but to the burst less the unit out, and
    // the sweep (b's take) keeps it.
    advance(60_000);
    expect(limits.take("b")).toBeNull();
    expect(limits.tracked).toBe(2);
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();
    if (reserved.ok) reserved.giveBack();
    // The unit came back to a's bucket: one more, then none.
    expect(limits.take("a")).toBeNull();
    expect(limits.take("a")).not.toBeNull();

    // While every slot is held: the shared bucket gains nothing from a reservation of its own bucket.
    const full = limiter(0.001, 1);
    const late = full.limits.reserve("a");
    full.advance(1_000_000);
    // Every slot but a's taken; the sweeps find them all refilled but keep a's (its unit is out).
    for (let i = 0; i < MAX_TRACKED_CLIENTS - 1; i++) full.limits.take(`c${i}`);
    expect(full.limits.tracked).toBe(MAX_TRACKED_CLIENTS);
    expect(full.limits.take("new-1")).toBeNull(); // the shared bucket's one unit
    if (late.ok) late.giveBack();
    expect(full.limits.take("new-2")).not.toBeNull();
    expect(full.limits.take("a")).toBeNull();
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
    // Every answer that lists objects charges them, not only GraphQL's (src/mlflow, src/audit).
    expect(limits.take("a")?.message).toContain(
      "each object it returns 1 more: a GraphQL operation's lists, an MLflow answer's, an audit export's events",
    );
  });

  it("refuses limits that make no sense", () => {
    expect(() => new RateLimiter({ perSecond: -1, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: Number.NaN, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
