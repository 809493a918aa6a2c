// RegisteredModelAsOf: a model as it was at a past moment, folded from its history (an audit field:
// it reads the event table, not the projections).
import { modelAsOf } from "../../application/modelAsOf.ts";
import type { ModelAsOf } from "../../application/modelAsOf.ts";
import type { Stage, VersionStatus } from "../../domain/registeredModel/events.ts";
import type { VersionState } from "../../domain/registeredModel/state.ts";
import { builder } from "../builder.ts";
import { StageEnum, TagRef, VersionStatusEnum } from "./common.ts";

interface VersionAsOf {
  readonly modelId: string;
  readonly state: VersionState;
  readonly aliases: readonly string[];
}

const ModelVersionAsOfRef = builder.objectRef<VersionAsOf>("ModelVersionAsOf").implement({
  description: "A model version as it was at the requested moment.",
  fields: (t) => ({
    version: t.int({ description: "Version number.", resolve: (v) => v.state.version }),
    stage: t.field({
      type: StageEnum,
      description: "Stage at that moment.",
      resolve: (v): Stage => v.state.stage,
    }),
    status: t.field({
      type: VersionStatusEnum,
      description: "Registration status at that moment.",
      resolve: (v): VersionStatus => v.state.status,
    }),
    deleted: t.boolean({
      description: "Whether the version was deleted at that moment.",
      resolve: (v) => v.state.deleted,
    }),
    aliases: t.stringList({
      description: "Aliases pointing at it at that moment, sorted.",
      resolve: (v) => [...v.aliases],
    }),
    tags: t.field({
      type: [TagRef],
      description: "Tags at that moment, sorted by key.",
      resolve: (v) =>
        Object.entries(v.state.tags)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, value]) => ({ key, value })),
    }),
    modelVersion: t.prismaField({
      type: "ModelVersion",
      description: "The same version as it is now.",
      resolve: (query, v, _args, ctx) =>
        ctx.reader.modelVersion.findUniqueOrThrow({
          ...query,
          where: { modelId_version: { modelId: v.modelId, version: v.state.version } },
        }),
    }),
  }),
});

const RegisteredModelAsOfRef = builder.objectRef<ModelAsOf>("RegisteredModelAsOf").implement({
  description: "A registered model as it was at a past moment, reconstructed from its immutable history.",
  fields: (t) => ({
    at: t.field({ type: "DateTime", description: "The moment asked about.", resolve: (m) => m.at }),
    modelId: t.string({ description: "Stable id of the model.", resolve: (m) => m.modelId }),
    name: t.string({ description: "The model's name at that moment.", resolve: (m) => m.state.name }),
    description: t.string({
      description: "Description at that moment.",
      resolve: (m) => m.state.description,
    }),
    deleted: t.boolean({
      description: "Whether the model was deleted at that moment.",
      resolve: (m) => m.state.status === "deleted",
    }),
    revision: t.int({
      description: "Revision of the last change at or before that moment.",
      resolve: (m) => m.revision,
    }),
    tags: t.field({
      type: [TagRef],
      description: "Tags at that moment, sorted by key.",
      resolve: (m) =>
        Object.entries(m.state.tags)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, value]) => ({ key, value })),
    }),
    versions: t.field({
      type: [ModelVersionAsOfRef],
      description: "Versions that existed at that moment (deleted ones only when asked), newest first.",
      args: {
        stage: t.arg({
          type: StageEnum,
          required: false,
          description: "Only versions in this stage at that moment.",
        }),
        includeDeleted: t.arg.boolean({
          required: false,
          description: "Include versions deleted at that moment (default false).",
        }),
      },
      resolve: (m, args) => {
        const aliasesOf = new Map<number, string[]>();
        for (const [alias, version] of Object.entries(m.state.aliases))
          aliasesOf.set(version, [...(aliasesOf.get(version) ?? []), alias]);
        return Object.values(m.state.versions)
          .filter((v) => (args.includeDeleted || !v.deleted) && (!args.stage || v.stage === args.stage))
          .sort((a, b) => b.version - a.version)
          .map((state) => ({
            modelId: m.modelId,
            state,
            aliases: (aliasesOf.get(state.version) ?? []).sort(),
          }));
      },
    }),
  }),
});

builder.queryFields((t) => ({
  registeredModelAsOf: t.field({
    type: RegisteredModelAsOfRef,
    nullable: true,
    description:
      "The model now named `name` (live, else most recently deleted) as it was at `at`: its name then, its versions with their stages, aliases and tags. Null if it did not exist yet. Answers audit questions such as which version was in Production on a given date.",
    args: {
      name: t.arg.string({ description: "The model's current name." }),
      at: t.arg({ type: "DateTime", description: "The moment to look at (inclusive)." }),
    },
    resolve: (_root, args, ctx) => modelAsOf(ctx.reader, args.name, args.at),
  }),
}));
