// Migration 20261222000000_version_model_ref (#18) moves SQLite's version rows to
// `model_version_rows`, which names the model by its stream's integer ref, behind a
// `model_versions` view. An upgraded registry reads every version exactly as before, its tags and
// metrics still refer to their version, today's writer and a rebuild go on producing the same
// projections, reads by model find their rows through the new keys, and a write through the view
// (tools, tests) lands in the table.
import { randomUUID } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import type { TestDatabase } from "../support/databases.ts";
import { withOldVersionRows } from "../support/oldVersionRows.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { readSqlite } from "../support/sqliteFile.ts";

const MIGRATION = "20261222000000_version_model_ref";
/** The tables that named their version by model id and number, or by ref, with a foreign key. */
const CHILDREN = [
  "model_aliases",
  "model_version_artifacts",
  "model_version_comments",
  "model_version_deployments",
  "model_version_metrics",
  "model_version_tags",
];

const plan = (file: string, sql: string, params: unknown[]) =>
  readSqlite<{ detail: string }>(file, `EXPLAIN QUERY PLAN ${sql}`, params).map((r) => r.detail);

describe("upgrading SQLite to versions naming their model by ref", () => {
  let test: TestDatabase;
  let config: DatabaseConfig & { provider: "sqlite" };

  beforeAll(async () => {
    test = await createDatabaseBefore("sqlite", MIGRATION);
    config = test.config as DatabaseConfig & { provider: "sqlite" };
  });
  afterAll(() => test.destroy());

  it("reads every version and its children as before, and today's writer and rebuild go on", async () => {
    const modelId = randomUUID();
    await withOldVersionRows(config, async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(1222), 200);
        await createModelNamed(deps, modelId, "ref-model");
        await run(deps, live("ref-model"), createVersion());
        await run(deps, live("ref-model"), {
          type: "RecordModelVersionDeployment",
          data: {
            version: 1,
            environment: "prod-eu",
            endpoint: "https://serve.example/ref-model",
            description: null,
          },
        });
      } finally {
        await db.close();
      }
    });
    expect(
      readSqlite(
        config.file,
        "SELECT type FROM sqlite_master WHERE name IN ('model_versions', 'model_version_rows')",
      ),
    ).toEqual([{ type: "table" }]);
    const versionsBefore = readSqlite<{ ref: number; model_id: string }>(
      config.file,
      "SELECT * FROM model_versions ORDER BY ref",
    );
    expect(versionsBefore.length).toBeGreaterThan(20);
    const childrenBefore = CHILDREN.map((t) =>
      readSqlite(config.file, `SELECT * FROM ${t} ORDER BY 1, 2, 3`),
    );
    // Every kind of child row is there for the migration to keep.
    expect(Object.fromEntries(CHILDREN.map((t, i) => [t, childrenBefore[i]!.length > 0]))).toEqual(
      Object.fromEntries(CHILDREN.map((t) => [t, true])),
    );
    let db = openDatabase(config);
    const projectionsBefore = await dumpProjections(db.reader).finally(() => db.close());

    expect(await migrate(config, { through: MIGRATION })).toEqual([MIGRATION]);

    // The same rows and columns through the view, and every child row kept.
    expect(readSqlite(config.file, "SELECT type FROM sqlite_master WHERE name = 'model_versions'")).toEqual([
      { type: "view" },
    ]);
    expect(readSqlite(config.file, "SELECT * FROM model_versions ORDER BY ref")).toEqual(versionsBefore);
    expect(CHILDREN.map((t) => readSqlite(config.file, `SELECT * FROM ${t} ORDER BY 1, 2, 3`))).toEqual(
      childrenBefore,
    );
    // The table holds the model's ref, not its id.
    expect(
      readSqlite(
        config.file,
        "SELECT name FROM pragma_table_info('model_version_rows') WHERE name LIKE 'model%'",
      ),
    ).toEqual([{ name: "model_ref" }]);
    expect(
      readSqlite(
        config.file,
        "SELECT count(*) AS n FROM model_version_rows r JOIN event_streams s ON s.ref = r.model_ref",
      ),
    ).toEqual([{ n: versionsBefore.length }]);
    // Tags and metrics refer to the table; the four tables naming a version by number keep only their
    // model's key (a view cannot be a parent).
    const references = CHILDREN.flatMap((t) =>
      readSqlite<{ table: string; from: string }>(
        config.file,
        `SELECT "table", "from" FROM pragma_foreign_key_list('${t}')`,
      ).map((k) => `${t}.${k.from} -> ${k.table}`),
    ).sort();
    expect(references).toEqual([
      "model_aliases.model_id -> registered_models",
      "model_version_comments.model_id -> registered_models",
      "model_version_deployments.model_id -> registered_models",
      "model_version_metrics.version_ref -> model_version_rows",
      "model_version_tags.version_ref -> model_version_rows",
    ]);
    expect(readSqlite(config.file, "PRAGMA foreign_key_check")).toEqual([]);

    // Today's code reads and writes today's schema: the migrations after this one first.
    await migrate(config);
    db = openDatabase(config);
    try {
      expect(await dumpProjections(db.reader)).toEqual(projectionsBefore);
      let tick = Date.parse("2026-12-02T00:00:00Z");
      const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
      await runRandomCommands(deps, seededRandom(2212), 100);
      await run(deps, live("ref-model"), createVersion());
      const inline = await dumpProjections(db.reader);
      expect(inline.modelVersions!.length).toBeGreaterThan(versionsBefore.length);
      await rebuildProjections(db);
      expect(await dumpProjections(db.reader)).toEqual(inline);
    } finally {
      await db.close();
    }
  });

  it("finds a model's versions through the model's ref, by number and by stage, without a scan", () => {
    const [model] = readSqlite<{ model_id: string }>(
      config.file,
      "SELECT model_id FROM model_versions LIMIT 1",
    );
    const byNumber = plan(config.file, "SELECT * FROM model_versions WHERE model_id = ? AND version = ?", [
      model!.model_id,
      1,
    ]);
    expect(byNumber.join("\n")).toMatch(/SEARCH m USING COVERING INDEX event_streams_id_key \(id=\?\)/);
    expect(byNumber.join("\n")).toMatch(
      /SEARCH v USING INDEX model_version_rows_model_ref_version_key \(model_ref=\? AND version=\?\)/,
    );
    const byStage = plan(
      config.file,
      "SELECT ref FROM model_versions WHERE stage = ? AND deleted = ? AND model_id = ?",
      ["Production", 0, model!.model_id],
    );
    expect(byStage.join("\n")).toMatch(
      /SEARCH v USING COVERING INDEX model_version_rows_stage_deleted_model_ref_idx \(stage=\? AND deleted=\? AND model_ref=\?\)/,
    );
    // MLflow's page of a model's versions (src/mlflow/versionPageSql.ts) reads them in version order
    // from the key: no sort of the model's versions.
    const page = plan(
      config.file,
      `SELECT v.ref FROM model_versions v
        WHERE v.model_id = (SELECT m.id FROM registered_models m WHERE m.name = ? AND m.deleted = ?) AND v.deleted = ?
        ORDER BY v.version DESC, v.ref ASC LIMIT ? OFFSET ?`,
      ["ref-model", 0, 0, 100, 0],
    );
    expect(page.join("\n")).toMatch(
      /SEARCH v USING INDEX model_version_rows_model_ref_version_key \(model_ref=\?\)/,
    );
    expect(page.join("\n")).not.toMatch(/TEMP B-TREE/);
    for (const detail of [...byNumber, ...byStage, ...page]) expect(detail).not.toMatch(/^SCAN/);
  });

  it("writes through the view: an insert interns a new model, an update and a delete reach the table", () => {
    const db = new BetterSqlite3(config.file);
    db.pragma("foreign_keys = ON");
    db.exec("BEGIN");
    try {
      const tool = randomUUID();
      db.prepare(
        "INSERT INTO registered_models (id, created_at, created_by, name, updated_at, revision, last_version) VALUES (?, 0, 'tool', ?, 0, 0, 1)",
      ).run(tool, `tool-${tool}`);
      db.prepare(
        `INSERT INTO model_versions (ref, model_id, version, stage, status, source, params, metrics, created_at, updated_at, created_by)
         VALUES (-1, ?, 1, 'None', 'READY', 's3://b/m', '{}', '{}', 0, 0, 'tool')`,
      ).run(tool);
      db.prepare("INSERT INTO model_version_tags (version_ref, key, value) VALUES (-1, 'k', 'v')").run();
      db.prepare("INSERT INTO model_aliases (model_id, alias, version) VALUES (?, 'champion', 1)").run(tool);
      expect(
        db
          .prepare("SELECT id, model_id, version, description, deleted FROM model_versions WHERE ref = -1")
          .all(),
      ).toEqual([{ id: `${tool}:1`, model_id: tool, version: 1, description: "", deleted: 0 }]);
      expect(
        db
          .prepare(
            "SELECT s.id FROM model_version_rows r JOIN event_streams s ON s.ref = r.model_ref WHERE r.ref = -1",
          )
          .all(),
      ).toEqual([{ id: tool }]);
      db.prepare(
        "UPDATE model_versions SET stage = 'Production', description = 'by hand' WHERE model_id = ? AND version = 1",
      ).run(tool);
      expect(db.prepare("SELECT stage, description FROM model_version_rows WHERE ref = -1").all()).toEqual([
        { stage: "Production", description: "by hand" },
      ]);
      db.prepare("DELETE FROM model_versions WHERE ref = -1").run();
      // As the foreign keys' cascades did: the version's tags and aliases go with it.
      expect(db.prepare("SELECT count(*) AS n FROM model_version_rows WHERE ref = -1").get()).toEqual({
        n: 0,
      });
      expect(db.prepare("SELECT count(*) AS n FROM model_version_tags WHERE version_ref = -1").get()).toEqual(
        { n: 0 },
      );
      expect(db.prepare("SELECT count(*) AS n FROM model_aliases WHERE model_id = ?").get(tool)).toEqual({
        n: 0,
      });
    } finally {
      db.exec("ROLLBACK");
      db.close();
    }
  });
});
