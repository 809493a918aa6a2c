// The comment read model (model_version_comments) folded from recorded events, and how the model
// stream's views carry it (inline projection and rebuild share applyEvents).
import { describe, expect, it } from "vitest";
import { decisionState } from "../../src/application/decisionState.ts";
import { commentTouchedBy, evolveCommentView } from "../../src/comments/projection/evolve.ts";
import type { CommentView } from "../../src/comments/projection/evolve.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { addStreamRows, emptyStreamRows } from "../../src/projections/rebuild/streamRows.ts";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { modelCreated, versionCreated } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";

const added = (commentId: string, body: string, authorId = "user-alice"): RegisteredModelEvent => ({
  type: "ModelVersionCommentAdded",
  data: { commentId, version: 1, body, authorId },
});
const edited = (commentId: string, body: string): RegisteredModelEvent => ({
  type: "ModelVersionCommentEdited",
  data: { commentId, version: 1, body },
});
const deleted = (commentId: string): RegisteredModelEvent => ({
  type: "ModelVersionCommentDeleted",
  data: { commentId, version: 1 },
});

const fold = (events: RegisteredModelEvent[], first = 3) =>
  events.reduce<CommentView | null>(
    (view, event, i) => evolveCommentView(view, recorded(event, first + i)),
    null,
  );

describe("evolveCommentView", () => {
  it("adds a comment with its author, times and revision", () => {
    expect(fold([added("c1", "hello *world*")])).toEqual({
      id: "c1",
      modelId: "model-1",
      version: 1,
      authorId: "user-alice",
      body: "hello *world*",
      createdAt: minutesAfterT0(2),
      updatedAt: minutesAfterT0(2),
      edited: 0,
      deleted: false,
      deletedAt: null,
      revision: 3,
    });
  });

  it("replaces the body on each edit and counts the edits", () => {
    expect(fold([added("c1", "v1"), edited("c1", "v2"), edited("c1", "v3")])).toMatchObject({
      body: "v3",
      edited: 2,
      createdAt: minutesAfterT0(2),
      updatedAt: minutesAfterT0(4),
      revision: 5,
    });
  });

  it("tombstones a deleted comment: no body, still there", () => {
    expect(fold([added("c1", "v1"), edited("c1", "v2"), deleted("c1")])).toMatchObject({
      id: "c1",
      body: null,
      edited: 1,
      deleted: true,
      deletedAt: minutesAfterT0(4),
      updatedAt: minutesAfterT0(4),
    });
  });

  it("never throws: an edit or delete of a comment it has not seen leaves the view alone", () => {
    expect(fold([edited("c1", "x"), deleted("c1")])).toBeNull();
    const view = fold([added("c1", "v1")]);
    expect(evolveCommentView(view, recorded(edited("c2", "other"), 9))).toBe(view);
  });

  it("names the comment an event is about, and only for comment events", () => {
    expect(commentTouchedBy(recorded(added("c1", "x"), 1))).toBe("c1");
    expect(commentTouchedBy(recorded(deleted("c2"), 1))).toBe("c2");
    expect(commentTouchedBy(recorded(versionCreated(1), 1))).toBeNull();
  });
});

describe("comments in a model stream's views", () => {
  const stream = [
    modelCreated(),
    versionCreated(1),
    added("c1", "first"),
    added("c2", "second", "user-bob"),
    edited("c1", "first, edited"),
    deleted("c2"),
  ].map((e, i) => recorded(e, i + 1));

  it("folds every comment of the stream, and bumps the model's revision", () => {
    const views = applyEvents(emptyStreamViews("model-1"), stream);
    expect(views.model?.revision).toBe(6);
    expect([...views.comments.values()].map((c) => [c?.id, c?.body, c?.edited, c?.deleted])).toEqual([
      ["c1", "first, edited", 1, false],
      ["c2", null, 0, true],
    ]);
    // A comment does not change its version's row.
    expect(views.versions.get(1)?.updatedAt).toEqual(minutesAfterT0(1));
  });

  it("gives the decision state each comment's edits, which the edit limit reads", () => {
    const state = decisionState(applyEvents(emptyStreamViews("model-1"), stream));
    expect(state.comments.c1).toEqual({
      id: "c1",
      version: 1,
      authorId: "user-alice",
      body: "first, edited",
      deleted: false,
      edits: 1,
    });
    expect(state.comments.c2).toMatchObject({ body: null, deleted: true, edits: 0 });
  });

  it("gives the rebuild one row per comment, in the table's column order", () => {
    const rows = emptyStreamRows();
    addStreamRows(rows, applyEvents(emptyStreamViews("model-1"), stream));
    expect(rows.model_version_comments).toEqual([
      [
        "c1",
        "model-1",
        1,
        "user-alice",
        "first, edited",
        minutesAfterT0(2),
        minutesAfterT0(4),
        1,
        false,
        null,
        5,
      ],
      [
        "c2",
        "model-1",
        1,
        "user-bob",
        null,
        minutesAfterT0(3),
        minutesAfterT0(5),
        0,
        true,
        minutesAfterT0(5),
        6,
      ],
    ]);
  });
});
