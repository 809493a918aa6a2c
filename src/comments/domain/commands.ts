// Commands on comments. The comment id (a new UUID) and the author (the caller's principal id) come in
// with the command from the application: never from client input, and never made by the domain.

type Command<Type extends string, Data> = {
  readonly type: Type;
  readonly data: Data;
};

export type AddModelVersionComment = Command<
  "AddModelVersionComment",
  {
    commentId: string;
    version: number;
    body: string;
    authorId: string;
    /**
     * Live comments the version holds, counted in the command's transaction after the stream's lock
     * (../commentRoomFacts.ts): the decision state holds only the comments a command names.
     */
    liveComments: number;
  }
>;
export type EditModelVersionComment = Command<"EditModelVersionComment", { commentId: string; body: string }>;
export type DeleteModelVersionComment = Command<"DeleteModelVersionComment", { commentId: string }>;

export type ModelVersionCommentCommand =
  AddModelVersionComment | EditModelVersionComment | DeleteModelVersionComment;
