// Read model: the current view of one comment on a model version (table model_version_comments).
// Pure; never throws; rebuildable from the log. Earlier bodies are not kept here: the event log is
// the comment's history (ModelVersionComment.revisions reads it).
import type { RecordedEvent } from "../../store/recordedEvent.ts";

export interface CommentView {
  readonly id: string;
  readonly modelId: string;
  readonly version: number;
  readonly authorId: string;
  /** Null once deleted (a tombstone). */
  readonly body: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** How many times the body was replaced. */
  readonly edited: number;
  readonly deleted: boolean;
  readonly deletedAt: Date | null;
  /** Revision of the model stream's event that last changed the comment. */
  readonly revision: number;
}

/** The comment an event is about, or null for events of anything else. */
export const commentTouchedBy = (event: RecordedEvent): string | null =>
  event.type === "ModelVersionCommentAdded" ||
  event.type === "ModelVersionCommentEdited" ||
  event.type === "ModelVersionCommentDeleted"
    ? event.data.commentId
    : null;

export function evolveCommentView(view: CommentView | null, event: RecordedEvent): CommentView | null {
  switch (event.type) {
    case "ModelVersionCommentAdded":
      return {
        id: event.data.commentId,
        modelId: event.streamId,
        version: event.data.version,
        authorId: event.data.authorId,
        body: event.data.body,
        createdAt: event.occurredAt,
        updatedAt: event.occurredAt,
        edited: 0,
        deleted: false,
        deletedAt: null,
        revision: event.revision,
      };
    case "ModelVersionCommentEdited":
      // An event for a comment the view has never seen cannot be applied; the view stays as it is.
      if (view === null || view.id !== event.data.commentId) return view;
      return {
        ...view,
        body: event.data.body,
        edited: view.edited + 1,
        updatedAt: event.occurredAt,
        revision: event.revision,
      };
    case "ModelVersionCommentDeleted":
      if (view === null || view.id !== event.data.commentId) return view;
      return {
        ...view,
        body: null,
        deleted: true,
        deletedAt: event.occurredAt,
        updatedAt: event.occurredAt,
        revision: event.revision,
      };
    default:
      return view;
  }
}
