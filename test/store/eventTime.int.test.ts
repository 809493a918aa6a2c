// Migration 20261212000000_event_time (#18) stores SQLite's `occurred_at` as integer milliseconds
// instead of ISO text (PostgreSQL keeps timestamp(3)). An upgraded registry keeps every event (the
// same instant, now an integer), its chains verify, and the readers that compare times (the audit
// log's window, "as of" a moment) answer as before, to the millisecond, on both databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { auditLogWhere, countAuditLog, readAuditLogPage } from "../../src/audit/auditLogFilter.ts";
import type { AuditLogFilter } from "../../src/audit/auditLogFilter.ts";
import { streamAsOf } from "../../src/application/modelAsOf.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { readStream } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createBlankTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { writeWithOldTimeFormat } from "../support/oldHashFormat.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import { readSqlite, withReadOnlySqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261212000000_event_time";

interface StoredEvent {
  position: number;
  stream_id: string;
  occurred_at: unknown;
}

const storedEvents = (file: string) =>
  readSqlite<StoredEvent>(file, "SELECT * FROM events ORDER BY position");

const window = (from: number | null, to: number | null): AuditLogFilter => ({
  models: null,
  eventTypes: null,
  actors: null,
  from: from === null ? null : new Date(from),
  to: to === null ? null : new Date(to),
});

/** Positions of the model events the audit log answers for this window, and its count. */
async function auditWindow(db: Database, from: number | null, to: number | null) {
  const where = await auditLogWhere(db, window(from, to));
  const rows = await readAuditLogPage(db, db.reader, where, "OLDEST_FIRST", null, 500);
  const newest = await readAuditLogPage(db, db.reader, where, "NEWEST_FIRST", null, 500);
  expect(newest.map((r) => r.position)).toEqual(rows.map((r) => r.position).reverse());
  return { positions: rows.map((r) => r.position), count: await countAuditLog(db, db.reader, where) };
}

/** What the window must hold: model events (no `:` in the stream id) with from <= ms < to. */
function expectedWindow(
  events: readonly { position: number; streamId: string; ms: number }[],
  from: number | null,
  to: number | null,
) {
  const positions = events
    .filter((e) => !e.streamId.includes(":") && (from === null || e.ms >= from) && (to === null || e.ms < to))
    .map((e) => e.position);
  return { positions, count: positions.length };
}

describe("upgrading SQLite to event times as integer milliseconds", () => {
  let test: TestDatabase;
  let config: DatabaseConfig & { provider: "sqlite" };

  beforeAll(async () => {
    test = await createDatabaseBefore("sqlite", MIGRATION);
    config = test.config as DatabaseConfig & { provider: "sqlite" };
  });
  afterAll(() => test.destroy());

  it("keeps every event's instant, the chains verify, and time windows and as-of answer to the millisecond", async () => {
    // Times that cross millisecond and second boundaries: .998, .999, then .000 of the next second.
    let tick = Date.parse("2026-12-01T00:00:00.997Z");
    const clock = () => new Date((tick += 1));
    await writeWithOldTimeFormat(config, async () => {
      const db = openDatabase(config);
      try {
        const deps = { ...commandDeps(db), clock };
        await runRandomCommands(deps, seededRandom(1212), 160);
        await createModelNamed(deps, randomUUID(), "time-model");
        await run(deps, live("time-model"), { type: "UpdateRegisteredModel", data: { description: "one" } });
        await run(deps, live("time-model"), { type: "UpdateRegisteredModel", data: { description: "two" } });
      } finally {
        await db.close();
      }
    });
    const before = storedEvents(config.file);
    expect(before.length).toBeGreaterThan(50);
    expect(before.every((e) => typeof e.occurred_at === "string" && e.occurred_at.endsWith("+00:00"))).toBe(
      true,
    );
    let db = openDatabase(config);
    const projectionsBefore = await dumpProjections(db.reader).finally(() => db.close());

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // The same rows, the time now its milliseconds.
    const after = storedEvents(config.file);
    expect(after).toEqual(before.map((e) => ({ ...e, occurred_at: Date.parse(e.occurred_at as string) })));
    const events = after.map((e) => ({
      position: e.position,
      streamId: e.stream_id,
      ms: e.occurred_at as number,
    }));
    expect(events.every((e) => Number.isSafeInteger(e.ms))).toBe(true);
    withReadOnlySqlite(config.file, (sqlite) => {
      const triggers = sqlite
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events' ORDER BY name",
        )
        .all();
      expect(triggers).toEqual([
        { name: "events_refuse_delete" },
        { name: "events_refuse_update" },
        { name: "events_require_hash" },
      ]);
    });

    // Today's code reads and writes today's schema: the rest of the migrations first (since
    // 20261214000000_event_type it needs event_types).
    expect(await migrate(config)).toContain("20261214000000_event_type");
    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(projectionsBefore);
      expect((await verifyChains(db)).ok).toBe(true);

      // Prisma reads the integers back as the same instants (its reads of events: history, commands' results).
      const prismaRows = await db.reader.event.findMany({ orderBy: { position: "asc" } });
      expect(prismaRows.map((r) => r.occurredAt.getTime())).toEqual(events.map((e) => e.ms));

      // Audit windows: inclusive from, exclusive to, at each millisecond boundary around the events.
      const model = events.filter((e) => !e.streamId.includes(":"));
      const t = model[Math.floor(model.length / 2)]!.ms;
      for (const [from, to] of [
        [t, null],
        [t + 1, null],
        [null, t],
        [null, t + 1],
        [t - 1, t + 1],
        [t, t + 1],
        [t + 1, t + 2],
        [model[0]!.ms, model.at(-1)!.ms],
        [Date.parse("2026-12-01T00:00:01.000Z"), Date.parse("2026-12-01T00:00:01.002Z")],
      ] as const)
        expect(await auditWindow(db, from, to), `window ${from} .. ${to}`).toEqual(
          expectedWindow(events, from, to),
        );

      // As of a moment: every event up to and including that millisecond, none after it.
      const stream = (await db.reader.registeredModel.findFirstOrThrow({ where: { name: "time-model" } })).id;
      const own = events.filter((e) => e.streamId === stream);
      expect(own).toHaveLength(3);
      for (const [i, e] of own.entries()) {
        expect((await streamAsOf(db, stream, { at: new Date(e.ms) }))?.revision).toBe(i + 1);
        const justBefore = await streamAsOf(db, stream, { at: new Date(e.ms - 1) });
        expect(justBefore?.revision ?? 0).toBe(i);
      }
      expect((await readStream(db.reader, stream)).map((e) => e.occurredAt.getTime())).toEqual(
        own.map((e) => e.ms),
      );

      // A command after the upgrade stores its time as an integer, and the chains still verify.
      await run({ ...commandDeps(db), clock }, live("time-model"), {
        type: "UpdateRegisteredModel",
        data: { description: "after the upgrade" },
      });
      const [last] = await db.query<{ occurred_at: unknown }>(
        "SELECT occurred_at FROM events ORDER BY position DESC LIMIT 1",
      );
      expect(last?.occurred_at).toBe(tick);
      expect((await verifyChains(db)).ok).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe.each(await providers())("event times on %s", (provider) => {
  let test: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    test = await createBlankTestDatabase(provider);
    await migrate(test.config);
    db = openDatabase(test.config);
  });
  afterAll(async () => {
    await db.close();
    await test.destroy();
  });

  it("answers audit windows and as-of across millisecond boundaries", async () => {
    const base = Date.parse("2026-12-05T10:00:00.000Z");
    const times = [base, base + 1, base + 999, base + 1000, base + 1001];
    let i = 0;
    const deps = { ...commandDeps(db), clock: () => new Date(times[i++]!) };
    const id = randomUUID();
    await createModelNamed(deps, id, "boundary-model");
    for (const n of [1, 2, 3, 4])
      await run(deps, live("boundary-model"), {
        type: "UpdateRegisteredModel",
        data: { description: `${n}` },
      });
    const rows = await db.reader.event.findMany({ where: { streamId: id }, orderBy: { position: "asc" } });
    expect(rows.map((r) => r.occurredAt.getTime())).toEqual(times);
    if (provider === "sqlite") {
      const stored = await db.query<{ occurred_at: unknown }>(
        "SELECT occurred_at FROM events WHERE stream_id = ? ORDER BY position",
        [id],
      );
      expect(stored.map((r) => r.occurred_at)).toEqual(times);
    }
    const events = rows.map((r) => ({
      position: r.position,
      streamId: r.streamId,
      ms: r.occurredAt.getTime(),
    }));
    for (const [from, to] of [
      [base + 1, base + 1000],
      [base, base + 1],
      [base + 999, base + 1001],
      [base + 1000, null],
      [null, base + 999],
      [base - 1, base],
    ] as const)
      expect(await auditWindow(db, from, to), `window ${from} .. ${to}`).toEqual(
        expectedWindow(events, from, to),
      );
    for (const [k, ms] of times.entries()) {
      expect((await streamAsOf(db, id, { at: new Date(ms) }))?.revision).toBe(k + 1);
      expect((await streamAsOf(db, id, { at: new Date(ms - 1) }))?.revision ?? 0).toBe(k);
    }
  });
});
