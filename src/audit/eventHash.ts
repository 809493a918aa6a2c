// The hash chain that makes the event log tamper-evident. Every event's hash covers a canonical
// encoding (RFC 8785, JSON Canonicalization Scheme) of the event, its metadata and the hash of the
// previous event of the same stream. Chains are per stream on purpose: a single global chain would
// make every writer wait for the previous writer's hash, one serialisation point for the whole
// registry. The log position is not hashed (the database assigns it at insert); checkpoints
// (./checkpoints.ts) bind stream heads to positions instead.
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

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

/** The exact bytes hashed for an event: its canonical JSON encoding with the previous hash. */
export function canonicalEventText(event: HashedEventFields, previousHash: string | null): string {
  const text = canonicalize({
    encoding: CHAIN_ENCODING,
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    actor: {
      name: event.actor,
      id: event.actorId,
      kind: event.actorKind,
      credential: event.actorCredential ?? null,
    },
    occurredAt: event.occurredAt.toISOString(),
    correlationId: event.correlationId,
    causationId: event.causationId,
    previousHash,
  });
  // canonicalize answers undefined only for a top-level undefined, which an object literal never is.
  if (text === undefined) throw new Error("event could not be encoded canonically");
  return text;
}

/** Lowercase hex SHA-256 of the event's canonical encoding chained to `previousHash` (null at revision 1). */
export function eventHash(event: HashedEventFields, previousHash: string | null): string {
  return createHash("sha256").update(canonicalEventText(event, previousHash), "utf8").digest("hex");
}

export const isEventHash = (value: unknown): value is string =>
  typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
