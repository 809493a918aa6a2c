// Requests that find their address's failed-authentication bucket empty only because units are
// reserved by checks still in flight: they wait for one to come back (valid credentials) or to be
// kept (a failure), then try again, so many valid credentials sent at once from one address (a CI
// job, a fleet behind one NAT address) are all served; the burst still bounds the checks at once,
// failures still end the waiting at once, and the wait is bounded in time, per address and in total,
// ends when the client disconnects, and leaves no timer or listener behind.
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Authentication, HeaderSource } from "../../src/access/authenticate.ts";
import { principal } from "../support/principalDirectory.ts";
import { authFailureLimiter, authenticateWithinFailureLimit } from "../../src/http/rateLimit.ts";
import type { LimitedAuthentication, RateLimiter, ReservationWaits } from "../../src/http/rateLimit.ts";

const GOOD = "Bearer rgo_good";
const ADDRESS = "203.0.113.7";

const headers = (authorization: string): HeaderSource => ({
  get: (name) => (name.toLowerCase() === "authorization" ? authorization : null),
});

/** A request as the limiter sees it; with a socket that can close when `socket` is given. */
const request = (remoteAddress = ADDRESS, socket?: EventEmitter & { destroyed?: boolean }) =>
  ({
    socket: socket ? Object.assign(socket, { remoteAddress }) : { remoteAddress },
  }) as unknown as IncomingMessage;

/**
 * An authenticator that answers nothing until the test says so (a check waiting on the database or
 * the issuer's keys), then accepts GOOD and refuses anything else; it counts the checks it was asked
 * for and the most it had running at once.
 */
function slowAuthenticator() {
  const pending: (() => void)[] = [];
  const slow = {
    pending,
    checked: 0,
    running: 0,
    mostAtOnce: 0,
    authenticate: (h: HeaderSource): Promise<Authentication> => {
      slow.checked++;
      slow.running++;
      slow.mostAtOnce = Math.max(slow.mostAtOnce, slow.running);
      const answer: Authentication =
        h.get("authorization") === GOOD
          ? {
              ok: true,
              caller: {
                principal: principal("alice"),
                credential: { kind: "token", tokenId: "t", scopes: [] },
              },
            }
          : { ok: false, reason: "invalid", message: "the credentials are not accepted" };
      return new Promise((resolve) =>
        pending.push(() => {
          slow.running--;
          resolve(answer);
        }),
      );
    },
    answerAll() {
      for (const answer of pending.splice(0)) answer();
    },
  };
  return slow;
}

/** Lets every promise chain that can move on do so (no timer runs: the timers are fake). */
async function settle() {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A limiter on a clock that stays at 0 unless moved, and attempts against it. */
function setup(burst: number, waits?: Partial<ReservationWaits>) {
  let now = 0;
  const failures: RateLimiter = authFailureLimiter({ perSecond: 1, burst }, () => now, waits);
  const slow = slowAuthenticator();
  const attempt = (authorization: string, req = request()) =>
    authenticateWithinFailureLimit(failures, req, headers(authorization), slow.authenticate);
  return { failures, slow, attempt, advance: (ms: number) => (now += ms) };
}

/** Starts `n` attempts at once and follows each one's answer as it comes. */
function atOnce(n: number, start: (i: number) => Promise<Authentication | LimitedAuthentication>) {
  const answers: (Authentication | LimitedAuthentication | undefined)[] = Array.from({ length: n });
  const all = Promise.all(
    Array.from({ length: n }, (_, i) => start(i).then((answer) => (answers[i] = answer))),
  );
  return { answers, all, answered: () => answers.filter((a) => a !== undefined).length };
}

const limited = (answers: readonly (Authentication | LimitedAuthentication | undefined)[]) =>
  answers.filter((a) => a !== undefined && !a.ok && a.reason === "limited").length;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  // Whatever a test did, no wait is left with a timer running. Real timers first, even when that
  // fails: the unit tier's files share a worker.
  const timers = vi.getTimerCount();
  vi.useRealTimers();
  expect(timers).toBe(0);
});

describe("valid credentials past the burst, sent at once", () => {
  it("serves 3 × the burst of slow valid checks from one address, none refused, never more than the burst checked at once", async () => {
    const burst = 4;
    const { slow, failures, attempt } = setup(burst);
    const flood = atOnce(burst * 3, () => attempt(GOOD));
    expect(slow.pending).toHaveLength(burst);
    // Each round of answers gives its units back, and as many waiting requests take them.
    for (let round = 0; round < 3; round++) {
      expect(slow.running).toBe(burst);
      slow.answerAll();
      await settle();
    }
    await flood.all;
    expect(flood.answers.every((a) => a?.ok === true)).toBe(true);
    expect(slow.checked).toBe(burst * 3);
    expect(slow.mostAtOnce).toBe(burst);
    // No time passed: they waited for each other, not for a timer.
    expect(vi.getTimerCount()).toBe(0);
    // Every unit is back: the address may still fail `burst` times, then it is refused.
    const bad = atOnce(burst + 1, () => attempt("Bearer rgo_bad"));
    slow.answerAll();
    await bad.all;
    expect(limited(bad.answers)).toBe(1);
    expect(failures.tracked).toBe(1);
  });

  it("serves the default burst's worth three times over (60 → 180 valid requests at once)", async () => {
    const { slow, attempt } = setup(60);
    const flood = atOnce(180, () => attempt(GOOD));
    while (flood.answered() < 180) {
      expect(slow.running).toBeLessThanOrEqual(60);
      slow.answerAll();
      await settle();
    }
    expect(limited(flood.answers)).toBe(0);
    expect(slow.mostAtOnce).toBe(60);
  });

  it("checks no more than the burst at once however long the checks take: the clock refills only what is not in flight", async () => {
    const burst = 3;
    const { slow, attempt, advance } = setup(burst);
    const first = atOnce(burst, () => attempt(GOOD));
    expect(slow.running).toBe(burst);
    // Longer than the refill of the whole burst: the units are still out, not back in the bucket.
    advance(60_000);
    const more = atOnce(burst, () => attempt(GOOD));
    await settle();
    expect(slow.running).toBe(burst);
    slow.answerAll();
    await first.all;
    await settle();
    // The first checks gave their units back: the waiting ones go in, still `burst` at most.
    expect(slow.running).toBe(burst);
    slow.answerAll();
    await more.all;
    expect(slow.mostAtOnce).toBe(burst);
    expect(limited([...first.answers, ...more.answers])).toBe(0);
  });

  it("lets a waiting request in as soon as a check in flight is accepted, first come first served", async () => {
    const { slow, attempt } = setup(2);
    const order: number[] = [];
    const flood = atOnce(5, (i) =>
      attempt(GOOD).then((a) => {
        order.push(i);
        return a;
      }),
    );
    expect(slow.pending).toHaveLength(2);
    // One check answers: exactly one waiting request (the first) is checked in its place.
    slow.pending.shift()?.();
    await settle();
    expect(order).toEqual([0]);
    expect(slow.checked).toBe(3);
    slow.answerAll();
    await settle();
    slow.answerAll();
    await settle();
    slow.answerAll();
    await flood.all;
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("wrong credentials past the burst, sent at once", () => {
  it("checks at most the burst of 3 × the burst, and refuses the rest as soon as those checks fail", async () => {
    const burst = 4;
    const { slow, attempt } = setup(burst);
    const flood = atOnce(burst * 3, (i) => attempt(`Bearer rgo_bad${i}`));
    expect(slow.pending).toHaveLength(burst);
    slow.answerAll();
    await settle();
    // Answered without any timer running: a failure ends the waiting at once.
    expect(flood.answered()).toBe(burst * 3);
    expect(slow.checked).toBe(burst);
    expect(limited(flood.answers)).toBe(burst * 2);
    expect(flood.answers.find((a) => a !== undefined && !a.ok && a.reason === "limited")).toMatchObject({
      refusal: { retryAfterSeconds: 1, message: expect.stringMatching(/retry after 1 s$/) },
    });
  });

  it("checks 60 of 5,000 guesses sent at once, refusing the ones that cannot wait on arrival", async () => {
    const { slow, attempt } = setup(60);
    const flood = atOnce(5_000, (i) => attempt(`Bearer rgo_bad${i}`));
    await settle();
    // Past the waiting bound per address, refused before anything was answered.
    expect(flood.answered()).toBe(5_000 - 60 - 1_000);
    slow.answerAll();
    await flood.all;
    expect(slow.checked).toBe(60);
    expect(limited(flood.answers)).toBe(5_000 - 60);
  });

  it("refuses the waiting requests once the checks in flight have all failed, and serves them while one may still come back", async () => {
    const { slow, attempt } = setup(2);
    const bad = attempt("Bearer rgo_bad");
    const good = attempt(GOOD);
    const waiting = atOnce(3, () => attempt(GOOD));
    expect(slow.pending).toHaveLength(2);
    // The failure is kept; the valid check may still give its unit back: all three go on waiting.
    slow.pending.shift()?.();
    await settle();
    expect(await bad).toMatchObject({ reason: "invalid" });
    expect(waiting.answered()).toBe(0);
    // It does: the first waiting request takes it; the others wait on that one.
    slow.pending.shift()?.();
    await settle();
    expect((await good).ok).toBe(true);
    expect(slow.pending).toHaveLength(1);
    slow.answerAll();
    await settle();
    slow.answerAll();
    await settle();
    slow.answerAll();
    await waiting.all;
    expect(waiting.answers.every((a) => a?.ok === true)).toBe(true);
  });

  it("refuses at once, without waiting, when the bucket is empty of failures (nothing in flight)", async () => {
    const { slow, attempt } = setup(1);
    const first = attempt("Bearer rgo_bad");
    slow.answerAll();
    expect(await first).toMatchObject({ reason: "invalid" });
    const refused = attempt(GOOD);
    await settle();
    expect(await refused).toMatchObject({ reason: "limited", refusal: { retryAfterSeconds: 1 } });
    expect(slow.checked).toBe(1);
  });
});

describe("the bounds of waiting", () => {
  it("refuses a waiting request with Retry-After once it has waited 2 s, and lets it in if a unit came back meanwhile", async () => {
    const { slow, attempt, advance } = setup(1);
    const stuck = attempt(GOOD);
    let answer: Authentication | LimitedAuthentication | undefined;
    void attempt(GOOD).then((a) => (answer = a));
    await settle();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(answer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toEqual({
      ok: false,
      reason: "limited",
      refusal: {
        retryAfterSeconds: 1,
        message: expect.stringMatching(
          /^Too many failed authentications from this address: .*retry after 1 s$/,
        ),
      },
    });
    expect(slow.checked).toBe(1);
    // A second on the limiter's clock brings nothing back while the unit is in flight: one check at most.
    const late = attempt(GOOD);
    await settle();
    advance(1_000);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await late).ok).toBe(false);
    expect(slow.checked).toBe(1);
    slow.answerAll();
    expect((await stuck).ok).toBe(true);
  });

  it("lets a waiting request in at its bound when the clock brought back a unit a failure had used", async () => {
    const { slow, attempt, advance } = setup(2);
    const failed = attempt("Bearer rgo_bad");
    slow.answerAll();
    expect((await failed).ok).toBe(false);
    // One unit used by the failure, one in flight: the next waits for either.
    const stuck = attempt(GOOD);
    const next = attempt(GOOD);
    await settle();
    expect(slow.checked).toBe(2);
    advance(1_000);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(slow.checked).toBe(3);
    slow.answerAll();
    expect((await stuck).ok).toBe(true);
    expect((await next).ok).toBe(true);
  });

  it("holds at most `perClient` waiting requests per address and `total` in all; the others are refused on arrival", async () => {
    const { slow, attempt } = setup(1, { perClient: 2, total: 3 });
    const a = atOnce(4, () => attempt(GOOD, request("203.0.113.1")));
    const b = atOnce(3, () => attempt(GOOD, request("203.0.113.2")));
    await settle();
    // a: one checked, two waiting, one refused; b: one checked, one waiting (the third), one refused.
    expect(slow.checked).toBe(2);
    expect(limited(a.answers)).toBe(1);
    expect(limited(b.answers)).toBe(1);
    expect(vi.getTimerCount()).toBe(3);
    while (a.answered() + b.answered() < 7) {
      slow.answerAll();
      await settle();
    }
    expect(a.answers.filter((x) => x?.ok)).toHaveLength(3);
    expect(b.answers.filter((x) => x?.ok)).toHaveLength(2);
  });

  it("ends the wait of a client that disconnects, removing its listener, and does not wait for one already gone", async () => {
    const { slow, attempt } = setup(1);
    const stuck = attempt(GOOD);
    const socket = new EventEmitter();
    let answer: Authentication | LimitedAuthentication | undefined;
    void attempt(GOOD, request(ADDRESS, socket)).then((a) => (answer = a));
    await settle();
    expect(socket.listenerCount("close")).toBe(1);
    socket.emit("close");
    await settle();
    expect(answer).toMatchObject({ reason: "limited" });
    expect(socket.listenerCount("close")).toBe(0);
    expect(vi.getTimerCount()).toBe(0);

    const gone = Object.assign(new EventEmitter(), { destroyed: true });
    const refused = attempt(GOOD, request(ADDRESS, gone));
    await settle();
    expect(await refused).toMatchObject({ reason: "limited" });
    expect(gone.listenerCount("close")).toBe(0);
    expect(vi.getTimerCount()).toBe(0);

    slow.answerAll();
    expect((await stuck).ok).toBe(true);
    expect(slow.checked).toBe(1);
  });

  it("has the waiting requests of one connection (pipelined) share one disconnect listener, and no leak warning", async () => {
    const { slow, attempt } = setup(1);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const socket = Object.assign(new EventEmitter(), { destroyed: false });
      const req = request(ADDRESS, socket);
      const held = attempt(GOOD, req);
      const pipelined = atOnce(15, () => attempt(GOOD, req));
      await settle();
      expect(socket.listenerCount("close")).toBe(1);
      for (let i = 0; i < 16; i++) {
        slow.answerAll();
        await settle();
      }
      await Promise.all([held, pipelined.all]);
      expect(pipelined.answers.every((a) => a?.ok === true)).toBe(true);
      expect(socket.listenerCount("close")).toBe(0);
      // Node emits its warnings on the next tick.
      await new Promise((resolve) => process.nextTick(resolve));
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("removes the disconnect listener of a request that waited and was let in", async () => {
    const { slow, attempt } = setup(1);
    const first = attempt(GOOD);
    const socket = new EventEmitter();
    const second = attempt(GOOD, request(ADDRESS, socket));
    await settle();
    slow.answerAll();
    await settle();
    expect(socket.listenerCount("close")).toBe(0);
    slow.answerAll();
    expect((await first).ok).toBe(true);
    expect((await second).ok).toBe(true);
  });

  it("does not wait, nor set a timer, when the limit is off", async () => {
    let now = 0;
    const failures = authFailureLimiter({ perSecond: 0, burst: 1 }, () => now++);
    const slow = slowAuthenticator();
    const flood = atOnce(10, () =>
      authenticateWithinFailureLimit(failures, request(), headers(GOOD), slow.authenticate),
    );
    expect(slow.pending).toHaveLength(10);
    expect(vi.getTimerCount()).toBe(0);
    slow.answerAll();
    await flood.all;
  });
});
