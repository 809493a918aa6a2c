// The server process is killed (SIGKILL) while a delivery is in flight; restarted on the same
// database, it resumes from the webhook's cursor: every event arrives, in order, the interrupted one
// again with the same webhook-id.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/serverProcess.ts";
import { eventually, startReceiver } from "./receiver.ts";
import type { Receiver } from "./receiver.ts";

async function startServer(dataDir: string, env: Record<string, string> = {}) {
  const { child, url } = await startServerProcess({
    DATABASE_URL: `file:${path.join(dataDir, "registro.db")}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    INSPECTION: "off",
    WEBHOOK_ALLOWED_TARGETS: "127.0.0.1",
    WEBHOOK_LEASE_MS: "1000",
    WEBHOOK_RETRY_BASE_MS: "50",
    WEBHOOK_POLL_INTERVAL_MS: "100",
    WEBHOOK_TIMEOUT_MS: "60000",
    ...env,
  });
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    expect(body.errors, query).toBeUndefined();
    return body.data;
  };
  return { child, gql };
}

describe("a server killed mid-delivery", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-webhook-crash-"));
  const children: ChildProcess[] = [];
  let receiver: Receiver | undefined;
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("resumes from its cursor after a restart: no event lost, in order, the same webhook-id", async () => {
    receiver = await startReceiver();
    const first = await startServer(dataDir);
    children.push(first.child);
    await first.gql(`mutation { createRegisteredModel(input: { name: "m" }) { __typename } }`);
    const registered = await first.gql(
      `mutation($url: String!) { registerWebhook(input: { url: $url, eventTypes: [RegisteredModelTagSet], modelNames: ["m"] }) { __typename ... on WebhookSecretPayload { secret webhook { id } } } }`,
      { url: receiver.url },
    );
    receiver.secret = registered.registerWebhook.secret;
    // The receiver holds the 4th delivery open: the kill lands while it is in flight.
    receiver.behaviour = (r) => (r.message.data.payload.value === "3" ? "hang" : 204);
    for (let i = 0; i < 10; i++)
      await first.gql(
        `mutation($v: String!) { setRegisteredModelTag(input: { name: "m", key: "k", value: $v }) { __typename } }`,
        {
          v: String(i),
        },
      );
    await eventually(
      () => receiver!.received.some((r) => r.answered === "hung"),
      15_000,
      "the delivery to hang",
    );
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));
    const hung = receiver.received.find((r) => r.answered === "hung")!;
    expect(receiver.accepted().map((r) => r.message.data.payload.value)).toEqual(["0", "1", "2"]);

    receiver.behaviour = "up";
    const second = await startServer(dataDir);
    children.push(second.child);
    await eventually(() => receiver!.accepted().length >= 10, 20_000, "every delivery after the restart");
    await new Promise((r) => setTimeout(r, 300));
    const accepted = receiver.accepted();
    expect(accepted.map((r) => r.message.data.payload.value)).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    expect(accepted[3]?.id).toBe(hung.id);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const state = await second.gql(
      `query($id: ID!) { webhook(id: $id) { lag deliveries(first: 100) { totalCount } } }`,
      {
        id: registered.registerWebhook.webhook.id,
      },
    );
    // The interrupted attempt was never logged (the process died before it ended); the ten successes were.
    expect(state.webhook.deliveries.totalCount).toBe(10);
    second.child.kill("SIGTERM");
    await new Promise((resolve) => second.child.once("exit", resolve));
  }, 90_000);
});
