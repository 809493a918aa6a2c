// Every table the migrations create has a decided fate in a backup (src/backup/tableCoverage.ts).
import { describe, expect, it } from "vitest";
import { TABLE_COVERAGE } from "../../src/backup/tableCoverage.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

describe.each(await providers())("the backup's table coverage on %s", (provider) => {
  it("decides about every table of the schema, and about no table that does not exist", async () => {
    const t = await openTestDatabase(provider);
    try {
      const rows = await t.db.query<{ name: string }>(
        provider === "sqlite"
          ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
          : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      );
      expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(TABLE_COVERAGE).sort());
    } finally {
      await t.close();
    }
  });
});
