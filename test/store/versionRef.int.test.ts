// Migration 20261216000000_version_ref (#18) gives each version row an integer key, `ref` (the
// global position of its ModelVersionCreated event; the rowid on SQLite), and names the version by
// it in its tags and metrics. An upgraded registry keeps every projection row as it was (aliases,
// artifacts, comments and deployments included: dropping the table on SQLite must not cascade),
// every ref is its creation event's position, a version row without its event gets a negative ref
// instead of failing the upgrade, the foreign keys hold, and the registry goes on writing; a
// rebuild afterwards reproduces the refs exactly. On both databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { rowJson } from "../../src/db/sql.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { withOldVersionRefs } from "../support/oldVersionRefs.ts";
import { seededRandom } from "../support/random.ts";
import { runRandomCommands } from "../support/runRandomCommands.ts";
import { createDatabaseBefore } from "../support/migrations.ts";

const MIGRATION = "20261216000000_version_ref";

const createVersion = (round: string): RegisteredModelCommand => ({
  type: "CreateModelVersion",
  data: {
    source: `s3://models/fraud/${round}`,
    runId: null,
    description: "",
    tags: [
      { key: "team", value: "fraud" },
      { key: "round", value: round },
    ],
    params: {},
    metrics: [
      { key: "auc", value: 0.9 },
      { key: "f1", value: round.length / 10 },
    ],
  },
});

/**
 * The rows that name a version, with the version named by its id whichever layout holds them:
 * `versionOf` is the SQL for a child row's version id (`t.version_id` before, a join after).
 */
async function versionRows(db: Database, layout: "before" | "after") {
  const child = (table: string) =>
    layout === "before"
      ? `SELECT t.version_id, t.key, t.value FROM ${table} t ORDER BY 1, 2`
      : `SELECT v.id AS version_id, t.key, t.value FROM ${table} t JOIN model_versions v ON v.ref = t.version_ref ORDER BY 1, 2`;
  const [versions, tags, metrics, aliases, comments, artifacts] = await Promise.all([
    db.query("SELECT id, model_id, version, stage, deleted, source, metrics FROM model_versions ORDER BY id"),
    db.query(child("model_version_tags")),
    db.query(child("model_version_metrics")),
    // Named by model and number in both layouts (artifacts by id before 20261218000000_version_children).
    db.query("SELECT model_id, alias, version FROM model_aliases ORDER BY 1, 2"),
    db.query("SELECT model_id, id, version FROM model_version_comments ORDER BY 1, 2"),
    db.query(
      layout === "before"
        ? "SELECT version_id, path FROM model_version_artifacts ORDER BY 1, 2"
        : "SELECT model_id || ':' || version AS version_id, path FROM model_version_artifacts ORDER BY 1, 2",
    ),
  ]);
  const normal = (rows: Record<string, unknown>[]) =>
    rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          k === "metrics" ? rowJson(v) : typeof v === "bigint" || k === "value" ? Number(v) : v,
        ]),
      ),
    );
  return {
    versions: normal(versions),
    tags: normal(tags),
    metrics: normal(metrics),
    aliases: normal(aliases),
    comments: normal(comments),
    artifacts: normal(artifacts),
  };
}

/** Each version's creation event position, from the log (as the migration should find it). */
async function creationPositions(db: Database): Promise<Map<string, number>> {
  const rows = await db.query<{ position: unknown; stream_id: string; data: unknown }>(
    `SELECT e.position, e.stream_id, e.data FROM events e JOIN event_types t ON t.code = e.type
      WHERE t.name = 'ModelVersionCreated'`,
  );
  return new Map(
    rows.map((r) => [`${r.stream_id}:${rowJson<{ version: number }>(r.data).version}`, Number(r.position)]),
  );
}

describe.each(await providers())("upgrading %s to version refs", (provider) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createDatabaseBefore(provider, MIGRATION);
  });
  afterAll(() => test.destroy());

  it("keeps every row, keys versions by their creation event, and goes on writing", async () => {
    const config = test.config;
    // A version row whose creation event is not in the log (written outside Registro).
    let orphan = "";
    await withOldVersionRefs(config, async () => {
      const db = openDatabase(config);
      try {
        let tick = Date.parse("2026-12-01T00:00:00Z");
        const deps = { ...commandDeps(db), clock: () => new Date((tick += 1000)) };
        await runRandomCommands(deps, seededRandom(1216), 200);
        await createModelNamed(deps, randomUUID(), "fraud-scorer");
        const commands: RegisteredModelCommand[] = [
          ...["a", "bb", "ccc"].map(createVersion),
          { type: "SetRegisteredModelAlias", data: { alias: "champion", version: 2 } },
          {
            type: "AddModelVersionComment",
            data: {
              commentId: randomUUID(),
              version: 3,
              body: "LGTM",
              authorId: "author-1",
              liveComments: 0,
            },
          },
        ];
        for (const command of commands) {
          const outcome = await executeCommand(deps, live("fraud-scorer"), command, actor);
          expect(outcome).not.toBeInstanceOf(Error);
        }
      } finally {
        await db.close();
      }
    });
    let db = openDatabase(config);
    try {
      const [model] = await db.query<{ id: string }>("SELECT id FROM registered_models ORDER BY id LIMIT 1");
      orphan = `${model!.id}:100000`;
      await db.write(async (tx) => {
        await tx.execute(
          `INSERT INTO model_versions (id, model_id, version, stage, status, source, description, params, metrics, deleted, created_at, updated_at, created_by)
           SELECT ?, model_id, 100000, stage, status, source, description, params, metrics, deleted, created_at, updated_at, created_by
             FROM model_versions WHERE model_id = ? LIMIT 1`,
          [orphan, model!.id],
        );
        await tx.execute(
          "INSERT INTO model_version_tags (version_id, key, value) VALUES (?, 'stray', 'yes')",
          [orphan],
        );
      });
    } finally {
      await db.close();
    }
    db = openDatabase(config);
    const before = await versionRows(db, "before").finally(() => db.close());
    expect(before.tags.length).toBeGreaterThan(7);
    expect(before.metrics.length).toBeGreaterThan(6);
    expect(before.aliases.length).toBeGreaterThan(0);
    expect(before.comments.length).toBeGreaterThan(0);
    expect(before.versions.map((v) => v.id)).toContain(orphan);

    expect(await migrate(config)).toContain(MIGRATION);

    db = openDatabase(config);
    try {
      expect(await versionRows(db, "after")).toEqual(before);
      const positions = await creationPositions(db);
      const stored = await db.query<{ id: string; ref: unknown }>("SELECT id, ref FROM model_versions");
      for (const { id, ref } of stored)
        expect([id, Number(ref)]).toEqual([id, id === orphan ? -1 : positions.get(id)]);
      if (provider === "sqlite") {
        // The key is the rowid and the id is computed: neither takes a byte of the row. Since
        // migration 20261222000000_version_model_ref the rows are in `model_version_rows`, behind
        // the `model_versions` view, which computes the id from the model's stream id.
        const [table] = await db.query<{ sql: string }>(
          "SELECT sql FROM sqlite_master WHERE name = 'model_version_rows'",
        );
        expect(table!.sql).toMatch(/"ref" INTEGER NOT NULL PRIMARY KEY/);
        expect(table!.sql).not.toMatch(/"id"/);
        const [view] = await db.query<{ sql: string }>(
          "SELECT sql FROM sqlite_master WHERE name = 'model_versions'",
        );
        expect(view!.sql).toMatch(/"m"\."id" \|\| ':' \|\| "v"\."version" AS "id"/);
        const [{ n } = { n: -1 }] = await db.query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM model_version_rows WHERE ref <> rowid",
        );
        expect(n).toBe(0);
        expect(await db.query("PRAGMA foreign_key_check")).toEqual([]);
      }

      // Writes after the upgrade: a new version's ref is its creation event's position.
      const deps = commandDeps(db);
      const outcome = await executeCommand(deps, live("fraud-scorer"), createVersion("dddd"), actor);
      expect(outcome).not.toBeInstanceOf(Error);
      const after = await creationPositions(db);
      const [latest] = await db.query<{ id: string; ref: unknown }>(
        "SELECT id, ref FROM model_versions ORDER BY ref DESC LIMIT 1",
      );
      expect(Number(latest!.ref)).toBe(after.get(latest!.id));
      const tags = await db.query<{ key: string; value: string }>(
        "SELECT key, value FROM model_version_tags WHERE version_ref = ? ORDER BY key",
        [Number(latest!.ref)],
      );
      expect(tags).toEqual([
        { key: "round", value: "dddd" },
        { key: "team", value: "fraud" },
      ]);

      // The orphan goes (its tag with it, by the foreign key); a rebuild then reproduces every row.
      await db.write((tx) => tx.execute("DELETE FROM model_versions WHERE id = ?", [orphan]));
      const [{ n: stray } = { n: -1 }] = await db.query<{ n: unknown }>(
        "SELECT COUNT(*) AS n FROM model_version_tags WHERE key = 'stray'",
      );
      expect(Number(stray)).toBe(0);
      const projected = await dumpProjections(db.reader);
      const refsOf = () => db.query("SELECT id, ref FROM model_versions ORDER BY ref");
      const refs = await refsOf();
      await rebuildProjections(db);
      expect(await dumpProjections(db.reader)).toEqual(projected);
      expect(await refsOf()).toEqual(refs);
    } finally {
      await db.close();
    }
  });
});
