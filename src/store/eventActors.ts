// Actors are interned (#18, migration 20261215000000_event_actor): `events.actor_ref` holds the id
// of a row of `event_actors`, which holds each distinct (display name, principal id, kind,
// credential) once. Appends get the ids here (eventActorRefs), as event types get their codes
// (./eventTypes.ts); readers get the four values back in SQL (actorColumnsOf, in the store's
// COLUMNS), through Prisma's `eventActor` relation, or for Prisma rows read without it, eventActorOf.
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
 * Ids known to be committed, per database (SqlTx.database), by the actor's four values. An id never
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

/** SQL: the row of event_actors holding exactly these four values (NULLs equal), `?` for each. */
const sameActor = (dialect: Tx["dialect"]) =>
  dialect === "postgresql"
    ? `actor = ?::text AND actor_id IS NOT DISTINCT FROM ?::text AND actor_kind IS NOT DISTINCT FROM ?::text
       AND actor_credential IS NOT DISTINCT FROM ?::jsonb`
    : "actor = ? AND actor_id IS ? AND actor_kind IS ? AND actor_credential IS ?";

async function assign(tx: Tx, actor: StoredActor, key: string, known: Map<string, number>): Promise<number> {
  const values = [actor.actor, actor.actorId, actor.actorKind, actor.actorCredential];
  // Inserts only an actor not stored yet: on PostgreSQL even a conflicting insert would take the
  // next id from the sequence and leave a gap. An id whose append then rolls back stays given, to
  // an actor no event has yet, which is harmless.
  const select = tx.dialect === "postgresql" ? "?::text, ?::text, ?::text, ?::jsonb" : "?, ?, ?, ?";
  await tx.autonomous(
    `INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) SELECT ${select}
     WHERE NOT EXISTS (SELECT 1 FROM event_actors WHERE ${sameActor(tx.dialect)}) ON CONFLICT DO NOTHING`,
    [...values, ...values],
  );
  const [row] = await tx.autonomous<{ id: number | string }>(
    `SELECT id FROM event_actors WHERE ${sameActor(tx.dialect)}`,
    values,
  );
  if (row === undefined) throw new Error(`actor ${actor.actor} has no id after its insert`);
  const id = rowInt(row.id);
  tx.afterCommit(() => {
    if (known.size >= MAX_CACHED) known.clear();
    known.set(key, id);
  });
  return id;
}

/**
 * SQL: the four actor columns of the event row under `alias`, read through event_actors, with the
 * names the columns had when events held them (actor, actor_id, actor_kind, actor_credential).
 */
export const actorColumnsOf = (alias: string) =>
  ["actor", "actor_id", "actor_kind", "actor_credential"]
    .map((c) => `(SELECT ${c} FROM event_actors WHERE id = ${alias}.actor_ref) AS ${c}`)
    .join(", ");

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
      return ids.map((id) => {
        const row = byId.get(id);
        if (row === undefined) {
          load.clear(id);
          return new Error(`actor ${id} has no row in event_actors: written outside Registro`);
        }
        return {
          actor: row.actor,
          actorId: row.actor_id,
          actorKind: row.actor_kind,
          actorCredential: parseCredential(row.actor_credential),
        };
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
