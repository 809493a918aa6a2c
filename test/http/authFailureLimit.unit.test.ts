// Failed authentications per address, without a server: what a refused authentication takes, that
// an address with none left is refused before its credentials are checked, that a concurrent flood
// gets no more checks than the bucket holds (valid ones wait for units to come back), what is never
// held or counted (valid credentials, none at all, refusals that answer no guess), how the bucket
// refills, which bucket a unit goes back to, and that 0 turns it off.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { bringsCredentials, createAuthenticator } from "../../src/access/authenticate.ts";
import type { Authentication, HeaderSource } from "../../src/access/authenticate.ts";
import type { Principal, SsoClaims } from "../../src/access/principal.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";
import {
  MAX_RETRY_AFTER_SECONDS,
  authFailureLimiter,
  authenticateWithinFailureLimit,
} from "../../src/http/rateLimit.ts";
import type { RateLimiter } from "../../src/http/rateLimit.ts";

const GOOD = "Bearer rgo_good";

/**
 * What the test authenticators answer: GOOD is alice's token, no credentials the local
 * administrator (a blank header is none, as parseAuthorization reads it), anything else refused.
 */
function answerFor(authorization: string | null): Authentication {
  if (!bringsCredentials(authorization))
    return { ok: true, caller: { principal: principal("admin"), credential: { kind: "local" } } };
  return authorization === GOOD
    ? {
        ok: true,
        caller: { principal: principal("alice"), credential: { kind: "token", tokenId: "t", scopes: [] } },
      }
    : { ok: false, reason: "invalid", message: "the credentials are not accepted" };
}

/** An authenticator that answers as answerFor does, and counts what it checked. */
function countingAuthenticator() {
  const checked: (string | null)[] = [];
  const authenticate = (headers: HeaderSource): Promise<Authentication> => {
    const authorization = headers.get("authorization");
    checked.push(authorization);
    return Promise.resolve(answerFor(authorization));
  };
  return { checked, authenticate };
}

/**
 * An authenticator that answers nothing until the test says so (as a check waiting on the database
 * or the issuer's keys would), then as answerFor does.
 */
function slowAuthenticator() {
  const pending: (() => void)[] = [];
  const slow = {
    pending,
    checked: 0,
    authenticate: (headers: HeaderSource): Promise<Authentication> => {
      slow.checked++;
      const answer = answerFor(headers.get("authorization"));
      return new Promise((resolve) => pending.push(() => resolve(answer)));
    },
    answerAll() {
      for (const answer of pending.splice(0)) answer();
    },
  };
  return slow;
}

const request = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;

const headers = (authorization: string | null): HeaderSource => ({
  get: (name) => (name.toLowerCase() === "authorization" ? authorization : null),
});

/** One attempt from `address` with `authorization`, checked by `authenticate` within `failures`. */
const checkAt = (
  failures: RateLimiter,
  authorization: string,
  authenticate: (headers: HeaderSource) => Promise<Authentication>,
  address = "203.0.113.9",
) => authenticateWithinFailureLimit(failures, request(address), headers(authorization), authenticate);

/** A limiter of failed authentications on a clock the test moves (ms), and one address's attempts. */
function setup(perSecond: number, burst: number) {
  let now = 0;
  const failures = authFailureLimiter({ perSecond, burst }, () => now);
  const { checked, authenticate } = countingAuthenticator();
  const attempt = (authorization: string | null, address = "203.0.113.7") =>
    authenticateWithinFailureLimit(failures, request(address), headers(authorization), authenticate);
  return { failures, checked, attempt, advance: (ms: number) => (now += ms) };
}

describe("failed authentications per address", () => {
  it("refuses credentials from an address that has failed its burst, before checking them, saying why and when", async () => {
    const { checked, attempt } = setup(1, 3);
    for (let i = 0; i < 3; i++)
      expect(await attempt(`Bearer rgo_bad${i}`)).toMatchObject({ reason: "invalid" });
    expect(checked).toHaveLength(3);
    const refused = await attempt(GOOD);
    expect(refused).toEqual({
      ok: false,
      reason: "limited",
      refusal: {
        retryAfterSeconds: 1,
        message:
          "Too many failed authentications from this address: it may fail 3 times, then 1 more per second, and have at most 3 credentials checked at once; these credentials were not checked, retry after 1 s",
      },
    });
    // The valid token was not looked at.
    expect(checked).toHaveLength(3);
  });

  it("takes nothing for valid credentials, however many", async () => {
    const { attempt } = setup(1, 3);
    for (let i = 0; i < 100; i++) expect((await attempt(GOOD)).ok).toBe(true);
    for (let i = 0; i < 3; i++) expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
  });

  it("neither holds nor counts a request without credentials (the local administrator; a 401 asking for them)", async () => {
    const { checked, attempt } = setup(1, 2);
    for (let i = 0; i < 10; i++) expect((await attempt(null)).ok).toBe(true);
    expect(await attempt("  ")).toMatchObject({ ok: true });
    await attempt("Bearer rgo_bad");
    await attempt("Bearer rgo_bad");
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
    const before = checked.length;
    expect((await attempt(null)).ok).toBe(true);
    expect(checked).toHaveLength(before + 1);
  });

  it("counts a malformed Authorization header and a Basic password like any refused credentials", async () => {
    const { attempt } = setup(1, 2);
    await attempt("Digest nonsense");
    await attempt(`Basic ${Buffer.from("user:rgo_wrong").toString("base64")}`);
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
  });

  it("refills at its rate: an address that has run dry may fail again once a unit is back", async () => {
    const { attempt, advance } = setup(0.5, 2);
    await attempt("Bearer rgo_bad");
    await attempt("Bearer rgo_bad");
    expect(await attempt(GOOD)).toMatchObject({ refusal: { retryAfterSeconds: 2 } });
    advance(1_999);
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
    advance(1);
    expect((await attempt(GOOD)).ok).toBe(true);
    expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
  });

  it("checks no more credentials at once than the address has units: a concurrent flood gets the burst, then the refill", async () => {
    const { failures, checked, attempt, advance } = setup(1, 3);
    const slow = slowAuthenticator();
    const attemptSlowly = (authorization: string) =>
      authenticateWithinFailureLimit(
        failures,
        request("203.0.113.7"),
        headers(authorization),
        slow.authenticate,
      );
    const flood = Array.from({ length: 500 }, (_, i) => attemptSlowly(`Bearer rgo_bad${i}`));
    // Every one has been let in or refused before any check has answered.
    expect(slow.pending).toHaveLength(3);
    slow.answerAll();
    const answers = await Promise.all(flood);
    expect(answers.filter((a) => !a.ok && a.reason === "invalid")).toHaveLength(3);
    expect(answers.filter((a) => !a.ok && a.reason === "limited")).toHaveLength(497);
    // Empty: nothing is checked until a unit is back.
    expect(await attempt(GOOD)).toMatchObject({ refusal: { retryAfterSeconds: 1 } });
    expect(checked).toHaveLength(0);

    // Two seconds refill two units: the next flood gets two checks.
    advance(2_000);
    const second = Array.from({ length: 500 }, (_, i) => attemptSlowly(`Bearer rgo_bad${i}`));
    expect(slow.pending).toHaveLength(2);
    slow.answerAll();
    const answers2 = await Promise.all(second);
    expect(answers2.filter((a) => !a.ok && a.reason === "invalid")).toHaveLength(2);
    expect(answers2.filter((a) => !a.ok && a.reason === "limited")).toHaveLength(498);
    expect(slow.checked).toBe(5);
  });

  it("holds valid credentials checked at once to the burst too, serving the rest as their units come back", async () => {
    const { failures, attempt } = setup(1, 3);
    const slow = slowAuthenticator();
    let answered = 0;
    const flood = Array.from({ length: 10 }, () =>
      checkAt(failures, GOOD, slow.authenticate, "203.0.113.7").finally(() => answered++),
    );
    // Three checked, seven waiting for their units (test/http/authFailureWaiting.unit.test.ts).
    while (answered < 10) {
      expect(slow.pending.length).toBeLessThanOrEqual(3);
      slow.answerAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answers = await Promise.all(flood);
    expect(answers.filter((a) => a.ok)).toHaveLength(10);
    expect(slow.checked).toBe(10);
    // All three units are back without any time passing: three failures may still be made.
    for (let i = 0; i < 3; i++) expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
  });

  it("gives an accepted check's unit back to the bucket it came from, kept for it through the sweeps", async () => {
    const { failures, attempt, advance } = setup(1, 2);
    const slow = slowAuthenticator();
    const accepted = authenticateWithinFailureLimit(
      failures,
      request("203.0.113.7"),
      headers(GOOD),
      slow.authenticate,
    );
    // The check takes a minute: the address's bucket refills to the burst less the unit out and is
    // kept at the next sweep (another address's request); a failure from the address takes from it.
    advance(60_000);
    expect((await attempt(GOOD, "203.0.113.8")).ok).toBe(true);
    expect(failures.tracked).toBe(2);
    expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    slow.answerAll();
    expect((await accepted).ok).toBe(true);
    // The unit came back beside the failure: one more, then none.
    expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "limited" });
  });

  it("gives the unit back when the authenticator throws: no guess was answered", async () => {
    const failures = authFailureLimiter({ perSecond: 1, burst: 1 }, () => 0);
    const broken = (): Promise<Authentication> => Promise.reject(new Error("database unavailable"));
    for (let i = 0; i < 3; i++)
      await expect(checkAt(failures, GOOD, broken)).rejects.toThrow("database unavailable");
    const { authenticate } = countingAuthenticator();
    expect((await checkAt(failures, GOOD, authenticate)).ok).toBe(true);
  });

  it("holds a day of floods from one address to about 86,400 checks: the burst, then one a second", async () => {
    const { failures, advance } = setup(1, 60);
    const slow = slowAuthenticator();
    // 200 bad tokens at once, every minute, for a day (the last flood at 23:59:00).
    for (let minute = 0; minute < 1_440; minute++) {
      const flood = Array.from({ length: 200 }, (_, i) =>
        authenticateWithinFailureLimit(
          failures,
          request("203.0.113.7"),
          headers(`Bearer rgo_bad${i}`),
          slow.authenticate,
        ),
      );
      slow.answerAll();
      await Promise.all(flood);
      advance(60_000);
    }
    // 60 at first, then the 60 units each minute refilled: 60 + 1,439 × 60.
    expect(slow.checked).toBe(86_400);
  });

  it("keeps addresses apart, an IPv6 /64 being one address", async () => {
    const { attempt } = setup(1, 1);
    await attempt("Bearer rgo_bad", "203.0.113.7");
    expect(await attempt(GOOD, "203.0.113.7")).toMatchObject({ reason: "limited" });
    expect((await attempt(GOOD, "203.0.113.8")).ok).toBe(true);
    await attempt("Bearer rgo_bad", "2001:db8:1:2::1");
    expect(await attempt(GOOD, "2001:db8:1:2::ffff")).toMatchObject({ reason: "limited" });
    expect((await attempt(GOOD, "2001:db8:1:3::1")).ok).toBe(true);
  });

  it("does not count credentials that could not be checked (the SSO issuer's keys unreachable)", async () => {
    const failures = authFailureLimiter({ perSecond: 1, burst: 2 }, () => 0);
    const unreachable = (): Promise<Authentication> =>
      Promise.resolve({ ok: false, reason: "invalid", message: "keys unavailable", notAGuess: true });
    for (let i = 0; i < 10; i++)
      expect(await checkAt(failures, "Bearer a.b.c", unreachable)).toMatchObject({ reason: "invalid" });
    const { authenticate } = countingAuthenticator();
    expect((await checkAt(failures, GOOD, authenticate)).ok).toBe(true);
  });

  it("is off at 0 a second: every credential is checked, none refused unchecked", async () => {
    const { checked, attempt } = setup(0, 1);
    for (let i = 0; i < 50; i++) expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect((await attempt(GOOD)).ok).toBe(true);
    expect(checked).toHaveLength(51);
  });
});

describe("refusals that answer no guess", () => {
  it("marks an SSO access token whose signature verified but whose identity the registry cannot store, and does not count it", async () => {
    const claims: SsoClaims = {
      issuer: "https://id.example",
      subject: "ada\u0000",
      email: null,
      name: null,
      groups: [],
      jti: null,
    };
    class UnstorableIdentities extends InMemoryPrincipalDirectory {
      override principalForSso(): Promise<Principal> {
        return Promise.reject(new ValidationError("subject", "is not a usable SSO identity"));
      }
    }
    const authenticator = createAuthenticator({
      mode: "required",
      directory: new UnstorableIdentities(),
      sso: { verify: () => Promise.resolve(claims) },
      clock: () => new Date(0),
      osUserName: "root",
    });
    const token = headers("Bearer aaa.bbb.ccc");
    expect(await authenticator.authenticate(token)).toEqual({
      ok: false,
      reason: "invalid",
      message: expect.stringMatching(/is not a usable SSO identity/),
      notAGuess: true,
    });
    const failures = authFailureLimiter({ perSecond: 1, burst: 1 }, () => 0);
    for (let i = 0; i < 10; i++)
      expect(
        await authenticateWithinFailureLimit(failures, request("203.0.113.9"), token, (h) =>
          authenticator.authenticate(h),
        ),
      ).toMatchObject({ reason: "invalid", notAGuess: true });
  });

  it("still counts an SSO access token the issuer did not sign", async () => {
    const authenticator = createAuthenticator({
      mode: "required",
      directory: new InMemoryPrincipalDirectory(),
      sso: { verify: () => Promise.resolve(null) },
      clock: () => new Date(0),
      osUserName: "root",
    });
    const answer = await authenticator.authenticate(headers("Bearer aaa.bbb.ccc"));
    expect(answer).toMatchObject({ ok: false, reason: "invalid" });
    expect(answer).not.toHaveProperty("notAGuess");
    const failures = authFailureLimiter({ perSecond: 1, burst: 1 }, () => 0);
    const attempt = () =>
      authenticateWithinFailureLimit(failures, request("203.0.113.9"), headers("Bearer aaa.bbb.ccc"), (h) =>
        authenticator.authenticate(h),
      );
    expect(await attempt()).toMatchObject({ reason: "invalid" });
    expect(await attempt()).toMatchObject({ reason: "limited" });
  });
});

describe("Retry-After of the failure limit", () => {
  it("asks for a day at most, however slowly the bucket refills", async () => {
    const failures = authFailureLimiter({ perSecond: 1e-30, burst: 1 }, () => 0);
    const { authenticate } = countingAuthenticator();
    const attempt = () =>
      authenticateWithinFailureLimit(
        failures,
        request("203.0.113.9"),
        headers("Bearer rgo_bad"),
        authenticate,
      );
    expect(await attempt()).toMatchObject({ reason: "invalid" });
    const refused = await attempt();
    expect(refused).toMatchObject({
      reason: "limited",
      refusal: { retryAfterSeconds: MAX_RETRY_AFTER_SECONDS },
    });
    expect(MAX_RETRY_AFTER_SECONDS).toBe(86_400);
    expect((refused as { refusal: { message: string } }).refusal.message).toMatch(/retry after 86400 s$/);
  });
});
