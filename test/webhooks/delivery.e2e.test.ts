// Webhook delivery end to end: a receiver on 127.0.0.1 verifies every signature with the
// `standardwebhooks` library; a receiver that is down for a while gets every event afterwards, in
// order; a webhook failing past its retry window is disabled (an event of its own); redeliver and
// ping; the SSRF guard and who may do what.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { versionDefaults } from "../support/events.ts";
import { eventually, startReceiver } from "./receiver.ts";
import type { Receiver } from "./receiver.ts";

const REGISTER = `mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) {
    __typename
    ... on WebhookSecretPayload { secret webhook { id enabled cursorPosition } }
    ... on Error { code message }
    ... on WebhookTargetRefusedError { reason }
  }
}`;

describe.each(await providers())("webhook delivery on %s", (provider) => {
  let server: TestServer;
  let receiver: Receiver;
  let modelNo = 0;

  beforeAll(async () => {
    server = await startTestServer(provider, {
      webhooks: { retryBaseMs: 50, maxRetryDurationMs: 60_000, pollIntervalMs: 100 },
    });
  });
  afterAll(async () => server?.close());
  afterEach(async () => receiver?.close());

  async function ok(query: string, variables: Record<string, unknown> = {}) {
    const result = await server.gql(query, variables);
    expect(result.errors, query).toBeUndefined();
    return result.data;
  }

  async function register(input: Record<string, unknown>) {
    const data = await ok(REGISTER, { input });
    expect(data.registerWebhook.__typename, JSON.stringify(data)).toBe("WebhookSecretPayload");
    return data.registerWebhook as { secret: string; webhook: { id: string } };
  }

  async function newModel(): Promise<string> {
    const name = `m${++modelNo}`;
    await ok(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
      n: name,
    });
    return name;
  }

  /** A fresh model with a webhook on its tag events, and a receiver (holding the secret) behind it. */
  async function hookedModel() {
    receiver = await startReceiver();
    const model = await newModel();
    const { secret, webhook } = await register({
      url: receiver.url,
      eventTypes: ["RegisteredModelTagSet"],
      modelNames: [model],
    });
    receiver.secret = secret;
    return { model, secret, webhook };
  }

  const tag = (name: string, i: number) =>
    ok(
      `mutation($n: String!, $v: String!) { setRegisteredModelTag(input: { name: $n, key: "k", value: $v }) { __typename } }`,
      { n: name, v: String(i) },
    );

  it("delivers a version's creation with every field, though the log stores it without its defaults", async () => {
    receiver = await startReceiver();
    const model = await newModel();
    const { secret } = await register({
      url: receiver.url,
      eventTypes: ["ModelVersionCreated"],
      modelNames: [model],
    });
    receiver.secret = secret;
    await ok(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/1" }) { __typename } }`,
      { n: model },
    );
    await eventually(() => receiver.received.length >= 1, 10_000, "the delivery");
    expect(receiver.received[0]?.message.data.payload).toEqual({
      version: 1,
      source: "s3://b/1",
      ...versionDefaults(),
    });
    const stored = await server.registro.db.reader.event.findFirstOrThrow({
      where: { position: receiver.received[0]?.message.data.position },
    });
    expect(stored.data).toEqual({ version: 1, source: "s3://b/1" });
  });

  it("signs every delivery so that standardwebhooks verifies it, with the documented payload", async () => {
    const { model, secret, webhook } = await hookedModel();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const other = await newModel();
    await tag(other, 0); // another model: not delivered
    await tag(model, 1);
    await ok(
      `mutation($n: String!) { updateRegisteredModel(input: { name: $n, description: "d" }) { __typename } }`,
      {
        n: model,
      },
    ); // another type: not delivered
    await tag(model, 2);
    await eventually(() => receiver.received.length >= 2, 10_000, "two deliveries");
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(2);
    for (const r of receiver.received) {
      expect(r.verified).toBe(true);
      expect(r.id).toBe(`msg_${webhook.id}_${r.message.data.position}`);
      expect(Number(r.timestamp)).toBeCloseTo(Date.now() / 1000, -2);
    }
    const [first, second] = receiver.received.map((r) => r.message);
    expect(first).toMatchObject({
      type: "RegisteredModelTagSet",
      data: {
        model: { name: model },
        payload: { key: "k", value: "1" },
        actor: { displayName: "local-admin" },
      },
    });
    expect(second?.data.payload.value).toBe("2");
    expect(second!.data.position).toBeGreaterThan(first!.data.position);
    // A tampered body or another secret does not verify: the check could fail.
    receiver.secret = "whsec_" + Buffer.alloc(32, 1).toString("base64");
    await ok(`mutation($id: ID!) { pingWebhook(input: { id: $id }) { __typename } }`, { id: webhook.id });
    expect(receiver.received.at(-1)?.verified).toBe(false);

    const log = await ok(
      `query($id: ID!) { webhook(id: $id) { cursorPosition lag deliveries(first: 10) { totalCount edges { node { status kind responseCode attempt messageId latencyMs } } } } }`,
      { id: webhook.id },
    );
    expect(log.webhook.deliveries.totalCount).toBe(3);
    expect(log.webhook.deliveries.edges.map((e: any) => e.node.kind)).toEqual(["PING", "NORMAL", "NORMAL"]);
    expect(log.webhook.deliveries.edges[1].node).toMatchObject({
      status: "SUCCEEDED",
      responseCode: 204,
      attempt: 1,
    });
  });

  it("delivers every event in order after the receiver was down for a while", async () => {
    const { model, webhook } = await hookedModel();
    receiver.behaviour = "down";
    for (let i = 0; i < 10; i++) await tag(model, i);
    await eventually(() => receiver.received.length >= 3, 10_000, "retries while down");
    // Head-of-line: while the first fails, nothing behind it is sent.
    expect(new Set(receiver.received.map((r) => r.message.data.payload.value))).toEqual(new Set(["0"]));
    const failing = await ok(
      `query($id: ID!) { webhook(id: $id) { failingAttempts nextAttemptAt enabled } }`,
      { id: webhook.id },
    );
    expect(failing.webhook.failingAttempts).toBeGreaterThanOrEqual(1);
    expect(failing.webhook.enabled).toBe(true);
    receiver.behaviour = "up";
    for (let i = 10; i < 15; i++) await tag(model, i);
    await eventually(() => receiver.accepted().length >= 15, 20_000, "all 15 deliveries");
    await new Promise((r) => setTimeout(r, 200));
    const values = receiver.accepted().map((r) => r.message.data.payload.value);
    expect(values).toEqual(Array.from({ length: 15 }, (_, i) => String(i)));
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    // Retries carried the same webhook-id as the attempt that failed.
    const firstIds = new Set(
      receiver.received.filter((r) => r.message.data.payload.value === "0").map((r) => r.id),
    );
    expect(firstIds.size).toBe(1);
  });

  it("delivers a backlog back to back, without waiting for the safety poll", async () => {
    await server.registro.close();
    server = await startTestServer(provider, { webhooks: { pollIntervalMs: 60_000, retryBaseMs: 50 } });
    const { model } = await hookedModel();
    receiver.behaviour = "down";
    await tag(model, 0);
    await eventually(() => receiver.received.length >= 1, 5_000, "the first attempt");
    // The retry timer (not the poll) brings the queue back; everything behind it follows at once.
    for (let i = 1; i < 30; i++) await tag(model, i);
    receiver.behaviour = "up";
    // Well within the 60 s poll, which alone would take a minute: about 0.8 s on SQLite and 2 s on
    // PostgreSQL on a busy machine, 6.4 s once under the full suite, so the wait is not 5 s.
    await eventually(() => receiver.accepted().length >= 30, 25_000, "the whole backlog");
    expect(receiver.accepted().map((r) => r.message.data.payload.value)).toEqual(
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
  }, 40_000);

  it("disables a webhook failing past its retry window, with a WebhookDisabled event; enabling resumes from the failed event", async () => {
    await server.registro.close();
    server = await startTestServer(provider, {
      webhooks: { retryBaseMs: 20, maxRetryDurationMs: 300, pollIntervalMs: 50 },
    });
    const { model, secret, webhook } = await hookedModel();
    receiver.behaviour = "down";
    await tag(model, 1);
    await tag(model, 2);
    const disabled = await eventually(
      async () => {
        const d = await ok(`query($id: ID!) { webhook(id: $id) { enabled disabledReason disabledDetail } }`, {
          id: webhook.id,
        });
        return d.webhook.enabled ? null : d.webhook;
      },
      10_000,
      "the webhook to be disabled",
    );
    expect(disabled.disabledReason).toBe("FAILING");
    expect(disabled.disabledDetail).toMatch(/HTTP 503/);
    const events = await server.registro.db.query<{ type: string; data: unknown; actor: string }>(
      "SELECT (SELECT name FROM event_types WHERE code = events.type) AS type, data, (SELECT actor FROM event_actors WHERE id = events.actor_ref) AS actor FROM events WHERE stream_id = ? ORDER BY position",
      [`webhook:${webhook.id}`],
    );
    expect(events.map((e) => e.type)).toEqual(["WebhookRegistered", "WebhookDisabled"]);
    expect(events[1]?.actor).toBe("webhooks");
    // No secret in the log.
    expect(JSON.stringify(events)).not.toContain(secret.slice(6, 20));
    const attempts = receiver.received.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received.length).toBe(attempts);
    receiver.behaviour = "up";
    await ok(`mutation($id: ID!) { enableWebhook(input: { id: $id }) { __typename } }`, { id: webhook.id });
    await eventually(() => receiver.accepted().length >= 2, 10_000, "the backlog after enabling");
    expect(receiver.accepted().map((r) => r.message.data.payload.value)).toEqual(["1", "2"]);
  });

  it("redelivers a delivery with the same webhook-id, and pings", async () => {
    const { model, webhook } = await hookedModel();
    await tag(model, 7);
    const log = await eventually(
      async () => {
        const d = await ok(`query($id: ID!) { webhook(id: $id) { lastDelivery { id messageId } } }`, {
          id: webhook.id,
        });
        return d.webhook.lastDelivery ? d : null;
      },
      10_000,
      "the delivery in the log",
    );
    const again = await ok(
      `mutation($id: ID!) { redeliverWebhookDelivery(input: { id: $id }) { __typename ... on WebhookDeliveryPayload { delivery { kind status attempt messageId } } } }`,
      { id: log.webhook.lastDelivery.id },
    );
    expect(again.redeliverWebhookDelivery.delivery).toMatchObject({
      kind: "REDELIVERY",
      status: "SUCCEEDED",
      attempt: 2,
      messageId: log.webhook.lastDelivery.messageId,
    });
    expect(receiver.received.map((r) => r.id)).toEqual([
      log.webhook.lastDelivery.messageId,
      log.webhook.lastDelivery.messageId,
    ]);
    expect(receiver.received[1]?.verified).toBe(true);

    const ping = await ok(
      `mutation($id: ID!) { pingWebhook(input: { id: $id }) { __typename ... on WebhookDeliveryPayload { delivery { kind status responseCode } } } }`,
      { id: webhook.id },
    );
    expect(ping.pingWebhook.delivery).toMatchObject({ kind: "PING", status: "SUCCEEDED", responseCode: 204 });
    expect(receiver.received.at(-1)?.message).toMatchObject({
      type: "registro.ping",
      data: { webhookId: webhook.id },
    });
    expect(receiver.received.at(-1)?.verified).toBe(true);

    // Rotation: the old secret stops at once.
    const rotated = await ok(
      `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id }) { ... on WebhookSecretPayload { secret } } }`,
      { id: webhook.id },
    );
    await ok(`mutation($id: ID!) { pingWebhook(input: { id: $id }) { __typename } }`, { id: webhook.id });
    expect(receiver.received.at(-1)?.verified).toBe(false);
    receiver.secret = rotated.rotateWebhookSecret.secret;
    await ok(`mutation($id: ID!) { pingWebhook(input: { id: $id }) { __typename } }`, { id: webhook.id });
    expect(receiver.received.at(-1)?.verified).toBe(true);
  });

  it("records a receiver's answer holding NUL and a character cut in two, on both databases", async () => {
    // 1,023 characters and then an emoji: the 1,024-character excerpt would end in half of it.
    const answer = `a\u0000b${"c".repeat(1020)}\u{1f600}tail`;
    const target = http.createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(answer);
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    try {
      const { webhook } = await register({
        url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`,
        eventTypes: ["RegisteredModelCreated"],
      });
      const ping = await ok(
        `mutation($id: ID!) { pingWebhook(input: { id: $id }) { __typename ... on WebhookDeliveryPayload { delivery { status responseBody } } } }`,
        { id: webhook.id },
      );
      expect(ping.pingWebhook.delivery.status).toBe("SUCCEEDED");
      expect(ping.pingWebhook.delivery.responseBody).toBe(`a\ufffdb${"c".repeat(1020)}`);
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it("refuses internal targets with WebhookTargetRefusedError unless allowed", async () => {
    for (const url of [
      "http://10.0.0.1/h",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]:8080/",
      "http://127.1:9/",
      "http://0x7f.0.0.1/",
      "http://[::ffff:127.0.0.2]/",
      "http://192.168.1.1/",
    ]) {
      const data = await ok(REGISTER, { input: { url, eventTypes: ["RegisteredModelCreated"] } });
      if (url.startsWith("http://127.1") || url.startsWith("http://0x7f")) {
        // 127.0.0.1 is allow-listed in tests: these spellings of it are accepted.
        expect(data.registerWebhook.__typename, url).toBe("WebhookSecretPayload");
        continue;
      }
      expect(data.registerWebhook, url).toMatchObject({
        __typename: "WebhookTargetRefusedError",
        code: "WEBHOOK_TARGET_REFUSED",
      });
    }
    const bad = await ok(REGISTER, {
      input: { url: "ftp://example.com/", eventTypes: ["RegisteredModelCreated"] },
    });
    expect(bad.registerWebhook).toMatchObject({ __typename: "ValidationError" });
    // Only as written: the URL parser would repair these into another URL than the one shown.
    for (const url of [
      " http://127.0.0.1/",
      "http://127.0.0.1/ ",
      "https:127.0.0.1/hook",
      "http://127.0.0.1:0/",
    ]) {
      const refused = await ok(REGISTER, { input: { url, eventTypes: ["RegisteredModelCreated"] } });
      expect(refused.registerWebhook, url).toMatchObject({ __typename: "ValidationError" });
    }
    const creds = await ok(REGISTER, {
      input: { url: "http://u:p@127.0.0.1/", eventTypes: ["RegisteredModelCreated"] },
    });
    expect(creds.registerWebhook).toMatchObject({ __typename: "ValidationError" });
    const secret = await ok(REGISTER, {
      input: { url: "http://127.0.0.1/", eventTypes: ["RegisteredModelCreated"], secret: "whsec_short" },
    });
    expect(secret.registerWebhook).toMatchObject({ __typename: "ValidationError" });
    const missing = await ok(REGISTER, {
      input: { url: "http://127.0.0.1/", eventTypes: ["RegisteredModelCreated"], modelNames: ["nope"] },
    });
    expect(missing.registerWebhook).toMatchObject({ __typename: "NotFoundError" });
  });
});
