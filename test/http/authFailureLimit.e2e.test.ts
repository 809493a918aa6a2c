// Failed authentications per address, end to end: refused credentials (GraphQL over HTTP, MLflow's
// Basic, a WebSocket's connection_init) spend the address's bucket; once it is empty, a request
// bringing credentials, even valid ones, is answered 429 in its route's shape with Retry-After
// before they are checked (the directory is never asked); valid tokens and requests without
// credentials (AUTH=local) spend nothing; requests sent at once get no more checks than the bucket
// holds; the bucket refills on the limiter's clock; 0 turns it off.
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../../src/access/principal.ts";
import type { RateLimits } from "../../src/http/rateLimit.ts";
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
}

const BAD = { authorization: "Bearer rgo_not_a_token_of_this_registry_000000" };
const basic = (token: string) => `Basic ${Buffer.from(`mlflow-user:${token}`).toString("base64")}`;
const MESSAGE = /^Too many failed authentications from this address: .*retry after 1 s$/;

describe("failed authentications per address (sqlite)", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
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

  it("checks no more tokens sent at once than the address's failures left, valid ones included: the rest get 429 unchecked", async () => {
    const { s, directory, good, advance } = await start({ perSecond: 1, burst: 3 });

    /**
     * Sends `n` requests at once while the directory holds every verification, and lets them go
     * once each request has either reached the directory or been answered 429: no request is still
     * on its way when the count is taken.
     */
    async function atOnce(n: number, headers: Record<string, string>) {
      let release!: () => void;
      directory.held = new Promise((resolve) => (release = resolve));
      let limited = 0;
      const verifiedBefore = directory.verified;
      const settled = () => {
        if (directory.verified - verifiedBefore + limited === n) release();
      };
      directory.onVerify = settled;
      const statuses = await Promise.all(
        Array.from({ length: n }, () =>
          post(s, headers).then(async (response) => {
            await response.body?.cancel();
            if (response.status === 429) {
              limited++;
              settled();
            }
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

    const flood = await atOnce(50, BAD);
    expect(flood.checked).toBe(3);
    expect([flood.count(401), flood.count(429)]).toEqual([3, 47]);
    // Spent: a valid token is refused unchecked until a unit is back.
    expect((await post(s, good)).status).toBe(429);

    // Two seconds give two units back: the next flood gets two checks.
    advance(2_000);
    const again = await atOnce(50, BAD);
    expect(again.checked).toBe(2);
    expect([again.count(401), again.count(429)]).toEqual([2, 48]);

    // Valid tokens in flight at once hold units too, and give them back once accepted.
    advance(3_000);
    const valid = await atOnce(10, good);
    expect(valid.checked).toBe(3);
    expect([valid.count(200), valid.count(429)]).toEqual([3, 7]);
    await fail(s, 3);
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
