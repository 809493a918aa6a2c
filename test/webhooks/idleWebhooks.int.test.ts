// Webhooks whose filters match nothing cost a commit the same statements whether there is one of
// them or a hundred: the worker reads the new page once for all cursors standing at the same
// position and moves the idle ones together, in one conditional UPDATE. Their cursors still reach
// the head (the `lag` and the cursor metric stay truthful), except one leased by another instance.
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemActor } from "../../src/access/actor.ts";
import { DEFAULT_ACCESS_POLICY } from "../../src/access/modelAccess.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { DEFAULT_DELIVERY_CONFIG, DeliveryWorker } from "../../src/webhooks/delivery/deliveryWorker.ts";
import { EMPTY_ALLOW_LIST } from "../../src/webhooks/delivery/targetGuard.ts";
import { newWebhookSecret } from "../../src/webhooks/signing.ts";
import { registerWebhook } from "../../src/webhooks/webhookCommands.ts";
import { commandDeps, createModelNamed, run } from "../support/application.ts";
import { countingDatabase } from "../support/countingDatabase.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

describe.each(await providers())("idle webhooks on %s", (provider) => {
  let close: () => Promise<void> = () => Promise.resolve();
  afterEach(() => close());

  it("cost a commit the same statements with 1 or 100 of them, and their cursors still reach the head", async () => {
    const t = await openTestDatabase(provider);
    const { db, counter } = countingDatabase(t.db);
    // As the composition root (src/registro.ts) wires it: webhook commands tell the worker.
    const deps = { ...commandDeps(t.db), onWebhooksChanged: () => worker.webhooksChanged() };
    const worker = new DeliveryWorker({
      db,
      logger: pino({ level: "silent" }),
      clock: () => new Date(),
      accessPolicy: DEFAULT_ACCESS_POLICY,
      commands: deps,
      // No safety poll during the test: only commits wake the worker.
      config: { ...DEFAULT_DELIVERY_CONFIG, allow: EMPTY_ALLOW_LIST, pollIntervalMs: 3_600_000 },
      instanceId: "test-instance",
    });
    close = async () => {
      await worker.close();
      await t.close();
    };
    await createModelNamed(deps, randomUUID(), "m");
    await worker.start();
    await worker.settled();

    const cursors = async () =>
      (await t.db.query<{ position: unknown }>("SELECT position FROM webhook_cursors")).map((r) =>
        Number(r.position),
      );
    const head = async () =>
      Number((await t.db.query<{ last: unknown }>("SELECT MAX(position) AS last FROM events"))[0]?.last ?? 0);

    const register = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const outcome = await registerWebhook(
          deps,
          {
            ownerId: "nobody",
            url: `https://hooks.example.com/${i}`,
            // The commits below are tag events: these webhooks want none of them.
            eventTypes: ["ModelVersionDeleted", "RegisteredModelAliasSet"],
            models: null,
            description: null,
            secret: newWebhookSecret(),
          },
          { actor: systemActor("test"), correlationId: null },
        );
        if (outcome instanceof DomainError) throw outcome;
      }
      // As the server does after a commit (a late PostgreSQL NOTIFY of it then wakes nothing).
      worker.committed(await head());
      await worker.settled();
    };
    let tagNo = 0;
    /** Statements the worker runs for each of a few commits (the commits' own are not counted). */
    const perCommit = async () => {
      const counts: number[] = [];
      for (let i = 0; i < 5; i++) {
        // The commit itself runs on the uncounted database; on PostgreSQL its NOTIFY may wake the
        // worker before `committed` does (and `committed` then wakes nothing).
        const before = counter.statements;
        const outcome = await run(
          deps,
          { kind: "live", name: "m" },
          {
            type: "SetRegisteredModelTag",
            data: { key: "k", value: String(tagNo++) },
          },
        );
        worker.committed(Math.max(...outcome.events.map((e) => e.position)));
        await worker.settled();
        counts.push(counter.statements - before);
      }
      return counts;
    };
    await register(1);
    const one = await perCommit();
    expect(await cursors()).toEqual([await head()]);
    await register(99);
    const hundred = await perCommit();
    // Probe, head, cursors, the page, one UPDATE, with a hundred idle webhooks as with one (the old
    // worker ran about six per webhook and commit, for at most 16 webhooks a pass: `concurrency`).
    expect(Math.max(...one)).toBeLessThanOrEqual(5);
    expect(Math.max(...hundred)).toBeLessThanOrEqual(5);
    const positions = await cursors();
    expect(positions).toHaveLength(100);
    expect(new Set(positions)).toEqual(new Set([await head()]));
    // A webhook leased by another instance (delivering it, say) is not moved by the batch.
    const [leased] = await t.db.query<{ webhook_id: string; position: unknown }>(
      "SELECT webhook_id, position FROM webhook_cursors ORDER BY webhook_id LIMIT 1",
    );
    await t.db.write((tx) =>
      tx.execute("UPDATE webhook_cursors SET lease_owner = ?, lease_expires_at = ? WHERE webhook_id = ?", [
        "other-instance",
        new Date(Date.now() + 60_000),
        leased!.webhook_id,
      ]),
    );
    await perCommit();
    const after = await t.db.query<{ webhook_id: string; position: unknown }>(
      "SELECT webhook_id, position FROM webhook_cursors",
    );
    const last = await head();
    for (const row of after)
      expect(Number(row.position), row.webhook_id).toBe(
        row.webhook_id === leased!.webhook_id ? Number(leased!.position) : last,
      );

    // One webhook more than a page of model events behind the others: its own loop catches it up
    // while the pass serves the rest; every cursor ends at the head.
    for (let i = 0; i < 210; i++)
      await run(
        deps,
        { kind: "live", name: "m" },
        { type: "SetRegisteredModelTag", data: { key: "b", value: String(i) } },
      );
    await t.db.write((tx) =>
      tx.execute("UPDATE webhook_cursors SET position = 0, lease_owner = NULL, lease_expires_at = NULL"),
    );
    const [behind] = await t.db.query<{ webhook_id: string }>(
      "SELECT webhook_id FROM webhook_cursors ORDER BY webhook_id DESC LIMIT 1",
    );
    const top = await head();
    await t.db.write((tx) =>
      tx.execute("UPDATE webhook_cursors SET position = ? WHERE webhook_id <> ?", [top, behind!.webhook_id]),
    );
    await perCommit();
    expect(new Set(await cursors())).toEqual(new Set([await head()]));
  }, 60_000);
});
