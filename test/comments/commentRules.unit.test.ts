// The rules of comments on model versions, as given / when / then scenarios (no database).
import { describe, expect, it } from "vitest";
import type {
  AddModelVersionComment,
  DeleteModelVersionComment,
  EditModelVersionComment,
} from "../../src/comments/domain/commands.ts";
import type { ModelVersionCommentEvent } from "../../src/comments/domain/events.ts";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { checkCommentRoom } from "../../src/comments/domain/rules.ts";
import { decisionErrors, stateNeeds } from "../../src/domain/registeredModel/decide.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { LIMITS } from "../../src/domain/validation.ts";
import { given } from "../support/decider.ts";
import { modelCreated, versionCreated, versionDeleted } from "../support/events.ts";

const ID = "c0ffee00-0000-4000-8000-000000000001";
const AUTHOR = "principal-ada";

const add = (data: Partial<AddModelVersionComment["data"]> = {}): AddModelVersionComment => ({
  type: "AddModelVersionComment",
  data: { commentId: ID, version: 1, body: "Looks **good**.", authorId: AUTHOR, liveComments: 0, ...data },
});
const edit = (body: string, commentId = ID): EditModelVersionComment => ({
  type: "EditModelVersionComment",
  data: { commentId, body },
});
const remove = (commentId = ID): DeleteModelVersionComment => ({
  type: "DeleteModelVersionComment",
  data: { commentId },
});

const added = (body = "Looks **good**.", version = 1): ModelVersionCommentEvent => ({
  type: "ModelVersionCommentAdded",
  data: { commentId: ID, version, body, authorId: AUTHOR },
});
const edited = (body: string): ModelVersionCommentEvent => ({
  type: "ModelVersionCommentEdited",
  data: { commentId: ID, version: 1, body },
});
const deleted: ModelVersionCommentEvent = {
  type: "ModelVersionCommentDeleted",
  data: { commentId: ID, version: 1 },
};

const withVersion: RegisteredModelEvent[] = [modelCreated(), versionCreated(1)];
const modelDeleted: RegisteredModelEvent = {
  type: "RegisteredModelDeleted",
  data: { name: "fraud-detector" },
};

describe("AddModelVersionComment", () => {
  it("adds the comment with its author, body kept exactly as written", () => {
    const body = "# Review\n\n<script>alert(1)</script> and `code`\n\n- [x] ok  ";
    given(withVersion)
      .when(add({ body }))
      .then([
        { type: "ModelVersionCommentAdded", data: { commentId: ID, version: 1, body, authorId: AUTHOR } },
      ]);
  });

  it("records nothing when run again with the same id (a retry)", () => {
    given([...withVersion, added()])
      .when(add())
      .then([]);
    given([...withVersion, added(), deleted])
      .when(add())
      .then([]);
  });

  it("refuses an id no database can store, like any text", () => {
    given(withVersion)
      .when(add({ commentId: "a\u0000" }))
      .then(ValidationError, { field: "commentId" });
  });

  it("refuses a blank body", () => {
    for (const body of ["", "   ", "\n\t "])
      given(withVersion).when(add({ body })).then(ValidationError, { field: "body" });
  });

  it("accepts a body of exactly the limit and refuses one character more", () => {
    const limit = LIMITS.commentBodyMaxLength;
    expect(limit).toBe(65_536);
    given(withVersion)
      .when(add({ body: "x".repeat(limit) }))
      .then([added("x".repeat(limit))]);
    given(withVersion)
      .when(add({ body: "x".repeat(limit + 1) }))
      .then(ValidationError, { field: "body" });
  });

  it("refuses text no database can store (NUL, unpaired surrogates)", () => {
    given(withVersion)
      .when(add({ body: "a\u0000b" }))
      .then(ValidationError, { field: "body" });
    given(withVersion)
      .when(add({ body: "a\ud800b" }))
      .then(ValidationError, { field: "body" });
  });

  it("keeps control characters and emoji of markdown as written (only unstorable text is refused)", () => {
    const body = "tab\there \u{1F600} and a form feed \f";
    given(withVersion)
      .when(add({ body }))
      .then([added(body)]);
  });

  it("is NotFound on a missing version, and on a deleted one", () => {
    given(withVersion)
      .when(add({ version: 2 }))
      .then(NotFoundError, { resource: "ModelVersion", key: "fraud-detector v2" });
    given([...withVersion, versionDeleted(1)])
      .when(add())
      .then(NotFoundError, { resource: "ModelVersion", key: "fraud-detector v1" });
  });

  it("refuses a malformed version number", () => {
    given(withVersion)
      .when(add({ version: 0 }))
      .then(ValidationError, { field: "version" });
  });

  it("is NotFound on a deleted model", () => {
    given([...withVersion, modelDeleted])
      .when(add())
      .then(NotFoundError, { resource: "RegisteredModel" });
  });
});

describe("EditModelVersionComment", () => {
  it("records the new body (the earlier one stays in the log)", () => {
    given([...withVersion, added()])
      .when(edit("Looks *great*."))
      .then([edited("Looks *great*.")]);
  });

  it("records nothing for the body it has", () => {
    given([...withVersion, added(), edited("v2")])
      .when(edit("v2"))
      .then([]);
  });

  it("can go back to an earlier body (a change from the current one)", () => {
    given([...withVersion, added("v1"), edited("v2")])
      .when(edit("v1"))
      .then([edited("v1")]);
  });

  it("refuses a deleted comment", () => {
    given([...withVersion, added(), deleted])
      .when(edit("again"))
      .then(InvalidStateError);
  });

  it("is NotFound for an unknown comment", () => {
    given(withVersion).when(edit("x", "nope")).then(NotFoundError, { resource: "Comment", key: "nope" });
  });

  it("refuses a blank, oversized or unstorable body", () => {
    const state = [...withVersion, added()];
    for (const body of [" ", "x".repeat(LIMITS.commentBodyMaxLength + 1), "\u0000", "\udc00"])
      given(state).when(edit(body)).then(ValidationError, { field: "body" });
  });

  it(`takes at most ${LIMITS.maxEditsPerComment} edits, then refuses more with the limit named`, () => {
    const max = LIMITS.maxEditsPerComment;
    expect(max).toBe(100);
    const edits = (n: number) => Array.from({ length: n }, (_, i) => edited(`v${i + 1}`));
    given([...withVersion, added(), ...edits(max - 1)])
      .when(edit("last one"))
      .then([edited("last one")]);
    const full = given([...withVersion, added(), ...edits(max)]).when(edit("one more"));
    full.then(ValidationError, { field: "id" });
    expect((full.decision as ValidationError).message).toBe(
      `id: comment ${ID} was already edited ${max} times (at most ${max}): add a new comment instead`,
    );
  });

  it("keeps a comment edited past the limit (before it existed) deletable, and repeats of its body harmless", () => {
    const state = [
      ...withVersion,
      added(),
      ...Array.from({ length: LIMITS.maxEditsPerComment + 50 }, (_, i) => edited(`v${i + 1}`)),
    ];
    given(state).when(edit("again")).then(ValidationError, { field: "id" });
    given(state)
      .when(edit(`v${LIMITS.maxEditsPerComment + 50}`))
      .then([]);
    given(state).when(remove()).then([deleted]);
    // A deleted one is refused as deleted, whatever its edits.
    given([...state, deleted])
      .when(edit("again"))
      .then(InvalidStateError);
  });

  it("is NotFound when the comment's version was deleted", () => {
    given([...withVersion, added(), versionDeleted(1)])
      .when(edit("x"))
      .then(NotFoundError, { resource: "ModelVersion" });
  });
});

describe("DeleteModelVersionComment", () => {
  it("tombstones the comment", () => {
    given([...withVersion, added(), edited("v2")])
      .when(remove())
      .then([deleted]);
  });

  it("records nothing for a deleted comment", () => {
    given([...withVersion, added(), deleted])
      .when(remove())
      .then([]);
  });

  it("is NotFound for an unknown comment", () => {
    given(withVersion).when(remove("nope")).then(NotFoundError, { resource: "Comment", key: "nope" });
  });

  it("takes a comment down on a deleted version too", () => {
    given([...withVersion, added(), versionDeleted(1)])
      .when(remove())
      .then([deleted]);
  });

  it("is NotFound on a deleted model", () => {
    given([...withVersion, added(), modelDeleted])
      .when(remove())
      .then(NotFoundError, {
        resource: "RegisteredModel",
      });
  });
});

describe("adding a comment to a full version", () => {
  const max = LIMITS.maxCommentsPerVersion;
  it("is refused with the count the command carries; one short of it is added", () => {
    given(withVersion)
      .when(add({ liveComments: max }))
      .then(ValidationError, { field: "version" });
    given(withVersion)
      .when(add({ liveComments: max - 1 }))
      .then([
        {
          type: "ModelVersionCommentAdded",
          data: { commentId: ID, version: 1, body: "Looks **good**.", authorId: AUTHOR },
        },
      ]);
  });

  it("is no refusal for the same add run again (its comment is there already)", () => {
    given([...withVersion, added()])
      .when(add({ liveComments: max }))
      .then([]);
  });
});

describe("checkCommentRoom", () => {
  it(`leaves room for live comments up to ${LIMITS.maxCommentsPerVersion} on a version, and names the limit past it`, () => {
    const max = LIMITS.maxCommentsPerVersion;
    expect(max).toBe(1000);
    expect(checkCommentRoom(3, 0)).toBeNull();
    expect(checkCommentRoom(3, max - 1)).toBeNull();
    for (const held of [max, max + 20]) {
      const full = checkCommentRoom(3, held);
      expect(full).toBeInstanceOf(ValidationError);
      expect(full).toMatchObject({
        field: "version",
        message: `version: version 3 already holds ${held} live comments (at most ${max}): delete one first`,
      });
    }
  });
});

describe("what the rules declare and need", () => {
  it("declares every error the rules return", () => {
    expect(decisionErrors("AddModelVersionComment")).toEqual([NotFoundError, ValidationError]);
    expect(decisionErrors("EditModelVersionComment")).toEqual([
      NotFoundError,
      ValidationError,
      InvalidStateError,
    ]);
    expect(decisionErrors("DeleteModelVersionComment")).toEqual([NotFoundError, ValidationError]);
  });

  it("loads the version commented on, or the one comment a command names", () => {
    expect(stateNeeds(add({ version: 4 }))).toEqual({
      versions: [4],
      versionsInStage: null,
      openReviews: false,
      comment: ID,
    });
    // An id no database can hold is refused by decide; it is never looked up.
    expect(stateNeeds(edit("x", "a\u0000"))).toEqual({
      versions: [],
      versionsInStage: null,
      openReviews: false,
    });
    expect(stateNeeds(edit("x"))).toEqual({
      versions: [],
      versionsInStage: null,
      openReviews: false,
      comment: ID,
    });
    expect(stateNeeds(remove())).toEqual({
      versions: [],
      versionsInStage: null,
      openReviews: false,
      comment: ID,
    });
  });

  it("folds comments into the decision state: author, body, tombstone, edits", () => {
    const { state } = given([...withVersion, added("v1"), edited("v2")]);
    expect(state.comments[ID]).toEqual({
      id: ID,
      version: 1,
      authorId: AUTHOR,
      body: "v2",
      deleted: false,
      edits: 1,
    });
    const after = given([...withVersion, added("v1"), deleted]).state;
    expect(after.comments[ID]).toEqual({
      id: ID,
      version: 1,
      authorId: AUTHOR,
      body: null,
      deleted: true,
      edits: 0,
    });
  });
});
