// ModelVersionStageChange: the notification of a stage transition, and the subscription that
// delivers it. Event-derived fields describe the transition as it happened; `modelVersion` and
// `archivedVersions` are the versions' current views, loaded through Prisma like any query.
import type { ModelVersionStageTransitioned, Stage } from "../../domain/registeredModel/events.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { builder } from "../builder.ts";
import { delivered, liveSubscription } from "../liveSubscription.ts";
import type { Delivered } from "../liveSubscription.ts";
import { StageEnum } from "./common.ts";
import { ActorRef } from "../../access/graphql/actor.ts";
import { RegistryEventRef } from "./registryEvent.ts";

type StageChange = Delivered<RecordedEvent<ModelVersionStageTransitioned>>;

export const ModelVersionStageChangeRef = builder
  .objectRef<StageChange>("ModelVersionStageChange")
  .implement({
    description: "A model version moved to another stage (e.g. was promoted to Production).",
    fields: (t) => ({
      cursor: t.string({
        description: "Resume token: pass it as `after` to continue after this notification.",
        resolve: (change) => change.cursor,
      }),
      modelId: t.string({
        description: "Id of the model (stable across renames).",
        resolve: (change) => change.value.streamId,
      }),
      version: t.int({
        description: "Number of the version that moved.",
        resolve: (change) => change.value.data.version,
      }),
      stage: t.field({
        type: StageEnum,
        description: "Stage the version moved to.",
        resolve: (change) => change.value.data.to,
      }),
      previousStage: t.field({
        type: StageEnum,
        description: "Stage the version was in before.",
        resolve: (change) => change.value.data.from,
      }),
      comment: t.string({
        nullable: true,
        description: "Why, as given with the transition.",
        resolve: (change) => change.value.data.comment,
      }),
      actor: t.field({
        type: ActorRef,
        description: "Who made the transition, and with which credential.",
        resolve: (change) => change.value.actor,
      }),
      occurredAt: t.field({
        type: "DateTime",
        description: "When the transition was decided.",
        resolve: (change) => change.value.occurredAt,
      }),
      archivedVersionNumbers: t.intList({
        description: "Versions the same transition moved to Archived (`archiveExistingVersions`), ascending.",
        resolve: (change) => change.value.data.archived.map((a) => a.version).sort((a, b) => a - b),
      }),
      modelVersion: t.prismaField({
        type: "ModelVersion",
        description: "The version as it is now (by the time this notification is resolved).",
        resolve: (query, change, _args, ctx) =>
          ctx.reader.modelVersion.findUniqueOrThrow({
            ...query,
            where: {
              modelId_version: { modelId: change.value.streamId, version: change.value.data.version },
            },
          }),
      }),
      archivedVersions: t.prismaField({
        type: ["ModelVersion"],
        description: "The versions the same transition moved to Archived, as they are now; empty when none.",
        resolve: (query, change, _args, ctx) =>
          change.value.data.archived.length === 0
            ? []
            : ctx.reader.modelVersion.findMany({
                ...query,
                where: {
                  modelId: change.value.streamId,
                  version: { in: change.value.data.archived.map((a) => a.version) },
                },
                orderBy: { version: "asc" },
              }),
      }),
      event: t.field({
        type: RegistryEventRef,
        description: "The `ModelVersionStageTransitioned` event itself.",
        resolve: (change) => change.event as unknown as typeof RegistryEventRef.$inferType,
      }),
    }),
  });

builder.subscriptionFields((t) => ({
  modelVersionStageChanged: t.field({
    type: ModelVersionStageChangeRef,
    description:
      "Stage transitions as they commit, in log order, each exactly once; resumable with `after`. Versions archived as a side effect appear in `archivedVersions` of the transition that caused it (they do not match `stage: ARCHIVED` themselves).",
    args: {
      name: t.arg.string({
        required: false,
        description:
          "Only this model: the live model holding the name when the subscription starts (followed through renames), or a model that takes the name later.",
      }),
      stage: t.arg({ type: StageEnum, required: false, description: "Only transitions to this stage." }),
      after: t.arg.string({
        required: false,
        description: "Resume after this cursor (`cursor` of the last notification received).",
      }),
    },
    subscribe: (_root, args, ctx) => {
      const stage: Stage | null = args.stage ?? null;
      return liveSubscription(
        ctx,
        { after: args.after, names: args.name == null ? null : [args.name] },
        (event) =>
          event.type === "ModelVersionStageTransitioned" && (stage === null || event.data.to === stage)
            ? [event as RecordedEvent<ModelVersionStageTransitioned>]
            : [],
      );
    },
    resolve: (notification) => delivered(notification),
  }),
}));
