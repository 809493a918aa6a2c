// SQLite (#18): each stream's last event as this process appended it, so that the next append's
// head check (verifiedHead in ./eventStore.ts) can compare the stored row with what was hashed
// instead of decoding and hashing it again (the check took about a tenth of the server's busy time
// with eight clients: docs/performance.md, "The head check without a second hash").
//
// Exactness: the shortcut holds only when the stored row is, column by column as SQLite gives it
// back, the row this process inserted and hashed (SQLite returns bound text and integers
// unchanged), the event before it still has the hash it was chained onto, the type's name is the
// one hashed, and the actor's row holds the values that a full check of a head by the same actor
// row found consistent with its hash. Anything else (another process appended, the log was
// changed outside Registro, an entry is missing or was dropped) takes the full check, which decodes
// and hashes the head as before. Entries are recorded after the commit only (a rolled back append
// leaves none) and bounded in number. PostgreSQL gives `data` back as jsonb's text, not as bound, so
// it keeps the full check (its cached command path has a guard of its own,
// ../application/streamStateCache.ts).
import type { Tx } from "../db/database.ts";
import { rowInt } from "../db/sql.ts";
import { hashOf } from "./eventCodec.ts";
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

/** A stream's last event as appended here. */
export interface OwnHead {
  readonly revision: number;
  readonly position: number;
  readonly hash: string;
  readonly appended: AppendedEvent;
}

/** A stream's last two rows as verifiedHead reads them (headStatement), raw. */
export interface HeadRow {
  readonly position: unknown;
  readonly revision: unknown;
  readonly type: unknown;
  readonly schema_version: unknown;
  readonly data: unknown;
  readonly actor: unknown;
  readonly actor_id: unknown;
  readonly actor_kind: unknown;
  readonly actor_credential: unknown;
  readonly actor_ref: unknown;
  readonly occurred_at: unknown;
  readonly correlation_id: unknown;
  readonly causation_id: unknown;
  readonly hash: unknown;
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
const actors = new WeakMap<object, Map<number, string>>();

function mapOf<K, V>(store: WeakMap<object, Map<K, V>>, database: object): Map<K, V> {
  let map = store.get(database);
  if (map === undefined) store.set(database, (map = new Map<K, V>()));
  return map;
}

/** The actor's columns as read, as one comparable text. */
const actorValues = (row: HeadRow) =>
  JSON.stringify([row.actor, row.actor_id, row.actor_kind, row.actor_credential]);

/**
 * Records `head` as the stream's last event once the transaction commits (SQLite only); null (a
 * head not kept, see MAX_REMEMBERED_PAYLOAD) forgets what was remembered of the stream before.
 */
export function rememberOwnHead(tx: Tx, streamId: string, head: OwnHead | null): void {
  if (tx.dialect !== "sqlite") return;
  if (head === null) {
    tx.afterCommit(() => heads.get(tx.database)?.delete(streamId));
    return;
  }
  tx.afterCommit(() => {
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
 * The stream's head, when its rows (`last`, then `before` or undefined) are exactly the event this
 * process appended last and the one it was chained onto; null when they must be checked in full.
 */
export function ownHeadOf(
  tx: Tx,
  streamId: string,
  last: HeadRow,
  before: HeadRow | undefined,
): { revision: number; position: number; hash: string } | null {
  if (tx.dialect !== "sqlite") return null;
  const own = heads.get(tx.database)?.get(streamId);
  if (own === undefined) return null;
  const event = own.appended;
  const same =
    last.position === own.position &&
    last.revision === own.revision &&
    last.type === event.type &&
    last.schema_version === event.schemaVersion &&
    last.data === event.data &&
    last.actor_ref === event.actorRef &&
    last.occurred_at === event.occurredAt.getTime() &&
    last.correlation_id === event.correlationId &&
    last.causation_id === event.causationId &&
    hashOf(last.hash) === own.hash &&
    (before === undefined
      ? event.previousHash === null
      : hashOf(before.hash) === event.previousHash &&
        before.revision === own.revision - 1 &&
        typeof before.position === "number" &&
        before.position < own.position) &&
    actors.get(tx.database)?.get(event.actorRef) === actorValues(last);
  return same ? { revision: own.revision, position: own.position, hash: own.hash } : null;
}
