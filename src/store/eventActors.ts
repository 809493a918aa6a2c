// Actors are interned (#18, migration 20261215000000_event_actor): `events.actor_ref` holds the id
// of a row of `event_actors`, which holds each distinct (display name, principal id, kind,
// credential) once. Appends get the ids here (eventActorRefs), as event types get their codes
// (./eventTypes.ts); readers get the four values back in SQL (ACTOR_COLUMNS through actorJoinOf,
// in the store's COLUMNS and EVENTS), through Prisma's `eventActor` relation, or for Prisma rows
// read without it, eventActorOf.
import canonicalize from "canonicalize";
import DataLoader from "dataloader";
import type { Database, Tx } from "../db/database.ts";
import { placeholders, rowInt } from "../db/sql.ts";

/** An actor as stored: the credential as its JSON text (what appends write), null when none. */
export interface StoredActor {
  readonly actor: string;
  readonly actorId: string | null;
  readonly actorKind: string | null;
  readonly actorCredential: string | null;
}

/** An actor as read back: the credential parsed. */
export interface ActorValues {
  readonly actor: string;
  readonly actorId: string | null;
  readonly actorKind: string | null;
  readonly actorCredential: unknown;
}

/**
 * Ids known to be committed, per database (SqlTx.database), by the actor's four values as given (a
 * credential in two key orders is two entries of one id: see canonicalCredential). An id never
 * changes its values once committed (event_actors refuses updates and deletes), so an entry can only
 * be missing, never wrong. Bounded: credentials that change with every token (a JWT's jti) would
 * otherwise grow it without end; a dropped entry costs one insert-if-absent and one read.
 */
const committed = new WeakMap<object, Map<string, number>>();
const MAX_CACHED = 10_000;

const keyOf = (a: StoredActor) => JSON.stringify([a.actor, a.actorId, a.actorKind, a.actorCredential]);

/**
 * The id of each actor, in a write transaction: from the cache, or given on first use (insert if
 * absent, then read). Same rules as event type codes (./eventTypes.ts): on PostgreSQL the insert
 * runs in a transaction of its own (Tx.autonomous), so that the new row makes no other writer of
 * that actor wait for this append's commit (and a serialised writer holding the append lock cannot
 * deadlock with it); on SQLite inside the append's transaction, so the id enters the cache only
 * once that has committed.
 */
export async function eventActorRefs(tx: Tx, actors: readonly StoredActor[]): Promise<number[]> {
  let known = committed.get(tx.database);
  if (known === undefined) committed.set(tx.database, (known = new Map<string, number>()));
  const here = new Map<string, number>();
  const keys = actors.map(keyOf);
  for (const [i, key] of keys.entries()) {
    const actor = actors[i];
    if (actor !== undefined && !known.has(key) && !here.has(key))
      here.set(key, await assign(tx, actor, key, known));
  }
  return keys.map((key) => known.get(key) ?? here.get(key) ?? 0);
}

/**
 * The credential's JSON with its keys sorted, recursively (RFC 8785, as ../audit/eventHash.ts
 * encodes it for the hash, which is over the parsed value and so the same for any key order): what
 * a new row holds and what rows are looked up by. Appends write an object's keys in the order the
 * code built it, PostgreSQL's jsonb gives them back shortest first (a backup of a PostgreSQL
 * registry holds them so), and SQLite compares the text: without one form, a PostgreSQL backup
 * restored into SQLite gave the restored actors a second row at their next append.
 */
const canonicalCredential = (text: string | null): string | null =>
  text === null ? null : (canonicalize(JSON.parse(text)) ?? null);

/**
 * SQL: the row of event_actors holding exactly these four values (NULLs equal), `?` for each, the
 * credential's canonical form; on SQLite a fifth `?` for the credential as given. PostgreSQL
 * compares jsonb by value. SQLite compares text, and rows stored before the canonical form hold
 * what appends wrote (this code's key order, which the credential as given has): looking for both
 * finds them, so existing registries gain no second row per actor. Oldest first, should a registry
 * already hold both.
 */
const sameActor = (dialect: Tx["dialect"]) =>
  dialect === "postgresql"
    ? `actor = ?::text AND actor_id IS NOT DISTINCT FROM ?::text AND actor_kind IS NOT DISTINCT FROM ?::text
       AND actor_credential IS NOT DISTINCT FROM ?::jsonb`
    : "actor = ? AND actor_id IS ? AND actor_kind IS ? AND (actor_credential IS ? OR actor_credential IS ?)";

async function assign(tx: Tx, actor: StoredActor, key: string, known: Map<string, number>): Promise<number> {
  const credential = canonicalCredential(actor.actorCredential);
  const values = [actor.actor, actor.actorId, actor.actorKind, credential];
  const lookup = tx.dialect === "postgresql" ? values : [...values, actor.actorCredential];
  // Inserts only an actor not stored yet: on PostgreSQL even a conflicting insert would take the
  // next id from the sequence and leave a gap. An id whose append then rolls back stays given, to
  // an actor no event has yet, which is harmless.
  const select = tx.dialect === "postgresql" ? "?::text, ?::text, ?::text, ?::jsonb" : "?, ?, ?, ?";
  await tx.autonomous(
    `INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) SELECT ${select}
     WHERE NOT EXISTS (SELECT 1 FROM event_actors WHERE ${sameActor(tx.dialect)}) ON CONFLICT DO NOTHING`,
    [...values, ...lookup],
  );
  const [row] = await tx.autonomous<{ id: number | string }>(
    `SELECT id FROM event_actors WHERE ${sameActor(tx.dialect)} ORDER BY id LIMIT 1`,
    lookup,
  );
  if (row === undefined) throw new Error(`actor ${actor.actor} has no id after its insert`);
  const id = rowInt(row.id);
  tx.afterCommit(() => {
    if (known.size >= MAX_CACHED) known.clear();
    known.set(key, id);
  });
  return id;
}

/** The alias under which event reads join their actor's row (actorJoinOf). */
const ACTOR_ROW = "ea";

/**
 * SQL: the four actor columns of the event row joined by actorJoinOf, with the names the columns
 * had when events held them (actor, actor_id, actor_kind, actor_credential).
 */
export const ACTOR_COLUMNS = ["actor", "actor_id", "actor_kind", "actor_credential"]
  .map((c) => `${ACTOR_ROW}.${c} AS ${c}`)
  .join(", ");

/**
 * SQL: the join that gives the event row under `alias` its actor's row, for ACTOR_COLUMNS. One
 * lookup by primary key per row, where a scalar subquery per column made four. LEFT: the table has
 * no foreign key (migration 20261215000000_event_actor), and an event whose reference has no row
 * (written outside Registro) must still be read, with a NULL actor its hash does not match, not
 * silently left out of a walk such as audit:verify.
 */
export const actorJoinOf = (alias: string) =>
  `LEFT JOIN event_actors ${ACTOR_ROW} ON ${ACTOR_ROW}.id = ${alias}.actor_ref`;

/** SQL: the ids of the actors with these principal ids, for `actor_ref IN (…)` filters. */
export const actorRefsOf = (actorIds: readonly unknown[]) =>
  `(SELECT id FROM event_actors WHERE actor_id IN (${placeholders(actorIds.length)}))`;

interface ActorSqlRow {
  id: number | string;
  actor: string;
  actor_id: string | null;
  actor_kind: string | null;
  actor_credential: unknown;
}

const parseCredential = (value: unknown): unknown =>
  typeof value === "string" ? (JSON.parse(value) as unknown) : (value ?? null);

/** A loader's cache that starts afresh once it holds MAX_CACHED actors. */
class BoundedCache<K, V> extends Map<K, V> {
  override set(key: K, value: V): this {
    if (this.size >= MAX_CACHED) this.clear();
    return super.set(key, value);
  }
}

/**
 * Actors by id, per database handle: ids asked for in the same tick are read with one statement,
 * and kept (bounded), since rows never change. DataLoader does not keep a failed batch; an id
 * without a row is not kept either (it would otherwise keep its error).
 */
const loaders = new WeakMap<object, DataLoader<number, ActorValues>>();
/** The actors loaded so far, per handle, for an answer without waiting (knownEventActor). */
const actorsRead = new WeakMap<object, BoundedCache<number, ActorValues>>();

function actorLoader(db: Pick<Database, "query">): DataLoader<number, ActorValues> {
  const known = loaders.get(db);
  if (known !== undefined) return known;
  const load = new DataLoader<number, ActorValues>(
    async (ids) => {
      const rows = await db.query<ActorSqlRow>(
        `SELECT id, actor, actor_id, actor_kind, actor_credential FROM event_actors WHERE id IN (${placeholders(ids.length)})`,
        [...ids],
      );
      const byId = new Map(rows.map((row) => [rowInt(row.id), row]));
      let read = actorsRead.get(db);
      if (read === undefined) actorsRead.set(db, (read = new BoundedCache()));
      const known = read;
      return ids.map((id) => {
        const row = byId.get(id);
        if (row === undefined) {
          load.clear(id);
          return new Error(`actor ${id} has no row in event_actors: written outside Registro`);
        }
        const actor = {
          actor: row.actor,
          actorId: row.actor_id,
          actorKind: row.actor_kind,
          actorCredential: parseCredential(row.actor_credential),
        };
        known.set(id, actor);
        return actor;
      });
    },
    { cacheMap: new BoundedCache() },
  );
  loaders.set(db, load);
  return load;
}

/**
 * The actor of an id, for rows read through Prisma without their `eventActor` (GraphQL's history
 * and node reads). An id without a row was written outside Registro and is an error.
 */
export function eventActorOf(db: Pick<Database, "query">, id: number): Promise<ActorValues> {
  return actorLoader(db).load(id);
}

/**
 * The actor of an id if this handle has loaded it already, else undefined (then eventActorOf): a
 * resolver that can answer at once returns no promise (see knownEventTypeName).
 */
export const knownEventActor = (db: Pick<Database, "query">, id: number): ActorValues | undefined =>
  actorsRead.get(db)?.get(id);
