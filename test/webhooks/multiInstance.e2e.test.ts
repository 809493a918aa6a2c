// Two instances on one PostgreSQL database, both delivering: the leases make each delivery happen
// once. Every event committed through either instance reaches each webhook exactly once, in order.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createRegistro } from "../../src/registro.ts";
import type { Registro } from "../../src/registro.ts";
import { parseAllowList } from "../../src/webhooks/delivery/targetGuard.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { eventually, startReceiver } from "./receiver.ts";
import type { Receiver } from "./receiver.ts";

const postgres = (await providers()).includes("postgresql");

describe.skipIf(!postgres)("webhook delivery with two instances on one PostgreSQL database", () => {
  let database: TestDatabase;
  const instances: { registro: Registro; url: string; dataDir: string }[] = [];
  const receivers: Receiver[] = [];
  afterAll(async () => {
    for (const i of instances) {
      await i.registro.close();
      rmSync(i.dataDir, { recursive: true, force: true });
    }
    for (const r of receivers) await r.close();
    await database?.destroy();
  });

  async function start(name: string) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "registro-wh-"));
    const registro = await createRegistro({
      database: database.config,
      dataDir,
      // Instances of one registry share its blob store (one folder here); another is refused.
      artifacts: { dir: path.join(instances[0]?.dataDir ?? dataDir, "blobs") },
      logger: pino({ level: "silent" }),
      inspection: { enabled: false },
      auth: { osUserName: "local-admin" },
      webhooks: { allow: parseAllowList("127.0.0.1"), instanceId: name, pollIntervalMs: 100, leaseMs: 5_000 },
    });
    const address = await registro.app.listen(0, "127.0.0.1");
    const instance = { registro, url: `http://127.0.0.1:${address.port}/graphql`, dataDir };
    instances.push(instance);
    return instance;
  }

  const gql = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    expect(body.errors, query).toBeUndefined();
    return body.data;
  };

  it("delivers every event exactly once, in order, whichever instance committed it", async () => {
    database = await createTestDatabase("postgresql");
    const a = await start("instance-a");
    const b = await start("instance-b");
    await gql(a.url, `mutation { createRegisteredModel(input: { name: "m" }) { __typename } }`);
    for (let i = 0; i < 4; i++) {
      const receiver = await startReceiver();
      receivers.push(receiver);
      const created = await gql(
        (i % 2 === 0 ? a : b).url,
        `mutation($url: String!) { registerWebhook(input: { url: $url, eventTypes: [RegisteredModelTagSet] }) { ... on WebhookSecretPayload { secret } } }`,
        { url: receiver.url },
      );
      receiver.secret = created.registerWebhook.secret;
    }
    const total = 60;
    await Promise.all(
      [a, b].map(async (instance, n) => {
        for (let i = n; i < total; i += 2)
          await gql(
            instance.url,
            `mutation($v: String!) { setRegisteredModelTag(input: { name: "m", key: "k", value: $v }) { __typename } }`,
            { v: String(i) },
          );
      }),
    );
    for (const receiver of receivers)
      await eventually(() => receiver.received.length >= total, 20_000, "every delivery");
    // Long enough for a second delivery of anything to show up.
    await new Promise((r) => setTimeout(r, 1_000));
    const [log] = instances;
    const positions = (
      await log!.registro.db.query<{ position: number }>(
        "SELECT position FROM events WHERE type = (SELECT code FROM event_types WHERE name = 'RegisteredModelTagSet') ORDER BY position",
      )
    ).map((r) => Number(r.position));
    expect(positions).toHaveLength(total);
    for (const receiver of receivers) {
      expect(receiver.received.map((r) => r.message.data.position)).toEqual(positions);
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(total);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
    }
    const byInstance = await log!.registro.db.query<{ instance: string; n: unknown }>(
      "SELECT instance, COUNT(*) AS n FROM webhook_deliveries GROUP BY instance",
    );
    expect(byInstance.reduce((sum, r) => sum + Number(r.n), 0)).toBe(total * receivers.length);
  }, 60_000);
});
