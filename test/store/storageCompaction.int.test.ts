// Migration 20261210100000_storage_compaction (#18) upgrades a registry in place: a database
// written at the previous migration, with versions and tags in it, keeps every projection row and
// an intact hash chain, drops the (model_id, stage) index, and on SQLite holds its version tags in a
// WITHOUT ROWID table; the registry goes on registering and filtering by tag afterwards.
import { writeWithOldHashFormat } from "../support/oldHashFormat.ts";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { createRegistro } from "../../src/registro.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { createBlankTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { migrationBefore } from "../support/migrations.ts";
import { withReadOnlySqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261210100000_storage_compaction";

async function graphql(url: string, query: string): Promise<unknown> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

/** Runs a registry on the database long enough for `use` to talk to it. */
async function withRegistry(config: DatabaseConfig, dataDir: string, use: (url: string) => Promise<void>) {
  const registro = await createRegistro({
    database: config,
    dataDir,
    logger: pino({ level: "silent" }),
    auth: { osUserName: "upgrade-admin" },
  });
  try {
    const address = await registro.app.listen(0, "127.0.0.1");
    await use(`http://127.0.0.1:${address.port}`);
  } finally {
    await registro.close();
  }
}

const createVersion = (round: string): RegisteredModelCommand => ({
  type: "CreateModelVersion",
  data: {
    source: `s3://models/fraud/${round}`,
    runId: "0123456789abcdef0123456789abcdef",
    description: "",
    tags: [
      { key: "team", value: "fraud" },
      { key: "round", value: round },
    ],
    params: {},
    metrics: [{ key: "auc", value: 0.9 }],
  },
});

const createVersionMutation = (tag: string) => `mutation {
  createModelVersion(input: { name: "fraud-scorer", source: "s3://models/fraud/${tag}", runId: "0123456789abcdef0123456789abcdef",
    tags: [{ key: "team", value: "fraud" }, { key: "round", value: "${tag}" }], metrics: [{ key: "auc", value: 0.9 }] }) {
    __typename ... on ModelVersionPayload { modelVersion { version } } } }`;

const versionsTagged = (
  value: string,
) => `{ modelVersions(filter: { tag: { key: "round", value: "${value}" } }) {
  nodes { version tags { key value } } } }`;

describe.each(await providers())("upgrading to %s's storage compaction migration", (provider) => {
  let dir: string;
  let config: DatabaseConfig;
  let destroy: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "registro-storage-upgrade-"));
    const blank = await createBlankTestDatabase(provider);
    config = blank.config;
    destroy = () => blank.destroy();
    const applied = await migrate(config, { through: migrationBefore(provider, MIGRATION) });
    expect(applied).not.toContain(MIGRATION);
  });
  afterAll(async () => {
    await destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every row and the chain, and the registry goes on writing and filtering", async () => {
    // Written by today's command path at the previous schema: random commands (tags, metrics,
    // stages, deletions), then versions with known tags.
    await writeWithOldHashFormat(config, async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(18), 150);
        await createModelNamed(deps, randomUUID(), "fraud-scorer");
        for (const round of ["a", "b", "c"]) {
          const outcome = await executeCommand(deps, live("fraud-scorer"), createVersion(round), actor);
          expect(outcome).not.toBeInstanceOf(Error);
        }
      } finally {
        await db.close();
      }
    });
    let db = openDatabase(config);
    const before = await dumpProjections(db.reader).finally(() => db.close());
    expect(before.modelVersionTags?.length).toBeGreaterThan(6);

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // Today's code reads and writes today's schema: the rest of the migrations first (since
    // 20261214000000_event_type it needs event_types).
    expect(await migrate(config)).toContain("20261214000000_event_type");
    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(before);
      const report = await verifyChains(db);
      expect(report.ok).toBe(true);
    } finally {
      await db.close();
    }
    await withRegistry(config, dir, async (url) => {
      expect(JSON.stringify(await graphql(url, createVersionMutation("d")))).toContain("ModelVersionPayload");
      expect(await graphql(url, versionsTagged("b"))).toEqual({
        data: {
          modelVersions: {
            nodes: [
              {
                version: 2,
                tags: [
                  { key: "round", value: "b" },
                  { key: "team", value: "fraud" },
                ],
              },
            ],
          },
        },
      });
      expect(await graphql(url, versionsTagged("d"))).toEqual({
        data: {
          modelVersions: {
            nodes: [
              {
                version: 4,
                tags: [
                  { key: "round", value: "d" },
                  { key: "team", value: "fraud" },
                ],
              },
            ],
          },
        },
      });
    });
  });

  it("drops the (model_id, stage) index and, on SQLite, stores tags once (WITHOUT ROWID)", async () => {
    if (config.provider === "sqlite") {
      withReadOnlySqlite(config.file, (db) => {
        const names = (db.prepare("SELECT name FROM sqlite_master").all() as { name: string }[]).map(
          (r) => r.name,
        );
        expect(names).not.toContain("model_versions_model_id_stage_idx");
        expect(names).not.toContain("sqlite_autoindex_model_version_tags_1");
        expect(names).toContain("model_version_tags_key_value_idx");
        const { sql } = db
          .prepare("SELECT sql FROM sqlite_master WHERE name = 'model_version_tags'")
          .get() as {
          sql: string;
        };
        expect(sql).toMatch(/WITHOUT ROWID$/);
        expect(db.pragma("foreign_key_check")).toEqual([]);
      });
    } else {
      const client = new pg.Client({ connectionString: config.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ indexname: string }>(
          "SELECT indexname FROM pg_indexes WHERE tablename = 'model_versions'",
        );
        expect(rows.map((r) => r.indexname)).not.toContain("model_versions_model_id_stage_idx");
      } finally {
        await client.end();
      }
    }
  });
});
