// The one owner of the event table: append with an expected revision, read a stream, read the log
// after a global position. Nothing else writes events.
import type { Db, Tx } from "../db/database.ts";
import { ConcurrencyError } from "../domain/errors.ts";
import { parseRegisteredModelEvent } from "../domain/registeredModel/eventSchemas.ts";
import { EVENT_SCHEMA_VERSIONS } from "../domain/registeredModel/events.ts";
import type { RegisteredModelEvent } from "../domain/registeredModel/events.ts";
import type { EventMetadata, RecordedEvent } from "./recordedEvent.ts";
import { isUniqueViolation } from "./uniqueViolation.ts";

type Reader = Db | Tx;

interface EventRow {
  position: number;
  streamId: string;
  revision: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  actor: string;
  occurredAt: Date;
  correlationId: string | null;
  causationId: string | null;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  const event = parseRegisteredModelEvent(row.type, row.schemaVersion, row.data);
  return {
    ...event,
    position: row.position,
    streamId: row.streamId,
    revision: row.revision,
    schemaVersion: row.schemaVersion,
    actor: row.actor,
    occurredAt: row.occurredAt,
    correlationId: row.correlationId,
    causationId: row.causationId,
  };
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
  if (events.length === 0) return [];
  try {
    const rows = await tx.event.createManyAndReturn({
      data: events.map((event, i) => {
        // Widened without an assertion: tsc rejects Params (Record<string, unknown>) as Prisma JSON,
        // while type-aware lint sees the generated JSON type as accepting it and flags any cast.
        const data: object = event.data;
        return {
          streamId,
          revision: expectedRevision + i + 1,
          type: event.type,
          schemaVersion: EVENT_SCHEMA_VERSIONS[event.type],
          data,
          ...metadata,
        };
      }),
    });
    return rows.sort((a, b) => a.position - b.position).map(toRecordedEvent);
  } catch (error) {
    if (isUniqueViolation(error, "events")) {
      // The winner's revision is not readable inside an aborted PostgreSQL transaction; the caller
      // retries with a fresh read, which reports the actual revision if it still conflicts.
      throw new ConcurrencyError(streamId, expectedRevision, -1);
    }
    throw error;
  }
}

export async function readStream(
  db: Reader,
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
export async function readAll(db: Reader, afterPosition: number, limit: number): Promise<RecordedEvent[]> {
  const rows = await db.event.findMany({
    where: { position: { gt: afterPosition } },
    orderBy: { position: "asc" },
    take: limit,
  });
  return rows.map(toRecordedEvent);
}

export async function lastPosition(db: Reader): Promise<number> {
  const last = await db.event.findFirst({ orderBy: { position: "desc" }, select: { position: true } });
  return last?.position ?? 0;
}
