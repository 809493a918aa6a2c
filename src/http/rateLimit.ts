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
  `Too many requests: this client has used its budget of ${burst} cost units (${perSecond} regained per second; a request costs 1, and each object a GraphQL operation's lists return 1 more); retry after ${retryAfterSeconds} s`;

/**
 * Units taken ahead of work that may turn out not to cost them: `giveBack` returns them to the
 * bucket they were taken from. Or the refusal, when the bucket held too few.
 */
export type Reservation =
  | { readonly ok: true; readonly giveBack: () => void }
  | { readonly ok: false; readonly refusal: RateRefusal };

const NOTHING_RESERVED: Reservation = { ok: true, giveBack: () => undefined };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, the limiter's clock). */
  at: number;
}

/** What take and reserve accept: a NaN would answer a refusal to wait NaN s, a negative add units. */
function checkUnits(units: number): void {
  if (!Number.isFinite(units) || units <= 0) throw new RangeError("units must be a finite number above 0");
}

export class RateLimiter {
  readonly limits: RateLimits;
  readonly #now: () => number;
  readonly #message: RefusalMessage;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweep: number;

  constructor(
    limits: RateLimits,
    now: () => number = () => performance.now(),
    message: RefusalMessage = costUnitsMessage,
  ) {
    if (!Number.isFinite(limits.perSecond) || limits.perSecond < 0)
      throw new RangeError("perSecond must be a finite number, 0 or more");
    if (!Number.isFinite(limits.burst) || limits.burst < 1) throw new RangeError("burst must be at least 1");
    this.limits = limits;
    this.#now = now;
    this.#message = message;
    this.#lastSweep = now();
  }

  get enabled(): boolean {
    return this.limits.perSecond > 0;
  }

  /** Buckets held now (full ones are forgotten at the next sweep). */
  get tracked(): number {
    return this.#buckets.size;
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
   * even if `key` has one of its own now; a forgotten one (a sweep found it full while the work
   * ran) is topped up, which is harmless, rather than crediting the new bucket of `key` or the
   * shared one. Given back at most once, and never past the burst. Always granted, and giving back
   * nothing, when rate limiting is off.
   */
  reserve(key: string, units = 1): Reservation {
    checkUnits(units);
    if (!this.enabled) return NOTHING_RESERVED;
    const bucket = this.#bucket(key);
    if (bucket.tokens < units) return { ok: false, refusal: this.#refusal(units - bucket.tokens) };
    bucket.tokens -= units;
    let owed = units;
    return {
      ok: true,
      giveBack: () => {
        if (owed === 0) return;
        this.#refill(bucket, this.#now());
        bucket.tokens = Math.min(this.limits.burst, bucket.tokens + owed);
        owed = 0;
      },
    };
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
        bucket = { tokens: this.limits.burst, at: now };
        this.#buckets.set(key, bucket);
      }
    }
    this.#refill(bucket, now);
    return bucket;
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that steps back (it should not: performance.now is monotonic) refills nothing.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (elapsed * this.limits.perSecond) / 1000);
    bucket.at = now;
  }

  /** Forgets full buckets: a client that comes back gets a full one, which is what they held. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.limits.burst) this.#buckets.delete(key);
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

/** The limiter of failed authentications per address (AUTH_FAILURES_PER_SECOND, AUTH_FAILURE_BURST). */
export function authFailureLimiter(limits: RateLimits, now?: () => number): RateLimiter {
  return new RateLimiter(
    limits,
    now,
    (retryAfterSeconds, { burst, perSecond }) =>
      `Too many failed authentications from this address: it may fail ${burst} times, then ${perSecond} more per second, and have at most ${burst} credentials checked at once; these credentials were not checked, retry after ${retryAfterSeconds} s`,
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
 * answered no guess (Authentication's `notAGuess`; an authenticator that
 * threw answered none either). Charging after the check instead let every request that arrived
 * while the address still had a unit left be checked: 5,000 sent at once were all tried. Taken
 * first, at most the bucket's units are checked at once from one address; the excess is refused
 * like any other request past the limit (an API token's check takes about 0.1 ms, so only floods
 * have that many in flight).
 */
export async function authenticateWithinFailureLimit(
  failures: RateLimiter,
  req: IncomingMessage,
  headers: HeaderSource,
  authenticate: (headers: HeaderSource) => Promise<Authentication>,
): Promise<Authentication | LimitedAuthentication> {
  if (!failures.enabled || !bringsCredentials(headers.get("authorization"))) return authenticate(headers);
  const key = `address:${clientAddress(req)}`;
  const reserved = failures.reserve(key);
  if (!reserved.ok) return { ok: false, reason: "limited", refusal: reserved.refusal };
  let authentication: Authentication;
  try {
    authentication = await authenticate(headers);
  } catch (error) {
    reserved.giveBack();
    throw error;
  }
  if (authentication.ok || authentication.notAGuess === true) reserved.giveBack();
  return authentication;
}
