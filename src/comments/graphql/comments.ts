// GraphQL of comments on model versions: the ModelVersionComment type, `ModelVersion.comments`, and
// the mutations that add, edit and delete comments. Current comments are read from the projection
// (model_version_comments); a comment's earlier bodies (`revisions`) and its author (the actor of the
// event that added it) are read from the event log, like other history fields.
import { randomUUID } from "node:crypto";
import { PothosValidationError } from "@pothos/core";
import { cursorToOffset, offsetToCursor, resolveOffsetConnection } from "@pothos/plugin-relay";
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
import { LIMITS, checkStorableText } from "../../domain/validation.ts";
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

/** The most comments one query names (far below either provider's bound on parameters). */
const MAX_IDS_PER_QUERY = 500;

/** A page of a comment's revisions: `limit` of them from the `offset`-th (0 is the one that added it). */
interface RevisionPage {
  readonly id: string;
  readonly offset: number;
  readonly limit: number;
}
const pageKey = (page: RevisionPage): string => `${page.offset}:${page.limit}:${page.id}`;
function pageOfKey(key: string): RevisionPage {
  const [offset = "0", limit = "0", ...id] = key.split(":");
  return { offset: Number(offset), limit: Number(limit), id: id.join(":") };
}

/**
 * Per request, a loader per model of pages of its comments' events: a page of comments asks for
 * each comment's page in the same tick (author, revisions), so the pages asked for meanwhile are
 * read with one query per model, and each once per request; a failed read too, so a request does
 * not retry one (readRevisions). A command on a comment drops what was read of the model
 * (runCommentCommand): a later mutation of the same operation reads the change.
 *
 * Only the events of the pages asked for are read whole: a comment takes up to
 * LIMITS.maxEditsPerComment edits (any number before that limit existed), each a whole body of up
 * to 65,536 characters, and the author of a comment (its first event) must not cost its edits.
 */
const revisionsByRequest = new WeakMap<GraphQLContext, Map<string, DataLoader<string, CommentRevision[]>>>();

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

/** A page of one comment's events in stream order. */
function commentRevisions(
  ctx: GraphQLContext,
  comment: { id: string; modelId: string },
  offset: number,
  limit: number,
): Promise<CommentRevision[]> {
  return revisionLoader(ctx, comment.modelId).load(pageKey({ id: comment.id, offset, limit }));
}

async function readRevisions(
  ctx: GraphQLContext,
  modelId: string,
  keys: readonly string[],
): Promise<(CommentRevision[] | Error)[]> {
  try {
    const pages = keys.map(pageOfKey);
    const ids = [...new Set(pages.map((p) => p.id))];
    const commentId =
      ctx.db.provider === "postgresql" ? `"data" ->> 'commentId'` : `json_extract("data", '$.commentId')`;
    const marks = (list: readonly unknown[]) => list.map(() => "?").join(", ");
    // The subquery numbers each comment's events in stream order (0 is the one that added it) and
    // returns no bodies; only the rows of the pages asked for are joined back for their bodies and
    // actors.
    const wanted = pages.map(() => `("page"."comment_id" = ? AND "page"."n" >= ? AND "page"."n" < ?)`);
    const rows = await ctx.db.query<EventRow & { comment_id: string; n: unknown }>(
      `SELECT "e"."position", ${typeNameOf('"e"."type"')} AS "type", "e"."data", ${ACTOR_COLUMNS}, "e"."occurred_at",
         "page"."comment_id", "page"."n"
       FROM (
         SELECT "position", ${commentId} AS "comment_id",
           ROW_NUMBER() OVER (PARTITION BY ${commentId} ORDER BY "revision") - 1 AS "n"
         FROM "events"
         WHERE "stream_id" = ? AND "type" IN ${typeCodesOf(COMMENT_EVENT_TYPES)} AND ${commentId} IN (${marks(ids)})
       ) "page"
       JOIN "events" "e" ON "e"."position" = "page"."position" ${actorJoinOf('"e"')}
       WHERE ${wanted.join(" OR ")}
       ORDER BY "page"."comment_id", "page"."n"`,
      [
        modelId,
        ...COMMENT_EVENT_TYPES,
        ...ids,
        ...pages.flatMap((p) => [p.id, p.offset, p.offset + p.limit]),
      ],
    );
    const byComment = new Map<string, (CommentRevision & { n: number })[]>(ids.map((id) => [id, []]));
    for (const row of rows) {
      const data = rowJson<{ body?: string }>(row.data);
      byComment.get(row.comment_id)?.push({
        action: ACTIONS[row.type as CommentEventType],
        body: data.body ?? null,
        actor: actorOfSqlRow(row),
        occurredAt: rowDate(row.occurred_at),
        position: rowInt(row.position),
        n: rowInt(row.n),
      });
    }
    return pages.map(({ id, offset, limit }) =>
      (byComment.get(id) ?? []).filter((r) => r.n >= offset && r.n < offset + limit),
    );
  } catch (error) {
    // As each key's error, which DataLoader keeps for the request (a rejected batch it would forget).
    const failure = error instanceof Error ? error : new Error(String(error));
    return keys.map(() => failure);
  }
}

/** Pages of revisions: the size a page has without `first`/`last`, and the most it has (as every connection). */
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/**
 * A revision's cursor is its index among the comment's revisions (Pothos' offset cursors): revisions
 * are only ever appended, so an index always names the same one. A cursor that is not one refuses
 * the page (INVALID_CURSOR) instead of paging from a negative or fractional index.
 */
function checkRevisionCursor(cursor: string | null | undefined): void {
  if (cursor === null || cursor === undefined) return;
  let offset = Number.NaN;
  try {
    offset = cursorToOffset(cursor);
  } catch {
    // Refused below, with the same error as any other cursor of the wrong shape.
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offsetToCursor(offset) !== cursor)
    throw new PothosValidationError(
      `invalid cursor "${cursor.length > 64 ? `${cursor.slice(0, 64)}…` : cursor}": not a cursor of a comment's revisions`,
    );
}

/** Every change the log holds for the comment, counted from its view: the add, each edit, the delete. */
const revisionCount = (comment: { edited: number; deleted: boolean }): number =>
  1 + comment.edited + (comment.deleted ? 1 : 0);

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

const CommentRevisionConnectionRef = builder.connectionObject(
  {
    type: CommentRevisionRef,
    name: "ModelVersionCommentRevisionConnection",
    description: "A page of a comment's revisions (Relay connection).",
    fields: (t) => ({
      totalCount: t.int({
        description: "Number of the comment's revisions (all pages).",
        resolve: (connection) => (connection as { totalCount?: number }).totalCount ?? 0,
      }),
    }),
  },
  { name: "ModelVersionCommentRevisionEdge", description: "One of a comment's revisions, with its cursor." },
);

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
        // The first of a comment's events is the one that added it.
        const added = (await commentRevisions(ctx, comment, 0, 1)).find((r) => r.action === "ADDED");
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
    revisions: t.connection(
      {
        type: CommentRevisionRef,
        description:
          "Every change to the comment, oldest first: its bodies over time, with who and when (read from the event log), page by page. `totalCount` is 1 (the add), plus its edits, plus 1 once deleted.",
        resolve: (comment, args, ctx) => {
          checkRevisionCursor(args.after);
          checkRevisionCursor(args.before);
          return resolveOffsetConnection(
            { args, totalCount: revisionCount(comment), defaultSize: DEFAULT_PAGE, maxSize: MAX_PAGE },
            ({ offset, limit }) => commentRevisions(ctx, comment, offset, limit),
          );
        },
      },
      CommentRevisionConnectionRef,
    ),
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
  if (outcome.events.length > 0) revisionsByRequest.get(ctx)?.get(outcome.modelId)?.clearAll();
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

/** A limit as the descriptions write numbers (1,000). */
const count = (n: number): string => n.toLocaleString("en-US");

builder.mutationFields((t) => ({
  addModelVersionComment: t.field({
    type: CommentPayloadRef,
    description: `Adds a comment to a live version: markdown, stored exactly as written (non-blank, at most 65,536 characters). A version holds at most ${count(LIMITS.maxCommentsPerVersion)} live comments (ValidationError on \`version\` past it: delete one first). Needs READ on the model and a credential that may write (not VIEWER or AUDITOR, a token with the \`write\` scope).`,
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
    resolve: async (_root, { input }, ctx) => {
      const authorId = ctx.rights.principalId;
      if (authorId === null)
        throw new PermissionDeniedError("AddModelVersionComment", "an authenticated principal");
      const commentId = randomUUID();
      return runCommentCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "AddModelVersionComment",
          // Counted in the command's transaction (../commentRoomFacts.ts).
          data: { commentId, version: input.version, body: input.body, authorId, liveComments: 0 },
        },
        commentId,
      );
    },
  }),

  editModelVersionComment: t.field({
    type: CommentPayloadRef,
    description: `Replaces a comment's body (a new event: earlier bodies stay in \`revisions\`). Only its author, or a caller who manages the model, may. The same body changes nothing; a deleted comment cannot be edited (InvalidStateError); a comment takes at most ${count(LIMITS.maxEditsPerComment)} edits (ValidationError on \`id\` past them: add a new comment; it can still be deleted).`,
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
