// Event types are interned (#18, migration 20261214000000_event_type): `events.type` holds a small
// integer code and `event_types` holds each name once. Appends get the codes here (eventTypeCodes);
// readers get the names back in SQL (typeNameOf, in the store's COLUMNS), through Prisma's
// `eventType` relation, or for Prisma rows read without it, eventTypeName.
import type { Database, Tx } from "../db/database.ts";

/**
 * Codes known to be committed, per database (SqlTx.database). A code never changes its name once
 * committed (event_types refuses updates and deletes), so an entry can only be missing, never
 * wrong; a missing one costs one insert-if-absent and one read in the transaction that needs it.
 */
const committed = new WeakMap<object, Map<string, number>>();

/**
 * The code of each event type name, in a write transaction: from the cache, or given on first use
 * (insert if absent, then read, so that two instances on one PostgreSQL database agree: the second
 * insert waits for the first and does nothing). On SQLite the code is given inside the append's
 * transaction, so it enters the cache only once that has committed: a rolled back append's new
 * name must not be taken as stored.
 */
export async function eventTypeCodes(tx: Tx, names: readonly string[]): Promise<number[]> {
  let known = committed.get(tx.database);
  if (known === undefined) committed.set(tx.database, (known = new Map<string, number>()));
  const here = new Map<string, number>();
  for (const name of names)
    if (!known.has(name) && !here.has(name)) here.set(name, await assign(tx, name, known));
  return names.map((name) => known.get(name) ?? here.get(name) ?? 0);
}

async function assign(tx: Tx, name: string, known: Map<string, number>): Promise<number> {
  // Inserts only a name not seen yet: on PostgreSQL even a conflicting insert would take the next
  // code from the sequence and leave a gap (every process start would, for each name it appends).
  // On PostgreSQL in a transaction of its own (Tx.autonomous): inside the append's, the new row
  // would make every other writer of that name wait for this append's commit. A code whose append
  // then rolls back stays given, to a name no event has yet, which is harmless.
  await tx.autonomous(
    "INSERT INTO event_types (name) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM event_types WHERE name = ?) ON CONFLICT (name) DO NOTHING",
    [name, name],
  );
  const [row] = await tx.autonomous<{ code: number | string }>(
    "SELECT code FROM event_types WHERE name = ?",
    [name],
  );
  if (row === undefined) throw new Error(`event type ${name} has no code after its insert`);
  const code = Number(row.code);
  tx.afterCommit(() => known.set(name, code));
  return code;
}

/** SQL: the name of the type code in `column` (e.g. `events.type`). */
export const typeNameOf = (column: string) => `(SELECT name FROM event_types WHERE code = ${column})`;

/** SQL: the codes of a list of names, for `type IN (…)` filters; `?` placeholders for the names. */
export const typeCodesOf = (names: readonly unknown[]) =>
  `(SELECT code FROM event_types WHERE name IN (${names.map(() => "?").join(", ")}))`;

/** Names by code, per database handle, as last read from the committed table. */
const names = new WeakMap<object, Promise<ReadonlyMap<number, string>>>();
/** The same once read, for an answer without waiting (knownEventTypeName). */
const namesRead = new WeakMap<object, ReadonlyMap<number, string>>();

function readNames(db: Pick<Database, "query">): Promise<ReadonlyMap<number, string>> {
  const read = db
    .query<{ code: number | string; name: string }>("SELECT code, name FROM event_types")
    .then((rows) => {
      const byCode = new Map(rows.map((row) => [Number(row.code), row.name] as const));
      namesRead.set(db, byCode);
      return byCode;
    });
  // A failed read (the database unreachable for a moment) is not kept: the next call reads again.
  read.catch(() => {
    if (names.get(db) === read) names.delete(db);
  });
  return read;
}

/**
 * The name of a type code if this handle has read it already, else undefined (then eventTypeName).
 * A resolver that can answer at once returns no promise, and graphql-js completes its object
 * without one (a page of history events did so once per event).
 */
export const knownEventTypeName = (db: Pick<Database, "query">, code: number): string | undefined =>
  namesRead.get(db)?.get(code);

/**
 * The name of a type code, for rows read through Prisma without their `eventType` (GraphQL's
 * history and node reads). The table is read whole (a few dozen rows) once per handle, and again
 * when a code is not in it yet (one given out since); a code it does not hold at all was written
 * outside Registro and is an IntegrityError.
 */
export async function eventTypeName(db: Pick<Database, "query">, code: number): Promise<string> {
  let read = names.get(db);
  if (read === undefined) names.set(db, (read = readNames(db)));
  let known = await read;
  if (!known.has(code)) {
    // Concurrent misses share one read.
    if (names.get(db) === read) names.set(db, readNames(db));
    known = await (names.get(db) ?? read);
  }
  const name = known.get(code);
  if (name === undefined)
    throw new Error(`event type code ${code} has no name in event_types: written outside Registro`);
  return name;
}
