// Reading a SQLite database file directly, beside the registry's own connections: upgrade and
// storage tests look at what a migration or a write left in the file (sqlite_master, stored bytes,
// query plans), which the registry's readers never show.
import BetterSqlite3 from "better-sqlite3";

/** Runs `work` on a read-only connection to `file` (which must exist), closed afterwards. */
export function withReadOnlySqlite<T>(file: string, work: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** The rows of one statement, read from `file` through a read-only connection of its own. */
export const readSqlite = <T>(file: string, sql: string, params: readonly unknown[] = []): T[] =>
  withReadOnlySqlite(file, (db) => db.prepare(sql).all(...params) as T[]);
