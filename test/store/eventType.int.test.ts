// Migration 20261214000000_event_type (#18) stores each event's type as the code of its name in
// `event_types`. An upgraded registry reads every event with the type it had, its chains verify and
// the audit log filters by type as before, on both databases; codes are given out once per name,
// in the append that first needs them, and a rolled back append gives none.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogWhere, readAuditLogPage } from "../../src/audit/auditLogFilter.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import type { RegisteredModelEventType } from "../../src/domain/registeredModel/events.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { listMigrations, migrate } from "../../src/db/migrate.ts";
import { appendEvents, readStoredStream, readStream } from "../../src/store/eventStore.ts";
import { eventTypeName, knownEventTypeName } from "../../src/store/eventTypes.ts";
import { userActor } from "../support/actors.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { writeWithOldEventTypes } from "../support/oldHashFormat.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import { readSqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261214000000_event_type";

/** Every event's position and its `type` column as stored, straight from the database. */
async function storedTypes(config: DatabaseConfig): Promise<{ position: number; type: unknown }[]> {
  const sql = "SELECT position, type FROM events ORDER BY position";
  if (config.provider === "sqlite") {
    return readSqlite(config.file, sql);
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    return (await client.query<{ position: number; type: unknown }>(sql)).rows;
  } finally {
    await client.end();
  }
}

const metadata = () => ({
  actor: userActor("alice"),
  occurredAt: new Date(),
  correlationId: null,
  causationId: null,
});

describe.each(await providers())("upgrading %s to interned event types", (provider) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createDatabaseBefore(provider, MIGRATION);
  });
  afterAll(() => test.destroy());

  it("reads every event with its type, verifies the chains, and filters by type", async () => {
    const config = test.config;
    let tick = Date.parse("2026-12-01T00:00:00Z");
    const clock = () => new Date((tick += 1000));
    await writeWithOldEventTypes(config, async () => {
      const db = openDatabase(config);
      try {
        const deps = { ...commandDeps(db), clock };
        await runRandomCommands(deps, seededRandom(1214), 150);
        await createModelNamed(deps, randomUUID(), "typed-model");
        await run(deps, live("typed-model"), { type: "UpdateRegisteredModel", data: { description: "one" } });
      } finally {
        await db.close();
      }
    });
    const before = await storedTypes(config);
    expect(before.length).toBeGreaterThan(50);
    expect(before.every((e) => typeof e.type === "string" && /^[A-Z][A-Za-z]+$/.test(e.type))).toBe(true);
    const names = [...new Set(before.map((e) => e.type as string))];
    expect(names.length).toBeGreaterThan(5);
    let db = openDatabase(config);
    const projectionsBefore = await dumpProjections(db.reader).finally(() => db.close());

    // This migration and those after it (20261215000000_event_actor).
    expect(await migrate(config)).toEqual(
      listMigrations(provider)
        .map((m) => m.name)
        .filter((name) => name >= MIGRATION),
    );

    // Stored: integer codes, one per name, given in order of first use.
    const after = await storedTypes(config);
    expect(after.map((e) => e.position)).toEqual(before.map((e) => e.position));
    expect(after.every((e) => typeof e.type === "number")).toBe(true);
    const firstUse = names.map((name) => before.find((e) => e.type === name)!.position).sort((a, b) => a - b);
    const codeOf = new Map(
      firstUse.map((position, i) => [before.find((e) => e.position === position)!.type as string, i + 1]),
    );
    expect(after.map((e) => e.type)).toEqual(before.map((e) => codeOf.get(e.type as string)));

    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(projectionsBefore);
      expect((await verifyChains(db)).ok).toBe(true);

      // Every reader gets the names back: the store's Prisma and SQL reads, and Prisma's rows by code.
      const streams = [
        ...new Set(
          (await db.query<{ stream_id: string }>("SELECT stream_id FROM events")).map((r) => r.stream_id),
        ),
      ];
      const byPosition = new Map(before.map((e) => [e.position, e.type]));
      for (const stream of streams) {
        const stored = await db.write((tx) => readStoredStream(tx, stream));
        for (const e of stored) expect(e.type).toBe(byPosition.get(e.position));
        if (!stream.includes(":"))
          for (const e of await readStream(db.reader, stream))
            expect(e.type).toBe(byPosition.get(e.position));
      }
      const rows = await db.reader.event.findMany({ orderBy: { position: "asc" } });
      expect(await Promise.all(rows.map((r) => eventTypeName(db, r.typeCode)))).toEqual(
        before.map((e) => e.type),
      );
      // Once read, the names are answered without waiting (a resolver then returns no promise).
      expect(rows.map((r) => knownEventTypeName(db, r.typeCode))).toEqual(before.map((e) => e.type));

      // The audit log's type filter: exactly the model events of those types.
      const filters: RegisteredModelEventType[][] = [
        ["RegisteredModelCreated"],
        ["ModelVersionCreated", "RegisteredModelTagSet"],
      ];
      for (const types of filters) {
        const where = await auditLogWhere(db, {
          models: null,
          eventTypes: types,
          actors: null,
          from: null,
          to: null,
        });
        const page = await readAuditLogPage(db, db.reader, where, "OLDEST_FIRST", null, 1000);
        const streamOf = new Map(rows.map((r) => [r.position, r.streamId]));
        const expected = before
          .filter(
            (e) =>
              types.includes(e.type as RegisteredModelEventType) && !streamOf.get(e.position)?.includes(":"),
          )
          .map((e) => e.position);
        expect(expected.length).toBeGreaterThan(0);
        expect(page.map((r) => r.position)).toEqual(expected);
        expect(new Set(page.map((r) => r.type))).toEqual(new Set(types));
      }

      // After the upgrade: a known name keeps its code, a new one gets the next.
      await run({ ...commandDeps(db), clock }, live("typed-model"), {
        type: "UpdateRegisteredModel",
        data: { description: "after the upgrade" },
      });
      const [latest] = await db.query<{ type: unknown }>(
        "SELECT type FROM events ORDER BY position DESC LIMIT 1",
      );
      expect(Number(latest?.type)).toBe(codeOf.get("RegisteredModelDescriptionUpdated"));
      await db.write((tx) =>
        appendEvents(
          tx,
          "test:upgrade",
          0,
          [{ type: "TestBrandNew", schemaVersion: 1, data: {} }],
          metadata(),
        ),
      );
      const [fresh] = await db.query<{ code: unknown }>(
        "SELECT code FROM event_types WHERE name = 'TestBrandNew'",
      );
      expect(Number(fresh?.code)).toBe(codeOf.size + 1);
      expect((await verifyChains(db)).ok).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe.each(await providers())("event type codes on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
  });
  afterAll(async () => {
    await t?.close();
  });

  const codesOf = (db: Database, name: string) =>
    db.query<{ code: number | string }>("SELECT code FROM event_types WHERE name = ?", [name]);

  it("stores a name's code with the first append that commits it, after one that rolled back", async () => {
    const failed = t.db.write(async (tx) => {
      await appendEvents(
        tx,
        "test:rolled-back",
        0,
        [{ type: "TestRolledBack", schemaVersion: 1, data: {} }],
        metadata(),
      );
      throw new Error("abandoned");
    });
    // Queued in the same tick: on SQLite both share one commit, each in its own savepoint.
    const other = t.db.write((tx) =>
      appendEvents(tx, "test:other", 0, [{ type: "TestOther", schemaVersion: 1, data: {} }], metadata()),
    );
    await expect(failed).rejects.toThrow("abandoned");
    await other;
    // SQLite gives the code in the append's transaction, PostgreSQL in one of its own (Tx.autonomous).
    expect(await codesOf(t.db, "TestRolledBack")).toHaveLength(provider === "sqlite" ? 0 : 1);
    // The next append of that name gives it its code (a code cached from the rolled back one would
    // be stored without a name, and read back as none).
    await t.db.write((tx) =>
      appendEvents(
        tx,
        "test:rolled-back",
        0,
        [{ type: "TestRolledBack", schemaVersion: 1, data: {} }],
        metadata(),
      ),
    );
    expect(await codesOf(t.db, "TestRolledBack")).toHaveLength(1);
    const [event] = await t.db.write((tx) => readStoredStream(tx, "test:rolled-back"));
    expect(event?.type).toBe("TestRolledBack");
    expect((await verifyChains(t.db)).ok).toBe(true);
  });

  it("gives each name one code, also to instances appending it at once", async () => {
    const instances =
      provider === "postgresql" ? [t.db, openDatabase(t.db.config), openDatabase(t.db.config)] : [t.db];
    try {
      const names = ["TestRaceA", "TestRaceB", "TestRaceC"];
      await Promise.all(
        instances.flatMap((db, i) =>
          names.map((name, j) =>
            db.write(
              (tx) =>
                appendEvents(
                  tx,
                  `test:race-${i}-${j}`,
                  0,
                  [{ type: name, schemaVersion: 1, data: { i } }],
                  metadata(),
                ),
              { concurrent: true },
            ),
          ),
        ),
      );
      for (const name of names) expect(await codesOf(t.db, name)).toHaveLength(1);
      for (const [i, db] of instances.entries())
        for (const [j, name] of names.entries()) {
          const [event] = await db.write((tx) => readStoredStream(tx, `test:race-${i}-${j}`));
          expect(event?.type).toBe(name);
        }
    } finally {
      await Promise.all(instances.slice(1).map((db) => db.close()));
    }
  });
});
