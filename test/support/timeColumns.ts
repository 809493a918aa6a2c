// SQLite keeps every time as integer milliseconds (migrations 20261212000000_event_time and
// 20261213000000_integer_times, src/db/sql.ts). A time written as text by some forgotten path would
// not fail anything at once: SQLite orders every integer before every text, so filters and orders
// on that column would just go quietly wrong. These read what a database file actually holds.
import type BetterSqlite3 from "better-sqlite3";
import { withReadOnlySqlite } from "./sqliteFile.ts";

export interface TimeColumn {
  readonly table: string;
  readonly column: string;
}

/** Prisma's own bookkeeping, written as Prisma writes it (src/db/migrate.ts), not by Registro. */
const NOT_REGISTRO = new Set(["_prisma_migrations"]);

/** Every column declared DATETIME (what Prisma's DateTime becomes on SQLite), of every table. */
export function timeColumns(db: BetterSqlite3.Database): TimeColumn[] {
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .all() as { name: string }[];
  return tables
    .filter((t) => !NOT_REGISTRO.has(t.name))
    .flatMap((t) =>
      (db.prepare(`PRAGMA table_info("${t.name}")`).all() as { name: string; type: string }[])
        .filter((c) => c.type.toUpperCase() === "DATETIME")
        .map((c) => ({ table: t.name, column: c.name })),
    );
}

/** `table.column: n` for every time column holding any text value (none, in a sound database). */
export function textTimes(file: string): string[] {
  return withReadOnlySqlite(file, (db) => {
    return timeColumns(db).flatMap(({ table, column }) => {
      const { n } = db
        .prepare(`SELECT count(*) AS n FROM "${table}" WHERE typeof("${column}") = 'text'`)
        .get() as { n: number };
      return n === 0 ? [] : [`${table}.${column}: ${n}`];
    });
  });
}
