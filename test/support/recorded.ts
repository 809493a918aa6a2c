// Wraps a domain event as the store would return it, for projection unit tests.
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import type { RecordedEvent } from "../../src/store/recordedEvent.ts";
import { userActor } from "./actors.ts";

export const T0 = new Date("2026-01-01T00:00:00.000Z");

/** The n-th event (1-based) of stream `streamId`, one minute after the previous one. */
export function recorded(
  event: RegisteredModelEvent,
  revision: number,
  streamId = "model-1",
  actor = "alice",
): RecordedEvent {
  return {
    ...event,
    streamId,
    revision,
    position: revision,
    schemaVersion: 1,
    actor: userActor(actor),
    occurredAt: new Date(T0.getTime() + (revision - 1) * 60_000),
    correlationId: null,
    causationId: null,
  };
}

export const minutesAfterT0 = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
