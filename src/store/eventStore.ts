// The one owner of the event table: append with an expected revision, read a stream, read the log
// after a global position. Nothing else writes events. Appends and in-transaction reads use the
// write path's SQL session; reads from outside a transaction use the Prisma reader.
import { actorColumns, actorFromColumns } from "../access/actor.ts";
import type { EventActor } from "../access/actor.ts";
import type { Database, Db, Tx } from "../db/database.ts";
import { placeholders, rowDate, rowInt, rowJson } from "../db/sql.ts";
import { ChainVerifier } from "../audit/chainVerifier.ts";
import type { ChainBreak, ChainedEvent } from "../audit/chainVerifier.ts";
import { eventHash, isEventHash } from "../audit/eventHash.ts";
import { ConcurrencyError, IntegrityError } from "../domain/errors.ts";
import { parseRegisteredModelEvent } from "../domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS } from "../domain/registeredModel/events.ts";
import { storedPayload } from "../domain/registeredModel/upcasters.ts";
import type { RegisteredModelEvent } from "../domain/registeredModel/events.ts";
import type { EventMetadata, RecordedEvent } from "./recordedEvent.ts";
import { hashOf, storedCorrelationId, storedHash } from "./eventCodec.ts";
import { eventTypeCodes, typeNameOf } from "./eventTypes.ts";
import { ACTOR_COLUMNS, actorJoinOf, eventActorRefs } from "./eventActors.ts";
import { MAX_REMEMBERED_PAYLOAD, actorVerified, ownHead, rememberOwnHead } from "./ownHeads.ts";
import type { AppendedEvent } from "./ownHeads.ts";
import type { ActorValues } from "./eventActors.ts";
import { isUniqueViolation } from "./uniqueViolation.ts";

interface EventRow {
  position: number;
  streamId: string;
  revision: number;
  type: string;
  /** As stored (./eventTypes.ts); `type` is its name. */
  typeCode: number;
  /** As stored (./eventActors.ts); the four actor fields are its values. */
  actorRef: number;
  schemaVersion: number;
  data: unknown;
  actor: string;
  actorId: string | null;
  actorKind: string | null;
  actorCredential: unknown;
  occurredAt: Date;
  correlationId: string | null;
  causationId: string | null;
}

/** Validates a stored event (zod, via the domain's schemas) and attaches its metadata. */
export function toRecordedEvent(row: Omit<EventRow, "typeCode" | "actorRef">): RecordedEvent {
  const event = parseRegisteredModelEvent(row.type, row.schemaVersion, row.data);
  // Not `...event`: spreading the parsed event cost about 7 µs per event in V8 (measured while
  // profiling the rebuild), a hundred times these two assignments. type and data come from one
  // parsed event, which is what the cast asserts.
  return {
    type: event.type,
    data: event.data,
    position: row.position,
    streamId: row.streamId,
    revision: row.revision,
    schemaVersion: row.schemaVersion,
    actor: actorFromColumns(row),
    occurredAt: row.occurredAt,
    correlationId: row.correlationId,
    causationId: row.causationId,
  } as RecordedEvent;
}

/**
 * The event table's columns but its position and hash, as raw SQL reads them (EventSqlRow), from
 * the table under `alias` (`events` itself by default) joined as eventsFrom(alias) joins it: the
 * actor's four columns come from its row of event_actors (./eventActors.ts). `type` is read as its
 * name (what is hashed, validated and shown) and `type_code` as stored: the column holds the name's
 * code (./eventTypes.ts).
 */
export const columnsOf = (alias = "events") =>
  [
    "stream_id",
    "revision",
    `${typeNameOf(`${alias}.type`)} AS type`,
    `${alias}.type AS type_code`,
    "schema_version",
    "data",
    ACTOR_COLUMNS,
    "actor_ref",
    "occurred_at",
    "correlation_id",
    "causation_id",
  ]
    .map((c) => (c.includes(" AS ") || alias === "events" ? c : `${alias}.${c}`))
    .join(", ");
/** columnsOf the table `events` itself. */
export const COLUMNS = columnsOf();
/**
 * SQL: the event table under `alias`, with the join columnsOf(alias) reads the actor through; what
 * follows FROM in a read of those columns (`events` alone would fail on the actor's columns).
 */
export const eventsFrom = (alias = "events") =>
  `events${alias === "events" ? "" : ` ${alias}`} ${actorJoinOf(alias)}`;
/** eventsFrom the table `events` itself: `SELECT position, ${COLUMNS} FROM ${EVENTS} WHERE …`. */
export const EVENTS = eventsFrom();
/** What appends write: the stored columns and the chain hash (../audit/eventHash.ts). */
const INSERT_COLUMNS =
  "stream_id, revision, type, schema_version, data, actor_ref, occurred_at, correlation_id, causation_id, hash";
/**
 * SQLite: the same values written to the table behind the `events` view (migration
 * 20261220000000_event_stream), the stream id bound in place of its ref (STREAM_REF_OF_ID).
 */
const SQLITE_INSERT_COLUMNS = INSERT_COLUMNS.replace("stream_id", "stream_ref");
/** SQL (SQLite): the interned `ref` of the stream whose id is bound here; the version rows name their model by it too. */
export const STREAM_REF_OF_ID = "(SELECT ref FROM event_streams WHERE id = ?)";

/**
 * Prisma: what a read of events includes so that rows carry their type's name and their actor's
 * values (fromPrismaRow).
 */
export const WITH_TYPE_NAME = {
  eventType: { select: { name: true } },
  eventActor: { select: { actor: true, actorId: true, actorKind: true, actorCredential: true } },
} as const;

/** A Prisma event row read with WITH_TYPE_NAME, with its type's name and actor where the raw rows have them. */
export const fromPrismaRow = <R extends { eventType: { name: string }; eventActor: ActorValues }>(
  row: R,
): Omit<R, "eventType" | "eventActor"> & { type: string } & ActorValues => {
  const { eventType, eventActor, ...rest } = row;
  return { ...rest, type: eventType.name, ...eventActor };
};

/** An event of any bounded context, ready to append: its type, payload version and payload. */
export interface EventToAppend {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
}

/**
 * Streams of other bounded contexts are named `<category>:<id>` (e.g. `principal:…`); registered
 * model streams are bare ids. Readers of the model log (subscriptions) skip the other categories.
 */
export const streamCategory = (streamId: string): string => {
  const colon = streamId.indexOf(":");
  return colon < 0 ? "registeredModel" : streamId.slice(0, colon);
};

/**
 * The context-neutral append: events of any category, with a caller-supplied schema version. A
 * concurrent append to the same stream becomes a ConcurrencyError, exactly as for model streams.
 * Returns each event's global position and revision. Must run inside a write transaction.
 *
 * The insert goes through `tx.later`: in a concurrent PostgreSQL write it is sent with the commit,
 * and the positions are filled in then (the returned objects are updated in place before the write
 * resolves; nothing inside the transaction may rely on them).
 */
export async function appendEvents(
  tx: Tx,
  streamId: string,
  expectedRevision: number,
  events: readonly EventToAppend[],
  metadata: EventMetadata,
): Promise<{ position: number; revision: number }[]> {
  const appended = events.map((_, i) => ({ position: 0, revision: expectedRevision + i + 1 }));
  await insertEvents(tx, streamId, expectedRevision, events, metadata, (positions) => {
    for (const slot of appended) slot.position = positions.get(slot.revision) ?? 0;
  });
  return appended;
}

/** The append itself; `onPositions` gets each inserted revision's global position once known. */
async function insertEvents(
  tx: Tx,
  streamId: string,
  expectedRevision: number,
  events: readonly EventToAppend[],
  metadata: EventMetadata,
  onPositions: (positions: ReadonlyMap<number, number>) => void,
): Promise<void> {
  if (events.length === 0) return;
  // The new events chain onto the stream's head, which must itself hold: nothing is ever appended
  // on top of an event written outside Registro (a forged or altered head). A head this transaction
  // appended itself may not be in the table yet (`tx.later`): it is the one recorded here.
  const head = appendedHeads.get(tx)?.get(streamId) ?? (await verifiedHead(tx, streamId));
  if (head.revision !== expectedRevision)
    throw new ConcurrencyError(streamId, expectedRevision, head.revision);
  // SQLite stores the stream by its ref and a UUID correlation id as bytes (migration
  // 20261220000000_event_stream); the `events` view reads both back as text.
  const sqlite = tx.dialect === "sqlite";
  const actor = actorColumns(metadata.actor);
  const typeCodes = await eventTypeCodes(
    tx,
    events.map((e) => e.type),
  );
  const [actorRef] = await eventActorRefs(tx, [actor]);
  const credential = actor.actorCredential === null ? null : (JSON.parse(actor.actorCredential) as unknown);
  let previousHash = head.hash;
  // Each event as bound and hashed: the last one is what the next append's head check compares
  // the stored row with (./ownHeads.ts, ../application/streamStateCache.ts).
  const chained: { appended: AppendedEvent; hash: string }[] = [];
  const values = events.flatMap((event, i) => {
    const revision = expectedRevision + i + 1;
    const data = JSON.stringify(event.data);
    // Hashed over the payload as it will be read back (JSON), whatever the provider's text form.
    const hash = eventHash(
      {
        streamId,
        revision,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: JSON.parse(data) as unknown,
        actor: actor.actor,
        actorId: actor.actorId,
        actorKind: actor.actorKind,
        actorCredential: credential,
        occurredAt: metadata.occurredAt,
        correlationId: metadata.correlationId,
        causationId: metadata.causationId,
      },
      previousHash,
    );
    chained.push({
      hash,
      appended: {
        previousHash,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data,
        actorRef: actorRef ?? 0,
        actor,
        occurredAt: metadata.occurredAt,
        correlationId: metadata.correlationId,
        causationId: metadata.causationId,
      },
    });
    previousHash = hash;
    return [
      streamId,
      revision,
      typeCodes[i] ?? null,
      event.schemaVersion,
      data,
      actorRef ?? null,
      metadata.occurredAt,
      sqlite ? storedCorrelationId(metadata.correlationId) : metadata.correlationId,
      metadata.causationId,
      storedHash(hash),
    ];
  });
  // SQLite stores the stream's interned ref (migration 20261220000000_event_stream): a stream's
  // first append interns its id, and each row looks the ref up from the id it binds.
  if (sqlite && expectedRevision === 0)
    await tx.later("INSERT INTO event_streams (id) VALUES (?) ON CONFLICT (id) DO NOTHING", [streamId]);
  const rows = events
    .map(() => (sqlite ? `(${STREAM_REF_OF_ID}, ${placeholders(9)})` : `(${placeholders(10)})`))
    .join(", ");
  // The last event, kept for the next check only when its payload is within the bound (./ownHeads.ts).
  const final = chained.at(-1);
  const last =
    final !== undefined && final.appended.data.length <= MAX_REMEMBERED_PAYLOAD ? final : undefined;
  const newRevision = expectedRevision + events.length;
  let queued: boolean;
  try {
    queued = await tx.later<{ position: number | string; revision: number | string }>(
      `INSERT INTO ${sqlite ? `event_rows (${SQLITE_INSERT_COLUMNS})` : `events (${INSERT_COLUMNS})`} VALUES ${rows} RETURNING position, revision`,
      values,
      (inserted) => {
        const positions = new Map(inserted.map((r) => [rowInt(r.revision), rowInt(r.position)]));
        onPositions(positions);
        const position = positions.get(newRevision);
        rememberOwnHead(
          tx,
          streamId,
          last === undefined || position === undefined ? null : { revision: newRevision, position, ...last },
        );
      },
    );
  } catch (error) {
    throw appendConflict(error, streamId, expectedRevision);
  }
  if (!queued) {
    // Written already: the table holds the new head (an assumed one is no longer it).
    appendedHeads.get(tx)?.delete(streamId);
    return;
  }
  let heads = appendedHeads.get(tx);
  if (heads === undefined) appendedHeads.set(tx, (heads = new Map<string, StreamHead>()));
  heads.set(streamId, {
    revision: newRevision,
    position: 0,
    hash: previousHash,
    ...(last === undefined ? {} : { appended: last.appended }),
  });
}

/**
 * Per concurrent write transaction (its Tx lives as long as it does): the head of each stream it
 * queued events for, which the table does not hold until the commit. Position unknown yet.
 */
const appendedHeads = new WeakMap<Tx, Map<string, StreamHead>>();

/**
 * Has the transaction's next append to a stream chain onto `head` without reading it: the caller
 * vouches for it with a guard sent after the stream lock, in the same transaction
 * (../application/streamStateCache.ts), which aborts the transaction when it is not the head.
 */
export function assumeHead(tx: Tx, streamId: string, head: StreamHead): void {
  let heads = appendedHeads.get(tx);
  if (heads === undefined) appendedHeads.set(tx, (heads = new Map<string, StreamHead>()));
  heads.set(streamId, head);
}

/** The head of a stream after the events this concurrent write queued for it (position still unknown). */
export const queuedHead = (tx: Tx, streamId: string): StreamHead | undefined =>
  appendedHeads.get(tx)?.get(streamId);

/**
 * What a failed event insert means: a concurrent append to the same stream (its unique key) is a
 * ConcurrencyError, anything else stays as it was. Callers of a concurrent write map the commit's
 * error through this too, since the insert runs there.
 */
export function appendConflict(error: unknown, streamId: string, expectedRevision: number): unknown {
  // The winner's revision is not readable inside an aborted PostgreSQL transaction; the caller
  // retries with a fresh read, which reports the actual revision if it still conflicts.
  return isUniqueViolation(error, "event_revision")
    ? new ConcurrencyError(streamId, expectedRevision, -1)
    : error;
}

/** A row of a stream about to be written to; one that cannot be decoded refuses the write. */
function decodedOrRefused(row: ChainSqlRow): ChainedEvent {
  const decoded = decodeChainRow(row);
  if (isChainBreak(decoded))
    throw new IntegrityError(decoded.streamId, decoded.revision, decoded.position, decoded.reason);
  return decoded;
}

/** A stream's last event, as far as its chain can vouch for it. */
export interface StreamHead {
  readonly revision: number;
  readonly position: number;
  /** The head's chain hash; null for a stream without events. */
  readonly hash: string | null;
  /** The head as this transaction appended it (a head it queued), for the next command's check. */
  readonly appended?: AppendedEvent;
}

/** The read behind verifiedHead: a stream's last two events. */
export const headStatement = (streamId: string): { sql: string; params: string[] } => ({
  sql: `SELECT position, ${COLUMNS}, hash FROM ${EVENTS} WHERE stream_id = ? ORDER BY revision DESC LIMIT 2`,
  params: [streamId],
});

/**
 * Per write transaction: head rows read ahead with headStatement, in the same round trip as the
 * stream's other reads, after its stream lock (so they stay its head until the commit). The append
 * that follows checks them instead of reading them again (#18: one round trip less on PostgreSQL).
 */
const headsRead = new WeakMap<Tx, Map<string, ChainSqlRow[]>>();

/** Hands verifiedHead a stream's head rows read ahead (with headStatement) after the stream was locked. */
export function headReadAhead(tx: Tx, streamId: string, rows: readonly Record<string, unknown>[]): void {
  let read = headsRead.get(tx);
  if (read === undefined) headsRead.set(tx, (read = new Map<string, ChainSqlRow[]>()));
  read.set(streamId, rows as unknown as ChainSqlRow[]);
}

/**
 * Reads a stream's last two events and checks that the last one chains onto the one before (its
 * hash, revision and position), inside a write transaction. A head that does not hold is an
 * IntegrityError: the stream's writes stop there instead of building on a forged event.
 */
export async function verifiedHead(tx: Tx, streamId: string): Promise<StreamHead> {
  const read = headsRead.get(tx);
  const ahead = read?.get(streamId);
  read?.delete(streamId);
  // The event this process appended last, unchanged, needs no reading and no second hashing
  // (./ownHeads.ts, SQLite).
  const own = ahead === undefined ? await ownHead(tx, streamId) : null;
  if (own !== null) return own;
  const rows = ahead ?? (await tx.query<ChainSqlRow>(headStatement(streamId).sql, [streamId]));
  const head = rows[0];
  if (head === undefined) return { revision: 0, position: 0, hash: null };
  const last = decodedOrRefused(head);
  const before = rows[1] === undefined ? null : decodedOrRefused(rows[1]);
  const verifier = new ChainVerifier();
  if (before !== null) {
    if (!isEventHash(before.hash))
      throw new IntegrityError(
        streamId,
        before.revision,
        before.position,
        "the event has no chain hash: written outside Registro",
      );
    verifier.resume({ streamId, revision: before.revision, position: before.position, hash: before.hash });
  }
  const broken = verifier.next(last);
  if (broken) throw new IntegrityError(streamId, broken.revision, broken.position, broken.reason);
  actorVerified(tx, head);
  return { revision: last.revision, position: last.position, hash: last.hash };
}

export interface ChainSqlRow extends EventSqlRow {
  /** As stored: 32 bytes, read as hex by ./eventCodec.ts. */
  hash: unknown;
}

/** A raw SQL row in the shape of the Prisma row: the two drivers' column types read the same way. */
export const columnsFromSqlRow = (row: EventSqlRow): EventRow => ({
  position: rowInt(row.position),
  streamId: row.stream_id,
  revision: rowInt(row.revision),
  type: row.type,
  typeCode: rowInt(row.type_code),
  actorRef: rowInt(row.actor_ref),
  schemaVersion: rowInt(row.schema_version),
  data: rowJson(row.data),
  actor: row.actor,
  actorId: row.actor_id,
  actorKind: row.actor_kind,
  actorCredential: row.actor_credential === null ? null : rowJson(row.actor_credential),
  occurredAt: rowDate(row.occurred_at),
  correlationId: row.correlation_id,
  causationId: row.causation_id,
});

/**
 * A stored model event straight from its raw row, validated like toRecordedEvent: the rebuild's
 * first pass, whose chain a worker thread checks, needs no intermediate ChainedEvent per event.
 */
export function recordedFromSqlRow(row: EventSqlRow): RecordedEvent {
  const schemaVersion = rowInt(row.schema_version);
  const event = parseRegisteredModelEvent(row.type, schemaVersion, rowJson(row.data));
  return { type: event.type, data: event.data, schemaVersion, ...metadataOfSqlRow(row) } as RecordedEvent;
}

/** Who acted, from a raw event row's actor columns (any context's stream). */
export const actorOfSqlRow = (
  row: Pick<EventSqlRow, "actor" | "actor_id" | "actor_kind" | "actor_credential">,
): EventActor =>
  actorFromColumns({
    actor: row.actor,
    actorId: row.actor_id,
    actorKind: row.actor_kind,
    actorCredential: row.actor_credential === null ? null : rowJson(row.actor_credential),
  });

/** Where a raw event row stands in the log and its metadata, whatever context its stream belongs to. */
export const metadataOfSqlRow = (
  row: Omit<EventSqlRow, "type" | "type_code" | "actor_ref" | "schema_version" | "data">,
): EventMetadata & { position: number; streamId: string; revision: number } => ({
  position: rowInt(row.position),
  streamId: row.stream_id,
  revision: rowInt(row.revision),
  actor: actorOfSqlRow(row),
  occurredAt: rowDate(row.occurred_at),
  correlationId: row.correlation_id,
  causationId: row.causation_id,
});

/** A stored row as the chain sees it: the hashed fields as stored, its position and its hash. */
export const chainedFromSqlRow = (row: ChainSqlRow): ChainedEvent => ({
  ...columnsFromSqlRow(row),
  hash: hashOf(row.hash),
});

/**
 * A stored row as the chain sees it, or the break it is when it cannot even be decoded (its payload
 * or credential is no longer JSON: altered outside Registro). Every reader that checks chains
 * decodes through this, so such a row is a reported break, never a crash.
 */
export function decodeChainRow(row: ChainSqlRow): ChainedEvent | ChainBreak {
  try {
    return chainedFromSqlRow(row);
  } catch (error) {
    return {
      streamId: row.stream_id,
      revision: rowInt(row.revision),
      position: rowInt(row.position),
      reason: `the stored event cannot be decoded (${error instanceof Error ? error.message : String(error)}): altered outside Registro`,
    };
  }
}

/** Whether a decoded row is a break rather than an event. */
export const isChainBreak = (decoded: ChainedEvent | ChainBreak): decoded is ChainBreak =>
  !("hash" in decoded);

/** A stored event whose payload the caller's context validates (the store does not know its types). */
export interface StoredEvent extends EventMetadata {
  readonly position: number;
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
}

/** A stream's stored events (any category), unparsed, read inside a write transaction. */
export async function readStoredStream(
  tx: Tx,
  streamId: string,
  options: { afterRevision?: number; limit?: number } = {},
): Promise<StoredEvent[]> {
  return (await selectStream(tx, streamId, options)).map(storedFromSqlRow);
}

function selectStream(
  tx: Tx,
  streamId: string,
  options: { afterRevision?: number; limit?: number },
): Promise<EventSqlRow[]> {
  return tx.query<EventSqlRow>(
    `SELECT position, ${COLUMNS} FROM ${EVENTS} WHERE stream_id = ? AND revision > ? ORDER BY revision LIMIT ?`,
    [streamId, options.afterRevision ?? 0, options.limit ?? 1_000_000],
  );
}

const storedFromSqlRow = (row: EventSqlRow): StoredEvent => {
  const {
    actor,
    actorId,
    actorKind,
    actorCredential,
    typeCode: _code,
    actorRef: _ref,
    ...event
  } = columnsFromSqlRow(row);
  return { ...event, actor: actorFromColumns({ actor, actorId, actorKind, actorCredential }) };
};

const fromSqlRow = (row: EventSqlRow): RecordedEvent => toRecordedEvent(columnsFromSqlRow(row));

/** An event of another context's stream as appended: its place in the log and its metadata. */
export type Recorded<E> = E &
  EventMetadata & { readonly position: number; readonly streamId: string; readonly revision: number };

/**
 * Appends another bounded context's decision to its stream and returns the events as recorded, ready
 * for that context's inline projection. Must run inside a write transaction.
 */
export async function appendRecorded<E extends { readonly type: string; readonly data: unknown }>(
  tx: Tx,
  streamId: string,
  expectedRevision: number,
  decision: readonly E[],
  schemaVersion: (type: E["type"]) => number,
  metadata: EventMetadata,
): Promise<Recorded<E>[]> {
  const recorded = decision.map((e, i) => ({
    ...e,
    ...metadata,
    streamId,
    position: 0,
    revision: expectedRevision + i + 1,
  }));
  await insertEvents(
    tx,
    streamId,
    expectedRevision,
    decision.map((e) => ({ type: e.type, schemaVersion: schemaVersion(e.type), data: e.data })),
    metadata,
    (positions) => {
      for (const event of recorded) event.position = positions.get(event.revision) ?? 0;
    },
  );
  return recorded;
}

/**
 * Appends events to a stream whose current revision is `expectedRevision` (0 for a new stream).
 * A concurrent append to the same stream violates the (stream, revision) unique key: that, and only
 * that, becomes a ConcurrencyError. Must run inside a write transaction.
 */
export async function appendToStream(
  tx: Tx,
  streamId: string,
  expectedRevision: number,
  events: readonly RegisteredModelEvent[],
  metadata: EventMetadata,
): Promise<RecordedEvent[]> {
  // Recorded events as built here; their positions are filled in once the insert has run (at once,
  // or with the commit of a concurrent PostgreSQL write). The projections never read them.
  const recorded = events.map((event, i) => ({
    ...event,
    position: 0,
    streamId,
    revision: expectedRevision + i + 1,
    schemaVersion: EVENT_SCHEMA_VERSIONS[event.type],
    ...metadata,
  }));
  await insertEvents(
    tx,
    streamId,
    expectedRevision,
    events.map((event) => ({
      type: event.type,
      schemaVersion: EVENT_SCHEMA_VERSIONS[event.type],
      // Stored without the fields its version leaves out at their default (restored on reading).
      data: storedPayload(event.type, EVENT_SCHEMA_VERSIONS[event.type], event.data),
    })),
    metadata,
    (positions) => {
      for (const event of recorded) event.position = positions.get(event.revision) ?? 0;
    },
  );
  return recorded;
}

export interface EventSqlRow {
  position: number | string;
  stream_id: string;
  revision: number;
  /** The type's name (COLUMNS reads it through event_types). */
  type: string;
  type_code: number | string;
  /** The actor's id in event_actors; actor, actor_id, actor_kind, actor_credential are its values. */
  actor_ref: number | string;
  schema_version: number;
  data: unknown;
  actor: string;
  actor_id: string | null;
  actor_kind: string | null;
  actor_credential: unknown;
  occurred_at: unknown;
  correlation_id: string | null;
  causation_id: string | null;
}

export async function readStream(
  db: Db,
  streamId: string,
  options: { afterRevision?: number; limit?: number } = {},
): Promise<RecordedEvent[]> {
  const rows = await db.event.findMany({
    where: { streamId, revision: { gt: options.afterRevision ?? 0 } },
    include: WITH_TYPE_NAME,
    orderBy: { revision: "asc" },
    ...(options.limit === undefined ? {} : { take: options.limit }),
  });
  return rows.map((row) => toRecordedEvent(fromPrismaRow(row)));
}

interface TailSqlRow extends ChainSqlRow {
  previous_hash: unknown;
  previous_position: number | string | null;
  projected_revision: number | string | null;
}

/** Why a tailed event cannot be vouched for, or null when its chain link and projection hold. */
function tailBreak(row: TailSqlRow): string | null {
  const event = decodeChainRow(row);
  if (isChainBreak(event)) return event.reason;
  if (event.revision > 1 && row.previous_hash === null)
    return `revision ${event.revision} has no revision ${event.revision - 1} before it`;
  if (row.previous_position !== null && rowInt(row.previous_position) >= event.position)
    return "inserted out of order: its log position is before its predecessor's";
  if (event.hash === null || eventHash(event, hashOf(row.previous_hash)) !== event.hash)
    return "the stored hash does not match the event's content and its predecessor: the event or an earlier one was altered";
  // Appends update the model's projection in the same transaction: a committed event the
  // projection has not seen was not written by the registry.
  if (row.projected_revision === null || event.revision > rowInt(row.projected_revision))
    return "the registry's views never saw this event: written outside Registro";
  return null;
}

/**
 * Registered-model events after a global position, in position order (subscriptions tail the log
 * with this). Streams of other categories (`<category>:<id>`) are skipped. Each event is checked
 * against its predecessor's hash and the model's projection before it is handed out: a serving
 * system acting on promotions must never receive one inserted behind the registry's back. Such an
 * event is skipped and reported through `onBroken`.
 */
export async function readAll(
  db: Database,
  afterPosition: number,
  limit: number,
  onBroken: (error: IntegrityError) => void = () => undefined,
): Promise<RecordedEvent[]> {
  let after = afterPosition;
  for (;;) {
    const page = await readTailPage(db, after, limit, () => true, onBroken);
    // A full page of nothing but skipped events must not read as the end of the log.
    if (page.events.length > 0 || page.rows === 0 || page.rows < limit) return page.events;
    after = page.last;
  }
}

/** One page of the log as a tailing reader sees it. */
export interface TailPage {
  /** The wanted events whose chain link and projection hold, in position order. */
  readonly events: RecordedEvent[];
  /** How many rows the page held (wanted or not, sound or not): fewer than asked is the log's end. */
  readonly rows: number;
  /** The position of the page's last row, or the position it was read after when it is empty. */
  readonly last: number;
}

/**
 * One page of readAll's rows, of which only those `wanted` (by stream and event type, before anything
 * else is done with them) are checked and decoded: a reader that hands out a few event types (a
 * webhook) verifies those, not every event of the log once more per reader.
 */
export async function readTailPage(
  db: Database,
  afterPosition: number,
  limit: number,
  wanted: (streamId: string, type: string) => boolean,
  onBroken: (error: IntegrityError) => void = () => undefined,
): Promise<TailPage> {
  const rows = await db.query<TailSqlRow>(
    `SELECT e.position, ${columnsOf("e")}, e.hash, p.hash AS previous_hash, p.position AS previous_position, m.revision AS projected_revision
     FROM ${eventsFrom("e")}
     LEFT JOIN events p ON p.stream_id = e.stream_id AND p.revision = e.revision - 1
     LEFT JOIN registered_models m ON m.id = e.stream_id
     WHERE e.position > ? AND e.stream_id NOT LIKE '%:%' ORDER BY e.position LIMIT ?`,
    [afterPosition, limit],
  );
  const events: RecordedEvent[] = [];
  for (const row of rows) {
    if (!wanted(row.stream_id, row.type)) continue;
    const broken = tailBreak(row);
    if (broken === null) events.push(fromSqlRow(row));
    else onBroken(new IntegrityError(row.stream_id, rowInt(row.revision), rowInt(row.position), broken));
  }
  const last = rows.at(-1);
  return { events, rows: rows.length, last: last === undefined ? afterPosition : rowInt(last.position) };
}

export async function lastPosition(db: Db): Promise<number> {
  const last = await db.event.findFirst({ orderBy: { position: "desc" }, select: { position: true } });
  return last?.position ?? 0;
}

/** A model event with the chain hash it was stored with (as-of reads record it in snapshots). */
export interface HashedRecordedEvent {
  readonly event: RecordedEvent;
  readonly hash: string | null;
}

/**
 * A model stream's events after a revision, up to a global position when given, in revision order,
 * one page at a time, read past Prisma (as-of reads fold thousands of them, and Prisma's row
 * mapping would cost more than the fold).
 */
export async function readHashedStreamPage(
  database: Pick<Database, "query">,
  streamId: string,
  page: { afterRevision: number; limit: number; maxPosition?: number },
): Promise<HashedRecordedEvent[]> {
  const bounded = page.maxPosition !== undefined;
  const rows = await database.query<ChainSqlRow>(
    `SELECT position, ${COLUMNS}, hash FROM ${EVENTS} WHERE stream_id = ? AND revision > ?${bounded ? " AND position <= ?" : ""} ORDER BY revision LIMIT ?`,
    [streamId, page.afterRevision, ...(bounded ? [page.maxPosition ?? 0] : []), page.limit],
  );
  return rows.map((row) => ({ event: fromSqlRow(row), hash: hashOf(row.hash) }));
}
