// Subscribers are bounded by the bytes held for their connection, not only by notifications: a
// WebSocket or SSE client that stops reading while large events are committed is dropped once its
// connection holds more than the byte budget (the server-side peak stays within a couple of events of it),
// with SUBSCRIBER_TOO_SLOW and its cursor when it reads again in time, or its connection cut when
// it does not. Either way, resuming from the last cursor it received yields every missed event
// exactly once.
import http from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createModel, eventually, mutate, record, startServer, wsClient } from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

const QUERY = `subscription($filter: RegistryEventFilter, $after: String) {
  registryEvents(filter: $filter, after: $after) { position cursor data }
}`;
const BYTES = 1024 * 1024;
/** Each event carries about 200 KB of params, so a few of them overflow the budget. */
const PARAMS = { blob: "x".repeat(200_000) };
const EVENT_BYTES = 210_000;
/**
 * How far past the budget a connection may get: the event that crosses it, and one message the
 * transport is still writing (one notification may always wait, however large).
 */
const PEAK_BOUND = BYTES + 2 * EVENT_BYTES;

/** A WebSocket class that remembers its instances, so a test can stop reading from one. */
function trackedWebSocket() {
  const opened: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      opened.push(this);
    }
  }
  return { Tracked, opened };
}

/** Server-side sockets by the client's port, to see the server close one. */
function serverSockets(s: SubscriptionServer) {
  const byPort = new Map<number, Socket>();
  s.registro.app.server.on("connection", (socket: Socket) => byPort.set(socket.remotePort!, socket));
  return byPort;
}

interface SseEvent {
  readonly event: string;
  readonly data: any;
}

function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split("\n\n").slice(0, -1)) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0 || event !== "message")
      events.push({
        event,
        data: data.length > 0 && data.join("") !== "" ? JSON.parse(data.join("\n")) : null,
      });
  }
  return events;
}

/** GraphQL over SSE through node:http, whose response can be paused (the socket then stops being read). */
async function sseClient(graphqlUrl: string, query: string, variables: Record<string, unknown>) {
  const { hostname, port } = new URL(graphqlUrl);
  const req = http.request({
    hostname,
    port,
    method: "POST",
    path: "/graphql",
    agent: false,
    headers: { "content-type": "application/json", accept: "text/event-stream" },
  });
  req.on("error", () => undefined);
  req.end(JSON.stringify({ query, variables }));
  const res = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
  let text = "";
  let ended = false;
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => (text += chunk));
  res.on("error", () => undefined);
  res.once("close", () => (ended = true));
  return {
    status: res.statusCode,
    localPort: req.socket!.localPort!,
    pause: () => res.pause(),
    resume: () => res.resume(),
    events: () => parseSse(text),
    get ended() {
      return ended;
    },
    close: () => req.destroy(),
  };
}

const positionsOf = (events: SseEvent[]) =>
  events.filter((e) => e.event === "next" && e.data?.data).map((e) => e.data.data.registryEvents.position);

/** Commits large events for `name` until the hub has dropped one more subscriber for bytes. */
async function commitUntilDropped(s: SubscriptionServer, name: string) {
  const hub = s.registro.liveEvents.hub;
  const before = hub.drops.bytes;
  let created = 0;
  while (hub.drops.bytes === before && created < 300) {
    await mutate(s.graphqlUrl, "createModelVersion", { name, source: "s3://x", params: PARAMS });
    created++;
  }
  expect(hub.drops.bytes).toBe(before + 1);
  return created;
}

/** Resubscribes after `cursor` and checks that exactly `positions` follow. */
async function expectResume(s: SubscriptionServer, filter: unknown, cursor: string, positions: number[]) {
  const client = wsClient(s.wsUrl);
  try {
    const resumed = record(client, QUERY, { filter, after: cursor });
    const rest = await resumed.waitFor(positions.length, 20_000);
    expect(rest.map((d) => d.registryEvents.position)).toEqual(positions);
  } finally {
    await client.dispose();
  }
}

describe("subscriber byte bound, client reads again in time", () => {
  let s: SubscriptionServer;
  beforeAll(async () => {
    s = await startServer("sqlite", {
      subscriptions: {
        maxBufferedNotifications: 10_000, // far away: only bytes can drop a subscriber here
        maxQueuedBytes: BYTES,
        cutAfterMs: 60_000,
        webSocketKeepAliveMs: 60_000,
      },
    });
  });
  afterAll(() => s.close());

  it("ends a paused WebSocket subscriber with SUBSCRIBER_TOO_SLOW and its cursor; a fast one keeps everything", async () => {
    const name = "ws-bytes";
    await createModel(s.graphqlUrl, name);
    const filter = { models: [name], types: ["ModelVersionCreated"] };
    const hub = s.registro.liveEvents.hub;
    const { Tracked, opened } = trackedWebSocket();
    const slowClient = wsClient(s.wsUrl, { webSocketImpl: Tracked });
    const fastClient = wsClient(s.wsUrl);
    try {
      const slow = record(slowClient, QUERY, { filter });
      await eventually(() => hub.subscriberCount === 1);
      const fast = record(fastClient, QUERY, { filter });
      await eventually(() => hub.subscriberCount === 2);
      opened[0]!.pause();

      const created = await commitUntilDropped(s, name);
      expect(hub.drops.notifications).toBe(0);
      expect(hub.subscriberCount).toBe(1);
      // What the server held for the paused client never went far past the budget.
      expect(hub.peakSubscriberBytes).toBeGreaterThan(BYTES);
      expect(hub.peakSubscriberBytes).toBeLessThanOrEqual(PEAK_BOUND);
      const positions = (await fast.waitFor(created, 20_000)).map((d) => d.registryEvents.position);

      opened[0]!.resume();
      await slow.ended(20_000);
      const delivered = slow.results.filter((r) => r.data);
      const last = slow.results.at(-1)!;
      expect(slow.completed).toBe(true);
      const k = delivered.length;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(created);
      expect(delivered.map((r: any) => r.data.registryEvents.position)).toEqual(positions.slice(0, k));
      expect(last.data).toBeNull();
      expect(last.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining(`more than ${BYTES} bytes`),
          extensions: {
            code: "SUBSCRIBER_TOO_SLOW",
            cursor: (delivered.at(-1) as any).data.registryEvents.cursor,
            limit: BYTES,
            unit: "bytes",
          },
        }),
      ]);
      await expectResume(s, filter, last.errors![0]!.extensions!.cursor as string, positions.slice(k));
    } finally {
      await slowClient.dispose();
      await fastClient.dispose();
    }
  });

  it("ends a paused SSE subscriber with a SUBSCRIBER_TOO_SLOW event and its cursor, then the stream", async () => {
    const name = "sse-bytes";
    await createModel(s.graphqlUrl, name);
    const filter = { models: [name], types: ["ModelVersionCreated"] };
    const hub = s.registro.liveEvents.hub;
    const sse = await sseClient(s.graphqlUrl, QUERY, { filter });
    try {
      expect(sse.status).toBe(200);
      await eventually(() => hub.subscriberCount === 1);
      sse.pause();
      const created = await commitUntilDropped(s, name);
      expect(hub.subscriberCount).toBe(0);
      expect(hub.peakSubscriberBytes).toBeLessThanOrEqual(PEAK_BOUND);

      sse.resume();
      await eventually(() => sse.ended, 20_000, "the end of the SSE stream");
      const events = sse.events();
      const delivered = positionsOf(events);
      const k = delivered.length;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(created);
      const notice = events.at(-2)!;
      expect(events.at(-1)).toEqual({ event: "complete", data: null });
      expect(notice.event).toBe("next");
      expect(notice.data.errors[0].extensions).toEqual({
        code: "SUBSCRIBER_TOO_SLOW",
        cursor: events.at(-3)!.data.data.registryEvents.cursor,
        limit: BYTES,
        unit: "bytes",
      });
      const all = Array.from({ length: created }, (_, i) => delivered[0]! + i);
      expect(delivered).toEqual(all.slice(0, k));
      await expectResume(s, filter, notice.data.errors[0].extensions.cursor, all.slice(k));
    } finally {
      sse.close();
    }
  });
});

describe("subscriber byte bound, client never reads again", () => {
  let s: SubscriptionServer;
  beforeAll(async () => {
    s = await startServer("sqlite", {
      subscriptions: {
        maxBufferedNotifications: 10_000,
        maxQueuedBytes: BYTES,
        cutAfterMs: 300,
        webSocketKeepAliveMs: 60_000,
      },
    });
  });
  afterAll(() => s.close());

  it("cuts the connection of a WebSocket subscriber that stays paused; its last received cursor resumes", async () => {
    const name = "ws-gone";
    await createModel(s.graphqlUrl, name);
    const filter = { models: [name], types: ["ModelVersionCreated"] };
    const hub = s.registro.liveEvents.hub;
    const sockets = serverSockets(s);
    const { Tracked, opened } = trackedWebSocket();
    const slowClient = wsClient(s.wsUrl, { webSocketImpl: Tracked });
    try {
      const slow = record(slowClient, QUERY, { filter });
      await eventually(() => hub.subscriberCount === 1);
      const socket = opened[0]!;
      socket.pause();
      const serverSide = sockets.get((socket as any)._socket.localPort)!;
      expect(serverSide).toBeDefined();

      const created = await commitUntilDropped(s, name);
      expect(hub.peakSubscriberBytes).toBeLessThanOrEqual(PEAK_BOUND);
      // Closed (1008), then cut off as the client does not read even the close frame.
      await eventually(() => serverSide.destroyed, 10_000, "the server to cut the connection");

      socket.resume();
      await slow.ended(20_000);
      expect(slow.error).toBeDefined();
      const delivered = slow.data.map((d) => d.registryEvents);
      const k = delivered.length;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(created);
      const first = delivered[0]!.position as number;
      const all = Array.from({ length: created }, (_, i) => first + i);
      expect(delivered.map((d) => d.position)).toEqual(all.slice(0, k));
      await expectResume(s, filter, delivered.at(-1)!.cursor, all.slice(k));
    } finally {
      await slowClient.dispose();
    }
  });

  it("closes a paused WebSocket that piles up more unsent results than the bound, whatever the operations", async () => {
    const name = "ws-queries";
    await createModel(s.graphqlUrl, name);
    await mutate(s.graphqlUrl, "createModelVersion", { name, source: "s3://x", params: PARAMS });
    const sockets = serverSockets(s);
    const { Tracked, opened } = trackedWebSocket();
    const client = wsClient(s.wsUrl, { webSocketImpl: Tracked });
    const query = `{ modelVersion(name: "${name}", version: 1) { params } }`;
    try {
      // A subscription keeps the (lazy) client's connection open between the queries.
      record(client, QUERY, { filter: { models: [`${name}-quiet`] } });
      await eventually(() => s.registro.liveEvents.hub.subscriberCount === 1);
      const socket = opened[0]!;
      socket.pause();
      const serverSide = sockets.get((socket as any)._socket.localPort)!;
      expect(serverSide).toBeDefined();
      // 150 answers of 200 KB each, about 30 MB: far more than the socket buffers take.
      for (let i = 0; i < 150; i++) record(client, query);
      await eventually(() => serverSide.destroyed, 20_000, "the server to close the connection");
    } finally {
      await client.dispose();
    }
  });

  it("cuts the connection of an SSE subscriber that never reads; its last received cursor resumes", async () => {
    const name = "sse-gone";
    await createModel(s.graphqlUrl, name);
    const filter = { models: [name], types: ["ModelVersionCreated"] };
    const hub = s.registro.liveEvents.hub;
    const sockets = serverSockets(s);
    const sse = await sseClient(s.graphqlUrl, QUERY, { filter });
    try {
      await eventually(() => hub.subscriberCount === 1);
      sse.pause();
      const serverSide = sockets.get(sse.localPort)!;
      expect(serverSide).toBeDefined();

      const created = await commitUntilDropped(s, name);
      expect(hub.peakSubscriberBytes).toBeLessThanOrEqual(PEAK_BOUND);
      await eventually(() => serverSide.destroyed, 10_000, "the server to cut the connection");
      expect(hub.subscriberCount).toBe(0);

      sse.resume();
      await eventually(() => sse.ended, 20_000, "the client to see the end");
      const events = sse.events();
      expect(events.some((e) => e.event === "complete")).toBe(false);
      const delivered = events.filter((e) => e.event === "next").map((e) => e.data.data.registryEvents);
      const k = delivered.length;
      expect(k).toBeGreaterThan(0);
      expect(k).toBeLessThan(created);
      const first = delivered[0]!.position as number;
      const all = Array.from({ length: created }, (_, i) => first + i);
      expect(delivered.map((d: any) => d.position)).toEqual(all.slice(0, k));
      await expectResume(s, filter, delivered.at(-1)!.cursor, all.slice(k));
    } finally {
      sse.close();
    }
  });
});
