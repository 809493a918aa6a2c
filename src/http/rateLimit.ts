// How much work one client may ask of the server over time. The other bounds are per request (the
// item bounds, the response bound, body sizes and deadlines) or on what a client holds open
// (upload and subscription slots); none of them stops a client from repeating a costly request in
// a loop: an 80-byte query whose lists resolve 100,000 items costs about a second of CPU, and a
// script can send it as fast as the answers come back.
//
// Each client has a token bucket of cost units. A request costs one unit when it arrives (refused
// with 429 and `Retry-After` when the bucket holds less than that), and a GraphQL operation is then
// charged one unit more for every object its lists return (the runtime item bound's count), as they
// resolve (an MLflow answer for the objects it lists, an audit export for its events), so a client paying for large answers runs dry long before one sending small ones. A
// query or mutation whose charge empties the bucket stops there (RATE_LIMITED on the lists resolved
// after): requests admitted together cannot spend more than the bucket held between them, however
// many there are. A subscription's events are charged the same way but never stopped (delivery is
// not lost); what they spend, the client's next requests lack.
//
// A client is its principal when it authenticated with credentials (a token or an SSO access
// token, from any address: more tokens or addresses do not buy more budget), otherwise (AUTH=local)
// its address as ./clientSlots.ts counts it. Buckets are per server instance.
//
// Authentication runs before the client is known, so the requests it refuses cannot be charged to
// a principal: those are counted per address, with a limiter of their own (see
// authenticateWithinFailureLimit below), so a script cannot try tokens or passwords as fast as the
// server answers.
import type { IncomingMessage } from "node:http";
import { bringsCredentials } from "../access/authenticate.ts";
import type { Authentication, HeaderSource } from "../access/authenticate.ts";
import type { Caller } from "../access/principal.ts";
import { holdConnection } from "./connectionClosed.ts";
import type { ClosingSocket } from "./connectionClosed.ts";
import { clientAddress } from "./clientSlots.ts";

export interface RateLimits {
  /** Cost units a client's bucket regains per second; 0 turns rate limiting off. */
  readonly perSecond: number;
  /** What the bucket holds when full: the burst a client may spend at once. */
  readonly burst: number;
}

/**
 * 2,000 units a second: a script registering versions or a UI paging through versions never
 * waits; a bucket of 200,000: two queries at the runtime item bound (100,000 items each) empty
 * it, and the client may then send one such query every 50 s.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = { perSecond: 2_000, burst: 200_000 };

/**
 * Failed authentications an address may make: 60 at once, then one a second. A person who mistypes
 * a token, or a script left running with a revoked one, never waits long; trying tokens from one
 * address is held to 86,400 guesses a day.
 */
export const DEFAULT_AUTH_FAILURE_LIMITS: RateLimits = { perSecond: 1, burst: 60 };

/** The two limits, as metrics name them: a client's cost units, and its address's failed authentications. */
export type RateLimitName = "requests" | "auth_failures";

/** Buckets kept at most; past it new clients share one bucket until a sweep frees room. */
export const MAX_TRACKED_CLIENTS = 100_000;

/** How often buckets that have refilled (and so say nothing) are forgotten. */
const SWEEP_INTERVAL_MS = 60_000;

const SHARED_KEY = "overflow";

/** The longest wait a refusal asks for (a day), however slowly its bucket refills. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

const NO_CHARGE: RateCharge = () => null;

/** Why a request was refused: how long the client should wait, and a sentence for it. */
export interface RateRefusal {
  readonly retryAfterSeconds: number;
  readonly message: string;
}

/**
 * Charges cost units to the client a request or operation belongs to: null while the bucket still
 * holds something, a refusal once the charge has emptied it.
 */
export type RateCharge = (units: number) => RateRefusal | null;

/** The sentence a refusal carries, for a client that must wait `retryAfterSeconds`. */
export type RefusalMessage = (retryAfterSeconds: number, limits: RateLimits) => string;

const costUnitsMessage: RefusalMessage = (retryAfterSeconds, { burst, perSecond }) =>
  `Too many requests: this client has used its budget of ${burst} cost units (${perSecond} regained per second; a request costs 1, and each object it returns 1 more: a GraphQL operation's lists, an MLflow answer's, an audit export's events); retry after ${retryAfterSeconds} s`;

/**
 * Units taken ahead of work that may turn out not to cost them: `giveBack` returns them to the
 * bucket they were taken from, `keep` says the work cost them. One of the two must be called when
 * the work ends (the first call counts): until then the units are in flight, and requests that find
 * the bucket short wait for them (see reserveWaiting). Or the refusal, when the bucket held too few.
 */
export type Reservation =
  | { readonly ok: true; readonly giveBack: () => void; readonly keep: () => void }
  | { readonly ok: false; readonly refusal: RateRefusal };

const NOTHING_RESERVED: Reservation = { ok: true, giveBack: () => undefined, keep: () => undefined };

/** How long, and how many, requests may wait for units reserved by work still in flight. */
export interface ReservationWaits {
  /** The longest a request waits (ms) before it is refused like any request past the limit. */
  readonly maxWaitMs: number;
  /** Requests waiting at once on one client's bucket; more are refused on arrival. */
  readonly perClient: number;
  /** Requests waiting at once on all buckets together; more are refused on arrival. */
  readonly total: number;
}

/**
 * 2 s: a check of an API token takes about 0.1 ms, so units in flight come back long before; an
 * SSO access token's may wait up to 5 s for the issuer's keys, and then a request refused after 2 s
 * is told to retry. 1,000 per address (a CI job or a fleet behind one NAT address) and 10,000 in
 * all: each costs a timer and a closure (the request itself is held by its connection anyway).
 */
export const DEFAULT_RESERVATION_WAITS: ReservationWaits = {
  maxWaitMs: 2_000,
  perClient: 1_000,
  total: 10_000,
};

interface Waiter {
  readonly units: number;
  /** Ends the wait with `reservation` (granted or refused); it leaves the queue, timer cleared. */
  readonly end: (reservation: Reservation) => void;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, the limiter's clock). */
  at: number;
  /** Units reserved from this bucket by work still in flight (neither given back nor kept). */
  reserved: number;
  /** Requests waiting for those units, first come first served; null when none waits. */
  waiters: Set<Waiter> | null;
}

/** What take and reserve accept: a NaN would answer a refusal to wait NaN s, a negative add units. */
function checkUnits(units: number): void {
  if (!Number.isFinite(units) || units <= 0) throw new RangeError("units must be a finite number above 0");
}

export class RateLimiter {
  readonly limits: RateLimits;
  readonly #now: () => number;
  readonly #message: RefusalMessage;
  readonly #waits: ReservationWaits;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweep: number;
  /** Requests waiting in reserveWaiting, on all buckets. */
  #waiting = 0;

  constructor(
    limits: RateLimits,
    now: () => number = () => performance.now(),
    message: RefusalMessage = costUnitsMessage,
    waits: ReservationWaits = DEFAULT_RESERVATION_WAITS,
  ) {
    if (!Number.isFinite(limits.perSecond) || limits.perSecond < 0)
      throw new RangeError("perSecond must be a finite number, 0 or more");
    if (!Number.isFinite(limits.burst) || limits.burst < 1) throw new RangeError("burst must be at least 1");
    if (!(waits.maxWaitMs >= 0 && waits.maxWaitMs <= 60_000))
      throw new RangeError("maxWaitMs must be between 0 and 60,000");
    if (!(waits.perClient >= 0 && waits.total >= 0))
      throw new RangeError("perClient and total must be 0 or more");
    this.limits = limits;
    this.#now = now;
    this.#message = message;
    this.#waits = waits;
    this.#lastSweep = now();
  }

  get enabled(): boolean {
    return this.limits.perSecond > 0;
  }

  /** Buckets held now (full ones are forgotten at the next sweep). */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Requests waiting in reserveWaiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Takes `units` from `key`'s bucket, or refuses when it holds less than that (nothing taken).
   * Always null when rate limiting is off.
   */
  take(key: string, units = 1): RateRefusal | null {
    checkUnits(units);
    if (!this.enabled) return null;
    const bucket = this.#bucket(key);
    if (bucket.tokens >= units) {
      bucket.tokens -= units;
      return null;
    }
    return this.#refusal(units - bucket.tokens);
  }

  /**
   * Takes `units` from `key`'s bucket ahead of work that may turn out not to cost them, or refuses
   * when it holds less than that (nothing taken). The reservation gives them back to the bucket it
   * drew on, not to whatever bucket `key` has by then: the shared one when every slot was held,
   * even if `key` has one of its own now (a sweep keeps a bucket while units of it are reserved).
   * Given back (or kept) at most once, and never past the burst; while they are reserved the
   * bucket refills only up to the burst less them. Always granted, and
   * giving back nothing, when rate limiting is off.
   */
  reserve(key: string, units = 1): Reservation {
    checkUnits(units);
    if (!this.enabled) return NOTHING_RESERVED;
    return this.#reserveFrom(this.#bucket(key), units);
  }

  /**
   * Like reserve, but a request that finds `key`'s bucket short only because units of it are
   * reserved by work still in flight waits for them: each one given back goes to the first request
   * waiting; once those in flight are all kept (failures) and the bucket is still short, every
   * request waiting is refused at once. Refused, as reserve refuses, without waiting when the units
   * in flight could not make up the shortfall, when `perClient` requests already wait on the bucket
   * or `total` on all of them, or when `signal` is aborted (the client has gone); and when it has
   * waited `maxWaitMs`, unless the bucket has refilled by then. Every wait ends, its timer cleared.
   */
  reserveWaiting(key: string, units = 1, signal?: AbortSignal): Promise<Reservation> {
    checkUnits(units);
    if (!this.enabled) return Promise.resolve(NOTHING_RESERVED);
    const bucket = this.#bucket(key);
    const reservation = this.#reserveFrom(bucket, units);
    if (
      reservation.ok ||
      bucket.tokens + bucket.reserved < units ||
      (bucket.waiters?.size ?? 0) >= this.#waits.perClient ||
      this.#waiting >= this.#waits.total ||
      signal?.aborted === true
    )
      return Promise.resolve(reservation);
    const waiters = (bucket.waiters ??= new Set());
    return new Promise((resolve) => {
      const gone = () => waiter.end(this.#refusalFor(bucket, units));
      const timer = setTimeout(() => {
        // A last try: what the clock brought back meanwhile (to the first waiting).
        this.#refill(bucket, this.#now());
        this.#serve(bucket);
        if (waiters.has(waiter)) waiter.end(this.#refusalFor(bucket, units));
      }, this.#waits.maxWaitMs);
      const waiter: Waiter = {
        units,
        end: (result) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", gone);
          waiters.delete(waiter);
          if (waiters.size === 0 && bucket.waiters === waiters) bucket.waiters = null;
          this.#waiting--;
          resolve(result);
        },
      };
      waiters.add(waiter);
      this.#waiting++;
      signal?.addEventListener("abort", gone, { once: true });
    });
  }

  #reserveFrom(bucket: Bucket, units: number): Reservation {
    // Units the clock brought back go to the requests already waiting first.
    this.#serve(bucket);
    if (bucket.tokens < units) return this.#refusalFor(bucket, units);
    return this.#grant(bucket, units);
  }

  /** Takes `units` the bucket holds, as a reservation to be given back or kept. */
  #grant(bucket: Bucket, units: number): Reservation {
    bucket.tokens -= units;
    bucket.reserved += units;
    let owed = units;
    const settle = (back: boolean) => {
      if (owed === 0) return;
      this.#refill(bucket, this.#now());
      bucket.reserved -= owed;
      // Never past what the units still reserved leave of the burst.
      if (back) bucket.tokens = Math.min(this.limits.burst - bucket.reserved, bucket.tokens + owed);
      owed = 0;
      if (bucket.waiters !== null) this.#settled(bucket);
    };
    return { ok: true, giveBack: () => settle(true), keep: () => settle(false) };
  }

  /** Grants waiting requests, first come first served, what the (brought up to date) bucket holds. */
  #serve(bucket: Bucket): void {
    if (bucket.waiters === null) return;
    // A waiter's `end` deletes it from the set, which iteration allows.
    for (const waiter of bucket.waiters) {
      if (bucket.tokens < waiter.units) return;
      waiter.end(this.#grant(bucket, waiter.units));
    }
  }

  /**
   * After a reservation ended: its units go to the waiting requests, and those that no units still
   * in flight can serve any more (the rest were kept: failures) are refused now, not at their bound.
   */
  #settled(bucket: Bucket): void {
    this.#serve(bucket);
    if (bucket.waiters === null) return;
    for (const waiter of bucket.waiters)
      if (bucket.tokens + bucket.reserved < waiter.units) waiter.end(this.#refusalFor(bucket, waiter.units));
  }

  #refusalFor(bucket: Bucket, units: number): Reservation {
    return { ok: false, refusal: this.#refusal(units - bucket.tokens) };
  }

  /** A refusal for a client `short` units short of what it asked for. */
  #refusal(short: number): RateRefusal {
    // A tiny rate (1e-30 a second) would otherwise ask for a wait of 6.1e+31 s.
    const retryAfterSeconds = Math.min(
      MAX_RETRY_AFTER_SECONDS,
      Math.max(1, Math.ceil(short / this.limits.perSecond)),
    );
    return { retryAfterSeconds, message: this.#message(retryAfterSeconds, this.limits) };
  }

  /**
   * Takes units from `key`'s bucket after the fact, for the code that counts an operation's items:
   * it may go below zero (down to minus its capacity), and past zero the charge answers a refusal.
   * Brought up to date first, so that a long request's charges are not erased by the time it took.
   */
  chargeTo(key: string): RateCharge {
    if (!this.enabled) return NO_CHARGE;
    const floor = -this.limits.burst;
    return (units) => {
      if (!(units > 0)) return null;
      const bucket = this.#bucket(key);
      bucket.tokens = Math.max(floor, bucket.tokens - units);
      return bucket.tokens >= 0 ? null : this.#refusal(1 - bucket.tokens);
    };
  }

  #bucket(key: string): Bucket {
    const now = this.#now();
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) this.#sweep(now);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      // A sweep walks every bucket: when full, at most once a second, or a flood of new
      // addresses would make every request pay for it.
      if (this.#buckets.size >= MAX_TRACKED_CLIENTS && now - this.#lastSweep >= 1_000) this.#sweep(now);
      if (this.#buckets.size >= MAX_TRACKED_CLIENTS) key = SHARED_KEY;
      bucket = this.#buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: this.limits.burst, at: now, reserved: 0, waiters: null };
        this.#buckets.set(key, bucket);
      }
    }
    this.#refill(bucket, now);
    return bucket;
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that steps back (it should not: performance.now is monotonic) refills nothing.
    const elapsed = Math.max(0, now - bucket.at);
    // Units reserved by work still in flight count as held: a bucket never holds more than the burst
    // with them (or checks slower than the refill would let more than `burst` run at once).
    bucket.tokens = Math.min(
      this.limits.burst - bucket.reserved,
      bucket.tokens + (elapsed * this.limits.perSecond) / 1000,
    );
    bucket.at = now;
  }

  /** Forgets full buckets: a client that comes back gets a full one, which is what they held. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      // One with units in flight or requests waiting stays theirs: the units come back to it, and
      // the requests wait on it and are served from it.
      if (bucket.tokens >= this.limits.burst && bucket.reserved === 0 && bucket.waiters === null)
        this.#buckets.delete(key);
    }
  }
}

/**
 * The bucket a request draws on: its principal when it brought credentials, its address when it
 * acts as the local administrator (AUTH=local: everyone on the machine is that one principal).
 */
export function rateLimitKey(caller: Caller, req: IncomingMessage): string {
  return caller.credential.kind === "local"
    ? `address:${clientAddress(req)}`
    : `principal:${caller.principal.id}`;
}

const charges = new WeakMap<IncomingMessage, RateCharge>();

/** The charge for what a request's GraphQL operation returns, kept once the request was let in. */
export function rememberRateCharge(req: IncomingMessage, charge: RateCharge): void {
  charges.set(req, charge);
}

/** The request's charge; undefined when rate limiting is off (or the request was not authenticated). */
export function rateChargeOf(req: IncomingMessage): RateCharge | undefined {
  return charges.get(req);
}

/**
 * The limiter of failed authentications per address (AUTH_FAILURES_PER_SECOND, AUTH_FAILURE_BURST),
 * its waits for units in flight bounded by `waits` (DEFAULT_RESERVATION_WAITS otherwise).
 */
export function authFailureLimiter(
  limits: RateLimits,
  now?: () => number,
  waits?: Partial<ReservationWaits>,
): RateLimiter {
  return new RateLimiter(
    limits,
    now,
    (retryAfterSeconds, { burst, perSecond }) =>
      `Too many failed authentications from this address: it may fail ${burst} times, then ${perSecond} more per second, and have at most ${burst} credentials checked at once; these credentials were not checked, retry after ${retryAfterSeconds} s`,
    { ...DEFAULT_RESERVATION_WAITS, ...waits },
  );
}

/** An authentication refused before its credentials were checked: the address has no failures left. */
export interface LimitedAuthentication {
  readonly ok: false;
  readonly reason: "limited";
  readonly refusal: RateRefusal;
}

/**
 * Authenticates `headers` unless the request's address has no failed authentications left. Only a
 * request that brings credentials (an Authorization header, or a WebSocket's connection parameter)
 * is held or counted: one without them (the local administrator, or a 401 asking for credentials)
 * guesses nothing and costs no verification.
 *
 * A unit is reserved before the credentials are checked and given back (to the bucket it came
 * from, whatever the address holds by then) when they were accepted, or when their refusal
 * answered no guess (Authentication's `notAGuess`; an authenticator that threw answered none
 * either); otherwise it is kept. Charging after the check instead let every request that arrived
 * while the address still had a unit left be checked: 5,000 sent at once were all tried. Taken
 * first, at most the bucket's units are checked at once from one address.
 *
 * A request that finds the bucket empty while units of it are only reserved by checks in flight
 * waits for one of them (RateLimiter.reserveWaiting: at most 2 s, and so many per address and in
 * all), instead of being refused: a CI job or a fleet behind one NAT address sending more valid
 * credentials at once than the burst is served, a little later. Once those checks have failed, the
 * waiting requests are refused at once; a client that disconnects stops waiting.
 */
export async function authenticateWithinFailureLimit(
  failures: RateLimiter,
  req: IncomingMessage,
  headers: HeaderSource,
  authenticate: (headers: HeaderSource) => Promise<Authentication>,
): Promise<Authentication | LimitedAuthentication> {
  if (!failures.enabled || !bringsCredentials(headers.get("authorization"))) return authenticate(headers);
  const key = `address:${clientAddress(req)}`;
  // Reserved at once when a unit is there (the common case: no promise, no listener).
  let reserved = failures.reserve(key);
  if (!reserved.ok) reserved = await reserveWhileConnected(failures, key, req);
  if (!reserved.ok) return { ok: false, reason: "limited", refusal: reserved.refusal };
  let authentication: Authentication;
  try {
    authentication = await authenticate(headers);
  } catch (error) {
    reserved.giveBack();
    throw error;
  }
  if (authentication.ok || authentication.notAGuess === true) reserved.giveBack();
  else reserved.keep();
  return authentication;
}

/**
 * Waits for a unit of `key`'s bucket, ending the wait when the request's connection closes (one
 * listener for all the requests of a connection waiting at once: holdConnection).
 */
async function reserveWhileConnected(failures: RateLimiter, key: string, req: IncomingMessage) {
  // Typed as what may be missing: a request built by hand (a test's) may have no such socket.
  const socket = req.socket as Partial<ClosingSocket> | null | undefined;
  if (socket?.once === undefined || socket.off === undefined) return failures.reserveWaiting(key);
  const connection = holdConnection(socket as ClosingSocket);
  try {
    return await failures.reserveWaiting(key, 1, connection.closed);
  } finally {
    connection.release();
  }
}
