// Migration 20261213000000_integer_times (#18) stores every SQLite time column as integer
// milliseconds instead of ISO text, as 20261212000000_event_time did for the events. A registry
// written before it reads back the same instants after it; Prisma's filters, orders and cursors on
// times (createdAfter/createdBefore, orderBy createdAt) answer to the millisecond, across values the
// migration converted and values written after it; and nothing is left as text.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken, createPrincipal } from "../../src/access/accessCommands.ts";
import { createCheckpoint, verifyStoredCheckpoints } from "../../src/audit/checkpoints.ts";
import { loadOrCreateSigningKey } from "../../src/audit/signingKey.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import type { Database, Db } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { applyDownloadBatch, usagePoints } from "../../src/usage/usageStore.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { writeWithOldEventTypes } from "../support/oldHashFormat.ts";
import { createVersion } from "../support/commands.ts";
import { createBlankTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { textTimes, timeColumns } from "../support/timeColumns.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import { readSqlite, withReadOnlySqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261213000000_integer_times";

function ok<T>(outcome: T | DomainError): T {
  if (outcome instanceof DomainError) throw outcome;
  return outcome;
}

/** Every projection, the access context's included, as plain JSON (dates as ISO text). */
async function dumpAll(db: Db) {
  const access = await Promise.all([
    db.principal.findMany({ orderBy: { id: "asc" } }),
    db.team.findMany({ orderBy: { id: "asc" } }),
    db.apiToken.findMany({ orderBy: { id: "asc" } }),
    db.auditCheckpoint.findMany({ orderBy: { position: "asc" } }),
  ]);
  return JSON.parse(JSON.stringify({ ...(await dumpProjections(db)), access })) as unknown;
}

type Row = Record<string, unknown>;

/** Every row of every table with a time column other than the events' (converted before), sorted. */
function timeRows(file: string): Record<string, Row[]> {
  return withReadOnlySqlite(file, (db) => {
    const tables = [...new Set(timeColumns(db).map((c) => c.table))].filter((t) => t !== "events");
    return Object.fromEntries(
      tables.map((t) => {
        const rows = db.prepare(`SELECT * FROM "${t}"`).all() as Row[];
        const key = (r: Row) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? `${v}` : v));
        return [t, rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))];
      }),
    );
  });
}

/**
 * Turns every integer time (the events' aside) into the ISO text Prisma's adapter and src/db/sql.ts
 * wrote before this migration (2026-12-01T00:00:01.000+00:00), lifting the checkpoints' UPDATE
 * trigger for it. Today's code wrote the rows; this makes them what an older release left.
 */
function timesAsText(file: string): number {
  const db = new BetterSqlite3(file);
  try {
    db.function("iso_text", (ms: unknown) => new Date(Number(ms)).toISOString().replace("Z", "+00:00"));
    const trigger = db
      .prepare(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_checkpoints_refuse_update'",
      )
      .get() as { sql: string };
    db.exec('DROP TRIGGER "audit_checkpoints_refuse_update"');
    let changed = 0;
    for (const { table, column } of timeColumns(db))
      if (table !== "events")
        changed += db
          .prepare(
            `UPDATE "${table}" SET "${column}" = iso_text("${column}") WHERE typeof("${column}") = 'integer'`,
          )
          .run().changes;
    db.exec(trigger.sql);
    return changed;
  } finally {
    db.close();
  }
}

/** Versions of the "times" model, ids by creation time (ascending), from Prisma. */
async function versionsWhere(db: Database, where: { gte?: Date; lt?: Date }, order: "asc" | "desc" = "asc") {
  const rows = await db.reader.modelVersion.findMany({
    where: { model: { name: "times" }, createdAt: where },
    orderBy: [{ createdAt: order }, { version: order }],
    select: { version: true, createdAt: true },
  });
  return rows.map((r) => r.version);
}

describe("upgrading SQLite to every time as integer milliseconds", () => {
  let test: TestDatabase;
  let config: DatabaseConfig & { provider: "sqlite" };
  let keyDir: string;

  beforeAll(async () => {
    test = await createDatabaseBefore("sqlite", MIGRATION);
    config = test.config as DatabaseConfig & { provider: "sqlite" };
    keyDir = mkdtempSync(path.join(tmpdir(), "registro-times-"));
  });
  afterAll(async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await test.destroy();
  });

  it("keeps every instant, and filters, orders and cursors on times answer to the millisecond", async () => {
    // Version times that cross millisecond and second boundaries: .998, .999, .000, .001 …
    const base = Date.parse("2026-12-01T00:00:00.998Z");
    const versionTimes = [0, 1, 2, 3, 1000, 1001].map((d) => base + d);
    let tick = Date.parse("2026-11-30T00:00:00.000Z");
    let next: number[] = [];
    const clock = () => new Date(next.shift() ?? (tick += 7));
    // Written by today's code into the older schema, its event types left as names as they were then.
    await writeWithOldEventTypes(config, async () => {
      const db = openDatabase(config);
      try {
        const deps = { ...commandDeps(db), clock };
        await runRandomCommands(deps, seededRandom(1213), 120);
        await createModelNamed(deps, randomUUID(), "times");
        for (const at of versionTimes) {
          next = [at];
          await run(deps, live("times"), createVersion());
        }
        const user = ok(
          await createPrincipal(
            deps,
            {
              kind: "USER",
              displayName: "u",
              email: null,
              role: "MEMBER",
              source: "admin",
              externalIdentity: null,
            },
            actor,
          ),
        );
        const token = ok(
          await createApiToken(
            deps,
            { principalId: user.id, name: "ci", scopes: ["read"], expiresAt: new Date(base + 86_400_000) },
            actor,
          ),
        );
        await db.write((tx) =>
          tx.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [new Date(base + 5), token.id]),
        );
        await applyDownloadBatch(
          db,
          {
            id: "b1",
            counts: [
              {
                modelId: "m1",
                version: 1,
                path: "model.onnx",
                consumerId: "p1",
                hourStart: Date.parse("2026-12-01T00:00:00Z"),
                count: 2,
                bytes: 10,
                lastAt: base + 1,
              },
            ],
          },
          new Date(base + 2),
        );
        const key = loadOrCreateSigningKey(path.join(keyDir, "key.pem"));
        expect(await createCheckpoint(db, key, new Date(base + 3))).not.toBeNull();
      } finally {
        await db.close();
      }
    });
    expect(timesAsText(config.file)).toBeGreaterThan(50);
    const before = timeRows(config.file);
    expect(textTimes(config.file).length).toBeGreaterThan(10);
    let db = openDatabase(config);
    const projectionsBefore = await dumpAll(db.reader).finally(() => db.close());

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // The same rows, each time now its milliseconds, in every table.
    const after = timeRows(config.file);
    const columns = withReadOnlySqlite(config.file, timeColumns);
    const triggers = readSqlite<{ name: string }>(
      config.file,
      "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    );
    expect(triggers.map((t) => t.name)).toEqual([
      "audit_checkpoints_refuse_delete",
      "audit_checkpoints_refuse_update",
      "events_refuse_delete",
      "events_refuse_update",
      "events_require_hash",
    ]);
    const asMs = (table: string, row: Row): Row =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) =>
          columns.some((c) => c.table === table && c.column === k) && typeof v === "string"
            ? [k, Date.parse(v)]
            : [k, v],
        ),
      );
    const expected = Object.fromEntries(
      Object.entries(before).map(([t, rows]) => [
        t,
        rows.map((r) => asMs(t, r)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
      ]),
    );
    const sorted = Object.fromEntries(
      Object.entries(after).map(([t, rows]) => [
        t,
        [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
      ]),
    );
    expect(sorted).toEqual(expected);
    expect(textTimes(config.file)).toEqual([]);

    // Today's code reads today's schema: the rest of the migrations first (event_types since
    // 20261214000000_event_type).
    expect(await migrate(config)).toContain("20261214000000_event_type");
    db = openDatabase(config);
    try {
      // Prisma reads the same instants, and the signed checkpoint still verifies.
      expect(await dumpAll(db.reader)).toEqual(projectionsBefore);
      const checkpoints = await verifyStoredCheckpoints(db);
      expect(checkpoints).toMatchObject({ ok: true, checked: 1, failed: 0 });
      const [point] = await usagePoints(db, {
        granularity: "HOUR",
        modelId: "m1",
        version: 1,
        from: new Date("2026-12-01T00:00:00.000Z"),
        to: new Date("2026-12-01T00:00:00.001Z"),
        environment: null,
      });
      expect(point).toMatchObject({ start: new Date("2026-12-01T00:00:00Z"), downloads: 2 });

      // A version written after the upgrade, its time between two converted ones: orders among them.
      next = [base + 500];
      await run({ ...commandDeps(db), clock }, live("times"), createVersion());
      const all = [...versionTimes, base + 500].map((ms, i) => ({ version: i + 1, ms }));
      const byTime = [...all].sort((a, b) => a.ms - b.ms || a.version - b.version).map((v) => v.version);
      expect(await versionsWhere(db, {})).toEqual(byTime);
      expect(await versionsWhere(db, {}, "desc")).toEqual([...byTime].reverse());
      // createdAfter (inclusive) and createdBefore (exclusive) at each millisecond around them.
      for (const { ms } of all)
        for (const at of [ms - 1, ms, ms + 1]) {
          expect(await versionsWhere(db, { gte: new Date(at) }), `>= ${at}`).toEqual(
            byTime.filter((v) => all[v - 1]!.ms >= at),
          );
          expect(await versionsWhere(db, { lt: new Date(at) }), `< ${at}`).toEqual(
            byTime.filter((v) => all[v - 1]!.ms < at),
          );
        }
      // A keyset cursor over (createdAt, version): pages of two, from the cursor row on.
      const pages: number[] = [];
      let cursor: number | undefined;
      for (;;) {
        const page = await db.reader.modelVersion.findMany({
          where: { model: { name: "times" } },
          orderBy: [{ createdAt: "asc" }, { ref: "asc" }],
          take: 2,
          ...(cursor === undefined ? {} : { cursor: { ref: cursor }, skip: 1 }),
          select: { ref: true, version: true },
        });
        if (page.length === 0) break;
        pages.push(...page.map((p) => p.version));
        cursor = page.at(-1)!.ref;
      }
      expect(pages).toHaveLength(all.length);
      expect(pages.map((v) => all[v - 1]!.ms)).toEqual([...all.map((v) => v.ms)].sort((a, b) => a - b));
    } finally {
      await db.close();
    }
    expect(textTimes(config.file)).toEqual([]);
  });
});

describe.each(await providers())("times at millisecond boundaries on %s", (provider) => {
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

  it("reads back each instant, and createdAfter/createdBefore and orders are exact", async () => {
    const base = Date.parse("2026-12-05T10:00:00.999Z");
    const times = [base + 1, base, base + 1000, base - 1, base + 2];
    let i = 0;
    const deps = { ...commandDeps(db), clock: () => new Date(times[i++] ?? base + 10_000) };
    await createModelNamed(deps, randomUUID(), "times");
    i = 0;
    for (const _ of times) await run(deps, live("times"), createVersion());
    const rows = await db.reader.modelVersion.findMany({
      where: { model: { name: "times" } },
      orderBy: { version: "asc" },
    });
    expect(rows.map((r) => r.createdAt.getTime())).toEqual(times);
    if (provider === "sqlite") {
      const stored = await db.query<{ created_at: unknown; updated_at: unknown }>(
        "SELECT created_at, updated_at FROM model_versions ORDER BY version",
      );
      expect(stored.map((r) => r.created_at)).toEqual(times);
      expect(stored.map((r) => r.updated_at)).toEqual(times);
      expect(textTimes(test.config.provider === "sqlite" ? test.config.file : "")).toEqual([]);
    }
    const all = times.map((ms, k) => ({ version: k + 1, ms }));
    const byTime = [...all].sort((a, b) => a.ms - b.ms).map((v) => v.version);
    expect(await versionsWhere(db, {})).toEqual(byTime);
    for (const at of [base - 1, base, base + 1, base + 2, base + 1000])
      expect(await versionsWhere(db, { gte: new Date(at), lt: new Date(at + 1) }), `= ${at}`).toEqual(
        byTime.filter((v) => all[v - 1]!.ms === at),
      );
  });
});
