// RegisteredModelAsOf: a model as it was at a past moment or log position, folded from its history
// (an audit field: it reads the event table and its snapshots, not the projections).
import { asOfTarget, modelAsOf } from "../../application/modelAsOf.ts";
import type { ModelAsOf } from "../../application/modelAsOf.ts";
import type { Verdict } from "../../domain/inspection.ts";
import type { ArtifactRole } from "../../domain/artifacts.ts";
import type { Params, Stage, VersionStatus } from "../../domain/registeredModel/events.ts";
import type { VersionRecord } from "../../domain/registeredModel/history.ts";
import type { ArtifactState, VersionState } from "../../domain/registeredModel/state.ts";
import { builder } from "../builder.ts";
import { ArtifactRoleEnum } from "./artifact.ts";
import { MetricRef, StageEnum, TagRef, VersionStatusEnum } from "./common.ts";
import { ArtifactVerdictEnum } from "./inspectionEnums.ts";

interface VersionAsOf {
  readonly modelId: string;
  readonly state: VersionState;
  readonly record: VersionRecord | undefined;
  readonly aliases: readonly string[];
}

interface ArtifactAsOf {
  readonly state: ArtifactState;
  readonly record: VersionRecord["artifacts"][string] | undefined;
}

const byKey = <V>(record: Readonly<Record<string, V>>): [string, V][] =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const ArtifactAsOfRef = builder.objectRef<ArtifactAsOf>("ArtifactAsOf").implement({
  description: "An artifact of a model version as it was at the requested point.",
  fields: (t) => ({
    path: t.string({ description: "Path within the version.", resolve: (a) => a.state.path }),
    sha256: t.string({ description: "SHA-256 (hex) of its bytes.", resolve: (a) => a.state.sha256 }),
    size: t.field({
      type: "SafeInt",
      nullable: true,
      description: "Size in bytes (null only if the history does not record it).",
      resolve: (a) => a.record?.size ?? null,
    }),
    role: t.field({
      type: ArtifactRoleEnum,
      nullable: true,
      description: "What it is for (null only if the history does not record it).",
      resolve: (a): ArtifactRole | null => a.record?.role ?? null,
    }),
    mediaType: t.string({
      nullable: true,
      description: "Media type (null only if the history does not record it).",
      resolve: (a) => a.record?.mediaType ?? null,
    }),
    verdict: t.field({
      type: ArtifactVerdictEnum,
      nullable: true,
      description: "Verdict of its latest inspection at that point; null if it had not been inspected yet.",
      resolve: (a): Verdict | null => a.state.verdict,
    }),
  }),
});

const ModelVersionAsOfRef = builder.objectRef<VersionAsOf>("ModelVersionAsOf").implement({
  description: "A model version as it was at the requested point.",
  fields: (t) => ({
    version: t.int({ description: "Version number.", resolve: (v) => v.state.version }),
    stage: t.field({
      type: StageEnum,
      description: "Stage at that point.",
      resolve: (v): Stage => v.state.stage,
    }),
    status: t.field({
      type: VersionStatusEnum,
      description: "Registration status at that point.",
      resolve: (v): VersionStatus => v.state.status,
    }),
    deleted: t.boolean({
      description: "Whether the version was deleted at that point.",
      resolve: (v) => v.state.deleted,
    }),
    description: t.string({
      description: "Description at that point.",
      resolve: (v) => v.state.description,
    }),
    source: t.string({
      nullable: true,
      description: "Where the model was trained or stored, as registered.",
      resolve: (v) => v.record?.source ?? null,
    }),
    runId: t.string({
      nullable: true,
      description: "Training run it came from, as registered.",
      resolve: (v) => v.record?.runId ?? null,
    }),
    params: t.field({
      type: "JSONObject",
      description: "Training configuration, as registered.",
      resolve: (v): Params => v.record?.params ?? {},
    }),
    metrics: t.field({
      type: [MetricRef],
      description: "Latest value of each metric logged by then, sorted by name.",
      resolve: (v) => byKey(v.state.metrics).map(([key, value]) => ({ key, value })),
    }),
    aliases: t.stringList({
      description: "Aliases pointing at it at that point, sorted.",
      resolve: (v) => [...v.aliases],
    }),
    tags: t.field({
      type: [TagRef],
      description: "Tags at that point, sorted by key.",
      resolve: (v) => byKey(v.state.tags).map(([key, value]) => ({ key, value })),
    }),
    artifacts: t.field({
      type: [ArtifactAsOfRef],
      description: "Artifacts it had at that point, in the order they were added.",
      resolve: (v) => v.state.artifacts.map((state) => ({ state, record: v.record?.artifacts[state.path] })),
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

function versionAsOf(m: ModelAsOf, state: VersionState): VersionAsOf {
  const aliases = byKey(m.state.aliases)
    .filter(([, version]) => version === state.version)
    .map(([alias]) => alias);
  return { modelId: m.modelId, state, record: m.history.records[state.version], aliases };
}

const AliasAsOfRef = builder.objectRef<{ alias: string; version: number }>("AliasAsOf").implement({
  description: "Where an alias pointed at the requested point.",
  fields: (t) => ({
    alias: t.exposeString("alias", { description: "The alias." }),
    version: t.exposeInt("version", { description: "The version number it pointed at." }),
  }),
});

export const RegisteredModelAsOfRef = builder.objectRef<ModelAsOf>("RegisteredModelAsOf").implement({
  description:
    "A registered model as it was at a past moment or log position, reconstructed from its immutable history.",
  fields: (t) => ({
    at: t.field({
      type: "DateTime",
      description:
        "The moment asked about; when asked at a log position, when the last change included was recorded.",
      resolve: (m) => m.at,
    }),
    position: t.int({
      description:
        "The log position asked about; when asked at a moment, the log position of the last change included.",
      resolve: (m) => m.position,
    }),
    modelId: t.string({ description: "Stable id of the model.", resolve: (m) => m.modelId }),
    name: t.string({ description: "The model's name at that point.", resolve: (m) => m.state.name }),
    description: t.string({
      description: "Description at that point.",
      resolve: (m) => m.state.description,
    }),
    deleted: t.boolean({
      description: "Whether the model was deleted at that point.",
      resolve: (m) => m.state.status === "deleted",
    }),
    revision: t.int({
      description: "Revision of the last change included.",
      resolve: (m) => m.revision,
    }),
    tags: t.field({
      type: [TagRef],
      description: "Tags at that point, sorted by key.",
      resolve: (m) => byKey(m.state.tags).map(([key, value]) => ({ key, value })),
    }),
    aliases: t.field({
      type: [AliasAsOfRef],
      description: "Every alias and the version it pointed at, at that point, sorted by alias.",
      resolve: (m) => byKey(m.state.aliases).map(([alias, version]) => ({ alias, version })),
    }),
    alias: t.field({
      type: ModelVersionAsOfRef,
      nullable: true,
      description: "The version an alias pointed at, at that point; null if the alias was not set then.",
      args: { alias: t.arg.string({ description: "The alias, e.g. `champion`." }) },
      resolve: (m, args) => {
        const number = Object.hasOwn(m.state.aliases, args.alias) ? m.state.aliases[args.alias] : undefined;
        const state = number === undefined ? undefined : m.state.versions[number];
        return state ? versionAsOf(m, state) : null;
      },
    }),
    version: t.field({
      type: ModelVersionAsOfRef,
      nullable: true,
      description: "One version as it was at that point (deleted or not); null if it did not exist yet.",
      args: { version: t.arg.int({ description: "The version number." }) },
      resolve: (m, args) => {
        const state = m.state.versions[args.version];
        return state ? versionAsOf(m, state) : null;
      },
    }),
    versions: t.field({
      type: [ModelVersionAsOfRef],
      description:
        "Versions that existed at that point (deleted ones only when asked), newest first. `stage: PRODUCTION` answers what was in Production then.",
      args: {
        stage: t.arg({
          type: StageEnum,
          required: false,
          description: "Only versions in this stage at that point.",
        }),
        includeDeleted: t.arg.boolean({
          required: false,
          description: "Include versions deleted at that point (default false).",
        }),
      },
      resolve: (m, args) =>
        Object.values(m.state.versions)
          .filter((v) => (args.includeDeleted || !v.deleted) && (!args.stage || v.stage === args.stage))
          .sort((a, b) => b.version - a.version)
          .map((state) => versionAsOf(m, state)),
    }),
  }),
});

builder.queryFields((t) => ({
  registeredModelAsOf: t.field({
    type: RegisteredModelAsOfRef,
    nullable: true,
    description:
      "The model now named `name` (live, else most recently deleted) as it was at a moment (`at`) or at a log position (`position`): give exactly one. Its name then, its aliases, its versions with their stages, tags, metrics and artifacts, and (for those who may read them) its permissions. Null if it did not exist yet, or if the caller may not read the model now. Answers audit questions such as which version was in Production on a given date.",
    args: {
      name: t.arg.string({ description: "The model's current name." }),
      at: t.arg({
        type: "DateTime",
        required: false,
        description:
          "The moment to look at (inclusive): the model's history up to its first change recorded after it.",
      }),
      position: t.arg.int({
        required: false,
        description:
          "The log position to look at (inclusive), as in `RegistryEvent.position` and subscription cursors; beyond the log's end is a VALIDATION error.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const target = await asOfTarget(ctx.db, args.at, args.position);
      return modelAsOf(ctx.db, ctx.reader, args.name, target);
    },
  }),
}));
