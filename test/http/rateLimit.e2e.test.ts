// Rate limits end to end: every authenticated route draws on its client's bucket (GraphQL over
// HTTP, WebSocket operations, the MLflow API, artifact routes), answers past it are 429 in each
// route's own error shape with Retry-After, a GraphQL operation pays for the objects its lists
// return, and clients (principals, or addresses under AUTH=local) are apart.
import { afterEach, describe, expect, it } from "vitest";
import type { RateLimits } from "../../src/http/rateLimit.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { record, wsClient } from "../subscriptions/support.ts";
import { rateLimitRefusals } from "../support/prometheus.ts";

/** Next to nothing comes back during a test: what a client has is its burst. */
const SLOW = 0.001;

describe("rate limits (sqlite)", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (rateLimits: RateLimits) => (server = await startTestServer("sqlite", { rateLimits }));

  const post = (s: TestServer, query: string, headers: Record<string, string> = {}) =>
    s.post(query, undefined, headers);

  /** Sends a trivial query until it is refused; returns how many got through and the refusal. */
  async function spend(s: TestServer, headers: Record<string, string> = {}, max = 1_000) {
    for (let passed = 0; passed < max; passed++) {
      const response = await post(s, "{ __typename }", headers);
      if (response.status === 429) return { passed, response };
      expect(response.status).toBe(200);
    }
    throw new Error(`no refusal within ${max} requests`);
  }

  it("refuses a client past its burst with 429, Retry-After and RATE_LIMITED, and serves it again once refilled", async () => {
    const s = await start({ perSecond: 2, burst: 5 });
    const { passed, response } = await spend(s);
    // The burst, and what came back at 2 a second while the requests ran.
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThan(15);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    const body = await response.json();
    expect(body.errors[0].extensions).toEqual({ code: "RATE_LIMITED", retryAfter });
    expect(body.errors[0].message).toMatch(/Too many requests/);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await post(s, "{ __typename }")).status).toBe(200);
  });

  it("answers each route in its own shape: plain JSON, MLflow's, and WebSocket operations", async () => {
    const s = await start({ perSecond: SLOW, burst: 3 });
    await spend(s);
    const artifact = await fetch(`${s.url}/artifacts/m/1/model.bin`);
    expect(artifact.status).toBe(429);
    expect(artifact.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await artifact.json()).error).toMatchObject({
      code: "RATE_LIMITED",
      retryAfter: expect.any(Number),
    });

    const mlflow = await fetch(`${s.url}/api/2.0/mlflow/registered-models/search`);
    expect(mlflow.status).toBe(429);
    expect(await mlflow.json()).toEqual({
      error_code: "REQUEST_LIMIT_EXCEEDED",
      message: expect.any(String),
    });

    const client = wsClient(s.graphqlUrl.replace(/^http/, "ws"));
    try {
      const refused = record(client, "{ __typename }");
      await refused.ended();
      expect(refused.error).toEqual([
        expect.objectContaining({ extensions: { code: "RATE_LIMITED", retryAfter: expect.any(Number) } }),
      ]);
    } finally {
      await client.dispose();
    }
    // What needs no credentials is not counted: probes, the landing page.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    // Every refusal counted once: spend's, the artifact's and MLflow's over HTTP, the operation's on the WebSocket.
    expect(await rateLimitRefusals(s.url)).toEqual({
      requests: { http: 3, websocket: 1 },
      auth_failures: { http: 0, websocket: 0 },
    });
  });

  it("charges a GraphQL operation one unit per object its lists return", async () => {
    const s = await start({ perSecond: SLOW, burst: 30 });
    // 11 requests: a model and ten versions.
    await s.gql(`mutation { createRegisteredModel(input: { name: "m" }) { __typename } }`);
    for (let i = 0; i < 10; i++)
      await s.gql(`mutation { createModelVersion(input: { name: "m", source: "s3://b/m" }) { __typename } }`);
    const page = `{ registeredModel(name: "m") { versions(first: 10) { nodes { version } } } }`;
    // 19 left: 1 + 10 nodes leaves 8.
    const first = await post(s, page);
    expect(first.status).toBe(200);
    expect((await first.json()).data.registeredModel.versions.nodes).toHaveLength(10);
    // The second is let in (8 ≥ 1) and stopped when its nodes spend the rest: one error, no data.
    const second = await post(s, page);
    expect(second.status).toBe(429);
    const retryAfter = Number(second.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await second.json()).toEqual({
      errors: [
        {
          message: expect.stringMatching(/Too many requests/),
          extensions: { code: "RATE_LIMITED", retryAfter },
        },
      ],
    });
    // Counting requests alone would have served both and left 17 units here.
    expect((await post(s, "{ __typename }")).status).toBe(429);
  });

  it("charges the MLflow API one unit per object an answer lists", async () => {
    const s = await start({ perSecond: SLOW, burst: 30 });
    await s.gql(`mutation { createRegisteredModel(input: { name: "m" }) { __typename } }`);
    for (let i = 0; i < 10; i++)
      await s.gql(`mutation { createModelVersion(input: { name: "m", source: "s3://b/m" }) { __typename } }`);
    const search = `${s.url}/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent("name='m'")}`;
    // 19 left: 1 + 10 versions, twice (the second let in with 8 left), then nothing.
    for (let i = 0; i < 2; i++) {
      const answer = await fetch(search);
      expect(answer.status).toBe(200);
      expect((await answer.json()).model_versions).toHaveLength(10);
    }
    expect((await fetch(search)).status).toBe(429);
  });

  it("gives each principal its own bucket, whichever address or token it comes with", async () => {
    const s = await start({ perSecond: SLOW, burst: 12 });
    // Two requests of the local administrator (by address) make the service account.
    const ci = await createServiceAccount((...args) => s.gql(...args), "ci");
    const second = await s.gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: ci.id, name: "second", scopes: ["READ"] } },
    );
    const secondHeaders = { authorization: `Bearer ${second.data.createApiToken.secret}` };
    // The account's two tokens share one bucket of 12; the administrator's address has 9 left.
    expect((await spend(s, ci.headers)).passed).toBe(12);
    expect((await post(s, "{ __typename }", secondHeaders)).status).toBe(429);
    expect((await post(s, "{ __typename }")).status).toBe(200);
  });
});
