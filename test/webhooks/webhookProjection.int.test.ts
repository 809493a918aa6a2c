// The webhooks table is a projection: rebuilt from the `webhook:<id>` streams, it is what the inline
// projection wrote.
import { afterEach, describe, expect, it } from "vitest";
import { systemActor } from "../../src/access/actor.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import {
  deleteWebhook,
  disableWebhook,
  registerWebhook,
  updateWebhook,
} from "../../src/webhooks/webhookCommands.ts";
import { newWebhookSecret } from "../../src/webhooks/signing.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const meta = { actor: systemActor("test"), correlationId: null };

describe.each(await providers())("the webhook projection on %s", (provider) => {
  let close: () => Promise<void> = () => Promise.resolve();
  afterEach(() => close());

  it("is rebuilt from the log exactly as the commands left it; secrets and cursors are untouched", async () => {
    const t = await openTestDatabase(provider);
    close = () => t.close();
    const deps = { db: t.db, clock: () => new Date("2026-12-05T10:00:00Z") };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await registerWebhook(
        deps,
        {
          ownerId: "p1",
          url: `https://hooks.example.com/${i}`,
          eventTypes: ["ModelVersionCreated"],
          models: i === 0 ? null : ["m"],
          description: null,
          secret: newWebhookSecret(),
        },
        meta,
      );
      if (outcome instanceof DomainError) throw outcome;
      ids.push(outcome.id);
    }
    await updateWebhook(
      deps,
      ids[0]!,
      { url: "https://x.example/", eventTypes: ["RegisteredModelCreated"], models: null, description: "d" },
      meta,
    );
    await disableWebhook(deps, ids[1]!, "FAILING", "HTTP 503", meta);
    await deleteWebhook(deps, ids[2]!, meta);
    const read = () =>
      t.db.query(
        "SELECT id, owner_id, url, description, event_types, models, enabled, disabled_reason, disabled_detail, revision FROM webhooks ORDER BY id",
      );
    const before = await read();
    expect(before).toHaveLength(2);
    const secrets = await t.db.query("SELECT webhook_id FROM webhook_secrets ORDER BY webhook_id");
    await t.db.write((tx) => tx.execute("UPDATE webhooks SET url = 'tampered'"));
    await rebuildProjections(t.db);
    expect(await read()).toEqual(before);
    expect(await t.db.query("SELECT webhook_id FROM webhook_secrets ORDER BY webhook_id")).toEqual(secrets);
    expect(secrets).toHaveLength(2);
  });
});
