// The `createdById` and `createdBy` filters of `modelVersions` read the creator from each version's
// creation event (migrations 20261217000000_version_creator and 20261219000000_version_creator_name,
// #18). SQLite plans its query without statistics (the registry never runs ANALYZE), so the plan is
// fixed by the SQL alone: it must start from the actor (event_actors by `actor_id` or by `actor`,
// then the events' `actor_ref` index, then the versions by rowid), not read every version of the
// registry. Checked on the statements Prisma actually sends
// for a page and for its `totalCount`. PostgreSQL plans by its statistics and is not checked here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { versionSearch } from "../../src/graphql/search/versionSearch.ts";
import { createTestDatabase } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

describe("the creator filters on SQLite", () => {
  let test: TestDatabase;
  let db: Database;
  const statements: string[] = [];

  beforeAll(async () => {
    test = await createTestDatabase("sqlite");
    db = openDatabase(test.config, { onReadQuery: (sql) => statements.push(sql) });
  });
  afterAll(async () => {
    await db.close();
    await test.destroy();
  });

  it.each([
    ["createdById", { createdById: "user-ci-bot" }, "`actor_id`", "event_actors_actor_id_idx"],
    ["createdBy", { createdBy: "ci-bot" }, "`actor`", "event_actors_actor_idx"],
  ] as const)(
    "%s starts from the actor's events, never scanning the versions",
    async (_, filter, column, index) => {
      statements.length = 0;
      const search = versionSearch("sqlite", filter, null);
      if (search.kind !== "columns") throw new Error("expected a column order");
      await db.reader.modelVersion.findMany({ where: search.where, orderBy: search.orderBy, take: 21 });
      await db.reader.modelVersion.count({ where: search.where });
      const filtered = statements.filter((sql) => sql.includes(column));
      expect(filtered).toHaveLength(2);
      for (const sql of filtered) {
        const params = Array.from(sql.matchAll(/\?/g), () => 0);
        const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
          (r) => r.detail,
        );
        expect(plan.join("\n")).toMatch(new RegExp(`SEARCH j\\d USING COVERING INDEX ${index}`));
        // The event rows behind the `events` view (migration 20261220000000_event_stream).
        expect(plan.join("\n")).toMatch(/SEARCH r USING COVERING INDEX event_rows_actor_ref_idx/);
        // The version rows behind the `model_versions` view (migration 20261222000000_version_model_ref).
        expect(plan.join("\n")).toMatch(/SEARCH v USING INTEGER PRIMARY KEY \(rowid=\?\)/);
        expect(plan.filter((step) => /^SCAN v\b/.test(step))).toEqual([]);
      }
    },
  );
});
