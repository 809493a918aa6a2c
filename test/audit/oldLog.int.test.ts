// A log written by the registry as it was before the hash chain and the v2 event schemas (commit
// 26d93f9; test/fixtures/logs/README.md says how it was made) still opens with today's code: the
// chain migration hashes every old event, projections rebuilt from the log equal the ones the old
// code wrote, every old event reads through the upcasters into the current shape, and the registry
// goes on appending to the old streams.
import { hashOf } from "../../src/store/eventCodec.ts";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainVerifier } from "../../src/audit/chainVerifier.ts";
import { CHAIN_MIGRATION } from "../../src/audit/backfillChain.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { listMigrations, migrate } from "../../src/db/migrate.ts";
import {
  isRegisteredModelEventType,
  parseRegisteredModelEvent,
} from "../../src/domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS } from "../../src/domain/registeredModel/events.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { createRegistro } from "../../src/registro.ts";
import { COLUMNS, EVENTS, chainedFromSqlRow } from "../../src/store/eventStore.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";
import { POSTGRES_URL, dropDatabaseWhenIdle, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { readSqlite, withReadOnlySqlite } from "../support/sqliteFile.ts";

const FIXTURE = new URL("../fixtures/logs/registro-26d93f9.db", import.meta.url).pathname;
const FIXTURE_NDJSON = new URL("../fixtures/logs/registro-26d93f9.events.ndjson", import.meta.url).pathname;

type Row = Omit<ChainSqlRow, "hash"> & { hash?: string | null };
/** The names of this provider's migrations from `first` on, in the order they apply. */
const migrationsFrom = (provider: DatabaseConfig["provider"], first: string) =>
  listMigrations(provider)
    .map((m) => m.name)
    .filter((name) => name >= first);

const readEvents = (file: string) => readSqlite<Row>(file, "SELECT * FROM events ORDER BY position");

/**
 * The events as stored since 20261214000000_event_type (`type` a code) and 20261215000000_event_actor
 * (`actor_ref` an id in event_actors), with each code's name and each actor's four values put back.
 */
const readEventsNamed = (file: string): Row[] => {
  return withReadOnlySqlite(file, (db) => {
    const names = new Map(
      (db.prepare("SELECT code, name FROM event_types").all() as { code: number; name: string }[]).map(
        (r) => [r.code, r.name],
      ),
    );
    const actors = new Map(
      (
        db.prepare("SELECT id, actor, actor_id, actor_kind, actor_credential FROM event_actors").all() as {
          id: number;
        }[]
      ).map(({ id, ...values }) => [id, values]),
    );
    return (db.prepare("SELECT * FROM events ORDER BY position").all() as Row[]).map((row) => {
      expect(typeof row.type).toBe("number");
      const { actor_ref: ref, ...rest } = row as Row & { actor_ref: number };
      expect(actors.has(ref)).toBe(true);
      return {
        ...rest,
        ...actors.get(ref),
        type: names.get(row.type as unknown as number) as Row["type"],
      } as Row;
    });
  });
};

describe("a log written before the hash chain (commit 26d93f9)", () => {
  let dir: string;
  let config: DatabaseConfig & { provider: "sqlite" };
  let oldRows: Row[];
  let applied: string[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "registro-old-log-"));
    config = { provider: "sqlite", file: path.join(dir, "registro.db") };
    copyFileSync(FIXTURE, config.file);
    oldRows = readEvents(config.file);
    applied = await migrate(config);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("was written without hashes, with payloads older than today's schemas", () => {
    expect(oldRows.length).toBeGreaterThanOrEqual(20);
    expect(oldRows.every((row) => !("hash" in row))).toBe(true);
    const older = new Set(
      oldRows
        .filter((r) => isRegisteredModelEventType(r.type) && r.schema_version < EVENT_SCHEMA_VERSIONS[r.type])
        .map((r) => r.type),
    );
    expect([...older].sort()).toEqual([
      "ModelVersionCreated",
      "ModelVersionDeleted",
      "ModelVersionRegistrationFailed",
      "ModelVersionStageTransitioned",
    ]);
  });

  it("migrates by hashing every old event into a chain that verifies, leaving the events otherwise as they were", () => {
    // The chain migration and whatever later migrations exist (the fixture predates them all).
    expect(applied).toEqual(migrationsFrom("sqlite", CHAIN_MIGRATION));
    const rows = readEventsNamed(config.file) as ChainSqlRow[];
    // Otherwise as they were, but for the time: integer milliseconds since 20261212000000_event_time,
    // and the type: the code of its name since 20261214000000_event_type.
    expect(rows.map(({ hash: _hash, ...rest }) => rest)).toEqual(
      oldRows.map((r) => ({ ...r, occurred_at: Date.parse(r.occurred_at as string) })),
    );
    const verifier = new ChainVerifier();
    const byStream = [...rows].sort((a, b) =>
      a.stream_id === b.stream_id ? a.revision - b.revision : a.stream_id < b.stream_id ? -1 : 1,
    );
    expect(byStream.map((row) => verifier.next(chainedFromSqlRow(row)))).toEqual(rows.map(() => null));
  });

  it("reads every old model event through the upcasters into the current shape", () => {
    for (const row of oldRows.filter((r) => isRegisteredModelEventType(r.type))) {
      const stored = JSON.parse(row.data as string) as Record<string, unknown>;
      const event = parseRegisteredModelEvent(row.type, row.schema_version, stored);
      expect(event.type).toBe(row.type);
      // Upcasting only adds what a version lacked: everything stored survives as it was.
      expect(event.data).toMatchObject(stored);
    }
  });

  it("rebuilds projections from the old log equal to the ones the old code wrote", async () => {
    const db = openDatabase(config);
    try {
      const written = await dumpProjections(db.reader);
      expect(written.modelVersions).toHaveLength(4);
      expect(written.modelAliases).toHaveLength(1);
      expect(written.modelPermissions!.length).toBeGreaterThanOrEqual(3);
      const summary = await rebuildProjections(db);
      expect(summary.events).toBe(oldRows.length);
      expect(await dumpProjections(db.reader)).toEqual(written);
    } finally {
      await db.close();
    }
  });

  it("goes on appending to an old stream, chained to the backfilled head", async () => {
    const registro = await createRegistro({
      database: config,
      dataDir: dir,
      logger: pino({ level: "silent" }),
      auth: { osUserName: "fixture-admin" },
    });
    try {
      const address = await registro.app.listen(0, "127.0.0.1");
      const response = await fetch(`http://127.0.0.1:${address.port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: `mutation { transitionModelVersionStage(input: {name: "churn-predictor", version: 1, stage: PRODUCTION}) {
            __typename ... on ModelVersionPayload { modelVersion { stage } events { revision } } } }`,
        }),
      });
      // churn-predictor held 8 events: created, two versions, a failed upload, staging, rename, description, grant.
      expect(await response.json()).toEqual({
        data: {
          transitionModelVersionStage: {
            __typename: "ModelVersionPayload",
            modelVersion: { stage: "PRODUCTION" },
            events: [{ revision: 9 }],
          },
        },
      });
    } finally {
      await registro.close();
    }
  });
});

/** The hashes the chain migration gives the SQLite fixture, by log position. */
async function sqliteHashes(): Promise<Map<number, string>> {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-old-log-"));
  try {
    const file = path.join(dir, "registro.db");
    copyFileSync(FIXTURE, file);
    await migrate({ provider: "sqlite", file });
    return new Map((readEvents(file) as ChainSqlRow[]).map((r) => [r.position as number, hashOf(r.hash)!]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf((await providers()).includes("postgresql"))(
  "the same old log on PostgreSQL (NDJSON form)",
  () => {
    const name = `registro_test_${randomUUID().replaceAll("-", "")}`;
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    const config: DatabaseConfig = { provider: "postgresql", url: url.toString() };
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(sql).finally(() => client.end());
    };
    beforeAll(() => admin(`CREATE DATABASE "${name}"`));
    // Once the closed pools' sockets are gone: a connection killed while closing throws in-process.
    afterAll(() => dropDatabaseWhenIdle(POSTGRES_URL, name));

    it("hashes every event as on SQLite, verifies the chain and rebuilds the projections", async () => {
      // The schema as 26d93f9 left it: every migration before the chain.
      const before = listMigrations("postgresql").filter((m) => m.name < CHAIN_MIGRATION);
      await migrate(config, { through: before.at(-1)!.name });
      const rows = readFileSync(FIXTURE_NDJSON, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const client = new pg.Client({ connectionString: config.url });
      await client.connect();
      try {
        for (const row of rows)
          await client.query(
            `INSERT INTO events (position, stream_id, revision, type, schema_version, data, actor, actor_id,
               actor_kind, actor_credential, occurred_at, correlation_id, causation_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
            [
              row.position,
              row.stream_id,
              row.revision,
              row.type,
              row.schema_version,
              JSON.stringify(row.data),
              row.actor,
              row.actor_id,
              row.actor_kind,
              row.actor_credential === null ? null : JSON.stringify(row.actor_credential),
              // TIMESTAMP without zone keeps the UTC wall time of the ISO string.
              row.occurred_at,
              row.correlation_id,
              row.causation_id,
            ],
          );
        await client.query(`SELECT setval('events_position_seq', (SELECT max(position) FROM events))`);
      } finally {
        await client.end();
      }

      expect(await migrate(config)).toEqual(migrationsFrom("postgresql", CHAIN_MIGRATION));
      const db = openDatabase(config);
      try {
        const stored = await db.query<ChainSqlRow>(
          `SELECT position, ${COLUMNS}, hash FROM ${EVENTS} ORDER BY stream_id, revision`,
        );
        expect(stored).toHaveLength(rows.length);
        // Hashes depend on the events alone, not on the database they were written to.
        const expected = await sqliteHashes();
        expect(new Map(stored.map((r) => [Number(r.position), hashOf(r.hash)]))).toEqual(expected);
        const verifier = new ChainVerifier();
        expect(stored.map((row) => verifier.next(chainedFromSqlRow(row)))).toEqual(stored.map(() => null));
        const summary = await rebuildProjections(db);
        expect(summary.events).toBe(rows.length);
        const views = await dumpProjections(db.reader);
        expect(views.modelVersions).toHaveLength(4);
        expect(views.modelAliases).toHaveLength(1);
      } finally {
        await db.close();
      }
    });
  },
);
