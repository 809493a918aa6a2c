// The hash chain that makes the event log tamper-evident. Every event's hash covers a canonical
// encoding (RFC 8785, JSON Canonicalization Scheme) of the event, its metadata and the hash of the
// previous event of the same stream. Chains are per stream on purpose: a single global chain would
// make every writer wait for the previous writer's hash, one serialisation point for the whole
// registry. The log position is not hashed (the database assigns it at insert); checkpoints
// (./checkpoints.ts) bind stream heads to positions instead.
import { hash } from "node:crypto";
import canonicalize from "canonicalize";
import { LIMITS, nestsDeeperThan } from "../domain/validation.ts";

/** Names the encoding, so a future encoding can be told apart from this one. */
export const CHAIN_ENCODING = "registro.event.v1";

/** What the hash of one event covers: everything stored about it except its log position. */
export interface HashedEventFields {
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  readonly schemaVersion: number;
  /** The payload as stored (JSON): the hash is over its parsed value, whatever the provider's text form. */
  readonly data: unknown;
  /** The actor columns as stored (display name, principal id, kind, credential as parsed JSON). */
  readonly actor: string;
  readonly actorId: string | null;
  readonly actorKind: string | null;
  readonly actorCredential: unknown;
  readonly occurredAt: Date;
  readonly correlationId: string | null;
  readonly causationId: string | null;
}

/**
 * Appends one member (`key` already JSON-encoded) as RFC 8785 writes it inside an object: a value
 * without a JSON form (undefined) leaves the member out, as the library does.
 */
function member(text: string, key: string, value: unknown): string {
  const encoded = canonicalize(value);
  if (encoded === undefined) return text;
  return `${text.length > 1 ? `${text},` : text}${key}:${encoded}`;
}

/**
 * The exact bytes hashed for an event: its canonical JSON encoding with the previous hash.
 *
 * The envelope's shape never changes, so its members are written here in RFC 8785's key order
 * (UTF-16 code units) and only the values go through the library: sorting and walking the same
 * eleven keys for every event was a third of the encoding's cost in the rebuild. The bytes are those
 * of `canonicalize` over the whole object, which a unit test checks on a large randomized corpus.
 */
export function canonicalEventText(event: HashedEventFields, previousHash: string | null): string {
  let actor = "{";
  actor = member(actor, '"credential"', event.actorCredential ?? null);
  actor = member(actor, '"id"', event.actorId);
  actor = member(actor, '"kind"', event.actorKind);
  actor = member(actor, '"name"', event.actor);
  // The actor is an object literal: always written, and first in key order.
  let text = `{"actor":${actor}}`;
  text = member(text, '"causationId"', event.causationId);
  text = member(text, '"correlationId"', event.correlationId);
  text = member(text, '"data"', event.data);
  text = member(text, '"encoding"', CHAIN_ENCODING);
  text = member(text, '"occurredAt"', event.occurredAt.toISOString());
  text = member(text, '"previousHash"', previousHash);
  text = member(text, '"revision"', event.revision);
  text = member(text, '"schemaVersion"', event.schemaVersion);
  text = member(text, '"streamId"', event.streamId);
  text = member(text, '"type"', event.type);
  return `${text}}`;
}

/** Lowercase hex SHA-256 of the event's canonical encoding chained to `previousHash` (null at revision 1). */
export function eventHash(event: HashedEventFields, previousHash: string | null): string {
  // The one-shot form: no Hash object per event (about 0.45 µs of 1.1 µs per hash on this machine).
  return hash("sha256", canonicalEventText(event, previousHash), "hex");
}

/**
 * Levels of nested objects and arrays an event read from a file (a backup's events.ndjson, an audit
 * export) may hold in its payload or credential before it is hashed: the encoding above recurses, so
 * a value nested a few thousand levels deep would overflow the stack instead of being refused.
 * Registro writes at most LIMITS.jsonMaxDepth + 1: client JSON (params) is bounded at
 * LIMITS.jsonMaxDepth and sits one level under `data`; what the server writes itself (inspection
 * metadata, credentials) nests about ten levels at most. The bound leaves a few levels for payloads
 * that nest client JSON deeper (as the multipart upload bound does around it), so every event
 * Registro wrote restores and verifies, and stays far below the ~1,800 levels hashing can walk.
 */
export const MAX_EVENT_JSON_DEPTH = LIMITS.jsonMaxDepth + 8;

/**
 * Names the first of `fields` (e.g. `{ data, actorCredential }`) nested deeper than
 * MAX_EVENT_JSON_DEPTH, as a sentence; null when none is. Iterative: any depth is safe to check.
 */
export function nestedTooDeep(fields: Readonly<Record<string, unknown>>): string | null {
  for (const [name, value] of Object.entries(fields))
    if (nestsDeeperThan(value, MAX_EVENT_JSON_DEPTH))
      return `${name} nests objects and arrays more than ${MAX_EVENT_JSON_DEPTH} levels deep, deeper than Registro writes`;
  return null;
}

export const isEventHash = (value: unknown): value is string =>
  typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
