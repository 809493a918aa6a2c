// Every commit wakes the webhook worker, and most registries have no webhook. The worker remembers
// that its last look found none enabled, so a commit of this instance's model commands costs it no
// statement (on PostgreSQL the probe was a round trip per commit, #18); what may enable one (a
// webhook command here, a commit of another instance, the poll) makes it look again.
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { systemActor } from "../../src/access/actor.ts";
import { DEFAULT_ACCESS_POLICY } from "../../src/access/modelAccess.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { openDatabase } from "../../src/db/database.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { DEFAULT_DELIVERY_CONFIG, DeliveryWorker } from "../../src/webhooks/delivery/deliveryWorker.ts";
import { EMPTY_ALLOW_LIST } from "../../src/webhooks/delivery/targetGuard.ts";
import { newWebhookSecret } from "../../src/webhooks/signing.ts";
import { registerWebhook } from "../../src/webhooks/webhookCommands.ts";
import { createModelNamed, run } from "../support/application.ts";
import { countingDatabase } from "../support/countingDatabase.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";

const meta = { actor: systemActor("test"), correlationId: null };

describe.each(await providers())("the webhook probe on %s", (provider) => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /** A worker wired as src/registro.ts wires it, with a model `m`; `pollIntervalMs` as given. */
  async function setUp(pollIntervalMs: number) {
    const t = await openTestDatabase(provider);
    cleanup.push(() => t.close());
    const sent: string[] = [];
    const counted = countingDatabase(t.db, (sql) => sent.push(sql));
    const deps: CommandDeps = {
      db: t.db,
      clock: () => new Date(),
      onCommitted: (events) => worker.committed(events.reduce((last, e) => Math.max(last, e.position), 0)),
      onWebhooksChanged: () => worker.webhooksChanged(),
    };
    const worker = new DeliveryWorker({
      db: counted.db,
      logger: pino({ level: "silent" }),
      clock: () => new Date(),
      accessPolicy: DEFAULT_ACCESS_POLICY,
      commands: { db: t.db, clock: () => new Date() },
      config: { ...DEFAULT_DELIVERY_CONFIG, allow: EMPTY_ALLOW_LIST, pollIntervalMs },
      instanceId: "test-instance",
    });
    cleanup.push(() => worker.close());
    await createModelNamed(deps, randomUUID(), "m");
    await worker.start();
    await worker.settled();
    let tagNo = 0;
    const head = async () =>
      Number((await t.db.query<{ last: unknown }>("SELECT MAX(position) AS last FROM events"))[0]?.last ?? 0);
    return {
      t,
      deps,
      worker,
      head,
      probes: () => sent.filter((sql) => /FROM webhooks WHERE enabled/.test(sql)).length,
      statements: () => sent.length,
      /** A tag set on `m` through `through` (as a command of this instance by default). */
      tag: (through: CommandDeps = deps) =>
        run(
          through,
          { kind: "live", name: "m" },
          { type: "SetRegisteredModelTag", data: { key: "k", value: String(tagNo++) } },
        ),
      register: async (through: CommandDeps = deps) => {
        const outcome = await registerWebhook(
          through,
          {
            ownerId: "nobody",
            url: "https://hooks.example.com/x",
            eventTypes: ["RegisteredModelTagSet"],
            models: null,
            description: null,
            secret: newWebhookSecret(),
          },
          meta,
        );
        if (outcome instanceof DomainError) throw outcome;
        return outcome.id;
      },
      cursor: async (id: string) =>
        Number(
          (
            await t.db.query<{ position: unknown }>(
              "SELECT position FROM webhook_cursors WHERE webhook_id = ?",
              [id],
            )
          )[0]?.position,
        ),
    };
  }

  it("costs a commit of this instance nothing while no webhook is enabled, and looks again once one is registered", async () => {
    const s = await setUp(3_600_000);
    expect(s.probes()).toBe(1); // the start's
    const before = s.statements();
    for (let i = 0; i < 10; i++) {
      await s.tag();
      await s.worker.settled();
    }
    // Without the remembered answer: one probe per commit (checked).
    expect(s.statements() - before).toBe(0);

    const id = await s.register();
    await s.worker.settled();
    // At once (on PostgreSQL the registration's own notification wakes it again: one more).
    expect(s.probes()).toBeGreaterThanOrEqual(2);
    await s.tag();
    await s.worker.settled();
    expect(await s.cursor(id)).toBe(await s.head());
  });

  it("sees a webhook enabled by a path that does not tell it within one poll interval", async () => {
    const s = await setUp(100);
    // Registered as another process (a restore, say) would write it: no word to this worker.
    const id = await s.register({ db: s.t.db, clock: () => new Date() });
    await s.tag();
    await eventually(
      async () => (await s.cursor(id)) === (await s.head()),
      5_000,
      "the cursor to reach the head",
    );
  });

  it.runIf(provider === "postgresql")(
    "looks again when another instance commits (its notification comes from a backend not its own)",
    async () => {
      const s = await setUp(3_600_000);
      const config = s.t.db.config;
      if (config.provider !== "postgresql") throw new Error("postgresql only");
      const other = openDatabase(config);
      cleanup.push(() => other.close());
      const probes = s.probes();
      // The other instance registers a webhook: its commit's notification wakes this worker, which
      // probes and finds it; this instance's next commit is then delivered to it.
      const id = await s.register({ db: other, clock: () => new Date() });
      await eventually(() => s.probes() > probes, 5_000, "a probe after the other instance's commit");
      await s.tag();
      await s.worker.settled();
      expect(await s.cursor(id)).toBe(await s.head());
      // Its model commits wake this worker too, and each makes it look.
      const after = s.probes();
      await s.tag({ db: other, clock: () => new Date() });
      await eventually(() => s.probes() > after, 5_000, "a probe after another model commit");
    },
  );
});
