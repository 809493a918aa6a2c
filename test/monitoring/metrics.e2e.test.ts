// /metrics end to end: names, types and labels of every registro_* family, bounded operation
// labels, a scrape in the middle of concurrent GraphQL requests and downloads that a real
// Prometheus parser reads with counters that only grow, and who may scrape.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ipaddr from "ipaddr.js";
import WebSocket from "ws";
import { providers } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";
import { startReceiver } from "../webhooks/receiver.ts";
import { scrape, total, labelValues } from "../support/prometheus.ts";
import type { Families } from "../support/prometheus.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A registered model with one 64 KiB artifact; returns its download URL. */
async function modelWithArtifact(server: TestServer, name: string): Promise<{ url: string; size: number }> {
  const created = await server.gql(
    `mutation M($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`,
    {
      n: name,
    },
  );
  expect(created.data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
  const version = await server.gql(
    `mutation V($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
    { n: name },
  );
  expect(version.data.createModelVersion.__typename).toBe("ModelVersionPayload");
  const body = randomBytes(64 * 1024);
  const url = `${server.url}/artifacts/${encodeURIComponent(name)}/1/weights.bin`;
  const put = await fetch(url, {
    method: "PUT",
    body: new Uint8Array(body),
    headers: { "x-sha256": sha256(body) },
  });
  expect(put.status).toBe(201);
  return { url, size: body.length };
}

const EXPECTED: Record<string, { type: string; labels: string[] }> = {
  registro_http_requests_total: { type: "COUNTER", labels: ["route", "method", "status"] },
  registro_http_request_duration_seconds: { type: "HISTOGRAM", labels: ["route", "method"] },
  registro_graphql_operation_duration_seconds: {
    type: "HISTOGRAM",
    labels: ["operation", "type", "outcome"],
  },
  registro_graphql_errors_total: { type: "COUNTER", labels: ["phase", "operation"] },
  registro_events_appended_total: { type: "COUNTER", labels: ["type"] },
  registro_artifact_bytes_total: { type: "COUNTER", labels: ["direction"] },
  registro_log_lag_events: { type: "GAUGE", labels: ["follower"] },
  registro_subscriptions: { type: "GAUGE", labels: [] },
  registro_websocket_connections: { type: "GAUGE", labels: [] },
  registro_subscribers_dropped_total: { type: "COUNTER", labels: ["bound"] },
  registro_blob_store_bytes: { type: "GAUGE", labels: [] },
  registro_blob_store_blobs: { type: "GAUGE", labels: [] },
  registro_inspections_pending: { type: "GAUGE", labels: [] },
  registro_inspection_duration_seconds: { type: "HISTOGRAM", labels: ["verdict"] },
  registro_artifact_integrity_failures: { type: "GAUGE", labels: [] },
  registro_event_log_broken_streams: { type: "GAUGE", labels: [] },
  registro_event_log_refused_commands_total: { type: "COUNTER", labels: [] },
  registro_webhook_deliveries_total: { type: "COUNTER", labels: ["outcome"] },
  registro_usage_pending_keys: { type: "GAUGE", labels: [] },
  registro_usage_downloads_dropped_total: { type: "COUNTER", labels: [] },
  registro_usage_flush_failures_total: { type: "COUNTER", labels: [] },
  registro_rate_limited_total: { type: "COUNTER", labels: ["limit", "transport"] },
};

describe("/metrics", () => {
  let server: TestServer;
  let download: { url: string; size: number };

  beforeAll(async () => {
    server = await startTestServer("sqlite");
    download = await modelWithArtifact(server, "metrics model");
  });
  afterAll(async () => server?.close());

  it("serves every registro_* family with its type, help and label names", async () => {
    expect((await server.gql(`query Ping { __typename }`)).data).toEqual({ __typename: "Query" });
    expect((await server.gql(`query Broken { registeredModel(name: 1) { name } }`)).errors).toBeDefined();
    const fetched = await fetch(download.url);
    expect(fetched.status).toBe(200);
    expect((await fetched.arrayBuffer()).byteLength).toBe(download.size);
    const families = await scrape(server.url);
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const family = families.get(name);
      expect(family, name).toBeDefined();
      expect(family!.type, name).toBe(expected.type);
      expect(family!.help.length, name).toBeGreaterThan(20);
      for (const sample of family!.metrics) {
        const labels = Object.keys(sample.labels ?? {}).filter((l) => l !== "le");
        if (sample.labels !== undefined || expected.labels.length > 0)
          expect(labels.sort(), name).toEqual([...expected.labels].sort());
      }
    }
    // Only registro_* (no default process metrics, no plugin defaults with unbounded labels).
    expect([...families.keys()].filter((n) => !n.startsWith("registro_"))).toEqual([]);
    expect(
      total(families, "registro_graphql_operation_duration_seconds", {
        operation: "Ping",
        type: "query",
        outcome: "ok",
      }),
    ).toBe(1);
    expect(total(families, "registro_graphql_errors_total", { phase: "validate" })).toBeGreaterThanOrEqual(1);
    expect(total(families, "registro_events_appended_total", { type: "RegisteredModelCreated" })).toBe(1);
    expect(
      total(families, "registro_http_requests_total", {
        route: "/artifacts/{model}/{version}/{path}",
        method: "GET",
        status: "200",
      }),
    ).toBe(1);
    expect(total(families, "registro_artifact_bytes_total", { direction: "out" })).toBeGreaterThanOrEqual(
      download.size,
    );
    expect(total(families, "registro_artifact_bytes_total", { direction: "in" })).toBeGreaterThanOrEqual(
      download.size,
    );
    expect(total(families, "registro_inspection_duration_seconds")).toBe(1);
    expect(total(families, "registro_log_lag_events", { follower: "subscriptions" })).toBe(0);
    // The blob store's size is computed in the background: a later scrape has it.
    const sized = await eventually(
      async () => {
        const later = await scrape(server.url);
        return total(later, "registro_blob_store_blobs") === 1 ? later : null;
      },
      5_000,
      "the blob store's size",
    );
    expect(total(sized!, "registro_blob_store_bytes")).toBe(download.size);
    // Raw paths never become labels.
    expect(
      [...labelValues(families, "registro_http_requests_total", "route")].some((r) =>
        r.includes("metrics model"),
      ),
    ).toBe(false);
  });

  it("gives the first operation names a label each and counts the rest as `other`", async () => {
    const before = await scrape(server.url);
    for (let i = 0; i < 260; i++) await server.gql(`query Op${i} { __typename }`);
    const families = await scrape(server.url);
    const names = labelValues(families, "registro_graphql_operation_duration_seconds", "operation");
    expect(names.size).toBeLessThanOrEqual(200 + 2); // the limit, plus `other` and `anonymous`
    expect(names).toContain("other");
    const ran = (f: Families) => total(f, "registro_graphql_operation_duration_seconds", { type: "query" });
    expect(ran(families) - ran(before)).toBe(260);
  });

  it("parses while requests and downloads run, with counters that only grow", async () => {
    const load = (async () => {
      for (let round = 0; round < 20; round++)
        await Promise.all([
          server.gql(`query Load { registeredModels(first: 5) { nodes { name } } }`),
          fetch(download.url).then((r) => r.arrayBuffer()),
          server.gql(`query Load { __typename }`),
          fetch(download.url, { headers: { range: "bytes=0-99" } }).then((r) => r.arrayBuffer()),
        ]);
    })();
    const first = await scrape(server.url);
    const second = await scrape(server.url);
    await load;
    const third = await scrape(server.url);
    for (const [name, family] of third) {
      if (family.type !== "COUNTER" && family.type !== "HISTOGRAM") continue;
      for (const sample of family.metrics) {
        const labels = sample.labels ?? {};
        const now = total(third, name, labels);
        expect(total(second, name, labels), `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(now);
        expect(total(first, name, labels)).toBeLessThanOrEqual(total(second, name, labels));
      }
    }
    const downloads = (f: Families) =>
      total(f, "registro_http_requests_total", {
        route: "/artifacts/{model}/{version}/{path}",
        method: "GET",
      });
    expect(downloads(third) - downloads(first)).toBeGreaterThan(0);
    expect(downloads(third)).toBeGreaterThanOrEqual(41);
  });
});

describe("/metrics of usage counting and of a damaged process", () => {
  let server: TestServer;
  let download: { url: string; size: number };

  beforeAll(async () => {
    // No timed flush during the test: the counts wait until it flushes them.
    server = await startTestServer("sqlite", { usage: { flushIntervalMs: 3_600_000 } });
    download = await modelWithArtifact(server, "usage metrics model");
  });
  afterAll(async () => server?.close());

  it("shows download counts waiting for their flush, and none after it", async () => {
    // Bodies read to the end: a download is counted when its response finishes, and an unread body
    // could finish after the flush below.
    for (let i = 0; i < 2; i++) {
      const response = await fetch(download.url);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(download.size);
    }
    await eventually(
      async () => total(await scrape(server.url), "registro_usage_pending_keys") === 1 || null,
      5_000,
      "one pending key (two downloads by one consumer of one artifact in one hour)",
    );
    await server.registro.usage.flush();
    const families = await scrape(server.url);
    expect(total(families, "registro_usage_pending_keys")).toBe(0);
    expect(total(families, "registro_usage_downloads_dropped_total")).toBe(0);
    expect(total(families, "registro_usage_flush_failures_total")).toBe(0);
  });

  it("keeps counting (and the process alive) while Object.prototype is polluted", async () => {
    // prom-client reads label sets with for…in: a polluted prototype once made every update throw,
    // and a throw in a response's finish listener ends the process.
    const before = total(await scrape(server.url), "registro_http_requests_total", {
      route: "/healthz",
      status: "503",
    });
    (Object.prototype as Record<string, unknown>).polluted = "yes";
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
      await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "query Polluted { __typename }" }),
      });
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    const after = await scrape(server.url);
    expect(total(after, "registro_http_requests_total", { route: "/healthz", status: "503" })).toBe(
      before + 1,
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe.each(await providers())("/metrics of subscriptions and webhooks on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider, { webhooks: { retryBaseMs: 50, pollIntervalMs: 100 } });
  });
  afterAll(async () => server?.close());

  it("counts WebSocket connections and live subscriptions", async () => {
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
      socket.on("message", (data: Buffer) => {
        if ((JSON.parse(String(data)) as { type: string }).type !== "connection_ack") return;
        for (const id of ["1", "2"])
          socket.send(
            JSON.stringify({
              id,
              type: "subscribe",
              payload: { query: "subscription { registryEvents { position } }" },
            }),
          );
        resolve();
      });
    });
    const live = await eventually(
      async () => {
        const families = await scrape(server.url);
        return total(families, "registro_subscriptions") === 2 ? families : null;
      },
      5_000,
      "two live subscriptions",
    );
    expect(total(live!, "registro_websocket_connections")).toBe(1);
    socket.close();
    await eventually(
      async () => {
        const families = await scrape(server.url);
        return (
          total(families, "registro_websocket_connections") === 0 &&
          total(families, "registro_subscriptions") === 0
        );
      },
      5_000,
      "the connection and its subscriptions to be gone",
    );
  });

  it("counts webhook deliveries by outcome, and how far webhooks lag behind the log", async () => {
    const receiver = await startReceiver();
    try {
      await server.gql(`mutation { createRegisteredModel(input: { name: "hooked" }) { __typename } }`);
      const registered = await server.gql(
        `mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { __typename } }`,
        { input: { url: receiver.url, eventTypes: ["RegisteredModelTagSet"], modelNames: ["hooked"] } },
      );
      expect(registered.data.registerWebhook.__typename).toBe("WebhookSecretPayload");
      const tag = (value: string) =>
        server.gql(
          `mutation($v: String!) { setRegisteredModelTag(input: { name: "hooked", key: "k", value: $v }) { __typename } }`,
          {
            v: value,
          },
        );
      await tag("1");
      await eventually(() => receiver.accepted().length === 1, 10_000, "the first delivery");
      const delivered = await eventually(
        async () => {
          const families = await scrape(server.url);
          const caughtUp = total(families, "registro_log_lag_events", { follower: "webhooks" }) === 0;
          const counted =
            total(families, "registro_webhook_deliveries_total", { outcome: "succeeded" }) === 1;
          return caughtUp && counted ? families : null;
        },
        10_000,
        "the delivery to be counted and webhooks to catch up",
      );
      // The lag is measured (a sample exists), not merely absent.
      expect(
        delivered!
          .get("registro_log_lag_events")!
          .metrics.map((m) => m.labels?.follower)
          .sort(),
      ).toEqual(["subscriptions", "webhooks"]);
      receiver.behaviour = "down";
      await tag("2");
      const failing = await eventually(
        async () => {
          const families = await scrape(server.url);
          return total(families, "registro_webhook_deliveries_total", { outcome: "failed" }) >= 1
            ? families
            : null;
        },
        10_000,
        "a failed delivery",
      );
      // The failing webhook holds its cursor before the undelivered event.
      expect(total(failing!, "registro_log_lag_events", { follower: "webhooks" })).toBeGreaterThanOrEqual(1);
    } finally {
      await receiver.close();
    }
  });
});

describe("who may read /metrics", () => {
  const servers: TestServer[] = [];
  afterAll(async () => Promise.all(servers.map((s) => s.close())));

  it("with a token: missing is 401, wrong is 403, right is 200", async () => {
    const token = "s3cret-metrics-token-0123";
    const server = await startTestServer("sqlite", { metricsAccess: { token, networks: null } });
    servers.push(server);
    const missing = await fetch(`${server.url}/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    const wrong = await fetch(`${server.url}/metrics`, {
      headers: { authorization: "Bearer not-the-token" },
    });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("METRICS_ACCESS_DENIED");
    const right = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("registro_http_requests_total");
    // Health and readiness stay open to probes.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it("from a network that is not allowed: 403, even with the right token", async () => {
    const server = await startTestServer("sqlite", {
      metricsAccess: { token: "another-token-0123456789", networks: [ipaddr.parseCIDR("10.0.0.0/8")] },
    });
    servers.push(server);
    const refused = await fetch(`${server.url}/metrics`, {
      headers: { authorization: "Bearer another-token-0123456789" },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("METRICS_ACCESS_DENIED");
  });
});
