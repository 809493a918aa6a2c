// Events of comments on model versions. They are events of the model's own stream (a comment is part
// of its version's story: model history and the audit log show it), so their types join the model
// stream's union in src/domain/registeredModel/events.ts. Each edit is a new event with the whole new
// body: the log is the comment's history, and a deleted comment's earlier bodies stay there.

interface Event<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

/** A comment (markdown, stored as written) was added to a version by `authorId`. */
export type ModelVersionCommentAdded = Event<
  "ModelVersionCommentAdded",
  { commentId: string; version: number; body: string; authorId: string }
>;
/** A comment's body was replaced (the earlier body stays in the log). */
export type ModelVersionCommentEdited = Event<
  "ModelVersionCommentEdited",
  { commentId: string; version: number; body: string }
>;
/** A comment was deleted: it stays listed as deleted, without a body. */
export type ModelVersionCommentDeleted = Event<
  "ModelVersionCommentDeleted",
  { commentId: string; version: number }
>;

export type ModelVersionCommentEvent =
  ModelVersionCommentAdded | ModelVersionCommentEdited | ModelVersionCommentDeleted;
