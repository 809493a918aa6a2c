// Failed authentications per address, end to end: refused credentials (GraphQL over HTTP, MLflow's
// Basic, a WebSocket's connection_init) spend the address's bucket; once it is empty, a request
// bringing credentials, even valid ones, is answered 429 in its route's shape with Retry-After
// before they are checked (the directory is never asked); valid tokens and requests without
// credentials (AUTH=local) spend nothing; requests sent at once get no more checks than the bucket
// holds, valid ones past it waiting for units to come back; the bucket refills on the limiter's
// clock; 0 turns it off.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MockInstance } from "vitest";
import type { Caller } from "../../src/access/principal.ts";
import { RateLimiter } from "../../src/http/rateLimit.ts";
import type { RateLimits, Reservation } from "../../src/http/rateLimit.ts";
import { eventually } from "../support/eventually.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { wsClient } from "../subscriptions/support.ts";
import { rateLimitRefusals } from "../support/prometheus.ts";

/**
 * The directory behind the server, counting the API tokens it was asked to verify; while `held` is
 * set, each verification waits for it (as one waiting on the database would).
 */
class CountingDirectory extends InMemoryPrincipalDirectory {
  verified = 0;
  held: Promise<void> | null = null;
  /** Called on each verification, before it waits. */
  onVerify: () => void = () => {};
  override async verifyToken(secret: string, now: Date): Promise<Caller | null> {
    this.verified++;
    this.onVerify();
    if (this.held !== null) await this.held;
    return super.verifyToken(secret, now);
  }

  /**
   * Holds every verification from now on: `checked` resolves once `count` have been asked for in
   * all, and `release` lets them go (and those after it unheld).
   */
  holdChecks(count: number): { readonly checked: Promise<void>; readonly release: () => void } {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    let reached!: () => void;
    const checked = new Promise<void>((resolve) => (reached = resolve));
    this.onVerify = () => {
      if (this.verified === count) reached();
    };
    return {
      checked,
      release: () => {
        this.held = null;
        release();
      },
    };
  }
}

const BAD = { authorization: "Bearer rgo_not_a_token_of_this_registry_000000" };
const basic = (token: string) => `Basic ${Buffer.from(`mlflow-user:${token}`).toString("base64")}`;
const MESSAGE = /^Too many failed authentications from this address: .*retry after 1 s$/;

describe("failed authentications per address (sqlite)", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await server?.close();
    server = undefined;
  });

  /** A server under AUTH=local whose failure limiter runs on a clock the test moves (ms). */
  async function start(limits: RateLimits) {
    let now = 0;
    const directory = new CountingDirectory();
    const { secret } = directory.issueToken(principal("alice"), { scopes: ["read", "write"] });
    server = await startTestServer("sqlite", {
      auth: { mode: "local", directory },
      authFailureLimits: { ...limits, now: () => now },
    });
    return {
      s: server,
      directory,
      good: { authorization: `Bearer ${secret}` },
      secret,
      advance: (ms: number) => (now += ms),
    };
  }

  /**
   * Resolves once `n` requests wait in a limiter the server called `reserveWaiting` on (a spy that
   * calls through): the server's own count, not a guess at how long they take to get there.
   */
  const waitingIn = (reserveWaiting: MockInstance<RateLimiter["reserveWaiting"]>, n: number, what: string) =>
    eventually(
      () => (reserveWaiting.mock.contexts as RateLimiter[]).some((l) => l.waiting === n),
      10_000,
      what,
    );

  const post = (s: TestServer, headers: Record<string, string> = {}) =>
    s.post("{ __typename }", undefined, headers);

  /** Sends `n` bad tokens, each refused 401 after its check. */
  async function fail(s: TestServer, n: number) {
    for (let i = 0; i < n; i++) expect((await post(s, BAD)).status).toBe(401);
  }

  it("refuses a valid token on /graphql with 429 after the address's failures, unchecked, and serves it once refilled", async () => {
    const { s, directory, good, advance } = await start({ perSecond: 1, burst: 3 });
    await fail(s, 3);
    expect(directory.verified).toBe(3);

    const refused = await post(s, good);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({
      errors: [
        { message: expect.stringMatching(MESSAGE), extensions: { code: "RATE_LIMITED", retryAfter: 1 } },
      ],
    });
    expect(directory.verified).toBe(3);

    // The local administrator (no credentials) is not held.
    expect((await post(s)).status).toBe(200);

    advance(1_000);
    expect((await post(s, good)).status).toBe(200);
    expect(directory.verified).toBe(4);
    // The valid token took nothing: the unit that came back is there for one more failure.
    expect((await post(s, BAD)).status).toBe(401);
    expect((await post(s, good)).status).toBe(429);
  });

  it("refuses MLflow's Basic credentials in MLflow's shape, and artifact routes in plain JSON", async () => {
    const { s, directory, secret } = await start({ perSecond: 1, burst: 2 });
    const search = `${s.url}/api/2.0/mlflow/registered-models/search`;
    for (let i = 0; i < 2; i++) {
      const wrong = await fetch(search, { headers: { authorization: basic("rgo_wrong_password") } });
      expect(wrong.status).toBe(401);
      expect((await wrong.json()).error_code).toBe("UNAUTHENTICATED");
    }
    expect(directory.verified).toBe(2);

    const mlflow = await fetch(search, { headers: { authorization: basic(secret) } });
    expect(mlflow.status).toBe(429);
    expect(mlflow.headers.get("retry-after")).toBe("1");
    expect(await mlflow.json()).toEqual({
      error_code: "REQUEST_LIMIT_EXCEEDED",
      message: expect.stringMatching(MESSAGE),
    });

    const artifact = await fetch(`${s.url}/artifacts/m/1/model.bin`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(artifact.status).toBe(429);
    expect(artifact.headers.get("retry-after")).toBe("1");
    expect(await artifact.json()).toEqual({
      error: { code: "RATE_LIMITED", retryAfter: 1, message: expect.stringMatching(MESSAGE) },
    });
    expect(directory.verified).toBe(2);
  });

  it("counts a WebSocket's refused connection_init, and closes one with a valid token with 1013 unchecked", async () => {
    const { s, directory, good, secret } = await start({ perSecond: 1, burst: 2 });
    const wsUrl = s.graphqlUrl.replace(/^http/, "ws");
    const closeOf = async (connectionParams?: Record<string, unknown>) => {
      const client = wsClient(wsUrl, connectionParams ? { connectionParams } : {});
      try {
        return await client
          .iterate({ query: "{ __typename }" })
          .next()
          .then(
            (result) => ({ result: result.value as unknown }),
            (error: unknown) => error as { code?: number; reason?: string },
          );
      } finally {
        await client.dispose();
      }
    };
    for (let i = 0; i < 2; i++)
      expect(await closeOf(BAD)).toMatchObject({ code: 4401, reason: "Unauthorized" });
    expect(directory.verified).toBe(2);

    expect(await closeOf(good)).toMatchObject({
      code: 1013,
      reason: "RATE_LIMITED: too many failed authentications from this address; retry after 1 s",
    });
    expect(directory.verified).toBe(2);
    // Over HTTP too: the WebSocket's failures were the address's.
    expect((await post(s, { authorization: `Bearer ${secret}` })).status).toBe(429);
    // A connection without credentials (the local administrator) goes in.
    expect(await closeOf()).toEqual({ result: { data: { __typename: "Query" } } });
    // Each refusal counted once, by limit and transport; the 401s are not refusals of a limit.
    expect(await rateLimitRefusals(s.url)).toEqual({
      requests: { http: 0, websocket: 0 },
      auth_failures: { http: 1, websocket: 1 },
    });
  });

  it("checks no more bad tokens sent at once than the address's failures left: the rest get 429 unchecked", async () => {
    const { s, directory, good, advance } = await start({ perSecond: 1, burst: 3 });

    /**
     * Sends `n` requests at once while the directory holds every verification, and lets them go
     * once `units` (what the bucket holds) have reached it: the others wait for those units, and
     * are refused once they turn out to be failures; one still on its way then is refused on
     * arrival. Any request checked past `units` shows in the count.
     */
    async function atOnce(n: number, headers: Record<string, string>, units: number) {
      let release!: () => void;
      directory.held = new Promise((resolve) => (release = resolve));
      const verifiedBefore = directory.verified;
      directory.onVerify = () => {
        if (directory.verified - verifiedBefore === units) release();
      };
      const statuses = await Promise.all(
        Array.from({ length: n }, () =>
          post(s, headers).then(async (response) => {
            await response.body?.cancel();
            return response.status;
          }),
        ),
      );
      directory.held = null;
      directory.onVerify = () => {};
      return {
        checked: directory.verified - verifiedBefore,
        count: (status: number) => statuses.filter((x) => x === status).length,
      };
    }

    const flood = await atOnce(50, BAD, 3);
    expect(flood.checked).toBe(3);
    expect([flood.count(401), flood.count(429)]).toEqual([3, 47]);
    // Spent: a valid token is refused unchecked until a unit is back.
    expect((await post(s, good)).status).toBe(429);

    // Two seconds give two units back: the next flood gets two checks.
    advance(2_000);
    const again = await atOnce(50, BAD, 2);
    expect(again.checked).toBe(2);
    expect([again.count(401), again.count(429)]).toEqual([2, 48]);
    expect((await post(s, good)).status).toBe(429);
  });

  it("serves 3 × the burst of valid tokens sent at once, checking no more than the burst at once: the rest wait for units to come back", async () => {
    const { s, directory, good } = await start({ perSecond: 1, burst: 3 });
    const reserveWaiting = vi.spyOn(RateLimiter.prototype, "reserveWaiting");
    const { checked, release } = directory.holdChecks(3);
    let checking = 0;
    let mostAtOnce = 0;
    const verify = directory.verifyToken.bind(directory);
    directory.verifyToken = async (secret, now) => {
      mostAtOnce = Math.max(mostAtOnce, ++checking);
      try {
        return await verify(secret, now);
      } finally {
        checking--;
      }
    };
    const flood = Promise.all(
      Array.from({ length: 9 }, () =>
        post(s, good).then(async (response) => {
          await response.body?.cancel();
          return response.status;
        }),
      ),
    );
    await checked;
    // The other six arrive and wait in the limiter (none answered 429, none checked) while the
    // three are held.
    await waitingIn(reserveWaiting, 6, "the other six requests to wait for a unit");
    expect(reserveWaiting).toHaveBeenCalledTimes(6);
    expect(directory.verified).toBe(3);
    expect(mostAtOnce).toBe(3);
    release();
    expect(await flood).toEqual(Array.from({ length: 9 }, () => 200));
    expect(directory.verified).toBe(9);
    expect(mostAtOnce).toBe(3);
    // None took anything: the three failures are all there.
    await fail(s, 3);
    expect((await post(s, good)).status).toBe(429);
  });

  it("lets a WebSocket's valid connection_init past the burst wait for a unit, and goes in", async () => {
    const { s, directory, good } = await start({ perSecond: 1, burst: 2 });
    const reserveWaiting = vi.spyOn(RateLimiter.prototype, "reserveWaiting");
    const { checked, release } = directory.holdChecks(2);
    const held = [post(s, good), post(s, good)];
    await checked;
    const client = wsClient(s.graphqlUrl.replace(/^http/, "ws"), { connectionParams: good });
    try {
      const result = client.iterate({ query: "{ __typename }" }).next();
      // Its connection_init waits in the limiter, unchecked, until one of the two gives its unit back.
      await waitingIn(reserveWaiting, 1, "the connection_init to wait for a unit");
      expect(reserveWaiting).toHaveBeenCalledTimes(1);
      expect(directory.verified).toBe(2);
      release();
      expect((await result).value).toEqual({ data: { __typename: "Query" } });
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      // Once at connection_init, once before the operation (not counted against the address).
      expect(directory.verified).toBe(4);
    } finally {
      await client.dispose();
    }
  });

  it("stops the wait of a client that disconnects: its credentials are never checked", async () => {
    const { s, directory, good } = await start({ perSecond: 1, burst: 1 });
    // The limiter's waits as the server starts them (called through): `this`, the arguments (the
    // connection's signal) and the reservation promised.
    const reserveWaiting = vi.spyOn(RateLimiter.prototype, "reserveWaiting");
    const { checked, release } = directory.holdChecks(1);
    const held = post(s, good);
    await checked;
    const gone = new AbortController();
    const abandoned = fetch(s.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...good },
      body: JSON.stringify({ query: "{ __typename }" }),
      signal: gone.signal,
    }).catch((error: unknown) => error);
    // It waits, unchecked, for the unit the held check has reserved.
    const limiter = (await eventually(
      () => (reserveWaiting.mock.contexts as RateLimiter[]).find((l) => l.waiting === 1),
      10_000,
      "the request to wait for a unit",
    ))!;
    expect(reserveWaiting).toHaveBeenCalledTimes(1);
    expect(directory.verified).toBe(1);
    const [, , closed] = reserveWaiting.mock.calls[0]!;
    const reservation = reserveWaiting.mock.results[0]!.value as Promise<Reservation>;
    let ended = false;
    void reservation.then(() => (ended = true));
    // Listening after the limiter: when the connection closes, a wait the disconnect ends has just
    // ended (its reservation's callbacks not run yet), one left to its 2 s would still be counted,
    // and one its 2 s ended before would have run them.
    const onClose = new Promise<{ waiting: number; endedBefore: boolean }>((resolve) =>
      closed!.addEventListener("abort", () => resolve({ waiting: limiter.waiting, endedBefore: ended }), {
        once: true,
      }),
    );
    gone.abort();
    expect(await abandoned).toMatchObject({ name: "AbortError" });
    expect(await onClose).toEqual({ waiting: 0, endedBefore: false });
    expect((await reservation).ok).toBe(false);
    release();
    expect((await held).status).toBe(200);
    // Given back, the unit found nobody waiting: the abandoned request was not checked.
    expect(reserveWaiting).toHaveBeenCalledTimes(1);
    expect(directory.verified).toBe(1);
  });

  it("never takes anything for valid tokens", async () => {
    const { s, good } = await start({ perSecond: 1, burst: 3 });
    for (let i = 0; i < 20; i++) expect((await post(s, good)).status).toBe(200);
    // All three failures are still there.
    await fail(s, 3);
    expect((await post(s, good)).status).toBe(429);
  });

  it("is off at AUTH_FAILURES_PER_SECOND=0: every bad token is checked and refused 401, a valid one served", async () => {
    const { s, directory, good } = await start({ perSecond: 0, burst: 1 });
    await fail(s, 20);
    expect((await post(s, good)).status).toBe(200);
    expect(directory.verified).toBe(21);
  });
});
