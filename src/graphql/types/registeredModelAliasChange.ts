// RegisteredModelAliasChange: the notification that an alias was set, moved or removed, and the
// subscription that delivers it. An alias disappears either explicitly (RegisteredModelAliasDeleted)
// or because the version it pointed at was deleted (ModelVersionDeleted removes its aliases); both
// are reported, so a serving system following `champion` never keeps a stale target.
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { builder } from "../builder.ts";
import { delivered, liveSubscription } from "../liveSubscription.ts";
import type { Delivered } from "../liveSubscription.ts";
import { ActorRef } from "../../access/graphql/actor.ts";
import { RegistryEventRef } from "./registryEvent.ts";

type AliasChangeKind = "SET" | "MOVED" | "DELETED";

interface AliasChange {
  readonly modelId: string;
  readonly alias: string;
  readonly change: AliasChangeKind;
  readonly version: number | null;
  readonly previousVersion: number | null;
}

/** The alias changes an event makes (one event may remove several aliases). */
export function aliasChanges(event: RecordedEvent): AliasChange[] {
  const modelId = event.streamId;
  switch (event.type) {
    case "RegisteredModelAliasSet": {
      const { alias, version, previousVersion } = event.data;
      return [
        { modelId, alias, change: previousVersion === null ? "SET" : "MOVED", version, previousVersion },
      ];
    }
    case "RegisteredModelAliasDeleted":
      return [
        {
          modelId,
          alias: event.data.alias,
          change: "DELETED",
          version: null,
          previousVersion: event.data.version,
        },
      ];
    case "ModelVersionDeleted":
      return event.data.removedAliases.map((alias) => ({
        modelId,
        alias,
        change: "DELETED" as const,
        version: null,
        previousVersion: event.data.version,
      }));
    default:
      return [];
  }
}

const AliasChangeKindEnum = builder.enumType("AliasChangeKind", {
  description: "What happened to an alias.",
  values: {
    SET: { value: "SET", description: "The alias was created, pointing at a version." },
    MOVED: { value: "MOVED", description: "The alias moved from one version to another." },
    DELETED: {
      value: "DELETED",
      description: "The alias was removed, explicitly or because the version it pointed at was deleted.",
    },
  } as const,
});

export const RegisteredModelAliasChangeRef = builder
  .objectRef<Delivered<AliasChange>>("RegisteredModelAliasChange")
  .implement({
    description: "An alias of a model was set, moved or removed.",
    fields: (t) => ({
      cursor: t.string({
        description: "Resume token: pass it as `after` to continue after this notification.",
        resolve: (change) => change.cursor,
      }),
      modelId: t.string({
        description: "Id of the model (stable across renames).",
        resolve: (c) => c.value.modelId,
      }),
      alias: t.string({ description: "The alias, e.g. `champion`.", resolve: (c) => c.value.alias }),
      change: t.field({
        type: AliasChangeKindEnum,
        description: "What happened.",
        resolve: (c) => c.value.change,
      }),
      version: t.int({
        nullable: true,
        description: "Version the alias points at after the change; null when it was removed.",
        resolve: (c) => c.value.version,
      }),
      previousVersion: t.int({
        nullable: true,
        description: "Version the alias pointed at before; null when it was newly set.",
        resolve: (c) => c.value.previousVersion,
      }),
      actor: t.field({
        type: ActorRef,
        description: "Who made the change, and with which credential.",
        resolve: (c) => c.event.actor,
      }),
      occurredAt: t.field({
        type: "DateTime",
        description: "When the change was decided.",
        resolve: (c) => c.event.occurredAt,
      }),
      modelVersion: t.prismaField({
        type: "ModelVersion",
        nullable: true,
        description:
          "The version the alias points at after the change, as it is now; null when it was removed.",
        resolve: (query, c, _args, ctx) =>
          c.value.version === null
            ? noVersion(query)
            : ctx.reader.modelVersion.findUnique({
                ...query,
                where: { modelId_version: { modelId: c.value.modelId, version: c.value.version } },
              }),
      }),
      previousModelVersion: t.prismaField({
        type: "ModelVersion",
        nullable: true,
        description: "The version the alias pointed at before, as it is now; null when it was newly set.",
        resolve: (query, c, _args, ctx) =>
          c.value.previousVersion === null
            ? noVersion(query)
            : ctx.reader.modelVersion.findUnique({
                ...query,
                where: { modelId_version: { modelId: c.value.modelId, version: c.value.previousVersion } },
              }),
      }),
      event: t.field({
        type: RegistryEventRef,
        description: "The event that made the change.",
        resolve: (c) => c.event as unknown as typeof RegistryEventRef.$inferType,
      }),
    }),
  });

/**
 * A change with no version on that side (an alias newly set, or removed) has no row to load. The
 * selection Pothos prepared is read all the same, so its check for unused queries (a guard against
 * resolvers that forget to pass it on) stays quiet for this legitimate case.
 */
function noVersion(query: object): null {
  void { ...query };
  return null;
}

/**
 * The same change objects for every subscriber of an event: subscribers of one group then share
 * one execution of it (sharedSubscriptionExecution.ts shares only identical values).
 */
const changesByEvent = new WeakMap<RecordedEvent, readonly AliasChange[]>();
function aliasChangesOf(event: RecordedEvent): readonly AliasChange[] {
  let changes = changesByEvent.get(event);
  if (changes === undefined) changesByEvent.set(event, (changes = aliasChanges(event)));
  return changes;
}

builder.subscriptionFields((t) => ({
  registeredModelAliasChanged: t.field({
    type: RegisteredModelAliasChangeRef,
    description:
      "Aliases set, moved or removed, as they commit, in log order, each exactly once; resumable with `after`.",
    args: {
      name: t.arg.string({
        required: false,
        description:
          "Only this model: the live model holding the name when the subscription starts (followed through renames), or a model that takes the name later.",
      }),
      alias: t.arg.string({ required: false, description: "Only this alias." }),
      after: t.arg.string({
        required: false,
        description: "Resume after this cursor (`cursor` of the last notification received).",
      }),
    },
    subscribe: (_root, args, ctx) => {
      const alias = args.alias ?? null;
      return liveSubscription(
        ctx,
        { after: args.after, names: args.name == null ? null : [args.name] },
        (event) => aliasChangesOf(event).filter((c) => alias === null || c.alias === alias),
      );
    },
    resolve: (notification) => delivered(notification),
  }),
}));
