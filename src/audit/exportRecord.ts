// One event of an audit export, as a self-contained record: everything its chain hash covers (so
// the hash can be recomputed from the record alone, ./verifyExport.ts), plus its log position, the
// model's name at export time and the previous event's hash.
import { hashOf } from "../store/eventCodec.ts";
import { stringify } from "csv-stringify/sync";
import type { AuditEvent } from "./auditLogFilter.ts";
import type { HashedEventFields } from "./eventHash.ts";

export interface ExportRecord {
  readonly position: number;
  readonly streamId: string;
  /** The model's name when the export ran (null when the model is gone from the projection). */
  readonly modelName: string | null;
  readonly revision: number;
  readonly type: string;
  readonly schemaVersion: number;
  /** RFC 3339, millisecond precision, UTC: exactly the text the hash covers. */
  readonly occurredAt: string;
  readonly actor: {
    readonly name: string;
    readonly id: string | null;
    readonly kind: string | null;
    readonly credential: unknown;
  };
  readonly correlationId: string | null;
  readonly causationId: string | null;
  readonly data: unknown;
  readonly hash: string;
  readonly previousHash: string | null;
}

export function exportRecord(event: AuditEvent, modelName: string | null): ExportRecord {
  return {
    position: event.position,
    streamId: event.streamId,
    modelName,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    occurredAt: event.occurredAt.toISOString(),
    actor: {
      name: event.actor,
      id: event.actorId,
      kind: event.actorKind,
      credential: event.actorCredential ?? null,
    },
    correlationId: event.correlationId,
    causationId: event.causationId,
    data: event.data,
    hash: hashOf(event.hash) ?? "",
    previousHash: event.previousHash,
  };
}

/** The fields an exported record's hash covers, as eventHash takes them. */
export function hashedFieldsOf(record: ExportRecord): HashedEventFields {
  return {
    streamId: record.streamId,
    revision: record.revision,
    type: record.type,
    schemaVersion: record.schemaVersion,
    data: record.data,
    actor: record.actor.name,
    actorId: record.actor.id,
    actorKind: record.actor.kind,
    actorCredential: record.actor.credential,
    occurredAt: new Date(record.occurredAt),
    correlationId: record.correlationId,
    causationId: record.causationId,
  };
}

/**
 * One NDJSON line (without its newline): the record's members in this order, no spaces. The
 * verifier (./verifyExport.ts) accepts a line only if it is exactly this text of its own parse, so
 * what a reader of the line sees is what the hash covers (no key repeated, none added).
 */
export const ndjsonLine = (r: ExportRecord): string =>
  JSON.stringify({
    position: r.position,
    streamId: r.streamId,
    modelName: r.modelName,
    revision: r.revision,
    type: r.type,
    schemaVersion: r.schemaVersion,
    occurredAt: r.occurredAt,
    actor: { name: r.actor.name, id: r.actor.id, kind: r.actor.kind, credential: r.actor.credential },
    correlationId: r.correlationId,
    causationId: r.causationId,
    data: r.data,
    hash: r.hash,
    previousHash: r.previousHash,
  });

export const ndjsonLines = (records: readonly ExportRecord[]): string =>
  records.map((record) => `${ndjsonLine(record)}\n`).join("");

/** CSV columns, in order; JSON values (credential, data) are JSON text in their cell. */
export const CSV_COLUMNS = [
  "position",
  "streamId",
  "modelName",
  "revision",
  "type",
  "schemaVersion",
  "occurredAt",
  "actorName",
  "actorId",
  "actorKind",
  "actorCredential",
  "correlationId",
  "causationId",
  "data",
  "hash",
  "previousHash",
] as const;

const csvRow = (r: ExportRecord): (string | number | null)[] => [
  r.position,
  r.streamId,
  r.modelName,
  r.revision,
  r.type,
  r.schemaVersion,
  r.occurredAt,
  r.actor.name,
  r.actor.id,
  r.actor.kind,
  r.actor.credential === null ? null : JSON.stringify(r.actor.credential),
  r.correlationId,
  r.causationId,
  JSON.stringify(r.data),
  r.hash,
  r.previousHash,
];

/**
 * RFC 4180 CSV (CRLF line ends, quotes where needed) by csv-stringify. A cell a spreadsheet would
 * run as a formula (starting with = + - @, tab or CR) is prefixed with a quote: a CSV export is for
 * reading, the NDJSON export is the one to verify. Null is an empty cell.
 */
export const csvLines = (records: readonly ExportRecord[], withHeader: boolean): string =>
  stringify(records.map(csvRow), {
    header: withHeader,
    columns: [...CSV_COLUMNS],
    record_delimiter: "windows",
    escape_formulas: true,
  });
