// A subscriber that stops reading is cut off once its bounded buffer overflows, with the cursor to
// resume from; a fast subscriber and the writers carry on undisturbed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { scrape, total } from "../support/prometheus.ts";
import { createModel, eventually, mutate, record, startServer, wsClient } from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

/** Remembers the sockets graphql-ws opens, so the test can stop reading from one. */
class TrackedWebSocket extends WebSocket {
  static opened: TrackedWebSocket[] = [];
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    TrackedWebSocket.opened.push(this);
  }
}

const QUERY = `subscription($filter: RegistryEventFilter, $after: String) {
  registryEvents(filter: $filter, after: $after) { position cursor data }
}`;
const LIMIT = 5;

describe("slow subscribers", () => {
  let s: SubscriptionServer;
  beforeAll(async () => {
    s = await startServer("sqlite", {
      subscriptions: { maxBufferedNotifications: LIMIT, webSocketKeepAliveMs: 60_000 },
    });
  });
  afterAll(() => s.close());

  it("disconnects a subscriber that fell too far behind with SUBSCRIBER_TOO_SLOW and its last cursor; a fast one keeps receiving", async () => {
    const name = "slow-model";
    await createModel(s.graphqlUrl, name);
    const filter = { models: [name], types: ["ModelVersionCreated"] };
    const hub = s.registro.liveEvents.hub;
    const slowClient = wsClient(s.wsUrl, { webSocketImpl: TrackedWebSocket });
    const fastClient = wsClient(s.wsUrl);
    try {
      const slow = record(slowClient, QUERY, { filter });
      await eventually(() => hub.subscriberCount === 1);
      const fast = record(fastClient, QUERY, { filter });
      await eventually(() => hub.subscriberCount === 2);
      const slowSocket = TrackedWebSocket.opened[0]!;
      slowSocket.pause(); // stops reading: the server's sends back up once the TCP buffers are full

      // Large events fill those buffers quickly; keep writing until the server gives up on the slow one.
      const params = { blob: "x".repeat(200_000) };
      let created = 0;
      while (hub.subscriberCount === 2 && created < 300) {
        await mutate(s.graphqlUrl, "createModelVersion", { name, source: "s3://x", params });
        created++;
      }
      expect(hub.subscriberCount).toBe(1);
      // Writers were not held up: one more write goes through, and the fast subscriber has everything.
      await mutate(s.graphqlUrl, "createModelVersion", { name, source: "s3://x", params });
      created++;
      const all = await fast.waitFor(created, 20_000);
      const positions = all.map((d) => d.registryEvents.position);
      expect(fast.error).toBeUndefined();

      slowSocket.resume();
      await slow.ended(20_000);
      const delivered = slow.results.filter((r) => r.data);
      const last = slow.results.at(-1)!;
      expect(slow.completed).toBe(true);
      expect(last.data).toBeNull();
      const k = delivered.length;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(created);
      expect(delivered.map((r: any) => r.data.registryEvents.position)).toEqual(positions.slice(0, k));
      expect(last.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining("too slow"),
          extensions: {
            code: "SUBSCRIBER_TOO_SLOW",
            cursor: (delivered.at(-1) as any).data.registryEvents.cursor,
            limit: LIMIT,
            unit: "notifications",
          },
        }),
      ]);

      // /metrics counts the drop by the bound it broke.
      const metrics = await scrape(s.url);
      expect(total(metrics, "registro_subscribers_dropped_total", { bound: "notifications" })).toBe(1);
      expect(total(metrics, "registro_subscribers_dropped_total", { bound: "bytes" })).toBe(0);

      // Resuming from that cursor yields exactly the rest.
      const resumed = record(slowClient, QUERY, { filter, after: last.errors![0]!.extensions!.cursor });
      const rest = await resumed.waitFor(created - k, 20_000);
      expect(rest.map((d) => d.registryEvents.position)).toEqual(positions.slice(k));
    } finally {
      await slowClient.dispose();
      await fastClient.dispose();
    }
  });
});
