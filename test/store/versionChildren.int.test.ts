// Migration 20261218000000_version_children (#18): aliases, artifacts, comments and deployments name
// their version by model id and number instead of by the version's 38-character id, and the id's
// unique index is dropped. An upgraded registry keeps every projection row as it was (dropping the
// tables on SQLite must not cascade), the old columns and the index are gone, the foreign keys hold
// and still cascade, the registry goes on writing, and a rebuild reproduces every row. On both
// databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { listMigrations, migrate } from "../../src/db/migrate.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import { withOldVersionRefs } from "../support/oldVersionRefs.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";

const MIGRATION = "20261218000000_version_children";
const TABLES = [
  "model_aliases",
  "model_version_artifacts",
  "model_version_comments",
  "model_version_deployments",
];

const SHA = "c".repeat(64);
const commands: RegisteredModelCommand[] = [
  {
    type: "CreateModelVersion",
    data: { source: "s3://models/a", runId: null, description: "", tags: [], params: {}, metrics: [] },
  },
  {
    type: "CreateModelVersion",
    data: {
      source: "s3://models/b",
      runId: null,
      description: "",
      tags: [],
      params: {},
      metrics: [],
      pendingArtifacts: true,
    },
  },
  {
    type: "AddModelVersionComment",
    data: { commentId: randomUUID(), version: 2, body: "first", authorId: "author-1", liveComments: 0 },
  },
  {
    type: "AddModelVersionArtifact",
    data: {
      version: 2,
      path: "model.onnx",
      role: "model",
      size: 12,
      sha256: SHA,
      mediaType: "application/onnx",
      inspection: {
        format: "ONNX",
        formatVersion: "9",
        producer: null,
        metadata: { nodeCount: 3 },
        verdict: "SAFE",
        findings: [],
        signature: null,
        inspector: { version: "1.0.0" },
      },
    },
  },
  { type: "FinalizeModelVersion", data: { version: 2 } },
  { type: "SetRegisteredModelAlias", data: { alias: "champion", version: 2 } },
  {
    type: "RecordModelVersionDeployment",
    data: { version: 2, environment: "prod-eu", endpoint: "https://serve.example/fraud", description: null },
  },
];

async function columnsOf(db: Database, provider: string, table: string): Promise<string[]> {
  const rows =
    provider === "sqlite"
      ? await db.query<{ name: string }>("SELECT name FROM pragma_table_info(?)", [table])
      : await db.query<{ name: string }>(
          "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
          [table],
        );
  return rows.map((r) => r.name).sort();
}

async function indexesOf(db: Database, provider: string): Promise<string[]> {
  const rows =
    provider === "sqlite"
      ? await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index'")
      : await db.query<{ name: string }>(
          "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()",
        );
  return rows.map((r) => r.name);
}

const countOf = async (db: Database, table: string) =>
  Number((await db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);

describe.each(await providers())("upgrading %s to version children named by model and number", (provider) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createDatabaseBefore(provider, MIGRATION);
  });
  afterAll(() => test.destroy());

  it("keeps every row, drops the id and its index, cascades, goes on writing and rebuilds the same", async () => {
    const config = test.config;
    await withOldVersionRefs(config, async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(1218), 300);
        await createModelNamed(deps, randomUUID(), "fraud-scorer");
        for (const command of commands) {
          const outcome = await executeCommand(deps, live("fraud-scorer"), command, actor);
          expect(outcome).not.toBeInstanceOf(Error);
        }
      } finally {
        await db.close();
      }
    });

    let db = openDatabase(config);
    let before: Awaited<ReturnType<typeof dumpProjections>>;
    try {
      // The older layout, as the registry of that time wrote it: each row holds its version's id.
      for (const table of TABLES) {
        expect(await columnsOf(db, provider, table)).toContain("version_id");
        expect(await countOf(db, table), table).toBeGreaterThan(0);
        const [{ n: wrong } = { n: -1 }] = await db.query<{ n: unknown }>(
          table === "model_version_artifacts"
            ? `SELECT COUNT(*) AS n FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.id = t.version_id)`
            : `SELECT COUNT(*) AS n FROM ${table} WHERE version_id <> model_id || ':' || version`,
        );
        expect(Number(wrong), table).toBe(0);
      }
      expect(await indexesOf(db, provider)).toContain("model_versions_id_key");
      before = await dumpProjections(db.reader);
    } finally {
      await db.close();
    }

    expect(await migrate(config)).toEqual(
      listMigrations(provider)
        .map((m) => m.name)
        .filter((name) => name >= MIGRATION),
    );

    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(before);
      for (const table of TABLES) {
        const columns = await columnsOf(db, provider, table);
        expect(columns, table).not.toContain("version_id");
        expect(columns, table).toEqual(expect.arrayContaining(["model_id", "version"]));
      }
      const indexes = await indexesOf(db, provider);
      expect(indexes).not.toContain("model_versions_id_key");
      expect(indexes.filter((name) => name.includes("version_id"))).toEqual([]);
      if (provider === "sqlite") expect(await db.query("PRAGMA foreign_key_check")).toEqual([]);

      // Writes after the upgrade, on a new model and the old one.
      const deps = commandDeps(db);
      await createModelNamed(deps, randomUUID(), "after-upgrade");
      for (const command of commands) {
        const outcome = await executeCommand(deps, live("after-upgrade"), command, actor);
        expect(outcome).not.toBeInstanceOf(Error);
      }
      const again = await executeCommand(
        deps,
        live("fraud-scorer"),
        { type: "SetRegisteredModelAlias", data: { alias: "champion", version: 1 } },
        actor,
      );
      expect(again).not.toBeInstanceOf(Error);
      const [alias] = await db.query<{ version: unknown }>(
        "SELECT a.version FROM model_aliases a JOIN registered_models m ON m.id = a.model_id WHERE m.name = ? AND a.alias = ?",
        ["fraud-scorer", "champion"],
      );
      expect(Number(alias!.version)).toBe(1);

      const projected = await dumpProjections(db.reader);
      await rebuildProjections(db);
      expect(await dumpProjections(db.reader)).toEqual(projected);

      // The new foreign keys cascade: a version row removed takes its children with it.
      const [model] = await db.query<{ id: string }>("SELECT id FROM registered_models WHERE name = ?", [
        "after-upgrade",
      ]);
      const children = async () =>
        Promise.all(
          TABLES.map(async (table) =>
            Number(
              (
                await db.query<{ n: unknown }>(
                  `SELECT COUNT(*) AS n FROM ${table} WHERE model_id = ? AND version = 2`,
                  [model!.id],
                )
              )[0]!.n,
            ),
          ),
        );
      expect((await children()).every((n) => n > 0)).toBe(true);
      await db.write((tx) =>
        tx.execute("DELETE FROM model_versions WHERE model_id = ? AND version = 2", [model!.id]),
      );
      expect(await children()).toEqual([0, 0, 0, 0]);
    } finally {
      await db.close();
    }
  });
});
