// The delivery worker against a real database and a receiver on 127.0.0.1, on a clock the test
// moves: a failing event's attempt count belongs to that event (an event that stops applying is
// passed over and the count starts again for the next one), and a commit costs exactly one pass,
// however many webhooks it concerns.
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  createFirstAdmin,
  createPrincipal,
  disablePrincipal,
  enablePrincipal,
} from "../../src/access/accessCommands.ts";
import { systemActor } from "../../src/access/actor.ts";
import { DEFAULT_ACCESS_POLICY } from "../../src/access/modelAccess.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { rowDateOrNull } from "../../src/db/sql.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { DEFAULT_DELIVERY_CONFIG, DeliveryWorker } from "../../src/webhooks/delivery/deliveryWorker.ts";
import type { DeliveryConfig } from "../../src/webhooks/delivery/deliveryWorker.ts";
import { parseAllowList } from "../../src/webhooks/delivery/targetGuard.ts";
import { newWebhookSecret } from "../../src/webhooks/signing.ts";
import {
  disableWebhook,
  enableWebhook,
  registerWebhook,
  updateWebhook,
} from "../../src/webhooks/webhookCommands.ts";
import type { WebhookDefinition } from "../../src/webhooks/domain/webhook.ts";
import { createModelNamed, run } from "../support/application.ts";
import { countingDatabase } from "../support/countingDatabase.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { eventually, startReceiver } from "./receiver.ts";
import type { Receiver } from "./receiver.ts";

const HOUR = 3_600_000;
const meta = { actor: systemActor("test"), correlationId: null };

describe.each(await providers())("the webhook delivery worker on %s", (provider) => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /** A worker on a clock the test moves, a model `m`, an administrator to own webhooks, a receiver. */
  async function setUp(config: Partial<DeliveryConfig> = {}) {
    const t = await openTestDatabase(provider);
    cleanup.push(() => t.close());
    const receiver: Receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    let now = Date.now();
    const clock = () => new Date(now);
    // Every statement the worker sends; the passes are counted by the one that reads the cursors.
    const sent: string[] = [];
    const counted = countingDatabase(t.db, (sql) => sent.push(sql));
    const worker = new DeliveryWorker({
      db: counted.db,
      logger: pino({ level: "silent" }),
      clock,
      accessPolicy: DEFAULT_ACCESS_POLICY,
      commands: { db: t.db, clock },
      config: {
        ...DEFAULT_DELIVERY_CONFIG,
        allow: parseAllowList("127.0.0.1"),
        // Only commits and explicit wake-ups start passes; retries fall due when the test moves the
        // clock (their timers, a minute or more of real time away, never fire during a test).
        pollIntervalMs: HOUR,
        retryBaseMs: 60_000,
        maxRetryDurationMs: 5 * HOUR,
        ...config,
      },
      instanceId: "test-instance",
    });
    cleanup.push(() => worker.close());
    // As the composition root (src/registro.ts) wires it: one wake-up per commit, with its last position.
    const deps: CommandDeps = {
      db: t.db,
      clock,
      onCommitted: (events) => worker.committed(events.reduce((last, e) => Math.max(last, e.position), 0)),
      onWebhooksChanged: () => worker.webhooksChanged(),
    };
    const admin = await createFirstAdmin(deps, { displayName: "owner", email: null }, meta);
    if (admin instanceof DomainError) throw admin;
    await createModelNamed(deps, randomUUID(), "m");
    await worker.start();
    await worker.settled();

    const head = async () =>
      Number((await t.db.query<{ last: unknown }>("SELECT MAX(position) AS last FROM events"))[0]?.last ?? 0);
    return {
      db: t.db,
      deps,
      worker,
      receiver,
      ownerId: admin.id,
      passes: () => sent.filter((sql) => /FROM webhook_cursors c JOIN webhooks w/.test(sql)).length,
      /** Moves the clock on and lets the worker look for due retries. */
      async later(ms: number) {
        now += ms;
        worker.wake();
        await worker.settled();
      },
      async register(definition: Partial<WebhookDefinition> & { ownerId?: string } = {}) {
        const outcome = await registerWebhook(
          deps,
          {
            ownerId: admin.id,
            url: receiver.url,
            eventTypes: ["RegisteredModelTagSet"],
            models: null,
            description: null,
            secret: newWebhookSecret(),
            ...definition,
          },
          meta,
        );
        if (outcome instanceof DomainError) throw outcome;
        // Webhook commands do not wake the worker (no model event); say where the log stands, as a
        // commit would, so a late PostgreSQL notification of them wakes nothing.
        worker.committed(await head());
        await worker.settled();
        return outcome.id;
      },
      async update(id: string, definition: Partial<WebhookDefinition>) {
        const outcome = await updateWebhook(
          deps,
          id,
          {
            url: receiver.url,
            eventTypes: ["RegisteredModelTagSet"],
            models: null,
            description: null,
            ...definition,
          },
          meta,
        );
        if (outcome instanceof DomainError) throw outcome;
      },
      /** Commits a model event and waits for the pass it starts; its position. */
      async commit(type: "tag" | "description", value: string) {
        const outcome = await run(
          deps,
          { kind: "live", name: "m" },
          type === "tag"
            ? { type: "SetRegisteredModelTag", data: { key: "k", value } }
            : { type: "UpdateRegisteredModel", data: { description: value } },
        );
        await worker.settled();
        return outcome.events[0]!.position;
      },
      async cursor(id: string) {
        const [row] = await t.db.query<{
          position: unknown;
          attempts: unknown;
          failing_since: unknown;
          next_attempt_at: unknown;
        }>(
          "SELECT position, attempts, failing_since, next_attempt_at FROM webhook_cursors WHERE webhook_id = ?",
          [id],
        );
        return {
          position: Number(row?.position),
          attempts: Number(row?.attempts),
          failingSince: rowDateOrNull(row?.failing_since),
          nextAttemptAt: rowDateOrNull(row?.next_attempt_at),
        };
      },
      async attempts(id: string) {
        const rows = await t.db.query<{ position: unknown; attempt: unknown; status: string }>(
          "SELECT position, attempt, status FROM webhook_deliveries WHERE webhook_id = ? AND kind = ? ORDER BY attempted_at, attempt",
          [id, "NORMAL"],
        );
        return rows.map((r) => ({
          position: Number(r.position),
          attempt: Number(r.attempt),
          status: r.status,
        }));
      },
      async enabled(id: string) {
        const [row] = await t.db.query<{ enabled: unknown }>("SELECT enabled FROM webhooks WHERE id = ?", [
          id,
        ]);
        return row?.enabled === true || row?.enabled === 1;
      },
      now: () => new Date(now),
    };
  }

  it("starts counting attempts afresh when the failing event stops applying and the cursor passes it", async () => {
    const s = await setUp();
    const id = await s.register();
    s.receiver.behaviour = "down";
    const failing = await s.commit("tag", "1");
    await s.later(2 * HOUR);
    await s.later(2 * HOUR);
    expect(await s.attempts(id)).toEqual(
      [1, 2, 3].map((attempt) => ({ position: failing, attempt, status: "FAILED" })),
    );
    expect((await s.cursor(id)).attempts).toBe(3);

    // The owner narrows the filter: the failing event no longer applies, and the update makes it due
    // at once. An event the new filter takes follows; its pass passes the old one and fails too.
    await s.update(id, { eventTypes: ["RegisteredModelDescriptionUpdated"] });
    const next = await s.commit("description", "d");
    // The cursor passed the old event; the new one is on its first attempt, failing since now, and
    // not given up (the old event had been failing for 4 h, and the window is 5 h).
    expect((await s.attempts(id)).filter((a) => a.position !== failing)).toEqual([
      { position: next, attempt: 1, status: "FAILED" },
    ]);
    const cursor = await s.cursor(id);
    expect(cursor.position).toBe(next - 1);
    expect(cursor.attempts).toBe(1);
    expect(cursor.failingSince).toEqual(s.now());
    expect(await s.enabled(id)).toBe(true);

    // Passing the failing event with nothing behind it to deliver resets the count as well.
    await s.update(id, { eventTypes: ["RegisteredModelTagSet"] });
    await s.later(2 * HOUR);
    const after = await s.cursor(id);
    expect(after).toMatchObject({ attempts: 0, failingSince: null, nextAttemptAt: null });
    expect(after.position).toBeGreaterThanOrEqual(next);
    s.receiver.behaviour = "up";
    const tagged = await s.commit("tag", "2");
    expect((await s.attempts(id)).at(-1)).toEqual({ position: tagged, attempt: 1, status: "SUCCEEDED" });
  }, 60_000);

  it("retries a failing event at the next pass once its webhook is updated, not after its backoff", async () => {
    const s = await setUp();
    const id = await s.register();
    s.receiver.behaviour = "down";
    const failing = await s.commit("tag", "1");
    expect((await s.cursor(id)).nextAttemptAt!.getTime()).toBeGreaterThan(s.now().getTime());

    // The owner fixes what was wrong (here the receiver comes back) and saves the webhook: the next
    // pass delivers, with the clock where it was, as attempt 2.
    s.receiver.behaviour = "up";
    await s.update(id, { description: "receiver fixed" });
    await s.later(0);
    expect(await s.attempts(id)).toEqual([
      { position: failing, attempt: 1, status: "FAILED" },
      { position: failing, attempt: 2, status: "SUCCEEDED" },
    ]);
    const cursor = await s.cursor(id);
    expect(cursor).toMatchObject({ attempts: 0, failingSince: null, nextAttemptAt: null });
    expect(cursor.position).toBeGreaterThanOrEqual(failing);
  }, 60_000);

  it("starts afresh too when the failing event stops applying because its owner may no longer read it", async () => {
    const s = await setUp();
    const owner = await createPrincipal(
      s.deps,
      {
        displayName: "owner 2",
        email: null,
        kind: "USER",
        role: "ADMIN",
        source: "admin",
        externalIdentity: null,
      },
      meta,
    );
    if (owner instanceof DomainError) throw owner;
    const id = await s.register({ ownerId: owner.id });
    s.receiver.behaviour = "down";
    const failing = await s.commit("tag", "1");
    await s.later(2 * HOUR);
    expect(await s.cursor(id)).toMatchObject({ position: failing - 1, attempts: 2 });
    // A disabled owner reads nothing: the event is passed when its retry falls due, count and all.
    expect(await disablePrincipal(s.deps, owner.id, meta)).not.toBeInstanceOf(DomainError);
    await s.later(2 * HOUR);
    const passed = await s.cursor(id);
    expect(passed).toMatchObject({ attempts: 0, failingSince: null, nextAttemptAt: null });
    expect(passed.position).toBeGreaterThanOrEqual(failing);
    expect(await enablePrincipal(s.deps, owner.id, meta)).not.toBeInstanceOf(DomainError);
    await s.later(2 * HOUR);
    // 6 h after the first event began failing (past the 5 h window), the next starts at attempt 1.
    const next = await s.commit("tag", "2");
    expect((await s.attempts(id)).at(-1)).toEqual({ position: next, attempt: 1, status: "FAILED" });
    expect(await s.enabled(id)).toBe(true);
  }, 60_000);

  it("does not hand a failing event's attempts to an earlier event a widened filter now takes", async () => {
    const s = await setUp();
    const id = await s.register();
    s.receiver.behaviour = "down";
    // The worker reaches the description update and the tag after it together (it lagged: its
    // cursor is put back before the first). The update is not wanted when the tag fails, so the
    // cursor stands past it, as it would had that delivery succeeded.
    const skipped = await s.commit("description", "d");
    await s.db.write((tx) =>
      tx.execute("UPDATE webhook_cursors SET position = ? WHERE webhook_id = ?", [skipped - 1, id]),
    );
    const failing = await s.commit("tag", "1");
    expect(failing).toBe(skipped + 1);
    await s.update(id, { eventTypes: ["RegisteredModelTagSet", "RegisteredModelDescriptionUpdated"] });
    s.receiver.behaviour = "up";
    await s.later(2 * HOUR);
    expect(await s.attempts(id)).toEqual([
      { position: failing, attempt: 1, status: "FAILED" },
      { position: failing, attempt: 2, status: "SUCCEEDED" },
    ]);
    const cursor = await s.cursor(id);
    expect(cursor.attempts).toBe(0);
    expect(cursor.position).toBeGreaterThanOrEqual(failing);
  }, 60_000);

  it("delivers an event committed while the webhook's loop was busy, once the loop is done, without the poll", async () => {
    const s = await setUp();
    const id = await s.register();
    s.receiver.behaviour = "hang";
    // The first event's delivery hangs: its loop stays busy (committing does not wait for it).
    const first = await run(
      s.deps,
      { kind: "live", name: "m" },
      { type: "SetRegisteredModelTag", data: { key: "k", value: "1" } },
    );
    await eventually(() => s.receiver.received.length === 1, 5_000, "the first delivery");
    // The second event's pass finds the loop busy and leaves the webhook to it, but the loop read
    // its page before this commit: it ends caught up to the first event.
    const passes = s.passes();
    await run(
      s.deps,
      { kind: "live", name: "m" },
      { type: "SetRegisteredModelTag", data: { key: "k", value: "2" } },
    );
    await eventually(() => s.passes() > passes, 5_000, "the second event's pass");
    s.receiver.behaviour = "up";
    s.receiver.answerHanging(204);
    // Once the loop is done the worker looks again (without that, the hour-long poll would).
    // (The first request is recorded as it was when it arrived: hanging.)
    await eventually(() => s.receiver.received.length === 2, 5_000, "the second delivery");
    await s.worker.settled();
    expect(s.receiver.received.map((r) => [r.message.data.payload.value, r.answered])).toEqual([
      ["1", "hung"],
      ["2", 204],
    ]);
    expect((await s.cursor(id)).position).toBeGreaterThan(first.events[0]!.position);
  });

  it("runs one pass per commit, whatever the number of webhooks it concerns", async () => {
    const s = await setUp();
    const wanting = [await s.register(), await s.register(), await s.register()];
    for (let i = 0; i < 3; i++) await s.register({ eventTypes: ["RegisteredModelAliasSet"] });
    for (let i = 0; i < 4; i++) {
      const before = s.passes();
      const received = s.receiver.accepted().length;
      const position = await s.commit("tag", String(i));
      expect(s.passes() - before, `passes for commit ${i}`).toBe(1);
      // The pass did serve them: each wanting webhook got the event.
      expect(s.receiver.accepted().length - received).toBe(wanting.length);
      expect(s.receiver.accepted().at(-1)?.message.data.position).toBe(position);
    }
    // A wake-up with nothing new after a commit (a late notification of it, say) is still a pass of
    // its own: the count above is of passes, not of something else that happens once per commit.
    const before = s.passes();
    s.worker.wake();
    await s.worker.settled();
    expect(s.passes() - before).toBe(1);
  }, 60_000);

  it("gives a slot to a waiting webhook while slow webhooks with a backlog hold every slot, in order for each", async () => {
    // Two loops, both busy with slow receivers (200 ms an answer, well within the deadline) and a
    // backlog of 20 events each; then one event for a third webhook whose receiver answers at once.
    const s = await setUp({ concurrency: 2 });
    const slow = await Promise.all(
      ["slow-a", "slow-b"].map(async (model) => {
        const receiver = await startReceiver();
        cleanup.push(() => receiver.close());
        receiver.answerDelayMs = 200;
        await createModelNamed(s.deps, randomUUID(), model);
        const id = await s.register({ url: receiver.url, models: [model] });
        return { id, model, receiver, positions: [] as number[] };
      }),
    );
    await createModelNamed(s.deps, randomUUID(), "victim");
    await s.register({ models: ["victim"] });
    const tag = async (model: string, value: string) =>
      (
        await run(
          s.deps,
          { kind: "live", name: model },
          { type: "SetRegisteredModelTag", data: { key: "k", value } },
        )
      ).events[0]!.position;
    // The backlogs are committed while the slow webhooks are disabled (their cursors wait), so each
    // loop finds its whole backlog on its first page, however fast commits are.
    for (const w of slow)
      expect(await disableWebhook(s.deps, w.id, "MANUAL", null, meta)).not.toBeInstanceOf(DomainError);
    for (let i = 0; i < 20; i++) for (const w of slow) w.positions.push(await tag(w.model, String(i)));
    for (const w of slow) expect(await enableWebhook(s.deps, w.id, meta)).not.toBeInstanceOf(DomainError);
    await eventually(() => slow.every((w) => w.receiver.received.length > 0), 5_000, "both slow loops");
    await tag("victim", "v");

    // The victim's event arrives while both slow webhooks still have events to deliver: a loop gives
    // its slot up once it had its share and a webhook was turned away (without that, the victim
    // waited for a whole slow backlog).
    await eventually(() => s.receiver.received.length === 1, 20_000, "the victim's delivery");
    expect(slow.map((w) => w.receiver.received.length < w.positions.length)).toEqual([true, true]);

    // Each slow webhook still gets its events one at a time, in log order, each once.
    await eventually(
      () => slow.every((w) => w.receiver.received.length >= w.positions.length),
      30_000,
      "the slow backlogs",
    );
    await s.worker.settled();
    for (const w of slow) {
      expect(w.receiver.received.map((r) => r.message.data.position)).toEqual(w.positions);
      expect(w.receiver.received.every((r) => r.answered === 204)).toBe(true);
    }
    expect(s.receiver.received.map((r) => r.message.data.model.name)).toEqual(["victim"]);
  }, 60_000);
});
