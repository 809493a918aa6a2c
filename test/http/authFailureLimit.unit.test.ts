// Failed authentications per address, without a server: what a refused authentication takes, that
// an address with none left is refused before its credentials are checked, what is never held or
// counted (valid credentials, none at all), how the bucket refills, and that 0 turns it off.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import type { Authentication, HeaderSource } from "../../src/access/authenticate.ts";
import { principal } from "../support/principalDirectory.ts";
import { RateLimiter, authFailureLimiter, authenticateWithinFailureLimit } from "../../src/http/rateLimit.ts";

const GOOD = "Bearer rgo_good";

/**
 * An authenticator that accepts GOOD (and no credentials, as the local administrator), refuses
 * everything else, and counts what it checked.
 */
function countingAuthenticator() {
  const checked: (string | null)[] = [];
  const authenticate = (headers: HeaderSource): Promise<Authentication> => {
    const authorization = headers.get("authorization");
    checked.push(authorization);
    // A blank header is none, as parseAuthorization reads it.
    if (authorization === null || authorization.trim() === "")
      return Promise.resolve({
        ok: true,
        caller: { principal: principal("admin"), credential: { kind: "local" } },
      });
    return Promise.resolve(
      authorization === GOOD
        ? {
            ok: true,
            caller: {
              principal: principal("alice"),
              credential: { kind: "token", tokenId: "t", scopes: [] },
            },
          }
        : { ok: false, reason: "invalid", message: "the credentials are not accepted" },
    );
  };
  return { checked, authenticate };
}

const request = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;

const headers = (authorization: string | null): HeaderSource => ({
  get: (name) => (name.toLowerCase() === "authorization" ? authorization : null),
});

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
          "Too many failed authentications from this address: it may fail 3 times, then 1 more per second; these credentials were not checked, retry after 1 s",
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

  it("charges failures checked together, below zero: a concurrent flood waits for all of them", async () => {
    const { checked, attempt, advance } = setup(1, 3);
    // All let in while the address had failures left, then all refused.
    const flood = await Promise.all(Array.from({ length: 5 }, () => attempt("Bearer rgo_bad")));
    expect(flood.every((answer) => !answer.ok && answer.reason === "invalid")).toBe(true);
    expect(checked).toHaveLength(5);
    // 3 - 5 = -2: three seconds before one unit is back.
    expect(await attempt(GOOD)).toMatchObject({ refusal: { retryAfterSeconds: 3 } });
    advance(2_999);
    expect(await attempt(GOOD)).toMatchObject({ reason: "limited" });
    advance(1);
    expect((await attempt(GOOD)).ok).toBe(true);
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
      Promise.resolve({ ok: false, reason: "invalid", message: "keys unavailable", uncheckable: true });
    for (let i = 0; i < 10; i++)
      expect(
        await authenticateWithinFailureLimit(
          failures,
          request("203.0.113.9"),
          headers("Bearer a.b.c"),
          unreachable,
        ),
      ).toMatchObject({ reason: "invalid" });
    const { authenticate } = countingAuthenticator();
    expect(
      (await authenticateWithinFailureLimit(failures, request("203.0.113.9"), headers(GOOD), authenticate))
        .ok,
    ).toBe(true);
  });

  it("is off at 0 a second: every credential is checked, none refused unchecked", async () => {
    const { checked, attempt } = setup(0, 1);
    for (let i = 0; i < 50; i++) expect(await attempt("Bearer rgo_bad")).toMatchObject({ reason: "invalid" });
    expect((await attempt(GOOD)).ok).toBe(true);
    expect(checked).toHaveLength(51);
  });
});

describe("RateLimiter.refusal", () => {
  it("says whether take would be refused, taking nothing and keeping no bucket for a client it does not hold", () => {
    let now = 0;
    const limits = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
    expect(limits.refusal("a")).toBeNull();
    expect(limits.tracked).toBe(0);
    expect(limits.take("a", 2)).toBeNull();
    expect(limits.refusal("a")?.retryAfterSeconds).toBe(1);
    expect(limits.refusal("a", 2)?.retryAfterSeconds).toBe(2);
    // Asking twice took nothing.
    now += 1_000;
    expect(limits.refusal("a")).toBeNull();
    expect(limits.take("a")).toBeNull();
    expect(limits.refusal("a")).not.toBeNull();
  });

  it("keeps the cost-unit message of the request rate limit", () => {
    const limits = new RateLimiter({ perSecond: 2, burst: 1 }, () => 0);
    limits.take("a");
    expect(limits.refusal("a")?.message).toMatch(
      /^Too many requests: this client has used its budget of 1 cost units/,
    );
  });
});
