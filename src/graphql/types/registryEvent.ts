// RegistryEvent: one immutable entry of a model's history. Only history/audit fields read the
// event table; everything else reads projections.
import { builder } from "../builder.ts";

export const RegistryEventRef = builder.prismaNode("Event", {
  name: "RegistryEvent",
  description: "An immutable change recorded in a model's history: what happened, when, and by whom.",
  id: { field: "position" },
  fields: (t) => ({
    position: t.exposeInt("position", { description: "Global position in the registry's log (monotonic across models)." }),
    revision: t.exposeInt("revision", { description: "Revision of the model's stream this event produced (1, 2, 3…)." }),
    type: t.exposeString("type", { description: "Event type, past tense, e.g. `ModelVersionStageTransitioned`." }),
    schemaVersion: t.exposeInt("schemaVersion", { description: "Version of the payload schema of this event type." }),
    occurredAt: t.expose("occurredAt", { type: "DateTime", description: "When the change was decided." }),
    actor: t.exposeString("actor", { description: "Identity that made the change (`anonymous` without authentication)." }),
    correlationId: t.exposeString("correlationId", {
      nullable: true,
      description: "Request id the change came from (X-Request-Id when the client sent one).",
    }),
    data: t.expose("data", { type: "JSON", description: "The event payload." }),
    modelId: t.exposeString("streamId", { description: "Id of the model stream the event belongs to (stable across renames)." }),
  }),
});
