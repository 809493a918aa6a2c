// Migration 20261217000000_version_creator (#18) drops `model_versions.created_by_id`: who
// registered a version, by principal id, is the actor of its ModelVersionCreated event, at the
// position that is the version's `ref`. An upgraded registry answers the `createdById` filter as
// before (versions by two principals, one registered before authentication), the column and its
// index are gone, new versions are found by their creator too, and a rebuild changes nothing. A
// row written outside Registro (no creation event) keeps its display name. On both databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS_ACTOR } from "../../src/access/actor.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { listMigrations, migrate } from "../../src/db/migrate.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { versionSearch } from "../../src/graphql/search/versionSearch.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live } from "../support/application.ts";
import { userActor } from "../support/actors.ts";
import { providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { createDatabaseBefore } from "../support/migrations.ts";
import { withOldVersionRefs } from "../support/oldVersionRefs.ts";

const MIGRATION = "20261217000000_version_creator";

const createVersion = (round: string): RegisteredModelCommand => ({
  type: "CreateModelVersion",
  data: { source: `s3://models/${round}`, runId: null, description: "", tags: [], params: {}, metrics: [] },
});

const ci = { ...actor, actor: userActor("ci-bot") };
/** As events recorded before authentication read back: a display name, no principal. */
const anonymous = { ...actor, actor: ANONYMOUS_ACTOR };

/** The ids of the live versions a creator filter finds, as GraphQL's `modelVersions` runs it. */
async function found(
  db: Database,
  provider: TestDatabase["config"]["provider"],
  filter: { createdById: string } | { createdBy: string },
) {
  const search = versionSearch(provider, filter, null);
  const rows = await db.reader.modelVersion.findMany({ where: search.where, select: { id: true } });
  return rows.map((r) => r.id).sort();
}
const createdBy = (db: Database, provider: TestDatabase["config"]["provider"], principal: string) =>
  found(db, provider, { createdById: principal });

describe.each(await providers())("upgrading %s to versions' creators read from their events", (provider) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createDatabaseBefore(provider, MIGRATION);
  });
  afterAll(() => test.destroy());

  it("finds every version by its creator through the log, before and after new writes and a rebuild", async () => {
    const config = test.config;
    await withOldVersionRefs(config, async () => {
      const db = openDatabase(config);
      try {
        const deps = commandDeps(db);
        await createModelNamed(deps, randomUUID(), "fraud-scorer");
        for (const [round, who] of [
          ["a", actor],
          ["b", ci],
          ["c", anonymous],
          ["d", ci],
        ] as const) {
          const outcome = await executeCommand(deps, live("fraud-scorer"), createVersion(round), who);
          expect(outcome).not.toBeInstanceOf(Error);
        }
      } finally {
        await db.close();
      }
    });
    let db = openDatabase(config);
    let creators: { id: string; created_by_id: string | null }[] = [];
    let orphan = "";
    try {
      // The column as the registry of that time held it; and a row no event backs.
      creators = await db.query("SELECT id, created_by_id FROM model_versions ORDER BY id");
      expect(creators.map((c) => c.created_by_id).sort()).toEqual([
        null,
        "user-ci-bot",
        "user-ci-bot",
        "user-tester",
      ]);
      const [model] = await db.query<{ id: string }>("SELECT id FROM registered_models");
      orphan = `${model!.id}:100000`;
      await db.write((tx) =>
        tx.execute(
          `INSERT INTO model_versions (ref, model_id, version, stage, status, source, description, params, metrics, deleted, created_at, updated_at, created_by, created_by_id)
           SELECT -1, model_id, 100000, stage, status, source, description, params, metrics, deleted, created_at, updated_at, 'outsider', 'user-outsider'
             FROM model_versions WHERE model_id = ? LIMIT 1`,
          [model!.id],
        ),
      );
    } finally {
      await db.close();
    }
    const idsOf = (principal: string) =>
      creators
        .filter((c) => c.created_by_id === principal)
        .map((c) => c.id)
        .sort();

    expect(await migrate(config)).toEqual(
      listMigrations(provider)
        .map((m) => m.name)
        .filter((name) => name >= MIGRATION),
    );

    db = openDatabase(config);
    try {
      const columns =
        provider === "sqlite"
          ? await db.query<{ name: string }>("SELECT name FROM pragma_table_info('model_versions')")
          : await db.query<{ name: string }>(
              `SELECT column_name AS name FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = 'model_versions'`,
            );
      expect(columns.map((c) => c.name)).not.toContain("created_by_id");
      expect(columns.map((c) => c.name)).toContain("created_by");

      expect(await createdBy(db, provider, "user-tester")).toEqual(idsOf("user-tester"));
      expect(await createdBy(db, provider, "user-ci-bot")).toEqual(idsOf("user-ci-bot"));
      expect(idsOf("user-ci-bot")).toHaveLength(2);
      // The orphan's principal id went with the column (no event names it); its row and name stay.
      expect(await createdBy(db, provider, "user-outsider")).toEqual([]);
      const [kept] = await db.query<{ created_by: string }>(
        "SELECT created_by FROM model_versions WHERE id = ?",
        [orphan],
      );
      expect(kept?.created_by).toBe("outsider");
      // By display name (read from the event too since 20261219000000_version_creator_name): exactly
      // the versions whose `created_by` holds it; the orphan's name no more (no event names it).
      const names = await db.query<{ id: string; created_by: string }>(
        "SELECT id, created_by FROM model_versions WHERE ref > 0",
      );
      expect(new Set(names.map((n) => n.created_by)).size).toBeGreaterThan(2);
      for (const name of new Set(names.map((n) => n.created_by)))
        expect(await found(db, provider, { createdBy: name }), name).toEqual(
          names
            .filter((n) => n.created_by === name)
            .map((n) => n.id)
            .sort(),
        );
      expect(await found(db, provider, { createdBy: "outsider" })).toEqual([]);

      // A version registered after the upgrade is found by its creator.
      const outcome = await executeCommand(commandDeps(db), live("fraud-scorer"), createVersion("e"), ci);
      expect(outcome).not.toBeInstanceOf(Error);
      const byCi = await createdBy(db, provider, "user-ci-bot");
      expect(byCi).toHaveLength(3);
      expect(byCi).toEqual(expect.arrayContaining(idsOf("user-ci-bot")));

      // A rebuild (which drops the orphan: the log does not know it) reproduces every other row.
      await db.write((tx) => tx.execute("DELETE FROM model_versions WHERE id = ?", [orphan]));
      const projected = await dumpProjections(db.reader);
      expect(
        (projected as { modelVersions: { createdById: string | null }[] }).modelVersions.map(
          (v) => v.createdById,
        ),
      ).toContain("user-ci-bot");
      await rebuildProjections(db);
      expect(await dumpProjections(db.reader)).toEqual(projected);
      expect(await createdBy(db, provider, "user-ci-bot")).toEqual(byCi);
    } finally {
      await db.close();
    }
  });
});
