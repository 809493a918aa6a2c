// Helpers of the upgrade-test shims (./oldVersionRefs.ts, ./oldVersionChildren.ts, ./oldEventStreams.ts,
// ./oldVersionRows.ts) that lend an
// older schema today's layout for a write by today's code and put the older one back afterwards.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.ts";

/**
 * Runs `work` in one transaction with foreign keys off: dropping a table others reference with them
 * on would delete every row that references it.
 */
export function withForeignKeysOff(file: string, work: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(file);
  try {
    db.pragma("foreign_keys = OFF");
    db.transaction(() => work(db))();
  } finally {
    db.close();
  }
}

/** Opens the SQLite file for `work` alone, closing it afterwards. */
function withSqliteFile<T>(file: string, work: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/**
 * Lends an older SQLite schema today's layout for `write`, and puts the older one back afterwards,
 * whether the write succeeded or not. `lend` changes the schema and returns what restores it, or
 * null when the schema needs nothing lent. PostgreSQL has kept its layout: nothing to lend.
 */
export async function withLentLayout(
  config: DatabaseConfig,
  lend: (db: BetterSqlite3.Database) => ((db: BetterSqlite3.Database) => void) | null,
  write: () => Promise<void>,
): Promise<void> {
  if (config.provider !== "sqlite") return write();
  const restore = withSqliteFile(config.file, lend);
  if (restore === null) return write();
  try {
    await write();
  } finally {
    withSqliteFile(config.file, restore);
  }
}

/** A table's definition first, then its indexes': as the schema defines them, to put back afterwards. */
export const tableDefinitions = (db: BetterSqlite3.Database, table: string): string[] =>
  (
    db
      .prepare(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'table' DESC, name",
      )
      .all(table) as { sql: string }[]
  ).map((r) => r.sql);

/** PostgreSQL: one statement (or several, without parameters) on a connection of its own; its rows. */
export async function pgQuery<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
