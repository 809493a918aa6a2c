import type { EventActor } from "../access/actor.ts";
import type { RegisteredModelEvent } from "../domain/registeredModel/events.ts";

/** Who did it, when, and why: stored beside every event. */
export interface EventMetadata {
  /** Who caused it: principal id, kind, display name and the credential used. */
  readonly actor: EventActor;
  readonly occurredAt: Date;
  readonly correlationId: string | null;
  readonly causationId: string | null;
}

/** An event as stored: the domain event plus its place in the log and its metadata. */
export type RecordedEvent<E extends RegisteredModelEvent = RegisteredModelEvent> = E &
  EventMetadata & {
    readonly position: number;
    readonly streamId: string;
    readonly revision: number;
    readonly schemaVersion: number;
  };

/**
 * What the commit hooks (CommandDeps.onCommitted) are told of each event committed: every bounded
 * context's events (a model's, access, reviews…) have these, whatever their payload.
 */
export interface CommittedEvent {
  readonly type: string;
  readonly position: number;
}
