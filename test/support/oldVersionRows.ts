// Since migration 20261222000000_version_model_ref today's projection writer on SQLite writes version
// rows to `model_version_rows`, naming the model by its stream's ref, where older schemas have the
// `model_versions` table naming it by id. withOldVersionRows lends an older SQLite schema a
// `model_version_rows` view over that table, whose INSTEAD OF triggers write it, for a write by
// today's code, and drops the view afterwards: the rows are where the registry of that time kept
// them all along. PostgreSQL keeps its table: nothing to lend. Applied by ./oldVersionChildren.ts
// around every write it wraps, inside ./oldEventStreams.ts (the view needs `event_streams`).
import type BetterSqlite3 from "better-sqlite3";
import type { DatabaseConfig } from "../../src/config.ts";
import { withLentLayout } from "./schemaShims.ts";

function lendVersionRows(db: BetterSqlite3.Database): ((db: BetterSqlite3.Database) => void) | null {
  const kind = db.prepare("SELECT type FROM sqlite_master WHERE name = 'model_versions'").get() as
    { type: string } | undefined;
  if (kind?.type !== "table") return null;
  // Stored columns only (hidden 0): generated ones are computed by the table.
  const columns = (
    db.prepare("SELECT name FROM pragma_table_xinfo('model_versions') WHERE hidden = 0").all() as {
      name: string;
    }[]
  )
    .map((c) => c.name)
    .filter((name) => name !== "model_id");
  db.exec(`CREATE VIEW model_version_rows AS
      SELECT ${columns.map((c) => `v."${c}"`).join(", ")}, s.ref AS model_ref
        FROM model_versions v JOIN event_streams s ON s.id = v.model_id;
    CREATE TRIGGER model_version_rows_insert INSTEAD OF INSERT ON model_version_rows BEGIN
      INSERT INTO model_versions (${columns.map((c) => `"${c}"`).join(", ")}, model_id)
        VALUES (${columns.map((c) => `NEW."${c}"`).join(", ")}, (SELECT id FROM event_streams WHERE ref = NEW.model_ref));
    END;
    CREATE TRIGGER model_version_rows_update INSTEAD OF UPDATE ON model_version_rows BEGIN
      UPDATE model_versions SET ${columns.map((c) => `"${c}" = NEW."${c}"`).join(", ")} WHERE ref = OLD.ref;
    END;`);
  return (after) => after.exec("DROP VIEW model_version_rows");
}

export const withOldVersionRows = (config: DatabaseConfig, write: () => Promise<void>): Promise<void> =>
  withLentLayout(config, lendVersionRows, write);
