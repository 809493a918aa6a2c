// Revocation reaches every instance: two Registro instances share one PostgreSQL database; a token
// revoked through one is refused by the other at once, a subscription running on the other ends
// with UNAUTHENTICATED (and the cursor to resume from), and a revoked grant stops the other's
// subscriptions from delivering that model's events from the revocation on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { eventually, gql, mutate, record, startServer, tag, wsClient } from "../subscriptions/support.ts";
import type { SubscriptionServer } from "../subscriptions/support.ts";

const postgres = (await providers()).includes("postgresql");

async function as<T = any>(url: string, secret: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: T; errors?: any[] } };
}

describe.skipIf(!postgres)("revocation across two instances on one PostgreSQL database", () => {
  let database: TestDatabase;
  let a: SubscriptionServer;
  let b: SubscriptionServer;
  beforeAll(async () => {
    database = await createTestDatabase("postgresql");
    // Private models, and running subscriptions re-check their credentials every 100 ms.
    const auth = { defaultModelPermission: null, credentialRecheckMs: 100 };
    a = await startServer("postgresql", { database, auth });
    b = await startServer("postgresql", { database, auth, blobDir: a.registro.blobs.location });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.destroy();
  });

  /** A MEMBER service account and a read/write token for it, made by the local administrator on A. */
  async function serviceAccount(name: string) {
    const created = await mutate(
      a.graphqlUrl,
      "createServiceAccount",
      { displayName: name },
      "... on PrincipalPayload { principal { id } }",
    );
    const id = created.principal.id as string;
    const token = await mutate(
      a.graphqlUrl,
      "createApiToken",
      { principalId: id, name: `${name}-token`, scopes: ["READ", "WRITE"] },
      "... on CreateApiTokenPayload { secret token { id } }",
    );
    return { id, secret: token.secret as string, tokenId: token.token.id as string };
  }

  it("refuses a token on B on the first request after A revoked it, over HTTP and WebSocket", async () => {
    const deployer = await serviceAccount("deployer");
    const before = await as(b.graphqlUrl, deployer.secret, "{ viewer { displayName } }");
    expect(before).toEqual({ status: 200, body: { data: { viewer: { displayName: "deployer" } } } });

    await mutate(a.graphqlUrl, "revokeApiToken", { tokenId: deployer.tokenId });

    const after = await as(b.graphqlUrl, deployer.secret, "{ viewer { displayName } }");
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const client = wsClient(b.wsUrl, { connectionParams: { authorization: `Bearer ${deployer.secret}` } });
    try {
      const refused = await client
        .iterate({ query: "{ viewer { displayName } }" })
        .next()
        .then(
          () => null,
          (error: unknown) => error as { code?: number },
        );
      expect(refused?.code).toBe(4401);
    } finally {
      await client.dispose();
    }
  });

  it("ends a subscription running on B when A revokes its token, with the cursor to resume from", async () => {
    const watcher = await serviceAccount("watcher");
    await as(
      a.graphqlUrl,
      watcher.secret,
      `mutation { createRegisteredModel(input: {name: "watched"}) { __typename } }`,
    );
    const client = wsClient(b.wsUrl, { connectionParams: { authorization: `Bearer ${watcher.secret}` } });
    try {
      const events = record(client, "subscription { registryEvents { type cursor } }");
      await eventually(
        async () => {
          await tag(a.graphqlUrl, "watched", "ping", String(Date.now()));
          return events.data.length > 0;
        },
        10_000,
        "the subscription to deliver",
      );
      await mutate(a.graphqlUrl, "revokeApiToken", { tokenId: watcher.tokenId });
      await events.ended(5_000);
      // The cursor resumes right after the last event the subscriber received.
      const lastCursor = events.data.at(-1)!.registryEvents.cursor as string;
      const final = events.results.at(-1)!;
      expect(final.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", cursor: lastCursor });
      expect(final.errors?.[0]?.message).toMatch(/no longer accepted/);
    } finally {
      await client.dispose();
    }
  });

  it("stops delivering a model's events on B from the event that revoked the subscriber's grant on A", async () => {
    const reader = await serviceAccount("reader");
    await mutate(a.graphqlUrl, "createRegisteredModel", { name: "shared-model" });
    await mutate(a.graphqlUrl, "grantModelPermission", {
      name: "shared-model",
      principalId: reader.id,
      permission: "READ",
    });
    // The reader's own model, which it manages, stays visible throughout.
    const own = await as(
      b.graphqlUrl,
      reader.secret,
      `mutation { createRegisteredModel(input: {name: "readers-own"}) { __typename } }`,
    );
    expect(own.body.data).toEqual({ createRegisteredModel: { __typename: "RegisteredModelPayload" } });

    const client = wsClient(b.wsUrl, { connectionParams: { authorization: `Bearer ${reader.secret}` } });
    try {
      const events = record(client, "subscription { registryEvents { type data } }");
      // Live from here: tag until the first one arrives (the subscription is then surely running).
      await eventually(
        async () => {
          await tag(a.graphqlUrl, "shared-model", "before", String(Date.now()));
          return events.data.length > 0;
        },
        10_000,
        "the granted model's events",
      );
      // Tags sent while the subscription was starting may still be on their way: one more, awaited,
      // means all before it were delivered (delivery follows the log's order).
      await tag(a.graphqlUrl, "shared-model", "before", "last");
      await eventually(
        () => events.data.at(-1)?.registryEvents.data.value === "last",
        10_000,
        "the last event before the revocation",
      );
      const seen = events.data.length;

      await mutate(a.graphqlUrl, "revokeModelPermission", { name: "shared-model", principalId: reader.id });
      await tag(a.graphqlUrl, "shared-model", "after", "hidden");
      await as(
        b.graphqlUrl,
        reader.secret,
        `mutation { setRegisteredModelTag(input: {name: "readers-own", key: "still", value: "visible"}) { __typename } }`,
      );
      await events.waitFor(seen + 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing else may follow
      // (A "before" tag of the probing loop may still arrive late; it precedes the revocation.)
      const delivered = events.data
        .slice(seen)
        .map((d) => [d.registryEvents.type, d.registryEvents.data.key])
        .filter(([, key]) => key !== "before");
      // Neither the revocation nor anything after it on the shared model; the reader's own model goes on.
      expect(delivered).toEqual([["RegisteredModelTagSet", "still"]]);

      // And the model is gone for the reader on either instance.
      for (const server of [a, b]) {
        const lookup = await as(
          server.graphqlUrl,
          reader.secret,
          `{ registeredModel(name: "shared-model") { name } }`,
        );
        expect(lookup.body).toEqual({ data: { registeredModel: null } });
      }
      const adminView = await gql(b.graphqlUrl, `{ registeredModel(name: "shared-model") { name } }`);
      expect(adminView.data).toEqual({ registeredModel: { name: "shared-model" } });
    } finally {
      await client.dispose();
    }
  });
});
