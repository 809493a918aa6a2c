// Migration 20261220000000_event_stream (#18) stores each SQLite stream id once, in `event_streams`,
// and the event rows (now `event_rows`) name their stream by its ref, read back through the
// `events` view. An upgraded registry reads every event exactly as before, its projections and
// chains are unchanged, appends go on (to old and new streams), and nothing can change or remove an
// event, a stream or its ref.
import { randomUUID } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { storedHash } from "../../src/store/eventCodec.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import type { TestDatabase } from "../support/databases.ts";
import { withOldEventStreams } from "../support/oldEventStreams.ts";
import { withOldVersionRows } from "../support/oldVersionRows.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { readSqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261220000000_event_stream";

/** The correlation ids the tests append with: the server's own form, a client's, an uppercase UUID, none. */
const CORRELATION_IDS = [randomUUID(), "req-42:retry.1", randomUUID().toUpperCase(), null];

/** One event per correlation id on "stream-model", each naming its id in the description. */
async function correlated(deps: ReturnType<typeof commandDeps>, when: string): Promise<void> {
  for (const correlationId of CORRELATION_IDS) {
    const outcome = await executeCommand(
      deps,
      live("stream-model"),
      { type: "UpdateRegisteredModel", data: { description: `${when} ${correlationId}` } },
      { ...actor, correlationId },
    );
    expect(outcome).not.toBeInstanceOf(Error);
  }
}

/** How the last CORRELATION_IDS.length event rows store their correlation id. */
const storedCorrelations = (file: string) =>
  readSqlite<{ kind: string; length: number | null }>(
    file,
    `SELECT typeof(correlation_id) AS kind, length(correlation_id) AS length FROM event_rows
     ORDER BY position DESC LIMIT ${CORRELATION_IDS.length}`,
  ).reverse();
const EXPECTED_STORAGE = [
  { kind: "blob", length: 16 },
  { kind: "text", length: 14 },
  { kind: "text", length: 36 },
  { kind: "null", length: null },
];

describe("upgrading SQLite to stream ids stored once", () => {
  let test: TestDatabase;
  let config: DatabaseConfig & { provider: "sqlite" };

  beforeAll(async () => {
    test = await createDatabaseBefore("sqlite", MIGRATION);
    config = test.config as DatabaseConfig & { provider: "sqlite" };
  });
  afterAll(() => test.destroy());

  it("reads every event as before, keeps projections and chains, and appends to old and new streams", async () => {
    // The version rows are lent too: this schema predates 20261222000000_version_model_ref.
    const lent = (write: () => Promise<void>) =>
      withOldEventStreams(config, () => withOldVersionRows(config, write));
    await lent(async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(1220), 150);
        await createModelNamed(deps, randomUUID(), "stream-model");
        await correlated(deps, "before");
      } finally {
        await db.close();
      }
    });
    // Before: a table holding the id in every row.
    expect(
      readSqlite<{ type: string }>(config.file, "SELECT type FROM sqlite_master WHERE name = 'events'"),
    ).toEqual([{ type: "table" }]);
    const eventsBefore = readSqlite<{ position: number; stream_id: string; correlation_id: string | null }>(
      config.file,
      "SELECT * FROM events ORDER BY position",
    );
    expect(eventsBefore.length).toBeGreaterThan(40);
    let db = openDatabase(config);
    const projectionsBefore = await dumpProjections(db.reader).finally(() => db.close());

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // The same rows and columns through the view.
    expect(
      readSqlite<{ type: string }>(config.file, "SELECT type FROM sqlite_master WHERE name = 'events'"),
    ).toEqual([{ type: "view" }]);
    expect(readSqlite(config.file, "SELECT * FROM events ORDER BY position")).toEqual(eventsBefore);
    // A canonical UUID correlation id is stored as its 16 bytes, every other one as it was.
    expect(eventsBefore.slice(-CORRELATION_IDS.length).map((e) => e.correlation_id)).toEqual(CORRELATION_IDS);
    expect(storedCorrelations(config.file)).toEqual(EXPECTED_STORAGE);
    // Each stream once, refs in the order of each stream's first event, and every row naming its own.
    const firstUse = [...new Set(eventsBefore.map((e) => e.stream_id))];
    expect(readSqlite(config.file, "SELECT ref, id FROM event_streams ORDER BY ref")).toEqual(
      firstUse.map((id, i) => ({ ref: i + 1, id })),
    );
    expect(readSqlite(config.file, "SELECT position, stream_ref FROM event_rows ORDER BY position")).toEqual(
      eventsBefore.map((e) => ({ position: e.position, stream_ref: firstUse.indexOf(e.stream_id) + 1 })),
    );
    expect(
      readSqlite<{ name: string }>(
        config.file,
        "SELECT name FROM sqlite_master WHERE tbl_name IN ('event_rows', 'event_streams', 'events') ORDER BY name",
      ).map((r) => r.name),
    ).toEqual([
      "event_rows",
      "event_rows_actor_ref_idx",
      "event_rows_occurred_at_idx",
      "event_rows_refuse_delete",
      "event_rows_refuse_update",
      "event_rows_require_hash",
      "event_rows_stream_ref_revision_key",
      "event_rows_type_idx",
      "event_streams",
      "event_streams_id_key",
      "event_streams_refuse_delete",
      "event_streams_refuse_update",
      "events",
      "events_insert",
      "events_refuse_delete",
      "events_refuse_update",
    ]);

    // Today's code reads and writes today's schema: the migrations after this one first.
    await migrate(config);
    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(projectionsBefore);
      expect((await verifyChains(db)).ok).toBe(true);
      const last = eventsBefore.at(-1)!.position;
      const deps = commandDeps(db);
      const updated = await executeCommand(
        deps,
        live("stream-model"),
        { type: "UpdateRegisteredModel", data: { description: "after the upgrade" } },
        actor,
      );
      expect(updated).not.toBeInstanceOf(Error);
      const modelId = randomUUID();
      await createModelNamed(deps, modelId, "new-stream-model");
      const appended = await db.query<{ position: number; stream_id: string; stream_ref: number }>(
        `SELECT r.position, s.id AS stream_id, r.stream_ref FROM event_rows r JOIN event_streams s ON s.ref = r.stream_ref
         WHERE r.position > ? ORDER BY r.position`,
        [last],
      );
      const oldRef = firstUse.indexOf(eventsBefore.at(-1)!.stream_id) + 1;
      expect(appended).toEqual([
        { position: last + 1, stream_id: eventsBefore.at(-1)!.stream_id, stream_ref: oldRef },
        { position: last + 2, stream_id: modelId, stream_ref: firstUse.length + 1 },
      ]);
      expect((await verifyChains(db)).ok).toBe(true);
      // Today's appends store correlation ids the same way and read them back as they were.
      await correlated(deps, "after");
      expect(storedCorrelations(config.file)).toEqual(EXPECTED_STORAGE);
      const latest = await db.query<{ correlation_id: string | null }>(
        `SELECT correlation_id FROM events ORDER BY position DESC LIMIT ${CORRELATION_IDS.length}`,
      );
      expect(latest.map((r) => r.correlation_id).reverse()).toEqual(CORRELATION_IDS);
      expect((await verifyChains(db)).ok).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("refuses to change or remove an event, a stream or its ref, and to insert an event without its hash", () => {
    const db = new BetterSqlite3(config.file);
    try {
      for (const sql of [
        "UPDATE events SET stream_id = 'mallory' WHERE position = 1",
        "UPDATE event_rows SET stream_ref = 2 WHERE position = 1",
      ])
        expect(() => db.prepare(sql).run(), sql).toThrow(/events are immutable \(UPDATE refused\)/);
      for (const sql of [
        "DELETE FROM events WHERE position = 1",
        "DELETE FROM event_rows WHERE position = 1",
      ])
        expect(() => db.prepare(sql).run(), sql).toThrow(/events are immutable \(DELETE refused\)/);
      expect(() => db.prepare("UPDATE event_streams SET id = 'mallory' WHERE ref = 1").run()).toThrow(
        /event streams are immutable \(UPDATE refused\)/,
      );
      expect(() => db.prepare("DELETE FROM event_streams WHERE ref = 1").run()).toThrow(
        /event streams are immutable \(DELETE refused\)/,
      );
      const insert = (hash: unknown) =>
        db
          .prepare(
            `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
             VALUES ('tool-stream', 1, 1, 1, '{}', 1, 0, ?)`,
          )
          .run(hash);
      expect(() => insert("0".repeat(64))).toThrow(/needs its chain hash/);
      // An insert into the view (what restore does) interns the stream; rolled back here.
      db.exec("BEGIN");
      try {
        insert(storedHash("0".repeat(64)));
        expect(
          db
            .prepare(
              "SELECT s.id, r.revision FROM event_rows r JOIN event_streams s ON s.ref = r.stream_ref WHERE s.id = 'tool-stream'",
            )
            .all(),
        ).toEqual([{ id: "tool-stream", revision: 1 }]);
      } finally {
        db.exec("ROLLBACK");
      }
    } finally {
      db.close();
    }
  });
});
