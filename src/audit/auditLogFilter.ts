// The audit log: the whole registry's log of model events, filtered, in position order, read in
// keyset pages. Shared by the `auditLog` GraphQL query and the `/audit/export` route so both answer
// exactly the same events. Permissions are not decided here: every read goes through the caller's
// scoped reader (../access/scopedReader.ts), which narrows event reads to the streams of the models
// the caller may read (AUDITOR and ADMIN: every model).
//
// Choices (documented in docs/audit.md):
// - `models` are names. A name means every stream that ever carried it: the live model, deleted
//   models of that name, and any model renamed from or to it. Names are resolved to stream ids
//   first; a name no readable model ever carried matches nothing (never an error, so a hidden model
//   is indistinguishable from a missing one).
// - `from` is inclusive, `to` exclusive (`from <= occurredAt < to`), so consecutive windows tile.
// - `from`/`to` compare with `occurred_at` in SQL (integer milliseconds on SQLite).
// - Pages are keyset pages on the log position: appends committed while a client pages get higher
//   positions, so they never shift a page (oldest first they arrive at the end, newest first they
//   are never reached), and no event is skipped or repeated.
import { readableStreamsCondition } from "../access/scopedReader.ts";
import { hashOf as storedHashHex } from "../store/eventCodec.ts";
import { COLUMNS, EVENTS, columnsFromSqlRow } from "../store/eventStore.ts";
import { typeCodesOf } from "../store/eventTypes.ts";
import { actorRefsOf } from "../store/eventActors.ts";
import type { ActorValues } from "../store/eventActors.ts";
import type { ChainSqlRow } from "../store/eventStore.ts";
import type { Database, Db } from "../db/database.ts";
import { placeholders, rowInt } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import { ValidationError } from "../domain/errors.ts";
import { checkStorableText } from "../domain/validation.ts";
import { EVENT_TYPES } from "../domain/registeredModel/events.ts";
import type { RegisteredModelEventType } from "../domain/registeredModel/events.ts";
import { InvalidCursorError, decodeCursor } from "../subscriptions/cursor.ts";

/** Most events one GraphQL page returns. */
export const AUDIT_LOG_MAX_PAGE = 500;
export const AUDIT_LOG_DEFAULT_PAGE = 50;
/** Most values one filter list (models, eventTypes, actors) may hold. */
export const AUDIT_FILTER_MAX_VALUES = 100;
/** Longest model name or principal id a filter may hold (names are at most 250 characters). */
const MAX_VALUE_LENGTH = 250;

export type AuditLogOrder = "OLDEST_FIRST" | "NEWEST_FIRST";
export const AUDIT_LOG_ORDERS: readonly AuditLogOrder[] = ["OLDEST_FIRST", "NEWEST_FIRST"];

/** A filter as a client sends it (GraphQL input or query parameters), not yet checked. */
export interface AuditLogFilterInput {
  readonly models?: readonly string[] | null | undefined;
  readonly eventTypes?: readonly string[] | null | undefined;
  readonly actors?: readonly string[] | null | undefined;
  readonly from?: Date | null | undefined;
  readonly to?: Date | null | undefined;
}

/** A checked filter: every list bounded, every type known, the window well-formed. */
export interface AuditLogFilter {
  readonly models: readonly string[] | null;
  readonly eventTypes: readonly RegisteredModelEventType[] | null;
  readonly actors: readonly string[] | null;
  readonly from: Date | null;
  readonly to: Date | null;
}

function checkList(field: string, values: readonly string[] | null | undefined): ValidationError | null {
  if (values === null || values === undefined) return null;
  if (values.length > AUDIT_FILTER_MAX_VALUES)
    return new ValidationError(field, `at most ${AUDIT_FILTER_MAX_VALUES} values (got ${values.length})`);
  const index = values.findIndex((v) => v.length === 0 || v.length > MAX_VALUE_LENGTH);
  if (index >= 0) return new ValidationError(`${field}.${index}`, `must be 1-${MAX_VALUE_LENGTH} characters`);
  // Text no database can hold (NUL, lone surrogates) never reaches a query: PostgreSQL would fail
  // the whole statement. Every route into the filter (GraphQL, the export) passes here.
  for (const [i, value] of values.entries()) {
    const unstorable = checkStorableText(`${field}.${i}`, value);
    if (unstorable) return unstorable;
  }
  return null;
}

const isEventType = (type: string): type is RegisteredModelEventType =>
  (EVENT_TYPES as readonly string[]).includes(type);

const validDate = (date: Date | null | undefined): Date | null =>
  date === null || date === undefined || Number.isNaN(date.getTime()) ? null : date;

/** Checks a filter; `prefix` names where it came from in error fields (`filter` or nothing). */
export function checkAuditLogFilter(
  input: AuditLogFilterInput | null | undefined,
  prefix = "filter.",
): AuditLogFilter | ValidationError {
  const given = input ?? {};
  for (const field of ["models", "eventTypes", "actors"] as const) {
    const invalid = checkList(`${prefix}${field}`, given[field]);
    if (invalid) return invalid;
  }
  const eventTypes = given.eventTypes ?? null;
  const unknown = eventTypes?.findIndex((type) => !isEventType(type)) ?? -1;
  if (eventTypes !== null && unknown >= 0)
    return new ValidationError(`${prefix}eventTypes.${unknown}`, "is not a RegistryEventType");
  for (const field of ["from", "to"] as const)
    if (given[field] !== null && given[field] !== undefined && validDate(given[field]) === null)
      return new ValidationError(`${prefix}${field}`, "is not a valid date and time");
  const from = validDate(given.from);
  const to = validDate(given.to);
  if (from !== null && to !== null && from.getTime() >= to.getTime())
    return new ValidationError(`${prefix}to`, "must be after `from` (the window is from <= occurredAt < to)");
  return {
    models: given.models ? [...new Set(given.models)] : null,
    eventTypes: eventTypes ? [...new Set(eventTypes.filter(isEventType))] : null,
    actors: given.actors ? [...new Set(given.actors)] : null,
    from,
    to,
  };
}

export function checkPageSize(field: string, first: number | null | undefined): number | ValidationError {
  if (first === null || first === undefined) return AUDIT_LOG_DEFAULT_PAGE;
  if (!Number.isSafeInteger(first) || first < 0 || first > AUDIT_LOG_MAX_PAGE)
    return new ValidationError(field, `must be 0-${AUDIT_LOG_MAX_PAGE}`);
  return first;
}

/** The position a page starts after (a `RegistryEvent.cursor`); null: from the start. */
export function checkAfter(field: string, after: string | null | undefined): number | null | ValidationError {
  if (after === null || after === undefined) return null;
  try {
    const cursor = decodeCursor(after);
    if (cursor.part !== undefined)
      return new ValidationError(field, "is a subscription cursor, not an event's");
    return cursor.position;
  } catch (error) {
    if (error instanceof InvalidCursorError) return new ValidationError(field, error.message);
    throw error;
  }
}

/**
 * The stream ids that ever carried one of these names: models holding it now (live or deleted) and
 * models renamed from or to it. Rename events are few; the `type` index finds them.
 */
export async function streamsNamed(db: Database, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const marks = names.map(() => "?").join(", ");
  const field = (key: string) =>
    db.provider === "postgresql" ? `"data" ->> '${key}'` : `json_extract("data", '$.${key}')`;
  const rows = await db.query<{ stream_id: string }>(
    `SELECT "id" AS "stream_id" FROM "registered_models" WHERE "name" IN (${marks})
     UNION
     SELECT "stream_id" FROM "events" WHERE "type" = (SELECT "code" FROM "event_types" WHERE "name" = 'RegisteredModelRenamed')
       AND (${field("from")} IN (${marks}) OR ${field("to")} IN (${marks}))`,
    [...names, ...names, ...names],
  );
  return rows.map((row) => row.stream_id);
}

/**
 * The events the filter selects, as the audit log's SQL reads them; null when it can match
 * nothing. SQL past Prisma (written when only `occurred_at` was integer milliseconds on SQLite and
 * Prisma still bound dates as text); its window is bound like any date by ../db/sql.ts.
 */
export interface AuditLogWhere {
  /** Stream ids (the models named); null: every model stream. */
  readonly streams: readonly string[] | null;
  readonly eventTypes: readonly string[] | null;
  readonly actors: readonly string[] | null;
  readonly from: Date | null;
  readonly to: Date | null;
  /** Only events at or before this position (an export's snapshot of the log); null: all. */
  readonly upTo: number | null;
}

export async function auditLogWhere(db: Database, filter: AuditLogFilter): Promise<AuditLogWhere | null> {
  let streams: string[] | null = null;
  if (filter.models !== null) {
    streams = await streamsNamed(db, filter.models);
    if (streams.length === 0) return null;
  }
  return {
    streams,
    eventTypes: filter.eventTypes,
    actors: filter.actors,
    from: filter.from,
    to: filter.to,
    upTo: null,
  };
}

/** An event row as Prisma reads it, with its type's name and actor (the audit log reads it in SQL). */
export type AuditEventRow = Awaited<ReturnType<Db["event"]["findMany"]>>[number] & {
  readonly type: string;
} & ActorValues;

/** An event row read in SQL, as Prisma would have read it (the hash as its stored bytes). */
const auditRow = (row: ChainSqlRow): AuditEventRow => ({
  ...(columnsFromSqlRow(row) as Omit<AuditEventRow, "hash">),
  hash: row.hash as AuditEventRow["hash"],
});

/**
 * The WHERE clause and its parameters for these events, as `reader` may see them: a scoped reader
 * (../access/scopedReader.ts) adds a condition on its caller's grants.
 * Null when nothing can match.
 */
function auditSql(
  db: Database,
  reader: Db,
  where: AuditLogWhere,
): { sql: string; params: SqlValue[] } | null {
  // Model streams only: other contexts' streams (principal:, team:, token:) are not model history.
  const conditions = ["stream_id NOT LIKE '%:%'"];
  const params: SqlValue[] = [];
  const within = (column: string, values: readonly string[]) => {
    conditions.push(`${column} IN (${placeholders(values.length)})`);
    params.push(...values);
  };
  const readable = readableStreamsCondition(reader, db.reader);
  if (readable !== null) {
    conditions.push(readable.sql);
    params.push(...readable.params);
  }
  if (where.streams !== null) within("stream_id", where.streams);
  if (where.eventTypes !== null) {
    if (where.eventTypes.length === 0) return null;
    // The column holds codes (../store/eventTypes.ts); the names are looked up in the same statement.
    conditions.push(`type IN ${typeCodesOf(where.eventTypes)}`);
    params.push(...where.eventTypes);
  }
  if (where.actors !== null) {
    if (where.actors.length === 0) return null;
    // The rows hold actor ids (../store/eventActors.ts): those of the principals, in the same statement.
    conditions.push(`actor_ref IN ${actorRefsOf(where.actors)}`);
    params.push(...where.actors);
  }
  if (where.from !== null) {
    conditions.push("occurred_at >= ?");
    params.push(where.from);
  }
  if (where.to !== null) {
    conditions.push("occurred_at < ?");
    params.push(where.to);
  }
  if (where.upTo !== null) {
    conditions.push("position <= ?");
    params.push(where.upTo);
  }
  return { sql: conditions.join(" AND "), params };
}

/**
 * One keyset page: up to `take` events after position `after` in `order`, as the caller's reader
 * may see them (a scoped reader keeps only readable models' streams).
 */
export async function readAuditLogPage(
  db: Database,
  reader: Db,
  where: AuditLogWhere | null,
  order: AuditLogOrder,
  after: number | null,
  take: number,
): Promise<AuditEventRow[]> {
  if (where === null || take === 0) return [];
  const selected = auditSql(db, reader, where);
  if (selected === null) return [];
  const oldestFirst = order === "OLDEST_FIRST";
  const keyset = after === null ? "" : ` AND position ${oldestFirst ? ">" : "<"} ?`;
  const rows = await db.query<ChainSqlRow>(
    `SELECT position, ${COLUMNS}, hash FROM ${EVENTS} WHERE ${selected.sql}${keyset}
     ORDER BY position ${oldestFirst ? "ASC" : "DESC"} LIMIT ?`,
    [...selected.params, ...(after === null ? [] : [after]), take],
  );
  return rows.map(auditRow);
}

export async function countAuditLog(db: Database, reader: Db, where: AuditLogWhere | null): Promise<number> {
  if (where === null) return 0;
  const selected = auditSql(db, reader, where);
  if (selected === null) return 0;
  const [row] = await db.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM events WHERE ${selected.sql}`,
    selected.params,
  );
  return row === undefined ? 0 : rowInt(row.n);
}

/** An event with the hash of its stream's previous event (null at revision 1), so a chain can be checked. */
export type AuditEvent = AuditEventRow & { readonly previousHash: string | null };

/**
 * Adds `previousHash` to each event of a page with one read: the hashes of the events at
 * (stream, revision - 1). The previous event is in the same stream, so reading it through the shared
 * reader reveals nothing the caller could not already read.
 */
export async function withPreviousHashes(
  reader: Db,
  events: readonly AuditEventRow[],
): Promise<AuditEvent[]> {
  const wanted = events.filter((e) => e.revision > 1);
  const known = new Map<string, string>();
  for (const e of events) known.set(`${e.revision}:${e.streamId}`, hexHash(e.hash));
  const missing = wanted.filter((e) => !known.has(`${e.revision - 1}:${e.streamId}`));
  if (missing.length > 0) {
    const rows = await reader.event.findMany({
      where: { OR: missing.map((e) => ({ streamId: e.streamId, revision: e.revision - 1 })) },
      select: { streamId: true, revision: true, hash: true },
    });
    for (const row of rows) known.set(`${row.revision}:${row.streamId}`, hexHash(row.hash));
  }
  return events.map((e) => ({
    ...e,
    previousHash: e.revision > 1 ? (known.get(`${e.revision - 1}:${e.streamId}`) ?? null) : null,
  }));
}

/**
 * The previous hash of one event: taken from the event when its page already looked it up
 * (withPreviousHashes), else read (fields that return single events, like `history` nodes).
 */
export async function previousHashOf(
  reader: Db,
  event: { readonly streamId: string; readonly revision: number; readonly previousHash?: string | null },
): Promise<string | null> {
  if (event.previousHash !== undefined) return event.previousHash;
  if (event.revision <= 1) return null;
  const previous = await reader.event.findUnique({
    where: { streamId_revision: { streamId: event.streamId, revision: event.revision - 1 } },
    select: { hash: true },
  });
  return previous === null ? null : hexHash(previous.hash);
}

/**
 * An event's chain hash: its own when it was read from the table; read by (stream, revision) for an
 * event delivered live (subscriptions carry the event as appended, without its hash). Lookups made
 * in the same tick are batched into one query by Prisma.
 */
export async function hashOf(
  reader: Db,
  event: { readonly streamId: string; readonly revision: number; readonly hash?: string | Uint8Array },
): Promise<string> {
  if (event.hash !== undefined) return hexHash(event.hash);
  const stored = await reader.event.findUniqueOrThrow({
    where: { streamId_revision: { streamId: event.streamId, revision: event.revision } },
    select: { hash: true },
  });
  return hexHash(stored.hash);
}

/** A hash as Prisma reads it (the column's 32 bytes), as the lowercase hex everything else uses. */
const hexHash = (stored: string | Uint8Array): string => storedHashHex(stored) ?? "";
