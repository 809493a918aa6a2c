// RegisteredModel: the object type, its queries, and the mutations that change a model itself.
import { builder } from "../builder.ts";
import type { RegisteredModelCommandType } from "../../domain/registeredModel/commands.ts";
import { appendedEvents, modelRowFromView, needsNoRelations, runCommand } from "../commandResult.ts";
import { newRegisteredModel } from "../../application/newRegisteredModel.ts";
import type { CommandPayload } from "../commandResult.ts";
import {
  OrderDirection,
  StageEnum,
  TagFilter,
  TagInput,
  TagRef,
  countedConnection,
  tagsSelection,
} from "./common.ts";
import type { GraphQLContext } from "../context.ts";
import { modelSearchWhere } from "../search/modelSearch.ts";
import { versionPage, versionPageCount } from "../search/modelVersionPages.ts";
import { ModelVersionConnectionRef } from "./modelVersion.ts";
import { RegistryEventConnectionRef } from "./registryEvent.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "./errors.ts";

/** The events of one model's history, optionally only one principal's. */
const historyWhere = (modelId: string, actorId: string | null | undefined) => ({
  streamId: modelId,
  // Through event_actors: events hold the id of their actor's row (../../store/eventActors.ts).
  ...(actorId == null ? {} : { eventActor: { actorId } }),
});

/** The model `history(name:)` is about: the live one of that name, else the most recently deleted. */
const modelForHistory = (ctx: GraphQLContext, name: string) =>
  ctx.reader.registeredModel.findFirst({
    where: { name },
    orderBy: [{ deleted: "asc" }, { deletedAt: "desc" }],
    select: { id: true },
  });

/** A model's id before encoding (its `id` column), for Pothos and ../synchronousNodeIds.ts. */
export const registeredModelNodeId = (model: { readonly id: string }) => model.id;

export const RegisteredModelRef = builder.prismaNode("RegisteredModel", {
  description: "A named model and everything registered under it: versions, tags, aliases and history.",
  // `node(id:)` answers null for an id whose object does not exist (Relay), not an internal error.
  nullable: true,
  id: { resolve: registeredModelNodeId },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    modelId: t.exposeString("id", { description: "Stable id of the model (unchanged by renames)." }),
    name: t.exposeString("name", { description: "Unique name among live models." }),
    description: t.exposeString("description", { description: "Free-text description (Markdown)." }),
    tags: t.field({
      type: [TagRef],
      description: "Tags, sorted by key.",
      select: { tags: tagsSelection },
      resolve: (model) => model.tags,
    }),
    aliases: t.relation("aliases", {
      description: "Aliases pointing at versions of this model, sorted by name.",
      query: { orderBy: { alias: "asc" } },
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the model was registered." }),
    updatedAt: t.expose("updatedAt", {
      type: "DateTime",
      description: "When anything in the model's history last changed.",
    }),
    createdBy: t.exposeString("createdBy", { description: "Identity that registered the model." }),
    revision: t.exposeInt("revision", {
      description:
        "Current revision of the model's history; pass it as `expectedRevision` for optimistic concurrency.",
    }),
    deleted: t.exposeBoolean("deleted", {
      description: "Whether the model is deleted (restorable; nothing is lost).",
    }),
    deletedAt: t.expose("deletedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the model was deleted.",
    }),
    // Not a relatedConnection: Prisma would read every version of the model to cut one page
    // (../search/modelVersionPages.ts).
    versions: t.prismaConnection(
      {
        type: "ModelVersion",
        // The integer key: unique and indexed (the version's id is not).
        cursor: "ref",
        description: "Versions of this model, newest first by default.",
        args: {
          stage: t.arg({ type: StageEnum, required: false, description: "Only versions in this stage." }),
          includeDeleted: t.arg.boolean({
            required: false,
            description: "Include deleted versions (default false).",
          }),
          direction: t.arg({
            type: OrderDirection,
            required: false,
            description: "Order by version number (default DESC).",
          }),
        },
        totalCount: (model, args, ctx) => versionPageCount(ctx.db, model.id, args),
        resolve: (query, model, args, ctx) => {
          const { take, skip, cursor, ...selection } = query;
          return versionPage(ctx, model.id, selection, args, { take, skip, cursor });
        },
      },
      ModelVersionConnectionRef,
    ),
    latestVersions: t.relation("versions", {
      description: "The newest live version in each stage (every stage when `stages` is omitted).",
      args: { stages: t.arg({ type: [StageEnum], required: false, description: "Stages to report." }) },
      query: (args) => ({
        // Distinct stages: a list of 100,000 NONEs passed the database's parameter limit.
        where: { deleted: false, ...(args.stages ? { stage: { in: [...new Set(args.stages)] } } : {}) },
        orderBy: [{ stage: "asc" }, { version: "desc" }],
        distinct: ["stage"],
      }),
    }),
    history: t.prismaConnection(
      {
        type: "Event",
        cursor: "position",
        description: "Every change to this model and its versions, oldest first.",
        args: {
          actorId: t.arg.string({
            required: false,
            description: "Only changes made by the principal with this id (`Actor.id`).",
          }),
        },
        totalCount: (model, args, ctx) =>
          ctx.reader.event.count({ where: historyWhere(model.id, args.actorId) }),
        resolve: (query, model, args, ctx) =>
          ctx.reader.event.findMany({
            ...query,
            where: historyWhere(model.id, args.actorId),
            orderBy: { position: "asc" },
          }),
      },
      RegistryEventConnectionRef,
    ),
  }),
});

const RegisteredModelConnectionRef = countedConnection(RegisteredModelRef, "RegisteredModel", "models");

export const RegisteredModelAliasRef = builder.prismaObject("ModelAlias", {
  name: "ModelAlias",
  description: "A named pointer (e.g. `champion`) at one version of a model.",
  fields: (t) => ({
    alias: t.exposeString("alias", { description: "Alias name." }),
    version: t.exposeInt("version", { description: "Version number the alias points at." }),
    modelVersion: t.relation("target", { description: "The version the alias points at." }),
  }),
});

const RegisteredModelSortField = builder.enumType("RegisteredModelSortField", {
  description: "Fields registered models can be sorted by.",
  values: {
    NAME: { value: "name", description: "Model name." },
    CREATED_AT: { value: "createdAt", description: "Registration time." },
    UPDATED_AT: { value: "updatedAt", description: "Last change." },
  },
});

const RegisteredModelOrder = builder.inputType("RegisteredModelOrder", {
  description: "Sort order of registered models.",
  fields: (t) => ({
    field: t.field({ type: RegisteredModelSortField, description: "Field to sort by." }),
    direction: t.field({ type: OrderDirection, required: false, description: "Direction (default ASC)." }),
  }),
});

const RegisteredModelFilter = builder.inputType("RegisteredModelFilter", {
  description:
    "Filters for `registeredModels`; all given conditions must hold. Each is evaluated in the database, so pages are full and `totalCount` counts exactly the matches.",
  fields: (t) => ({
    text: t.string({
      required: false,
      description:
        "Case-insensitive substring of the name or the description (1-256 characters; `%` and `_` are plain characters). SQLite folds the case of ASCII letters only.",
    }),
    nameContains: t.string({
      required: false,
      description:
        "Substring of the name: case-sensitive on PostgreSQL, ASCII letters case-insensitive on SQLite. Prefer `text`.",
    }),
    tag: t.field({ type: TagFilter, required: false, description: "Models carrying this tag." }),
    tags: t.field({
      type: [TagFilter],
      required: false,
      description: "Models carrying every one of these tags (with `tag`, at most 20 in all).",
    }),
    stage: t.field({
      type: StageEnum,
      required: false,
      description: "Models with at least one live (not deleted) version in this stage.",
    }),
    alias: t.string({
      required: false,
      description: "Models with this alias (e.g. `champion`), whichever version it points at.",
    }),
    includeDeleted: t.boolean({ required: false, description: "Include deleted models (default false)." }),
  }),
});

builder.queryFields((t) => ({
  registeredModel: t.prismaField({
    type: "RegisteredModel",
    nullable: true,
    description: "The live model with this name; if none is live, the most recently deleted one; else null.",
    args: { name: t.arg.string({ description: "Model name." }) },
    resolve: (query, _root, args, ctx) =>
      ctx.reader.registeredModel.findFirst({
        ...query,
        where: { name: args.name },
        orderBy: [{ deleted: "asc" }, { deletedAt: "desc" }],
      }),
  }),
  registeredModels: t.prismaConnection(
    {
      type: "RegisteredModel",
      cursor: "id",
      description: "Registered models, filtered and sorted (default by name), as a Relay connection.",
      args: {
        filter: t.arg({ type: RegisteredModelFilter, required: false, description: "Conditions to match." }),
        orderBy: t.arg({ type: RegisteredModelOrder, required: false, description: "Sort order." }),
      },
      totalCount: (_root, args, ctx) =>
        ctx.reader.registeredModel.count({ where: modelSearchWhere(ctx.db.provider, args.filter) }),
      resolve: (query, _root, args, ctx) => {
        const field = args.orderBy?.field ?? "name";
        const direction = args.orderBy?.direction ?? "asc";
        return ctx.reader.registeredModel.findMany({
          ...query,
          where: modelSearchWhere(ctx.db.provider, args.filter),
          orderBy: [{ [field]: direction }, { id: direction }],
        });
      },
    },
    RegisteredModelConnectionRef,
  ),
  history: t.prismaConnection(
    {
      type: "Event",
      cursor: "position",
      description:
        "Every change to the named model (live, or most recently deleted) and its versions, oldest first.",
      args: {
        name: t.arg.string({ description: "Model name." }),
        actorId: t.arg.string({
          required: false,
          description: "Only changes made by the principal with this id (`Actor.id`).",
        }),
      },
      totalCount: async (_root, args, ctx) => {
        const model = await modelForHistory(ctx, args.name);
        return model ? ctx.reader.event.count({ where: historyWhere(model.id, args.actorId) }) : 0;
      },
      resolve: async (query, _root, args, ctx) => {
        const model = await modelForHistory(ctx, args.name);
        if (!model) return [];
        return ctx.reader.event.findMany({
          ...query,
          where: historyWhere(model.id, args.actorId),
          orderBy: { position: "asc" },
        });
      },
    },
    RegistryEventConnectionRef,
  ),
}));

// ---- Mutations ----------------------------------------------------------------------------------

export const RegisteredModelPayloadRef = builder
  .objectRef<CommandPayload>("RegisteredModelPayload")
  .implement({
    description: "The model after a successful change, and the events the change appended.",
    fields: (t) => ({
      registeredModel: t.prismaField({
        type: "RegisteredModel",
        description: "The model as it is now.",
        resolve: (query, payload, _args, ctx) =>
          (needsNoRelations(query) ? modelRowFromView(payload) : undefined) ??
          ctx.reader.registeredModel.findUniqueOrThrow({ ...query, where: { id: payload.modelId } }),
      }),
      events: t.prismaField({
        type: ["Event"],
        description: "Events appended by this change, in order; empty when it changed nothing (a retry).",
        resolve: (query, payload, _args, ctx) => appendedEvents(query, payload.events, ctx),
      }),
    }),
  });

const expectedRevisionField = EXPECTED_REVISION_FIELD;

/** Input of a mutation that only names the model (delete, restore). */
const modelNameInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (f) => ({
      name: f.string({ description: "Model name." }),
      expectedRevision: f.int(expectedRevisionField),
    }),
  });

const errors = (command: RegisteredModelCommandType) => commandMutationErrors(command, command);

builder.mutationFields((t) => ({
  createRegisteredModel: t.field({
    type: RegisteredModelPayloadRef,
    description: "Registers a new model. Its name must be unique among live models.",
    errors: errors("CreateRegisteredModel"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("CreateRegisteredModelInput", {
          description: "A new model.",
          fields: (f) => ({
            name: f.string({
              description: "1-256 characters, no `/`, no control characters, no surrounding spaces.",
            }),
            description: f.string({ required: false, description: "Free-text description." }),
            tags: f.field({
              type: [TagInput],
              required: false,
              description: "Initial tags (distinct keys).",
            }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) => {
      const { ref, command } = newRegisteredModel({ ...input, creatorId: ctx.caller.principal.id });
      return runCommand(ctx, ref, command, undefined);
    },
  }),

  renameRegisteredModel: t.field({
    type: RegisteredModelPayloadRef,
    description:
      "Renames a model. History, versions and aliases follow it. Its current name changes nothing.",
    errors: errors("RenameRegisteredModel"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RenameRegisteredModelInput", {
          description: "Current and new name.",
          fields: (f) => ({
            name: f.string({ description: "Current name." }),
            newName: f.string({ description: "New name (same rules as on creation)." }),
            expectedRevision: f.int(expectedRevisionField),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "RenameRegisteredModel", data: { newName: input.newName } },
        input.expectedRevision,
      ),
  }),

  updateRegisteredModel: t.field({
    type: RegisteredModelPayloadRef,
    description: "Replaces a model's description (the one it has changes nothing).",
    errors: errors("UpdateRegisteredModel"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("UpdateRegisteredModelInput", {
          description: "The model and its new description.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            description: f.string({ description: "New description." }),
            expectedRevision: f.int(expectedRevisionField),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "UpdateRegisteredModel", data: { description: input.description } },
        input.expectedRevision,
      ),
  }),

  deleteRegisteredModel: t.field({
    type: RegisteredModelPayloadRef,
    description:
      "Deletes a model. Nothing is erased: `restoreRegisteredModel` brings it back with all its versions.",
    errors: errors("DeleteRegisteredModel"),
    args: {
      input: t.arg({
        type: modelNameInput("DeleteRegisteredModelInput", "The model to delete."),
        description: "The command input.",
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "DeleteRegisteredModel", data: {} },
        input.expectedRevision,
      ),
  }),

  restoreRegisteredModel: t.field({
    type: RegisteredModelPayloadRef,
    description: "Restores the most recently deleted model of this name, unless a live model took the name.",
    errors: errors("RestoreRegisteredModel"),
    args: {
      input: t.arg({
        type: modelNameInput("RestoreRegisteredModelInput", "The deleted model to restore."),
        description: "The command input.",
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "deleted", name: input.name },
        { type: "RestoreRegisteredModel", data: {} },
        input.expectedRevision,
      ),
  }),

  setRegisteredModelTag: t.field({
    type: RegisteredModelPayloadRef,
    description: "Sets (adds or replaces) a tag on a model (the value it has changes nothing).",
    errors: errors("SetRegisteredModelTag"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("SetRegisteredModelTagInput", {
          description: "The model and the tag.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            key: f.string({ description: "Tag key (1-250 characters)." }),
            value: f.string({ description: "Tag value (up to 5,000 characters)." }),
            expectedRevision: f.int(expectedRevisionField),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "SetRegisteredModelTag", data: { key: input.key, value: input.value } },
        input.expectedRevision,
      ),
  }),

  deleteRegisteredModelTag: t.field({
    type: RegisteredModelPayloadRef,
    description: "Removes a tag from a model (a tag that is not set changes nothing).",
    errors: errors("DeleteRegisteredModelTag"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("DeleteRegisteredModelTagInput", {
          description: "The model and the tag key.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            key: f.string({ description: "Tag key to remove." }),
            expectedRevision: f.int(expectedRevisionField),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "DeleteRegisteredModelTag", data: { key: input.key } },
        input.expectedRevision,
      ),
  }),

  deleteRegisteredModelAlias: t.field({
    type: RegisteredModelPayloadRef,
    description: "Removes an alias from a model (an alias that is not set changes nothing).",
    errors: errors("DeleteRegisteredModelAlias"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("DeleteRegisteredModelAliasInput", {
          description: "The model and the alias.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            alias: f.string({ description: "Alias to remove." }),
            bypassReason: f.string({
              required: false,
              description:
                "Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected.",
            }),
            expectedRevision: f.int(expectedRevisionField),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "DeleteRegisteredModelAlias",
          data: { alias: input.alias, bypassReason: input.bypassReason ?? null },
        },
        input.expectedRevision,
      ),
  }),
}));
