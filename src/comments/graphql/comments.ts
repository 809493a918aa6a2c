// GraphQL of comments on model versions: the ModelVersionComment type, `ModelVersion.comments`, and
// the mutations that add, edit and delete comments. Current comments are read from the projection
// (model_version_comments); a comment's earlier bodies (`revisions`) and its author (the actor of the
// event that added it) are read from the event log, like other history fields.
import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import { ActorRef } from "../../access/graphql/actor.ts";
import { actorFromColumns } from "../../access/actor.ts";
import type { EventActor } from "../../access/actor.ts";
import { executeCommand } from "../../application/executeCommand.ts";
import type { ModelRef } from "../../application/executeCommand.ts";
import type { ModelVersionComment } from "../../db/generated/sqlite/client.ts";
import { rowDate, rowInt, rowJson } from "../../db/sql.ts";
import { DomainError, NotFoundError, PermissionDeniedError } from "../../domain/errors.ts";
import type { RegisteredModelCommand } from "../../domain/registeredModel/commands.ts";
import { checkStorableText } from "../../domain/validation.ts";
import { builder } from "../../graphql/builder.ts";
import { appendedEvents, needsNoRelations } from "../../graphql/commandResult.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { countedConnection } from "../../graphql/types/common.ts";
import { commandMutationErrors } from "../../graphql/types/errors.ts";
import { actorOfSqlRow } from "../../store/eventStore.ts";
import { ACTOR_COLUMNS, actorJoinOf } from "../../store/eventActors.ts";
import { typeCodesOf, typeNameOf } from "../../store/eventTypes.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import type { CommentView } from "../projection/evolve.ts";

// ---- History of one comment, from the log ---------------------------------------------------------

const COMMENT_EVENT_TYPES = [
  "ModelVersionCommentAdded",
  "ModelVersionCommentEdited",
  "ModelVersionCommentDeleted",
] as const;
type CommentEventType = (typeof COMMENT_EVENT_TYPES)[number];

interface CommentRevision {
  readonly action: "ADDED" | "EDITED" | "DELETED";
  readonly body: string | null;
  readonly actor: EventActor;
  readonly occurredAt: Date;
  readonly position: number;
}

const ACTIONS: Record<CommentEventType, CommentRevision["action"]> = {
  ModelVersionCommentAdded: "ADDED",
  ModelVersionCommentEdited: "EDITED",
  ModelVersionCommentDeleted: "DELETED",
};

interface EventRow {
  readonly position: unknown;
  readonly type: string;
  readonly data: unknown;
  readonly actor: string;
  readonly actor_id: string | null;
  readonly actor_kind: string | null;
  readonly actor_credential: unknown;
  readonly occurred_at: unknown;
}

/** The most ids one query names (far below either provider's bound on parameters). */
const MAX_IDS_PER_QUERY = 500;

/**
 * Per request, a loader per model of its comments' events: a page of comments asks for each
 * comment's events in the same tick (author, revisions), so the ids asked for meanwhile are read with
 * one query per model, and each comment's events once per request; a failed read too, so a request
 * does not retry one (readRevisions). A command on a comment drops what was read of it
 * (runCommentCommand): a later mutation of the same operation reads the change.
 *
 * A key is a RevisionKey: all of a comment's events (`revisions`), or only the one that added it
 * (`author`). A comment may be edited without bound, each edit a whole body of up to 65,536
 * characters: the authors of a page of comments must not cost every body those comments ever had.
 */
const revisionsByRequest = new WeakMap<GraphQLContext, Map<string, DataLoader<string, CommentRevision[]>>>();

type RevisionKind = "all" | "added";
const revisionKey = (kind: RevisionKind, id: string): string => `${kind}:${id}`;
const REVISION_KINDS = ["all", "added"] as const;

function revisionLoader(ctx: GraphQLContext, modelId: string): DataLoader<string, CommentRevision[]> {
  let request = revisionsByRequest.get(ctx);
  if (request === undefined)
    revisionsByRequest.set(ctx, (request = new Map<string, DataLoader<string, CommentRevision[]>>()));
  let loader = request.get(modelId);
  if (loader === undefined) {
    loader = new DataLoader((keys) => readRevisions(ctx, modelId, keys), { maxBatchSize: MAX_IDS_PER_QUERY });
    request.set(modelId, loader);
  }
  return loader;
}

/** The events of one comment in stream order (for `added`, only the one that added it). */
function commentRevisions(
  ctx: GraphQLContext,
  comment: { id: string; modelId: string },
  kind: RevisionKind = "all",
) {
  return revisionLoader(ctx, comment.modelId).load(revisionKey(kind, comment.id));
}

async function readRevisions(
  ctx: GraphQLContext,
  modelId: string,
  keys: readonly string[],
): Promise<(CommentRevision[] | Error)[]> {
  try {
    const split = keys.map((key) => {
      const at = key.indexOf(":");
      return { kind: key.slice(0, at) as RevisionKind, id: key.slice(at + 1) };
    });
    const ids = [...new Set(split.map((k) => k.id))];
    const every = [...new Set(split.filter((k) => k.kind === "all").map((k) => k.id))];
    const commentId =
      ctx.db.provider === "postgresql" ? `"data" ->> 'commentId'` : `json_extract("data", '$.commentId')`;
    const marks = (list: readonly unknown[]) => list.map(() => "?").join(", ");
    // Comments only the author is asked of: their ADDED event, not their edits.
    const addedOnly = ["ModelVersionCommentAdded"] as const;
    const narrowed =
      every.length === ids.length
        ? { sql: "", params: [] }
        : {
            sql: ` AND ("type" IN ${typeCodesOf(addedOnly)}${every.length === 0 ? "" : ` OR ${commentId} IN (${marks(every)})`})`,
            params: [...addedOnly, ...every],
          };
    const rows = await ctx.db.query<EventRow>(
      `SELECT "position", ${typeNameOf('"events"."type"')} AS "type", "data", ${ACTOR_COLUMNS}, "occurred_at"
       FROM "events" ${actorJoinOf('"events"')} WHERE "stream_id" = ? AND "type" IN ${typeCodesOf(COMMENT_EVENT_TYPES)} AND ${commentId} IN (${marks(ids)})${narrowed.sql}
       ORDER BY "revision"`,
      [modelId, ...COMMENT_EVENT_TYPES, ...ids, ...narrowed.params],
    );
    const byComment = new Map<string, CommentRevision[]>(ids.map((id) => [id, []]));
    for (const row of rows) {
      const data = rowJson<{ commentId?: string; body?: string }>(row.data);
      byComment.get(data.commentId ?? "")?.push({
        action: ACTIONS[row.type as CommentEventType],
        body: data.body ?? null,
        actor: actorOfSqlRow(row),
        occurredAt: rowDate(row.occurred_at),
        position: rowInt(row.position),
      });
    }
    return split.map(({ kind, id }) => {
      const revisions = byComment.get(id) ?? [];
      return kind === "all" ? revisions : revisions.filter((r) => r.action === "ADDED");
    });
  } catch (error) {
    // As each key's error, which DataLoader keeps for the request (a rejected batch it would forget).
    const failure = error instanceof Error ? error : new Error(String(error));
    return keys.map(() => failure);
  }
}

const CommentActionEnum = builder.enumType("ModelVersionCommentAction", {
  description: "What a change to a comment did.",
  values: {
    ADDED: { description: "The comment was added (ModelVersionCommentAdded)." },
    EDITED: { description: "Its body was replaced (ModelVersionCommentEdited)." },
    DELETED: { description: "It was deleted (ModelVersionCommentDeleted); it has no body since." },
  } as const,
});

const CommentRevisionRef = builder.objectRef<CommentRevision>("ModelVersionCommentRevision").implement({
  description: "One change to a comment, as the event log recorded it.",
  fields: (t) => ({
    action: t.field({
      type: CommentActionEnum,
      description: "Added, edited or deleted.",
      resolve: (r) => r.action,
    }),
    body: t.string({
      nullable: true,
      description: "The body from this change on (markdown as written); null for DELETED.",
      resolve: (r) => r.body,
    }),
    actor: t.field({ type: ActorRef, description: "Who made the change.", resolve: (r) => r.actor }),
    occurredAt: t.field({ type: "DateTime", description: "When.", resolve: (r) => r.occurredAt }),
    position: t.int({
      description: "The event's global position in the log (`RegistryEvent.position`).",
      resolve: (r) => r.position,
    }),
  }),
});

// ---- The comment ----------------------------------------------------------------------------------

export const ModelVersionCommentRef = builder.prismaObject("ModelVersionComment", {
  description:
    "A comment on a model version: markdown, stored exactly as written (clients render and sanitise it). A deleted comment stays listed as deleted, without a body; its earlier bodies remain in the log (`revisions`).",
  fields: (t) => ({
    id: t.exposeID("id", {
      description: "The comment's id (a UUID), for editModelVersionComment and deleteModelVersionComment.",
    }),
    body: t.exposeString("body", {
      nullable: true,
      description:
        "The current body (markdown as written, never sanitised by the registry); null once deleted.",
    }),
    author: t.field({
      type: ActorRef,
      description: "Who added the comment, and with which credential.",
      resolve: async (comment, _args, ctx) => {
        const added = (await commentRevisions(ctx, comment, "added")).find((r) => r.action === "ADDED");
        // The projection is written from the same events: a comment always has its ADDED event.
        return (
          added?.actor ??
          actorFromColumns({
            actor: comment.authorId,
            actorId: comment.authorId,
            actorKind: null,
            actorCredential: null,
          })
        );
      },
    }),
    authorId: t.exposeString("authorId", { description: "The author's principal id (`Actor.id`)." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the comment was added." }),
    updatedAt: t.expose("updatedAt", {
      type: "DateTime",
      description: "When the comment last changed (added, edited or deleted).",
    }),
    edited: t.boolean({
      description: "Whether its body was ever replaced.",
      resolve: (comment) => comment.edited > 0,
    }),
    editCount: t.exposeInt("edited", { description: "How many times its body was replaced." }),
    deleted: t.exposeBoolean("deleted", { description: "Whether the comment was deleted." }),
    deletedAt: t.expose("deletedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the comment was deleted.",
    }),
    modelVersion: t.relation("modelVersion", { description: "The version the comment is on." }),
    revisions: t.field({
      type: [CommentRevisionRef],
      description:
        "Every change to the comment, oldest first: its bodies over time, with who and when (read from the event log).",
      resolve: (comment, _args, ctx) => commentRevisions(ctx, comment),
    }),
  }),
});

const CommentConnectionRef = countedConnection(ModelVersionCommentRef, "ModelVersionComment", "comments");

builder.prismaObjectField("ModelVersion", "comments", (t) =>
  t.relatedConnection(
    "comments",
    {
      cursor: "modelId_id",
      totalCount: true,
      description: "Comments on this version, oldest first.",
      args: {
        includeDeleted: t.arg.boolean({
          required: false,
          description: "Include deleted comments (listed without a body; default false).",
        }),
      },
      query: (args) => ({
        where: args.includeDeleted ? {} : { deleted: false },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      }),
    },
    CommentConnectionRef,
  ),
);

// ---- Mutations --------------------------------------------------------------------------------------

interface CommentPayload {
  readonly modelId: string;
  readonly commentId: string;
  readonly view: CommentView | null;
  readonly events: readonly RecordedEvent[];
}

const CommentPayloadRef = builder.objectRef<CommentPayload>("ModelVersionCommentPayload").implement({
  description: "The comment after a successful change, and the events the change appended.",
  fields: (t) => ({
    comment: t.prismaField({
      type: "ModelVersionComment",
      description: "The comment as it is now.",
      resolve: (query, payload, _args, ctx) =>
        (needsNoRelations(query) && payload.view !== null
          ? (payload.view as unknown as ModelVersionComment)
          : undefined) ??
        ctx.reader.modelVersionComment.findUniqueOrThrow({
          ...query,
          where: { modelId_id: { modelId: payload.modelId, id: payload.commentId } },
        }),
    }),
    events: t.prismaField({
      type: ["Event"],
      description: "Events appended by this change, in order; empty when it changed nothing (a repeat).",
      resolve: (query, payload, _args, ctx) => appendedEvents(query, payload.events, ctx),
    }),
  }),
});

async function runCommentCommand(
  ctx: GraphQLContext,
  ref: ModelRef,
  command: RegisteredModelCommand,
  commentId: string,
): Promise<CommentPayload> {
  const outcome = await executeCommand(ctx.commands, ref, command, ctx);
  if (outcome instanceof DomainError) throw outcome;
  // A mutation's later siblings run in the same request: they must read this change's events.
  if (outcome.events.length > 0)
    for (const kind of REVISION_KINDS)
      revisionsByRequest.get(ctx)?.get(outcome.modelId)?.clear(revisionKey(kind, commentId));
  return {
    modelId: outcome.modelId,
    commentId,
    view: outcome.views.comments.get(commentId) ?? null,
    events: outcome.events,
  };
}

/** Comment ids are UUIDs; anything much longer is no comment's, and is not looked up. */
const COMMENT_ID_MAX_LENGTH = 64;

/**
 * The model stream of a comment the caller may read (through its scoped reader), or NotFound: a
 * comment on a model the caller cannot read does not exist for it.
 */
async function commentStream(ctx: GraphQLContext, id: string): Promise<ModelRef> {
  const unstorable = checkStorableText("id", id);
  if (unstorable) throw unstorable;
  const comment =
    id.length > COMMENT_ID_MAX_LENGTH
      ? null
      : await ctx.reader.modelVersionComment.findFirst({ where: { id }, select: { modelId: true } });
  if (comment === null) throw new NotFoundError("Comment", id);
  return { kind: "stream", modelId: comment.modelId };
}

builder.mutationFields((t) => ({
  addModelVersionComment: t.field({
    type: CommentPayloadRef,
    description:
      "Adds a comment to a live version: markdown, stored exactly as written (non-blank, at most 65,536 characters). Needs READ on the model and a credential that may write (not VIEWER or AUDITOR, a token with the `write` scope).",
    errors: commandMutationErrors("AddModelVersionComment", "AddModelVersionComment"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("AddModelVersionCommentInput", {
          description: "The version and the comment.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            body: f.string({ description: "The comment (markdown, non-blank, at most 65,536 characters)." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) => {
      const authorId = ctx.rights.principalId;
      if (authorId === null)
        throw new PermissionDeniedError("AddModelVersionComment", "an authenticated principal");
      const commentId = randomUUID();
      return runCommentCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "AddModelVersionComment",
          data: { commentId, version: input.version, body: input.body, authorId },
        },
        commentId,
      );
    },
  }),

  editModelVersionComment: t.field({
    type: CommentPayloadRef,
    description:
      "Replaces a comment's body (a new event: earlier bodies stay in `revisions`). Only its author, or a caller who manages the model, may. The same body changes nothing; a deleted comment cannot be edited (InvalidStateError).",
    errors: commandMutationErrors("EditModelVersionComment", "EditModelVersionComment"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("EditModelVersionCommentInput", {
          description: "The comment and its new body.",
          fields: (f) => ({
            id: f.id({ description: "The comment's id (`ModelVersionComment.id`)." }),
            body: f.string({ description: "The new body (markdown, non-blank, at most 65,536 characters)." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.id);
      return runCommentCommand(
        ctx,
        await commentStream(ctx, id),
        { type: "EditModelVersionComment", data: { commentId: id, body: input.body } },
        id,
      );
    },
  }),

  deleteModelVersionComment: t.field({
    type: CommentPayloadRef,
    description:
      "Deletes a comment: it stays listed as deleted, without a body (its earlier bodies stay in the log). Only its author, or a caller who manages the model, may. A deleted comment changes nothing.",
    errors: commandMutationErrors("DeleteModelVersionComment", "DeleteModelVersionComment"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("DeleteModelVersionCommentInput", {
          description: "The comment to delete.",
          fields: (f) => ({ id: f.id({ description: "The comment's id (`ModelVersionComment.id`)." }) }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.id);
      return runCommentCommand(
        ctx,
        await commentStream(ctx, id),
        { type: "DeleteModelVersionComment", data: { commentId: id } },
        id,
      );
    },
  }),
}));
