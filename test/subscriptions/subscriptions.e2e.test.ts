// Subscriptions end to end, on both providers: graphql-ws and SSE clients against a real server,
// changes made through GraphQL over HTTP, exact sequences asserted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { providers } from "../support/databases.ts";
import { LOCAL_ADMIN } from "../support/server.ts";
import {
  createModel,
  createVersion,
  eventually,
  mutate,
  record,
  setAlias,
  sseSubscribe,
  startServer,
  tag,
  transition,
  wsClient,
} from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

const STAGE_CHANGE = `subscription($name: String, $stage: Stage, $after: String) {
  modelVersionStageChanged(name: $name, stage: $stage, after: $after) {
    cursor version stage previousStage actor { id displayName kind } comment archivedVersionNumbers
    modelVersion { version stage }
    archivedVersions { version stage }
    event { type cursor }
  }
}`;
const EVENTS = `subscription($filter: RegistryEventFilter, $after: String) {
  registryEvents(filter: $filter, after: $after) { position type cursor modelId data correlationId actor { displayName } }
}`;

describe.each(await providers())("subscriptions on %s", (provider) => {
  let s: SubscriptionServer;
  let n = 0;
  const uniqueName = (prefix: string) => `${prefix}-${++n}`;
  beforeAll(async () => {
    s = await startServer(provider);
  });
  afterAll(() => s.close());

  /** Waits until the server has registered `count` more subscribers than `before`. */
  const subscribed = (before: number, count = 1) =>
    eventually(
      () => s.registro.liveEvents.hub.subscriberCount >= before + count,
      10_000,
      "the subscription to start",
    );

  it("delivers a promotion made by an HTTP mutation to a graphql-ws client, with current views and archived versions", async () => {
    const name = uniqueName("promo");
    await createModel(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    await transition(s.graphqlUrl, name, 1, "PRODUCTION");
    const client = wsClient(s.wsUrl);
    try {
      const before = s.registro.liveEvents.hub.subscriberCount;
      const changes = record(client, STAGE_CHANGE, { name });
      await subscribed(before);
      await mutate(s.graphqlUrl, "transitionModelVersionStage", {
        name,
        version: 2,
        stage: "PRODUCTION",
        archiveExistingVersions: true,
        comment: "beats v1",
      });
      const [received] = await changes.waitFor(1);
      const change = received.modelVersionStageChanged;
      expect(change).toEqual({
        cursor: change.event.cursor,
        version: 2,
        stage: "PRODUCTION",
        previousStage: "NONE",
        actor: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), displayName: LOCAL_ADMIN, kind: "USER" },
        comment: "beats v1",
        archivedVersionNumbers: [1],
        modelVersion: { version: 2, stage: "PRODUCTION" },
        archivedVersions: [{ version: 1, stage: "ARCHIVED" }],
        event: { type: "ModelVersionStageTransitioned", cursor: change.cursor },
      });
      changes.dispose();
    } finally {
      await client.dispose();
    }
  });

  it("delivers the same over server-sent events (Accept: text/event-stream)", async () => {
    const name = uniqueName("sse");
    await createModel(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    const before = s.registro.liveEvents.hub.subscriberCount;
    const stream = await sseSubscribe(s.graphqlUrl, STAGE_CHANGE, { name });
    try {
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await subscribed(before);
      await transition(s.graphqlUrl, name, 1, "STAGING");
      await eventually(() => stream.next().length >= 1, 10_000, "an SSE event");
      const [result] = stream.next();
      expect(result.data.modelVersionStageChanged).toMatchObject({
        version: 1,
        stage: "STAGING",
        previousStage: "NONE",
        modelVersion: { version: 1, stage: "STAGING" },
        archivedVersions: [],
      });
    } finally {
      await stream.close();
    }
  });

  it("resumes after a disconnect with the last cursor: exactly the 50 missed events, in order, then live ones", async () => {
    const name = uniqueName("resume");
    await createModel(s.graphqlUrl, name);
    let client = wsClient(s.wsUrl);
    const filter = { models: [name] };
    let before = s.registro.liveEvents.hub.subscriberCount;
    const first = record(client, EVENTS, { filter });
    await subscribed(before);
    await tag(s.graphqlUrl, name, "seen", "yes");
    const [seen] = await first.waitFor(1);
    await client.dispose(); // disconnect
    await eventually(
      () => s.registro.liveEvents.hub.subscriberCount === before,
      10_000,
      "the subscription to end",
    );

    for (let i = 0; i < 50; i++) await tag(s.graphqlUrl, name, `k${i}`, `v${i}`);

    client = wsClient(s.wsUrl);
    try {
      before = s.registro.liveEvents.hub.subscriberCount;
      const resumed = record(client, EVENTS, { filter, after: seen.registryEvents.cursor });
      const missed = await resumed.waitFor(50);
      expect(missed.map((d) => d.registryEvents.data.key)).toEqual(
        Array.from({ length: 50 }, (_, i) => `k${i}`),
      );
      const positions = missed.map((d) => d.registryEvents.position);
      expect(positions[0]).toBeGreaterThan(seen.registryEvents.position);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      await subscribed(before);
      await tag(s.graphqlUrl, name, "live", "yes");
      await resumed.waitFor(51);
      await new Promise((resolve) => setTimeout(resolve, 200)); // nothing else may follow
      expect(resumed.data.map((d) => d.registryEvents.data.key)).toEqual([
        ...Array.from({ length: 50 }, (_, i) => `k${i}`),
        "live",
      ]);
      expect(resumed.error).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it("filters deliver only what they name: models (followed through a rename, and a model taking the name later) and types", async () => {
    const a = uniqueName("filter-a");
    const b = uniqueName("filter-b");
    await createModel(s.graphqlUrl, a);
    await createModel(s.graphqlUrl, b);
    const client = wsClient(s.wsUrl);
    try {
      const before = s.registro.liveEvents.hub.subscriberCount;
      const byModel = record(client, EVENTS, { filter: { models: [a] } });
      const byModelAndType = record(client, EVENTS, {
        filter: { models: [a], types: ["RegisteredModelTagSet"] },
      });
      const byType = record(client, EVENTS, { filter: { types: ["RegisteredModelRenamed"] } });
      await subscribed(before, 3);
      await tag(s.graphqlUrl, a, "k", "1");
      await tag(s.graphqlUrl, b, "k", "1");
      await mutate(s.graphqlUrl, "renameRegisteredModel", { name: a, newName: `${a}-renamed` });
      await tag(s.graphqlUrl, `${a}-renamed`, "k", "2");
      await createModel(s.graphqlUrl, a); // a new model takes the freed name
      await tag(s.graphqlUrl, a, "k", "3");
      await tag(s.graphqlUrl, b, "k", "2");

      const summary = (d: any) => [
        d.registryEvents.type,
        d.registryEvents.data.value ?? d.registryEvents.data.to ?? d.registryEvents.data.name,
      ];
      await byModel.waitFor(5);
      await byModelAndType.waitFor(3);
      await byType.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(byModel.data.map(summary)).toEqual([
        ["RegisteredModelTagSet", "1"],
        ["RegisteredModelRenamed", `${a}-renamed`],
        ["RegisteredModelTagSet", "2"],
        ["RegisteredModelCreated", a],
        ["RegisteredModelTagSet", "3"],
      ]);
      const ids = byModel.data.map((d) => d.registryEvents.modelId);
      expect(ids[0]).toBe(ids[2]);
      expect(ids[3]).not.toBe(ids[0]);
      expect(byModelAndType.data.map(summary)).toEqual([
        ["RegisteredModelTagSet", "1"],
        ["RegisteredModelTagSet", "2"],
        ["RegisteredModelTagSet", "3"],
      ]);
      expect(byType.data.map(summary)).toEqual([["RegisteredModelRenamed", `${a}-renamed`]]);

      // modelIds follow the stream itself.
      const byId = record(client, EVENTS, {
        filter: { modelIds: [ids[3]] },
        after: byModel.data[2].registryEvents.cursor,
      });
      await byId.waitFor(2);
      expect(byId.data.map(summary)).toEqual([
        ["RegisteredModelCreated", a],
        ["RegisteredModelTagSet", "3"],
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("stage filter: only transitions to the named stage", async () => {
    const name = uniqueName("stage");
    await createModel(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    const client = wsClient(s.wsUrl);
    try {
      const before = s.registro.liveEvents.hub.subscriberCount;
      const production = record(client, STAGE_CHANGE, { name, stage: "PRODUCTION" });
      await subscribed(before);
      await transition(s.graphqlUrl, name, 1, "STAGING");
      await transition(s.graphqlUrl, name, 1, "PRODUCTION");
      await transition(s.graphqlUrl, name, 2, "STAGING");
      await transition(s.graphqlUrl, name, 2, "PRODUCTION", true);
      await production.waitFor(2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(
        production.data.map((d) => [
          d.modelVersionStageChanged.version,
          d.modelVersionStageChanged.previousStage,
          d.modelVersionStageChanged.archivedVersionNumbers,
        ]),
      ).toEqual([
        [1, "STAGING", []],
        [2, "STAGING", [1]],
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("alias changes: set, moved, removed with its version; other aliases filtered out; resumable inside one event", async () => {
    const name = uniqueName("alias");
    await createModel(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    await createVersion(s.graphqlUrl, name);
    const query = `subscription($name: String, $alias: String, $after: String) {
      registeredModelAliasChanged(name: $name, alias: $alias, after: $after) {
        cursor alias change version previousVersion modelVersion { version } previousModelVersion { version } event { type }
      }
    }`;
    const client = wsClient(s.wsUrl);
    try {
      const before = s.registro.liveEvents.hub.subscriberCount;
      const champion = record(client, query, { name, alias: "champion" });
      const anyAlias = record(client, query, { name });
      await subscribed(before, 2);
      await setAlias(s.graphqlUrl, name, 1, "champion");
      await setAlias(s.graphqlUrl, name, 2, "champion");
      await setAlias(s.graphqlUrl, name, 2, "challenger");
      await mutate(s.graphqlUrl, "deleteModelVersion", { name, version: 2 }); // removes both aliases
      await champion.waitFor(3);
      await anyAlias.waitFor(5);
      const row = (d: any) => {
        const c = d.registeredModelAliasChanged;
        return [
          c.alias,
          c.change,
          c.version,
          c.previousVersion,
          c.modelVersion?.version ?? null,
          c.previousModelVersion?.version ?? null,
          c.event.type,
        ];
      };
      expect(champion.data.map(row)).toEqual([
        ["champion", "SET", 1, null, 1, null, "RegisteredModelAliasSet"],
        ["champion", "MOVED", 2, 1, 2, 1, "RegisteredModelAliasSet"],
        ["champion", "DELETED", null, 2, null, 2, "ModelVersionDeleted"],
      ]);
      const removed = anyAlias.data.slice(3).map(row);
      expect(removed.map((r) => r[1])).toEqual(["DELETED", "DELETED"]);
      expect(removed.map((r) => r[0]).sort()).toEqual(["challenger", "champion"]);
      // Two notifications from one event have distinct cursors; resuming after the first yields the second only.
      const [firstOfEvent, secondOfEvent] = anyAlias.data
        .slice(3)
        .map((d) => d.registeredModelAliasChanged.cursor);
      expect(firstOfEvent).not.toBe(secondOfEvent);
      const resumed = record(client, query, { name, after: firstOfEvent });
      await resumed.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(resumed.data.map(row)).toEqual([removed[1]]);
    } finally {
      await client.dispose();
    }
  });

  it("rejects a malformed or foreign cursor with a clear GraphQL error, over graphql-ws and SSE, and keeps serving", async () => {
    const client = wsClient(s.wsUrl);
    try {
      const bad = record(client, EVENTS, { after: "definitely-not-a-cursor" });
      await bad.ended();
      expect(bad.results).toHaveLength(1);
      expect(bad.results[0]!.errors).toMatchObject([
        { message: expect.stringContaining("invalid cursor"), extensions: { code: "INVALID_CURSOR" } },
      ]);
      const future = record(client, EVENTS, {
        after: Buffer.from("registro:log:v1:99999999").toString("base64url"),
      });
      await future.ended();
      expect(future.results[0]!.errors).toMatchObject([
        { message: expect.stringContaining("past the end"), extensions: { code: "INVALID_CURSOR" } },
      ]);
      const empty = record(client, EVENTS, { filter: { models: [] } });
      await empty.ended();
      expect(empty.results[0]!.errors).toMatchObject([{ extensions: { code: "BAD_USER_INPUT" } }]);
      const syntax = record(client, "subscription { registryEvents { ");
      await syntax.ended();
      expect(syntax.error).toMatchObject([{ message: expect.stringContaining("Syntax Error") }]);

      const sse = await sseSubscribe(s.graphqlUrl, EVENTS, { after: "%%%" });
      await sse.finished();
      expect(sse.events).toEqual([
        {
          event: "next",
          data: { errors: [expect.objectContaining({ extensions: { code: "INVALID_CURSOR" } })] },
        },
        { event: "complete", data: null },
      ]);
      // The same connection still serves.
      const ok = await client
        .iterate({ query: "{ registeredModels(first: 1) { pageInfo { hasNextPage } } }" })
        .next();
      expect(ok.value?.errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it("takes the request id from connection params into mutations over graphql-ws (acting as the local administrator)", async () => {
    const name = uniqueName("ws-mutation");
    const client = wsClient(s.wsUrl, { connectionParams: { "X-Request-Id": "req-from-ws-42" } });
    try {
      const result = await client
        .iterate({
          query: `mutation($input: CreateRegisteredModelInput!) {
            createRegisteredModel(input: $input) { ... on RegisteredModelPayload { events { correlationId actor { displayName credential { kind } } } } }
          }`,
          variables: { input: { name } },
        })
        .next();
      expect(result.value?.data).toEqual({
        createRegisteredModel: {
          events: [
            {
              correlationId: "req-from-ws-42",
              actor: { displayName: LOCAL_ADMIN, credential: { kind: "LOCAL" } },
            },
          ],
        },
      });
    } finally {
      await client.dispose();
    }
  });

  it("serves GraphiQL configured for subscriptions over WebSocket, and refuses upgrades on other paths", async () => {
    const response = await fetch(s.graphqlUrl, { headers: { accept: "text/html" } });
    const html = await response.text();
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(html).toMatch(/subscriptionsProtocol["']?\s*:\s*["']WS["']/);
    const socket = new WebSocket(`${s.wsUrl.replace("/graphql", "/elsewhere")}`, "graphql-transport-ws");
    const status = await new Promise<number | undefined>((resolve) => {
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      socket.on("error", () => resolve(undefined));
    });
    expect(status).toBe(404);
  });
});

describe("connection lifecycle", () => {
  it("pings WebSocket clients and drops one that stops answering", async () => {
    const s = await startServer("sqlite", { subscriptions: { webSocketKeepAliveMs: 100 } });
    try {
      const open = (autoPong: boolean) =>
        new Promise<WebSocket>((resolve) => {
          const socket = new WebSocket(s.wsUrl, "graphql-transport-ws", { autoPong });
          socket.once("open", () => resolve(socket));
        });
      const healthy = await open(true);
      const silent = await open(false);
      let pings = 0;
      healthy.on("ping", () => pings++);
      const silentClosed = new Promise<number>((resolve) => silent.once("close", (code) => resolve(code)));
      expect(await silentClosed).toBe(1006); // terminated without a closing handshake
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(pings).toBeGreaterThanOrEqual(2);
      expect(healthy.readyState).toBe(WebSocket.OPEN);
      healthy.close();
    } finally {
      await s.close();
    }
  });

  it("closes WebSockets with 1001 Going Away and ends SSE streams before the server stops", async () => {
    const s = await startServer("sqlite");
    const socket = new WebSocket(s.wsUrl, "graphql-transport-ws");
    const messages: any[] = [];
    socket.on("message", (data) => messages.push(JSON.parse((data as Buffer).toString("utf8"))));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await eventually(() => messages.some((m) => m.type === "connection_ack"));
    socket.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: "subscription { registryEvents { position } }" },
      }),
    );
    const sse = await sseSubscribe(s.graphqlUrl, "subscription { registryEvents { position } }");
    await eventually(() => s.registro.liveEvents.hub.subscriberCount === 2);
    const closed = new Promise<[number, string]>((resolve) =>
      socket.once("close", (code, reason) => resolve([code, String(reason)])),
    );
    const started = Date.now();
    await s.close();
    expect(await closed).toEqual([1001, "Going away"]);
    await sse.finished();
    expect(sse.events.at(-1)).toEqual({ event: "complete", data: null });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
