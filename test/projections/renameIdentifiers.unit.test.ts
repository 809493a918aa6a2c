import { describe, expect, it } from "vitest";
import { renameIdentifiers } from "../../src/projections/rebuild/renamingTx.ts";

const names = new Map([
  ["registered_models", '"rebuild_registered_models"'],
  ["registered_models_live_name_key", '"rebuild_registered_models_live_name_key"'],
]);

describe("renameIdentifiers", () => {
  it("renames bare and quoted table and index names, and nothing else", () => {
    expect(
      renameIdentifiers(
        'CREATE UNIQUE INDEX "registered_models_live_name_key" ON "registered_models"("name") WHERE "deleted" = 0',
        names,
      ),
    ).toBe(
      'CREATE UNIQUE INDEX "rebuild_registered_models_live_name_key" ON "rebuild_registered_models"("name") WHERE "deleted" = 0',
    );
    expect(renameIdentifiers("UPDATE registered_models SET name = ? WHERE id = ?", names)).toBe(
      'UPDATE "rebuild_registered_models" SET name = ? WHERE id = ?',
    );
  });

  it("leaves string literals (backslashes included) and longer names that contain a table name alone", () => {
    const sql = `ALTER TABLE x ADD COLUMN "search_name" TEXT GENERATED ALWAYS AS (replace("name", '\\', 'registered_models')) VIRTUAL, registered_models_count INT`;
    expect(renameIdentifiers(sql, names)).toBe(sql);
  });
});
