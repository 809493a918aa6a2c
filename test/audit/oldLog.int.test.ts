// A log written by the registry as it was before the hash chain and the v2 event schemas (commit
// 26d93f9; test/fixtures/logs/README.md says how it was made) still opens with today's code: the
// chain migration hashes every old event, projections rebuilt from the log equal the ones the old
// code wrote, every old event reads through the upcasters into the current shape, and the registry
// goes on appending to the old streams.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainVerifier } from "../../src/audit/chainVerifier.ts";
import { CHAIN_MIGRATION } from "../../src/audit/backfillChain.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import {
  isRegisteredModelEventType,
  parseRegisteredModelEvent,
} from "../../src/domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS } from "../../src/domain/registeredModel/events.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { createRegistro } from "../../src/registro.ts";
import { chainedFromSqlRow } from "../../src/store/eventStore.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";
import { dumpProjections } from "../support/dumpProjections.ts";

const FIXTURE = new URL("../fixtures/logs/registro-26d93f9.db", import.meta.url).pathname;

type Row = Omit<ChainSqlRow, "hash"> & { hash?: string | null };
const readEvents = (file: string): Row[] => {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT * FROM events ORDER BY position").all() as Row[];
  } finally {
    db.close();
  }
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
    expect(applied).toEqual([CHAIN_MIGRATION]);
    const rows = readEvents(config.file) as ChainSqlRow[];
    expect(rows.map(({ hash: _hash, ...rest }) => rest)).toEqual(oldRows);
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
