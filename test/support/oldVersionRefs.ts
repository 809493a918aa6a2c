// Since migration 20261216000000_version_ref today's projection writer gives each version row an
// integer `ref` and names the version by it in its tags and metrics (column version_ref), where older
// schemas have no `ref` and name the version by its id (version_id). withOldVersionRefs gives an
// older schema those columns for a write by today's code, then turns the rows back into the older
// layout and drops the columns again, so the database is as the registry of that time left it.
//
// The refs given for the write are temporary: rows already there get negative ones (no event
// position is negative), and the migration computes the real ones from the log when the test
// upgrades. Applied by every helper of ./oldHashFormat.ts.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";

const CHILDREN = [
  { table: "model_version_tags", value: "TEXT" },
  { table: "model_version_metrics", value: "REAL" },
] as const;

export async function withOldVersionRefs(config: DatabaseConfig, write: () => Promise<void>): Promise<void> {
  if (config.provider === "sqlite") return sqliteWithOldVersionRefs(config.file, write);
  return postgresWithOldVersionRefs(config.url, write);
}

async function sqliteWithOldVersionRefs(file: string, write: () => Promise<void>): Promise<void> {
  const open = (work: (db: BetterSqlite3.Database) => void) => {
    const db = new BetterSqlite3(file);
    try {
      db.transaction(() => work(db))();
    } finally {
      db.close();
    }
  };
  let children: { table: string; value: string; ddl: string[] }[] = [];
  let applies = false;
  open((db) => {
    const columns = db.prepare("SELECT name FROM pragma_table_info('model_versions')").all() as {
      name: string;
    }[];
    applies = columns.length > 0 && !columns.some((c) => c.name === "ref");
    if (!applies) return;
    children = CHILDREN.map((c) => ({
      ...c,
      // The table first, then its indexes: as the older schema defined them, to put back afterwards.
      ddl: (
        db
          .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'table' DESC, name",
          )
          .all(c.table) as { sql: string }[]
      ).map((r) => r.sql),
    })).filter((c) => c.ddl.length > 0);
    db.exec(`ALTER TABLE model_versions ADD COLUMN ref INTEGER;
      UPDATE model_versions SET ref = -rowid;
      CREATE UNIQUE INDEX shim_model_versions_ref ON model_versions (ref);`);
    for (const { table, value } of children)
      db.exec(`CREATE TABLE shim_${table} (version_ref INTEGER NOT NULL, key TEXT NOT NULL, value ${value} NOT NULL,
          PRIMARY KEY (version_ref, key)) WITHOUT ROWID;
        INSERT INTO shim_${table} SELECT v.ref, t.key, t.value FROM ${table} t JOIN model_versions v ON v.id = t.version_id;
        DROP TABLE ${table};
        ALTER TABLE shim_${table} RENAME TO ${table};`);
  });
  if (!applies) return write();
  try {
    await write();
  } finally {
    open((db) => {
      for (const { table, ddl } of children) {
        db.exec(`ALTER TABLE ${table} RENAME TO shim_${table}`);
        for (const sql of ddl) db.exec(sql);
        db.exec(`INSERT INTO ${table} (version_id, key, value)
            SELECT v.id, t.key, t.value FROM shim_${table} t JOIN model_versions v ON v.ref = t.version_ref;
          DROP TABLE shim_${table};`);
      }
      db.exec("DROP INDEX shim_model_versions_ref; ALTER TABLE model_versions DROP COLUMN ref;");
    });
  }
}

async function postgresWithOldVersionRefs(url: string, write: () => Promise<void>): Promise<void> {
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const columns = await client
    .query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'model_versions'",
    )
    .finally(() => client.end());
  if (columns.rows.length === 0 || columns.rows.some((c) => c.column_name === "ref")) return write();

  await admin(`BEGIN;
    ALTER TABLE model_versions ADD COLUMN ref INTEGER;
    UPDATE model_versions v SET ref = -o.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM model_versions) o
     WHERE o.id = v.id;
    CREATE UNIQUE INDEX shim_model_versions_ref ON model_versions (ref);
    ${CHILDREN.map(
      ({ table }) => `
    ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD COLUMN version_ref INTEGER, ALTER COLUMN version_id DROP NOT NULL;
    UPDATE ${table} t SET version_ref = v.ref FROM model_versions v WHERE v.id = t.version_id;
    CREATE UNIQUE INDEX shim_${table}_ref ON ${table} (version_ref, key);`,
    ).join("")}
    COMMIT`);
  try {
    await write();
  } finally {
    await admin(`BEGIN;
      ${CHILDREN.map(
        ({ table }) => `
      UPDATE ${table} t SET version_id = v.id FROM model_versions v WHERE v.ref = t.version_ref AND t.version_id IS NULL;
      DROP INDEX shim_${table}_ref;
      ALTER TABLE ${table} DROP COLUMN version_ref, ALTER COLUMN version_id SET NOT NULL,
        ADD CONSTRAINT ${table}_pkey PRIMARY KEY (version_id, key);`,
      ).join("")}
      DROP INDEX shim_model_versions_ref;
      ALTER TABLE model_versions DROP COLUMN ref;
      COMMIT`);
  }
}
