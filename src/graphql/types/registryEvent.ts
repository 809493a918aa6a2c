// RegistryEvent: one immutable entry of a model's history. Only history/audit fields read the
// event table; everything else reads projections.
import { ActorRef, actorOfEventRow } from "../../access/graphql/actor.ts";
import type { RegisteredModelEventType } from "../../domain/registeredModel/events.ts";
import { EVENT_TYPES } from "../../domain/registeredModel/events.ts";
import { storedPayload } from "../../domain/registeredModel/upcasters.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { encodeCursor } from "../../subscriptions/cursor.ts";
import { eventTypeName, knownEventTypeName } from "../../store/eventTypes.ts";
import { hashOf, previousHashOf } from "../../audit/auditLogFilter.ts";
import { builder } from "../builder.ts";
import { countedConnection } from "./common.ts";
import { delivered, liveSubscription, typeFilter } from "../liveSubscription.ts";

/** An event's id before encoding (its log position), for Pothos and ../synchronousNodeIds.ts. */
export const registryEventNodeId = (event: { readonly position: number }) => event.position;

export const RegistryEventRef = builder.prismaNode("Event", {
  name: "RegistryEvent",
  description: "An immutable change recorded in a model's history: what happened, when, and by whom.",
  // `node(id:)` answers null for an id whose object does not exist (Relay), not an internal error.
  nullable: true,
  id: { resolve: registryEventNodeId },
  // Only events of model streams are RegistryEvents: other contexts' streams (principals, teams,
  // tokens) share the table but are not part of any model's history.
  findUnique: (id) => ({
    position: /^\d{1,15}$/.test(id) ? Number(id) : -1,
    NOT: { streamId: { contains: ":" } },
  }),
  fields: (t) => ({
    position: t.exposeInt("position", {
      description: "Global position in the registry's log (monotonic across models).",
    }),
    revision: t.exposeInt("revision", {
      description: "Revision of the model's stream this event produced (1, 2, 3…).",
    }),
    type: t.field({
      type: RegistryEventTypeEnum,
      description: "Event type, past tense, e.g. `ModelVersionStageTransitioned`.",
      // Rows read in SQL (the audit log) and live events carry the name; Prisma rows its code.
      resolve: (event, _args, ctx) => {
        const named = (event as { type?: unknown }).type;
        const name =
          typeof named === "string"
            ? named
            : (knownEventTypeName(ctx.db, event.typeCode) ?? eventTypeName(ctx.db, event.typeCode));
        return name as RegisteredModelEventType | Promise<RegisteredModelEventType>;
      },
    }),
    schemaVersion: t.exposeInt("schemaVersion", {
      description: "Version of the payload schema of this event type.",
    }),
    occurredAt: t.expose("occurredAt", { type: "DateTime", description: "When the change was decided." }),
    actor: t.field({
      type: ActorRef,
      description: "Who made the change, and with which credential.",
      resolve: (event, _args, ctx) => actorOfEventRow(event, ctx.db),
    }),
    correlationId: t.exposeString("correlationId", {
      nullable: true,
      description: "Request id the change came from (X-Request-Id when the client sent one).",
    }),
    causationId: t.exposeString("causationId", {
      nullable: true,
      description: "Id of what caused the change, when it was caused by another change or message.",
    }),
    data: t.field({
      type: "JSON",
      description:
        "The event payload as stored, which its `hash` covers. From `schemaVersion` 3 on, a `ModelVersionCreated` leaves out the fields at their default (`description` empty, `runId` null, no `tags`, `params` or `metrics`, `status` READY).",
      // A row read from the table holds the payload as stored; an event delivered live, as parsed
      // (its defaults put back), so it is stored again the way its append stored it.
      resolve: (event) =>
        (event as { hash?: unknown }).hash === undefined
          ? storedPayload(String((event as { type?: unknown }).type), event.schemaVersion, event.data)
          : event.data,
    }),
    modelId: t.exposeString("streamId", {
      description: "Id of the model stream the event belongs to (stable across renames).",
    }),
    hash: t.string({
      description:
        "The event's chain hash: lowercase hex SHA-256 of its canonical (RFC 8785) encoding together with `previousHash`. Recompute it to check that the event is unaltered (docs/audit.md).",
      resolve: (event, _args, ctx) => hashOf(ctx.db.reader, event),
    }),
    previousHash: t.string({
      nullable: true,
      description:
        "`hash` of the previous event of the same model stream (revision - 1); null at revision 1. An event's `hash` covers it, so consecutive events form a chain a client can verify.",
      resolve: (event, _args, ctx) => previousHashOf(ctx.db.reader, event),
    }),
    cursor: t.string({
      description:
        "Opaque resume token: pass it as `after` to a subscription to receive everything committed after this event.",
      resolve: (event) => encodeCursor(event.position),
    }),
  }),
});

export const RegistryEventConnectionRef = countedConnection(RegistryEventRef, "RegistryEvent", "events");

// ---- Subscription ------------------------------------------------------------------------------

const EVENT_TYPE_DESCRIPTIONS: Partial<Record<RegisteredModelEventType, string>> = {
  RegisteredModelCreated: "A model was registered.",
  RegisteredModelRenamed: "A model was renamed.",
  RegisteredModelDescriptionUpdated: "A model's description was replaced.",
  RegisteredModelTagSet: "A tag was set on a model.",
  RegisteredModelTagDeleted: "A tag was removed from a model.",
  RegisteredModelDeleted: "A model was deleted (restorable).",
  RegisteredModelRestored: "A deleted model was restored.",
  RegisteredModelAliasSet: "An alias was pointed at a version (set or moved).",
  RegisteredModelAliasDeleted: "An alias was removed.",
  ModelVersionCreated: "A version was registered.",
  ModelVersionDescriptionUpdated: "A version's description was replaced.",
  ModelVersionTagSet: "A tag was set on a version.",
  ModelVersionTagDeleted: "A tag was removed from a version.",
  ModelVersionMetricsLogged: "Metrics were logged on a version.",
  ModelVersionStageTransitioned: "A version moved to another stage (possibly archiving others).",
  ModelVersionDeleted: "A version was deleted (restorable); aliases on it were removed.",
  ModelVersionRestored: "A deleted version was restored.",
  ModelVersionArtifactAdded: "A file was added to a version that is still being registered.",
  ModelVersionFinalized: "A version's artifact set was completed; the version is READY.",
  ModelVersionRegistrationFailed: "A version's registration was abandoned.",
  ModelVersionArtifactInspected:
    "An artifact's bytes were inspected: format, summary, safety verdict and findings.",
  ModelVersionSignatureSet:
    "A version's input/output signature was set (by a user, or from an inspected artifact).",
  ModelVersionSafetyOverridden:
    "A version with unsafe or uninspected artifacts was promoted to Production or aliased anyway, with a written reason.",
  ModelVersionCommentAdded: "A comment was added to a version.",
  ModelVersionCommentEdited: "A comment's body was replaced (the earlier body stays in the log).",
  ModelVersionCommentDeleted: "A comment was deleted (it stays listed as deleted, without a body).",
  ModelVersionDeployed:
    "An environment serves a version at an endpoint (recorded by the serving system; again when the endpoint or description changed).",
  ModelVersionDeploymentRetired: "An environment stopped serving a version.",
  ModelReviewPolicySet:
    "A model's review policy (protected stages and aliases, approvals, reviewers) was replaced.",
  ReviewRequestOpened: "A review request to change a protected stage or alias was opened.",
  ReviewRequestApproved: "A reviewer approved a review request.",
  ReviewRequestRejected: "A reviewer rejected a review request, closing it.",
  ReviewRequestCancelled: "A review request was cancelled.",
  ReviewRequestApplied:
    "A review request reached its approvals; the change follows, with the request's id as causation id.",
  ReviewRequestStaled: "A review request was closed because its version or target changed by another route.",
  ReviewPolicyBypassed: "An admin changed a protected stage or alias without review, with a written reason.",
};

export const RegistryEventTypeEnum = builder.enumType("RegistryEventType", {
  description: "The kinds of event in the registry's log (the values of `RegistryEvent.type`).",
  values: Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      { value: type, description: EVENT_TYPE_DESCRIPTIONS[type] ?? `A \`${type}\` event.` },
    ]),
  ) as Record<RegisteredModelEventType, { value: RegisteredModelEventType; description: string }>,
});

const RegistryEventFilter = builder.inputType("RegistryEventFilter", {
  description: "Which events a `registryEvents` subscription delivers; all given conditions must hold.",
  fields: (t) => ({
    models: t.stringList({
      required: false,
      description:
        "Events of the models with these names. A name means the live model holding it when the subscription starts, followed by id from then on (its renames included), plus any model that takes the name later (created, renamed or restored under it).",
    }),
    modelIds: t.stringList({
      required: false,
      description: "Events of the models with these ids (`RegisteredModel.modelId`, stable across renames).",
    }),
    types: t.field({
      type: [RegistryEventTypeEnum],
      required: false,
      description: "Events of these types.",
    }),
  }),
});

/** The Prisma row shape RegistryEvent resolves from; a recorded event carries exactly those fields. */
const asEventRow = (event: RecordedEvent) => event as unknown as typeof RegistryEventRef.$inferType;

builder.subscriptionFields((t) => ({
  registryEvents: t.field({
    type: RegistryEventRef,
    description:
      "Every committed event, in log order, each exactly once. With `after`, first the events committed after that cursor are replayed, then live ones follow without a gap or duplicate; without it, delivery starts with the next event. A subscriber that falls more than the server's buffer behind receives a SUBSCRIBER_TOO_SLOW error carrying the cursor to resume from.",
    args: {
      filter: t.arg({
        type: RegistryEventFilter,
        required: false,
        description: "Only events matching this.",
      }),
      after: t.arg.string({
        required: false,
        description: "Resume after this cursor (`RegistryEvent.cursor` of the last event received).",
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const typeMatches = typeFilter(args.filter?.types);
      return liveSubscription(
        ctx,
        { after: args.after, names: args.filter?.models, modelIds: args.filter?.modelIds },
        (event) => (typeMatches(event) ? [event] : []),
      );
    },
    resolve: (notification) => asEventRow(delivered(notification).value),
  }),
}));
