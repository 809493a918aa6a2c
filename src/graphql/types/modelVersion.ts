// ModelVersion: the object type, its queries, and the mutations that change versions, stages and aliases.
import { UsageSeriesEnum } from "../../usage/graphql/usageEnums.ts";
import type { RegisteredModelCommandType } from "../../domain/registeredModel/commands.ts";
import type { Metrics, Params, Stage, VersionStatus } from "../../domain/registeredModel/events.ts";
import { builder } from "../builder.ts";
import { appendedEvents, needsNoRelations, runCommand, versionRowFromView } from "../commandResult.ts";
import type { CommandPayload } from "../commandResult.ts";
import {
  MetricConditionInput,
  MetricInput,
  MetricRef,
  OrderDirection,
  StageEnum,
  TagFilter,
  TagInput,
  TagRef,
  VersionStatusEnum,
  countedConnection,
  tagsSelection,
} from "./common.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "./errors.ts";
import { ArtifactFormatEnum, ArtifactVerdictEnum } from "./inspectionEnums.ts";
import { versionRefsByMetric } from "../search/metricOrder.ts";
import { versionSearch } from "../search/versionSearch.ts";
import { versionKeyOfId } from "../../projections/modelVersions/versionId.ts";

/** A version's id before encoding ("<model id>:<version>"), for Pothos and ../synchronousNodeIds.ts. */
export const modelVersionNodeId = (version: { readonly id: string }) => version.id;

export const ModelVersionRef = builder.prismaNode("ModelVersion", {
  description:
    "One registered version of a model: where it came from, how it was trained, how it performs, and its stage.",
  // `node(id:)` answers null for an id whose object does not exist (Relay), not an internal error.
  nullable: true,
  // The id ("<model id>:<version>") is not indexed: a node is found by its model and number.
  id: { resolve: modelVersionNodeId },
  findUnique: (id) => versionKeyOfId(id),
  fields: (t) => ({
    version: t.exposeInt("version", { description: "Version number: 1, 2, 3… per model, never reused." }),
    model: t.relation("model", { description: "The model this version belongs to." }),
    stage: t.field({
      type: StageEnum,
      description: "Current lifecycle stage.",
      resolve: (v) => v.stage as Stage,
    }),
    status: t.field({
      type: VersionStatusEnum,
      description: "Registration status.",
      resolve: (v) => v.status as VersionStatus,
    }),
    aliases: t.field({
      type: ["String"],
      description: "Aliases pointing at this version, sorted.",
      select: { aliases: { select: { alias: true }, orderBy: { alias: "asc" } } },
      resolve: (version) => version.aliases.map((a) => a.alias),
    }),
    source: t.exposeString("source", { description: "Where the model was produced or stored (URI)." }),
    runId: t.exposeString("runId", {
      nullable: true,
      description: "Id of the training run that produced it.",
    }),
    description: t.exposeString("description", { description: "Free-text description." }),
    tags: t.field({
      type: [TagRef],
      description: "Tags, sorted by key.",
      select: { tags: tagsSelection },
      resolve: (version) => version.tags,
    }),
    params: t.field({
      type: "JSONObject",
      description: "Training configuration (any JSON object).",
      resolve: (v) => v.params as Params,
    }),
    metrics: t.field({
      type: [MetricRef],
      description: "Latest value of each logged metric, sorted by name.",
      select: { metrics: true },
      resolve: (version) =>
        Object.entries(version.metrics as Metrics)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, value]) => ({ key, value })),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the version was registered." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the version last changed." }),
    createdBy: t.exposeString("createdBy", { description: "Identity that registered the version." }),
    deleted: t.exposeBoolean("deleted", { description: "Whether the version is deleted (restorable)." }),
    deletedAt: t.expose("deletedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the version was deleted.",
    }),
  }),
});

export const ModelVersionConnectionRef = countedConnection(ModelVersionRef, "ModelVersion", "model versions");

const ModelVersionSortField = builder.enumType("ModelVersionSortField", {
  description: "Fields model versions can be sorted by.",
  values: {
    CREATED_AT: { value: "createdAt", description: "Registration time." },
    UPDATED_AT: { value: "updatedAt", description: "Last change." },
    VERSION: { value: "version", description: "Version number." },
  },
});

const ModelVersionOrder = builder.inputType("ModelVersionOrder", {
  description:
    'Sort order of model versions: by a field, or by a metric\'s latest value (`{ metric: "auc", direction: DESC }`), versions without that metric last (newest first). Give `field` or `metric`, not both; ties are broken by id.',
  fields: (t) => ({
    field: t.field({
      type: ModelVersionSortField,
      required: false,
      description: "Field to sort by (default CREATED_AT).",
    }),
    metric: t.string({
      required: false,
      description: "Metric name to sort by (1-250 characters) instead of a field.",
    }),
    direction: t.field({ type: OrderDirection, required: false, description: "Direction (default DESC)." }),
  }),
});

const ModelVersionFilter = builder.inputType("ModelVersionFilter", {
  description:
    "Filters for `modelVersions`; all given conditions must hold. Each is evaluated in the database, so pages are full and `totalCount` counts exactly the matches.",
  fields: (t) => ({
    name: t.string({ required: false, description: "Versions of the live model with this exact name." }),
    stage: t.field({ type: StageEnum, required: false, description: "Versions in this stage." }),
    status: t.field({
      type: VersionStatusEnum,
      required: false,
      description: "Versions with this registration status.",
    }),
    alias: t.string({ required: false, description: "Versions this alias points at." }),
    tag: t.field({ type: TagFilter, required: false, description: "Versions carrying this tag." }),
    tags: t.field({
      type: [TagFilter],
      required: false,
      description: "Versions carrying every one of these tags (with `tag`, at most 20 in all).",
    }),
    runId: t.string({ required: false, description: "Versions produced by this run." }),
    metrics: t.field({
      type: [MetricConditionInput],
      required: false,
      description:
        'Versions whose latest metric values meet every condition (at most 20), e.g. `[{ key: "auc", gte: 0.9 }]`.',
    }),
    artifactVerdict: t.field({
      type: ArtifactVerdictEnum,
      required: false,
      description:
        "Versions with at least one artifact whose latest inspection gave this verdict (with `artifactFormat`: the same artifact).",
    }),
    artifactFormat: t.field({
      type: ArtifactFormatEnum,
      required: false,
      description:
        "Versions with at least one artifact inspected as this format (with `artifactVerdict`: the same artifact).",
    }),
    createdBy: t.string({
      required: false,
      description: "Versions registered by this display name, exactly as `createdBy` shows it.",
    }),
    createdById: t.string({
      required: false,
      description:
        "Versions registered by the principal with this id (`Actor.id`); versions registered before authentication have none.",
    }),
    text: t.string({
      required: false,
      description:
        "Case-insensitive substring of the model's name or the version's description (1-256 characters; `%` and `_` are plain characters). SQLite folds the case of ASCII letters only.",
    }),
    createdAfter: t.field({
      type: "DateTime",
      required: false,
      description: "Registered at or after this time.",
    }),
    createdBefore: t.field({
      type: "DateTime",
      required: false,
      description: "Registered before this time.",
    }),
    includeDeleted: t.boolean({ required: false, description: "Include deleted versions (default false)." }),
    usedSince: t.field({
      type: "DateTime",
      required: false,
      description:
        "Versions downloaded or served (see `usage`) at or after this time, as far back as daily usage is kept. Counts not flushed yet are not seen (docs/usage.md).",
    }),
    notUsedSince: t.field({
      type: "DateTime",
      required: false,
      description: "Versions neither downloaded nor served (see `usage`) at or after this time.",
    }),
    usage: t.field({
      type: UsageSeriesEnum,
      required: false,
      description: "Limits `usedSince` and `notUsedSince` to downloads or to serving (default: either).",
    }),
  }),
});

builder.queryFields((t) => ({
  modelVersion: t.prismaField({
    type: "ModelVersion",
    nullable: true,
    description: "A version of a live model by number, or null.",
    args: {
      name: t.arg.string({ description: "Model name." }),
      version: t.arg.int({ description: "Version number." }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.reader.modelVersion.findFirst({
        ...query,
        where: { version: args.version, model: { name: args.name, deleted: false } },
      }),
  }),
  modelVersionByAlias: t.prismaField({
    type: "ModelVersion",
    nullable: true,
    description: "The version an alias of a live model points at, or null.",
    args: {
      name: t.arg.string({ description: "Model name." }),
      alias: t.arg.string({ description: "Alias, e.g. `champion`." }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.reader.modelVersion.findFirst({
        ...query,
        where: { aliases: { some: { alias: args.alias } }, model: { name: args.name, deleted: false } },
      }),
  }),
  modelVersions: t.prismaConnection(
    {
      type: "ModelVersion",
      // The integer key: unique and indexed (the id is not), and the order's last tie-breaker.
      cursor: "ref",
      description:
        'Model versions across the registry, filtered and sorted (default newest first), as a Relay connection. Sorted by a metric, e.g. the best `auc` in Staging: `modelVersions(filter: { stage: STAGING }, orderBy: { metric: "auc", direction: DESC })`.',
      args: {
        filter: t.arg({ type: ModelVersionFilter, required: false, description: "Conditions to match." }),
        orderBy: t.arg({ type: ModelVersionOrder, required: false, description: "Sort order." }),
      },
      totalCount: (_root, args, ctx) =>
        ctx.reader.modelVersion.count({
          where: versionSearch(ctx.db.provider, args.filter, args.orderBy).where,
        }),
      resolve: async (query, _root, args, ctx) => {
        const search = versionSearch(ctx.db.provider, args.filter, args.orderBy);
        if (search.kind === "columns")
          return ctx.reader.modelVersion.findMany({ ...query, where: search.where, orderBy: search.orderBy });
        const { take, skip: _skip, cursor, ...selection } = query;
        const refs = await versionRefsByMetric(ctx.reader, { take, cursor }, search.order);
        if (refs.length === 0) return [];
        const rows = await ctx.reader.modelVersion.findMany({ ...selection, where: { ref: { in: refs } } });
        const byRef = new Map(rows.map((row) => [row.ref, row]));
        return refs.flatMap((ref) => byRef.get(ref) ?? []);
      },
    },
    ModelVersionConnectionRef,
  ),
}));

// ---- Mutations ----------------------------------------------------------------------------------

export const ModelVersionPayloadRef = builder.objectRef<CommandPayload>("ModelVersionPayload").implement({
  description: "The version after a successful change, and the events the change appended.",
  fields: (t) => ({
    modelVersion: t.prismaField({
      type: "ModelVersion",
      description: "The version as it is now.",
      resolve: (query, payload, _args, ctx) => {
        const row = needsNoRelations(query) ? versionRowFromView(payload, payload.version) : undefined;
        return (
          row ??
          ctx.reader.modelVersion.findUniqueOrThrow({
            ...query,
            where: { modelId_version: { modelId: payload.modelId, version: payload.version ?? 0 } },
          })
        );
      },
    }),
    archivedVersions: t.prismaField({
      type: ["ModelVersion"],
      description:
        "Versions the same stage transition moved to Archived (`archiveExistingVersions`); empty otherwise.",
      resolve: (query, payload, _args, ctx) =>
        payload.archivedVersions.length === 0
          ? []
          : ctx.reader.modelVersion.findMany({
              ...query,
              where: { modelId: payload.modelId, version: { in: [...payload.archivedVersions] } },
              orderBy: { version: "asc" },
            }),
    }),
    events: t.prismaField({
      type: ["Event"],
      description: "Events appended by this change, in order; empty when it changed nothing (a retry).",
      resolve: (query, payload, _args, ctx) => appendedEvents(query, payload.events, ctx),
    }),
  }),
});

const expectedRevision = EXPECTED_REVISION_FIELD;
const errors = (command: RegisteredModelCommandType) => commandMutationErrors(command, command);

/** Input fields every version mutation shares: which version, and optional optimistic concurrency. */
const versionFields = (f: Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0]) => ({
  name: f.string({ description: "Model name." }),
  version: f.int({ description: "Version number." }),
  expectedRevision: f.int(expectedRevision),
});

/** Input of a mutation that only names the version (delete, restore). */
const versionRefInput = (name: string, description: string) =>
  builder.inputType(name, { description, fields: (f) => versionFields(f) });

builder.mutationFields((t) => ({
  createModelVersion: t.field({
    type: ModelVersionPayloadRef,
    description: "Registers the next version of a model (numbers are assigned 1, 2, 3… and never reused).",
    errors: errors("CreateModelVersion"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("CreateModelVersionInput", {
          description: "A new version.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            source: f.string({
              description: "Where the model artifacts were produced or stored (URI, up to 4,096 characters).",
            }),
            runId: f.string({ required: false, description: "Id of the training run." }),
            description: f.string({ required: false, description: "Free-text description." }),
            tags: f.field({
              type: [TagInput],
              required: false,
              description: "Initial tags (distinct keys).",
            }),
            params: f.field({
              type: "JSONObject",
              required: false,
              description:
                "Training configuration (JSON object, ≤256 KiB, nested ≤64 levels; keys `__proto__`, `constructor` and `prototype` are reserved).",
            }),
            metrics: f.field({
              type: [MetricInput],
              required: false,
              description: "Measured performance (finite numbers, distinct names).",
            }),
            pendingArtifacts: f.boolean({
              required: false,
              description:
                "Artifacts will follow: the version starts PENDING_REGISTRATION (upload files, then finalizeModelVersion) instead of READY.",
            }),
            expectedRevision: f.int(expectedRevision),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "CreateModelVersion",
          data: {
            source: input.source,
            runId: input.runId ?? null,
            description: input.description ?? "",
            tags: input.tags ?? [],
            params: input.params ?? {},
            metrics: input.metrics ?? [],
            pendingArtifacts: input.pendingArtifacts ?? false,
          },
        },
        input.expectedRevision,
      ),
  }),

  updateModelVersion: t.field({
    type: ModelVersionPayloadRef,
    description: "Replaces a version's description (the one it has changes nothing).",
    errors: errors("UpdateModelVersion"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("UpdateModelVersionInput", {
          description: "The version and its new description.",
          fields: (f) => ({
            ...versionFields(f),
            description: f.string({ description: "New description." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "UpdateModelVersion", data: { version: input.version, description: input.description } },
        input.expectedRevision,
        input.version,
      ),
  }),

  logModelVersionMetrics: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Records more metrics on a version; a metric logged again replaces the shown value (history keeps both). When every metric given has that value already, nothing changes.",
    errors: errors("LogModelVersionMetrics"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("LogModelVersionMetricsInput", {
          description: "The version and the metrics.",
          fields: (f) => ({
            ...versionFields(f),
            metrics: f.field({ type: [MetricInput], description: "Metrics (at least one)." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "LogModelVersionMetrics", data: { version: input.version, metrics: input.metrics } },
        input.expectedRevision,
        input.version,
      ),
  }),

  setModelVersionTag: t.field({
    type: ModelVersionPayloadRef,
    description: "Sets (adds or replaces) a tag on a version (the value it has changes nothing).",
    errors: errors("SetModelVersionTag"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("SetModelVersionTagInput", {
          description: "The version and the tag.",
          fields: (f) => ({
            ...versionFields(f),
            key: f.string({ description: "Tag key (1-250 characters)." }),
            value: f.string({ description: "Tag value (up to 5,000 characters)." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "SetModelVersionTag", data: { version: input.version, key: input.key, value: input.value } },
        input.expectedRevision,
        input.version,
      ),
  }),

  deleteModelVersionTag: t.field({
    type: ModelVersionPayloadRef,
    description: "Removes a tag from a version (a tag that is not set changes nothing).",
    errors: errors("DeleteModelVersionTag"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("DeleteModelVersionTagInput", {
          description: "The version and the tag key.",
          fields: (f) => ({ ...versionFields(f), key: f.string({ description: "Tag key to remove." }) }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "DeleteModelVersionTag", data: { version: input.version, key: input.key } },
        input.expectedRevision,
        input.version,
      ),
  }),

  transitionModelVersionStage: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Moves a version to another stage (its own stage changes nothing, unless others are to be archived). With `archiveExistingVersions`, the other versions in the target stage move to Archived in the same change. Only READY versions move to Staging or Production; deleted versions cannot move. A version with DANGEROUS, UNSCANNABLE or never-inspected artifacts moves to Production only with `overrideReason`.",
    errors: errors("TransitionModelVersionStage"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("TransitionModelVersionStageInput", {
          description: "The version, its target stage, and options.",
          fields: (f) => ({
            ...versionFields(f),
            stage: f.field({ type: StageEnum, description: "Target stage." }),
            comment: f.string({
              required: false,
              description: "Why (kept in history, up to 5,000 characters).",
            }),
            archiveExistingVersions: f.boolean({
              required: false,
              description:
                "Archive the other versions currently in the target stage (Staging or Production only).",
            }),
            overrideReason: f.string({
              required: false,
              description:
                "Why the version may go to Production although some of its artifacts are DANGEROUS, UNSCANNABLE or never inspected (non-blank, up to 5,000 characters). Without it such a transition fails with UnsafeArtifactError; with it, a ModelVersionSafetyOverridden event records the reason. Ignored when nothing blocks.",
            }),
            bypassReason: f.string({
              required: false,
              description:
                "Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected.",
            }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "TransitionModelVersionStage",
          data: {
            version: input.version,
            stage: input.stage,
            comment: input.comment ?? null,
            archiveExistingVersions: input.archiveExistingVersions ?? false,
            overrideReason: input.overrideReason ?? null,
            bypassReason: input.bypassReason ?? null,
          },
        },
        input.expectedRevision,
        input.version,
      ),
  }),

  setRegisteredModelAlias: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Points an alias at a version, moving it from another version if needed (one event; the version it names already changes nothing). A version with DANGEROUS, UNSCANNABLE or never-inspected artifacts gets an alias only with `overrideReason`.",
    errors: errors("SetRegisteredModelAlias"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("SetRegisteredModelAliasInput", {
          description: "The version and the alias.",
          fields: (f) => ({
            ...versionFields(f),
            alias: f.string({
              description:
                "Alias matching ^[A-Za-z_][A-Za-z0-9_-]{0,254}$; `latest`, `v<digits>`, `__proto__`, `constructor` and `prototype` are reserved.",
            }),
            overrideReason: f.string({
              required: false,
              description:
                "Why the alias may point at a version with DANGEROUS, UNSCANNABLE or never-inspected artifacts (non-blank, up to 5,000 characters). Without it that fails with UnsafeArtifactError; with it, a ModelVersionSafetyOverridden event records the reason. Ignored when nothing blocks.",
            }),
            bypassReason: f.string({
              required: false,
              description:
                "Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected.",
            }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "SetRegisteredModelAlias",
          data: {
            alias: input.alias,
            version: input.version,
            overrideReason: input.overrideReason ?? null,
            bypassReason: input.bypassReason ?? null,
          },
        },
        input.expectedRevision,
        input.version,
      ),
  }),

  deleteModelVersion: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Deletes a version (restorable; its number is never reused). Aliases pointing at it are removed. A deleted version changes nothing.",
    errors: errors("DeleteModelVersion"),
    args: {
      input: t.arg({
        type: versionRefInput("DeleteModelVersionInput", "The version to delete."),
        description: "The command input.",
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "DeleteModelVersion", data: { version: input.version } },
        input.expectedRevision,
        input.version,
      ),
  }),

  restoreModelVersion: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Restores a deleted version (a live one changes nothing). A version deleted in a stage the review policy now protects comes back Archived: moving it back takes a review.",
    errors: errors("RestoreModelVersion"),
    args: {
      input: t.arg({
        type: versionRefInput("RestoreModelVersionInput", "The deleted version to restore."),
        description: "The command input.",
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "RestoreModelVersion", data: { version: input.version } },
        input.expectedRevision,
        input.version,
      ),
  }),
}));
