// A webhook on every model delivers only the events of models its owner can read when the event is
// delivered; an owner who is disabled receives nothing more.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually, startReceiver } from "./receiver.ts";
import type { Receiver } from "./receiver.ts";

describe("a webhook on every model, owned by a MEMBER on a registry with private models", () => {
  let server: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    server = await startTestServer("sqlite", {
      auth: { defaultModelPermission: null },
      webhooks: { pollIntervalMs: 100 },
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  async function ok(
    query: string,
    variables: Record<string, unknown> = {},
    headers?: Record<string, string>,
  ) {
    const result = await server.gql(query, variables, headers);
    expect(result.errors, query).toBeUndefined();
    return result.data;
  }
  const tag = (name: string, value: string) =>
    ok(
      `mutation($n: String!, $v: String!) { setRegisteredModelTag(input: { name: $n, key: "k", value: $v }) { __typename } }`,
      {
        n: name,
        v: value,
      },
    );

  it("delivers the events of readable models only, and nothing once the owner is disabled", async () => {
    const member = (
      await ok(
        `mutation { createServiceAccount(input: { displayName: "ci", role: MEMBER }) { ... on PrincipalPayload { principal { id } } } }`,
      )
    ).createServiceAccount.principal.id as string;
    const token = (
      await ok(
        `mutation($p: ID) { createApiToken(input: { principalId: $p, name: "t", scopes: [READ, WRITE] }) { ... on CreateApiTokenPayload { secret } } }`,
        { p: member },
      )
    ).createApiToken.secret as string;
    for (const name of ["open", "private"])
      await ok(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
        n: name,
      });
    await ok(
      `mutation($p: ID!) { grantModelPermission(input: { name: "open", principalId: $p, permission: READ }) { __typename } }`,
      { p: member },
    );
    const registered = await ok(
      `mutation($u: String!) { registerWebhook(input: { url: $u, eventTypes: [RegisteredModelTagSet] }) { __typename ... on WebhookSecretPayload { secret webhook { ownerId models } } } }`,
      { u: receiver.url },
      { authorization: `Bearer ${token}` },
    );
    expect(registered.registerWebhook.webhook).toEqual({ ownerId: member, models: null });
    receiver.secret = registered.registerWebhook.secret;
    await tag("private", "p1");
    await tag("open", "o1");
    await eventually(() => receiver.received.length >= 1, 10_000, "the readable model's event");
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.map((r) => [r.message.data.model.name, r.message.data.payload.value])).toEqual([
      ["open", "o1"],
    ]);
    // Rights are looked up at delivery: granted now, the private model's new events arrive.
    await ok(
      `mutation($p: ID!) { grantModelPermission(input: { name: "private", principalId: $p, permission: READ }) { __typename } }`,
      { p: member },
    );
    await tag("private", "p2");
    await eventually(() => receiver.received.length >= 2, 10_000, "the newly readable model's event");
    expect(receiver.received.at(-1)?.message.data.payload.value).toBe("p2");
    await ok(`mutation($p: ID!) { disablePrincipal(input: { principalId: $p }) { __typename } }`, {
      p: member,
    });
    await tag("open", "o2");
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  });
});
