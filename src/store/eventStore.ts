// The one owner of the event table: append with an expected revision, read a stream, read the log
// after a global position. Nothing else writes events. Appends and in-transaction reads use the
// write path's SQL session; reads from outside a transaction use the Prisma reader.
import { actorColumns, actorFromColumns } from "../access/actor.ts";
import type { Db, Tx } from "../db/database.ts";
import { placeholders, rowDate, rowInt, rowJson } from "../db/sql.ts";
import { ConcurrencyError } from "../domain/errors.ts";
import { parseRegisteredModelEvent } from "../domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS } from "../domain/registeredModel/events.ts";
import type { RegisteredModelEvent } from "../domain/registeredModel/events.ts";
import type { EventMetadata, RecordedEvent } from "./recordedEvent.ts";
import { isUniqueViolation } from "./uniqueViolation.ts";

interface EventRow {
  position: number;
  streamId: string;
  revision: number;
  type: string;
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
export function toRecordedEvent(row: EventRow): RecordedEvent {
  const event = parseRegisteredModelEvent(row.type, row.schemaVersion, row.data);
  return {
    ...event,
    position: row.position,
    streamId: row.streamId,
    revision: row.revision,
    schemaVersion: row.schemaVersion,
    actor: actorFromColumns(row),
    occurredAt: row.occurredAt,
    correlationId: row.correlationId,
    causationId: row.causationId,
  };
}

const COLUMNS =
  "stream_id, revision, type, schema_version, data, actor, actor_id, actor_kind, actor_credential, occurred_at, correlation_id, causation_id";

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
  if (events.length === 0) return [];
  const actor = actorColumns(metadata.actor);
  const values = events.flatMap((event, i) => [
    streamId,
    expectedRevision + i + 1,
    event.type,
    EVENT_SCHEMA_VERSIONS[event.type],
    JSON.stringify(event.data),
    actor.actor,
    actor.actorId,
    actor.actorKind,
    actor.actorCredential,
    metadata.occurredAt,
    metadata.correlationId,
    metadata.causationId,
  ]);
  const rows = events.map(() => `(${placeholders(12)})`).join(", ");
  let inserted: { position: number | string; revision: number }[];
  try {
    inserted = await tx.query(
      `INSERT INTO events (${COLUMNS}) VALUES ${rows} RETURNING position, revision`,
      values,
    );
  } catch (error) {
    if (isUniqueViolation(error, "event_revision")) {
      // The winner's revision is not readable inside an aborted PostgreSQL transaction; the caller
      // retries with a fresh read, which reports the actual revision if it still conflicts.
      throw new ConcurrencyError(streamId, expectedRevision, -1);
    }
    throw error;
  }
  const positions = new Map(inserted.map((r) => [rowInt(r.revision), rowInt(r.position)]));
  return events.map((event, i) => {
    const revision = expectedRevision + i + 1;
    return {
      ...event,
      position: positions.get(revision) ?? 0,
      streamId,
      revision,
      schemaVersion: EVENT_SCHEMA_VERSIONS[event.type],
      ...metadata,
    };
  });
}

interface EventSqlRow {
  position: number | string;
  stream_id: string;
  revision: number;
  type: string;
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

const fromSqlRow = (row: EventSqlRow): RecordedEvent =>
  toRecordedEvent({
    position: rowInt(row.position),
    streamId: row.stream_id,
    revision: rowInt(row.revision),
    type: row.type,
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

/** A stream's events after a revision, read inside a write transaction (the rebuild does this). */
export async function readStreamInTransaction(
  tx: Tx,
  streamId: string,
  options: { afterRevision?: number; limit?: number } = {},
): Promise<RecordedEvent[]> {
  const rows = await tx.query<EventSqlRow>(
    `SELECT position, ${COLUMNS} FROM events WHERE stream_id = ? AND revision > ? ORDER BY revision LIMIT ?`,
    [streamId, options.afterRevision ?? 0, options.limit ?? 1_000_000],
  );
  return rows.map(fromSqlRow);
}

/** Stream ids in order of their first event, a page at a time, inside a write transaction. */
export async function streamIdsAfter(
  tx: Tx,
  afterPosition: number,
  limit: number,
): Promise<{ streamId: string; position: number }[]> {
  const rows = await tx.query<{ stream_id: string; position: number | string }>(
    "SELECT stream_id, position FROM events WHERE revision = 1 AND position > ? ORDER BY position LIMIT ?",
    [afterPosition, limit],
  );
  return rows.map((r) => ({ streamId: r.stream_id, position: rowInt(r.position) }));
}

export async function readStream(
  db: Db,
  streamId: string,
  options: { afterRevision?: number; limit?: number } = {},
): Promise<RecordedEvent[]> {
  const rows = await db.event.findMany({
    where: { streamId, revision: { gt: options.afterRevision ?? 0 } },
    orderBy: { revision: "asc" },
    ...(options.limit === undefined ? {} : { take: options.limit }),
  });
  return rows.map(toRecordedEvent);
}

/** Events after a global position, in position order (subscriptions and audits tail the log with this). */
export async function readAll(db: Db, afterPosition: number, limit: number): Promise<RecordedEvent[]> {
  const rows = await db.event.findMany({
    where: { position: { gt: afterPosition } },
    orderBy: { position: "asc" },
    take: limit,
  });
  return rows.map(toRecordedEvent);
}

export async function lastPosition(db: Db): Promise<number> {
  const last = await db.event.findFirst({ orderBy: { position: "desc" }, select: { position: true } });
  return last?.position ?? 0;
}
