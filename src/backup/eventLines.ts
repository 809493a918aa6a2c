// One event per line of events.ndjson: every column of the events table, hash included, with the
// JSON columns as JSON values and the time as ISO-8601. Lines are in log-position order, so the
// chain (which runs per stream, in revision order) is checked with one remembered head per stream:
// memory grows with the number of streams, never with the number of events, and nothing has to be
// sorted or written before the whole file has been verified.
import { z } from "zod";
import { ChainVerifier, describeBreak } from "../audit/chainVerifier.ts";
import { nestedTooDeep } from "../audit/eventHash.ts";
import type { ChainedEvent } from "../audit/chainVerifier.ts";
import { parseRegisteredModelEvent } from "../domain/registeredModel/eventSchemas.ts";
import { parseAccessEvent } from "../access/domain/events.ts";
import { ACCESS_STREAM_CATEGORIES } from "../access/projection.ts";
import { WEBHOOK_STREAM_CATEGORY, parseWebhookEvent } from "../webhooks/domain/events.ts";
import { streamCategory } from "../store/eventStore.ts";

export interface BackedUpEvent extends ChainedEvent {
  readonly hash: string;
}

const nullableText = z.string().nullable();

const lineSchema = z.strictObject({
  position: z.number().int().min(1),
  streamId: z.string().min(1),
  revision: z.number().int().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().min(1),
  data: z.unknown(),
  actor: z.string(),
  actorId: nullableText,
  actorKind: nullableText,
  actorCredential: z.unknown(),
  occurredAt: z.iso.datetime(),
  correlationId: nullableText,
  causationId: nullableText,
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

export function eventLine(event: BackedUpEvent): string {
  return `${JSON.stringify({
    position: event.position,
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    actor: event.actor,
    actorId: event.actorId,
    actorKind: event.actorKind,
    actorCredential: event.actorCredential ?? null,
    occurredAt: event.occurredAt.toISOString(),
    correlationId: event.correlationId,
    causationId: event.causationId,
    hash: event.hash,
  })}\n`;
}

/** Parses one line; a string describing what is wrong with it when it is not an event. */
export function parseEventLine(text: string): BackedUpEvent | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "is not a complete JSON line (truncated or edited)";
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success)
    return `is not an event: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
  const e = parsed.data;
  if (e.data === undefined) return "is not an event: data is missing";
  // Refused before anything hashes, stringifies or decodes it: those walks recurse.
  const tooDeep = nestedTooDeep({ data: e.data, actorCredential: e.actorCredential });
  if (tooDeep !== null) return `is not an event: ${tooDeep}`;
  return { ...e, actorCredential: e.actorCredential ?? null, occurredAt: new Date(e.occurredAt) };
}

export interface StreamHead {
  readonly revision: number;
  readonly position: number;
  readonly hash: string;
}

/**
 * The chain check over a log read in position order: each stream's verifier resumes from the head
 * this remembers for it. Also what the manifest's `heads` are made of.
 */
export class StreamHeads {
  readonly heads = new Map<string, StreamHead>();
  private lastPosition = 0;

  /** Checks the next event of the log; a sentence saying what is wrong, or null when it holds. */
  next(event: BackedUpEvent): string | null {
    if (event.position <= this.lastPosition)
      return `log position ${event.position} does not follow position ${this.lastPosition}: events out of order or repeated`;
    const verifier = new ChainVerifier();
    const head = this.heads.get(event.streamId);
    if (head) verifier.resume({ streamId: event.streamId, ...head });
    const broken = verifier.next(event);
    if (broken) return describeBreak(broken);
    this.lastPosition = event.position;
    this.heads.set(event.streamId, { revision: event.revision, position: event.position, hash: event.hash });
    return null;
  }

  get position(): number {
    return this.lastPosition;
  }
}

/** The artifact blob an event references, with where, for messages; null for other events. */
export function referencedBlob(event: BackedUpEvent): { sha256: string; where: string } | null {
  if (event.type !== "ModelVersionArtifactAdded") return null;
  const parsed = parseRegisteredModelEvent(event.type, event.schemaVersion, event.data);
  if (parsed.type !== "ModelVersionArtifactAdded") return null;
  const { version, path, sha256 } = parsed.data;
  return { sha256, where: `model stream ${event.streamId} version ${version} file ${path}` };
}

/**
 * Decodes an event's payload with its context's own parser, as the projection rebuild will: a
 * sentence saying why it cannot be replayed (an unknown stream category or event type, a payload
 * that does not match its type), or null. A backup whose log would not replay is refused before
 * anything is written, instead of restoring a registry that silently lacks what those events made.
 */
export function unreplayable(event: BackedUpEvent): string | null {
  const category = streamCategory(event.streamId);
  try {
    if (category === "registeredModel")
      parseRegisteredModelEvent(event.type, event.schemaVersion, event.data);
    else if ((ACCESS_STREAM_CATEGORIES as readonly string[]).includes(category))
      parseAccessEvent(event.type, event.schemaVersion, event.data);
    else if (category === WEBHOOK_STREAM_CATEGORY)
      parseWebhookEvent(event.type, event.schemaVersion, event.data);
    else return `stream ${event.streamId} is of a category (${category}) this Registro does not know`;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `stream ${event.streamId} revision ${event.revision} (log position ${event.position}): event ${event.type} (schema version ${event.schemaVersion}) cannot be replayed: ${reason.length > 500 ? `${reason.slice(0, 500)}…` : reason}`;
  }
  return null;
}
