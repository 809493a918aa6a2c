// The versions' run index is partial (migration 20261221000000_version_run_index, #18): only
// versions that name a run have an entry. The `runId` filter (GraphQL's modelVersions, MLflow's
// `run_id = …` searches) still finds exactly the run's versions on both databases, and on SQLite
// the statements Prisma sends for a page and its count still search that index, never scanning
// the versions.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { versionSearch } from "../../src/graphql/search/versionSearch.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { withReadOnlySqlite } from "../support/sqliteFile.ts";

describe.each(await providers())("the versions' run filter on %s", (provider) => {
  let test: TestDatabase;
  let db: Database;
  const statements: string[] = [];

  beforeAll(async () => {
    test = await createTestDatabase(provider);
    db = openDatabase(test.config, { onReadQuery: (sql) => statements.push(sql) });
    const deps = commandDeps(db);
    await createModelNamed(deps, randomUUID(), "runs");
    // Versions 1-6: every other one without a run, the others of run-a or run-b.
    for (const runId of [null, "run-a", null, "run-b", null, "run-a"])
      await run(deps, live("runs"), createVersion({ runId }));
  });
  afterAll(async () => {
    await db.close();
    await test.destroy();
  });

  const versionsOf = async (runId: string) => {
    const search = versionSearch(provider, { runId }, null);
    if (search.kind !== "columns") throw new Error("expected a column order");
    const rows = await db.reader.modelVersion.findMany({ where: search.where, orderBy: { version: "asc" } });
    const count = await db.reader.modelVersion.count({ where: search.where });
    return { versions: rows.map((r) => r.version), count };
  };

  it("finds exactly the versions of a run", async () => {
    expect(await versionsOf("run-a")).toEqual({ versions: [2, 6], count: 2 });
    expect(await versionsOf("run-b")).toEqual({ versions: [4], count: 1 });
    expect(await versionsOf("run-c")).toEqual({ versions: [], count: 0 });
  });

  it.runIf(provider === "sqlite")("keeps no entry for a version without a run", () => {
    if (test.config.provider !== "sqlite") return;
    withReadOnlySqlite(test.config.file, (file) => {
      const { sql } = file
        .prepare("SELECT sql FROM sqlite_master WHERE name = 'model_version_rows_run_id_idx'")
        .get() as {
        sql: string;
      };
      expect(sql).toMatch(/WHERE "run_id" IS NOT NULL$/);
      const entries = file
        .prepare(
          "SELECT sum(ncell) AS n FROM dbstat WHERE name = 'model_version_rows_run_id_idx' AND pagetype = 'leaf'",
        )
        .get() as { n: number };
      expect(entries.n).toBe(3);
    });
  });

  it.runIf(provider === "sqlite")("searches the run index for a page and its count", async () => {
    statements.length = 0;
    await versionsOf("run-a");
    const filtered = statements.filter((sql) => sql.includes("`run_id`"));
    expect(filtered).toHaveLength(2);
    for (const sql of filtered) {
      const params = Array.from(sql.matchAll(/\?/g), () => "run-a");
      const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
        (r) => r.detail,
      );
      // The version rows behind the `model_versions` view (migration 20261222000000_version_model_ref).
      expect(plan.join("\n")).toMatch(/SEARCH v USING INDEX model_version_rows_run_id_idx \(run_id=\?\)/);
      expect(plan.filter((step) => /^SCAN v\b/.test(step))).toEqual([]);
    }
  });
});
