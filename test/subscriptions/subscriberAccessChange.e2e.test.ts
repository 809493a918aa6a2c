// A running subscription follows its subscriber's own access: when a team membership is removed or
// its registry role changes so that it may read fewer models, the subscription ends (within
// CREDENTIAL_RECHECK_MS, here 100 ms) with ACCESS_CHANGED and the cursor to resume from, over
// WebSocket and SSE; resuming delivers only what it may read now. A change that takes nothing away
// leaves the subscription running. Private models (no default permission) on both providers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { eventually, mutate, record, sseSubscribe, startServer, tag, wsClient } from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

type Transport = "websocket" | "sse";

interface Subscriber {
  /** The registryEvents payloads received. */
  data(): { type: string; cursor: string; data: { key?: string; value?: string } }[];
  /** GraphQL errors received. */
  errors(): { message: string; extensions?: Record<string, unknown> }[];
  ended(): boolean;
  close(): Promise<void>;
}

const QUERY = `subscription($after: String, $filter: RegistryEventFilter) {
  registryEvents(after: $after, filter: $filter) { type cursor data }
}`;

async function subscribe(
  transport: Transport,
  server: SubscriptionServer,
  secret: string,
  variables: Record<string, unknown> = {},
): Promise<Subscriber> {
  const authorization = `Bearer ${secret}`;
  if (transport === "websocket") {
    const client = wsClient(server.wsUrl, { connectionParams: { authorization } });
    const recorder = record(client, QUERY, variables);
    return {
      data: () => recorder.data.map((d) => d.registryEvents),
      errors: () => recorder.results.flatMap((r) => (r.errors ?? []) as never[]),
      ended: () => recorder.completed || recorder.error !== undefined,
      close: () => client.dispose() as Promise<void>,
    };
  }
  const sse = await sseSubscribe(server.graphqlUrl, QUERY, variables, { authorization });
  expect(sse.response.status).toBe(200);
  return {
    data: () => sse.next().flatMap((r) => (r.data ? [r.data.registryEvents] : [])),
    errors: () => sse.next().flatMap((r) => r.errors ?? []),
    ended: () => sse.ended || sse.events.some((e) => e.event === "complete"),
    close: () => sse.close(),
  };
}

describe.each(await providers())("a subscriber's access changing on %s", (provider) => {
  let server: SubscriptionServer;
  let n = 0;
  beforeAll(async () => {
    server = await startServer(provider, {
      auth: { defaultModelPermission: null, credentialRecheckMs: 100 },
    });
  }, 60_000);
  afterAll(async () => server?.close());

  /** A mutation as the local administrator; `select` holds the payload's fragment. */
  const admin = (field: string, input: Record<string, unknown>, select = "") =>
    mutate(server.graphqlUrl, field, input, select);

  /** A service account with this role and a read/write token for it. */
  async function account(role: string) {
    n += 1;
    const created = await admin(
      "createServiceAccount",
      { displayName: `subscriber-${n}`, role },
      "... on PrincipalPayload { principal { id } }",
    );
    const id = created.principal.id as string;
    const token = await admin(
      "createApiToken",
      { principalId: id, name: "t", scopes: ["READ", "WRITE"] },
      "... on CreateApiTokenPayload { secret }",
    );
    return { id, secret: token.secret as string };
  }

  async function team(memberId: string) {
    n += 1;
    const created = await admin("createTeam", { name: `team-${n}` }, "... on TeamPayload { team { id } }");
    const teamId = created.team.id as string;
    await admin("addTeamMember", { teamId, principalId: memberId });
    return teamId;
  }

  /** A private model only the local administrator manages. */
  async function model() {
    n += 1;
    const name = `private-${n}`;
    await admin("createRegisteredModel", { name });
    return name;
  }

  /** Tags `name` until the subscriber has an event of it: the subscription is then surely live. */
  async function live(subscriber: Subscriber, name: string) {
    await eventually(
      async () => {
        await tag(server.graphqlUrl, name, "probe", String(Date.now()));
        return subscriber.data().length > 0;
      },
      10_000,
      "the subscription to deliver",
    );
  }

  /** It ended with ACCESS_CHANGED, carrying the cursor of the last event it received. */
  async function endedWithAccessChanged(subscriber: Subscriber) {
    await eventually(() => subscriber.ended(), 5_000, "the subscription to end");
    const errors = subscriber.errors();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions).toEqual({
      code: "ACCESS_CHANGED",
      cursor: subscriber.data().at(-1)!.cursor,
    });
    expect(errors[0]!.message).toMatch(/access changed/);
    return errors[0]!.extensions!.cursor as string;
  }

  describe.each(["websocket", "sse"] as const)("over %s", (transport) => {
    it("ends when a removed team membership takes a model away, and resumes without it", async () => {
      const watcher = await account("MEMBER");
      const teamId = await team(watcher.id);
      const secret = await model();
      await admin("grantModelPermission", { name: secret, teamId, permission: "READ" });
      // Another model, granted to the watcher itself, stays readable throughout.
      const own = await model();
      await admin("grantModelPermission", { name: own, principalId: watcher.id, permission: "READ" });

      const subscriber = await subscribe(transport, server, watcher.secret, {
        filter: { models: [secret, own] },
      });
      try {
        await live(subscriber, secret);
        await admin("removeTeamMember", { teamId, principalId: watcher.id });
        const cursor = await endedWithAccessChanged(subscriber);
        // Nothing of the model follows the end, and a resumed subscription holds only what it reads now.
        await tag(server.graphqlUrl, secret, "after", "hidden");
        await tag(server.graphqlUrl, own, "after", "visible");
        expect(subscriber.data().filter((e) => e.data.key === "after")).toEqual([]);
        const resumed = await subscribe(transport, server, watcher.secret, {
          after: cursor,
          filter: { models: [secret, own] },
        });
        try {
          await eventually(
            () => resumed.data().some((e) => e.data.value === "visible"),
            10_000,
            "the resumed subscription to reach the own model's tag",
          );
          expect(resumed.data().filter((e) => e.data.value === "hidden")).toEqual([]);
        } finally {
          await resumed.close();
        }
      } finally {
        await subscriber.close();
      }
    });

    it("ends when the subscriber's role no longer reads every model (AUDITOR to VIEWER)", async () => {
      const auditor = await account("AUDITOR");
      const secret = await model();
      const subscriber = await subscribe(transport, server, auditor.secret);
      try {
        await live(subscriber, secret);
        await admin("setPrincipalRole", { principalId: auditor.id, role: "VIEWER" });
        await endedWithAccessChanged(subscriber);
        await tag(server.graphqlUrl, secret, "after", "hidden");
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(subscriber.data().filter((e) => e.data.key === "after")).toEqual([]);
      } finally {
        await subscriber.close();
      }
    });

    it("keeps running through changes that take nothing away", async () => {
      const watcher = await account("MEMBER");
      const secret = await model();
      await admin("grantModelPermission", { name: secret, principalId: watcher.id, permission: "READ" });
      const subscriber = await subscribe(transport, server, watcher.secret);
      try {
        await live(subscriber, secret);
        await team(watcher.id); // a team joined
        await admin("setPrincipalRole", { principalId: watcher.id, role: "VIEWER" }); // reads the same
        await new Promise((resolve) => setTimeout(resolve, 500)); // several re-checks
        await tag(server.graphqlUrl, secret, "still", "delivered");
        await eventually(
          () => subscriber.data().some((e) => e.data.key === "still"),
          10_000,
          "the event after the changes",
        );
        expect(subscriber.ended()).toBe(false);
        expect(subscriber.errors()).toEqual([]);
      } finally {
        await subscriber.close();
      }
    });
  });
});
