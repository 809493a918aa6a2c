// PostgreSQL: positions become visible in order (the append lock orders them, held from where a write
// takes its positions to its commit), and every commit announces its newest position with NOTIFY,
// only after it is visible. Tailing by position relies on both. Model commands run concurrently and
// take the append lock only with their commit: a slow command must neither hold the others up nor
// let them commit positions behind its back.
import { storedHash } from "../../src/store/eventCodec.ts";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps, CommandOutcome } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import { APPEND_CHANNEL } from "../../src/db/database.ts";
import { readAll } from "../../src/store/eventStore.ts";
import { createModel, createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { userActor } from "../support/actors.ts";
import { EVENT_TYPE_CODE_PARAM, ensureEventTypeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";

const postgres = (await providers()).includes("postgresql");
const metadata = { actor: userActor("tester"), correlationId: null, rights: SYSTEM_RIGHTS };
const tagCommand = (i: number) => ({
  type: "SetRegisteredModelTag" as const,
  data: { key: `k${i}`, value: `v${i}` },
});

describe.skipIf(!postgres)("event log on PostgreSQL", () => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase("postgresql");
    deps = { db: t.db, clock: () => new Date() };
  });
  afterAll(() => t.close());

  it("a tailer reading by position sees every event of concurrent writers (no late commit is skipped)", async () => {
    const models = Array.from({ length: 8 }, (_, i) => `order-${i}`);
    for (const name of models)
      await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata);
    const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;

    let writing = true;
    const seen: number[] = [];
    const tailer = (async () => {
      let last = start;
      for (;;) {
        const stillWriting = writing;
        const batch = await readAll(t.db, last, 200);
        for (const event of batch) seen.push((last = event.position));
        if (!stillWriting && batch.length === 0) return;
      }
    })();
    await Promise.all(
      models.map(async (name) => {
        for (let i = 0; i < 25; i++)
          await executeCommand(deps, { kind: "live", name }, tagCommand(i), metadata);
      }),
    );
    writing = false;
    await tailer;

    const all = (await readAll(t.db, start, 10_000)).map((e) => e.position);
    expect(all).toHaveLength(200);
    expect(seen).toEqual(all);
  });

  /** The same database, with every write holding `delayMs` between its work and its commit. */
  const slowed = (db: Database, delayMs: number): Database => ({
    ...db,
    write: (work, options) =>
      db.write(async (tx) => {
        const result = await work(tx);
        await new Promise((r) => setTimeout(r, delayMs));
        return result;
      }, options),
  });

  /** Reads the log from `start` until `done()` and a read after it comes back empty. */
  const tail = (start: number, done: () => boolean) =>
    (async () => {
      const seen: number[] = [];
      let last = start;
      for (;;) {
        const finished = done();
        const batch = await readAll(t.db, last, 200);
        for (const event of batch) seen.push((last = event.position));
        if (finished && batch.length === 0) return seen;
      }
    })();

  it("a slow command does not hold up commands on other models, and commits its position after theirs", async () => {
    const slowModel = "order-slow";
    const fastModels = Array.from({ length: 4 }, (_, i) => `order-fast-${i}`);
    for (const name of [slowModel, ...fastModels])
      await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata);
    const start = (await readAll(t.db, 0, 10_000)).at(-1)!.position;
    let writing = true;
    const tailer = tail(start, () => !writing);

    const finished: string[] = [];
    const slow = executeCommand(
      { ...deps, db: slowed(t.db, 400) },
      { kind: "live", name: slowModel },
      createVersion(),
      metadata,
    ).then((outcome) => {
      finished.push("slow");
      return outcome;
    });
    await new Promise((r) => setTimeout(r, 50)); // the slow one has its stream locked and its events queued
    const fast = await Promise.all(
      fastModels.map(async (name) => {
        const outcomes: CommandOutcome[] = [];
        for (let i = 0; i < 5; i++) {
          const outcome = await executeCommand(deps, { kind: "live", name }, createVersion(), metadata);
          if (!("events" in outcome)) throw new Error(`command failed: ${outcome.message}`);
          outcomes.push(outcome);
        }
        finished.push(name);
        return outcomes;
      }),
    );
    const slowOutcome = await slow;
    writing = false;
    const seen = await tailer;

    if (!("events" in slowOutcome)) throw new Error(`slow command failed: ${slowOutcome.message}`);
    // Twenty commands committed while the slow one waited to commit: nothing serialised them behind it.
    expect(finished.at(-1)).toBe("slow");
    const fastPositions = fast.flat().flatMap((o) => o.events.map((e) => e.position));
    const slowPosition = slowOutcome.events[0]!.position;
    // Its position was taken at its commit, after theirs: a tailer past theirs still reads it.
    expect(Math.max(...fastPositions)).toBeLessThan(slowPosition);
    const all = (await readAll(t.db, start, 10_000)).map((e) => e.position);
    expect(all).toHaveLength(21);
    expect(seen).toEqual(all);
    expect([...fastPositions, slowPosition].sort((a, b) => a - b)).toEqual(all);
  });

  it("commands on one model from many writers at once, slow and fast, all commit in revision order", async () => {
    const name = "order-one-model";
    await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata);
    const start = (await readAll(t.db, 0, 10_000)).at(-1)!.position;
    let writing = true;
    const tailer = tail(start, () => !writing);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        executeCommand(
          i % 3 === 0 ? { ...deps, db: slowed(t.db, 30) } : deps,
          { kind: "live", name },
          createVersion(),
          metadata,
        ),
      ),
    );
    writing = false;
    const seen = await tailer;
    for (const outcome of outcomes)
      if (!("events" in outcome)) throw new Error(`command failed: ${outcome.message}`);
    const events = await readAll(t.db, start, 10_000);
    expect(events).toHaveLength(12);
    expect(seen).toEqual(events.map((e) => e.position));
    // One stream: revisions follow positions, and every version number was handed out once.
    expect(events.map((e) => e.revision)).toEqual([...events.map((e) => e.revision)].sort((a, b) => a - b));
    const versions = outcomes
      .map((o) => ("views" in o ? o.views.model?.lastVersion : -1))
      .sort((a, b) => a! - b!);
    expect(versions).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("a write that runs serialised (another context's) and concurrent commands still commit in position order", async () => {
    const models = Array.from({ length: 4 }, (_, i) => `order-mixed-${i}`);
    for (const name of models)
      await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata);
    const start = (await readAll(t.db, 0, 10_000)).at(-1)!.position;
    const startAll = Number(
      (await t.db.query<{ p: string }>("SELECT COALESCE(MAX(position), 0) AS p FROM events"))[0]!.p,
    );
    let writing = true;
    const tailer = tail(start, () => !writing);
    // A serialised write holds the append lock for its whole transaction (here 200 ms).
    const serialised = t.db.write(async (tx) => {
      await tx.execute(ensureEventTypeSql("X"));
      await tx.execute(ensureEventActorSql("x"));
      await tx.execute(
        `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash) VALUES (?, ?, ${EVENT_TYPE_CODE_PARAM}, ?, ?, ${eventActorRefSql("x")}, ?, ?)`,
        [`other:${randomUUID()}`, 1, "X", 1, "{}", new Date(), storedHash("0".repeat(64))],
      );
      await new Promise((r) => setTimeout(r, 200));
    });
    await Promise.all([
      serialised,
      ...models.map(async (name) => {
        for (let i = 0; i < 5; i++)
          await executeCommand(deps, { kind: "live", name }, createVersion(), metadata);
      }),
    ]);
    writing = false;
    const seen = await tailer;
    const all = (await readAll(t.db, start, 10_000)).map((e) => e.position);
    expect(all).toHaveLength(20);
    expect(seen).toEqual(all);
    // Every position of the log, the other context's event included, was handed out once and in order.
    const positions = (
      await t.db.query<{ position: string }>(
        "SELECT position FROM events WHERE position > ? ORDER BY position",
        [startAll],
      )
    ).map((r) => Number(r.position));
    expect(positions).toHaveLength(21);
  });

  it("announces each commit's newest position on the notification channel, after it is visible, and never for a rollback", async () => {
    const listener = new pg.Client({ connectionString: (t.config as { url: string }).url });
    await listener.connect();
    const notifications: { position: number; visible: number }[] = [];
    listener.on("notification", (message) => {
      void readAll(t.db, Number(message.payload) - 1, 1).then((rows) =>
        notifications.push({ position: Number(message.payload), visible: rows[0]?.position ?? -1 }),
      );
    });
    await listener.query(`LISTEN ${APPEND_CHANNEL}`);
    try {
      const outcome = await executeCommand(
        deps,
        { kind: "new", modelId: randomUUID() },
        createModel("notified"),
        metadata,
      );
      if (!("events" in outcome)) throw new Error("command failed");
      const position = outcome.events.at(-1)!.position;
      await expect(
        t.db.write(async (tx) => {
          await tx.execute(ensureEventTypeSql("X"));
          await tx.execute(ensureEventActorSql("x"));
          await tx.execute(
            `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash) VALUES (?, ?, ${EVENT_TYPE_CODE_PARAM}, ?, ?, ${eventActorRefSql("x")}, ?, ?)`,
            ["rolled-back", 1, "X", 1, "{}", new Date(), storedHash("0".repeat(64))],
          );
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      const deadline = Date.now() + 5_000;
      while (notifications.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200)); // a notification for the rollback would have arrived by now
      expect(notifications).toEqual([{ position, visible: position }]);
    } finally {
      await listener.end();
    }
  });
});
