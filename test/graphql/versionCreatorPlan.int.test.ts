// The `createdById` filter of `modelVersions` reads the creator from each version's creation event
// (migration 20261217000000_version_creator, #18). SQLite plans its query without statistics (the
// registry never runs ANALYZE), so the plan is fixed by the SQL alone: it must start from the
// principal (event_actors by `actor_id`, then the events' `actor_ref` index, then the versions by
// rowid), not read every version of the registry. Checked on the statements Prisma actually sends
// for a page and for its `totalCount`. PostgreSQL plans by its statistics and is not checked here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { openDatabase } from "../../src/db/database.ts";
import { versionSearch } from "../../src/graphql/search/versionSearch.ts";
import { createTestDatabase } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

describe("the createdById filter on SQLite", () => {
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

  it("starts from the principal's events, never scanning the versions", async () => {
    const search = versionSearch("sqlite", { createdById: "user-ci-bot" }, null);
    if (search.kind !== "columns") throw new Error("expected a column order");
    await db.reader.modelVersion.findMany({ where: search.where, orderBy: search.orderBy, take: 21 });
    await db.reader.modelVersion.count({ where: search.where });
    const filtered = statements.filter((sql) => sql.includes("`actor_id`"));
    expect(filtered).toHaveLength(2);
    for (const sql of filtered) {
      const params = Array.from(sql.matchAll(/\?/g), () => 0);
      const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
        (r) => r.detail,
      );
      expect(plan.join("\n")).toMatch(/SEARCH j\d USING COVERING INDEX event_actors_actor_id_idx/);
      expect(plan.join("\n")).toMatch(/SEARCH j\d USING COVERING INDEX events_actor_ref_idx/);
      expect(plan.join("\n")).toMatch(/SEARCH main\.model_versions USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(plan.filter((step) => /^SCAN main\.model_versions/.test(step))).toEqual([]);
    }
  });
});
