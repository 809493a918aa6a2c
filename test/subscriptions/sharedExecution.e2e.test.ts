// Issue 18, fan-out: a subscription event is executed once per group of subscribers that would get
// the same result (same document, variables and caller), not once per subscriber
// (src/graphql/sharedSubscriptionExecution.ts). What each subscriber receives must not change:
// callers with different rights on the same document get their own results (or nothing), and a
// subscriber whose connection goes away while an event is being executed for its group takes
// nobody else's notification with it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually, record, wsClient } from "./support.ts";

type Json = any;

const STAGES = `subscription($name: String) {
  modelVersionStageChanged(name: $name) { version stage cursor modelVersion { version model { name myPermission } } } }`;
const TRANSITION = `mutation($input: TransitionModelVersionStageInput!) {
  transitionModelVersionStage(input: $input) { __typename ... on ModelVersionPayload { events { position } } } }`;

interface Persona {
  readonly id: string;
  readonly headers: Record<string, string>;
}

describe.each(await providers())("one execution per group of subscribers (%s)", (provider) => {
  let server: TestServer;
  let wsUrl: string;
  /** Read queries of model versions (the `modelVersion` field of a notification reads one). */
  let versionReads = 0;
  /** Called on every read query while set (to act in the middle of a fan-out). */
  let onRead: (() => void) | null = null;
  let owner: Persona;
  let reader: Persona;
  let prober: Persona;
  /** Promotions per model so far: each alternates the version between Production and Staging. */
  const promotions = new Map<string, number>();

  const gql = (query: string, variables: Record<string, unknown> = {}, who?: Persona) =>
    server.gql<Json>(query, variables, who?.headers);
  const clientOf = (who?: Persona) =>
    wsClient(wsUrl, who ? { connectionParams: { authorization: who.headers.authorization } } : {});
  const subscribers = (count: number) =>
    eventually(
      () => server.registro.liveEvents.hub.subscriberCount === count,
      10_000,
      `${count} subscribers`,
    );

  /** Moves version 1 of `name` to the next stage as `who`; returns the event's position. */
  async function promote(name: string, who?: Persona): Promise<number> {
    const count = (promotions.get(name) ?? 0) + 1;
    promotions.set(name, count);
    const to = count % 2 === 1 ? "PRODUCTION" : "STAGING";
    const answer = await gql(TRANSITION, { input: { name, version: 1, stage: to } }, who);
    expect(answer.data.transitionModelVersionStage.__typename, JSON.stringify(answer)).toBe(
      "ModelVersionPayload",
    );
    return answer.data.transitionModelVersionStage.events[0].position as number;
  }

  async function persona(displayName: string): Promise<Persona> {
    const created = await gql(
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) {
        ... on PrincipalPayload { principal { id } } } }`,
      { input: { displayName, role: "MEMBER" } },
    );
    const id = created.data.createServiceAccount.principal.id as string;
    const token = await gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: id, name: `${displayName}-token`, scopes: ["READ", "WRITE"] } },
    );
    return { id, headers: { authorization: `Bearer ${token.data.createApiToken.secret as string}` } };
  }

  async function model(name: string, who: Persona) {
    for (const [field, input] of [
      ["createRegisteredModel", { name }],
      ["createModelVersion", { name, source: `s3://${name}/1` }],
    ] as const) {
      const type = `${field.charAt(0).toUpperCase()}${field.slice(1)}Input`;
      const answer = await gql(
        `mutation($input: ${type}!) { ${field}(input: $input) { __typename } }`,
        { input },
        who,
      );
      expect(answer.data[field].__typename).toMatch(/Payload$/);
    }
  }

  beforeAll(async () => {
    // Models are private to their grantees, so rights differ from one caller to the next.
    server = await startTestServer(provider, {
      auth: { mode: "local", defaultModelPermission: null },
      onReadQuery: (sql) => {
        if (/\bmodel_versions\b/.test(sql) && !/\bevents\b/.test(sql)) versionReads++;
        onRead?.();
      },
    });
    wsUrl = server.graphqlUrl.replace(/^http/, "ws");
    owner = await persona("owner");
    reader = await persona("reader");
    prober = await persona("prober");
    await model("shared-model", owner);
    const grant = await gql(
      `mutation($input: GrantModelPermissionInput!) { grantModelPermission(input: $input) { __typename } }`,
      { input: { name: "shared-model", principalId: reader.id, permission: "READ" } },
      owner,
    );
    expect(grant.data.grantModelPermission.__typename).toMatch(/Payload$/);
    await model("prober-model", prober);
  });

  afterAll(async () => {
    await server?.close();
  });

  it("gives callers with different rights on the same document their own results, and one without rights nothing", async () => {
    const clients = [clientOf(owner), clientOf(owner), clientOf(reader), clientOf(prober), clientOf()];
    const [ownerA, ownerB, read, probe, admin] = clients.map((client) =>
      record(client, STAGES, { name: "shared-model" }),
    );
    // The prober's own model, with the same document: its notification marks the end of the round.
    const probeOwn = record(clients[3]!, STAGES, { name: "prober-model" });
    try {
      await subscribers(6);
      const before = { ...server.registro.liveEvents.executions };
      const position = await promote("shared-model", owner);
      const received = await Promise.all([ownerA!, ownerB!, read!, admin!].map((r) => r.waitFor(1)));
      const permissions = received.map(([n]) => n.modelVersionStageChanged.modelVersion.model.myPermission);
      expect(permissions).toEqual(["MANAGE", "MANAGE", "READ", "MANAGE"]);
      for (const [n] of received) expect(n.modelVersionStageChanged.version).toBe(1);
      // Three groups (owner, reader, administrator): three executions, and the owner's second
      // connection got the first's.
      const after = server.registro.liveEvents.executions;
      expect(after.executed - before.executed).toBe(3);
      expect(after.shared - before.shared).toBe(1);

      expect(await promote("prober-model", prober)).toBeGreaterThan(position);
      const [own] = await probeOwn.waitFor(1);
      expect(own.modelVersionStageChanged.modelVersion.model).toEqual({
        name: "prober-model",
        myPermission: "MANAGE",
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(probe!.results).toEqual([]);
      expect(probe!.error).toBeUndefined();
      for (const r of [ownerA!, ownerB!, read!, admin!]) expect(r.results).toHaveLength(1);
    } finally {
      for (const client of clients) void client.dispose();
      await subscribers(0);
    }
  });

  it("executes an event once for many subscribers of one group: one read of the version, not one each", async () => {
    const readsFor = async (count: number) => {
      const clients = Array.from({ length: count }, () => clientOf(reader));
      const recorders = clients.map((client) => record(client, STAGES, { name: "shared-model" }));
      try {
        await subscribers(count);
        const executed = server.registro.liveEvents.executions.executed;
        const reads = versionReads;
        await promote("shared-model", owner);
        const received = await Promise.all(recorders.map((r) => r.waitFor(1)));
        const stages = new Set(received.map(([n]) => n.modelVersionStageChanged.stage));
        expect(stages.size).toBe(1);
        expect(server.registro.liveEvents.executions.executed - executed).toBe(1);
        return versionReads - reads;
      } finally {
        for (const client of clients) void client.dispose();
        await subscribers(0);
      }
    };
    const one = await readsFor(1);
    expect(one).toBeGreaterThan(0);
    expect(await readsFor(8)).toBe(one);
  });

  it("keeps notifying the others when subscribers leave while their group's event is executed", async () => {
    const count = 12;
    const leaving = 4;
    const sockets: WebSocket[] = [];
    const nexts: Json[][] = [];
    for (let i = 0; i < count; i++) {
      const received: Json[] = [];
      nexts.push(received);
      sockets.push(
        await new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(wsUrl, "graphql-transport-ws");
          socket.on("open", () => socket.send('{"type":"connection_init","payload":{}}'));
          socket.on("message", (data: Buffer) => {
            const message = JSON.parse(data.toString("utf8"));
            if (message.type === "connection_ack") {
              const payload = { query: STAGES, variables: { name: "shared-model" } };
              socket.send(JSON.stringify({ id: "s", type: "subscribe", payload }));
              resolve(socket);
            } else received.push(message);
          });
          socket.on("error", reject);
        }),
      );
    }
    try {
      await subscribers(count);
      // The first subscribers (the first to reach the event, one of which executes it for all) go
      // away while the version is read for their group's execution.
      let cut = false;
      onRead = () => {
        if (cut) return;
        cut = true;
        for (const socket of sockets.slice(0, leaving)) socket.terminate();
      };
      const first = await promote("shared-model", owner);
      await eventually(() => nexts.slice(leaving).every((m) => m.length >= 1), 10_000, "the first event");
      expect(cut).toBe(true);
      onRead = null;
      await subscribers(count - leaving);
      const second = await promote("shared-model", owner);
      await eventually(() => nexts.slice(leaving).every((m) => m.length >= 2), 10_000, "the second event");
      for (const messages of nexts.slice(leaving)) {
        expect(messages.map((m) => m.type)).toEqual(["next", "next"]);
        const changes = messages.map((m) => m.payload.data.modelVersionStageChanged);
        expect(messages.every((m) => m.payload.errors === undefined)).toBe(true);
        expect(changes.map((c) => c.modelVersion.model.name)).toEqual(["shared-model", "shared-model"]);
        expect(changes[0].stage).not.toBe(changes[1].stage);
      }
      expect(second).toBeGreaterThan(first);
    } finally {
      onRead = null;
      for (const socket of sockets) socket.terminate();
      await subscribers(0);
    }
  });
});
