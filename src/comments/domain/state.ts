// What the comment rules need to know about one comment. The model's decision state keeps these by id
// (folded from the stream, or loaded from the projection for just the comment a command names).
import type { ModelVersionCommentEvent } from "./events.ts";

export interface CommentState {
  readonly id: string;
  readonly version: number;
  readonly authorId: string;
  /** Null once deleted. */
  readonly body: string | null;
  readonly deleted: boolean;
  /** How many times its body was replaced (bounded by LIMITS.maxEditsPerComment). */
  readonly edits: number;
}

export type Comments = Readonly<Record<string, CommentState>>;

export function evolveComments(comments: Comments, event: ModelVersionCommentEvent): Comments {
  const { commentId } = event.data;
  switch (event.type) {
    case "ModelVersionCommentAdded":
      return {
        ...comments,
        [commentId]: {
          id: commentId,
          version: event.data.version,
          authorId: event.data.authorId,
          body: event.data.body,
          deleted: false,
          edits: 0,
        },
      };
    case "ModelVersionCommentEdited": {
      // A partially loaded state holds only the comment a command named; others are left alone.
      const current = Object.hasOwn(comments, commentId) ? comments[commentId] : undefined;
      return current
        ? { ...comments, [commentId]: { ...current, body: event.data.body, edits: current.edits + 1 } }
        : comments;
    }
    case "ModelVersionCommentDeleted": {
      const current = Object.hasOwn(comments, commentId) ? comments[commentId] : undefined;
      return current ? { ...comments, [commentId]: { ...current, body: null, deleted: true } } : comments;
    }
  }
}
