// Access events end the running subscriptions they concern at once, not at the periodic re-check:
// CREDENTIAL_RECHECK_MS is a minute here, and a role taken away, a removed team membership, a
// revoked token or a disabled principal must end the subscriber's stream within seconds (with
// ACCESS_CHANGED, or UNAUTHENTICATED for credentials no longer accepted). The same changes to
// another principal leave it running. On PostgreSQL, a change committed through one instance ends a
// subscription running on another.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { eventually, mutate, record, sseSubscribe, startServer, tag, wsClient } from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

/** Far longer than any test waits: only an access event can end a stream in time. */
const RECHECK_MS = 60_000;
/** How soon a stream must end after the change that ends it. */
const PROMPTLY_MS = 5_000;
const auth = { defaultModelPermission: null, credentialRecheckMs: RECHECK_MS };

const QUERY = `subscription { registryEvents { type cursor data } }`;

interface Subscriber {
  data(): { type: string; cursor: string; data: { key?: string; value?: string } }[];
  errors(): { message: string; extensions?: Record<string, unknown> }[];
  ended(): boolean;
  close(): Promise<void>;
}

async function subscribe(
  transport: "websocket" | "sse",
  server: SubscriptionServer,
  secret: string,
): Promise<Subscriber> {
  const authorization = `Bearer ${secret}`;
  if (transport === "websocket") {
    const client = wsClient(server.wsUrl, { connectionParams: { authorization } });
    const recorder = record(client, QUERY);
    return {
      data: () => recorder.data.map((d) => d.registryEvents),
      errors: () => recorder.results.flatMap((r) => (r.errors ?? []) as never[]),
      ended: () => recorder.completed || recorder.error !== undefined,
      close: () => client.dispose() as Promise<void>,
    };
  }
  const sse = await sseSubscribe(server.graphqlUrl, QUERY, {}, { authorization });
  expect(sse.response.status).toBe(200);
  return {
    data: () => sse.next().flatMap((r) => (r.data ? [r.data.registryEvents] : [])),
    errors: () => sse.next().flatMap((r) => r.errors ?? []),
    ended: () => sse.ended || sse.events.some((e) => e.event === "complete"),
    close: () => sse.close(),
  };
}

/** Principals, teams and models made by the local administrator of `server`. */
function directory(server: () => SubscriptionServer, prefix: string) {
  let n = 0;
  const admin = (field: string, input: Record<string, unknown>, select = "") =>
    mutate(server().graphqlUrl, field, input, select);
  return {
    admin,
    /** A service account with this role and a read/write token for it. */
    account: async (role: string) => {
      n += 1;
      const created = await admin(
        "createServiceAccount",
        { displayName: `${prefix}-account-${n}`, role },
        "... on PrincipalPayload { principal { id } }",
      );
      const id = created.principal.id as string;
      const token = await admin(
        "createApiToken",
        { principalId: id, name: "t", scopes: ["READ", "WRITE"] },
        "... on CreateApiTokenPayload { secret token { id } }",
      );
      return { id, secret: token.secret as string, tokenId: token.token.id as string };
    },
    team: async (...memberIds: string[]) => {
      n += 1;
      const created = await admin(
        "createTeam",
        { name: `${prefix}-team-${n}` },
        "... on TeamPayload { team { id } }",
      );
      const teamId = created.team.id as string;
      for (const principalId of memberIds) await admin("addTeamMember", { teamId, principalId });
      return teamId;
    },
    /** A private model only the local administrator manages. */
    model: async () => {
      n += 1;
      const name = `${prefix}-model-${n}`;
      await admin("createRegisteredModel", { name });
      return name;
    },
  };
}

/** Tags `name` until the subscriber has an event of it: the subscription is then surely live. */
async function live(server: SubscriptionServer, subscriber: Subscriber, name: string) {
  await eventually(
    async () => {
      await tag(server.graphqlUrl, name, "probe", String(Date.now()));
      return subscriber.data().length > 0;
    },
    10_000,
    "the subscription to deliver",
  );
}

/** Ends within PROMPTLY_MS of `since` with one error of `code`, carrying the cursor of the last event it got. */
async function endedWith(subscriber: Subscriber, code: string, since: number) {
  await eventually(() => subscriber.ended(), PROMPTLY_MS, `the subscription to end with ${code}`);
  expect(performance.now() - since).toBeLessThan(PROMPTLY_MS);
  const errors = subscriber.errors();
  expect(errors).toHaveLength(1);
  expect(errors[0]!.extensions).toEqual({ code, cursor: subscriber.data().at(-1)!.cursor });
}

describe.each(await providers())("access events and running subscriptions on %s", (provider) => {
  let server: SubscriptionServer;
  beforeAll(async () => {
    server = await startServer(provider, { auth });
  }, 60_000);
  afterAll(async () => server?.close());
  const { admin, account, team, model } = directory(() => server, provider);

  describe.each(["websocket", "sse"] as const)("over %s", (transport) => {
    it("ends with ACCESS_CHANGED at once when the subscriber's role no longer reads every model", async () => {
      const auditor = await account("AUDITOR");
      const secret = await model();
      const subscriber = await subscribe(transport, server, auditor.secret);
      try {
        await live(server, subscriber, secret);
        const changed = performance.now();
        await admin("setPrincipalRole", { principalId: auditor.id, role: "VIEWER" });
        await endedWith(subscriber, "ACCESS_CHANGED", changed);
      } finally {
        await subscriber.close();
      }
    });

    it("ends with ACCESS_CHANGED at once when a removed team membership takes a model away", async () => {
      const watcher = await account("MEMBER");
      const teamId = await team(watcher.id);
      const secret = await model();
      await admin("grantModelPermission", { name: secret, teamId, permission: "READ" });
      const subscriber = await subscribe(transport, server, watcher.secret);
      try {
        await live(server, subscriber, secret);
        const changed = performance.now();
        await admin("removeTeamMember", { teamId, principalId: watcher.id });
        await endedWith(subscriber, "ACCESS_CHANGED", changed);
      } finally {
        await subscriber.close();
      }
    });
  });

  it("ends with UNAUTHENTICATED at once when the subscriber's token is revoked", async () => {
    const auditor = await account("AUDITOR");
    const secret = await model();
    const subscriber = await subscribe("websocket", server, auditor.secret);
    try {
      await live(server, subscriber, secret);
      const changed = performance.now();
      await admin("revokeApiToken", { tokenId: auditor.tokenId });
      await endedWith(subscriber, "UNAUTHENTICATED", changed);
    } finally {
      await subscriber.close();
    }
  });

  it("ends with UNAUTHENTICATED at once when the subscriber's principal is disabled", async () => {
    const auditor = await account("AUDITOR");
    const secret = await model();
    const subscriber = await subscribe("sse", server, auditor.secret);
    try {
      await live(server, subscriber, secret);
      const changed = performance.now();
      await admin("disablePrincipal", { principalId: auditor.id });
      await endedWith(subscriber, "UNAUTHENTICATED", changed);
    } finally {
      await subscriber.close();
    }
  });

  it("keeps running through the same changes to another principal, even one of its own team", async () => {
    const watcher = await account("AUDITOR");
    const other = await account("AUDITOR");
    const teamId = await team(watcher.id, other.id);
    const secret = await model();
    const subscriber = await subscribe("websocket", server, watcher.secret);
    try {
      await live(server, subscriber, secret);
      await admin("setPrincipalRole", { principalId: other.id, role: "VIEWER" });
      await admin("removeTeamMember", { teamId, principalId: other.id });
      await admin("revokeApiToken", { tokenId: other.tokenId });
      await admin("disablePrincipal", { principalId: other.id });
      // Time for any re-check those events set off to finish.
      await new Promise((resolve) => setTimeout(resolve, 500));
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

const postgres = (await providers()).includes("postgresql");

describe.skipIf(!postgres)("access events across two instances on one PostgreSQL database", () => {
  let database: TestDatabase;
  let a: SubscriptionServer;
  let b: SubscriptionServer;
  beforeAll(async () => {
    database = await createTestDatabase("postgresql");
    a = await startServer("postgresql", { database, auth });
    b = await startServer("postgresql", { database, auth, blobDir: a.registro.blobs.location });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.destroy();
  });
  const { admin, account, team, model } = directory(() => a, "two");

  it("a role change committed on A ends a subscription running on B at once", async () => {
    const auditor = await account("AUDITOR");
    const secret = await model();
    const subscriber = await subscribe("websocket", b, auditor.secret);
    try {
      await live(a, subscriber, secret);
      const changed = performance.now();
      await admin("setPrincipalRole", { principalId: auditor.id, role: "VIEWER" });
      await endedWith(subscriber, "ACCESS_CHANGED", changed);
    } finally {
      await subscriber.close();
    }
  });

  it("a team membership removed on A ends a subscription running on B at once; another member's does not", async () => {
    const watcher = await account("MEMBER");
    const other = await account("MEMBER");
    const teamId = await team(watcher.id, other.id);
    const secret = await model();
    await admin("grantModelPermission", { name: secret, teamId, permission: "READ" });
    const subscriber = await subscribe("websocket", b, watcher.secret);
    try {
      await live(a, subscriber, secret);
      await admin("removeTeamMember", { teamId, principalId: other.id });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(subscriber.ended()).toBe(false);
      const changed = performance.now();
      await admin("removeTeamMember", { teamId, principalId: watcher.id });
      await endedWith(subscriber, "ACCESS_CHANGED", changed);
    } finally {
      await subscriber.close();
    }
  });
});
