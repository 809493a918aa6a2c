// Rules of comments on model versions: add, edit, delete. Who may edit or delete (the author, or a
// caller who manages the model) is decided with the model's other permissions in
// src/access/modelAccess.ts before these run; these decide what the comment's own state allows.
import { DomainError, InvalidStateError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import { onLiveModel } from "../../domain/registeredModel/rules/commandRule.ts";
import type { CommandRule } from "../../domain/registeredModel/rules/commandRule.ts";
import type { RegisteredModelState } from "../../domain/registeredModel/state.ts";
import { LIMITS, checkStorableText, checkVersionNumber } from "../../domain/validation.ts";
import type {
  AddModelVersionComment,
  DeleteModelVersionComment,
  EditModelVersionComment,
} from "./commands.ts";
import type { CommentState } from "./state.ts";

/**
 * A comment body: markdown kept exactly as written (clients render and sanitise it), so only what no
 * database can store, blank text and excessive length are refused.
 */
export function checkCommentBody(field: string, body: string): ValidationError | null {
  if (body.trim().length === 0) return new ValidationError(field, "must not be blank");
  if (body.length > LIMITS.commentBodyMaxLength)
    return new ValidationError(field, `must be at most ${LIMITS.commentBodyMaxLength} characters`);
  return checkStorableText(field, body);
}

/**
 * Room for one more live comment on a version that holds `liveComments` (deleted ones do not
 * count). The decision state holds only the comments a command names, so the count comes with the
 * command, read in its transaction after the stream's lock (../commentRoomFacts.ts): exact.
 */
export function checkCommentRoom(version: number, liveComments: number): ValidationError | null {
  const max = LIMITS.maxCommentsPerVersion;
  return liveComments < max
    ? null
    : new ValidationError(
        "version",
        `version ${version} already holds ${liveComments} live comments (at most ${max}): delete one first`,
      );
}

/**
 * Room for one more edit: every edit keeps a whole body in the log. A comment edited more often
 * before the limit existed stays readable and deletable; it only takes no further edits.
 */
export function checkEditRoom(comment: CommentState): ValidationError | null {
  const max = LIMITS.maxEditsPerComment;
  return comment.edits < max
    ? null
    : new ValidationError(
        "id",
        `comment ${comment.id} was already edited ${comment.edits} times (at most ${max}): add a new comment instead`,
      );
}

/** Comments belong to live versions: a deleted version is not there to comment on. */
function commentableVersion(state: RegisteredModelState, version: number): DomainError | null {
  const invalid = checkVersionNumber("version", version);
  if (invalid) return invalid;
  const target = state.versions[version];
  return target && !target.deleted ? null : new NotFoundError("ModelVersion", `${state.name} v${version}`);
}

function existingComment(state: RegisteredModelState, commentId: string): CommentState | NotFoundError {
  const comment = Object.hasOwn(state.comments, commentId) ? state.comments[commentId] : undefined;
  return comment ?? new NotFoundError("Comment", commentId);
}

export const addModelVersionComment: CommandRule<AddModelVersionComment> = onLiveModel({
  errors: [ValidationError, NotFoundError],
  decide(command, state) {
    const { commentId, version, body, authorId, liveComments } = command.data;
    const invalid = checkCommentBody("body", body);
    if (invalid) return invalid;
    // The id is the server's, made once per request: one already used is this command run again.
    if (Object.hasOwn(state.comments, commentId)) return [];
    const refused = commentableVersion(state, version) ?? checkCommentRoom(version, liveComments);
    if (refused) return refused;
    return [{ type: "ModelVersionCommentAdded", data: { commentId, version, body, authorId } }];
  },
});

export const editModelVersionComment: CommandRule<EditModelVersionComment> = onLiveModel({
  errors: [ValidationError, NotFoundError, InvalidStateError],
  decide(command, state) {
    const { commentId, body } = command.data;
    const comment = existingComment(state, commentId);
    if (comment instanceof DomainError) return comment;
    const refused = checkCommentBody("body", body) ?? commentableVersion(state, comment.version);
    if (refused) return refused;
    if (comment.deleted) return new InvalidStateError(`comment ${commentId} is deleted`);
    if (comment.body === body) return [];
    const full = checkEditRoom(comment);
    if (full) return full;
    return [{ type: "ModelVersionCommentEdited", data: { commentId, version: comment.version, body } }];
  },
});

/** Allowed on a deleted version too: taking a comment down must not wait for the version's restoration. */
export const deleteModelVersionComment: CommandRule<DeleteModelVersionComment> = onLiveModel({
  // ValidationError: an id no database can store (refused by decide before the rule).
  errors: [NotFoundError, ValidationError],
  decide(command, state) {
    const comment = existingComment(state, command.data.commentId);
    if (comment instanceof DomainError) return comment;
    if (comment.deleted) return [];
    return [
      {
        type: "ModelVersionCommentDeleted",
        data: { commentId: comment.id, version: comment.version },
      },
    ];
  },
});
