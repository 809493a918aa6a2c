// Since migration 20261216000000_version_ref today's projection writer gives each version row an
// integer `ref`, leaves its `id` to the database (a generated column), and names the version by
// its ref in its tags and metrics (column version_ref), where older schemas have no `ref`, store
// the id as written and name the version by it (version_id). withOldVersionRefs gives an older
// schema that layout for a write by today's code, then turns the rows back into the older layout,
// so the database is as the registry of that time left it.
//
// The refs given for the write are temporary: rows already there get negative ones in their order
// (no event position is negative), and the migration computes the real ones from the log when the
// test upgrades. Applied by every helper of ./oldHashFormat.ts.
//
// Since migration 20261217000000_version_creator today's writer leaves who registered a version,
// by principal id, to the version's creation event, where older schemas hold it in
// `model_versions.created_by_id` too: withOldVersionCreators (applied here, innermost) fills that
// column, after the write, from the creation event's actor, as the registry of that time did.
//
// Since migration 20261218000000_version_children aliases, artifacts, comments and deployments
// name their version by model id and number: withOldVersionChildren (./oldVersionChildren.ts,
// applied innermost) lends older schemas that layout.
import BetterSqlite3 from "better-sqlite3";
import type { DatabaseConfig } from "../../src/config.ts";
import { withOldVersionChildren } from "./oldVersionChildren.ts";
import { pgQuery, tableDefinitions, withForeignKeysOff } from "./schemaShims.ts";

const CHILDREN = [
  { table: "model_version_tags", value: "TEXT" },
  { table: "model_version_metrics", value: "REAL" },
] as const;

export async function withOldVersionRefs(config: DatabaseConfig, write: () => Promise<void>): Promise<void> {
  const inner = () => withOldVersionCreators(config, () => withOldVersionChildren(config, write));
  if (config.provider === "sqlite") return sqliteWithOldVersionRefs(config.file, inner);
  return postgresWithOldVersionRefs(config.url, inner);
}

/**
 * SQL: each version row written without its creator's principal id gets that of its creation event's
 * actor (at this point the schema has `ref` and event_actors, its own or lent). Rows already there
 * keep theirs; a version registered before authentication has none either way.
 */
const FILL_CREATORS = `UPDATE model_versions SET created_by_id = (
    SELECT a.actor_id FROM events e JOIN event_actors a ON a.id = e.actor_ref WHERE e.position = model_versions.ref)
  WHERE created_by_id IS NULL AND ref > 0`;

async function withOldVersionCreators(config: DatabaseConfig, write: () => Promise<void>): Promise<void> {
  await write();
  if (config.provider === "sqlite") {
    const db = new BetterSqlite3(config.file);
    try {
      const hasColumn = db
        .prepare("SELECT 1 FROM pragma_table_info('model_versions') WHERE name = 'created_by_id'")
        .get();
      if (hasColumn !== undefined) db.exec(FILL_CREATORS);
    } finally {
      db.close();
    }
    return;
  }
  const rows = await pgQuery(
    config.url,
    `SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'model_versions' AND column_name = 'created_by_id'`,
  );
  if (rows.length > 0) await pgQuery(config.url, FILL_CREATORS);
}

/** SQLite: the version table's definition with `ref` and the generated `id` of today's schema. */
function withRefAndGeneratedId(createTable: string): string {
  const old = '"id" TEXT NOT NULL PRIMARY KEY';
  if (!createTable.includes(old)) throw new Error(`unexpected model_versions definition: ${createTable}`);
  return createTable
    .replace('CREATE TABLE "model_versions"', 'CREATE TABLE "shim_model_versions"')
    .replace(
      old,
      `"ref" INTEGER, "id" TEXT NOT NULL GENERATED ALWAYS AS ("model_id" || ':' || "version") VIRTUAL`,
    );
}

async function sqliteWithOldVersionRefs(file: string, write: () => Promise<void>): Promise<void> {
  const open = (work: (db: BetterSqlite3.Database) => void) => withForeignKeysOff(file, work);
  const definitions = tableDefinitions;
  let versions: { ddl: string[]; columns: string[] } = { ddl: [], columns: [] };
  let children: { table: string; value: string; ddl: string[] }[] = [];
  let applies = false;
  open((db) => {
    const columns = db.prepare("SELECT name, hidden FROM pragma_table_xinfo('model_versions')").all() as {
      name: string;
      hidden: number;
    }[];
    applies = columns.length > 0 && !columns.some((c) => c.name === "ref");
    if (!applies) return;
    // The stored columns (generated ones are hidden 2 or 3), which both layouts have but `id`.
    versions = {
      ddl: definitions(db, "model_versions"),
      columns: columns.filter((c) => c.hidden === 0 && c.name !== "id").map((c) => `"${c.name}"`),
    };
    children = CHILDREN.map((c) => ({ ...c, ddl: definitions(db, c.table) })).filter((c) => c.ddl.length > 0);
    const [createTable, ...indexes] = versions.ddl;
    db.exec(`${withRefAndGeneratedId(createTable!)};
      INSERT INTO shim_model_versions (ref, ${versions.columns.join(", ")})
        SELECT rowid - (SELECT max(rowid) FROM model_versions) - 1, ${versions.columns.join(", ")} FROM model_versions;`);
    for (const { table, value } of children)
      db.exec(`CREATE TABLE shim_${table} (version_ref INTEGER NOT NULL, key TEXT NOT NULL, value ${value} NOT NULL,
          PRIMARY KEY (version_ref, key)) WITHOUT ROWID;
        INSERT INTO shim_${table} SELECT v.ref, t.key, t.value FROM ${table} t JOIN shim_model_versions v ON v.id = t.version_id;
        DROP TABLE ${table};
        ALTER TABLE shim_${table} RENAME TO ${table};`);
    db.exec(`DROP TABLE model_versions;
      ALTER TABLE shim_model_versions RENAME TO model_versions;
      ${indexes.join(";\n")};
      CREATE UNIQUE INDEX shim_model_versions_id ON model_versions (id);
      CREATE UNIQUE INDEX shim_model_versions_ref ON model_versions (ref);`);
  });
  if (!applies) return write();
  try {
    await write();
  } finally {
    open((db) => {
      const [createTable, ...indexes] = versions.ddl;
      // Not renamed away: renaming a table others refer to would rewrite their foreign keys.
      db.exec(`${createTable!.replace('CREATE TABLE "model_versions"', 'CREATE TABLE "old_model_versions"')};
        INSERT INTO old_model_versions (id, ${versions.columns.join(", ")})
          SELECT id, ${versions.columns.join(", ")} FROM model_versions ORDER BY ref;`);
      for (const { table, ddl } of children) {
        db.exec(`ALTER TABLE ${table} RENAME TO shim_${table}`);
        for (const sql of ddl) db.exec(sql);
        db.exec(`INSERT INTO ${table} (version_id, key, value)
            SELECT v.id, t.key, t.value FROM shim_${table} t JOIN model_versions v ON v.ref = t.version_ref;
          DROP TABLE shim_${table};`);
      }
      db.exec(`DROP TABLE model_versions;
        ALTER TABLE old_model_versions RENAME TO model_versions;
        ${indexes.join(";\n")};`);
    });
  }
}

async function postgresWithOldVersionRefs(url: string, write: () => Promise<void>): Promise<void> {
  const admin = (sql: string) => pgQuery(url, sql);
  const columns = await pgQuery<{ column_name: string }>(
    url,
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'model_versions'",
  );
  if (columns.length === 0 || columns.some((c) => c.column_name === "ref")) return write();

  await admin(`BEGIN;
    CREATE FUNCTION shim_version_id() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.id := NEW.model_id || ':' || NEW.version::text; RETURN NEW; END $$;
    CREATE TRIGGER shim_version_id BEFORE INSERT ON model_versions FOR EACH ROW EXECUTE FUNCTION shim_version_id();
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
      DROP TRIGGER shim_version_id ON model_versions;
      DROP FUNCTION shim_version_id();
      COMMIT`);
  }
}
