// Bytes per table and index of a SQLite database (its dbstat virtual table: whole pages), shared by
// the storage benchmark (./storage.ts) and its floor (./storageFloor.ts).
import BetterSqlite3 from "better-sqlite3";
import { round } from "./support.ts";

export interface ObjectSize {
  readonly name: string;
  readonly bytes: number;
}

/** Bytes of every table and index of an open SQLite database, largest first (dbstat: whole pages). */
export const sizesOf = (db: BetterSqlite3.Database) =>
  db
    .prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
    .all() as ObjectSize[];

/** The same, of a SQLite file. */
export function objectSizes(file: string): ObjectSize[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return sizesOf(db);
  } finally {
    db.close();
  }
}

export const totalBytes = (sizes: readonly ObjectSize[]) => sizes.reduce((sum, s) => sum + s.bytes, 0);

/** Per-object growth between two measurements, per version. */
export function growthPerVersion(
  before: readonly ObjectSize[],
  after: readonly ObjectSize[],
  versions: number,
) {
  const was = new Map(before.map((s) => [s.name, s.bytes]));
  return Object.fromEntries(
    after
      .map((s) => [s.name, round((s.bytes - (was.get(s.name) ?? 0)) / versions, 1)] as const)
      .filter(([, bytes]) => bytes > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}
