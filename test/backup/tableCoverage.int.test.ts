// Every table the migrations create has a decided fate in a backup (src/backup/tableCoverage.ts).
import { describe, expect, it } from "vitest";
import { SQLITE_STORAGE_TABLES, TABLE_COVERAGE } from "../../src/backup/tableCoverage.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

describe.each(await providers())("the backup's table coverage on %s", (provider) => {
  it("decides about every table of the schema, and about no table that does not exist", async () => {
    const t = await openTestDatabase(provider);
    try {
      const rows = await t.db.query<{ name: string }>(
        provider === "sqlite"
          ? "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
          : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      );
      const decided = [
        ...Object.keys(TABLE_COVERAGE),
        ...(provider === "sqlite" ? Object.keys(SQLITE_STORAGE_TABLES) : []),
      ];
      expect(rows.map((r) => r.name).sort()).toEqual(decided.sort());
    } finally {
      await t.close();
    }
  });
});
