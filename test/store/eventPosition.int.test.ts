// Migration 20261211000000_event_row (#18) rebuilds SQLite's event table with its
// position as a plain INTEGER PRIMARY KEY instead of AUTOINCREMENT, so that no command writes the
// `sqlite_sequence` row (one WAL page) any more. An upgraded registry keeps every event exactly
// (same positions, columns and hashes), its chains verify, its triggers and indexes are back, and
// new events take the next position.
import { writeWithOldHashFormat } from "../support/oldHashFormat.ts";
import { randomUUID } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import type { TestDatabase } from "../support/databases.ts";
import { readSqlite, withReadOnlySqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261211000000_event_row";

/** Every stored column of every event, in position order. */
const storedEvents = (file: string): unknown[] => readSqlite(file, "SELECT * FROM events ORDER BY position");

describe("upgrading SQLite to event positions without AUTOINCREMENT", () => {
  let test: TestDatabase;
  let config: DatabaseConfig & { provider: "sqlite" };

  beforeAll(async () => {
    test = await createDatabaseBefore("sqlite", MIGRATION);
    config = test.config as DatabaseConfig & { provider: "sqlite" };
  });
  afterAll(() => test.destroy());

  it("keeps every event, position and hash; the chains verify; new events take the next position", async () => {
    await writeWithOldHashFormat(config, async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(1211), 120);
        await createModelNamed(deps, randomUUID(), "position-model");
      } finally {
        await db.close();
      }
    });
    const eventsBefore = storedEvents(config.file) as { hash: unknown; position: number }[];
    expect(eventsBefore.every((e) => typeof e.hash === "string" && e.hash.length === 64)).toBe(true);
    let db: ReturnType<typeof openDatabase>;
    expect(eventsBefore.length).toBeGreaterThan(40);
    db = openDatabase(config);
    const projectionsBefore = await dumpProjections(db.reader).finally(() => db.close());

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // The same rows, the hash now its 32 bytes.
    expect(storedEvents(config.file)).toEqual(
      eventsBefore.map((e) => ({ ...e, hash: Buffer.from(e.hash as string, "hex") })),
    );
    withReadOnlySqlite(config.file, (sqlite) => {
      const { sql } = sqlite.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as {
        sql: string;
      };
      expect(sql).not.toMatch(/AUTOINCREMENT/i);
      expect(sql).toMatch(/"position" INTEGER NOT NULL PRIMARY KEY,/);
      expect(sql).toMatch(/"hash" BLOB/);
      expect(sqlite.prepare("SELECT * FROM sqlite_sequence WHERE name = 'events'").all()).toEqual([]);
      const objects = (
        sqlite.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'events' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      expect(objects).toEqual([
        "events",
        "events_actor_id_idx",
        "events_occurred_at_idx",
        "events_refuse_delete",
        "events_refuse_update",
        "events_require_hash",
        "events_stream_id_revision_key",
        "events_type_idx",
      ]);
    });

    // Today's code reads and writes today's schema: the rest of the migrations first (since
    // 20261214000000_event_type it needs event_types).
    expect(await migrate(config)).toContain("20261214000000_event_type");
    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(projectionsBefore);
      expect((await verifyChains(db)).ok).toBe(true);
      const last = eventsBefore.at(-1)!.position;
      const outcome = await executeCommand(
        commandDeps(db),
        live("position-model"),
        { type: "UpdateRegisteredModel", data: { description: "after the upgrade" } },
        actor,
      );
      expect(outcome).not.toBeInstanceOf(Error);
      const [next] = await db.query<{ position: number }>("SELECT max(position) AS position FROM events");
      expect(next?.position).toBe(last + 1);
      expect((await verifyChains(db)).ok).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("still refuses to update or delete events, and to insert one without its hash", () => {
    const db = new BetterSqlite3(config.file);
    try {
      expect(() => db.prepare("UPDATE events SET stream_id = 'mallory' WHERE position = 1").run()).toThrow(
        /events are immutable \(UPDATE refused\)/,
      );
      expect(() => db.prepare("DELETE FROM events WHERE position = 1").run()).toThrow(
        /events are immutable \(DELETE refused\)/,
      );
      expect(() =>
        db
          .prepare(
            `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
             VALUES ('x', 1, 1, 1, '{}', 1, '2026-12-01T00:00:00.000+00:00', '${"0".repeat(64)}')`,
          )
          .run(),
      ).toThrow(/needs its chain hash/);
    } finally {
      db.close();
    }
  });
});
