// SQLite (#18): each stream's last event as this process appended it, so that the next append's
// head check (verifiedHead in ./eventStore.ts) can ask SQLite whether the stored rows are still
// exactly what was bound and hashed, instead of reading, decoding and hashing them again (the check
// took about a tenth of the server's busy time with eight clients: docs/performance.md, "The head
// check without a second hash").
//
// Exactness: the shortcut holds only when the stored row is, column by column, the row this process
// inserted and hashed (SQLite compares bound text, integers and blobs exactly), no event follows it,
// the event before it still has the hash it was chained onto, the type's name is the one hashed, and
// the actor's row holds the values that were hashed or that a full check of a head by the same actor
// row found consistent with its hash. Anything else (another process appended, the log was changed
// outside Registro, an entry is missing or was dropped) takes the full check, which reads, decodes
// and hashes the head as before. Committed heads are recorded after the commit only (a rolled back
// append leaves none) and bounded in number; within a transaction, a head appended by an earlier
// command is used while that command's savepoint holds. PostgreSQL gives `data` back as jsonb's text, not as bound, so
// it keeps the full check (its cached command path has a guard of its own,
// ../application/streamStateCache.ts).
import type { Tx } from "../db/database.ts";
import { rowInt } from "../db/sql.ts";
import { TransactionMemo } from "../db/transactionMemo.ts";
import { storedHash } from "./eventCodec.ts";
import type { StoredActor } from "./eventActors.ts";

/**
 * An event as this process bound and hashed it: what the head checks compare the stored row with
 * (here on SQLite; ../application/streamStateCache.ts's guard on PostgreSQL).
 */
export interface AppendedEvent {
  /** The hash of the event before it (null for a stream's first event). */
  readonly previousHash: string | null;
  readonly type: string;
  readonly schemaVersion: number;
  /** The payload's JSON text, as bound. */
  readonly data: string;
  readonly actorRef: number;
  /** The actor's values as the append gave them (the credential as JSON text). */
  readonly actor: StoredActor;
  readonly occurredAt: Date;
  readonly correlationId: string | null;
  readonly causationId: string | null;
}

/** A stream's last event as this process appended it: where it is, and what was bound and hashed. */
export interface OwnHead {
  readonly revision: number;
  readonly position: number;
  readonly hash: string;
  readonly appended: AppendedEvent;
}

/** The actor's columns of a head row as verifiedHead reads it (headStatement), raw. */
interface HeadRow {
  readonly actor: unknown;
  readonly actor_id: unknown;
  readonly actor_kind: unknown;
  readonly actor_credential: unknown;
  readonly actor_ref: unknown;
}

/** Streams remembered per database; past it the memory starts again (a miss costs a full check). */
const MAX_STREAMS = 1_000;
/**
 * The longest payload (JSON characters) a remembered head keeps: a version's payload may reach about
 * a megabyte (params, tags, metrics, description at their bounds), and 1,000 of those would hold a
 * gigabyte. A head over it is checked in full, as before; with MAX_STREAMS the memory stays under
 * about 16 MB per database. Applied where appends record their last event (../store/eventStore.ts),
 * so PostgreSQL's cached command path keeps no such head either.
 */
export const MAX_REMEMBERED_PAYLOAD = 16 * 1024;
/** Actor rows remembered per database, likewise. */
const MAX_ACTORS = 10_000;

const heads = new WeakMap<object, Map<string, OwnHead>>();
/** Per database: each actor row's values (credential as stored text) a full check found consistent. */
const actors = new WeakMap<object, Map<number, readonly unknown[]>>();

function mapOf<K, V>(store: WeakMap<object, Map<K, V>>, database: object): Map<K, V> {
  let map = store.get(database);
  if (map === undefined) store.set(database, (map = new Map<K, V>()));
  return map;
}

/** The actor's columns as read. */
const actorValues = (row: HeadRow): readonly unknown[] => [
  row.actor,
  row.actor_id,
  row.actor_kind,
  row.actor_credential,
];

/**
 * The heads that commands earlier in the running transaction appended (a SQLite group commit runs
 * several commands in one): inside the transaction nothing else writes, so the next command on the
 * stream chains onto such a head without reading it, while the savepoint of the command that
 * appended it holds (../db/transactionMemo.ts).
 */
const appendedHere = new TransactionMemo<OwnHead>(MAX_STREAMS);

/**
 * Records `head` as the stream's last event for the rest of the transaction and, once it commits,
 * for the next (SQLite only); null (a head not kept, see MAX_REMEMBERED_PAYLOAD) forgets what was
 * remembered of the stream before.
 */
export function rememberOwnHead(tx: Tx, streamId: string, head: OwnHead | null): void {
  if (tx.dialect !== "sqlite") return;
  if (head === null) {
    appendedHere.delete(tx, streamId);
    tx.afterCommit(() => heads.get(tx.database)?.delete(streamId));
    return;
  }
  appendedHere.set(tx, streamId, head, () => {
    const known = mapOf(heads, tx.database);
    if (known.size >= MAX_STREAMS && !known.has(streamId)) known.clear();
    known.set(streamId, head);
  });
}

/**
 * After a full check found `row` (a head) consistent with its hash: its actor row's values, as read,
 * are ones the chain vouches for.
 */
export function actorVerified(tx: Tx, row: HeadRow): void {
  if (tx.dialect !== "sqlite") return;
  const known = mapOf(actors, tx.database);
  const ref = rowInt(row.actor_ref);
  if (known.size >= MAX_ACTORS && !known.has(ref)) known.clear();
  known.set(ref, actorValues(row));
}

/**
 * SQL: one row, `holds` 1 when the stream's head is exactly the remembered event (every hashed
 * column as bound, the type's name, the actor's row), no event follows it and the event before it
 * (revision − 1, at a lower position) has the hash it was chained onto; 0 otherwise.
 */
const OWN_HEAD_HOLDS = `SELECT COUNT(*) AS holds FROM events e JOIN event_actors a ON a.id = e.actor_ref
  WHERE e.stream_id = ? AND e.revision = ? AND e.position = ? AND e.hash = ?
  AND (SELECT name FROM event_types WHERE code = e.type) = ? AND e.schema_version = ? AND e.data = ?
  AND e.actor_ref = ? AND e.occurred_at = ? AND e.correlation_id IS ? AND e.causation_id IS ?
  AND a.actor = ? AND a.actor_id IS ? AND a.actor_kind IS ? AND a.actor_credential IS ?
  AND (SELECT p.hash FROM events p WHERE p.stream_id = ? AND p.revision = ? AND p.position < ?) IS ?
  AND NOT EXISTS (SELECT 1 FROM events n WHERE n.stream_id = ? AND n.revision > ?)`;

/**
 * The stream's head when it is exactly the event this process appended last on it: appended
 * earlier in the running transaction (no statement at all), or committed and still as bound (one
 * statement, no row read back); null when it must be read and checked in full (SQLite only).
 */
export async function ownHead(
  tx: Tx,
  streamId: string,
): Promise<{ revision: number; position: number; hash: string } | null> {
  if (tx.dialect !== "sqlite") return null;
  // Appended earlier in this transaction, by a command whose savepoint holds: nothing else can have
  // written since.
  const here = appendedHere.get(tx, streamId);
  if (here !== undefined) return { revision: here.revision, position: here.position, hash: here.hash };
  const own = heads.get(tx.database)?.get(streamId);
  if (own === undefined) return null;
  const event = own.appended;
  const actor = actors.get(tx.database)?.get(event.actorRef) ?? [
    event.actor.actor,
    event.actor.actorId,
    event.actor.actorKind,
    event.actor.actorCredential,
  ];
  const [row] = await tx.query<{ holds: unknown }>(OWN_HEAD_HOLDS, [
    streamId,
    own.revision,
    own.position,
    storedHash(own.hash),
    event.type,
    event.schemaVersion,
    event.data,
    event.actorRef,
    event.occurredAt.getTime(),
    event.correlationId,
    event.causationId,
    ...(actor as (string | null)[]),
    streamId,
    own.revision - 1,
    own.position,
    event.previousHash === null ? null : storedHash(event.previousHash),
    streamId,
    own.revision,
  ]);
  return rowInt(row?.holds) === 1 ? { revision: own.revision, position: own.position, hash: own.hash } : null;
}
