// What a webhook receives: one JSON message per model event, with a message id that is the same
// for every attempt and redelivery of that event to that webhook (receivers dedupe on it).
import type { RecordedEvent } from "../../store/recordedEvent.ts";

export const PING_TYPE = "registro.ping";

/** webhook-id of the delivery of the event at `position` to `webhookId`. */
export const messageIdFor = (webhookId: string, position: number) => `msg_${webhookId}_${position}`;

export interface WebhookMessage {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

export function eventMessage(event: RecordedEvent, modelName: string, now: Date): WebhookMessage {
  const payload = event.data as Record<string, unknown>;
  const version = typeof payload.version === "number" ? payload.version : null;
  return {
    type: event.type,
    timestamp: now.toISOString(),
    data: {
      eventId: event.position,
      position: event.position,
      model: { id: event.streamId, name: modelName },
      version,
      revision: event.revision,
      actor: { id: event.actor.id, kind: event.actor.kind, displayName: event.actor.displayName },
      occurredAt: event.occurredAt.toISOString(),
      payload,
    },
  };
}

export const pingMessage = (webhookId: string, now: Date): WebhookMessage => ({
  type: PING_TYPE,
  timestamp: now.toISOString(),
  data: { webhookId },
});
