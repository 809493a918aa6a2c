// Since migration 20261218000000_version_children today's projection writer names a version by its
// model id and number in model_aliases, model_version_artifacts, model_version_comments and
// model_version_deployments, where older schemas also store (in artifacts: only store) the
// version's id, `version_id`. withOldVersionChildren gives an older schema the new layout for a
// write by today's code, then turns the rows back into the older layout, so that the database is as
// the registry of that time left it. Applied by ./oldVersionRefs.ts around every write it wraps.
//
// Since migration 20261220000000_event_stream SQLite's events are stored in `event_rows`, behind
// an `events` view: withOldEventStreams (./oldEventStreams.ts, applied here) lends that. Since
// migration 20261222000000_version_model_ref SQLite's version rows are written to
// `model_version_rows`: withOldVersionRows (./oldVersionRows.ts, applied here, innermost) lends that.
import type BetterSqlite3 from "better-sqlite3";
import type { DatabaseConfig } from "../../src/config.ts";
import { withOldEventStreams } from "./oldEventStreams.ts";
import { withOldVersionRows } from "./oldVersionRows.ts";
import { pgQuery, tableDefinitions, withForeignKeysOff } from "./schemaShims.ts";

/** Each table and its key in today's layout (what today's upserts name in ON CONFLICT). */
const TABLES = [
  { table: "model_aliases", key: ["model_id", "alias"] },
  { table: "model_version_artifacts", key: ["model_id", "version", "path"] },
  { table: "model_version_comments", key: ["model_id", "id"] },
  { table: "model_version_deployments", key: ["model_id", "environment", "version"] },
] as const;

export async function withOldVersionChildren(
  config: DatabaseConfig,
  outer: () => Promise<void>,
): Promise<void> {
  const write = () => withOldEventStreams(config, () => withOldVersionRows(config, outer));
  if (config.provider === "sqlite") return sqliteWithOldVersionChildren(config.file, write);
  return postgresWithOldVersionChildren(config.url, write);
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
}

async function sqliteWithOldVersionChildren(file: string, write: () => Promise<void>): Promise<void> {
  const open = (work: (db: BetterSqlite3.Database) => void) => withForeignKeysOff(file, work);
  const saved: { table: string; ddl: string[]; columns: string[] }[] = [];
  open((db) => {
    for (const { table, key } of TABLES) {
      const columns = db
        .prepare(`SELECT name, type, "notnull", dflt_value FROM pragma_table_info(?)`)
        .all(table) as ColumnInfo[];
      if (!columns.some((c) => c.name === "version_id")) continue;
      saved.push({ table, ddl: tableDefinitions(db, table), columns: columns.map((c) => c.name) });
      const kept = columns.filter((c) => c.name !== "version_id");
      // Artifacts held only the id: their model and number come from the version it names.
      const fromVersion = table === "model_version_artifacts";
      const definitions = [
        ...(fromVersion ? ["model_id TEXT NOT NULL", "version INTEGER NOT NULL"] : []),
        ...kept.map(
          (c) =>
            `"${c.name}" ${c.type}${c.notnull ? " NOT NULL" : ""}${c.dflt_value === null ? "" : ` DEFAULT ${c.dflt_value}`}`,
        ),
        `PRIMARY KEY (${key.join(", ")})`,
      ];
      const targets = [...(fromVersion ? ["model_id", "version"] : []), ...kept.map((c) => `"${c.name}"`)];
      const values = [
        ...(fromVersion ? ["v.model_id", "v.version"] : []),
        ...kept.map((c) => `t."${c.name}"`),
      ];
      db.exec(`CREATE TABLE shim_${table} (${definitions.join(", ")});
        INSERT INTO shim_${table} (${targets.join(", ")})
          SELECT ${values.join(", ")} FROM ${table} t ${fromVersion ? "JOIN model_versions v ON v.id = t.version_id" : ""};
        DROP TABLE ${table};
        ALTER TABLE shim_${table} RENAME TO ${table};`);
    }
  });
  if (saved.length === 0) return write();
  try {
    await write();
  } finally {
    open((db) => {
      for (const { table, ddl, columns } of saved) {
        const [createTable, ...indexes] = ddl;
        db.exec(`ALTER TABLE ${table} RENAME TO shim_${table}`);
        db.exec(createTable!);
        const values = columns.map((c) =>
          c === "version_id" ? `t.model_id || ':' || t.version` : `t."${c}"`,
        );
        db.exec(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")})
            SELECT ${values.join(", ")} FROM shim_${table} t;
          DROP TABLE shim_${table};
          ${indexes.join(";\n")};`);
      }
    });
  }
}

async function postgresWithOldVersionChildren(url: string, write: () => Promise<void>): Promise<void> {
  const admin = (sql: string) => pgQuery(url, sql);
  const rows = await pgQuery<{ table_name: string }>(
    url,
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND column_name = 'version_id' AND table_name = ANY($1)`,
    [TABLES.map((t) => t.table)],
  );
  const old = new Set(rows.map((r) => r.table_name));
  if (old.size === 0) return write();
  const artifacts = old.has("model_version_artifacts");

  // Every row today's writer inserts or updates gets the id the registry of that time stored; the
  // artifacts get the two columns today's writer names, and a unique index for its ON CONFLICT.
  await admin(`BEGIN;
    CREATE FUNCTION shim_child_version_id() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.version_id := NEW.model_id || ':' || NEW.version::text; RETURN NEW; END $$;
    ${
      artifacts
        ? `ALTER TABLE model_version_artifacts ADD COLUMN model_id TEXT, ADD COLUMN version INTEGER;
    UPDATE model_version_artifacts a SET model_id = v.model_id, version = v.version FROM model_versions v WHERE v.id = a.version_id;
    CREATE UNIQUE INDEX shim_model_version_artifacts_key ON model_version_artifacts (model_id, version, path);`
        : ""
    }
    ${[...old]
      .map(
        (table) => `CREATE TRIGGER shim_child_version_id BEFORE INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION shim_child_version_id();`,
      )
      .join("\n")}
    COMMIT`);
  try {
    await write();
  } finally {
    await admin(`BEGIN;
      ${[...old].map((table) => `DROP TRIGGER shim_child_version_id ON ${table};`).join("\n")}
      ${
        artifacts
          ? `DROP INDEX shim_model_version_artifacts_key;
      ALTER TABLE model_version_artifacts DROP COLUMN model_id, DROP COLUMN version;`
          : ""
      }
      DROP FUNCTION shim_child_version_id();
      COMMIT`);
  }
}
